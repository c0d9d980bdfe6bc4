"""Random testers for the coherence invariants and the order of accesses.

Several cores run thousands of random loads, stores, fetch_adds, swaps and compare-and-swaps,
with random compute gaps, on a handful of lines: two words share a line, several lines fall
in one cache set (so lines are evicted to the L3, and on the `small` machine the L3 overflows
too), and on two-chip machines some lines live in the other chip's DRAM. After every access
the program checks the machine's structure (`check_invariants`); at the end the access log is
replayed in simulated time order (`replay`), which checks that every load returned the last
value stored before it in simulated time, and that every atomic read-modify-write was
indivisible.

Why a replay by perform time is the right check: cores run ahead of the machine's clock on
their own hits (see `coreylab/hardware/core.py`), so the order in which Python executes the
accesses is not the order of simulated time. The machine promises that for each address the
value seen follows the order of the accesses' perform times; sorting the log by perform time
(ties broken by execution order) and replaying it on a plain dict must then reproduce every
value read, and each core's perform times must follow its program order.

With a store buffer (`store_buffer` above 0, x86-TSO) one order is relaxed, as TSO relaxes it: a
load may perform before an earlier store of its core. So the loads and atomics of a core keep
its program order, and so do its stores and atomics; a load the buffer answered (logged as
"forwarded") must return the core's own latest store to that word, and is not in the replay.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coreylab.hardware import Machine, State

M, O, E, F, S, I = State.M, State.O, State.E, State.F, State.S, State.I  # noqa: E741
PROTOCOLS = ["MSI", "MESI", "MOESI", "MESIF"]
# How the access log names each operation.
LOG_KIND = dict(load="load", store="store", fetch_add="atomic", swap="atomic", cas="atomic")


# -- invariants, checked after every access ------------------------------------------------------
def check_invariants(m: Machine, seen: set[State] | None = None) -> None:
    """The machine's structure is coherent right now (see the docstring of `machine.py`):
    single writer (a line held M or E by one core is held by no other core), at most one dirty
    copy (M or O), at most one copy that supplies data (M, O, E or F), the directory
    (`m.holders`, `m.owner`: the core holding it M, O or E) agrees with the cores' state maps,
    no L3 holds a line some core holds M or E, and each core's L1 is inside its L2 which is
    exactly its state map and its leaving copies (`Core.grace`). `seen` collects the states
    met, for coverage checks."""
    allowed = set(m.protocol.states) - {I}
    by_line: dict[int, dict[int, State]] = defaultdict(dict)
    for core in m.cores:
        l1, l2 = set(core.l1.lines()), set(core.l2.lines())
        assert l1 <= l2, f"core {core.id}: L1 lines {sorted(l1 - l2)} are not in its L2"
        assert l2 == core.state.keys() | core.grace.keys(), (
            f"core {core.id}: L2 holds {sorted(l2)} but the state map {sorted(core.state)} "
            f"and leaving copies {sorted(core.grace)}"
        )
        for cache in (core.l1, core.l2):
            check_sets(cache)
        for line, state in core.state.items():
            assert state in allowed, f"core {core.id} holds line {line} in {state.name}"
            by_line[line][core.id] = state
    if seen is not None:
        seen.update(s for states in by_line.values() for s in states.values())
    assert m.holders.keys() == by_line.keys(), (
        f"directory lists lines {sorted(m.holders)}, caches hold {sorted(by_line)}"
    )
    for line, states in by_line.items():
        letters = {c: s.name for c, s in sorted(states.items())}
        holders = m.holders[line]
        assert holders.keys() == states.keys(), f"line {line}: holders {sorted(holders)} {letters}"
        assert all(holders[c] is m.cores[c] for c in holders), f"line {line}: wrong Core objects"
        writable = [c for c, s in states.items() if s in (M, E)]
        if writable:
            assert len(states) == 1, f"line {line} writable in one core, held by others: {letters}"
            assert not any(line in l3 for l3 in m.l3), f"line {line} {letters} is also in an L3"
        dirty = [c for c, s in states.items() if s in (M, O)]
        assert len(dirty) <= 1, f"line {line} dirty in two cores: {letters}"
        suppliers = [c for c, s in states.items() if s in (M, O, E, F)]
        assert len(suppliers) <= 1, f"line {line} has two copies that supply: {letters}"
        owners = [c for c, s in states.items() if s in (M, O, E)]
        assert len(owners) <= 1, f"line {line} has two owners: {letters}"
        if owners:
            assert m.owner.get(line) is m.cores[owners[0]], (
                f"line {line} {letters}: owner is {m.owner.get(line)}"
            )
        else:
            assert line not in m.owner, f"line {line} {letters}: owner {m.owner[line]}"
    stray = set(m.owner) - by_line.keys()
    assert not stray, f"owners recorded for lines nobody holds: {sorted(stray)}"
    for l3 in m.l3:
        check_sets(l3)
    in_l3 = {
        line: {c for c, l3 in enumerate(m.l3) if line in l3} for l3 in m.l3 for line in l3.lines()
    }
    assert m.in_l3 == in_l3, f"the L3 index {m.in_l3} does not match the L3s {in_l3}"


def check_sets(cache) -> None:
    """No set holds more than `assoc` lines, or a line twice, or a line of another set."""
    for index, s in enumerate(cache.sets):
        assert len(s) <= cache.assoc and len(set(s)) == len(s), f"{cache} set {index}: {s}"
        assert all(line & cache.mask == index for line in s), f"{cache} set {index}: {s}"


# -- the access log, replayed in simulated time -------------------------------------------------
def replay(
    log: list[tuple], atomics: dict[int, tuple[int, int]], tso: bool = False
) -> dict[int, int]:
    """Replay `log` sorted by (perform time, execution index) on a dict and return the final
    memory. Every load must read the value the replay holds; every atomic (by log index, its
    old value and the value it wrote) must have read the replay's value. Each core's perform
    times must not go back in program order (sequentially consistent); under `tso`, only
    among its loads and atomics, and among its stores and atomics."""
    check_program_order(log, tso)
    memory: dict[int, int] = {}
    for i in sorted(range(len(log)), key=lambda i: (log[i][0], i)):
        t, core, kind, addr, value = log[i]
        if kind == "forwarded":  # checked against the core's own store when it was read
            continue
        current = memory.get(addr, 0)
        if kind == "load":
            assert value == current, (
                f"access {i}: core {core} loaded {value} from {addr:#x} at t={t}, "
                f"but the last value stored before then is {current}"
            )
            continue
        if kind == "atomic":
            old, _new = atomics[i]
            assert old == current, (
                f"access {i}: core {core}'s atomic on {addr:#x} at t={t} read {old}, not {current}"
            )
        memory[addr] = value
    return memory


def check_program_order(log: list[tuple], tso: bool) -> None:
    """Each core's perform times follow its program order: all of them (SC), or under TSO
    its loads with its atomics and its stores with its atomics (a store is logged when it
    lands, so the log has each core's stores in program order)."""
    orders = {"load": ("reads",), "store": ("writes",), "atomic": ("reads", "writes")}
    last: dict[tuple[int, str], int] = {}
    for i, (t, core, kind, *_rest) in enumerate(log):
        if kind == "forwarded":
            continue
        for order in orders[kind] if tso else ("all",):
            assert t >= last.get((core, order), 0), f"core {core}: access {i} performed too early"
            last[core, order] = t


# -- programs -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Op:
    kind: str  # load, store, fetch_add, swap, cas
    slot: int  # index into the test's addresses
    arg: int  # value stored or swapped, delta added, or the new value of a cas
    gap: int  # compute cycles before the access


def addresses(m: Machine) -> list[int]:
    """A handful of words: two on one line, lines 0, 4 and 8 of a region (one L1, L2 and L3 set
    on every test machine), lines 1 and 2 in other sets, and on two chips lines homed on chip
    1 (again in set 0)."""
    ls = m.params.line_size
    base = m.memory.alloc(16 * ls, chip=0, label="region0", align=16 * ls)
    addrs = [base, base + 8, base + 4 * ls, base + 8 * ls + 16, base + ls, base + 2 * ls + 8]
    if m.params.chips > 1:
        far = m.memory.alloc(16 * ls, chip=1, label="region1", align=16 * ls)
        addrs += [far, far + 4 * ls + 24]
    return addrs


class Checker:
    """Runs each core's list of `Op`s, checking the invariants after every access and noting
    what each atomic read, for the final replay. A `lock` op takes a spinlock (a word on the
    line of the first two slots: the lock shares its line with hot data), stores its value and
    releases the lock: that exercises `spin_until`, which sleeps and wakes."""

    def __init__(self, m: Machine) -> None:
        self.m = m
        self.addrs = addresses(m)
        self.lock = self.addrs[0] + 32
        self.lock_holder: int | None = None
        self.atomics: dict[int, tuple[int, int]] = {}
        self.seen: set[State] = set()
        self.done = 0
        self.tso = m.params.store_buffer > 0
        self.stored: dict[tuple[int, int], int] = {}  # (core, address) -> its latest store

    def program(self, core, ops: list[Op]):
        last_seen: dict[int, int] = {}  # what this core last read at each address, for cas
        for op in ops:
            addr = self.addrs[op.slot]
            if op.gap:
                yield from core.compute(op.gap)
            if op.kind == "lock":
                yield from self.locked_store(core, addr, op.arg)
            else:
                expected = last_seen.get(addr, 0)
                last_seen[addr] = yield from self.access(core, op.kind, addr, op.arg, expected)
            self.done += 1

    def locked_store(self, core, addr: int, value: int):
        while (yield from self.access(core, "cas", self.lock, core.id + 1, 0)) != 0:
            yield from core.spin_until(self.lock, lambda v: v == 0)
            check_invariants(self.m, self.seen)
        assert self.lock_holder is None, f"core {core.id} took the lock {self.lock_holder} holds"
        self.lock_holder = core.id
        yield from self.access(core, "store", addr, value, 0)
        yield from core.compute(300)  # long enough that others come to wait
        yield from self.access(core, "store", self.lock, 0, 0)
        self.lock_holder = None

    def access(self, core, kind: str, addr: int, arg: int, expected: int):
        """One access, checked: the log's last entry is this access with the value the
        operation returned or wrote; then the machine's invariants."""
        if kind == "load":
            result = yield from core.load(addr)
        elif kind == "store":
            result = yield from core.store(addr, arg)
        elif kind == "fetch_add":
            result = yield from core.fetch_add(addr, arg)
        elif kind == "swap":
            result = yield from core.swap(addr, arg)
        else:
            result = yield from core.cas(addr, expected, arg)
        if kind == "store":
            self.stored[core.id, addr] = arg
        if kind == "store" and self.tso:  # logged when it lands: checked by the replay
            check_invariants(self.m, self.seen)
            return result
        log = self.m.access_log
        index = len(log) - 1
        _t, who, logged, where, value = log[index]
        if logged == "forwarded":  # the core's own store, from its store buffer
            assert self.tso and kind == "load", f"log {log[index]}"
            assert result == value == self.stored[core.id, addr], f"forwarded {value}"
            logged = "load"
        assert (who, logged, where) == (core.id, LOG_KIND[kind], addr), f"log {log[index]}"
        if kind == "load":
            assert result == value, f"core {core.id} loaded {result}, the log says {value}"
        elif kind == "store":
            assert value == arg
        else:
            if kind == "fetch_add":
                written = result + arg
            elif kind == "swap":
                written = arg
            else:
                written = arg if result == expected else result
            assert value == written, f"{kind} {arg} read {result} and wrote {value}"
            self.atomics[index] = (result, value)
        check_invariants(self.m, self.seen)
        return result

    def run(self, programs: dict[int, list[Op]]) -> None:
        for core_id, ops in programs.items():
            self.m.spawn(core_id, self.program, ops)
        self.m.run()
        assert self.done == sum(len(ops) for ops in programs.values()), "a program stalled"
        final = replay(self.m.access_log, self.atomics, self.tso)
        values = self.m.memory.values
        assert final == {a: values[a] for a in final}, "memory differs from the replay"
        check_one_transfer_at_a_time(self.m.trace.records)


def check_one_transfer_at_a_time(records) -> None:
    """The home serves a line's requests one at a time, and overlapping transfers keep their
    order (see `machine.py`): taken in the order they were issued, the transactions on a line
    start (after queueing) no earlier than the previous one did; an exclusive request's data
    (the new value) arrives after every earlier request's, and a read's after the last
    exclusive request's."""
    starts: dict[int, int] = {}
    arrived: dict[int, int] = {}
    written: dict[int, int] = {}
    for r in records:
        if r.kind in ("evict", "spin"):
            continue
        start = r.t_start + r.queued
        assert start >= starts.get(r.line, 0), f"{r} starts before the one issued before it"
        starts[r.line] = start
        if r.kind == "dma" or r.state_after in ("M", "E"):
            assert r.t_end > arrived.get(r.line, -1), f"{r}: new value before an older copy"
            written[r.line] = r.t_end
        else:
            assert r.t_end > written.get(r.line, -1), f"{r}: a copy before the value it copies"
        arrived[r.line] = max(arrived.get(r.line, 0), r.t_end)


def random_ops(rng: random.Random, n: int, slots: int, core_id: int) -> list[Op]:
    """`n` random accesses: loads most, then stores, fetch_adds, swaps, cas, a few under a
    spinlock; two in three
    preceded by a compute gap, some just under, at or over the lookahead (121). Stored values
    are unique, so a stale read cannot pass by luck."""
    kinds = ["load"] * 8 + ["store"] * 5 + ["fetch_add"] * 3 + ["swap"] * 2 + ["cas"] * 2
    kinds.append("lock")
    ops = []
    for i in range(n):
        kind = rng.choice(kinds)
        arg = rng.randint(1, 9) if kind == "fetch_add" else (core_id + 1) * 1_000_000 + i
        gap = rng.choice((0, 0, 0, 1, 5, 40, 120, 121, 300))
        ops.append(Op(kind, rng.randrange(slots), arg, gap))
    return ops


MACHINES = [("tiny", 2), ("duo", 4), ("small", 8)]


@pytest.mark.parametrize("store_buffer", [0, 1, 4])
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("preset,cores", MACHINES)
@pytest.mark.parametrize("seed", range(4))
def test_random_accesses_keep_coherence_and_order(
    make_machine, preset, cores, protocol, seed, store_buffer
):
    """About 2,400 random accesses from every core of a small machine: after each, single
    writer / multiple readers, one dirty copy, a directory that matches the caches, no L3 copy
    of a writable line, and inclusion hold; in the end every load returned the last value
    stored before it in simulated time (under TSO: or its core's own buffered store). The run
    must also have met what it claims to test: evictions, L3 hits, cache-to-cache transfers,
    and each protocol's own states; with a store buffer, forwarded loads."""
    rng = random.Random(f"{preset}-{protocol}-{seed}")
    m = make_machine(preset, protocol=protocol, store_buffer=store_buffer)
    checker = Checker(m)
    n_cores = cores if preset != "small" else rng.randint(2, cores)
    active = sorted(rng.sample(range(cores), n_cores))
    per_core = 2400 // n_cores
    checker.run({c: random_ops(rng, per_core, len(checker.addrs), c) for c in active})

    records = m.trace.records
    sources = {r.source for r in records}
    assert any(r.kind == "evict" for r in records), "no line was ever evicted"
    assert any(r.kind == "spin" for r in records), "no core ever waited for the lock"
    assert "l3" in sources and "upgrade" in sources, sources
    assert m.counters().total("transfers") > 0
    expected = {"MSI": {M, S}, "MESI": {M, E, S}, "MOESI": {M, O, E, S}, "MESIF": {M, E, F, S}}
    expected = expected[protocol]
    assert checker.seen == expected, f"states met: {sorted(s.name for s in checker.seen)}"
    if store_buffer:
        assert any(kind == "forwarded" for _t, _c, kind, *_ in m.access_log), "none forwarded"
    if protocol == "MESIF":  # the clean F copy supplied a reader and handed F on
        assert any((c, "F", "S") in r.probed for r in records for c in range(cores))


@pytest.mark.parametrize("protocol", ["MSI", "MOESI", "MESIF"])
@pytest.mark.parametrize("preset", ["duo", "small"])
def test_concurrent_fetch_adds_match_an_independent_sum(make_machine, preset, protocol):
    """Only fetch_adds, of random positive deltas, from every core on a few words, with random
    gaps. Checked without the access log: each word ends at the sum of the deltas added to it,
    and the old values the cores got back, sorted, form one chain (each is the previous old
    value plus the previous delta): no increment was lost or seen twice."""
    rng = random.Random(f"adds-{preset}-{protocol}")
    m = make_machine(preset, protocol=protocol, log=False)
    addrs = addresses(m)
    returned: dict[int, list[tuple[int, int]]] = defaultdict(list)

    def program(core, ops):
        for slot, delta, gap in ops:
            yield from core.compute(gap)
            old = yield from core.fetch_add(addrs[slot], delta)
            returned[addrs[slot]].append((old, delta))

    for c in range(m.params.cores):
        ops = [
            (rng.randrange(len(addrs)), rng.randint(1, 5), rng.choice((0, 3, 130)))
            for _ in range(300)
        ]
        m.spawn(c, program, ops)
    m.run()
    for addr, pairs in returned.items():
        pairs.sort()
        expected_old = 0
        for old, delta in pairs:
            assert old == expected_old, f"{addr:#x}: a fetch_add read {old}, not {expected_old}"
            expected_old += delta
        assert m.memory.values[addr] == expected_old == sum(d for _, d in pairs)


# -- hypothesis: small generated programs -------------------------------------------------------
ops_strategy = st.builds(
    Op,
    kind=st.sampled_from(["load", "load", "store", "fetch_add", "swap", "cas", "lock"]),
    slot=st.sampled_from([0, 0, 0, 1, 2, 3, 4, 5, 6, 7]),  # mostly one word: contention
    arg=st.integers(0, 3),
    gap=st.sampled_from([0, 0, 0, 1, 3, 75, 120, 121, 122, 250]),
)
# An op repeated a few times in a row: runs of hits, where a core runs ahead of the clock.
bursts = st.tuples(ops_strategy, st.sampled_from([1, 1, 1, 4, 16]))


@st.composite
def machines_and_programs(draw):
    preset, cores = draw(st.sampled_from(MACHINES))
    protocol = draw(st.sampled_from(PROTOCOLS))
    store_buffer = draw(st.sampled_from([0, 1, 4]))
    programs = draw(
        st.dictionaries(
            st.integers(0, cores - 1),
            st.lists(bursts, min_size=1, max_size=20),
            min_size=2,
            max_size=4,
        )
    )
    return preset, protocol, store_buffer, programs


@settings(max_examples=100, deadline=None)
@given(machines_and_programs())
def test_generated_programs_keep_coherence_and_order(make_machine, case):
    """Hypothesis writes short programs for up to four cores (few values, so cas often
    succeeds; gaps around the 121-cycle lookahead, where a core's run-ahead ends) and shrinks
    any failure to a minimal one. The same checks as the random tester: the invariants after
    every access, and the replay of the access log in simulated time; with and without a
    store buffer."""
    preset, protocol, store_buffer, programs = case
    m = make_machine(preset, protocol=protocol, store_buffer=store_buffer)
    checker = Checker(m)
    slots = len(checker.addrs)
    checker.run(
        {
            c: [Op(o.kind, o.slot % slots, o.arg, o.gap) for o, n in ops for _ in range(n)]
            for c, ops in programs.items()
        }
    )
