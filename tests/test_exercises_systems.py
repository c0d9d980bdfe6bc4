"""Exercises of lessons 05 (MapReduce) and 06 (kernel cores), and the runs they look inside.

The generic checks every exercise passes (its own answer accepted, a wrong one refused, an
unreadable one explained, variants per student) are in `test_exercises.py`; here, what these
exercises teach, checked against counts a person can make by hand.
"""

import json
import re
from pathlib import Path

import pytest
from test_experiments_memory import heap_blocks, heap_pages

from coreylab.exercises import SPECS
from coreylab.exercises.engine import solved
from coreylab.exercises.systems import (
    MAPREDUCE_VARIANTS,
    mapreduce_run,
    parse_ranking,
    ring_calls,
)
from coreylab.experiments import run
from coreylab.hardware import HardwareParams

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PAGE, ENTRY = 4096, 8  # bytes of a page, of an intermediate entry


@pytest.mark.parametrize("variant", MAPREDUCE_VARIANTS)
def test_mapreduce_run_gives_the_experiments_row(variant):
    """The lesson's run that keeps its kernel measures what the experiment measures."""
    kept = mapreduce_run(variant, 4, words=512)
    row = run("mapreduce", variants=[variant], cores=[4], params={"words": 512}).rows[0]
    assert kept.row == row


def test_threads_wait_on_mmap_sem_and_processes_on_nothing():
    """Threads share one mm: mmap_sem is the lock they wait for. Processes each have their own,
    and no lock of theirs is ever contended."""
    threads = mapreduce_run("linux-threads", 8, words=512).locks()
    assert threads[0]["name"].endswith("mmap_sem") and threads[0]["contentions"] > 0
    procs = mapreduce_run("linux-procs", 8, words=512).locks(top=None)
    assert all(lock["contentions"] == 0 for lock in procs)


@pytest.mark.parametrize("variant", ["linux-threads", "corey"])
@pytest.mark.parametrize(("cores", "words"), [(2, 512), (4, 2048)])
def test_shared_page_tables_fault_once_per_heap_page(variant, cores, words):
    """With one mm or mounted ranges, the timed part faults each page of each heap once,
    nothing else: per map task and partition, its records (8 words each) in pages of 64
    records, then each reducer's copy of its partition's records, counted by replaying the
    map's word stream."""
    faults = solved(SPECS["05.faults"], dict(variant=variant, cores=cores, words=words))
    assert faults == heap_pages(cores, words)


def test_processes_fault_again_on_their_blocks_in_every_other_heap():
    """Each process also faults on its slice of the input and on its partition's pages in
    every other task's heap in reduce."""
    spec = SPECS["05.faults"]
    faults = solved(spec, dict(variant="linux-procs", cores=4, words=1024))
    blocks = heap_blocks(4, 1024)
    others = sum(blocks[m][r] for m in range(4) for r in range(4) if m != r)
    heap = heap_pages(4, 1024)
    assert faults == heap + 3 * (1024 * 4 // PAGE) + others
    assert spec.judge(faults, faults + 1) and not spec.judge(faults, heap)


def test_ranking_reads_short_names_and_refuses_incomplete_ones():
    assert parse_ranking("Corey > procs > threads") == ("corey", "linux-procs", "linux-threads")
    assert parse_ranking(["linux-threads", "corey", "processes"])[2] == "linux-procs"
    for bad in ["corey, procs", "corey, corey, threads", "corey, procs, fibers", 42]:
        with pytest.raises((ValueError, TypeError)):
            parse_ranking(bad)


def test_ranking_follows_how_each_layout_grows_with_the_cores():
    """At the same words per core, threads on 16 cores are slower than threads on 1 (they
    queue on one mm_struct), and corey on 1 core beats threads on 16: the ranking turns on
    how each run's kernel cost grows, which a scaling chart shows."""
    spec = SPECS["05.ranking"]
    cores = {"linux-threads": 16, "linux-procs": 4, "corey": 1}
    ranking = solved(spec, {"words": 256, "cores": cores})
    assert ranking.index("corey") < ranking.index("linux-threads")
    alone = solved(spec, {"words": 256, "cores": dict(cores, **{"linux-threads": 1})})
    assert alone.seconds["linux-threads"] * 2 < ranking.seconds["linux-threads"]


@pytest.mark.parametrize("store_buffer", [0, 32])
def test_a_ring_call_moves_a_handful_of_lines_wherever_the_caller_is(store_buffer):
    """Calls through a ring move a fixed handful of lines each (the count grows with the
    calls), whether the caller is on the kernel core's chip or one or two hops away; how the
    polls fall between the other side's writes can add a crossing or two, and the time of
    each transfer grows with the distance. With or without store buffers."""
    hw = HardwareParams.preset("amd16").replace(store_buffer=store_buffer)
    counts = {}
    for app in (1, 5, 9):  # same chip as core 0, one hop, two hops
        one, three = ring_calls(app, 1, hw=hw), ring_calls(app, 3, hw=hw)
        assert 3 * one.transfers <= three.transfers <= 3 * one.transfers + 2
        assert 4 <= one.transfers <= 8, (app, one.transfers)
        counts[app] = one
    assert counts[1].cycles < counts[5].cycles < counts[9].cycles


def test_ring_lines_are_the_only_lines_that_move():
    rc = ring_calls(5, 2, trace=True)
    moved = {label for label, s in rc.machine.counters().by_label().items() if s.transfers}
    assert moved and all(label.startswith("ring") for label in moved)


def test_web_server_pairs_scale_and_linux_falls():
    """What 06.web-growth asks: Corey's pairs share only their rings; Linux's cores share one
    listener, so past a few cores adding cores loses requests."""
    spec = SPECS["06.web-growth"]
    assert solved(spec, dict(variant="corey-dedicated", cores=4, factor=2, clients=4)) > 1.5
    assert solved(spec, dict(variant="linux", cores=8, factor=2, clients=4)) < 1.0


@pytest.mark.parametrize("lesson", ["05_mapreduce", "06_kernel_cores"])
def test_each_lesson_asks_its_own_exercises(lesson):
    """Every exercise the notebook asks exists and belongs to it; there are at least two."""
    nb = json.loads((NOTEBOOKS / f"{lesson}.ipynb").read_text())
    source = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    keys = re.findall(r'lab\.exercise\("([^"]+)"', source)
    assert len(set(keys)) >= 2
    assert all(SPECS[key].lesson == lesson for key in keys)
    assert {k for k, s in SPECS.items() if s.lesson == lesson} == set(keys)
