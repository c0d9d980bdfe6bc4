"""mapreduce: a Metis-style inverted index, where the address space is shared in a pattern
neither "all" nor "nothing".

What it measures: input of random 3-letter words (A-Z: 17,576 keys), `words` per core, already
in memory (untimed set-up: core 0 faults it in). Every core runs a map task, then, after a
barrier in memory, a reduce task (programs in `workloads/memory.py`):
  map     sets up its intermediate heap (Linux threads: an anonymous mapping in the one mm;
          processes: a MAP_SHARED object mapped in its own mm; Corey: a segment in a range of
          its own), reads its slice of the input and appends a (word, position) entry to the
          block of the word's reduce partition (word mod cores): Metis keeps a row of
          per-partition buckets per map task. A full block takes a fresh page off the heap's
          top; a used-up heap grows (Linux: brk, 128 KB at a time, glibc's M_TOP_PAD; Corey
          maps the whole segment at once and makes its pages on first use). So the heap grows,
          and its pages fault in, through the whole map phase, as in Metis.
  reduce  reaches every map task's heap (Linux processes map each object; Corey mounts each
          map task's range in its own root), reads its partition's blocks, checking each
          value, and copies each record into its output, fresh pages off the top of its own
          heap (Metis's reducer is the map task's thread, with the same malloc heap: for each
          key it copies the values from every map task into one array it keeps as the key's
          result, Corey's pkg/metis/openhbb.c). So the reducers grow the address space too.
Metrics: `seconds` (simulated, map start to the last reduce's end), `map_seconds`,
`reduce_seconds`, `faults` (hard + soft, timed part), `line_transfers` (timed part),
`vm_fraction`: the share of all core time (cores x `seconds`) the cores spent growing the
address space: in the heap's mmap/brk (Corey: segment and range calls), in mapping the other
heaps for reduce, and in page faults, waits on their locks included. Measured, core by core:
the workload clocks its calls, the kernel its fault handler (`FaultStats.cycles`).

The scale model. The paper's run is 1 GB of input on 16 cores: 16M words a core, 128 MB of
entries (32K pages) a core. The default, 32K words a core, is that run at 1:512 with its
ratios kept: a heap page per 512 words of map work (8-byte entries), a growth step per 32 heap
pages, each reducer reading its partition's blocks, about 1/cores of each heap's pages (Metis's
per-key arrays are pages long at 1 GB, so a partition's entries fill pages of their own), and
writing as many pages of output as it reads. Below about 16K words a core (at 16 cores) the
blocks are part-full, so the model faults more pages per word than the paper's run: the size
sweep shows what that does. And it streams: a simulated store writes a line's worth of
entries (`RECORD_WORDS`), the other seven stores to that line are L1 hits and are charged the
L1 latency, and no word is kept (each map task draws its words from its own seeded stream as
it goes). `run_mapreduce(..., record_words=1)` simulates every entry; the tests check the two
agree within a few per cent.

What the variants show: threads (one mm) contend on the mm_struct while the tasks fault their
heaps in and grow them, in map and in reduce (brk takes mmap_sem for writing: faulting threads
queue behind it and sleep); processes do not, but pay soft faults: on the input, and in reduce
on every page of their partition's blocks in every other heap; Corey's per-core ranges avoid
the contention and share their page tables in reduce.

Where the time goes (16 cores, default size, seed 0, cycles per core, measured with the kernel's
fault clock, the workload's clocks and the cores' counters; threads' run is 4.5M): threads' map
2.88M = 1.40M instruction work (40 a word, an estimate), 0.76M first stores to heap lines (186
a store, a DRAM miss: streamed zeroing leaves the page uncached, and the prefetcher's 8 streams
cannot follow 16 partitions' blocks written in turn; at 4,096 words 32 streams make it 24), 0.60M
in 72 faults (8,300 a fault, Corey's 5,900: the rest is mmap_sem and the mm's lines), 0.08M in
mmap/brk, 0.04M input loads (prefetched: 20 a load). Threads' reduce 1.59M = 0.64M in 65
faults on its copies (9,900 a fault, Corey's 6,000), 0.60M loads of the entries (147 a load,
a miss to the writer's cache: the prefetcher follows DRAM misses only), 0.24M instruction work,
0.06M stores (prefetched), 0.04M brk. A process's soft fault costs about 5,400 (the trap and
the fault's work, 4,280, as a zero-fill fault pays). So at the paper's ratios a fault costs a
fifth of the rest of the map work that fills its page (30K cycles), and threads' contention
(about 2,400 cycles a fault in map, 3,800 in reduce, where the copies make every core fault at
once, and 0.1M more in mmap/brk: 0.51M) costs what processes' 98 extra soft faults do (0.53M):
the two Linux designs tie, and the seed or the input size decides their order. Corey's lead
is that contention, 12% of the run. Reduce is 36% of the threads' run (37% at 8 cores; Corey's
34%): its faults on the copies and its loads from other cores' caches, where the paper's
reducers take a few per cent of the run until contention sets in.

The allocator. glibc grows a single-threaded process's heap (the main arena) by brk with
M_TOP_PAD's 128 KB, the step modelled here for every Linux heap; a thread's arena it grows by
what each request needs, page-rounded (grow_heap -> mprotect, mmap_sem for writing). Run with
that rule (a growth per heap page, in map and in reduce), threads took 10.2 ms against Corey's
2.0 at 16 cores (Corey 5.0x faster; the paper: 1.25x) and vm_fraction was 0.83: every growth
is a write hold of the sleeping mmap_sem, and 16 cores growing at once serialize on it. The
paper measured far less, so the allocator Metis ran on Linux did not grow page by page; which
one it was the sources here do not say, so the model keeps the 128 KB step for threads too
(`MapReduceCosts.heap_chunk_pages`). (The paper's own reading of the contention: reduce's
share of the run grows from 5% at 7 cores to almost 30% at 16.) In reduce the step is also
what glibc's mmap threshold gives at 1 GB: each key's result array reaches 128 KB (15K values
of 8 bytes, the array doubled to 16K) and gets an mmap of its own, a write-locked call per 32
pages, as a 128 KB brk step is.

Left out: the index's own structure (the reducers' instruction work is `reduce_entry_cycles`),
the final merge, hash tables and per-key arrays (a partition's entries are one list of pages
per map task), the VMA of each key's mmap'ed array (one brk-grown heap stands for them) and
frees, reading input from a file, the caches' state of the 1 GB run (at 1:512 a map's heap
still fits its L2, so reducers find heap lines in other cores' caches rather than in DRAM).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..hardware import HardwareParams
from ..workloads.harness import run_program
from ..workloads.memory import (
    ENTRY,
    INPUT_VA,
    KEYS,
    WORD_BYTES,
    design,
    make_tasks,
    mapreduce_program,
    mempass_setup,
    touch_pages,
)
from .base import Experiment, ExperimentError, Param, Point, finish_point, new_machine

PAPER_WORDS = 2**30 // WORD_BYTES // 16  # 1 GiB of input over 16 cores: 16M words a core
DEFAULT_WORDS = PAPER_WORDS // 512  # the scale model: 32K words, 64 heap pages a core
MAX_WORDS = 131072  # 256 heap pages a core: about 40 s and 1 GB at 16 cores
RECORD_WORDS = 8  # entries a simulated store writes: a line's worth (the streaming model)


@dataclass(frozen=True)
class MapReduceCosts:
    """The application's own constants: instruction work in cycles and how its malloc grows
    the heap. The rest is simulated."""

    # Parse a word, hash it, pick its partition: estimate. No per-word time of Metis's inverted
    # index is published in the sources here (the paper plots the 1 GB run's total only). By
    # the code (Corey's user/metis/wordrevidx.c and pkg/metis) a word costs a toupper and a
    # state test per letter, djb2 over the key, two divisions (reduce task, hash slot), a
    # strcmp per key already in the slot and an append: likely more than 40, which would
    # dilute the kernel's share further.
    map_word_cycles: int = 40
    # Copy an entry into its key's result: the inverted index has no reduce function and keeps
    # the arrays (wordrevidx.c: reduce_func NULL, keep_reduce_array 1), so Metis's reducer
    # memcpy's each map task's values, 8 bytes each, and sorts the few keys of a hash slot
    # (pkg/metis/openhbb.c): a cycle or two an entry, estimate.
    reduce_entry_cycles: int = 2
    heap_chunk_pages: int = 32  # Linux malloc grows the heap 128 KB at a time: glibc's
    # M_TOP_PAD default (mallopt(3): 128*1024) for the main arena's brk (see the module's
    # "The allocator": a thread's arena grows by what it needs, which the model leaves out)


def records_per_page(page_size: int, record_words: int) -> int:
    """Records (of `record_words` entries) on one heap page."""
    return page_size // (record_words * ENTRY)


def input_pages(cores: int, words: int, page_size: int) -> int:
    """Pages of the input text: `words` a core."""
    return -(-cores * words * WORD_BYTES // page_size)


@dataclass
class Job:
    """The input, who reduces what, and where each map task put each partition's entries."""

    variant: str
    cores: int
    words: int  # per map task
    seed: int
    record_words: int = RECORD_WORDS
    costs: MapReduceCosts = field(default_factory=MapReduceCosts)
    input_addr: dict[int, int] = field(default_factory=dict)  # task -> where it sees the input
    shares: dict[int, int] = field(default_factory=dict)  # Corey: map task -> its output share
    blocks: list[list[list[int]]] = field(init=False)  # [map][partition] -> its heap pages
    records: list[list[int]] = field(init=False)  # [map][partition] -> records written
    top: list[int] = field(init=False)  # [task] -> its heap's next fresh page
    mapped: list[int] = field(init=False)  # [task] -> pages of its heap mapped so far

    def __post_init__(self) -> None:
        self.blocks = [[[] for _ in range(self.cores)] for _ in range(self.cores)]
        self.records = [[0] * self.cores for _ in range(self.cores)]
        self.top, self.mapped = [0] * self.cores, [0] * self.cores

    def rng(self, m: int) -> random.Random:
        """Map task m's word stream (drawn as it runs: no word is kept)."""
        return random.Random(f"mapreduce:{self.seed}:{m}")

    def records_per_page(self, page_size: int) -> int:
        return records_per_page(page_size, self.record_words)

    def heap_pages(self, page_size: int) -> int:
        """The most pages a task's heap can take, in whole growth steps: its map records in
        whole pages, a part-full block per partition, then its reduce output, which is at most
        every map task's records (the bound costs address space only: pages are made on
        first use)."""
        per_page = self.records_per_page(page_size)
        pages = -(-self.words // self.record_words // per_page)
        chunk = self.costs.heap_chunk_pages
        return -(-(pages * (1 + self.cores) + self.cores) // chunk) * chunk

    def value(self, m: int, p: int, n: int) -> int:
        """What record n of partition p in map m's heap holds (the reducer checks it)."""
        return m << 48 | p << 32 | n + 1


def run_mapreduce(variant: str, cores: int, seed: int, hw: HardwareParams, trace: bool,
                  words: int, record_words: int = RECORD_WORDS):  # fmt: skip
    """One job on a fresh machine: (the row's metrics, the machine, the kernel). Lessons keep
    the kernel to read its locks and faults; the experiment keeps the row. `record_words` 1
    simulates every entry's store (the full model the streaming one is tested against)."""
    if record_words not in (1, 2, 4, 8) or words % (16 * record_words):
        raise ValueError(f"record_words {record_words} must be 1, 2, 4 or 8 and words a "
                         "multiple of 16 of them")  # fmt: skip
    machine = new_machine(hw, trace)
    kernel, tasks = make_tasks(variant, machine, cores)
    job = Job(variant, cores, words, seed, record_words)
    pages = input_pages(cores, words, hw.page_size)
    job.input_addr = mempass_setup(variant, kernel, tasks, pages, INPUT_VA)
    design(variant).outputs.setup(kernel, tasks, job)  # Corey: each map task's share (untimed)
    run_program(tasks[0].core, touch_pages(kernel, tasks[0], job.input_addr[0], pages))
    barrier = machine.memory.alloc(hw.line_size, 0, "mapreduce.barrier")
    faults_before = kernel.faults.hard_total + kernel.faults.soft_total
    fault_cycles_before = sum(kernel.faults.cycles.values())
    transfers_before = sum(s.transfers for s in machine.lines.values())
    t0, out = machine.env.now, {}
    for task in tasks:
        machine.spawn(task.core.id, mapreduce_program, kernel, task, job, barrier, out)
    machine.run()
    end = max(out["end", t.id] for t in tasks) - t0
    map_end = max(out["map_end", t.id] for t in tasks) - t0
    vm = sum(out["vm", t.id] for t in tasks) + sum(kernel.faults.cycles.values())
    metrics = {
        "seconds": hw.seconds(end),
        "map_seconds": hw.seconds(map_end),
        "reduce_seconds": hw.seconds(end - map_end),
        "faults": kernel.faults.hard_total + kernel.faults.soft_total - faults_before,
        "line_transfers": sum(s.transfers for s in machine.lines.values()) - transfers_before,
        "vm_fraction": round((vm - fault_cycles_before) / (cores * end), 4),
    }
    return metrics, machine, kernel


def mapreduce_fits(hw: HardwareParams, cores: int, words: int) -> None:
    """Refuse a job the simulated machine's memory cannot hold. It needs at least the input,
    every map task's entries in whole pages and the reducers' copies of them (as many again),
    against all its chips' DRAM: a bound below the true need (page tables, part-full blocks and
    the kernel's own pages come on top), so a run it passes may still find a chip full."""
    entry_pages = words // RECORD_WORDS // records_per_page(hw.page_size, RECORD_WORDS)
    need = input_pages(cores, words, hw.page_size) + 2 * cores * entry_pages
    have = hw.chips * hw.dram_bytes_per_chip // hw.page_size
    if need > have:
        raise ExperimentError(
            f"mapreduce with {words} words a core on {cores} cores needs at least {need} pages "
            f"of simulated memory, and the {hw.name} machine has {have}: use fewer words or "
            "cores, or more dram_bytes_per_chip"
        )


def mapreduce_point(
    variant: str, cores: int, seed: int, hw: HardwareParams, trace: bool, words: int
) -> Point:
    if words % (16 * RECORD_WORDS):
        raise ExperimentError(f"words must be a multiple of {16 * RECORD_WORDS}, not {words}")
    metrics, machine, kernel = run_mapreduce(variant, cores, seed, hw, trace, words)
    return finish_point(machine, kernel, variant, cores, metrics)


MAPREDUCE = Experiment(
    name="mapreduce",
    summary="Metis-style inverted index: map output shared with every reducer",
    variants=("linux-threads", "linux-procs", "corey"),
    metrics=(
        "seconds",
        "map_seconds",
        "reduce_seconds",
        "faults",
        "line_transfers",
        "vm_fraction",
    ),  # fmt: skip
    params=(
        Param(
            "words",
            DEFAULT_WORDS,
            128,
            MAX_WORDS,
            "input words per core (4 bytes each; the 1 GB run has 16M; a multiple of 128)",
        ),
    ),  # fmt: skip
    point=mapreduce_point,
    fits=mapreduce_fits,
)

__all__ = ["ENTRY", "KEYS", "MAPREDUCE", "MapReduceCosts", "mapreduce_point"]
