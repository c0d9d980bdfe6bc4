"""The machine animation: frames match the trace one for one, and the Bokeh view carries them.

Frames are plain data (`coreylab.viz.frames`), so most checks need no Bokeh: the tiny run's
three frames are worked out by hand; the 16-core lock run's frames are the trace's
transactions on the hottest lines, and their cache-to-cache tokens are the machine's transfer
counters. The Bokeh checks look at what the browser will get: sources, controls, callbacks.
"""

from __future__ import annotations

import pytest
from bokeh.embed import file_html
from bokeh.models import Button, ColumnDataSource, CustomJS, Slider
from bokeh.resources import INLINE
from test_viz_traces import forward_run, lock_run, spin_run, tiny_run

from coreylab.hardware import STATE_FACTS, HardwareParams, Machine, State
from coreylab.viz import LiveMachineView, MachineView, frames, hottest_lines, machine_animation
from coreylab.viz.frames import IDLE, MISS, QUEUED, SPINNING
from coreylab.viz.scene import view_at
from coreylab.viz.topology import chip_centres, chip_size, layout


@pytest.fixture(scope="module")
def lock():
    return lock_run(cores=16, rounds=5)


# -- frames, by hand -----------------------------------------------------------------------------
def test_tiny_frames_by_hand():
    """Core 0 writes (DRAM -> core 0), core 1 reads (core 0 -> core 1; core 0 M -> O), core 0
    writes again (an upgrade: no token, core 1 invalidated)."""
    m = tiny_run()
    fr = frames(m.trace, m.params)
    got = [(f["from"], f["to"], f["states"][0]) for f in fr["frames"]]
    assert got == [
        (("chip", 0), ("core", 0), ["M", "I"]),
        (("core", 0), ("core", 1), ["O", "S"]),
        (None, None, ["M", "I"]),
    ]
    assert fr["labels"] == ["demo.x"]
    assert [f["caption"] for f in fr["frames"]] == [
        "<b>cycle 0</b>: core 0 stores to <b>demo.x</b>, I → M; data from DRAM on its own chip "
        "(chip 0); took 200 cycles.",
        "<b>cycle 300</b>: core 1 loads <b>demo.x</b>, I → S; data from a cache on the same chip "
        "(core 0); took 121 cycles.",
        "<b>cycle 700</b>: core 0 stores to <b>demo.x</b>, O → M; no data moved (an upgrade: "
        "other copies invalidated); invalidated core 1; took 121 cycles.",
    ]


def test_forward_frames_by_hand():
    """MESIF: the token comes from DRAM, then from core 0's E copy, then from core 1's F copy,
    not from core 0's S copy; F moves with each reader, and the legend has the protocol's
    states in its own colours."""
    m = forward_run()
    fr = frames(m.trace, m.params)
    got = [(f["from"], f["to"], f["states"][0]) for f in fr["frames"]]
    assert got == [
        (("chip", 0), ("core", 0), ["E", "I", "I", "I"]),
        (("core", 0), ("core", 1), ["S", "F", "I", "I"]),
        (("core", 1), ("core", 2), ["S", "S", "F", "I"]),
    ]
    assert fr["frames"][2]["caption"].endswith(
        "I → F; data from a cache 1 hop away (core 1); took 151 cycles."
    )
    view = MachineView(m.trace, m.params)
    key = view.sources["key_states"].data
    assert key["letter"] == ["M", "E", "F", "S", "I"]
    assert key["name"][2] == "forward" and key["fill"][2] == STATE_FACTS[State.F].color
    final = view_at({k: s.data for k, s in view.sources.items()}, 2)["cells"]
    assert final["letter"] == ["S", "S", "F", "I"]
    assert final["fill"][2] == STATE_FACTS[State.F].color


def test_statuses_show_spinning_and_queued():
    """While core 0 holds the lock, core 1 spins on it; later core 1 waits in the queue."""
    m = spin_run()
    fr = frames(m.trace, m.params)
    release = next(f for f in fr["frames"] if f["kind"] == "store")  # core 0 lets go
    assert release["status"][1] == SPINNING
    queued = next(f for f in fr["frames"] if f["queued"])
    assert queued["status"][queued["core"]] == QUEUED
    assert fr["frames"][0]["status"] == [MISS, IDLE]


# -- frames match the trace one for one ------------------------------------------------------------
def test_frames_are_the_transactions_on_the_lines(lock):
    """One frame per load/store/atomic/evict record of the chosen lines, in trace order."""
    fr = frames(lock.trace, lock.params)
    wanted = set(fr["lines"])
    expected = [i for i, r in enumerate(lock.trace.records)
                if r.line in wanted and r.kind != "spin"]  # fmt: skip
    assert [f["record"] for f in fr["frames"]] == expected
    for f in fr["frames"]:
        r = lock.trace.records[f["record"]]
        assert (f["core"], f["line"], f["t"], f["kind"]) == (r.core, r.line, r.t_start, r.kind)


def test_cache_to_cache_tokens_match_transfer_counters(lock):
    """Tokens from a core's cache to another's are exactly the machine's transfers of those
    lines; tokens from a chip's L3/DRAM are its fills."""
    fr = frames(lock.trace, lock.params)
    counters = lock.counters()
    moves = [f for f in fr["frames"] if f["kind"] != "evict"]
    between_caches = [f for f in moves if f["from"] and f["from"][0] == "core"]
    from_memory = [f for f in moves if f["from"] and f["from"][0] == "chip"]
    assert len(between_caches) == sum(counters.lines[x].transfers for x in fr["lines"])
    assert len(from_memory) == sum(counters.lines[x].fills for x in fr["lines"])
    assert all(f["from"] == ("core", f["supplier"]) and f["to"] == ("core", f["core"])
               for f in between_caches)  # fmt: skip


def test_default_lines_are_the_hottest(lock):
    counters = lock.counters()
    hottest = max(counters.lines, key=lambda x: counters.lines[x].transfers)
    assert hottest_lines(lock.trace.records)[0] == hottest
    assert frames(lock.trace, lock.params)["labels"][0] == "files.file_lock"


def test_lines_by_label_and_truncation(lock):
    fr = frames(lock.trace, lock.params, lines=["files.next_fd"], max_frames=7)
    assert fr["labels"] == ["files.next_fd"]
    assert len(fr["frames"]) == 7 and fr["total"] > 7
    assert {f["label"] for f in fr["frames"]} == {"files.next_fd"}


def test_lines_sharing_a_label_are_named_by_offset():
    """Two hot lines of one 128-byte object: the key tells them apart by byte offset."""
    m = Machine(HardwareParams.preset("tiny"))
    base = m.memory.alloc(128, label="files.fd_array")

    def program(core):
        for i in range(4):
            yield from core.fetch_add(base + 64 * (i % 2), 1)

    m.spawn(0, program)
    m.spawn(1, program)
    m.run()
    fr = frames(m.trace, m.params)
    assert sorted(fr["names"]) == ["files.fd_array+0", "files.fd_array+64"]
    assert {f["name"] for f in fr["frames"]} == set(fr["names"])


# -- the layout ------------------------------------------------------------------------------
def test_amd16_chips_form_the_papers_square():
    """Chip 0 top-left, 1 top-right, 2 bottom-right, 3 bottom-left."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = chip_centres(4, chip_size(4))
    assert x0 < x1 and y0 == y1 and x2 == x1 and y2 < y1 and x3 == x0 and y3 == y2


@pytest.mark.parametrize("preset", ["amd16", "tiny", "duo"])
def test_core_boxes_sit_inside_their_chip_without_overlap(preset):
    p = HardwareParams.preset(preset)
    geo = layout(p, lines=3)
    w, h = geo.chip_size
    for core, (x, y) in enumerate(geo.core_xy):
        cx, cy = geo.chip_xy[p.chip_of(core)]
        assert abs(x - cx) < w / 2 and abs(y - cy) < h / 2
    xy = geo.core_xy
    assert all(abs(a[0] - b[0]) >= 1 or abs(a[1] - b[1]) >= 0.68
               for i, a in enumerate(xy) for b in xy[i + 1:])  # fmt: skip


# -- the Bokeh view ----------------------------------------------------------------------------
def _models(layout, kind):
    return list(layout.select({"type": kind}))


def test_animation_holds_every_frame_and_its_controls(lock):
    view = MachineView(lock.trace, lock.params)
    count = len(view.last["frames"])
    src = view.sources
    assert len(src["frames"].data["t"]) == count
    assert len(src["snaps"].data["s"]) == count * len(src["cells"].data["x"])
    assert len(src["stats"].data["s"]) == count * lock.params.cores
    labels = {b.label for b in _models(view.layout, Button)}
    assert {"▶ Play", "◀ Back", "Next ▶"} <= labels
    sliders = _models(view.layout, Slider)
    assert view.slider in sliders and view.slider.end == max(count, 2)
    assert any("setInterval" in cb.code for cb in _models(view.layout, CustomJS))


def test_first_view_is_the_first_frame(lock):
    """Python draws frame 0 as the player's callback would: states and token."""
    view = MachineView(lock.trace, lock.params)
    first = view.last["frames"][0]
    cells = view.sources["cells"].data
    n = lock.params.cores
    assert cells["letter"][:n] == first["states"][0]
    token = view.sources["token"].data
    assert len(token["x"]) == 1  # the first transaction moved data from DRAM
    later = view_at({k: s.data for k, s in view.sources.items()}, 3)
    assert later["cells"]["letter"][:n] == view.last["frames"][3]["states"][0]


def test_standalone_html_needs_no_network(lock, tmp_path):
    layout = machine_animation(lock.trace, lock.params)
    page = file_html(layout, INLINE, "animation")
    assert "cdn.bokeh.org" not in page and "Bokeh.embed" in page


def test_empty_trace_draws_an_idle_machine():
    view = MachineView([], HardwareParams.preset("amd16"))
    assert view.caption.text == "No transactions to show."
    assert len(view.sources["cores"].data["x"]) == 16


def test_live_update_replaces_data_without_a_new_widget(lock):
    """The same BokehModel sends document patches; the models are the same objects."""
    small = tiny_run()
    live = LiveMachineView(small.trace, small.params)
    sent = []
    live.widget.send = lambda *args, **kwargs: sent.append(args)
    cells = live.view.sources["cells"]
    fr = live.update(lock.trace, lock.params)
    assert live.view.sources["cells"] is cells
    assert isinstance(cells, ColumnDataSource) and len(cells.data["x"]) == 16 * len(fr["lines"])
    assert live.view.slider.end == max(len(fr["frames"]), 2)
    assert sent and all(args[0]["msg"] == "patch" for args in sent)
