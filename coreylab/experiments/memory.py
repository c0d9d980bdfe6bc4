"""memclone and mempass: what a shared address space costs when cores grow or pass memory.

What they measure (the paper's address-range benchmarks; programs in `workloads/memory.py`):
  memclone  each core allocates a region and writes one word per page, allocation timed.
            `cycles_per_page` is the mean over cores of each core's cycles / pages;
            `max_cycles_per_page` the slowest core's; `faults` all page faults (hard + soft).
            With one address space (`linux-threads`) every fault takes mmap_sem and bumps the
            rss counter in the one mm_struct, so its lines bounce and the cost per page grows
            with cores; `linux-procs` (an mm each) and `corey-ar` (a range each) rise only
            while a chip's cores come to share its memory controller (1 to 4 cores: zeroing
            pages) and then stay flat. One core's cost is calibrated on MOSBENCH's memclone
            (Linux 2.6.35 on Family 10h, 5,560 cycles a page: `fault_work_cycles`); there
            processes keep rising to 2.3x at 16 cores, which the model does not (claims/table.py).
  mempass   one buffer, each core in turn writes one word per page. `cycles_per_page` is the
            mean over cores of each core's turn / pages; `soft_faults` counts faults that only
            filled an entry. Separate processes (`linux-procs`, a MAP_SHARED buffer) take a soft
            fault per page per core after the first; one address space (`linux-threads`) and
            one shared Corey range (`corey-ar`) share the page table, so they take none. A soft
            fault pays the same handler work as a zero-fill one (an estimate: no source here
            times a soft fault), so it costs nearly as much.

Everything is simulated: costs come from the machine's caches and DRAM and the kernels' data
on lines; the instruction work of kernel paths is `KernelParams.memory` (estimates). No randomness:
the seed is accepted and changes nothing. Sizes: `pages` per core (memclone) or per buffer
(mempass), up to the paper's 25,600 (100 MB; slow, and memory-hungry: the machine keeps
counters per line touched).

Left out: what the application does with the memory besides one word per page; huge pages.
"""

from __future__ import annotations

from ..hardware import HardwareParams
from ..workloads.memory import (
    design,
    make_tasks,
    mempass_program,
    mempass_setup,
)
from .base import Experiment, Param, Point, finish_point, new_machine

VARIANTS = ("linux-threads", "linux-procs", "corey-ar")
PAPER_PAGES = 25_600  # 100 MB of 4 KB pages
# The largest sizes that fit in 4 GB on 16 cores (estimate.FOOTPRINTS: about 90 KB of the
# simulator's memory per page and core for memclone, 10 KB for mempass).
MAX_MEMCLONE_PAGES, MAX_MEMPASS_PAGES = 2048, 16_384


def run_memclone(variant: str, cores: int, hw: HardwareParams, trace: bool, pages: int):
    """Every core allocates `pages` pages and writes one word in each, at once. Returns the
    machine, the kernel, its tasks and each core's cycles (lessons keep the kernel)."""
    machine = new_machine(hw, trace)
    kernel, tasks = make_tasks(variant, machine, cores)
    out: dict[int, int] = {}
    program = design(variant).memclone
    for task in tasks:
        machine.spawn(task.core.id, program, kernel, task, pages, out)
    machine.run()
    return machine, kernel, tasks, out


def run_mempass(variant: str, cores: int, hw: HardwareParams, trace: bool, pages: int):
    """Core 0 writes one word in every page of a buffer, then core 1, ... (a baton in memory
    says whose turn it is; setting up the mappings is not timed). Returns as `run_memclone`."""
    machine = new_machine(hw, trace)
    kernel, tasks = make_tasks(variant, machine, cores)
    addrs = mempass_setup(variant, kernel, tasks, pages)
    baton = machine.memory.alloc(hw.line_size, 0, "mempass.baton")
    out: dict[int, int] = {}
    for task in tasks:
        machine.spawn(task.core.id, mempass_program, kernel, task, addrs[task.id], pages, baton,
                      out)  # fmt: skip
    machine.run()
    return machine, kernel, tasks, out


def memclone_point(
    variant: str, cores: int, seed: int, hw: HardwareParams, trace: bool, pages: int
) -> Point:
    machine, kernel, tasks, out = run_memclone(variant, cores, hw, trace, pages)
    per_page = [out[t.core.id] / pages for t in tasks]
    faults = kernel.faults.hard_total + kernel.faults.soft_total
    return finish_point(machine, kernel, variant, cores, {
        "cycles_per_page": sum(per_page) / len(per_page),
        "max_cycles_per_page": max(per_page),
        "faults": faults,
    })  # fmt: skip


def mempass_point(
    variant: str, cores: int, seed: int, hw: HardwareParams, trace: bool, pages: int
) -> Point:
    machine, kernel, tasks, out = run_mempass(variant, cores, hw, trace, pages)
    per_page = [out[t.core.id] / pages for t in tasks]
    return finish_point(machine, kernel, variant, cores, {
        "cycles_per_page": sum(per_page) / len(per_page),
        "soft_faults": kernel.faults.soft_total,
    })  # fmt: skip


MEMCLONE = Experiment(
    name="memclone",
    summary="each core allocates memory and touches every page: shared mm vs private ones",
    variants=VARIANTS,
    metrics=("cycles_per_page", "max_cycles_per_page", "faults"),
    params=(Param("pages", 32, 1, MAX_MEMCLONE_PAGES, "pages each core allocates and touches"),),
    point=memclone_point,
)

MEMPASS = Experiment(
    name="mempass",
    summary="a buffer passed from core to core: soft page faults with private page tables",
    variants=VARIANTS,
    metrics=("cycles_per_page", "soft_faults"),
    params=(Param("pages", 64, 1, MAX_MEMPASS_PAGES, "pages in the buffer every core touches"),),
    point=mempass_point,
)
