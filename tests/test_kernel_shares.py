"""Corey's kernel objects and shares: per-core ids, objects on their own pages, the share map
under an MCS reader-writer lock, access control by (share id, object id), and the line traffic
of one global share against per-core shares, worked out by hand."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from coreylab.hardware import HardwareParams, Machine
from coreylab.kernel import CoreyKernel, Errno, KernelError
from coreylab.kernel.shares import ID_CORE_SHIFT, PCORE_SHARES, SHARE_SLOTS
from coreylab.workloads import Loop, dup_close, measure, run_call


def corey(preset: str = "amd16", pcores=(0, 1)):
    m = Machine(HardwareParams.preset(preset))
    k = CoreyKernel(m)
    return m, k, [k.create_pcore(c) for c in pcores]


def kernel_state(k: CoreyKernel) -> dict:
    """What every share, object header and pcore share map holds, and who holds what."""
    values = k.machine.memory.values
    return {
        "entries": {
            sid: k.share_entries(sid) for sid, o in k.kobjects.items() if o.kind == "share"
        },
        "sizes": {
            sid: values.get(o.s["size"], 0) for sid, o in k.kobjects.items() if o.kind == "share"
        },
        "refcnt": {oid: values.get(o.s["refcnt"], 0) for oid, o in k.kobjects.items()},
        "maps": {t.id: sorted(t.shares) for t in k.tasks},
        "map_words": {
            tid: [values.get(s["slot", i], 0) for i in range(2 * PCORE_SHARES)]
            for tid, s in k.shares._share_maps.items()
        },
        "objects": sorted(k.kobjects),
    }


# -- objects and ids ------------------------------------------------------------------------------
def test_ids_come_from_per_core_counters_with_the_core_in_the_top_bits():
    """Two cores allocating objects never touch a common line: each counts on its own."""
    m, k, (a, b) = corey(pcores=(0, 13))
    ids_a = [run_call(a, k.kobject_alloc) for _ in range(3)]
    ids_b = [run_call(b, k.kobject_alloc) for _ in range(2)]
    assert ids_a == [3, 4, 5]  # 1 is pcore a's own share, 2 its root address range
    assert ids_b == [13 << ID_CORE_SHIFT | n for n in (3, 4)]
    assert m.counters().total("transfers") == 0


def test_an_object_fills_a_page_on_the_chip_the_caller_names():
    """Objects are page-sized and placed where asked; a share's lock, size and slots are on
    separate lines."""
    m, k, (a, _) = corey()
    oid = run_call(a, k.kobject_alloc, None, "segment", 3)
    obj = k.kobjects[oid]
    assert m.memory.home_chip(obj.addr) == 3 and obj.s.size == m.params.page_size
    assert m.memory.label_of(m.line_of(obj.s["refcnt"])) == f"segment[{oid:#x}].hdr"
    share = k.kobjects[run_call(a, k.share_alloc, 2)]
    assert m.memory.home_chip(share.addr) == 2 and share.s.size == m.params.page_size
    lines = {g: share.s.lines[g] for g in ("lock", "map", "slots")}
    assert len(lines["slots"]) == SHARE_SLOTS // 2 and len(set(map(tuple, lines.values()))) == 3


# -- semantics ------------------------------------------------------------------------------------
def test_add_counts_references_and_remove_erases_at_zero():
    """Corey's addref/unref: an entry counts its adds; the object's refcnt counts the shares
    holding it."""
    m, k, (a, _) = corey()
    s = run_call(a, k.share_alloc)
    obj = run_call(a, k.kobject_alloc)
    refcnt = k.kobjects[obj].s["refcnt"]
    run_call(a, k.share_addobj, s, obj)
    run_call(a, k.share_addobj, s, obj)
    assert k.share_entries(s) == {obj: 2} and m.memory.values[refcnt] == 2
    run_call(a, k.share_delobj, s, obj)
    assert run_call(a, k.share_lookup, s, obj) is k.kobjects[obj]
    run_call(a, k.share_delobj, s, obj)
    assert k.share_entries(s) == {} and m.memory.values[refcnt] == 1
    with pytest.raises(KernelError) as e:
        run_call(a, k.share_lookup, s, obj)
    assert e.value.errno == Errno.ENOENT


def test_a_pcore_reaches_only_objects_in_shares_it_holds():
    """Access control: a share must be held (granted) to name anything through it; dropping it
    ends that."""
    m, k, (a, b) = corey()
    private = run_call(a, k.kobject_alloc)
    s = run_call(a, k.share_alloc)
    run_call(a, k.share_addobj, s, private)
    with pytest.raises(KernelError) as e:  # b holds neither share
        run_call(b, k.share_lookup, k.root_share(a), private)
    assert e.value.errno == Errno.EACCES
    run_call(a, k.share_grant, b, s)
    assert run_call(b, k.share_lookup, s, private) is k.kobjects[private]
    with pytest.raises(KernelError) as e:  # naming it through b's own share finds nothing
        run_call(b, k.share_lookup, k.root_share(b), private)
    assert e.value.errno == Errno.ENOENT
    run_call(b, k.share_drop, s)
    with pytest.raises(KernelError) as e:
        run_call(b, k.share_lookup, s, private)
    assert e.value.errno == Errno.EACCES


@pytest.mark.parametrize(
    "call, args, errno",
    [
        ("share_lookup", (999, 2), Errno.ENOENT),  # no such share
        ("share_lookup", ("S", 2), Errno.ENOENT),
        ("share_addobj", (1, 12345), Errno.ENOENT),  # no such object in a's share
        ("share_delobj", (1, 12345), Errno.ENOENT),
        ("share_addobj", (1, 1), Errno.ENOENT),  # a share is in no share's map
        ("kobject_alloc", (None, "share"), Errno.EINVAL),
        ("kobject_alloc", (None, "segment", 9), Errno.EINVAL),  # no chip 9
        ("share_alloc", (-1,), Errno.EINVAL),
    ],
)
def test_bad_input_raises_and_changes_nothing(call, args, errno):
    """Each bad call raises its errno and leaves every share, header and share map as it was,
    the lock free."""
    m, k, (a, b) = corey()
    shared = run_call(a, k.share_alloc)
    run_call(a, k.share_addobj, shared, run_call(a, k.kobject_alloc))
    before = kernel_state(k)
    with pytest.raises(KernelError) as e:
        run_call(a, getattr(k, call), *args)
    assert e.value.errno == errno and errno.name in str(e.value)
    assert kernel_state(k) == before
    lock = k.kobjects[1].lock
    words = (lock.queue.tail, lock.readers, lock.writer)
    assert [m.memory.values.get(w, 0) for w in words] == [0, 0, 0]


def test_a_full_share_and_a_full_share_map_are_enomem():
    """A share has 32 slots and a pcore 16 share-map slots: beyond them, ENOMEM and nothing
    changes."""
    m, k, (a, b) = corey("duo")
    s = run_call(a, k.share_alloc)
    for _ in range(SHARE_SLOTS):
        run_call(a, k.kobject_alloc, s)
    extra = run_call(a, k.kobject_alloc)
    before = kernel_state(k)
    for call, args in (("kobject_alloc", (s,)), ("share_addobj", (s, extra))):
        with pytest.raises(KernelError) as e:
            run_call(a, getattr(k, call), *args)
        assert e.value.errno == Errno.ENOMEM and kernel_state(k) == before
    for _ in range(PCORE_SHARES - 1):
        run_call(b, k.share_alloc)
    before = kernel_state(k)
    for call, args in (("share_grant", (b, s)), ("share_alloc", ())):
        with pytest.raises(KernelError) as e:
            run_call(a if call == "share_grant" else b, getattr(k, call), *args)
        assert e.value.errno == Errno.ENOMEM and kernel_state(k) == before


# -- line traffic, by hand ------------------------------------------------------------------------
def add_remove_once(k, task, obj, share):
    run_call(task, lambda t: dup_close(k, t, obj, share))


def test_taking_turns_on_a_global_share_moves_its_lock_and_size_lines():
    """Pcores A and B (same chip) take turns adding their own object to one share and removing
    it. When A starts, B has just used the share, so A's add+remove needs exactly:
      1. the MCS swap on the lock line (tail, readers, writer): from B's cache, Modified;
      2. the load of the map's size: from B's cache, Shared;
      3. the store of size+1: an upgrade, invalidating B.
    The two objects hash to slots on different lines, so the slots do not move; A's own qnode,
    share map, object header and private share never leave A's cache."""
    m, k, (a, b) = corey()
    g = run_call(a, k.share_alloc)
    run_call(a, k.share_grant, b, g)
    oa, ob = run_call(a, k.kobject_alloc), run_call(b, k.kobject_alloc)
    for _ in range(3):
        add_remove_once(k, a, oa, g)
        add_remove_once(k, b, ob, g)
    m.trace.records.clear()
    add_remove_once(k, a, oa, g)
    seen = [(r.label, r.kind, r.source, r.state_before, r.state_after) for r in m.trace]
    assert seen == [
        ("share[0x3].lock", "atomic", "same-chip-cache", "I", "M"),
        ("share[0x3].map", "load", "same-chip-cache", "I", "S"),
        ("share[0x3].map", "store", "upgrade", "S", "M"),
    ]


def test_per_core_shares_move_nothing_even_at_once():
    """Each of four pcores on two chips adds and removes its object in its own share: after
    warm-up every access hits its own cache, and every core runs as fast as one alone."""
    m, k, pcores = corey(pcores=(0, 1, 4, 5))
    loops = []
    for pc in pcores:
        s = run_call(pc, k.share_alloc)
        loops.append(Loop(pc, dup_close, (run_call(pc, k.kobject_alloc), s)))
    result = measure(k, loops, warmup=2, ops=10, seed=0)
    assert result.after.misses() == result.before.misses()
    assert len(set(result.per_core)) == 1


def test_a_global_share_at_once_is_consistent_and_contended():
    """Four pcores hammering one share: it ends empty and consistent, and its MCS queue saw
    waiters."""
    m, k, pcores = corey(pcores=(0, 1, 4, 5))
    g = run_call(pcores[0], k.share_alloc)
    for pc in pcores[1:]:
        run_call(pcores[0], k.share_grant, pc, g)
    objs = [run_call(pc, k.kobject_alloc) for pc in pcores]
    loops = [Loop(pc, dup_close, (o, g)) for pc, o in zip(pcores, objs, strict=True)]
    result = measure(k, loops, warmup=2, ops=10, seed=3)
    assert k.share_entries(g) == {} and m.memory.values[k.kobjects[g].s["size"]] == 0
    assert result.transfers_per_op() >= 2
    assert k.kobjects[g].lock.queue.stats.contentions > 0


# -- a reference model of share membership --------------------------------------------------------
class Shares(RuleBasedStateMachine):
    """Random share calls from three pcores on two chips, against plain sets and dicts: who holds
    which share, what each share maps, with the errors the model predicts, and errors change
    nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.m, self.k, self.pcores = corey("duo", pcores=(0, 1, 2))
        self.held = {p.id: {self.k.root_share(p)} for p in self.pcores}
        self.contents = {self.k.root_share(p): {} for p in self.pcores}  # share -> {obj: count}
        self.objects: list[int] = []

    def call(self, who, name, *args):
        before = kernel_state(self.k)
        try:
            return run_call(self.pcores[who], getattr(self.k, name), *args), None
        except KernelError as e:
            assert kernel_state(self.k) == before, "a failed call changed a share"
            return None, e.errno

    def share_error(self, who, sid):
        if sid in self.held[who]:
            return None
        return Errno.EACCES if sid in self.contents else Errno.ENOENT

    def full(self, sid) -> bool:
        return len(self.contents[sid]) >= SHARE_SLOTS

    def pick(self, data, pool):
        return data.draw(st.sampled_from(sorted(pool) + [999, -1]))

    @rule(who=st.integers(0, 2), data=st.data())
    def alloc_object(self, who, data):
        sid = self.pick(data, self.contents)
        oid, err = self.call(who, "kobject_alloc", sid)
        expected = self.share_error(who, sid)
        if expected is None and self.full(sid):
            expected = Errno.ENOMEM
        assert err == expected
        if err is None:
            assert oid >> ID_CORE_SHIFT == self.pcores[who].core_id
            self.contents[sid][oid] = 1
            self.objects.append(oid)

    @rule(who=st.integers(0, 2))
    def alloc_share(self, who):
        sid, err = self.call(who, "share_alloc")
        if len(self.held[who]) >= PCORE_SHARES:
            assert err == Errno.ENOMEM
        else:
            assert err is None
            self.held[who].add(sid)
            self.contents[sid] = {}

    @rule(who=st.integers(0, 2), data=st.data())
    def add(self, who, data):
        dst, src = self.pick(data, self.contents), self.pick(data, self.contents)
        oid = self.pick(data, set(self.objects) | set(self.contents))
        _, err = self.call(who, "share_addobj", dst, oid, src)
        expected = self.share_error(who, dst) or self.share_error(who, src)
        if expected is None and oid not in self.contents[src]:
            expected = Errno.ENOENT
        elif expected is None and oid not in self.contents[dst] and self.full(dst):
            expected = Errno.ENOMEM
        assert err == expected
        if err is None:
            self.contents[dst][oid] = self.contents[dst].get(oid, 0) + 1

    @rule(who=st.integers(0, 2), data=st.data())
    def remove(self, who, data):
        sid = self.pick(data, self.contents)
        oid = self.pick(data, self.objects)
        _, err = self.call(who, "share_delobj", sid, oid)
        expected = self.share_error(who, sid)
        if expected is None and oid not in self.contents[sid]:
            expected = Errno.ENOENT
        assert err == expected
        if err is None:
            self.contents[sid][oid] -= 1
            if not self.contents[sid][oid]:
                del self.contents[sid][oid]

    @rule(who=st.integers(0, 2), other=st.integers(0, 2), data=st.data())
    def grant(self, who, other, data):
        sid = self.pick(data, self.contents)
        _, err = self.call(who, "share_grant", self.pcores[other], sid)
        expected = self.share_error(who, sid)
        if expected is None and sid in self.held[other]:
            expected = Errno.EEXIST
        elif expected is None and len(self.held[other]) >= PCORE_SHARES:
            expected = Errno.ENOMEM
        assert err == expected
        if err is None:
            self.held[other].add(sid)

    @precondition(lambda self: any(len(h) > 1 for h in self.held.values()))
    @rule(who=st.integers(0, 2), data=st.data())
    def drop(self, who, data):
        sid = self.pick(data, self.contents)
        _, err = self.call(who, "share_drop", sid)
        assert err == self.share_error(who, sid)
        self.held[who].discard(sid)

    @invariant()
    def kernel_matches_the_model(self):
        for sid, objs in self.contents.items():
            assert self.k.share_entries(sid) == objs
        for p in self.pcores:
            assert set(p.shares) == self.held[p.id]
        values = self.m.memory.values
        for oid in self.objects:
            holders = sum(oid in objs for objs in self.contents.values())
            assert values[self.k.kobjects[oid].s["refcnt"]] == holders


TestShares = Shares.TestCase
TestShares.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)


# -- access control, fuzzed -----------------------------------------------------------------------
CALLS = st.tuples(
    st.integers(0, 3),  # which pcore
    st.sampled_from(["alloc", "share", "add", "remove", "lookup", "grant", "drop"]),
    st.integers(0, 40),  # picks a share id among all shares (or a bogus one)
    st.integers(0, 40),  # picks an object id among all objects (or a bogus one)
    st.integers(0, 3),  # the other pcore, for grant
)


@settings(max_examples=40, deadline=None)
@given(st.lists(CALLS, min_size=5, max_size=40))
def test_no_sequence_of_calls_reaches_an_object_outside_the_callers_shares(calls):
    """Whatever four pcores call, a lookup or an add that succeeds named a share the caller held
    at that moment and an object that share mapped; and nobody ever holds a share that was
    neither made by them nor granted to them."""
    m, k, pcores = corey("duo", pcores=(0, 1, 2, 3))
    given_to = {k.root_share(p): {p.id} for p in pcores}  # share -> pcores it was ever given to
    for who, what, s_pick, o_pick, other in calls:
        task = pcores[who]
        shares = sorted(sid for sid, o in k.kobjects.items() if o.kind == "share") + [77]
        objs = sorted(k.kobjects) + [78]
        sid, oid = shares[s_pick % len(shares)], objs[o_pick % len(objs)]
        held = set(task.shares)
        mapped = k.share_entries(sid) if sid in k.kobjects else {}
        args = {
            "alloc": ("kobject_alloc", sid),
            "share": ("share_alloc",),
            "add": ("share_addobj", sid, oid, sid if who % 2 else None),
            "remove": ("share_delobj", sid, oid),
            "lookup": ("share_lookup", sid, oid),
            "grant": ("share_grant", pcores[other], sid),
            "drop": ("share_drop", sid),
        }[what]
        try:
            got = run_call(task, getattr(k, args[0]), *args[1:])
        except KernelError as e:
            assert e.errno in (Errno.EACCES, Errno.ENOENT, Errno.EINVAL, Errno.EEXIST, Errno.ENOMEM)
            continue
        if what == "lookup":
            assert sid in held and oid in mapped and got is k.kobjects[oid]
        if what in ("add", "remove", "alloc", "grant", "drop"):
            assert sid in held
        if what == "add":
            src = k.root_share(task) if args[3] is None else sid
            assert src in held
        if what == "share":
            given_to[got] = {task.id}
        if what == "grant":
            given_to[sid].add(pcores[other].id)
        for p in pcores:
            assert all(p.id in given_to[s] for s in p.shares)
