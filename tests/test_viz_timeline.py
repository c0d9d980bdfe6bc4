"""The per-core timeline: spans come from the records, hand-offs from the transfers.

Checked on the spin run (core 1 spins on a lock core 0 holds) and on the 16-core lock run.
"""

from __future__ import annotations

import pytest
from test_viz_traces import lock_run, spin_run

from coreylab.viz import core_timeline, handoffs, timeline_spans


def test_spans_by_hand():
    """Core 1 asks for the lock at 100 and waits queued behind core 0's fill until 200; the
    copy arrives at 321 (121 from core 0's cache) and it spins until core 0's release, issued
    at 1220, reaches it 121 cycles later."""
    m = spin_run()
    spans = timeline_spans(m.trace.records, [(0, 200, 1220, "kernel"), (1, 0, 100, "user")])
    assert list(zip(spans["spin"]["core"], spans["spin"]["left"], spans["spin"]["right"],
                    strict=True)) == [(1, 321, 1341)]  # fmt: skip
    queued = zip(*(spans["queued"][k] for k in ("core", "left", "right")), strict=True)
    assert list(queued) == [(1, 100, 200)]
    assert spans["kernel"]["left"] == [200] and spans["user"]["core"] == [1]


def test_every_transaction_is_a_miss_span():
    m = lock_run(cores=4, rounds=3)
    spans = timeline_spans(m.trace.records, [])
    transactions = [r for r in m.trace.records if r.kind in ("load", "store", "atomic")]
    assert len(spans["miss"]["core"]) == len(transactions)
    assert len(spans["queued"]["core"]) == sum(1 for r in transactions if r.queued)


def test_handoffs_follow_the_lock_line():
    """An arrow per cache-to-cache transfer of the lock, from supplier to requester."""
    m = lock_run(cores=8, rounds=3)
    arrows = handoffs(m.trace.records, "MOESI", lines=["files.file_lock"])
    lock_line = next(x for x, s in m.counters().lines.items() if s.label == "files.file_lock")
    assert len(arrows["x0"]) == m.counters().lines[lock_line].transfers
    assert all(a <= b for a, b in zip(arrows["x0"], arrows["x1"], strict=True))
    assert all(y0 != y1 for y0, y1 in zip(arrows["y0"], arrows["y1"], strict=True))


def test_figure_has_a_row_per_core_and_named_spans():
    m = spin_run()
    fig = core_timeline(m.trace, m.params, spans=[(0, 0, 100, "user")])
    names = {r.name for r in fig.renderers if r.name}
    assert {"span:spin", "span:queued", "span:miss", "span:user"} <= names
    assert list(fig.yaxis.ticker.ticks) == [0, 1]


def test_handoffs_default_to_the_hottest_line():
    m = lock_run(cores=4, rounds=3)
    fig = core_timeline(m.trace, m.params)
    assert [r.name for r in fig.renderers if (r.name or "").startswith("handoff:")] == [
        "handoff:files.file_lock"
    ]


def test_bad_span_kind_is_refused():
    with pytest.raises(ValueError, match="user' or 'kernel"):
        timeline_spans([], [(0, 1, 2, "idle")])


def test_the_wheel_scrolls_the_page_until_the_zoom_tool_is_picked():
    """A student scrolling the notebook over the chart must not get stuck zooming it: the
    wheel-zoom tool is offered but not active."""
    m = spin_run()
    fig = core_timeline(m.trace, m.params)
    assert "WheelZoomTool" in {type(t).__name__ for t in fig.toolbar.tools}
    assert fig.toolbar.active_scroll is None
