"""The paper's experiments as seeded functions on the simulated machine, and sweeps over them.

    from coreylab.experiments import run
    result = run("latency-ladder", preset="amd16")
    result.rows  # [{"variant": "measured", "cores": 16, "source": "l1", "cycles": 3}, ...]

`run` checks every argument before anything runs (a bad one raises `ExperimentError` with a
one-line message) and runs the points serially or through any `concurrent.futures.Executor`;
the rows come back in the same order either way.
"""

from __future__ import annotations

from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from ..hardware import HardwareParams, ParamError
from ..kernel import KernelError
from .base import Experiment, ExperimentError, Param, Point, Result, hardware
from .fd import FD_DUP_CLOSE
from .ladder import LATENCY_LADDER
from .mapreduce import MAPREDUCE
from .memory import MEMCLONE, MEMPASS
from .network import TCP_CONNECTIONS, WEBSERVER
from .shares import SHARES

EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        LATENCY_LADDER,
        FD_DUP_CLOSE,
        SHARES,
        MEMCLONE,
        MEMPASS,
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
    "get",
    "hardware",
    "run",
]


def get(name: str) -> Experiment:
    try:
        return EXPERIMENTS[name]
    except KeyError:
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
) -> Result:
    """Run an experiment's points (every variant x every core count) and gather a Result."""
    exp = get(name)
    try:
        hw = hw or HardwareParams.preset(preset)
    except ParamError as e:
        raise ExperimentError(str(e)) from None
    values = exp.resolve(params or {})
    points = _points(exp, variants, cores, hw)
    args = [(name, v, c, seed, hw, trace, values) for v, c in points]
    outcomes = _map(_run_point, args, executor, jobs, progress, label=name)
    result = Result(name, {"seed": seed, "hardware": hw.name, **values}, [])
    for point in outcomes:
        if not point.rows:  # a variant with no such point (corey-dedicated on one core)
            continue
        result.rows.extend(point.rows)
        result.counters.append(point.counters)
        result.traces.append(point.trace)
        result.lock_stats.append(point.locks)
    return result


def _points(exp: Experiment, variants, cores, hw: HardwareParams) -> list[tuple[str, int]]:
    variants = exp.check_variants(list(variants or exp.variants))
    if not exp.sweeps_cores:
        return [(v, hw.cores) for v in variants]
    counts = list(cores or [c for c in exp.default_cores if c <= hw.cores])
    for c in counts:
        if isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= hw.cores:
            raise ExperimentError(f"core counts must be between 1 and {hw.cores}, not {c!r}")
    return [(v, c) for v in variants for c in counts]


def _run_point(args: tuple) -> Point:
    name, variant, cores, seed, hw, trace, values = args
    try:
        return EXPERIMENTS[name].point(variant, cores, seed, hw, trace, **values)
    except KernelError as e:  # a limit of the simulated kernel: say where, in one line
        raise ExperimentError(f"{name} {variant} on {cores} cores: {e}") from e


def _map(fn, args: list, executor: Executor | None, jobs: int, progress: bool, label: str):
    """fn over args, in order: through `executor`, a process pool of `jobs`, or serially."""
    if executor is None and jobs > 1 and len(args) > 1:
        with ProcessPoolExecutor(max_workers=min(jobs, len(args))) as pool:
            return _map(fn, args, pool, 1, progress, label)
    mapped = executor.map(fn, args) if executor is not None else map(fn, args)
    if progress:
        from tqdm import tqdm

        mapped = tqdm(mapped, total=len(args), desc=label, unit="point", leave=False)
    return list(mapped)
