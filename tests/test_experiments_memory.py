"""memclone and mempass: the talk's claims about address spaces, at small sizes, and why.

Each claim is checked with the mechanism that should cause it: not only "threads get slower"
but "and the mm_struct lines are what moves between cores".
"""

import dataclasses

import pytest

from coreylab.exercises import memory_run
from coreylab.experiments import EXPERIMENTS, ExperimentError, run
from coreylab.experiments.claims import ABOUT
from coreylab.experiments.mapreduce import KEYS, Job, run_mapreduce
from coreylab.hardware import HardwareParams
from coreylab.kernel.params import MemoryParams

PAGES = 16


@pytest.fixture(scope="module")
def memclone():
    return run("memclone", cores=[1, 4, 16], params={"pages": PAGES})


@pytest.fixture(scope="module")
def mempass():
    return run("mempass", cores=[1, 2, 8], params={"pages": PAGES})


def cpp(result, variant, cores):
    return result.row(variant=variant, cores=cores)["cycles_per_page"]


def transfers(result, variant, cores, prefix):
    """Line transfers on the lines of kernel objects whose label starts with `prefix`."""
    i = result.rows.index(result.row(variant=variant, cores=cores))
    stats = result.counters[i].by_label()
    return sum(s.transfers for label, s in stats.items() if label.startswith(prefix))


def test_experiments_are_registered_with_their_names():
    assert EXPERIMENTS["memclone"].variants == ("linux-threads", "linux-procs", "corey-ar")
    assert EXPERIMENTS["memclone"].metrics == ("cycles_per_page", "max_cycles_per_page", "faults")
    assert EXPERIMENTS["mempass"].variants == ("linux-threads", "linux-procs", "corey-ar")
    assert EXPERIMENTS["mempass"].metrics == ("cycles_per_page", "soft_faults")
    with pytest.raises(ExperimentError):
        run("memclone", params={"pages": 0})


def test_memclone_shared_address_space_cost_grows_with_cores(memclone):
    """One mm for all threads: the cost per page grows with cores, because every fault's
    mmap_sem and rss-counter updates move the mm's lines between cores."""
    one, four, sixteen = (cpp(memclone, "linux-threads", c) for c in (1, 4, 16))
    assert one < four < sixteen
    assert sixteen > 1.5 * one
    assert transfers(memclone, "linux-threads", 16, "mm[0].mmap_sem") > 16 * PAGES
    assert transfers(memclone, "linux-threads", 16, "mm[0].counters") > 8 * PAGES


@pytest.mark.parametrize("variant", ["linux-procs", "corey-ar"])
def test_memclone_private_address_spaces_stay_flat(memclone, variant):
    """An mm per process, or an address range per core: nothing of the kernel's address-space
    data is shared, so those lines never move, and 16 cores cost what 4 do. From 1 to 4 cores
    the cores of chip 0 come to share its memory controller, which zeroes their pages at one
    line per 12 cycles (streaming stores): a page waits at most for the other three cores'
    pages, 3 * 64 * 12 cycles; from 4 cores on every chip is as busy as chip 0."""
    p = HardwareParams.preset("amd16")
    one, four, sixteen = (cpp(memclone, variant, c) for c in (1, 4, 16))
    assert sixteen < 1.03 * four
    assert four <= one + 3 * (p.page_size // p.line_size) * p.dram_cycles_per_line
    prefix = "mm[" if variant == "linux-procs" else "ar["
    assert transfers(memclone, variant, 16, prefix) == 0
    # the talk's claim at this size too: "clearly more" is claims.ABOUT (MOSBENCH: 1.44x)
    assert cpp(memclone, "linux-threads", 16) > ABOUT * cpp(memclone, variant, 16)


def test_memclone_one_core_threads_and_processes_do_the_same_work(memclone):
    """On one core a thread's mm is nobody else's: the same faults, the same lines, the same
    cycles as a process's. (MOSBENCH measured threads 4% dearer on one core, 5,802 vs 5,560;
    the model has no cost a lone thread pays and a process does not.)"""
    assert cpp(memclone, "linux-threads", 1) == cpp(memclone, "linux-procs", 1)


def test_memclone_every_page_is_one_hard_fault(memclone):
    for row in memclone.rows:
        assert row["faults"] == PAGES * row["cores"]
        assert row["max_cycles_per_page"] >= row["cycles_per_page"]


def test_mempass_soft_faults_only_with_private_page_tables(mempass):
    """Separate processes each fill their own page table: a soft fault per page per core
    after the first. Threads share one page table, Corey cores share the range's: none."""
    for cores in (1, 2, 8):
        assert mempass.row(variant="linux-procs", cores=cores)["soft_faults"] == PAGES * (cores - 1)
        for variant in ("linux-threads", "corey-ar"):
            assert mempass.row(variant=variant, cores=cores)["soft_faults"] == 0
    # A later process's turn is a thread's (a walk, a store) plus a soft fault per page, whose
    # trap and handler work alone cost fault_trap_cycles + fault_work_cycles.
    work = MemoryParams().fault_trap_cycles + MemoryParams().fault_work_cycles
    later = {}
    for variant in ("linux-threads", "linux-procs", "corey-ar"):
        run8 = memory_run("mempass", variant, 8, PAGES)
        later[variant] = sum(run8.cycles[c] for c in range(1, 8)) / 7 / PAGES
    for shared in ("linux-threads", "corey-ar"):
        assert later["linux-procs"] >= later[shared] + work, shared


def test_points_are_deterministic_and_carry_a_labelled_trace():
    exp = EXPERIMENTS["memclone"]
    hw = HardwareParams.preset("duo")
    a = exp.point("linux-threads", 2, 0, hw, True, pages=3)
    b = exp.point("linux-threads", 2, 0, hw, True, pages=3)
    assert a.rows == b.rows and a.trace.records == b.trace.records
    labels = {r.label for r in a.trace}
    assert "mm[0].mmap_sem" in labels and "mm[0].counters" in labels


# -- mapreduce ------------------------------------------------------------------------------------
MR_VARIANTS = ("linux-threads", "linux-procs", "corey")


@pytest.mark.parametrize("variant", MR_VARIANTS)
def test_mapreduce_streaming_model_matches_every_entry_simulated(variant):
    """The scale model writes a line of eight entries per simulated store (the other seven
    are L1 hits, charged at the L1 latency); simulating every entry's store gives the same
    times within a few per cent (the two draw the partitions per record and per word, so the
    blocks differ a little)."""
    hw = HardwareParams.preset("amd16")
    full = run_mapreduce(variant, 4, 0, hw, False, 4096, record_words=1)[0]
    lines = run_mapreduce(variant, 4, 0, hw, False, 4096)[0]
    for metric in ("seconds", "map_seconds", "reduce_seconds"):
        assert lines[metric] == pytest.approx(full[metric], rel=0.05), metric


def map_records(cores, words, seed=0):
    """Replay each map task's word stream (8 words a record, a partition per record) and
    count the records each map task writes for each partition."""
    job = Job("linux-threads", cores, words, seed)
    records = []
    for m in range(cores):
        rng, counts = job.rng(m), [0] * cores
        for _ in range(words // 8):
            counts[rng.randrange(KEYS) % cores] += 1
        records.append(counts)
    return records


def heap_blocks(cores, words, seed=0):
    """The pages each partition's block takes in each map task's heap (64 records a page)."""
    return [[-(-n // 64) for n in row] for row in map_records(cores, words, seed)]


def heap_pages(cores, words, seed=0):
    """Every page the heaps take: the map tasks' blocks, then each reducer's output, a copy
    of every record of its partition (64 records a page)."""
    records = map_records(cores, words, seed)
    outputs = [-(-sum(row[r] for row in records) // 64) for r in range(cores)]
    return sum(map(sum, heap_blocks(cores, words, seed))) + sum(outputs)


def test_mapreduce_faults_by_hand():
    """Threads and Corey fault each heap page once (reducers share the map's page tables):
    the map tasks' blocks and the reducers' outputs. Processes also soft-fault their slice of
    the input (all but core 0's, which faulted it in untimed) and every page of their
    partition's blocks in every other map's heap."""
    cores, words = 4, 2048
    blocks, heap = heap_blocks(cores, words), heap_pages(cores, words)
    others = sum(blocks[m][r] for m in range(cores) for r in range(cores) if m != r)
    input_pages = words * 4 // 4096
    result = run("mapreduce", cores=[cores], params={"words": words})
    faults = {v: result.row(variant=v)["faults"] for v in MR_VARIANTS}
    assert faults == {"linux-threads": heap, "corey": heap,
                      "linux-procs": heap + (cores - 1) * input_pages + others}  # fmt: skip


@pytest.fixture(scope="module")
def mapreduce():
    """1 and 16 cores, all variants, 8k words a core (16 heap pages a core)."""
    return run("mapreduce", cores=[1, 16], params={"words": 8192})


def test_mapreduce_vm_fraction_is_measured_and_grows_with_shared_mm(mapreduce):
    """vm_fraction is the cores' cycles in faults and heap-growing calls over all core time:
    on one core the same for threads and Corey's ranges within a few points (their faults
    cost about the same alone); at 16 cores the threads' grows (they wait on mmap_sem and
    the mm's lines), Corey's does not grow as much."""
    frac = {(r["variant"], r["cores"]): r["vm_fraction"] for r in mapreduce.rows}
    assert all(0 < f < 1 for f in frac.values())
    assert frac["linux-threads", 16] > frac["linux-threads", 1]
    assert frac["corey", 16] < frac["linux-threads", 16]
    assert frac["linux-procs", 16] > frac["linux-procs", 1]  # soft faults in reduce


def test_mapreduce_ranking_at_16_cores(mapreduce):
    """Corey first (no mm contention, no soft faults in reduce). The two Linux designs pay in
    different ways: threads wait on their one mm wherever the heaps grow (map, and reduce's
    copies), processes soft-fault their slice of the input (8 pages at 8k words) and at least
    one page of their partition's block in each of the 15 other heaps. At this size the two
    costs nearly cancel, so their order is not asserted: the talk's "threads beat processes" is
    a claim the model does not reproduce here (experiments/claims/table.py says why)."""
    row = {v: mapreduce.row(variant=v, cores=16) for v in MR_VARIANTS}
    sec = {v: r["seconds"] for v, r in row.items()}
    assert sec["corey"] < min(sec["linux-threads"], sec["linux-procs"])
    input_pages = 8192 * 4 // 4096
    extra = row["linux-procs"]["faults"] - row["linux-threads"]["faults"]
    assert extra >= 15 * input_pages + 16 * 15
    assert row["linux-threads"]["map_seconds"] > row["linux-procs"]["map_seconds"]
    for linux in ("linux-threads", "linux-procs"):
        assert row[linux]["reduce_seconds"] > row["corey"]["reduce_seconds"]


def test_mapreduce_too_big_for_the_machine_is_refused_before_any_point_runs(monkeypatch):
    """tiny (one chip of 256 pages), 2 cores, 32,768 words a core: the input is 64 pages and
    each map task's entries 64 (32,768 / 8 a record / 64 records a page), copied again by the
    reducers: at least 64 + 2 x 2 x 64 = 320 pages. Refused in one line, nothing run."""
    from coreylab import experiments

    mr = EXPERIMENTS["mapreduce"]
    ran = []
    monkeypatch.setitem(EXPERIMENTS, "mapreduce",
                        dataclasses.replace(mr, point=lambda *a, **k: ran.append(a)))  # fmt: skip
    with pytest.raises(ExperimentError, match="at least 320 pages .* tiny machine has 256"):
        run("mapreduce", preset="tiny", params={"words": 32768})
    with pytest.raises(ExperimentError, match="at least 320 pages"):
        experiments.check("mapreduce", preset="tiny", params={"words": 32768})
    assert ran == []
    monkeypatch.undo()
    # 24,192 words (47 pages of entries a task, 48 of input: 236) runs on the real machine
    result = run("mapreduce", variants=["linux-threads"], cores=[2], preset="tiny",
                 params={"words": 24192})  # fmt: skip
    assert result.rows[0]["cores"] == 2
