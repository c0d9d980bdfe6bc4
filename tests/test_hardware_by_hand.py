"""Tiny machines worked out by hand: exact states, cycles and trace records.

The `tiny` preset is one chip of two cores with L1 = 2 sets x 2 ways, L2 = 4 sets x 2 ways,
L3 = 4 sets x 4 ways, and the amd16 latencies: L1 3, L2 14, L3 75, another core's cache on the
chip 121, DRAM 200 (a remote chip: one more hop, 60). `duo` is two such chips.
"""

import pytest

from coreylab.hardware import HardwareParams, Machine


def machine(preset="tiny", **changes):
    return Machine(HardwareParams.preset(preset).replace(**changes))


def do(m, core_id, *ops):
    """Run ops [("load", addr) | ("store", addr, value)] on one core, to completion."""

    def program(core):
        for op, addr, *value in ops:
            if op == "load":
                yield from core.load(addr)
            else:
                yield from core.store(addr, *value)

    m.spawn(core_id, program)
    return m.run()


def summary(records):
    return [
        (r.t_start, r.t_end, r.core, r.kind, r.source, r.state_before, r.state_after, r.invalidated)
        for r in records
    ]


def test_write_read_write_under_moesi():
    """The Owned state: core 1's read leaves core 0 owning the dirty line (O), no write-back;
    core 0's second write only invalidates core 1's copy (an upgrade, 121 cycles)."""
    m = machine(protocol="MOESI")
    x = m.memory.alloc(64, label="x")
    line = m.line_of(x)
    do(m, 0, ("store", x, 1))
    assert m.states(line) == {0: "M"}
    do(m, 1, ("load", x))
    assert m.states(line) == {0: "O", 1: "S"}
    do(m, 0, ("store", x, 2))
    assert m.states(line) == {0: "M"}
    assert summary(m.trace.records) == [
        (0, 200, 0, "store", "dram-local", "I", "M", ()),
        (200, 321, 1, "load", "same-chip-cache", "I", "S", ()),
        (321, 442, 0, "store", "upgrade", "O", "M", (1,)),
    ]
    assert m.memory.writes == [0]
    assert m.memory.values[x] == 2


@pytest.mark.parametrize("protocol", ["MSI", "MESI"])
def test_write_read_write_without_owned(protocol):
    """Without O, a read of a Modified line writes it back to DRAM and both copies are S."""
    m = machine(protocol=protocol)
    x = m.memory.alloc(64, label="x")
    do(m, 0, ("store", x, 1))
    do(m, 1, ("load", x))
    assert m.states(m.line_of(x)) == {0: "S", 1: "S"}
    do(m, 0, ("store", x, 2))
    assert summary(m.trace.records)[1:] == [
        (200, 321, 1, "load", "same-chip-cache", "I", "S", ()),
        (321, 442, 0, "store", "upgrade", "S", "M", (1,)),
    ]
    assert m.memory.writes == [1]


@pytest.mark.parametrize(
    "protocol, state, store_cycles", [("MSI", "S", 75), ("MESI", "E", 3), ("MOESI", "E", 3)]
)
def test_exclusive_makes_a_private_store_silent(protocol, state, store_cycles):
    """A line read by one core alone: E under MESI/MOESI, so writing it costs an L1 hit;
    under MSI it is S, and the write must ask the chip (an upgrade, the L3 lookup: 75)."""
    m = machine(protocol=protocol)
    y = m.memory.alloc(64, label="y")
    after_load = do(m, 1, ("load", y))
    assert after_load == 200
    assert m.states(m.line_of(y)) == {1: state}
    assert do(m, 1, ("store", y, 5)) - after_load == store_cycles
    assert m.states(m.line_of(y)) == {1: "M"}


@pytest.mark.parametrize(
    "protocol, source, cycles",
    [("MOESI", "other-chip-cache-1hop", 151), ("MESI", "dram-remote", 260)],
)
def test_owned_line_is_supplied_across_chips(protocol, source, cycles):
    """On two chips: core 0 writes, core 1 reads, then core 2 on the other chip reads. Under
    MOESI the owner (O) supplies it from its cache; under MESI nobody owns the clean shared
    line, so it comes from DRAM on chip 0, one hop away."""
    m = machine("duo", protocol=protocol)
    x = m.memory.alloc(64, chip=0, label="x")
    do(m, 0, ("store", x, 1))
    do(m, 1, ("load", x))
    start = m.env.now
    assert do(m, 2, ("load", x)) - start == cycles
    assert m.trace.records[-1].source == source


def test_lru_eviction_goes_to_the_victim_l3():
    """Lines 0, 4 and 8 share L1 set 0 and L2 set 0 (2 ways each): the third load pushes line 0
    out of the core; the chip's L3 keeps it, so loading it again costs 75, not 200."""
    m = machine()
    base = m.memory.alloc(16 * 64, label="array", align=16 * 64)
    lines = [base + 64 * n for n in (0, 4, 8)]
    do(m, 0, *[("load", a) for a in lines])
    first = m.line_of(lines[0])
    assert first not in m.cores[0].state and first in m.l3[0]
    evict = [r for r in m.trace.records if r.kind == "evict"]
    assert [(r.line, r.source, r.state_before) for r in evict] == [(first, "drop", "E")]
    start = m.env.now
    assert do(m, 0, ("load", lines[0])) - start == 75
    assert first not in m.l3[0]  # a victim cache: the line moved back up


def test_dirty_eviction_writes_back():
    m = machine()
    base = m.memory.alloc(16 * 64, label="array", align=16 * 64)
    do(m, 0, *[("store", base + 64 * n, n) for n in (0, 4, 8)])
    assert m.memory.writes == [1]
    assert [r.source for r in m.trace.records if r.kind == "evict"] == ["writeback"]


def test_l2_hit_after_l1_eviction():
    """Lines 0, 2 and 4 share L1 set 0 but lines 0 and 2 sit in different L2 sets: line 0
    leaves L1 only, and loading it again is an L2 hit (14 cycles)."""
    m = machine()
    base = m.memory.alloc(16 * 64, label="array", align=16 * 64)
    do(m, 0, *[("load", base + 64 * n) for n in (0, 2, 4)])
    start = m.env.now
    assert do(m, 0, ("load", base)) - start == 14
    assert m.cores[0].l2_hits == 1


def test_requests_for_a_busy_line_queue_in_the_limit_case():
    """The limit case, a home busy for a request's whole latency (`home_occupancy` above every
    latency): both cores store to x at time 0. Core 0 fetches it from DRAM (200 cycles); core
    1's request must wait for that transfer to end, then takes the line from core 0 (121)."""
    m = machine(home_occupancy=1000)
    x = m.memory.alloc(64, label="x")

    def store(core, value):
        yield from core.store(x, value)

    m.spawn(0, store, 1)
    m.spawn(1, store, 2)
    assert m.run() == 321
    assert summary(m.trace.records) == [
        (0, 200, 0, "store", "dram-local", "I", "M", ()),
        (0, 321, 1, "store", "same-chip-cache", "I", "M", (0,)),
    ]
    assert m.trace.records[1].queued == 200
    stats = m.counters().lines[m.line_of(x)]
    assert (stats.transfers, stats.hitm, stats.invalidations, stats.fills) == (1, 1, 1, 1)
    assert m.memory.values[x] == 2


def test_the_home_is_busy_for_an_occupancy_and_a_new_value_follows_the_old_copy():
    """tiny, `home_occupancy` 10: both cores store to x at time 0. Core 0's request is taken
    first: a miss to DRAM, data at 200; the home is busy with it for 10 cycles only (0-10).
    Core 1's request waits for the home (queued 10), finds core 0 the owner and would take
    the line from its cache at 10 + 121 = 131; but core 0's copy is still on its way (it
    arrives at 200), and core 1's new value must follow it, by the way back from core 0:
    half of 121, rounded up, 61. So core 1 has x at 200 + 61 = 261, not the limit case's 321."""
    m = machine()
    assert m.params.home_occupancy == 10
    x = m.memory.alloc(64, label="x")

    def store(core, value):
        yield from core.store(x, value)

    m.spawn(0, store, 1)
    m.spawn(1, store, 2)
    assert m.run() == 261
    assert summary(m.trace.records) == [
        (0, 200, 0, "store", "dram-local", "I", "M", ()),
        (0, 261, 1, "store", "same-chip-cache", "I", "M", (0,)),
    ]
    assert [r.queued for r in m.trace.records] == [0, 10]
    assert m.memory.values[x] == 2  # core 1's store is the later one


@pytest.mark.parametrize("issued, arrives", [(150, 271), (100, 261)])
def test_a_read_overlapping_a_store_waits_only_as_long_as_it_must(run_programs, issued, arrives):
    """tiny: core 0 stores x at 0 (DRAM, data at 200). Core 1 loads x at 150: the home is long
    free (it was busy 0-10), so the load starts at once and core 0, the owner, supplies it:
    150 + 121 = 271, later than the store's data (200) plus the way back (61, so 261): no
    wait. Had core 1 loaded at 100, it would have got x at 261, not 221 (`test_the_home...`
    shows the same rule for a store)."""
    m = machine()
    x = m.memory.alloc(64, label="x")

    def writer(core):
        yield from core.store(x, 7)

    def reader(core):
        yield from core.compute(issued)
        return (yield from core.load(x))

    assert run_programs(m, {0: writer, 1: reader}) == {0: None, 1: 7}
    load = m.trace.records[-1]
    assert (load.t_start, load.t_end, load.queued, load.kind) == (issued, arrives, 0, "load")


@pytest.mark.parametrize("occupancy, ends", [(10, [1121, 1161, 1171]), (1000, [1121, 1272, 1423])])
def test_reads_of_one_line_overlap_one_occupancy_apart(run_programs, occupancy, ends):
    """duo (2 chips x 2 cores), MOESI: core 0 writes x (held M). At 1,000 cores 1, 2 and 3 load
    it. The home takes them in turn, 10 cycles apart (core 1 at 1,000, core 2 at 1,010, core 3
    at 1,020), and core 0 supplies each (M, then O): core 1 on its chip at 1,000 + 121 =
    1,121; cores 2 and 3 one hop away at 1,010 + 151 = 1,161 and 1,020 + 151 = 1,171. In the
    limit case each waits for the previous transfer to end: 1,121, then 1,121 + 151 = 1,272,
    then 1,272 + 151 = 1,423."""
    m = machine("duo", home_occupancy=occupancy)
    x = m.memory.alloc(64, chip=0, label="x")
    do(m, 0, ("store", x, 5))
    start = m.env.now

    def reader(core):
        yield from core.compute(1000 - start)
        return (yield from core.load(x))

    assert run_programs(m, {c: reader for c in (1, 2, 3)}) == {1: 5, 2: 5, 3: 5}
    loads = m.trace.records[-3:]
    assert [r.core for r in loads] == [1, 2, 3]
    assert [r.t_end for r in loads] == ends
    assert [r.source for r in loads] == ["same-chip-cache"] + ["other-chip-cache-1hop"] * 2
    assert m.states(m.line_of(x)) == {0: "O", 1: "S", 2: "S", 3: "S"}


@pytest.mark.parametrize(
    "protocol, transfers, sources",
    [
        ("MSI", 1, ["dram-local", "dram-local", "upgrade", "same-chip-cache"]),
        ("MESI", 2, ["dram-local", "same-chip-cache", "upgrade", "same-chip-cache"]),
        ("MOESI", 2, ["dram-local", "same-chip-cache", "upgrade", "same-chip-cache"]),
    ],
)
def test_coherence_misses_mean_the_same_under_every_protocol(protocol, transfers, sources):
    """tiny: core 0 reads x, core 1 reads x, core 1 writes x, core 0 reads x again. Only the
    last is a coherence miss: core 0 held x until core 1's write took it. Line transfers
    (data from another core's cache) differ: core 1's read finds core 0's clean copy, which
    MSI's cache does not supply (S; the L3 is a victim cache and holds only evicted lines, so
    the data comes from DRAM), while MESI's and MOESI's do (core 0 holds it E, which
    supplies); the last read is supplied by core 1's M copy under all three."""
    m = machine(protocol=protocol)
    x = m.memory.alloc(64, label="x")
    do(m, 0, ("load", x))
    do(m, 1, ("load", x))
    do(m, 1, ("store", x, 1))
    do(m, 0, ("load", x))
    assert [r.source for r in m.trace.records if r.kind != "evict"] == sources
    counters = m.counters()
    assert counters.total("transfers") == transfers
    assert counters.coherence_misses() == 1
    assert [c.coherence_misses for c in counters.cores] == [1, 0]


def test_streaming_stores_zero_lines_at_the_controllers_rate_and_fetch_nothing(run_programs):
    """tiny: core 1 writes 5 at a (a DRAM miss at 0: it holds the line M from 200). At 1,000
    core 0 zeroes the two lines at a with streaming stores. Line a: the home is free, the
    controller too, so the line goes to it at once and moves in 12 cycles: core 0 is at 1,012.
    It fetches nothing: core 1's M copy is invalidated (reaching it a lookahead later, at
    1,121) and not written back (the whole line is overwritten). Line a + 64: nobody holds
    it, the controller is free at 1,012: done at 1,024. Two DRAM writes, one read (core 1's
    miss). At 2,000 core 1 loads a: its copy was taken by another core's write (a coherence
    miss), no cache or L3 holds it, so DRAM: 200 cycles, and it reads 0."""
    m = machine()
    a = m.memory.alloc(128, label="page")

    def writer(core):
        yield from core.store(a, 5)

    def zeroer(core):
        yield from core.compute(1000)
        yield from core.stream_zero(a, 128)
        return core.local

    assert run_programs(m, {1: writer, 0: zeroer}) == {1: None, 0: 1024}
    streams = [r for r in m.trace.records if r.kind == "stream"]
    assert [(r.t_start, r.t_end, r.core, r.source, r.invalidated) for r in streams] == [
        (1000, 1012, 0, "dram-write", (1,)),
        (1012, 1024, 0, "dram-write", ()),
    ]
    assert m.states(m.line_of(a)) == {} and m.line_of(a) not in m.cores[0].l2
    assert (m.memory.reads[0], m.memory.writes[0]) == (1, 2)

    def reader(core):
        yield from core.compute(2000 - core.local)
        return (yield from core.load(a))

    assert run_programs(m, {1: reader}) == {1: 0}
    assert m.trace.records[-1].source == "dram-local" and m.cores[1].local == 2200
    assert [c.coherence_misses for c in m.counters().cores] == [0, 1]


def test_a_streamed_line_forgets_every_word_it_held_and_only_those():
    """Words put in memory directly (no cache holds them), at any byte of the line: zeroing
    the line makes each read 0; the next line keeps its word."""
    m = machine()
    a = m.memory.alloc(128, label="page")
    m.memory.values.update({a: 1, a + 13: 2, a + 63: 3, a + 64: 4})

    def zeroer(core):
        yield from core.stream_zero(a, 64)

    m.spawn(0, zeroer)
    m.run()
    assert m.memory.values == {a + 64: 4}


def test_clearing_lines_one_after_another_misses_no_word_written_between():
    """The memory remembers which lines hold words (so zeroing an empty line is cheap): a word
    written after a clear, into a line cleared before or into a fresh one, is forgotten by
    the next clear of its line, and a clear leaves every other line's words alone."""
    m = machine()
    a = m.memory.alloc(256, label="page")
    values, line = m.memory.values, m.line_of(a)
    values.update({a: 1, a + 64: 2})
    m.memory.clear_line(line)
    assert values == {a + 64: 2}
    values.update({a + 5: 3, a + 130: 4, a + 64: 5})  # a cleared line, a fresh one, a rewrite
    m.memory.clear_line(line + 2)
    assert values == {a + 64: 5, a + 5: 3}
    m.memory.clear_line(line)
    m.memory.clear_line(line + 3)
    assert values == {a + 64: 5}
    values[a] = 6  # written again after its clear
    m.memory.clear_line(line)
    m.memory.clear_line(line + 1)
    assert values == {}


def test_dram_bandwidth_is_shared_per_chip():
    """Two cores miss to two different lines of chip 0's DRAM at once: the controller moves one
    line per 12 cycles, so the second waits 12."""
    m = machine()
    a, b = m.memory.alloc(64), m.memory.alloc(64)

    def load(core, addr):
        yield from core.load(addr)

    m.spawn(0, load, a)
    m.spawn(1, load, b)
    m.run()
    assert [m.cores[0].local, m.cores[1].local] == [200, 212]


def test_loads_return_the_last_value_stored():
    m = machine()
    x = m.memory.alloc(64)
    seen = []

    def writer(core):
        yield from core.store(x, 7)
        yield from core.store(x + 8, 8)

    def reader(core):
        seen.append((yield from core.load(x)))
        seen.append((yield from core.load(x + 8)))
        seen.append((yield from core.load(x + 16)))

    do(m, 0, ("load", x))
    m.spawn(0, writer)
    m.run()
    m.spawn(1, reader)
    m.run()
    assert seen == [7, 8, 0]


def test_atomics_read_modify_write():
    m = machine()
    x = m.memory.alloc(64)
    out = []

    def program(core):
        out.append((yield from core.fetch_add(x, 5)))
        out.append((yield from core.swap(x, 9)))
        out.append((yield from core.cas(x, 1, 2)))  # fails: x is 9
        out.append((yield from core.cas(x, 9, 3)))  # succeeds
        out.append((yield from core.load(x)))

    m.spawn(0, program)
    m.run()
    assert out == [0, 5, 9, 9, 3]
    # The first atomic misses to DRAM (200) and locks (20); the rest hit in L1 (3 + 20 each).
    assert m.cores[0].local == 200 + 20 + 3 * (3 + 20) + 3


def test_bad_programs_are_refused():
    m = machine()
    with pytest.raises(ValueError, match="core 5 does not exist"):
        m.spawn(5, lambda core: iter(()))

    def program(core):
        yield from core.compute(10)

    m.spawn(0, program)
    with pytest.raises(RuntimeError, match="already running"):
        m.spawn(0, program)


def test_an_upgrade_moves_no_data_and_counts_no_transfer():
    """MOESI: core 0 writes x, core 1 reads it (one transfer, core 0 keeps it Owned), then core
    1 writes: an upgrade from S. Core 0's O copy would supply on a write probe, but core 1
    already has the data, so nothing moves: still one transfer."""
    m = machine(protocol="MOESI")
    x = m.memory.alloc(64, label="x")
    do(m, 0, ("store", x, 1))
    do(m, 1, ("load", x))
    do(m, 1, ("store", x, 2))
    assert m.trace.records[-1].source == "upgrade"
    stats = m.counters().lines[m.line_of(x)]
    assert (stats.transfers, stats.invalidations, stats.fills) == (1, 1, 1)


def test_a_holder_keeps_its_line_until_the_request_reaches_it():
    """Core 0 writes x at 0 (a miss to DRAM: it holds x M from 200). Core 1 loads x at 1,000;
    the request takes 121 cycles to reach core 0, and until then core 0 still holds x M: its
    stores of 2 at 1,050 and 3 at 1,100 are L1 hits (3 cycles), and the copy core 1 receives
    at 1,121 holds the 3. Core 0's store of 4 at 1,130 comes after the request arrived: its
    copy is O now, so it must invalidate core 1's (an upgrade, 1,130 to 1,251). The trace
    shows exactly three transactions."""
    m = machine()
    x = m.memory.alloc(64, label="x")
    got = {}

    def writer(core):
        yield from core.store(x, 1)
        for at, value in ((1050, 2), (1100, 3), (1130, 4)):
            yield from core.compute(at - core.local)
            yield from core.store(x, value)
        got["writer"] = core.local

    def reader(core):
        yield from core.compute(1000)
        got["read"] = yield from core.load(x)
        got["reader"] = core.local

    m.spawn(0, writer)
    m.spawn(1, reader)
    m.run()
    assert got == {"read": 3, "reader": 1121, "writer": 1251}
    assert m.cores[0].l1_hits == 2
    assert summary(m.trace.records) == [
        (0, 200, 0, "store", "dram-local", "I", "M", ()),
        (1000, 1121, 1, "load", "same-chip-cache", "I", "S", ()),
        (1130, 1251, 0, "store", "upgrade", "O", "M", (1,)),
    ]
    assert m.memory.values[x] == 4


@pytest.mark.parametrize("reader", [1, 2])
def test_an_upgrade_waits_for_the_broadcast_not_for_the_farthest_sharer(reader):
    """duo, MOESI: core 0 writes x (M), one other core reads it (core 0 keeps it O, the reader
    S), then core 0 writes again: an upgrade that invalidates the reader's copy. Family 10h
    broadcasts every probe to every chip and waits for all their answers, so the upgrade
    costs that round trip, the 121 cycles of a transfer on the chip, wherever the one copy it
    invalidates sits: the same for core 1 (same chip) and core 2 (one hop away). Data from
    that far copy would cost more (151: the data's own way back), but an upgrade moves none."""
    m = machine("duo")
    x = m.memory.alloc(64, chip=0, label="x")
    do(m, 0, ("store", x, 1))
    do(m, reader, ("load", x))
    start = m.env.now
    do(m, 0, ("store", x, 2))
    upgrade = m.trace.records[-1]
    assert (upgrade.source, upgrade.invalidated) == ("upgrade", (reader,))
    assert upgrade.t_end - upgrade.t_start == 121
    assert upgrade.t_start >= start


def _load_lines(m, lines):
    """Core 0 loads the first word of each line in turn; the end of each load."""
    ends = []

    def program(core):
        for line in lines:
            yield from core.load(line * 64)
            ends.append(core.local)

    m.spawn(0, program)
    m.run()
    return ends


def test_the_prefetcher_covers_a_run_of_lines_from_its_fourth():
    """AMD's rule: after misses on lines l and l + 1 the prefetcher fetches l + 3 and keeps
    ahead. Lines 0, 1, 2 each wait for DRAM (200 cycles); 3 was fetched ahead and costs an L1
    hit (3); so was 4, but its fetch still took its turn at the controller, busy 12 cycles a
    line (`dram_cycles_per_line`) since 600: it waits until 612, then 3. Without a prefetcher
    each of the five costs 200."""
    m = machine()
    assert _load_lines(m, range(5)) == [200, 400, 600, 603, 615]
    assert m.counters().cores[0].prefetched == 2
    assert all(r.source == "dram-local" for r in m.trace.records)  # still DRAM misses
    assert _load_lines(machine(prefetch_streams=0), range(5)) == [200, 400, 600, 800, 1000]


def test_the_prefetcher_stops_at_a_page_end():
    """A tiny page is 64 lines: lines 61, 62, 63 start a run, but it ends with the page, so
    64..67 start again: only 67, the new page's fourth, is covered."""
    ends = _load_lines(machine(), range(61, 68))
    assert ends == [200, 400, 600, 800, 1000, 1200, 1203]


ONE_STREAM = [200 * i for i in range(1, 9)]
TWO_STREAMS = [200, 400, 600, 800, 1000, 1200, 1203, 1215]


@pytest.mark.parametrize("streams, ends", [(1, ONE_STREAM), (2, TWO_STREAMS)])
def test_the_prefetcher_follows_as_many_runs_as_it_has_streams(streams, ends):
    """Two runs interleaved (lines 0, 8, 1, 9, ...): one stream loses each run to the other;
    two streams follow both, and each run's fourth line is covered (the second one waits for
    the controller as above)."""
    lines = [0, 8, 1, 9, 2, 10, 3, 11]
    assert _load_lines(machine(prefetch_streams=streams), lines) == ends
