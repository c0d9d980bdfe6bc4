"""object-naming: the talk's first Shares slide ("Object naming in an OS"). Each core makes a
kernel object, looks it up by its id and drops it, in a loop (`workloads/naming.py`).

The kernel maps the id an application holds to the object's address through a table, and hands
out ids from a counter. Where the table and the counter live is the design choice:

  global-table    one table every core enters its objects in, and one id counter for the whole
                  machine: a Linux-like global name space (an idr, a pid or inode table)
  global-counter  a table per core, but ids still from the one global counter
  corey-percore   a table (share) per core and ids from the core's own counter, the core
                  number in the id's top bits: Corey's design, nothing written is shared

All three run Corey's share code (an open-addressing map under an MCS reader-writer lock, the
same as the `shares` experiment's); the id counter is the core's own line, or one line on chip 0
bumped by an atomic (`CoreyShares.use_global_ids`). The table is made by pcore 0 on chip 0 and
given to every pcore (global), or by each pcore on its own chip (per core).

Metrics, over the timed phase only (after a warm-up; see `workloads.measure`):
  ops_per_sec            create+lookup+drop operations per simulated second, all cores together
  cycles_per_op          cycles one operation takes on one core (mean over cores)
  line_transfers_per_op  lines that moved from one core's cache to another's, per operation
  coherence_misses_per_op  misses on a line another core's write took away, per operation
                         (`fd-dup-close`'s metrics, the same loop harness)

What comes out and why: with one table, its lock line, size line and slots move between cores
on every operation and the lock serializes the writers; a global counter alone costs one line
transfer per object made; per-core tables and counters keep every written line on its core.

What it leaves out: freeing objects (their pages stay allocated, as in Corey), growing a table,
everything `shares.py` leaves out.
"""

from __future__ import annotations

from ..hardware import HardwareParams, Machine
from ..kernel import CoreyKernel
from ..workloads import Loop, run_program
from ..workloads.naming import create_lookup_drop
from ..workloads.placement import pcores
from .base import ExperimentError, Param, new_machine
from .fd import LOOP_METRICS, loop_experiment, loop_metrics
from .shares import global_share, percore_shares

# variant -> (where each pcore's table comes from, whether ids come from one global counter)
VARIANTS = {
    "global-table": (global_share, True),
    "global-counter": (percore_shares, True),
    "corey-percore": (percore_shares, False),
}

# at most 12,000: each object keeps its page and Python structures, 17 KB of the simulator's
# memory per op and core (estimate.FOOTPRINTS), 3.3 GB on 16 cores
OPS = Param("ops", 12, 1, 12_000, "objects each core makes, looks up and drops, timed")
WARMUP = Param("warmup", 2, 0, 10_000, "operations per core before timing starts")


def loops_for(variant: str, cores: int, machine: Machine) -> tuple[CoreyKernel, list[Loop]]:
    """One pcore per core, each with the table it names its objects in."""
    kernel, tasks = pcores(machine, cores)
    table_of, global_ids = VARIANTS[variant]
    if global_ids:
        kernel.shares.use_global_ids()
    share_of = table_of(kernel, tasks)
    return kernel, [Loop(pc, create_lookup_drop, (share_of(pc),)) for pc in tasks]


def handoff(variant: str, ops: int, second: int = 1, hw: HardwareParams | None = None) -> int:
    """Core 0 makes, looks up and drops `ops` objects, then core `second` does the same, never
    at once (a lesson's and an exercise's run, on duo by default): the cache lines that moved
    from one core's cache to another's while `second` ran."""
    hw = hw or HardwareParams.preset("duo")
    if variant not in VARIANTS or not 0 < second < hw.cores or not 0 < ops <= OPS.high:
        raise ExperimentError(
            f"handoff takes a variant among {', '.join(VARIANTS)}, ops from 1 to {OPS.high} "
            f"and a second core from 1 to {hw.cores - 1}"
        )
    kernel, loops = loops_for(variant, hw.cores, new_machine(hw, False))
    counters = kernel.machine.counters
    for loop in (loops[0], loops[second]):
        before = counters().total("transfers")
        for _ in range(ops):
            run_program(loop.task.core, loop.op(kernel, loop.task, *loop.args))
    return counters().total("transfers") - before


OBJECT_NAMING = loop_experiment(
    "object-naming", "each core makes, looks up and drops kernel objects: global ids/table vs "
    "per-core", VARIANTS, loops_for, loop_metrics, LOOP_METRICS, OPS, WARMUP,
)  # fmt: skip
