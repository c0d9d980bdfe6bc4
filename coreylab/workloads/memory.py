"""Per-core programs of the memory experiments (memclone, mempass, mapreduce), written against
the two kernels' address-space calls, and the set-up that gives each core its task.

What they model (from Corey's benchmark sources, see shared/reference/corey-notes.md):
  memclone  each core allocates a region of `pages` pages and writes one word in every page;
            the allocation is inside the timed part. Linux: `mmap` then touches; Corey: a
            segment in an address range of the core's own, mounted in its root range.
  mempass   one buffer of `pages` pages; core 0 writes one word in every page, then passes the
            buffer to core 1 (a baton word in memory), and so on round all cores. Only the
            touching is timed. Linux threads: one anonymous mapping in the shared mm; Linux
            processes: a MAP_SHARED object each process maps; Corey: one address range holding
            the buffer's segment, mounted in every core's root range.
  mapreduce each core maps (allocating its output area and appending an entry per input
            word), then, after a barrier, reduces (reading its partition's entries from every
            map task's output). See `experiments/mapreduce.py`.

Each program takes the core first (as `Machine.spawn` calls it) and writes the cycles it spent
into `out[core id]`. Cores are used in order 0, 1, ...: chip by chip.

Left out: what the application does with the memory besides the one word per page.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from ..hardware import Machine
from ..hardware.core import Core
from ..kernel import CoreyKernel, LinuxKernel, Task
from .harness import run_program
from .placement import Placement, pcores, processes, threads

REGION_VA = 1 << 32  # Corey: where a core mounts its region's range (a 1 GB slot)
Op = Generator[Any, Any, Any]


def make_tasks(variant: str, machine: Machine, cores: int):
    """The kernel and one task per core for a variant (see `DESIGNS`)."""
    return design(variant).placement(machine, cores)


def touch_pages(kernel, task: Task, addr: int, pages: int) -> Op:
    """Write one word in each of `pages` pages from `addr`."""
    page_size = kernel.params.page_size
    touch = kernel.touch
    for i in range(pages):
        yield from touch(task, addr + i * page_size, True, task.id + 1)


# -- memclone -----------------------------------------------------------------------------------
def memclone_linux(core: Core, kernel: LinuxKernel, task: Task, pages: int, out: dict) -> Op:
    start = core.local
    addr = yield from kernel.mmap(task, region_pages(pages) * kernel.params.page_size)
    yield from touch_pages(kernel, task, addr, pages)
    out[core.id] = core.local - start


def region_pages(pages: int) -> int:
    """What a core maps for `pages` pages: whole page-table pages' worth (2 MB), so that, as
    with the paper's 100 MB regions, no two cores' pages share a page-table page (and its
    PTE lock) however small the run. Only `pages` of them are touched."""
    per_table = 512
    return -(-pages // per_table) * per_table


def memclone_corey(core: Core, kernel: CoreyKernel, task: Task, pages: int, out: dict) -> Op:
    start = core.local
    seg = yield from kernel.segment_alloc(task, pages)
    ar = yield from kernel.ar_alloc(task)
    yield from kernel.ar_set_seg(task, ar, 0, seg)
    yield from kernel.ar_set_ar(task, kernel.root_range(task), REGION_VA, ar)
    yield from touch_pages(kernel, task, REGION_VA, pages)
    out[core.id] = core.local - start


# -- mempass ------------------------------------------------------------------------------------
def mempass_setup(variant: str, kernel, tasks: list[Task], pages: int,
                  va: int = REGION_VA) -> dict[int, Any]:  # fmt: skip
    """Untimed: map one buffer of `pages` pages for every task (Corey: mounted at `va`);
    return each task's address of it."""
    return design(variant).buffer(kernel, tasks, pages, va)


def buffer_in_one_mm(kernel: LinuxKernel, tasks: list[Task], pages: int, va: int) -> dict:
    """Threads: one anonymous mapping in the mm they all share."""
    first = tasks[0]
    addr = run_program(first.core, kernel.mmap(first, pages * kernel.params.page_size))
    return {t.id: addr for t in tasks}


def buffer_shm(kernel: LinuxKernel, tasks: list[Task], pages: int, va: int) -> dict:
    """Processes: a MAP_SHARED object, made by the first and mapped by each."""
    size, first = pages * kernel.params.page_size, tasks[0]
    obj = run_program(first.core, kernel.shmem_create(first, size))
    return {t.id: run_program(t.core, kernel.mmap(t, size, shared=obj)) for t in tasks}


def buffer_range(kernel: CoreyKernel, tasks: list[Task], pages: int, va: int) -> dict:
    """Pcores: a segment in a range, named in a share every pcore holds, mounted at `va` in
    every pcore's root range."""
    share = corey_shared_share(kernel, tasks)
    ar = run_program(tasks[0].core, _corey_buffer(kernel, tasks[0], pages, share))
    for t in tasks:
        run_program(t.core, kernel.ar_set_ar(t, kernel.root_range(t), va, (share, ar)))
    return {t.id: va for t in tasks}


def corey_shared_share(kernel: CoreyKernel, tasks: list[Task], owner: int = 0) -> int:
    """Untimed: a share made by pcore `owner` and given to every other one, through which they
    all name the objects it puts there (Corey's pfork passes shares the same way)."""
    maker = tasks[owner]
    share = run_program(maker.core, kernel.share_alloc(maker))
    for t in tasks:
        if t is not maker:
            run_program(maker.core, kernel.share_grant(maker, t, share))
    return share


def _corey_buffer(kernel: CoreyKernel, task: Task, pages: int, share: int) -> Op:
    seg = yield from kernel.segment_alloc(task, pages, share=share)
    ar = yield from kernel.ar_alloc(task, share=share)
    yield from kernel.ar_set_seg(task, (share, ar), 0, (share, seg))
    return ar


def mempass_program(core: Core, kernel, task: Task, addr: int, pages: int, baton: int,
                    out: dict) -> Op:  # fmt: skip
    """Wait for the baton to show this core's turn, touch every page, pass the baton on."""
    turn = task.id
    yield from core.spin_until(baton, lambda v: v == turn)
    start = core.local
    yield from touch_pages(kernel, task, addr, pages)
    out[core.id] = core.local - start
    yield from core.store(baton, turn + 1)


# -- mapreduce (Metis-style inverted index) -----------------------------------------------------
# map:    read my slice of the input (one load per line of text), parse each word, and append
#         an entry (word, position) to my output area, allocated by me at the start of the map.
#         Entries go in arrival order (malloc-like), so every page holds entries of every
#         reduce partition.
# reduce: for every map task's output, read the entries of my partition (word % cores).
# A barrier in memory separates the phases. Input: 4 bytes a word, already in memory.
INPUT_VA = 511 << 30  # Corey: where the input's range is mounted in every root (the last
# 1 GB slot of the first 512 GB: map outputs take the slots from 1 GB up, one per map task)
ENTRY = 8  # bytes of an intermediate entry: word id and position packed in one word
WORD_BYTES = 4  # a 3-letter word and its separator in the input text


def output_va(m: int) -> int:
    """Corey: where map task m's output range is mounted (a 1 GB slot each)."""
    return (1 + m) << 30


def output_bytes(job, m: int, page_size: int) -> int:
    """The size of map task m's output area: its entries, in whole pages."""
    return -(-len(job.keys[m]) * ENTRY // page_size) * page_size


def map_task(core: Core, kernel, task: Task, job, out: dict) -> Op:
    """Allocate the output area, read the input slice, write one entry per word."""
    m = task.id
    size = output_bytes(job, m, kernel.params.page_size)
    yield from design(job.variant).outputs.make(kernel, task, job, out, m, size)
    base = job.output_addr(out, m, m)
    first = job.first_word(m)
    for i, key in enumerate(job.keys[m]):
        if (first + i) * WORD_BYTES % 64 == 0:  # a new line of input text
            yield from kernel.touch(task, job.input_addr[m] + (first + i) * WORD_BYTES, False)
        yield from core.compute(job.costs.map_word_cycles)
        yield from kernel.touch(task, base + i * ENTRY, True, job.entry(key, first + i))


def reduce_task(core: Core, kernel, task: Task, job, out: dict) -> Op:
    """Reach every map task's output (map it in), read my partition's entries."""
    r, outputs = task.id, design(job.variant).outputs
    for m in range(job.cores):
        if m != r:
            yield from outputs.reach(kernel, task, job, out, m)
    for m in range(job.cores):
        base, first = job.output_addr(out, r, m), job.first_word(m)
        for i in job.partition[m][r]:
            value = yield from kernel.touch(task, base + i * ENTRY, False)
            if value != job.entry(job.keys[m][i], first + i):
                raise RuntimeError(f"reduce {r} read {value:#x} for entry {i} of map {m}")
            yield from core.compute(job.costs.reduce_entry_cycles)


# Where map task m's output lives and how reducer r reaches it, per design. `out` holds what
# the map tasks made: ("addr", m) or ("addr", r, m) an address, ("obj", m) a shared object,
# ("ar", m) a range.
class OneMmOutputs:
    """Threads: each map task maps its output in the one mm; every reducer sees it there."""

    def setup(self, kernel, tasks: list[Task], job) -> None:
        pass

    def make(self, kernel, task: Task, job, out: dict, m: int, size: int) -> Op:
        out["addr", m] = yield from kernel.mmap(task, size)

    def reach(self, kernel, task: Task, job, out: dict, m: int) -> Op:
        yield from ()

    def addr(self, out: dict, r: int, m: int) -> int:
        return out["addr", m]


class ShmOutputs(OneMmOutputs):
    """Processes: each map task's output is a MAP_SHARED object every reducer maps."""

    def make(self, kernel, task: Task, job, out: dict, m: int, size: int) -> Op:
        obj = out["obj", m] = yield from kernel.shmem_create(task, size)
        out["addr", m, m] = yield from kernel.mmap(task, size, shared=obj)

    def reach(self, kernel, task: Task, job, out: dict, m: int) -> Op:
        size = output_bytes(job, m, kernel.params.page_size)
        out["addr", task.id, m] = yield from kernel.mmap(task, size, shared=out["obj", m])

    def addr(self, out: dict, r: int, m: int) -> int:
        return out["addr", r, m]


class RangeOutputs(OneMmOutputs):
    """Pcores: each map task's output is a segment in a range of its own, named in the map
    task's own share (given to every reducer before the run), mounted at `output_va(m)`."""

    def setup(self, kernel, tasks: list[Task], job) -> None:
        job.shares = {m: corey_shared_share(kernel, tasks, owner=m) for m in range(job.cores)}

    def make(self, kernel, task: Task, job, out: dict, m: int, size: int) -> Op:
        share = job.shares[m]
        seg = yield from kernel.segment_alloc(task, size // kernel.params.page_size, share=share)
        ar = out["ar", m] = yield from kernel.ar_alloc(task, share=share)
        yield from kernel.ar_set_seg(task, (share, ar), 0, (share, seg))
        yield from kernel.ar_set_ar(task, kernel.root_range(task), output_va(m), (share, ar))

    def reach(self, kernel, task: Task, job, out: dict, m: int) -> Op:
        root = kernel.root_range(task)
        yield from kernel.ar_set_ar(task, root, output_va(m), (job.shares[m], out["ar", m]))

    def addr(self, out: dict, r: int, m: int) -> int:
        return output_va(m)


def mapreduce_program(core: Core, kernel, task: Task, job, barrier: int, out: dict) -> Op:
    """Map, wait at the barrier for every core's map, reduce; note when each phase ended."""
    yield from map_task(core, kernel, task, job, out)
    out["map_end", task.id] = core.local
    yield from core.fetch_add(barrier, 1)
    yield from core.spin_until(barrier, lambda v: v == job.cores)
    yield from reduce_task(core, kernel, task, job, out)
    out["end", task.id] = core.local


# -- the designs, by variant --------------------------------------------------------------------
@dataclass(frozen=True)
class Design:
    """What a memory variant is: who runs where, how a core allocates and fills its region
    (memclone), how every task comes to map one buffer (mempass, mapreduce's input), where
    map outputs live and how reducers reach them (mapreduce)."""

    placement: Placement
    memclone: Callable[..., Op]
    buffer: Callable[[Any, list[Task], int, int], dict]
    outputs: OneMmOutputs


LINUX_THREADS = Design(threads, memclone_linux, buffer_in_one_mm, OneMmOutputs())
LINUX_PROCS = Design(processes, memclone_linux, buffer_shm, ShmOutputs())
COREY = Design(pcores, memclone_corey, buffer_range, RangeOutputs())
DESIGNS = {"linux-threads": LINUX_THREADS, "linux-procs": LINUX_PROCS, "corey-ar": COREY,
           "corey": COREY}  # fmt: skip


def design(variant: str) -> Design:
    if variant not in DESIGNS:
        raise ValueError(f"unknown variant {variant!r}")
    return DESIGNS[variant]
