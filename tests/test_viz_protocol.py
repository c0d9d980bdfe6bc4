"""The protocol grid: one cell per table row, and the cells a trace exercised, counted.

Counts are worked out by hand on the tiny runs, and on the lock run checked against the
records directly (every atomic is a STORE from its recorded state; every invalidated copy is a
PROBE_WRITE).
"""

from __future__ import annotations

from collections import Counter

import pytest
from test_viz_traces import forward_run, lock_run, silent_run, tiny_run

from coreylab.hardware import PROTOCOL_TABLES, HardwareParams, Machine
from coreylab.viz import exercised, protocol_table
from coreylab.viz.protocol import table_data


def _cells(counts, role):
    return {cell: n for cell, n in counts[role].items() if n}


@pytest.mark.parametrize("name", ["MSI", "MESI", "MOESI", "MESIF"])
def test_one_cell_per_table_row(name):
    data = table_data(name, None)
    rows = PROTOCOL_TABLES[name].rows
    assert list(zip(data["state"], data["event"], data["next"], strict=True)) == [
        (s.name, e.name, n.name) for s, e, _, n in rows
    ]


def test_tiny_run_by_hand():
    """store from DRAM (I, STORE); load while core 0 holds it (I, LOAD), core 0 supplies
    (M, PROBE_READ) -> O; store again (O, STORE) invalidating core 1 (S, PROBE_WRITE)."""
    counts = exercised(tiny_run().trace, "MOESI")
    assert _cells(counts, "requester") == {("I", "STORE"): 1, ("I", "LOAD"): 1, ("O", "STORE"): 1}
    assert _cells(counts, "probe") == {("M", "PROBE_READ"): 1, ("S", "PROBE_WRITE"): 1}


def test_forward_run_by_hand():
    """MESIF: the first read finds nobody (I, LOAD_ONLY), the next two find copies (I, LOAD).
    Core 1's read probes core 0's E; core 2's read probes core 0's S (which stays silent) and
    core 1's F (which supplies and becomes S)."""
    counts = exercised(forward_run().trace, "MESIF")
    assert _cells(counts, "requester") == {("I", "LOAD_ONLY"): 1, ("I", "LOAD"): 2}
    assert _cells(counts, "probe") == {
        ("E", "PROBE_READ"): 1, ("S", "PROBE_READ"): 1, ("F", "PROBE_READ"): 1,
    }  # fmt: skip
    view = protocol_table("MESIF", forward_run().trace)
    data = next(r for r in view.children[0].renderers if r.name == "cells").data_source.data
    assert list(dict.fromkeys(data["state"])) == ["M", "E", "F", "S", "I"]


def test_msi_load_only_is_told_by_the_holders():
    """In MSI both loads end in S; the first finds no other copy (LOAD_ONLY), the second does
    (LOAD), though its data also comes from DRAM (S copies do not supply)."""
    m = Machine(HardwareParams.preset("tiny").replace(protocol="MSI"))
    x = m.memory.alloc(64, label="x")

    def reader(core, delay):
        yield from core.compute(delay)
        yield from core.load(x)

    m.spawn(0, reader, 0)
    m.spawn(1, reader, 500)
    m.run()
    assert _cells(exercised(m.trace, "MSI"), "requester") == {
        ("I", "LOAD_ONLY"): 1, ("I", "LOAD"): 1,
    }  # fmt: skip


def test_silent_store_probe_is_counted_where_it_really_was():
    """Core 0's line went E -> M silently; core 1's read probed it in M (the record says so),
    so the M cell of PROBE_READ is counted, not E's."""
    counts = exercised(silent_run().trace, "MOESI")
    assert _cells(counts, "probe") == {("M", "PROBE_READ"): 1}
    view = protocol_table("MOESI", silent_run().trace)
    data = next(r for r in view.children[0].renderers if r.name == "cells").data_source.data
    counted = [(s, e, t) for s, e, t in zip(data["state"], data["event"], data["count_text"],
                                            strict=True) if t]  # fmt: skip
    assert counted == [("M", "PROBE_READ", "× 1"), ("I", "LOAD", "× 1"), ("I", "LOAD_ONLY", "× 1")]


def test_lock_run_counts_match_the_records():
    m = lock_run(cores=8, rounds=4)
    counts = exercised(m.trace, "MOESI")
    recs = m.trace.records
    atomics = Counter((r.state_before, "STORE") for r in recs if r.kind in ("atomic", "store"))
    assert {c: n for c, n in counts["requester"].items() if c[1] == "STORE"} == atomics
    assert sum(counts["probe"][s, "PROBE_WRITE"] for s in "MOESI") == sum(
        len(r.invalidated) for r in recs
    )


def test_highlighted_cells_show_the_counts():
    m = tiny_run()
    view = protocol_table("MOESI", m.trace)
    fig = view.children[0]
    data = next(r for r in fig.renderers if r.name == "cells").data_source.data
    shown = {(s, e): n for s, e, n in zip(data["state"], data["event"], data["count"],
                                          strict=True) if n}  # fmt: skip
    counts = exercised(m.trace, "MOESI")
    assert shown == {c: n for c, n in (counts["requester"] + counts["probe"]).items()}
    for fill, n, text in zip(data["fill"], data["count"], data["count_text"], strict=True):
        assert (fill != "white") == bool(n) and (text == f"× {n}" if n else text == "")


def test_an_experiment_under_mesif_draws_end_to_end():
    """fd-dup-close on 4 threads under MESIF, traced: the animation's cache-to-cache tokens are
    the machine's transfers, and the grid counts F handing itself on (F on PROBE_READ)."""
    from coreylab.experiments import run
    from coreylab.viz import frames

    hw = HardwareParams.preset("amd16").replace(protocol="MESIF")
    result = run("fd-dup-close", variants=["linux-threads"], cores=[4], trace=True, hw=hw)
    fr = frames(result.trace, hw)
    tokens = [f for f in fr["frames"] if f["kind"] != "evict" and (f["from"] or ("",))[0] == "core"]
    lines = result.counters[0].lines
    assert len(tokens) == sum(lines[x].transfers for x in fr["lines"]) > 0
    assert exercised(result.trace, "MESIF")["probe"]["F", "PROBE_READ"] > 0
