"""Per-core loops written against the kernel interface, and the harness that times them.

What it models: the benchmark loops of the Corey paper as programs that run on simulated cores
and make system calls through `coreylab.kernel.Kernel`, so one loop runs on either kernel:

  dup_close     one dup and one close of the task's own descriptor (Linux), or one add and
                one remove of the pcore's own object in a share (Corey): `ref_dup`, `ref_drop`

and `measure`, which runs one loop per core in two phases: a warm-up (caches filled, tables
touched, locks visited), then, from one common start time, the timed operations. Counters are
read at the start and end of the timed phase, so per-operation metrics see only steady state.

Cores start each phase up to `START_SKEW_CYCLES` apart, drawn from the seed: real threads never
start in the same cycle, and identical programs on identical cores started together stay in an
artificial lockstep. Same seed, same skews, same result.

What it leaves out: user-level work between calls (the loops call the kernel back to back, as
the paper's microbenchmarks do), scheduling, interrupts.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from ..hardware import HardwareParams
from ..hardware.core import Core, Op
from ..kernel import Kernel, Task
from ..trace import Counters

START_SKEW_CYCLES = 50  # cores start a phase up to this many cycles apart (seeded)
# Data from outside the core and its chip's L3: what the paper's L3-miss counter counts.
L3_MISS_SOURCES = ("same-chip-cache", "other-chip-cache", "remote-l3", "dram")


def dup_close(kernel: Kernel, task: Task, name: int, share: int | None) -> Op:
    """One operation of the FD benchmark: a new reference to `name` and its drop (Linux: dup
    then close of the new fd; Corey: share_addobj then share_delobj)."""
    new = yield from kernel.ref_dup(task, name, share)
    yield from kernel.ref_drop(task, new, share)


@dataclass(frozen=True)
class Loop:
    """What one core runs: `op(kernel, task, *args)`, over and over."""

    task: Task
    op: Callable[..., Op]
    args: tuple = ()


@dataclass
class Measurement:
    """The timed phase of a run: operations, cycles, and the counters at its start and end."""

    ops: int  # operations timed, all cores together
    elapsed: int  # cycles from the first core's start to the last core's end
    per_core: list[int]  # each core's cycles for its own timed operations
    before: Counters
    after: Counters

    def ops_per_sec(self, hw: HardwareParams) -> float:
        return self.ops / hw.seconds(self.elapsed)

    def cycles_per_op(self) -> float:
        """Mean over cores of the cycles one operation took on that core."""
        return sum(self.per_core) / self.ops

    def transfers_per_op(self) -> float:
        """Lines that came from another core's cache, per operation."""
        return (self.after.total("transfers") - self.before.total("transfers")) / self.ops

    def coherence_misses_per_op(self) -> float:
        """Misses on lines another core's write took away, per operation."""
        return (self.after.coherence_misses() - self.before.coherence_misses()) / self.ops

    def misses_per_op(self, *sources: str) -> float:
        return (self.after.misses(*sources) - self.before.misses(*sources)) / self.ops


def measure(kernel: Kernel, loops: list[Loop], warmup: int, ops: int, seed: int) -> Measurement:
    """Run every loop `warmup` times, then `ops` times from one common start; time the second
    phase. Loops run on their tasks' cores, all at once."""
    machine = kernel.machine
    rng = random.Random(seed)
    _phase(kernel, loops, warmup, rng)
    before = machine.counters()
    spans = _phase(kernel, loops, ops, rng)
    elapsed = max(end for _, end in spans) - min(begin for begin, _ in spans)
    per_core = [end - begin for begin, end in spans]
    return Measurement(len(loops) * ops, elapsed, per_core, before, machine.counters())


def _phase(kernel: Kernel, loops: list[Loop], count: int, rng: random.Random) -> list[tuple]:
    """Every loop `count` times at once; each core's clock when its loop began (after its
    skew) and ended."""
    spans: dict[int, tuple[int, int]] = {}

    def program(core: Core, loop: Loop, skew: int) -> Op:
        yield from core.compute(skew)
        begin = core.local
        for _ in range(count):
            yield from loop.op(kernel, loop.task, *loop.args)
        spans[core.id] = (begin, core.local)

    for loop in loops:
        kernel.machine.spawn(loop.task.core_id, program, loop, rng.randrange(START_SKEW_CYCLES))
    kernel.machine.run()
    return [spans[loop.task.core_id] for loop in loops]
