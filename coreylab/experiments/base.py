"""What every experiment is: a named function of (variant, cores, seed, hardware, parameters)
that runs on the simulated machine and returns rows of measured metrics, gathered in a `Result`.

An experiment declares its variants, its metrics and its own parameters with defaults; the
command line, the sweeps, the report and the widget panels are all built from that declaration,
so nothing downstream lists parameters by hand.

Invariants: a point depends only on its arguments (same arguments, same row, byte for byte);
rows are plain dicts of ints, floats and strings, so they serialize to JSON and CSV as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..hardware import HardwareParams, Machine
from ..trace import Counters, Trace


class ExperimentError(ValueError):
    """A request no experiment can serve (unknown name, variant or parameter, a bad value).
    The message is one line, fit to show a user as is."""


class NoSuchRow(ExperimentError, KeyError):
    """No row matches: an ExperimentError, and a KeyError as a lookup by key has always been."""

    __str__ = ValueError.__str__  # the message as is, not KeyError's quoted repr


@dataclass(frozen=True)
class Param:
    """One experiment parameter: its default, the smallest and largest sensible values, and
    what it means (for `coreylab list`, the report and widget panels)."""

    name: str
    default: int
    low: int
    high: int
    help: str

    def check(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ExperimentError(f"{self.name} must be a whole number, not {value!r}")
        if not self.low <= value <= self.high:
            raise ExperimentError(
                f"{self.name} must be between {self.low:,} and {self.high:,}, not {value:,}"
            )
        return value


@dataclass
class Point:
    """What one run gives: its rows of metrics (usually one), the machine's counters, its
    trace (if asked for) and its kernel's lock statistics (as `/proc/lock_stat`, over the
    whole run, warm-up included)."""

    rows: list[dict[str, Any]]
    counters: Counters | None = None
    trace: Trace | None = None
    locks: list[dict[str, Any]] = field(default_factory=list)


PointFn = Callable[..., Point]


@dataclass(frozen=True)
class Experiment:
    name: str
    summary: str
    variants: tuple[str, ...]
    metrics: tuple[str, ...]
    params: tuple[Param, ...]
    point: PointFn  # point(variant, cores, seed, hw, trace, **params) -> Point
    default_cores: tuple[int, ...] = (1, 2, 4, 8, 16)
    sweeps_cores: bool = True  # False: one point per variant, on the whole machine
    # fits(hw, cores, **params) raises ExperimentError if the simulated machine cannot hold a
    # point of that size: checked before any point runs, not found out of memory mid-run.
    fits: Callable[..., None] | None = None

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "none"
        raise ExperimentError(f"{self.name} has no parameter {name!r}; its parameters: {known}")

    def resolve(self, values: dict[str, Any]) -> dict[str, int]:
        """Defaults overlaid with `values`, each checked."""
        out = {p.name: p.default for p in self.params}
        for name, value in values.items():
            out[name] = self.param(name).check(value)
        return out

    def check_variants(self, variants: list[str]) -> list[str]:
        for v in variants:
            if v not in self.variants:
                known = ", ".join(self.variants)
                raise ExperimentError(f"{self.name} has no variant {v!r}; its variants: {known}")
        return variants


@dataclass
class Result:
    """An experiment's outcome: its parameters, one row per point, and for each point the
    machine's counters, its trace (if asked for) and its lock statistics, in the order of the
    rows (`locks(...)` picks a point's)."""

    experiment: str
    params: dict[str, Any]
    rows: list[dict[str, Any]]
    counters: list[Counters | None] = field(default_factory=list)
    traces: list[Trace | None] = field(default_factory=list)
    lock_stats: list[list[dict[str, Any]]] = field(default_factory=list)

    def locks(self, top: int | None = None, **where: Any) -> list[dict[str, Any]]:
        """The lock statistics of the first point whose row matches `where` (e.g.
        variant="linux-threads", cores=16): the locks taken at all, most contended first;
        `top` keeps that many. (`viz.lock_table` draws them.)"""
        per_row = self.lock_stats or [[] for _ in self.rows]  # a Result made by hand has none
        for row, stats in zip(self.rows, per_row, strict=True):
            if all(row.get(k) == v for k, v in where.items()):
                taken = [s for s in stats if s["acquisitions"]]
                ranked = sorted(taken, key=lambda s: (-s["contentions"], -s["acquisitions"]))
                return ranked[:top] if top is not None else ranked
        raise NoSuchRow(f"no row with {where}")

    def to_json(self) -> dict[str, Any]:
        return {"experiment": self.experiment, "params": self.params, "rows": self.rows}

    def column(self, name: str, **where: Any) -> list[Any]:
        """One metric's values over the rows that match `where` (e.g. variant="linux")."""
        rows = [r for r in self.rows if all(r.get(k) == v for k, v in where.items())]
        return [r[name] for r in rows]

    def row(self, **where: Any) -> dict[str, Any]:
        for r in self.rows:
            if all(r.get(k) == v for k, v in where.items()):
                return r
        raise NoSuchRow(f"no row with {where}")

    def table(self) -> str:
        """The rows as an aligned text table (what `coreylab run` prints)."""
        columns = list(dict.fromkeys(k for row in self.rows for k in row))
        cells = [[format_value(r.get(c, "")) for c in columns] for r in self.rows]
        widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
        numeric = [all(isinstance(r.get(c), int | float) for r in self.rows) for c in columns]

        def line(values: list[str]) -> str:
            parts = zip(values, widths, numeric, strict=True)
            return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in parts).rstrip()

        lines = [line(columns), "  ".join("-" * w for w in widths)]
        lines += [line(row) for row in cells]
        return "\n".join(lines) + "\n"

    @property
    def trace(self) -> Trace | None:
        """The first point's trace (most views show one run)."""
        return next((t for t in self.traces if t is not None), None)


def require_result(result: Any, *metrics: str) -> Result:
    """`result` if it is a Result with rows holding `metrics`; ExperimentError otherwise (for
    the views that draw one)."""
    if not isinstance(result, Result):
        raise ExperimentError(f"expected a Result (from experiments.run), not {result!r:.60}")
    if not result.rows:
        raise ExperimentError(f"the {result.experiment} Result has no rows to show")
    columns = dict.fromkeys(k for row in result.rows for k in row)
    for metric in metrics:
        if metric not in columns:
            raise ExperimentError(f"{result.experiment} rows have no {metric!r}; they have: "
                                  f"{', '.join(map(str, columns))}")  # fmt: skip
    return result


def format_value(value: Any) -> str:
    """A metric as a person reads it: big numbers with separators, small ones to 4 digits."""
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return f"{value:,}" if isinstance(value, int) and abs(value) >= 10_000 else str(value)


TRACE_LIMIT = 200_000  # records a traced point keeps (the first ones: set-up and warm-up first)


def new_machine(hw: HardwareParams, trace: bool) -> Machine:
    """The machine a point runs on: its trace on (bounded) only if asked for."""
    return Machine(hw, trace=Trace(enabled=trace, limit=TRACE_LIMIT))


def finish_point(machine: Machine, kernel: Any, variant: str, cores: int, metrics: dict) -> Point:
    """The point of a run that has ended: its row (variant, cores, then `metrics`), the
    machine's counters (its last use: handed over, not copied, and the machine closed), its
    trace if one was recorded, the kernel's lock statistics."""
    row = {"variant": variant, "cores": cores, **metrics}
    trace = machine.trace if machine.trace.enabled else None
    point = Point([row], machine.counters(final=True), trace, kernel.lock_stats())
    machine.close()
    return point


def hardware(preset: str = "amd16", **overrides: Any) -> HardwareParams:
    """A preset with some fields changed (a convenience for notebooks)."""
    return HardwareParams.preset(preset).replace(**overrides)
