"""shares: Corey's shares benchmark. Each core adds its own object to a share and removes it
again, in a loop (Corey's share_addref then share_unref; 100,000 times in the paper).

Variants:
  corey-global-share    one share, made by core 0 on chip 0 and given to every pcore
  corey-percore-shares  each pcore makes its own share, on its own chip

In both, the object lives in the pcore's own private share and is added to the measured share,
so every operation inserts a map entry and erases it: the variants differ only in who else
holds the share. (Corey's own per-core run added the object to the share that already held
it, which only bumps the entry's count; `fd-dup-close`'s corey-shares variant does that.)

Metrics, over the timed phase only (after a warm-up; see `workloads.measure`):
  ops_per_sec       add+remove pairs per simulated second, all cores together
  l3_misses_per_op  transactions whose data came from outside the core and its chip's L3
                    (another core's cache on any chip, a remote L3, or DRAM), per pair: what
                    the paper counted with the L3-miss performance counter
  coherence_misses_per_op  misses on a line that another core's write took from this core,
                    wherever the data then came from, per pair (the same under every protocol)

What comes out and why: a global share's MCS lock line, its map's size line and the map
slots move between cores on every operation, and the lock serializes the writers; a per-core
share's lines never leave their core.

What it leaves out: everything `shares.py` (the kernel module) leaves out; user-level work.
"""

from __future__ import annotations

from collections.abc import Callable

from ..hardware import HardwareParams, Machine
from ..kernel import CoreyKernel, Task
from ..workloads import L3_MISS_SOURCES, Loop, dup_close, run_call
from ..workloads.placement import pcores
from .base import Param
from .fd import loop_experiment

OPS = Param("ops", 20, 1, 100_000, "add+remove pairs per core, timed")
WARMUP = Param("warmup", 2, 0, 10_000, "add+remove pairs per core before timing starts")


def global_share(kernel: CoreyKernel, pcores: list[Task]) -> Callable[[Task], int]:
    """One share, made by pcore 0 on chip 0 and given to every other pcore."""
    shared = run_call(pcores[0], kernel.share_alloc)
    for other in pcores[1:]:
        run_call(pcores[0], kernel.share_grant, other, shared)
    return lambda pc: shared


def percore_shares(kernel: CoreyKernel, pcores: list[Task]) -> Callable[[Task], int]:
    """A share per pcore, made by it on its own chip (when its loop is set up)."""
    return lambda pc: run_call(pc, kernel.share_alloc)


# variant -> (kernel, pcores) -> the share a pcore adds its object to
VARIANTS = {"corey-global-share": global_share, "corey-percore-shares": percore_shares}


def loops_for(variant: str, cores: int, machine: Machine) -> tuple[CoreyKernel, list[Loop]]:
    """One pcore per core, each with its own object in its own private share, and the share
    it adds that object to."""
    kernel, tasks = pcores(machine, cores)
    share_of = VARIANTS[variant](kernel, tasks)
    loops = []
    for pc in tasks:
        share = share_of(pc)
        obj = run_call(pc, kernel.ref_new)
        loops.append(Loop(pc, dup_close, (obj, share)))
    return kernel, loops


def _metrics(m, hw: HardwareParams) -> dict:
    return {
        "ops_per_sec": round(m.ops_per_sec(hw), 1),
        "l3_misses_per_op": round(m.misses_per_op(*L3_MISS_SOURCES), 3),
        "coherence_misses_per_op": round(m.coherence_misses_per_op(), 3),
    }


SHARES = loop_experiment(
    "shares", "each core adds an object to a share and removes it: one global share vs per-core",
    VARIANTS, loops_for, _metrics, ("ops_per_sec", "l3_misses_per_op", "coherence_misses_per_op"),
    OPS, WARMUP,
)  # fmt: skip
