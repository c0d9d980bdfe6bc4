"""The perf-c2c-like hot-lines table and the lock_stat-like table."""

from __future__ import annotations

import pytest
from bokeh.models import DataTable
from test_viz_traces import lock_run

from coreylab.experiments import Result
from coreylab.viz import hot_line_rows, hot_lines, lock_rows, lock_table


@pytest.fixture(scope="module")
def counters():
    return lock_run(cores=8, rounds=4).counters()


def test_rows_match_the_counters(counters):
    rows = hot_line_rows(counters, top=None)
    assert len(rows) == len(counters.lines)
    for row in rows:
        stats = counters.lines[int(row["line"], 16)]
        expected = (stats.label, stats.transfers, stats.invalidations, stats.hitm, stats.fills)
        assert tuple(row[k] for k in ("label", "transfers", "invalidations", "hitm", "fills")) == (
            expected
        )
        assert row["cores"] == len(stats.cores)
    assert [r["transfers"] for r in rows] == sorted((r["transfers"] for r in rows), reverse=True)
    assert rows[0]["label"] == "files.file_lock"


def test_by_label_and_from_a_result(counters):
    rows = hot_line_rows(Result("x", {}, [], counters=[None, counters]), by_label=True)
    assert {r["label"] for r in rows} == {s.label for s in counters.lines.values()}


def test_table_shows_the_rows(counters):
    view = hot_lines(counters, top=5)
    table = next(iter(view.select({"type": DataTable})))
    rows = hot_line_rows(counters, top=5)
    assert table.source.data["transfers"] == [r["transfers"] for r in rows]
    assert [c.title for c in table.columns][:3] == ["object.field", "line", "transfers"]


LOCKS = [
    {"name": "mm.mmap_sem", "acquisitions": 10, "contentions": 5, "wait_cycles": 4000,
     "hold_cycles": 900},
    {"name": "files.file_lock", "acquisitions": 40, "contentions": 30, "wait_cycles": 9000,
     "hold_cycles": 1200},
    {"name": "idle", "acquisitions": 0, "contentions": 0, "wait_cycles": 0, "hold_cycles": 0},
]  # fmt: skip


def test_lock_rows_are_sorted_with_rates():
    rows = lock_rows(LOCKS)
    assert [r["name"] for r in rows] == ["files.file_lock", "mm.mmap_sem", "idle"]
    assert rows[0]["contended"] == 75.0 and rows[0]["wait_avg"] == 225.0
    assert rows[2]["wait_avg"] == 0.0
    table = next(iter(lock_table(LOCKS).select({"type": DataTable})))
    assert table.source.data["name"][0] == "files.file_lock"


def test_lock_stats_missing_a_key_get_a_clear_error():
    with pytest.raises(ValueError, match="entry 0 lacks hold_cycles"):
        lock_rows([{"name": "x", "acquisitions": 1, "contentions": 0, "wait_cycles": 0}])


def test_offsets_from_the_trace_show_false_sharing():
    """Four cores each bump their own counter, packed 8 bytes apart in one line: the hot line
    lists four offsets, each touched by one core: false sharing, not true sharing."""
    from coreylab import playground
    from coreylab.viz import hot_line_rows

    m = playground.private_counters(cores=4, rounds=10, padded=False)
    row = hot_line_rows(m.counters(), top=1, trace=m.trace)[0]
    assert row["label"] == "counters"
    assert row["offsets"] == "0 (core 0), 8 (core 1), 16 (core 2), 24 (core 3)"
