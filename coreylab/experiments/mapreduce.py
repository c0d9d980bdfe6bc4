"""mapreduce: a Metis-style inverted index, where the address space is shared in a pattern
neither "all" nor "nothing".

What it measures: input of random 3-letter words (A-Z: 17,576 keys), `words` per core, already
in memory (untimed set-up: core 0 faults it in). Every core runs a map task, then, after a
barrier in memory, a reduce task (programs in `workloads/memory.py`):
  map     allocates its output area (mmap / a MAP_SHARED object / a segment in a range of its
          own), reads its slice of the input and appends an (word, position) entry per word;
          entries go in arrival order, so each output page holds entries of every partition.
  reduce  reaches every map task's output (Linux processes map each object; Corey mounts each
          map task's range in its own root) and reads the entries of its partition (word mod
          cores), checking each value.
Metrics: `seconds` (simulated, map start to the last reduce's end), `map_seconds`,
`reduce_seconds`, `faults` (hard + soft, timed part), `line_transfers` (timed part).

What the variants show: threads (one mm) contend on the mm_struct while the maps fault their
output in; processes do not, but pay soft faults: on the input, and in reduce on nearly every
page of every other map's output, since each page holds entries of every partition; Corey's
per-core ranges avoid the contention in map and share their page tables in reduce.

Left out: the index the reducers build (instruction work only, `reduce_entry_cycles`), the
final merge, hash tables (the map's entries are a list per task), reading input from a file.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..hardware import HardwareParams
from ..workloads.harness import run_program
from ..workloads.memory import (
    ENTRY,
    INPUT_VA,
    WORD_BYTES,
    design,
    make_tasks,
    mapreduce_program,
    mempass_setup,
    touch_pages,
)
from .base import Experiment, Param, Point, finish_point, new_machine

KEYS = 26**3  # distinct 3-letter words
PAPER_WORDS = 2**30 // WORD_BYTES // 16  # 1 GiB of input over 16 cores


@dataclass(frozen=True)
class MapReduceCosts:
    """Instruction work of the application, in cycles (estimates): the rest is simulated."""

    map_word_cycles: int = 40  # parse a word, hash it, pick its partition
    reduce_entry_cycles: int = 30  # add an entry to the reducer's index


@dataclass
class Job:
    """The input, who reduces what, and where each task finds each output."""

    variant: str
    cores: int
    keys: list[list[int]]  # per map task: its words, as key ids
    costs: MapReduceCosts = field(default_factory=MapReduceCosts)
    input_addr: dict[int, int] = field(default_factory=dict)  # task -> where it sees the input
    partition: list[list[list[int]]] = field(init=False)  # [map][reduce] -> entry indexes
    shares: dict[int, int] = field(default_factory=dict)  # Corey: map task -> its output share

    def __post_init__(self) -> None:
        self.partition = [[[i for i, k in enumerate(keys) if k % self.cores == r]
                           for r in range(self.cores)] for keys in self.keys]  # fmt: skip

    def first_word(self, m: int) -> int:
        return sum(len(k) for k in self.keys[:m])

    def entry(self, key: int, position: int) -> int:
        return key << 32 | position

    def output_addr(self, out: dict, r: int, m: int) -> int:
        """Where task r sees map task m's output."""
        return design(self.variant).outputs.addr(out, r, m)


def run_mapreduce(variant: str, cores: int, seed: int, hw: HardwareParams, trace: bool,
                  words: int):  # fmt: skip
    """One job on a fresh machine: (the row's metrics, the machine, the kernel). Lessons keep
    the kernel to read its locks and faults; the experiment keeps the row."""
    rng = random.Random(seed)
    machine = new_machine(hw, trace)
    kernel, tasks = make_tasks(variant, machine, cores)
    job = Job(variant, cores, [[rng.randrange(KEYS) for _ in range(words)] for _ in tasks])
    input_pages = -(-cores * words * WORD_BYTES // hw.page_size)
    job.input_addr = mempass_setup(variant, kernel, tasks, input_pages, INPUT_VA)
    design(variant).outputs.setup(kernel, tasks, job)  # Corey: each map task's share (untimed)
    run_program(tasks[0].core, touch_pages(kernel, tasks[0], job.input_addr[0], input_pages))
    barrier = machine.memory.alloc(hw.line_size, 0, "mapreduce.barrier")
    faults_before = kernel.faults.hard_total + kernel.faults.soft_total
    transfers_before = sum(s.transfers for s in machine.lines.values())
    t0, out = machine.env.now, {}
    for task in tasks:
        machine.spawn(task.core.id, mapreduce_program, kernel, task, job, barrier, out)
    machine.run()
    end = max(out["end", t.id] for t in tasks) - t0
    map_end = max(out["map_end", t.id] for t in tasks) - t0
    metrics = {
        "seconds": hw.seconds(end),
        "map_seconds": hw.seconds(map_end),
        "reduce_seconds": hw.seconds(end - map_end),
        "faults": kernel.faults.hard_total + kernel.faults.soft_total - faults_before,
        "line_transfers": sum(s.transfers for s in machine.lines.values()) - transfers_before,
    }
    return metrics, machine, kernel


def mapreduce_point(
    variant: str, cores: int, seed: int, hw: HardwareParams, trace: bool, words: int
) -> Point:
    metrics, machine, kernel = run_mapreduce(variant, cores, seed, hw, trace, words)
    return finish_point(machine, kernel, variant, cores, metrics)


MAPREDUCE = Experiment(
    name="mapreduce",
    summary="Metis-style inverted index: map output shared with every reducer",
    variants=("linux-threads", "linux-procs", "corey"),
    metrics=("seconds", "map_seconds", "reduce_seconds", "faults", "line_transfers"),
    params=(Param("words", 2048, 64, PAPER_WORDS, "input words per core (4 bytes each)"),),
    point=mapreduce_point,
)

__all__ = ["ENTRY", "MAPREDUCE", "MapReduceCosts", "mapreduce_point"]
