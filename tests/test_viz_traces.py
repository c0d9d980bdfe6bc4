"""Small recorded runs the viz tests draw, and the replay every view relies on.

The runs are tiny programs on the simulated machine; their traces can be worked out by hand.
The replay (`coreylab.viz.replay`) must agree with the machine: the same holders for every
line, and the same states except where a store hit silently turned E into M since the line's
last record (no record: the next one, through its `probed`, says M).
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from coreylab.hardware import HardwareParams, Machine
from coreylab.viz.replay import Replay


# -- the runs ----------------------------------------------------------------------------------
def lock_run(cores: int = 16, rounds: int = 5, preset: str = "amd16", protocol: str = "MOESI"):
    """Every core bumps a shared lock word with atomics and reads a shared counter; core 3
    also writes the counter. The lock line bounces between all cores."""
    m = Machine(HardwareParams.preset(preset).replace(protocol=protocol))
    lock = m.memory.alloc(64, chip=0, label="files.file_lock")
    nxt = m.memory.alloc(64, chip=m.params.chips - 1, label="files.next_fd")

    def program(core, n):
        for _ in range(n):
            yield from core.fetch_add(lock, 1)
            value = yield from core.load(nxt)
            if core.id == 3:
                yield from core.store(nxt, value + 1)
            yield from core.compute(30)

    for c in range(cores):
        m.spawn(c, program, rounds)
    m.run()
    return m


def tiny_run(protocol: str = "MOESI"):
    """Two cores, one line: core 0 writes it (from DRAM), core 1 reads it (from core 0's
    cache), core 0 writes it again (an upgrade invalidating core 1)."""
    m = Machine(HardwareParams.preset("tiny").replace(protocol=protocol))
    x = m.memory.alloc(64, label="demo.x")

    def first(core):
        yield from core.store(x, 1)
        yield from core.compute(500)
        yield from core.store(x, 2)

    def second(core):
        yield from core.compute(300)
        yield from core.load(x)

    m.spawn(0, first)
    m.spawn(1, second)
    m.run()
    return m


def forward_run():
    """MESIF on `duo`: cores 0, 1 and 2 read one line in turn (chip 0's DRAM, then core 0's
    E copy, then core 1's F copy one hop away); each new reader takes F."""
    m = Machine(HardwareParams.preset("duo").replace(protocol="MESIF"))
    x = m.memory.alloc(64, chip=0, label="demo.x")

    def reader(core, delay):
        yield from core.compute(delay)
        yield from core.load(x)

    for core, delay in ((0, 0), (1, 300), (2, 600)):
        m.spawn(core, reader, delay)
    m.run()
    return m


def spin_run():
    """Core 0 takes a lock and holds it 1000 cycles; core 1 asks for it while core 0's fill is
    in flight (so it queues: in the limit case, where a transfer keeps the line's home busy
    for its whole latency), spins on it, then takes it."""
    m = Machine(HardwareParams.preset("tiny").replace(home_occupancy=1000))
    lock = m.memory.alloc(64, label="demo.lock")

    def holder(core):
        yield from core.swap(lock, 1)
        yield from core.compute(1000)
        yield from core.store(lock, 0)

    def waiter(core):
        yield from core.compute(100)
        yield from core.spin_until(lock, lambda v: v == 0)
        yield from core.swap(lock, 1)

    m.spawn(0, holder)
    m.spawn(1, waiter)
    m.run()
    return m


def silent_run():
    """Core 0 reads a line nobody has (E), then writes it: a silent hit, E -> M, no record.
    Core 1 then reads it: the record shows core 0 supplying, and its `probed` that it was M."""
    m = Machine(HardwareParams.preset("tiny"))
    y = m.memory.alloc(64, label="demo.y")

    def writer(core):
        yield from core.load(y)
        yield from core.store(y, 5)

    def reader(core):
        yield from core.compute(600)
        yield from core.load(y)

    m.spawn(0, writer)
    m.spawn(1, reader)
    m.run()
    return m


def replayed(m: Machine) -> Replay:
    replay = Replay(m.params.protocol)
    for rec in m.trace.records:
        replay.step(rec)
    return replay


# -- the replay agrees with the machine ------------------------------------------------------------
def test_tiny_run_is_as_worked_by_hand():
    """The three records of the tiny run, field by field."""
    recs = [(r.core, r.kind, r.source, r.supplier, r.state_before, r.state_after, r.invalidated)
            for r in tiny_run().trace.records]  # fmt: skip
    assert recs == [
        (0, "store", "dram-local", 0, "I", "M", ()),
        (1, "load", "same-chip-cache", 0, "I", "S", ()),
        (0, "store", "upgrade", -1, "O", "M", (1,)),
    ]


def test_replay_ends_in_the_machines_states():
    """After the lock run (atomics and loads), every line's holders and states are the
    machine's, except that a silently written E line is M in the machine."""
    m = lock_run(cores=8, rounds=4)
    replay = replayed(m)
    for line in m.lines:
        mine = replay.held.get(line, {})
        theirs = m.states(line)
        assert set(mine) == set(theirs)
        assert all(mine[c] == s or (mine[c], s) == ("E", "M") for c, s in theirs.items())


def test_silent_store_is_read_from_the_probe():
    """The replay saw core 0 take the line E; the silent store left no record, but core 1's
    read records that it probed core 0 in M, which supplied and kept it as O."""
    m = silent_run()
    replay = Replay("MOESI")
    line = m.trace.records[0].line
    replay.step(m.trace.records[0])
    assert replay.held[line] == {0: "E"}
    transitions = [t for r in m.trace.records[1:] for t in replay.step(r)]
    probes = [t for t in transitions if t.role == "probe"]
    assert [(t.core, t.before, t.event, t.after) for t in probes] == [(0, "M", "PROBE_READ", "O")]
    assert replay.held[line] == m.states(line) == {0: "O", 1: "S"}


OPS = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from(["load", "store", "atomic"]), st.integers(0, 5)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops=OPS, protocol=st.sampled_from(["MSI", "MESI", "MOESI", "MESIF"]))
def test_replay_holders_match_machine_on_random_programs(ops, protocol):
    """Random loads, stores and atomics by four cores on six lines of a two-chip machine with
    tiny caches (so evictions happen): the replay's holders are always the machine's, and its
    states are too except E for M after a silent store; where it says data came from (a core's
    cache or a chip) matches the machine's transfer and fill counts, far-L3 hits included."""
    m = Machine(HardwareParams.preset("duo").replace(protocol=protocol))
    base = m.memory.alloc(64 * 64, label="rand")
    addr = [base + 64 * 4 * i for i in range(6)]  # every 4th line: they share cache sets

    def program(core, mine):
        for kind, which in mine:
            if kind == "load":
                yield from core.load(addr[which])
            elif kind == "store":
                yield from core.store(addr[which], core.id)
            else:
                yield from core.fetch_add(addr[which], 1)
            yield from core.compute(7)

    for c in range(4):
        m.spawn(c, program, [(k, i) for core, k, i in ops if core == c])
    m.run()
    replay = Replay(protocol)
    origins = Counter()
    for r in m.trace.records:
        replay.step(r)
        if r.kind in ("load", "store", "atomic") and replay.origin is not None:
            origins[r.line, replay.origin[0]] += 1
    for line, stats in m.counters().lines.items():
        assert (origins[line, "core"], origins[line, "chip"]) == (stats.transfers, stats.fills)
    for line in m.lines:
        mine, theirs = replay.held.get(line, {}), m.states(line)
        assert set(mine) == set(theirs)
        assert all(mine[c] == s or (mine[c], s) == ("E", "M") for c, s in theirs.items())
