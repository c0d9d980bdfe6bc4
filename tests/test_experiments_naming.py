"""object-naming: ids and line transfers worked out by hand on tiny machines, and the talk's
claim at small sizes (a global table stops scaling, per-core tables and ids scale)."""

from __future__ import annotations

import pytest

from coreylab.experiments import EXPERIMENTS, claims, run
from coreylab.experiments.base import new_machine
from coreylab.experiments.naming import handoff, loops_for
from coreylab.hardware import HardwareParams
from coreylab.kernel.shares import GLOBAL_IDS, ID_CORE_SHIFT
from coreylab.workloads import measure

DUO = HardwareParams.preset("duo")


def made(variant: str, cores: int, ops: int) -> tuple:
    """Run `ops` operations per core on duo; the ids of the objects made, and the kernel."""
    kernel, loops = loops_for(variant, cores, new_machine(DUO, False))
    measure(kernel, loops, 0, ops, seed=0)
    ids = {i for i, o in kernel.kobjects.items() if o.kind == "segment"}
    return ids, kernel


def test_corey_ids_are_each_cores_own_count_with_the_core_in_the_top_bits():
    # Each core's counter gave 1 to its pcore's own share, 2 to its root address range and 3
    # to its table (share_alloc), so its objects are 4, 5, 6 with its number above bit 48.
    ids, _ = made("corey-percore", 4, 3)
    assert ids == {c << ID_CORE_SHIFT | k for c in range(4) for k in (4, 5, 6)}


def test_global_ids_are_one_count_for_the_whole_machine():
    # global-counter: the 4 tables took 1..4 from the one counter, the 12 objects 5..16;
    # global-table: the one table took 1, the objects 2..13. Every id has the global bit.
    ids, _ = made("global-counter", 4, 3)
    assert ids == {GLOBAL_IDS | k for k in range(5, 17)}
    ids, _ = made("global-table", 4, 3)
    assert ids == {GLOBAL_IDS | k for k in range(2, 14)}


def test_every_object_was_dropped_from_its_table():
    for variant in EXPERIMENTS["object-naming"].variants:
        ids, kernel = made(variant, 2, 2)
        tables = {s for t in kernel.tasks for s in t.shares if s != t.root_share}
        assert all(not kernel.share_entries(s) for s in tables), variant
        assert all(kernel.kobjects[i].kind == "segment" for i in ids)


def test_a_global_counter_moves_one_line_and_per_core_ids_none():
    # (`handoff`: core 0 runs its operations, then core 1 its own, never at once.)
    # Core 1's tables and objects are its own; the one counter line was last written by core 0,
    # so core 1's first object takes it from core 0's cache (1 transfer), and keeps it after.
    assert handoff("corey-percore", 3) == 0
    assert handoff("global-counter", 3) == 1
    # The global table's lock, size and slot lines come over too.
    assert handoff("global-table", 3) > 1


def test_no_line_moves_between_per_core_tables_even_all_at_once():
    result = run("object-naming", variants=["corey-percore"], cores=[1, 2, 4], preset="duo",
                 params={"ops": 3})  # fmt: skip
    assert result.column("line_transfers_per_op") == [0, 0, 0]


@pytest.fixture(scope="module")
def small():
    return run("object-naming", cores=[1, 4, 8], params={"ops": 4})


def test_the_talks_claim_holds_at_eight_cores(small):
    verdicts = claims.check("object-naming", small)
    assert [v.agrees for v in verdicts] == [True]
    one = small.row(variant="global-table", cores=1)["ops_per_sec"]
    assert small.row(variant="global-table", cores=4)["ops_per_sec"] < one
    assert small.row(variant="global-counter", cores=4)["line_transfers_per_op"] <= 1


def test_at_one_core_a_table_is_a_table():
    # One core: nothing is shared, so the global table costs what a per-core one does, and the
    # global counter only its atomic instead of a load and a store.
    r = run("object-naming", cores=[1], params={"ops": 3})
    assert r.row(variant="global-table")["cycles_per_op"] == r.row(
        variant="global-counter")["cycles_per_op"]  # fmt: skip
    assert r.column("line_transfers_per_op") == [0, 0, 0]


def test_same_seed_same_rows():
    a = run("object-naming", variants=["global-table"], cores=[4], seed=3, params={"ops": 3})
    b = run("object-naming", variants=["global-table"], cores=[4], seed=3, params={"ops": 3})
    assert a.rows == b.rows
