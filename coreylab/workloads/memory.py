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
  mapreduce each core maps (appending an entry per input word to its partition's block in a
            heap that grows as it fills), then, after a barrier, reduces (reading its
            partition's blocks in every map task's heap). See `experiments/mapreduce.py`.

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
    """Untimed: map one buffer of `pages` pages for every task at `va` (Linux: mmap's hint;
    Corey: mounted there); return each task's address of it."""
    return design(variant).buffer(kernel, tasks, pages, va)


def buffer_in_one_mm(kernel: LinuxKernel, tasks: list[Task], pages: int, va: int) -> dict:
    """Threads: one anonymous mapping in the mm they all share."""
    first = tasks[0]
    addr = run_program(first.core, kernel.mmap(first, pages * kernel.params.page_size, addr=va))
    return {t.id: addr for t in tasks}


def buffer_shm(kernel: LinuxKernel, tasks: list[Task], pages: int, va: int) -> dict:
    """Processes: a MAP_SHARED object, made by the first and mapped by each."""
    size, first = pages * kernel.params.page_size, tasks[0]
    obj = run_program(first.core, kernel.shmem_create(first, size))
    return {t.id: run_program(t.core, kernel.mmap(t, size, shared=obj, addr=va)) for t in tasks}


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
#         an entry (word, position) to the block of its reduce partition (word % cores) in my
#         intermediate heap: Metis keeps a row of per-partition buckets per map task. A full
#         block (a page) gets a fresh page from the heap's top; when the heap is used up,
#         malloc grows it (Linux: brk, `heap_chunk_pages` at a time; Corey: the task's segment
#         is mapped whole and its pages are made on first use).
# reduce: for every map task's heap, read the blocks of my partition, and copy each record to
#         my output, taking fresh pages off the top of my own heap as the map did.
# A barrier in memory separates the phases. Input: 4 bytes a word, already in memory.
# A record is `record_words` entries written as one store (the scale model: see
# experiments/mapreduce.py); the other entries of a record hit the same line in L1.
INPUT_VA = 511 << 30  # where the input is mapped (Linux: a hint) or mounted (Corey): the last
# 1 GB slot of the first 512 GB; each map task's heap takes a slot from 1 GB up
ENTRY = 8  # bytes of an intermediate entry: word id and position packed in one word
WORD_BYTES = 4  # a 3-letter word and its separator in the input text
KEYS = 26**3  # distinct 3-letter words


def output_va(m: int) -> int:
    """Where map task m's heap lives, in every variant (a 1 GB slot each, as glibc keeps each
    thread's arena apart)."""
    return (1 + m) << 30


def map_task(core: Core, kernel, task: Task, job, out: dict) -> Op:
    """Set up the heap, then stream the input slice: one record per `record_words` words."""
    m, ps, hw = task.id, kernel.params.page_size, kernel.params
    base = output_va(m)
    outputs, start = design(job.variant).outputs, core.local
    job.mapped[m] = yield from outputs.make(kernel, task, job, out, m)
    out["vm", m] = core.local - start
    rng, k = job.rng(m), job.record_words
    per_page, size = job.records_per_page(ps), k * ENTRY
    blocks, counts = job.blocks[m], job.records[m]
    work = k * job.costs.map_word_cycles + (k - 1) * hw.l1_latency
    first = m * job.words
    for i in range(job.words // k):
        position = (first + i * k) * WORD_BYTES
        if position % hw.line_size == 0:  # a new line of input text
            yield from kernel.touch(task, job.input_addr[m] + position, False)
        p = rng.randrange(KEYS) % job.cores
        n = counts[p]
        if n % per_page == 0:  # the partition's block is full: a fresh page off the top
            blocks[p].append((yield from take_page(core, kernel, task, job, out)))
        counts[p] = n + 1
        yield from core.compute(work)
        addr = base + blocks[p][-1] * ps + n % per_page * size
        yield from kernel.touch(task, addr, True, job.value(m, p, n))


def take_page(core: Core, kernel, task: Task, job, out: dict) -> Op:
    """A fresh page off the top of the task's heap, growing the heap when it is used up (the
    time that takes counts as growing the address space); the page's index in the heap."""
    m = task.id
    if job.top[m] == job.mapped[m]:
        start = core.local
        job.mapped[m] += yield from design(job.variant).outputs.grow(kernel, task, job, m)
        out["vm", m] += core.local - start
    job.top[m] += 1
    return job.top[m] - 1


def reduce_task(core: Core, kernel, task: Task, job, out: dict) -> Op:
    """Reach every map task's heap (map it in), read my partition's blocks, and copy each
    record into my output, which goes on from the top of my own heap (Metis's reducer is the
    same thread as the map task, with the same malloc heap: it copies each key's values from
    every map task into one array of its own and keeps it as the key's result)."""
    r, ps, hw = task.id, kernel.params.page_size, kernel.params
    outputs, start = design(job.variant).outputs, core.local
    for m in range(job.cores):
        if m != r:
            yield from outputs.reach(kernel, task, job, out, m)
    out["vm", r] += core.local - start
    k, per_page = job.record_words, job.records_per_page(ps)
    size, mine, written, block = k * ENTRY, output_va(r), 0, 0
    work = k * job.costs.reduce_entry_cycles + 2 * (k - 1) * hw.l1_latency  # loads and stores
    for m in range(job.cores):
        base, total = output_va(m), job.records[m][r]
        for n in range(total):
            page = job.blocks[m][r][n // per_page]
            value = yield from kernel.touch(task, base + page * ps + n % per_page * size, False)
            if value != job.value(m, r, n):
                raise RuntimeError(f"reduce {r} read {value:#x} for record {n} of map {m}")
            yield from core.compute(work)
            if written % per_page == 0:
                block = yield from take_page(core, kernel, task, job, out)
            addr = mine + block * ps + written % per_page * size
            yield from kernel.touch(task, addr, True, value)
            written += 1


# Where map task m's heap lives (at `output_va(m)` in every design), how it is set up and
# grown, and how reducer r reaches it. `out` holds what the map tasks made: ("obj", m) a
# shared object, ("ar", m) a range.
class OneMmOutputs:
    """Threads: each map task maps its heap in the one mm and grows it with brk; every reducer
    sees it there."""

    def setup(self, kernel, tasks: list[Task], job) -> None:
        pass

    def make(self, kernel, task: Task, job, out: dict, m: int) -> Op:
        """Set the heap up; return how many pages of it are mapped."""
        chunk = job.costs.heap_chunk_pages
        at = yield from kernel.mmap(task, chunk * kernel.params.page_size, addr=output_va(m))
        _check_at(at, m)
        return chunk

    def grow(self, kernel, task: Task, job, m: int) -> Op:
        """malloc's heap is used up: grow it; return the pages added."""
        chunk = job.costs.heap_chunk_pages
        yield from kernel.brk(task, output_va(m), chunk * kernel.params.page_size)
        return chunk

    def reach(self, kernel, task: Task, job, out: dict, m: int) -> Op:
        yield from ()


class ShmOutputs(OneMmOutputs):
    """Processes: each map task's heap is a MAP_SHARED object (sized for the most the heap
    can take), mapped and grown in its own mm; every reducer maps all of it."""

    def make(self, kernel, task: Task, job, out: dict, m: int) -> Op:
        ps, chunk = kernel.params.page_size, job.costs.heap_chunk_pages
        obj = out["obj", m] = yield from kernel.shmem_create(task, job.heap_pages(ps) * ps)
        at = yield from kernel.mmap(task, chunk * ps, shared=obj, addr=output_va(m))
        _check_at(at, m)
        return chunk

    def reach(self, kernel, task: Task, job, out: dict, m: int) -> Op:
        size = job.heap_pages(kernel.params.page_size) * kernel.params.page_size
        yield from kernel.mmap(task, size, shared=out["obj", m], addr=output_va(m))


class RangeOutputs(OneMmOutputs):
    """Pcores: each map task's heap is a segment, mapped whole (its pages are made on first
    use, so it never grows), in a range of its own, named in the map task's own share (given
    to every reducer before the run), mounted at `output_va(m)`."""

    def setup(self, kernel, tasks: list[Task], job) -> None:
        job.shares = {m: corey_shared_share(kernel, tasks, owner=m) for m in range(job.cores)}

    def make(self, kernel, task: Task, job, out: dict, m: int) -> Op:
        share, pages = job.shares[m], job.heap_pages(kernel.params.page_size)
        seg = yield from kernel.segment_alloc(task, pages, share=share)
        ar = out["ar", m] = yield from kernel.ar_alloc(task, share=share)
        yield from kernel.ar_set_seg(task, (share, ar), 0, (share, seg))
        yield from kernel.ar_set_ar(task, kernel.root_range(task), output_va(m), (share, ar))
        return pages

    def reach(self, kernel, task: Task, job, out: dict, m: int) -> Op:
        root = kernel.root_range(task)
        yield from kernel.ar_set_ar(task, root, output_va(m), (job.shares[m], out["ar", m]))


def _check_at(at: int, m: int) -> None:
    if at != output_va(m):
        raise RuntimeError(f"map {m}'s heap went to {at:#x}, not {output_va(m):#x}")


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
