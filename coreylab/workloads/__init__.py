"""Programs that run on the simulated cores and make system calls, and how they are run.

Read in this order: `harness` (the one way to run a program to its end: `run_program`,
`run_call`), `loops` (the benchmark loops written against the `Kernel` interface, and `measure`,
which times one loop per core), then the programs of the memory experiments (`memory`) and of
the network experiments (`network`). The names lessons and tests use are re-exported here.
"""

from __future__ import annotations

from .harness import run_call, run_program
from .loops import L3_MISS_SOURCES, START_SKEW_CYCLES, Loop, Measurement, dup_close, measure

__all__ = [
    "L3_MISS_SOURCES",
    "START_SKEW_CYCLES",
    "Loop",
    "Measurement",
    "dup_close",
    "measure",
    "run_call",
    "run_program",
]
