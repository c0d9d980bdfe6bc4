"""tlb-shootdown: what unmapping memory costs when other cores may cache its translations. Each
core maps memory of its own, touches every page, and unmaps it, in a loop (`workloads/unmap.py`).

Variants:
  linux-threads        one process, a thread per core: every munmap interrupts every other core
                       that ran the mm (all of them), though none touched these pages
  linux-procs          a process per core: an mm each, no other core to interrupt
  corey-private-range  a pcore per core, mapping its segment in its own root range: no one else
                       can hold the translations
  corey-shared-range   pcores in groups of `sharers` consecutive cores; each group's range is
                       mounted by its members, each of which maps its own segment in it: an
                       unmap interrupts the other members, and no one outside the group

The interrupts are the kernels' own shootdown code (`kernel/tlb.py`): the initiator waits
`MemoryParams.ipi_cycles` (an estimate) per core it interrupts, while holding the mm's
`mmap_sem` (Linux) or the range's mapping lock (Corey) for writing, as the kernels do.

Metrics, over the timed phase only (after a warm-up; see `workloads.measure`):
  ops_per_sec       map+touch+unmap rounds per simulated second, all cores together
  cycles_per_unmap  cycles of one unmap call (lock waits and interrupts included), mean
  ipis_per_unmap    other cores one unmap interrupted, mean

What it leaves out: the interrupted cores' time in the handler (only the initiator's wait is
charged), batching of shootdowns, lazy TLB mode; everything `tlb.py` leaves out.
"""

from __future__ import annotations

from ..hardware import HardwareParams, Machine
from ..workloads import Loop, measure, run_call
from ..workloads.memory import REGION_VA, corey_shared_share, region_pages
from ..workloads.placement import pcores, processes, threads
from ..workloads.unmap import Unmaps, unmap_corey, unmap_linux
from .base import Experiment, Param, Point, finish_point, new_machine

VARIANTS = ("linux-threads", "linux-procs", "corey-private-range", "corey-shared-range")

# ops x pages at most 16,384: 13 KB of the simulator's memory per round, page and core
# (estimate.FOOTPRINTS), 3.4 GB on 16 cores
PAGES = Param("pages", 4, 1, 64, "pages each core maps, touches and unmaps per round")
OPS = Param("ops", 4, 1, 256, "rounds per core, timed")
WARMUP = Param("warmup", 1, 0, 1_000, "rounds per core before timing starts")
SHARERS = Param("sharers", 4, 1, 1024, "cores that mount each range (corey-shared-range)")


def linux_loops(variant: str, machine: Machine, cores: int, pages: int, logs: list[Unmaps]):
    """Threads or processes, each with a MAP_SHARED object of its own to map again and again."""
    kernel, tasks = (threads if variant == "linux-threads" else processes)(machine, cores)
    size = pages * machine.params.page_size
    return kernel, [Loop(t, unmap_linux, (run_call(t, kernel.shmem_create, size), pages, log))
                    for t, log in zip(tasks, logs, strict=True)]  # fmt: skip


def corey_loops(variant: str, machine: Machine, cores: int, pages: int, sharers: int,
                logs: list[Unmaps]):  # fmt: skip
    """Pcores, each with a segment of its own, mapped in its root range (private) or in its
    group's range at a window of its own (shared: 2 MB apart, so no page table is shared)."""
    kernel, tasks = pcores(machine, cores)
    size = sharers if variant == "corey-shared-range" else 1
    window = region_pages(pages) * machine.params.page_size
    loops = []
    for first in range(0, cores, size):
        group = tasks[first : first + size]
        share = ar = None
        if variant == "corey-shared-range":
            share = corey_shared_share(kernel, group)
            ar = (share, run_call(group[0], kernel.ar_alloc, share=share))
        for i, t in enumerate(group):
            seg = run_call(t, kernel.segment_alloc, pages)
            if ar is None:
                args = (kernel.root_range(t), REGION_VA, 0)
            else:
                run_call(t, kernel.ar_set_ar, kernel.root_range(t), REGION_VA, ar)
                args = (ar, i * window, REGION_VA)
            loops.append(Loop(t, unmap_corey, (*args, seg, pages, logs[t.core_id])))
    return kernel, loops


def point(variant: str, cores: int, seed: int, hw: HardwareParams, trace: bool, pages: int,
          ops: int, warmup: int, sharers: int) -> Point:  # fmt: skip
    machine = new_machine(hw, trace)
    logs = [Unmaps() for _ in range(cores)]
    if variant.startswith("linux"):
        kernel, loops = linux_loops(variant, machine, cores, pages, logs)
    else:
        kernel, loops = corey_loops(variant, machine, cores, pages, sharers, logs)
    m = measure(kernel, loops, warmup, ops, seed)
    cycles = [c for log in logs for c in log.cycles[-ops:]]
    ipis = [n for log in logs for n in log.ipis[-ops:]]
    return finish_point(machine, kernel, variant, cores, {
        "ops_per_sec": round(m.ops_per_sec(hw), 1),
        "cycles_per_unmap": round(sum(cycles) / len(cycles), 1),
        "ipis_per_unmap": round(sum(ipis) / len(ipis), 3),
    })  # fmt: skip


TLB_SHOOTDOWN = Experiment(
    name="tlb-shootdown",
    summary="each core maps, touches and unmaps its memory: who must be interrupted to flush",
    variants=VARIANTS,
    metrics=("ops_per_sec", "cycles_per_unmap", "ipis_per_unmap"),
    params=(PAGES, OPS, WARMUP, SHARERS),
    point=point,
)
