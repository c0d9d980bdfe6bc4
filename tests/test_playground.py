"""`playground.measure`, the capstone's way to time a student's own design: it reports only
work that happened, and a bad address in a design is named, not an internal error."""

from __future__ import annotations

import re

import pytest

from coreylab import playground
from coreylab.hardware import HardwareParams, Machine
from coreylab.workloads import run_program

TINY = HardwareParams.preset("tiny")


def one_line(machine, cores):
    return machine.memory.alloc(machine.params.line_size, chip=0, label="lock")


def forgot_unlock(core, lock, i):
    """Takes a test-and-set spinlock and never releases it."""
    while (yield from core.swap(lock, 1)) != 0:
        yield from core.spin_until(lock, lambda v: v == 0)


def locked_count(core, lock, i):
    """The same lock, released: a store of 0 after a counter's increment in the next word."""
    while (yield from core.swap(lock, 1)) != 0:
        yield from core.spin_until(lock, lambda v: v == 0)
    value = yield from core.load(lock + 8)
    yield from core.store(lock + 8, value + 1)
    yield from core.store(lock, 0)


def test_a_design_that_never_releases_its_lock_is_an_error_not_a_throughput():
    """One core: its first operation takes the free lock, its second spins forever; the run
    ends when nothing is left to happen, and measure says which core stopped where."""
    stuck = r"on 1 core never finished: 1 stopped.*core 0 after 1 of 5"
    with pytest.raises(ValueError, match=stuck):
        playground.measure({"forgot": (one_line, forgot_unlock)}, cores=[1], ops=5, hw=TINY)


def test_two_cores_stuck_behind_one_lock_are_both_named():
    """Two cores: one takes the lock once and then waits for itself, the other never gets it:
    one stopped after 1 operation, the other after 0."""
    with pytest.raises(ValueError, match="on 2 cores never finished: 2 stopped") as caught:
        playground.measure({"forgot": (one_line, forgot_unlock)}, cores=[2], ops=3, hw=TINY)
    stops = re.findall(r"core (\d) after (\d)", str(caught.value))
    assert sorted(after for _, after in stops) == ["0", "1"] and len({c for c, _ in stops}) == 2


def test_a_correct_lock_finishes_and_counts_every_operation():
    """The released lock: every core finishes, and the counter it guards holds cores x ops."""
    made = []  # (machine, lock address) of each run

    def setup(machine, cores):
        made.append((machine, one_line(machine, cores)))
        return made[-1][1]

    result = playground.measure({"ok": (setup, locked_count)}, cores=[1, 2], ops=4, hw=TINY)
    assert [row["cores"] for row in result.rows] == [1, 2]
    assert [m.memory.values[lock + 8] for m, lock in made] == [4, 8]


def test_an_address_outside_physical_memory_is_named():
    """tiny has 2 chips of 1 MB: the last byte's line loads (0, never written); one past the
    end, and a negative address, are ValueErrors that say where memory ends."""
    m = Machine(TINY)
    end = TINY.chips * TINY.dram_bytes_per_chip
    assert run_program(m.cores[0], m.cores[0].load(end - 8)) == 0
    for bad in (end, -64, 10**15):
        with pytest.raises(ValueError, match=f"outside physical memory .*0 to {end - 1:#x}"):
            run_program(m.cores[0], m.cores[0].load(bad))
