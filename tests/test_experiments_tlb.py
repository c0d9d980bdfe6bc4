"""tlb-shootdown: the cores each unmap interrupts, worked out by hand on duo (4 cores, 2 chips),
the cost of one interrupt, and the claims at small sizes."""

from __future__ import annotations

import pytest

from coreylab.exercises import SPECS
from coreylab.exercises.engine import solved
from coreylab.experiments import claims, run
from coreylab.experiments.base import new_machine
from coreylab.experiments.tlb import corey_loops, linux_loops
from coreylab.hardware import HardwareParams
from coreylab.kernel import KernelParams
from coreylab.workloads import measure, run_call, run_program
from coreylab.workloads.placement import threads
from coreylab.workloads.unmap import Unmaps, unmap_linux

DUO = HardwareParams.preset("duo")
AMD16 = HardwareParams.preset("amd16")
IPI = KernelParams().memory.ipi_cycles


def ipis(variant: str, cores: int = 4, sharers: int = 2) -> list[float]:
    r = run("tlb-shootdown", variants=[variant], cores=[cores], preset="duo",
            params={"ops": 2, "pages": 2, "sharers": sharers})  # fmt: skip
    return r.column("ipis_per_unmap")


def test_threads_interrupt_every_other_core_and_private_spaces_none():
    assert ipis("linux-threads") == [3]  # all 4 ran the mm: 3 others
    assert ipis("linux-threads", cores=2) == [1]
    assert ipis("linux-procs") == [0]
    assert ipis("corey-private-range") == [0]


def test_a_shared_range_interrupts_only_the_cores_that_mount_it():
    assert ipis("corey-shared-range", sharers=2) == [1]  # ranges {0,1} and {2,3}
    assert ipis("corey-shared-range", sharers=4) == [3]
    # ranges {0,1,2} and {3}: three cores interrupt 2 others, one none: 6 / 4 unmaps
    assert ipis("corey-shared-range", sharers=3) == [1.5]


def test_the_shootdown_log_names_the_targets():
    logs = [Unmaps() for _ in range(4)]
    kernel, loops = corey_loops("corey-shared-range", new_machine(DUO, False), 4, 2, 2, logs)
    measure(kernel, loops, 0, 1, seed=0)
    targets = {s.initiator: s.targets for s in kernel.tlbs.log}
    assert targets == {0: (1,), 1: (0,), 2: (3,), 3: (2,)}
    logs = [Unmaps() for _ in range(4)]
    kernel, loops = linux_loops("linux-threads", new_machine(DUO, False), 4, 2, logs)
    measure(kernel, loops, 0, 1, seed=0)
    assert {s.initiator: s.targets for s in kernel.tlbs.log} == {
        c: tuple(o for o in range(4) if o != c) for c in range(4)
    }


def test_one_more_core_in_the_mask_costs_exactly_one_interrupt():
    # Core 0 maps a page, then maps, touches and unmaps its object alone, twice; core 1 only
    # touched that page once (or never did). The second unmap finds every line where the first
    # left it, so the one difference is the interrupt to core 1: ipi_cycles (and core 1 in the
    # targets). On amd16 (two cores of chip 0), where every line of the second round is still
    # in core 0's L1; duo's caches of four lines evict some, at addresses that differ by run.
    costs = {}
    for joined in (False, True):
        kernel, (t0, t1) = threads(new_machine(AMD16, False), 2)
        addr = run_call(t0, kernel.mmap, AMD16.page_size)  # the same mappings either way
        if joined:
            run_call(t1, kernel.touch, addr)
        obj = run_call(t0, kernel.shmem_create, 2 * AMD16.page_size)
        log = Unmaps()
        for _ in range(2):
            run_program(t0.core, unmap_linux(kernel, t0, obj, 2, log))
        costs[joined] = log.cycles[1]
        assert log.ipis == [int(joined)] * 2
    assert costs[True] - costs[False] == IPI


@pytest.fixture(scope="module")
def small():
    return run("tlb-shootdown", cores=[1, 2, 8], params={"ops": 2, "pages": 2, "sharers": 2})


def test_the_claims_hold_at_eight_cores(small):
    assert [v.agrees for v in claims.check("tlb-shootdown", small)] == [True, True]


def test_an_unmap_waits_at_least_for_its_interrupts(small):
    for row in small.rows:
        assert row["cycles_per_unmap"] >= row["ipis_per_unmap"] * IPI


def test_same_seed_same_rows():
    kw = {"variants": ["linux-threads"], "cores": [4], "seed": 5, "params": {"ops": 2}}
    assert run("tlb-shootdown", **kw).rows == run("tlb-shootdown", **kw).rows


@pytest.mark.parametrize("cores, sharers", [(8, 3), (8, 5), (16, 3), (4, 8)])
def test_the_exercise_answer_is_the_groups_count_of_other_members(cores, sharers):
    # Groups of `sharers` consecutive cores (the last one smaller): each of a group's g cores
    # interrupts the g - 1 others, so the mean is sum(g * (g - 1)) / cores.
    groups = [min(sharers, cores - first) for first in range(0, cores, sharers)]
    expected = sum(g * (g - 1) for g in groups) / cores
    variant = {"variant": "corey-shared-range", "cores": cores, "sharers": sharers}
    assert solved(SPECS["04.shootdown-ipis"], variant) == pytest.approx(expected, abs=1e-3)
