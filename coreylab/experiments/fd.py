"""fd-dup-close: the talk's motivating example. Each core dups its own descriptor and closes the
dup, in a loop (will-it-scale's dup1; Corey's FD benchmark on Linux 2.6.27).

Variants, all running the same loop (`workloads.dup_close`) against the kernel interface:
  linux-threads   one process, one thread per core: one files_struct shared by all threads
  linux-procs     one process per core: a files_struct each, on its own chip
  linux-fdshares  one process, one thread per core, each with its own fd table made by
                  `share_alloc` (the talk's "Linux with FD shares")
  corey-shares    one pcore per core: each adds its own object to its own share and removes it
                  again (Corey's share_addref/share_unref on the pcore's own share)

Metrics, over the timed phase only (after a warm-up; see `workloads.measure`):
  ops_per_sec            dup+close pairs per simulated second, all cores together
  cycles_per_op          cycles one pair takes on one core (mean over cores)
  line_transfers_per_op  lines that moved from one core's cache to another's, per pair. It
                         depends on the protocol: a line read by many cores is supplied by
                         its owner's cache under MOESI, but by DRAM or an L3 under MSI and
                         MESI (no cache owns a clean shared line), which is not a transfer
  coherence_misses_per_op  misses on a line that another core's write took from this core,
                         wherever the data then came from, per pair: the sharing itself, the
                         same under MSI, MESI and MOESI

What comes out and why: with one shared table every dup+close takes file_lock three times and
writes the lines it lives on (next_fd, bitmaps, fd slots share the lock's line), so the line
moves on every critical section and the ticket lock's waiters keep pulling it back; with one
table per process, per FD share or per Corey share, no line is written by two cores. Nothing
here is a per-variant constant: the variants differ only in which tables the tasks use.

What it leaves out: the loop's user-level instructions, and everything `descriptors.py` and
`shares.py` leave out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from ..hardware import HardwareParams, Machine
from ..kernel import Kernel
from ..workloads import Loop, dup_close, measure, run_call
from ..workloads.placement import Placement, pcores, processes, threads
from .base import Experiment, Param, Point, finish_point, new_machine


@dataclass(frozen=True)
class Variant:
    """Who runs where (`placement`), and whether each task makes an fd table of its own
    (`share_alloc`, the talk's FD shares) instead of using its default one."""

    placement: Placement
    own_table: bool = False


VARIANTS = {
    "linux-threads": Variant(threads),
    "linux-procs": Variant(processes),
    "linux-fdshares": Variant(threads, own_table=True),
    "corey-shares": Variant(pcores),
}

# at most 20,000: 3.3 KB per op and core (estimate.FOOTPRINTS), 1 GB on 16 cores
OPS = Param("ops", 8, 1, 20_000, "dup+close pairs per core, timed")
WARMUP = Param("warmup", 2, 0, 10_000, "dup+close pairs per core before timing starts")


def loops_for(variant: str, cores: int, machine: Machine) -> tuple[Kernel, list[Loop]]:
    """Set a variant up on `machine`: its kernel and one task per core, each with its table
    (FD shares only) and its own object (a file, or a Corey object in the pcore's own share)."""
    v = VARIANTS[variant]
    kernel, tasks = v.placement(machine, cores)
    loops = []
    for task in tasks:
        share = run_call(task, kernel.share_alloc) if v.own_table else None
        name = run_call(task, kernel.ref_new, share)
        loops.append(Loop(task, dup_close, (name, share)))
    return kernel, loops


def loop_point(loops_for, metrics, variant: str, cores: int, seed: int, hw: HardwareParams,
               trace: bool, ops: int, warmup: int) -> Point:  # fmt: skip
    """One point of a loop experiment: set the variant up, time `ops` iterations per core after
    `warmup`, and make its row from `metrics(measurement)`."""
    machine = new_machine(hw, trace)
    kernel, loops = loops_for(variant, cores, machine)
    m = measure(kernel, loops, warmup, ops, seed)
    return finish_point(machine, kernel, variant, cores, metrics(m, hw))


LOOP_METRICS = ("ops_per_sec", "cycles_per_op", "line_transfers_per_op", "coherence_misses_per_op")


def loop_metrics(m, hw: HardwareParams) -> dict:
    """The row of a loop experiment that counts its operations and the lines they move."""
    return {
        "ops_per_sec": round(m.ops_per_sec(hw), 1),
        "cycles_per_op": round(m.cycles_per_op(), 2),
        "line_transfers_per_op": round(m.transfers_per_op(), 3),
        "coherence_misses_per_op": round(m.coherence_misses_per_op(), 3),
    }


def loop_experiment(name: str, summary: str, variants, loops_for, metrics, metric_names,
                    ops: Param, warmup: Param) -> Experiment:  # fmt: skip
    """A loop experiment's declaration: each point sets a variant up with `loops_for`, times
    `ops` iterations of each core's loop after `warmup` (`loop_point`) and makes its row with
    `metrics`, whose columns are `metric_names`."""
    return Experiment(
        name=name,
        summary=summary,
        variants=tuple(variants),
        metrics=metric_names,
        params=(ops, warmup),
        point=partial(loop_point, loops_for, metrics),
    )


FD_DUP_CLOSE = loop_experiment(
    "fd-dup-close", "each core dups and closes its own fd: one shared table vs private tables",
    VARIANTS, loops_for, loop_metrics, LOOP_METRICS, OPS, WARMUP,
)  # fmt: skip
