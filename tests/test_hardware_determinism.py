"""Determinism: the same programs, seed and parameters give the same run, record for record.

The scenario is a contended 16-core amd16 run: every core mixes increments of a shared
counter, a compare-and-swap spinlock around a shared pair of words, reads of a shared table,
private work on its own line, and a wait for a flag core 0 raises halfway. Its programs are
drawn from a seeded `random.Random`, which the test owns (STYLE point 8).

Same seed: identical trace records and counters (compared with `==`), in this process and in
another one with a different hash seed (so nothing depends on the order of a set of strings).
Switching the trace off, or bounding it, or logging accesses, changes no counter.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from coreylab.hardware import HardwareParams, Machine
from coreylab.trace import Trace

OPS_PER_CORE = 150


def scenario(
    seed: int,
    trace: Trace | None = None,
    log: bool = False,
    timer: int | None = None,
    store_buffer: int = 0,
) -> Machine:
    """Run the contended 16-core scenario drawn from `seed`; return the finished machine.
    `timer`: a plain simpy process also ticks every `timer` cycles while the cores run."""
    rng = random.Random(seed)
    hw = HardwareParams.preset("amd16").replace(store_buffer=store_buffer)
    m = Machine(hw, trace=trace, log_accesses=log)
    p = m.params
    counter = m.memory.alloc(64, chip=0, label="counter")
    lock = m.memory.alloc(64, chip=1, label="lock")
    pair = m.memory.alloc(64, chip=1, label="pair")
    table = m.memory.alloc(8 * 64, chip=2, label="table")
    flag = m.memory.alloc(64, chip=3, label="flag")
    private = [m.memory.alloc(64, chip=p.chip_of(c), label=f"private[{c}]") for c in range(16)]

    def locked_update(core, value):
        while (yield from core.cas(lock, 0, 1)) != 0:
            yield from core.spin_until(lock, lambda v: v == 0)
        yield from core.store(pair, value)
        yield from core.store(pair + 8, value)
        yield from core.store(lock, 0)

    def program(core, ops):
        for i, (kind, arg, gap) in enumerate(ops):
            yield from core.compute(gap)
            if kind == "add":
                yield from core.fetch_add(counter, arg)
            elif kind == "lock":
                yield from locked_update(core, core.id * 1000 + i)
            elif kind == "table":
                yield from core.load(table + 64 * arg)
            elif kind == "private":
                yield from core.store(private[core.id], i)
            if i == len(ops) // 2:
                if core.id == 0:
                    yield from core.store(flag, 1)
                else:
                    yield from core.spin_until(flag, lambda v: v == 1)

    kinds = ["add", "lock", "table", "table", "private", "private", "private"]
    for c in range(16):
        ops = [
            (rng.choice(kinds), rng.randrange(8), rng.choice((0, 0, 5, 50, 300)))
            for _ in range(OPS_PER_CORE)
        ]
        m.spawn(c, program, ops)
    if timer is not None:

        def ticks(env):
            while any(core.busy for core in m.cores):
                yield env.timeout(timer)

        m.env.process(ticks(m.env))
    m.run()
    assert all(not core.busy for core in m.cores), "a program never finished"
    return m


def digest(m: Machine) -> str:
    """A fingerprint of a run's trace, counters and memory."""
    text = repr((m.trace.records, m.counters(), sorted(m.memory.values.items())))
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def reference() -> Machine:
    return scenario(seed=1)


def test_the_scenario_is_contended(reference):
    """The run is worth comparing: lines queue, cores spin, and the lock changes hands."""
    records = reference.trace.records
    assert len(records) > 1000
    assert sum(r.queued > 0 for r in records) > 100
    assert any(r.kind == "spin" for r in records)
    by_label = reference.counters().by_label()
    assert by_label["lock"].transfers > 50 and by_label["counter"].transfers > 50


def test_same_seed_gives_identical_trace_and_counters(reference):
    """Running the same seed again gives the same records, the same counters, the same
    memory and the same end time: nothing in the machine depends on anything but its inputs."""
    again = scenario(seed=1)
    assert again.trace.records == reference.trace.records
    assert again.counters() == reference.counters()
    assert again.memory.values == reference.memory.values
    assert again.elapsed == reference.elapsed


def test_another_seed_gives_another_run(reference):
    """The comparison above is not vacuous: another seed draws other programs."""
    other = scenario(seed=2)
    assert other.trace.records != reference.trace.records
    assert other.counters() != reference.counters()


def test_trace_off_or_bounded_changes_no_counter(reference):
    """The trace only records: switched off it holds nothing and the counters, memory and
    time are the same; bounded to its first 500 records it holds exactly those, and counts
    the rest as dropped."""
    off = scenario(seed=1, trace=Trace(enabled=False))
    assert off.trace.records == []
    assert off.counters() == reference.counters()
    assert off.memory.values == reference.memory.values
    assert off.elapsed == reference.elapsed

    bounded = scenario(seed=1, trace=Trace(limit=500))
    assert bounded.trace.records == reference.trace.records[:500]
    assert bounded.trace.dropped == len(reference.trace.records) - 500
    assert bounded.counters() == reference.counters()


def test_logging_accesses_changes_nothing(reference):
    """The access log used by the random tester observes without disturbing the run."""
    logged = scenario(seed=1, log=True)
    assert len(logged.access_log) >= 16 * OPS_PER_CORE
    assert logged.trace.records == reference.trace.records
    assert logged.counters() == reference.counters()


def test_another_process_with_another_hash_seed_gives_the_same_bytes(reference):
    """Byte-identical across processes: a fresh interpreter with a different PYTHONHASHSEED
    (which reorders sets and dicts of strings) produces the same fingerprint."""
    here = Path(__file__).resolve().parent
    code = f"import sys; sys.path.insert(0, {str(here)!r}); import {Path(__file__).stem} as t; "
    code += "print(t.digest(t.scenario(seed=1)))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == digest(reference)


@pytest.mark.parametrize("bystander", ["computing-core", "timer-process"])
def test_unrelated_events_do_not_change_the_timing_of_others(bystander):
    """Cores 0 and 1 increment a shared counter. Meanwhile core 8, on another chip, only
    computes (or a plain simpy process ticks every 50 cycles, as a sampler or a device timer
    would); neither touches memory. That must not change what cores 0 and 1 do: the same
    records on the counter's line, the same end times. (core.py calls its run-ahead exact;
    this checks that its timing, not only its order of values, is.)"""

    def run(with_bystander: bool) -> tuple[list, int, int]:
        m = Machine(HardwareParams.preset("amd16"))
        counter = m.memory.alloc(64, label="counter")

        def increment(core):
            for _ in range(40):
                yield from core.fetch_add(counter, 1)

        def computing_core(core):
            for _ in range(400):
                yield from core.compute(7)

        def timer_process(env):
            for _ in range(100):
                yield env.timeout(50)

        m.spawn(0, increment)
        m.spawn(1, increment)
        if with_bystander and bystander == "computing-core":
            m.spawn(8, computing_core)
        elif with_bystander:
            m.env.process(timer_process(m.env))
        m.run()
        return m.trace.records, m.cores[0].local, m.cores[1].local

    assert run(with_bystander=True) == run(with_bystander=False)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_timer_changes_nothing_in_the_contended_scenario(reference, seed):
    """The same on the whole contended scenario: a timer ticking every 7 cycles (far more
    events than the cores make) leaves every record, counter and value as it was."""
    alone = reference if seed == 1 else scenario(seed)
    ticked = scenario(seed, timer=7)
    assert ticked.trace.records == alone.trace.records
    assert ticked.counters() == alone.counters()
    assert ticked.memory.values == alone.memory.values


@pytest.mark.parametrize("seed", [1, 2])
def test_with_a_store_buffer_a_timer_changes_nothing_and_the_buffer_does(seed):
    """The same with a 32-store buffer: its landing events are the cores' own, and a timer
    ticking every 7 cycles still changes no record, counter or value; the buffer itself
    changes the run (stores no longer stall), and the same seed gives the same bytes."""
    tso = scenario(seed, store_buffer=32)
    assert digest(scenario(seed, store_buffer=32)) == digest(tso)
    ticked = scenario(seed, timer=7, store_buffer=32)
    assert ticked.trace.records == tso.trace.records
    assert ticked.counters() == tso.counters()
    assert ticked.memory.values == tso.memory.values
    assert tso.trace.records != scenario(seed).trace.records
