"""Inputs are bounded before anything runs: hardware, kernel and experiment parameters, seeds,
core lists, and the memory a run would need (issue 13 §1)."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coreylab import experiments
from coreylab.experiments import ExperimentError, MemoryLimitError, estimate
from coreylab.hardware import HardwareParams, ParamError
from coreylab.hardware.params import BOUNDS, MAX_CYCLES
from coreylab.kernel.params import SIZE_BOUNDS, KernelParams, MemoryParams, NetParams

AMD16 = HardwareParams.preset("amd16")
INT_FIELDS = [f.name for f in dataclasses.fields(HardwareParams) if f.type in ("int", int)]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"l3_latency": 10**30}, "l3_latency must be between 1 and 100,000"),
        ({"l3_latency": 1e30}, "l3_latency must be a whole number"),
        ({"l1_latency": math.nan}, "l1_latency must be a whole number, not nan"),
        ({"dram_latency": math.inf}, "dram_latency must be a whole number, not inf"),
        ({"line_size": 8}, "line_size must be between 32 and 256"),
        ({"line_size": 16}, "line_size must be between 32 and 256"),
        ({"l1_size": 2**40}, "l1_size must be between 1 and 1,048,576"),
        ({"page_size": 2**30}, "page_size must be between 4,096 and 65,536"),
        ({"page_size": 64}, "page_size must be between 4,096"),
        ({"page_size": 12288}, "page_size must be a power of two"),
        ({"dram_bytes_per_chip": 4096}, "dram_bytes_per_chip must hold at least 64 pages"),
        ({"clock_mhz": 10**9}, "clock_mhz must be between"),
        ({"chips": True}, "chips must be a whole number"),
    ],
)
def test_unphysical_machines_are_refused(changes, message):
    with pytest.raises(ParamError, match=message):
        AMD16.replace(**changes)


def test_every_whole_number_field_has_an_upper_bound():
    """No field of the machine accepts a value past its bound (or past MAX_CYCLES)."""
    for name in INT_FIELDS:
        high = BOUNDS.get(name, (1, MAX_CYCLES))[1]
        with pytest.raises(ParamError, match=name):
            AMD16.replace(**{name: high * 2})


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(INT_FIELDS),
    value=st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.none(),
        st.text(max_size=3),
        st.booleans(),
    ),
)
def test_any_value_either_builds_a_bounded_machine_or_is_a_param_error(name, value):
    """Whatever is given, the outcome is a machine within BOUNDS or one ParamError naming
    what is wrong: never another exception."""
    try:
        hw = AMD16.replace(**{name: value})
    except ParamError as e:
        assert "\n" not in str(e)
        return
    low, high = BOUNDS.get(name, (1, MAX_CYCLES))
    assert low <= getattr(hw, name) <= high


@pytest.mark.parametrize("kind", [KernelParams, MemoryParams, NetParams])
def test_kernel_params_are_bounded(kind):
    base = kind()
    for f in dataclasses.fields(kind):
        if f.type not in ("int", int):
            continue
        high = SIZE_BOUNDS.get(f.name, (0, MAX_CYCLES))[1]
        for bad in (-1, high + 1, math.nan, 2.5, None, "3"):
            with pytest.raises(ParamError, match=f.name):
                base.replace(**{f.name: bad})
    with pytest.raises(ParamError, match="unknown"):
        base.replace(no_such_field=1)


def test_kernel_param_groups_are_checked():
    with pytest.raises(ParamError, match="memory must be a MemoryParams"):
        KernelParams(memory=3)
    with pytest.raises(ParamError, match="split_ptlock must be True or False"):
        MemoryParams(split_ptlock=1)
    with pytest.raises(ParamError, match="ehash_locks"):
        NetParams(ehash_buckets=8, ehash_locks=16)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0, max_value=20, exclude_min=True, allow_nan=False))
def test_scale_stack_scales_only_the_stack_or_refuses_whole(factor):
    """`NetParams.scale_stack`: each stack cost times the factor, rounded; every other field
    as it was; a factor that would take a cost past MAX_CYCLES is a ParamError."""
    base = NetParams()
    try:
        scaled = base.scale_stack(factor)
    except ParamError:
        assert any(round(getattr(base, f) * factor) > MAX_CYCLES for f in base.STACK_FIELDS)
        return
    for f in dataclasses.fields(NetParams):
        expected = getattr(base, f.name)
        if f.name in base.STACK_FIELDS:
            expected = round(expected * factor)
        assert getattr(scaled, f.name) == expected, f.name


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"seed": None}, "seed must be a whole number"),
        ({"seed": 1.5}, "seed must be a whole number"),
        ({"seed": -1}, "seed must be a whole number"),
        ({"cores": [2, 2, 4]}, "cores lists 2 twice"),
        ({"variants": ["linux-threads", "linux-threads"]}, "variants lists 'linux-threads' twice"),
        ({"cores": 4}, "cores must be a list"),
        ({"variants": "linux-threads"}, "variants must be a list"),
        ({"params": [1]}, "params must be a dict"),
        ({"jobs": 0}, "jobs must be a whole number"),
        ({"hw": "amd16"}, "hw must be a HardwareParams"),
    ],
)
def test_run_arguments_are_refused(kwargs, message):
    with pytest.raises(ExperimentError, match=message):
        experiments.run("fd-dup-close", **kwargs)


@pytest.mark.parametrize(
    "name, params, hw",
    [
        ("memclone", {"pages": 2048}, AMD16),  # its new maximum: 16 x 2048 x 90 KB = 2.8 GB
    ],
)
def test_runs_that_would_not_fit_are_refused_before_they_start(name, params, hw):
    """With a 1 GB limit big runs are refused, saying what they need and how to
    allow it; nothing runs (the refusal takes no simulation time)."""
    with pytest.raises(MemoryLimitError, match=r"would need about .* GB .*--max-memory \d+G"):
        experiments.run(name, hw=hw, params=params, max_memory=2**30)


def test_the_environment_sets_the_limit(monkeypatch):
    monkeypatch.setenv(estimate.ENV, "1M")
    with pytest.raises(MemoryLimitError, match="COREYLAB_MAX_MEMORY"):
        experiments.run("latency-ladder", preset="tiny")
    monkeypatch.setenv(estimate.ENV, "lots")
    with pytest.raises(ExperimentError, match="COREYLAB_MAX_MEMORY takes a size"):
        experiments.run("latency-ladder", preset="tiny")


def test_a_big_cache_counts_in_the_estimate():
    """A machine's caches cost a list per set: a 256 MB L3 of 64-byte lines, 1 way, is 4M sets
    per chip, 4 chips x 4M x 64 B = 1 GB."""
    hw = AMD16.replace(l3_size=256 * 2**20, l3_assoc=1)
    assert estimate.machine_bytes(hw) - estimate.machine_bytes(AMD16.replace(l3_size=64 * 16,
                                                                             l3_assoc=1)) == (
        4 * (4 * 2**20 - 16) * 64
    )  # fmt: skip


@pytest.mark.parametrize("text, expected", [("8G", 8 * 2**30), ("500M", 500 * 2**20),
                                            ("1_000", 1000), ("1.5GB", 3 * 2**29)])  # fmt: skip
def test_sizes_parse(text, expected):
    assert estimate.parse_bytes(text) == expected


def test_every_declared_maximum_fits_in_a_small_machine():
    """Each experiment at its declared maximum, on amd16's 16 cores, needs at most 4 GB: a
    declared maximum is a size that runs on a laptop (half of 8 GB free)."""
    for exp in experiments.EXPERIMENTS.values():
        values = {p.name: p.high for p in exp.params}
        need = estimate.run(exp, values, [AMD16.cores], AMD16, 1)
        assert need.bytes <= 4 * 2**30, (exp.name, str(need))
