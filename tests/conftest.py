"""Shared fixtures for the hardware tests: small machines and a way to run programs on them.

Machines: `tiny` (1 chip x 2 cores), `duo` (2 chips x 2 cores), `amd16` (the paper's 4 x 4) and
`small` (2 chips x 4 cores with caches of a few lines, so that evictions and L3 traffic happen
after a handful of accesses). Each machine fixture is a fresh `Machine` that logs every access
(`m.access_log`), for the ordering checks. `make_machine` builds any of them with changes.

`run_programs(m, {core: program, ...})` spawns one program per core, runs the machine to the
end and returns each program's return value by core. A program is a generator function taking
the core (and the extra arguments given with it as a tuple `(program, *args)`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings

from coreylab.hardware import HardwareParams, Machine
from coreylab.trace import Trace


@pytest.fixture(autouse=True)
def _environment_restored():
    """`coreylab lab` sets variables for the server it becomes (os.execv, faked in the tests):
    the token, the config path, COREYLAB_DASHBOARD. None may leak into the next test."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)


# 2 chips x 4 cores; L1 1 set x 2 ways, L2 2 sets x 2 ways, L3 2 sets x 2 ways: a line that
# three others of the same set touch leaves the core, and the L3 itself overflows.
SMALL = HardwareParams.preset("tiny").replace(
    name="small",
    chips=2,
    cores_per_chip=4,
    l1_size=2 * 64,
    l1_assoc=2,
    l2_size=4 * 64,
    l2_assoc=2,
    l3_size=4 * 64,
    l3_assoc=2,
)

# Hypothesis profiles. `default`: what CI runs (each test's own example count; the concurrency
# tests in test_kernel_concurrent.py a fixed, derandomized set). `thorough`, chosen with
# HYPOTHESIS_PROFILE=thorough or `pytest --hypothesis-profile=thorough`: 10 times as many
# concurrent interleavings, randomized, and 1,000 examples for tests that set no count.
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def params_of(preset: str, **changes: Any) -> HardwareParams:
    """A preset by name (`small` included), with field changes."""
    base = SMALL if preset == "small" else HardwareParams.preset(preset)
    return base.replace(**changes) if changes else base


def build_machine(
    preset: str = "tiny", *, trace: bool = True, log: bool = True, **changes: Any
) -> Machine:
    """A fresh machine from a preset, logging accesses unless `log=False`."""
    return Machine(params_of(preset, **changes), trace=Trace(enabled=trace), log_accesses=log)


def run_programs(machine: Machine, programs: dict[int, Callable | tuple]) -> dict[int, Any]:
    """Spawn `programs[core]` (a generator function, or a tuple `(function, *args)`) on each
    core, run to the end, and return each program's return value by core."""
    procs = {}
    for core_id, spec in programs.items():
        fn, *args = spec if isinstance(spec, tuple) else (spec,)
        procs[core_id] = machine.spawn(core_id, fn, *args)
    machine.run()
    unfinished = [c for c, p in procs.items() if p.is_alive]
    assert not unfinished, f"programs on cores {unfinished} never finished (deadlock?)"
    return {core_id: proc.value for core_id, proc in procs.items()}


@pytest.fixture(scope="session")
def make_machine() -> Callable[..., Machine]:
    """`make_machine("duo", protocol="MSI")`: a fresh machine from a preset with changes."""
    return build_machine


@pytest.fixture(name="run_programs", scope="session")
def run_programs_fixture() -> Callable[..., dict[int, Any]]:
    """The `run_programs` helper, as a fixture."""
    return run_programs


@pytest.fixture
def tiny() -> Machine:
    return build_machine("tiny")


@pytest.fixture
def duo() -> Machine:
    return build_machine("duo")


@pytest.fixture
def small() -> Machine:
    return build_machine("small")


@pytest.fixture
def amd16() -> Machine:
    return build_machine("amd16")
