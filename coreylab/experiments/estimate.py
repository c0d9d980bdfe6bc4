"""What a run will need before it starts: memory and time, from what its points allocate.

What it models: a point's peak Python allocation as a fixed part plus a part proportional to its
size parameter times its cores (`Footprint`), plus the simulated machine's caches (a list per
set); a run's peak as the points running at once (one per worker process, each with its own
interpreter). Time likewise: a fixed part plus a part per unit, divided among the workers.
The figures come from `benchmarks/footprint.py`, which runs every experiment's points at two
sizes and two core counts, timed and then under tracemalloc, and fits a line; the bytes are
rounded up, so a memory estimate errs high; the seconds carry a quarter's margin, so the time
announced is about what a quiet machine takes. An experiment without an entry gets DEFAULT
(small, fixed).

What it is for: a run that would not fit is refused before it starts, with one line saying
what it would need and how to allow it (`--max-memory`, or COREYLAB_MAX_MEMORY), instead of
running until the machine gives out. The default limit is half the memory free now.

What it leaves out: the trace of a traced run (bounded by TRACE_LIMIT records) and Bokeh views.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from ..hardware import HardwareParams
from .base import Experiment, ExperimentError

MB = 2**20
ENV = "COREYLAB_MAX_MEMORY"


@dataclass(frozen=True)
class Footprint:
    """One point's cost: `base` plus `per_unit` x (its `size` parameter x its cores, and x its
    `also` parameter if it has one)."""

    size: str | None  # the parameter a point's work grows with (None: fixed work)
    base_bytes: int
    bytes_per_unit: int
    base_seconds: float
    seconds_per_unit: float
    pages: bool = False  # the size counts pages: bytes grow with page_size / 4 KB too
    also: str | None = None  # a second parameter the work grows with (units: size x also)


# Measured by benchmarks/footprint.py on amd16 (Python 3.11): bytes rounded up (an estimate of
# memory errs high); seconds (CPU, one process) 1.25x the fitted line, its fixed part at least
# 0.01 s (2026-12-07: mapreduce's line is 12 us a word-core and 16 cores take 5.0 s, fd's 0.7 ms
# an op-core; the former figures, timed under tracemalloc and rounded up, read 7x high; tcp and
# webserver measured again after the stack's costs were calibrated: 2.4 and 1.1 ms a unit).
FOOTPRINTS: dict[str, Footprint] = {
    "latency-ladder": Footprint(None, 11 * MB, 0, 0.04, 0.0),
    "fd-dup-close": Footprint("ops", 4 * MB, 3_300, 0.01, 0.00087),
    "shares": Footprint("ops", 4 * MB, 1_700, 0.01, 0.0006),
    "object-naming": Footprint("ops", 4 * MB, 17_000, 0.01, 0.0007),
    "memclone": Footprint("pages", 4 * MB, 90_000, 0.01, 0.00065, pages=True),
    "mempass": Footprint("pages", 10 * MB, 10_000, 0.04, 0.0001, pages=True),
    "tlb-shootdown": Footprint("ops", 5 * MB, 13_000, 0.02, 0.0005, also="pages"),
    "mapreduce": Footprint("words", 7 * MB, 500, 0.01, 0.000015),  # the streamed scale model
    "tcp-connections": Footprint("conns", 4 * MB, 16_000, 0.01, 0.0030),
    "webserver": Footprint("requests", 4 * MB, 12_500, 0.01, 0.0014),
}
DEFAULT = Footprint(None, 64 * MB, 0, 5.0, 0.0)
SET_BYTES = 64  # one cache set: an empty list (56 B) and its slot in the list of sets (8 B)
PROCESS_BYTES = 120 * MB  # a worker's interpreter, numpy and the lab's modules (RSS, measured)


@dataclass(frozen=True)
class Estimate:
    bytes: int
    seconds: float

    def __str__(self) -> str:
        return f"about {human_bytes(self.bytes)} of memory (and {self.seconds:,.0f} s)"


def machine_bytes(hw: HardwareParams) -> int:
    """The simulated machine's caches: a list per set, per core (L1, L2) and per chip (L3)."""
    sets = [getattr(hw, f"{lv}_size") // hw.line_size // getattr(hw, f"{lv}_assoc")
            for lv in ("l1", "l2", "l3")]  # fmt: skip
    return SET_BYTES * (hw.cores * (sets[0] + sets[1]) + hw.chips * sets[2])


def point(exp: Experiment, values: dict[str, Any], cores: int, hw: HardwareParams) -> Estimate:
    f = FOOTPRINTS.get(exp.name, DEFAULT)
    units = values[f.size] * cores * (values[f.also] if f.also else 1) if f.size else 0
    per_unit = f.bytes_per_unit * (max(1, hw.page_size // 4096) if f.pages else 1)
    return Estimate(f.base_bytes + per_unit * units + machine_bytes(hw),
                    f.base_seconds + f.seconds_per_unit * units)  # fmt: skip


def run(exp: Experiment, values: dict[str, Any], cores: list[int], hw: HardwareParams,
        workers: int) -> Estimate:  # fmt: skip
    """A run of points on these core counts, `workers` at a time (1: in this process)."""
    return together([point(exp, values, c, hw) for c in cores], workers)


def together(each: list[Estimate], workers: int) -> Estimate:
    """Points run `workers` at a time (1: in this process), whatever experiments they are of:
    the biggest ones may run at once."""
    workers = max(1, min(workers, len(each)))  # a single point runs in this process
    at_once = sorted((e.bytes for e in each), reverse=True)[:workers]
    extra = PROCESS_BYTES * workers if workers > 1 else 0
    seconds = sum(e.seconds for e in each) / workers
    return Estimate(sum(at_once) + extra, seconds)


def check(estimate: Estimate, what: str, max_memory: int | None = None) -> None:
    """Refuse (MemoryLimitError) a run whose estimate is over the limit."""
    limit, source = memory_limit(max_memory)
    if estimate.bytes > limit:
        allow = _flag_size(estimate.bytes)
        raise MemoryLimitError(
            f"{what} would need {estimate}, over the limit of {human_bytes(limit)} "
            f"({source}); allow it with --max-memory {allow} or {ENV}={allow}"
        )


class MemoryLimitError(ExperimentError):
    """A run refused before it started because it would need more memory than allowed."""


def memory_limit(max_memory: int | None = None) -> tuple[int, str]:
    """(bytes, where that figure comes from): the argument, the environment, or half free."""
    if max_memory is not None:
        if isinstance(max_memory, bool) or not isinstance(max_memory, int) or max_memory <= 0:
            raise ExperimentError(f"max_memory is a number of bytes, not {max_memory!r:.40}")
        return max_memory, "--max-memory"
    if os.environ.get(ENV):
        return parse_bytes(os.environ[ENV], ENV), ENV
    return free_memory() // 2, "half the free memory"


def free_memory() -> int:
    """Bytes available now (MemAvailable on Linux; total physical memory elsewhere)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_bytes(text: str, name: str = "--max-memory") -> int:
    """'8G', '500M', '1_000_000' as bytes; ExperimentError naming `name` otherwise."""
    m = re.fullmatch(r"\s*([0-9][0-9_]*(?:\.[0-9]+)?)\s*([KMGT]?)i?B?\s*", str(text), re.I)
    if not m or float(m[1].replace("_", "")) <= 0:
        raise ExperimentError(f"{name} takes a size such as 8G or 500M, not {text!r}")
    return int(float(m[1].replace("_", "")) * _UNITS[m[2].upper()])


def _flag_size(n: int) -> str:
    """A round size at least `n`, as a flag takes it: 700M, 24G."""
    for unit in ("G", "M"):
        if n >= _UNITS[unit] or unit == "M":
            return f"{-(-n // _UNITS[unit])}{unit}"
    raise AssertionError  # not reached


def human_bytes(n: int) -> str:
    for unit in ("TB", "GB", "MB", "KB"):
        size = _UNITS[unit[0]]
        if n >= size:
            return f"{n / size:.1f} {unit}".replace(".0 ", " ")
    return f"{n} B"
