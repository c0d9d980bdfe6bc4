"""MESIF worked out by hand on `tiny` and `duo`: the Forward state, a clean copy that answers.

`duo` is two chips of two cores (chip 0: cores 0 and 1; chip 1: cores 2 and 3) with the amd16
latencies: another core's cache on the same chip 121, a cache one hop away 200, DRAM on the
requester's chip 200 and one hop away 260; an upgrade costs the round trip to the farthest copy
it invalidates. Under MESIF a reader that finds other copies takes F, and the copy in F (not
the S copies) sends the data and becomes S. These are the same runs as in
`test_hardware_by_hand.py`, so the difference from MESI is the Forward state alone.
"""

import pytest

from coreylab.hardware import HardwareParams, Machine, ParamError, State
from coreylab.hardware.protocols import PROTOCOL_TABLES


def machine(preset="duo", protocol="MESIF"):
    return Machine(HardwareParams.preset(preset).replace(protocol=protocol))


def do(m, core_id, *ops):
    """Run ops [("load", addr) | ("store", addr, value)] on one core; return its cycles."""

    def program(core):
        for op, addr, *value in ops:
            if op == "load":
                yield from core.load(addr)
            else:
                yield from core.store(addr, *value)

    start = m.env.now
    m.spawn(core_id, program)
    return m.run() - start


def last(m):
    r = m.trace.records[-1]
    return r.core, r.source, r.supplier, r.state_before, r.state_after, r.invalidated, r.probed


def test_forward_moves_to_the_newest_reader():
    """Core 0 reads alone (E, from DRAM: 200). Core 1 reads: core 0's E supplies from the same
    chip (121) and becomes S; core 1 takes F. Core 2, on the other chip, reads: both copies are
    probed, the S copy stays silent, core 1's F supplies from one hop away (151:
    `remote_cache_latency`) and becomes S;
    core 2 takes F. Core 3 reads from core 2, its chip neighbour (121). DRAM was read once."""
    m = machine()
    x = m.memory.alloc(64, chip=0, label="x")
    line = m.line_of(x)
    assert do(m, 0, ("load", x)) == 200
    assert m.states(line) == {0: "E"}
    assert do(m, 1, ("load", x)) == 121
    assert last(m) == (1, "same-chip-cache", 0, "I", "F", (), ((0, "E", "S"),))
    assert do(m, 2, ("load", x)) == m.params.remote_cache_latency == 151
    assert last(m) == (
        2, "other-chip-cache-1hop", 1, "I", "F", (), ((0, "S", "S"), (1, "F", "S"))
    )  # fmt: skip
    assert do(m, 3, ("load", x)) == 121
    assert m.states(line) == {0: "S", 1: "S", 2: "S", 3: "F"}
    assert m.memory.reads == [1, 0] and m.memory.writes == [0, 0]
    assert m.counters().lines[line].transfers == 3
    assert m.counters().lines[line].hitm == 0  # F and E are clean


def test_mesi_serves_the_same_reads_from_memory():
    """The same first three reads under MESI: after core 1's read both copies are S and
    neither supplies, so core 2's read goes to DRAM on chip 0, one hop away (260, not 200)."""
    m = machine(protocol="MESI")
    x = m.memory.alloc(64, chip=0, label="x")
    assert [do(m, c, ("load", x)) for c in (0, 1, 2)] == [200, 121, 260]
    assert m.trace.records[-1].source == "dram-remote"


def test_a_read_after_the_forward_copy_left_comes_from_memory():
    """On `tiny`: core 0 reads x (E), core 1 reads it (F; core 0 S). Core 1 then reads lines
    4 and 8 of the same region, which share x's L2 set (2 ways): x's F copy is pushed out,
    clean, so nothing is written back. Read again by core 1, x has an S copy in core 0 but no
    cache to forward it: it comes from DRAM (200), and core 1 takes F again."""
    m = machine("tiny")
    base = m.memory.alloc(16 * 64, label="region", align=16 * 64)
    line = m.line_of(base)
    do(m, 0, ("load", base))
    do(m, 1, ("load", base), ("load", base + 4 * 64), ("load", base + 8 * 64))
    evicted = [r for r in m.trace.records if r.kind == "evict"]
    assert [(r.core, r.line, r.source, r.state_before) for r in evicted] == [(1, line, "drop", "F")]
    assert m.states(line) == {0: "S"}
    assert do(m, 1, ("load", base)) == 200
    assert last(m) == (1, "dram-local", 0, "I", "F", (), ((0, "S", "S"),))
    assert m.memory.writes == [0]


def test_writes_to_a_forwarded_line():
    """On `duo`, core 0 then core 1 read x (core 0 S, core 1 F). A store from the F copy is an
    upgrade: no data moves, core 0's copy is invalidated (121). Then the same from the start
    with core 2 writing: its request for the data finds F in core 1, which supplies from one
    hop away and is invalidated with core 0's S copy: 151 (`remote_cache_latency`), where MESI
    reads DRAM one hop away (200 + 60 = 260)."""
    m = machine()
    x = m.memory.alloc(64, chip=0, label="x")
    do(m, 0, ("load", x))
    do(m, 1, ("load", x))
    assert do(m, 1, ("store", x, 7)) == 121
    assert last(m) == (1, "upgrade", -1, "F", "M", (0,), ((0, "S", "I"),))
    assert m.states(m.line_of(x)) == {1: "M"}

    for protocol, cycles, source in (("MESIF", 151, "other-chip-cache-1hop"),
                                     ("MESI", 260, "dram-remote")):  # fmt: skip
        m = machine(protocol=protocol)
        x = m.memory.alloc(64, chip=0, label="x")
        do(m, 0, ("load", x))
        do(m, 1, ("load", x))
        assert do(m, 2, ("store", x, 7)) == cycles
        assert m.trace.records[-1].source == source
        assert m.states(m.line_of(x)) == {2: "M"}


def test_a_modified_line_read_is_written_back_and_forwarded():
    """Core 0 writes x (M). Core 1 reads it: core 0 supplies (121) and, F being clean, writes
    the line back and keeps S; core 1 takes F. A later reader is served by core 1."""
    m = machine("tiny")
    x = m.memory.alloc(64, label="x")
    do(m, 0, ("store", x, 1))
    assert do(m, 1, ("load", x)) == 121
    assert last(m) == (1, "same-chip-cache", 0, "I", "F", (), ((0, "M", "S"),))
    assert m.memory.writes == [1]
    assert m.counters().lines[m.line_of(x)].hitm == 1


def test_the_forward_state_facts_come_from_its_rows():
    """F supplies data but owns nothing: memory is up to date (its eviction writes nothing
    back) and a store to it must ask the other caches (an upgrade)."""
    mesif = PROTOCOL_TABLES["MESIF"]
    assert [s.name for s in mesif.states] == ["M", "E", "F", "S", "I"]
    assert mesif.suppliers == {State.M, State.E, State.F}
    assert mesif.owners == {State.M, State.E}
    assert mesif.dirty == {State.M} and mesif.writable == {State.M, State.E}


def test_parameters_accept_mesif_and_name_it_when_refusing():
    assert HardwareParams.preset("amd16").with_overrides({"protocol": "MESIF"}).protocol == "MESIF"
    with pytest.raises(ParamError, match="MSI, MESI, MOESI, MESIF"):
        HardwareParams.preset("amd16").replace(protocol="MOSI")
