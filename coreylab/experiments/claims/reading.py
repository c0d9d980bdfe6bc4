"""What a claim is, what checking it gives (a Verdict), and how a claim reads its figure off a
Result: the values, ratios and core counts the claims in `table.py` are written in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..base import Result


@dataclass(frozen=True)
class Claim:
    experiment: str
    says: str  # the paper's claim, as a student reads it
    source: str  # where the paper says it: a slide's title, the abstract, Corey's source
    figure: Callable[[Result], str]  # the simulated figure, read off the rows
    holds: Callable[[Result], bool]  # does the model agree?
    calibrated: bool = False  # the figure is an input of the model, not a result
    why: str = ""  # for a claim the model does not reproduce: what it leaves out


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    figure: str
    agrees: bool
    measured: bool = True  # False: the run lacks the claim's points, so neither yes nor no


# -- reading figures off a Result ---------------------------------------------------------------
def value(result: Result, variant: str, metric: str, cores: int | None = None) -> Any:
    rows = [r for r in result.rows if r["variant"] == variant]
    if cores is None:  # the largest core count the variant ran at
        cores = max(r["cores"] for r in rows)
    return next(r[metric] for r in rows if r["cores"] == cores)


def ratio(result: Result, variant: str, metric: str, cores: int, base: int) -> float:
    return value(result, variant, metric, cores) / value(result, variant, metric, base)


def most(result: Result, variant: str, at_least: int = 8) -> int:
    """The largest core count `variant` ran at; a scaling claim needs `at_least` that many."""
    cores = max(r["cores"] for r in result.rows if r["variant"] == variant)
    if cores < at_least:
        raise ValueError(f"{variant} ran on at most {cores} cores")
    return cores


def threads_vs(result: Result, base: int) -> float:
    """fd-dup-close's shared table: throughput at the most cores over that at `base` cores."""
    return ratio(result, "linux-threads", "ops_per_sec", most(result, "linux-threads"), base)


def ladder(result: Result, source: str) -> int:
    return next(r["cycles"] for r in result.rows if r["source"] == source)
