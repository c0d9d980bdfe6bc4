"""The paper's experiments as seeded functions on the simulated machine, and sweeps over them.

    from coreylab.experiments import run
    result = run("latency-ladder", preset="amd16")
    result.rows  # [{"variant": "measured", "cores": 16, "source": "l1", "cycles": 3}, ...]

`run` checks every argument before anything runs (a bad one raises `ExperimentError` with a
one-line message) and runs the points serially or through any `concurrent.futures.Executor`;
the rows come back in the same order either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

from ..hardware import HardwareParams, ParamError
from ..hardware.memory import OutOfMemory
from ..kernel import KernelError
from . import estimate, pool
from .base import Experiment, ExperimentError, Param, Point, Result, hardware
from .estimate import MemoryLimitError
from .fd import FD_DUP_CLOSE
from .ladder import LATENCY_LADDER
from .mapreduce import MAPREDUCE
from .memory import MEMCLONE, MEMPASS
from .naming import OBJECT_NAMING
from .network import TCP_CONNECTIONS, WEBSERVER
from .shares import SHARES
from .tlb import TLB_SHOOTDOWN

EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        LATENCY_LADDER,
        FD_DUP_CLOSE,
        SHARES,
        OBJECT_NAMING,
        MEMCLONE,
        MEMPASS,
        TLB_SHOOTDOWN,
        MAPREDUCE,
        TCP_CONNECTIONS,
        WEBSERVER,
    )
}

__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "ExperimentError",
    "Param",
    "Point",
    "Result",
    "check",
    "get",
    "MemoryLimitError",
    "hardware",
    "run",
    "run_many",
]


def get(name: str) -> Experiment:
    try:
        return EXPERIMENTS[name]
    except (KeyError, TypeError):  # TypeError: a list or dict is no name
        known = ", ".join(EXPERIMENTS)
        raise ExperimentError(f"unknown experiment {name!r}; experiments: {known}") from None


def run(
    name: str,
    variants: list[str] | None = None,
    cores: list[int] | None = None,
    seed: int = 0,
    hw: HardwareParams | None = None,
    preset: str = "amd16",
    params: dict[str, Any] | None = None,
    trace: bool = False,
    executor: Executor | None = None,
    jobs: int = 1,
    progress: bool = False,
    max_memory: int | None = None,
) -> Result:
    """Run an experiment's points (every variant x every core count) and gather a Result.
    Before anything runs, every argument is checked and the run's memory estimated
    (`estimate`): over `max_memory` (default: COREYLAB_MAX_MEMORY, else half the free memory)
    it is refused with MemoryLimitError. Progress goes to stderr if `progress`."""
    hw, values, points = _plan(name, variants, cores, seed, hw, preset, params, jobs,
                               executor, max_memory)  # fmt: skip
    if progress:
        pool.announce(name, len(points), estimate.run(get(name), values, [c for _, c in points],
                                                      hw, 1 if executor else jobs))  # fmt: skip
    args = [(name, v, c, seed, hw, trace, values, True) for v, c in points]
    outcomes = pool.map_points(_run_point, args, executor, jobs, progress, label=name)
    return _gather(name, seed, hw, values, outcomes)


def _gather(name: str, seed: int, hw: HardwareParams, values: dict[str, Any],
            outcomes: list[Point]) -> Result:  # fmt: skip
    """A run's Result from its points' outcomes, in the order of its points."""
    result = Result(name, {"seed": seed, "hardware": hw.name, **values}, [])
    for point in outcomes:
        if not point.rows:  # a variant with no such point (corey-dedicated on one core)
            continue
        result.rows.extend(point.rows)
        result.counters.append(point.counters)
        result.traces.append(point.trace)
        result.lock_stats.append(point.locks)
    return result


def run_many(
    names: Sequence[str],
    seed: int = 0,
    preset: str = "amd16",
    jobs: int = 1,
    executor: Executor | None = None,
    progress: bool = False,
    max_memory: int | None = None,
    label: str = "sweep",
    counters: bool = True,
) -> list[Result]:
    """Several experiments at their defaults, each as `run` would run it, in one sweep: all
    their points go to one pool of `jobs` processes (or `executor`) at once, the longest first
    by their estimates, so that no worker waits at the end of one experiment while another
    has points left. Everything is checked before anything runs, and the whole sweep's memory
    estimated (its biggest points may run at once). Progress, if asked for, counts every point
    under `label`. Without `counters` each point's machine counters stay in its worker
    (`Result.counters` holds None for each): a 16-core mapreduce point's are 5 MB to pickle
    and unpickle, and the report draws none."""
    plans = [(name, *_plan(name, seed=seed, preset=preset, jobs=jobs, executor=executor,
                           max_memory=max_memory)) for name in names]  # fmt: skip
    workers = 1 if executor else jobs
    args, need = [], []
    for name, hw, values, points in plans:
        args += [(name, v, c, seed, hw, False, values, counters) for v, c in points]
        need += [estimate.point(get(name), values, c, hw) for _, c in points]
    whole = estimate.together(need, workers)
    estimate.check(whole, " ".join(names), max_memory)
    if progress:
        pool.announce(label, len(args), whole)
    longest_first = sorted(range(len(args)), key=lambda i: -need[i].seconds)
    outcomes = pool.map_points(_run_point, [args[i] for i in longest_first], executor, jobs,
                               progress, label)  # fmt: skip
    ordered: list[Point] = [None] * len(args)  # type: ignore[list-item]
    for i, outcome in zip(longest_first, outcomes, strict=True):
        ordered[i] = outcome
    results, at = [], 0
    for name, hw, values, points in plans:
        results.append(_gather(name, seed, hw, values, ordered[at : at + len(points)]))
        at += len(points)
    return results


def check(name: str, **arguments: Any) -> estimate.Estimate:
    """What `run(name, **arguments)` would need, checked as `run` checks it; runs nothing."""
    arguments = {k: v for k, v in arguments.items() if k not in ("trace", "progress")}
    try:
        hw, values, points = _plan(name, **arguments)
    except TypeError as e:  # an argument `run` does not take
        raise ExperimentError(str(e)) from None
    return estimate.run(get(name), values, [c for _, c in points], hw, arguments.get("jobs", 1))


def _plan(name, variants=None, cores=None, seed=0, hw=None, preset="amd16", params=None, jobs=1,
          executor=None, max_memory=None):  # fmt: skip
    """(hardware, parameter values, points) of a run, every argument checked and the whole
    run's memory estimated against the limit."""
    exp = get(name)
    _check_seed(seed)
    _check_jobs(jobs)
    hw = _hardware(hw, preset)
    if params is not None and not isinstance(params, dict):
        raise ExperimentError(f"params must be a dict of NAME: VALUE, not {params!r}")
    values = exp.resolve(params or {})
    points = _points(exp, variants, cores, hw)
    if exp.fits is not None and points:
        exp.fits(hw, max(c for _, c in points), **values)
    need = estimate.run(exp, values, [c for _, c in points], hw, 1 if executor else jobs)
    shown = " ".join([name, *(f"{k}={v}" for k, v in (params or {}).items())])
    estimate.check(need, shown, max_memory)
    return hw, values, points


MAX_SEED = 2**63 - 1


def _check_seed(seed: Any) -> None:
    """A seed is a whole number: None would run unseeded, and not the same twice."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ExperimentError(f"seed must be a whole number from 0 to 2**63-1, not {seed!r}")


def _check_jobs(jobs: Any) -> None:
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= MAX_JOBS:
        raise ExperimentError(f"jobs must be a whole number from 1 to {MAX_JOBS}, not {jobs!r}")


MAX_JOBS = 256


def _hardware(hw: Any, preset: Any) -> HardwareParams:
    if hw is not None and not isinstance(hw, HardwareParams):
        raise ExperimentError(f"hw must be a HardwareParams (see `hardware()`), not {hw!r}")
    try:
        return hw or HardwareParams.preset(preset)
    except (ParamError, TypeError) as e:
        raise ExperimentError(f"preset: {e}") from None


def _sequence(value: Any, name: str) -> list | None:
    if value is None:
        return None
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise ExperimentError(f"{name} must be a list, not {value!r}")
    return list(value)


def _points(exp: Experiment, variants, cores, hw: HardwareParams) -> list[tuple[str, int]]:
    variants = _sequence(variants, "variants")
    for v in variants or []:
        if not isinstance(v, str):
            raise ExperimentError(f"variants are names (text), not {v!r}")
    variants = exp.check_variants(_unique(variants or list(exp.variants), "variants"))
    if not exp.sweeps_cores:
        return [(v, hw.cores) for v in variants]
    counts = _sequence(cores, "cores") or [c for c in exp.default_cores if c <= hw.cores]
    for c in counts:
        if isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= hw.cores:
            raise ExperimentError(f"core counts must be between 1 and {hw.cores}, not {c!r}")
    return [(v, c) for v in variants for c in _unique(counts, "cores")]


def _unique(items: list, name: str) -> list:
    """Refuse a repeated value: the same point twice is a typo, not a request."""
    seen = set()
    for item in items:
        if item in seen:
            raise ExperimentError(f"{name} lists {item!r} twice")
        seen.add(item)
    return items


def _run_point(args: tuple) -> Point:
    name, variant, cores, seed, hw, trace, values, counters = args
    try:
        with pool.cyclic_gc_paused():
            point = EXPERIMENTS[name].point(variant, cores, seed, hw, trace, **values)
    except (KernelError, OutOfMemory) as e:  # a limit of the simulated machine: say where
        raise ExperimentError(f"{name} {variant} on {cores} cores: {e}") from e
    if not counters:
        point.counters = None
    return point
