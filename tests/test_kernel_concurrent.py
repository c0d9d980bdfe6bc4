"""Both kernels under concurrent system calls: Hypothesis draws a short program of calls for
each of 2-4 cores of the tiny machine, runs the programs at once (simpy processes: calls from
different cores interleave access by access, shifted by a drawn delay before each call), and
then checks the kernel against the log of the calls that succeeded:

  - every successful call's effect is there (an entry, a held share, a mapping, an open fd, a
    faulted page), and nothing else is: so a failed call changed nothing;
  - no lock is held, and none has a waiter;
  - the objects and pages the kernel allocated are exactly those a walk from its tasks reaches
    (but for objects a successful call released, which the lab never frees).

The order-free form of "the effects of the successful calls": each effect is a count of
successful adds minus removes (entries in a share, holding a share, a mapping at an address,
an fd number), and the kernel must show exactly the ones at 1, and none below 0.

CI runs a fixed, derandomized set of examples (each example one interleaving); the `thorough`
profile (`HYPOTHESIS_PROFILE=thorough`, see conftest.py) runs many more, randomized.
"""

from __future__ import annotations

from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_walk import corey_map, corey_walk, held_locks, linux_walk, run_at_once, table_pages

from coreylab.hardware import HardwareParams, Machine
from coreylab.kernel import CoreyKernel, KernelError, LinuxKernel, shares
from coreylab.kernel.pagetables import PRESENT, PT, entry_addr
from coreylab.kernel.shares import ID_CORE_SHIFT, ID_COUNT_MASK

CI_EXAMPLES = {"corey": 1200, "linux": 800}  # interleavings per CI run: 2,000 in all
THOROUGH_FACTOR = 10


def examples(kernel: str) -> settings:
    """CI: a fixed set of examples; `thorough`: many more, randomized."""
    if settings.get_current_profile_name() == "thorough":
        return settings(max_examples=CI_EXAMPLES[kernel] * THOROUGH_FACTOR, deadline=None)
    return settings(
        max_examples=CI_EXAMPLES[kernel], deadline=None, derandomize=True, database=None
    )


def machine(cores: int) -> Machine:
    return Machine(HardwareParams.preset("tiny").replace(cores_per_chip=cores))


def programs(ops: list[str]):
    """2-4 cores, each with 1-4 calls: (call, two picks, the delay before it)."""
    step = st.tuples(
        st.sampled_from(ops), st.integers(0, 7), st.integers(0, 7), st.integers(0, 300)
    )
    return st.integers(2, 4).flatmap(
        lambda n: st.lists(st.lists(step, min_size=1, max_size=4), min_size=n, max_size=n)
    )


def pick(pool: list, i: int, bogus):
    """The i-th item of what exists at the moment (7: a name that was never given out)."""
    return pool[i % len(pool)] if pool and i < 7 else bogus


def run_programs(m: Machine, per_core: list, step) -> None:
    """One program per core, each making its calls in turn, all at once."""

    def program(calls):
        def body(core):
            for call in calls:
                yield from core.compute(call[3])
                with suppress(KernelError):  # the checks afterwards prove it changed nothing
                    yield from step(core.id, *call[:3])

        return body

    run_at_once(m, {c: program(calls) for c, calls in enumerate(per_core)})


# =================================================================================================
# Corey
# =================================================================================================
COREY_OPS = ["share_alloc", "grant", "drop", "kobject_alloc", "addobj", "delobj",
             "segment_alloc", "ar_alloc", "set_seg", "unset_seg", "mount", "unmount", "touch",
             "foreign"]  # fmt: skip
BOGUS = 999
SMALL_TABLES = 4  # entries in a share and a share map (at least 2 per core): full ones happen


@dataclass
class CoreyLog:
    """What the successful calls did (counts: adds minus removes) and what exists."""

    held: Counter = field(default_factory=Counter)  # (task id, share) -> gains - drops
    entries: Counter = field(default_factory=Counter)  # (share, object) -> adds - removes
    maps: Counter = field(default_factory=Counter)  # (range, va) -> sets - unsets
    made: dict = field(default_factory=dict)  # object id -> kind, of successful calls
    shares: list = field(default_factory=list)  # share ids, in the order made
    objects: list = field(default_factory=list)  # (share it was made in, id)
    segments: list = field(default_factory=list)
    ranges: list = field(default_factory=list)
    mounts: list = field(default_factory=list)  # (task id, va)
    touches: list = field(default_factory=list)  # (task, address, the mapping it went through)


class CoreyRun:
    def __init__(self, cores: int) -> None:
        self.m = machine(cores)
        self.k = CoreyKernel(self.m)
        self.tasks = [self.k.create_pcore(c) for c in range(cores)]
        other = CoreyKernel(machine(cores))  # same ids, same cores: its pcores are not ours
        self.foreign = [other.create_pcore(c) for c in range(cores)]
        self.log = CoreyLog()
        for t in self.tasks:
            self.log.held[t.id, t.root_share] = 1
            self.log.shares.append(t.root_share)
        self.initial = set(self.k.kobjects)

    def step(self, who: int, op: str, x: int, y: int):
        k, t, log, ps = self.k, self.tasks[who], self.log, self.m.params.page_size
        share = {6: BOGUS, 7: True}.get(y) or pick(log.shares, y, BOGUS)  # True is no share id
        if op == "share_alloc":
            sid = yield from k.share_alloc(t)
            log.held[t.id, sid] += 1
            log.made[sid] = "share"
            log.shares.append(sid)
        elif op == "grant":
            other = self.tasks[x % len(self.tasks)]
            yield from k.share_grant(t, other, share)
            log.held[other.id, share] += 1
        elif op == "drop":
            yield from k.share_drop(t, share)
            log.held[t.id, share] -= 1
        elif op in ("kobject_alloc", "segment_alloc", "ar_alloc"):
            kind, pool = {
                "kobject_alloc": ("device", None),
                "segment_alloc": ("segment", log.segments),
                "ar_alloc": ("address_range", log.ranges),
            }[op]
            if op == "kobject_alloc":
                oid = yield from k.kobject_alloc(t, share, kind)
            elif op == "segment_alloc":
                oid = yield from k.segment_alloc(t, 1 + x % 2, share=share)
            else:
                oid = yield from k.ar_alloc(t, share=share)
            log.made[oid] = kind
            log.entries[share, oid] += 1
            log.objects.append((share, oid))
            if pool is not None:
                pool.append((share, oid))
        elif op == "addobj":
            src, oid = pick(log.objects, x, (BOGUS, BOGUS))
            yield from k.share_addobj(t, share, oid, src)
            log.entries[share, oid] += 1
        elif op == "delobj":
            _, oid = pick(log.objects, x, (BOGUS, BOGUS))
            yield from k.share_delobj(t, share, oid)
            log.entries[share, oid] -= 1
        elif op == "set_seg":
            ar, seg = pick(log.ranges, x, (BOGUS, BOGUS)), pick(log.segments, y, (BOGUS, BOGUS))
            yield from k.ar_set_seg(t, ar, 0, seg)
            log.maps[ar[1], 0] += 1
        elif op == "unset_seg":
            ar = pick(log.ranges, x, (BOGUS, BOGUS))
            yield from k.ar_unset(t, ar, 0)
            log.maps[ar[1], 0] -= 1
        elif op in ("mount", "unmount"):
            va = (1 + y % 2) << 30
            if op == "mount":
                yield from k.ar_set_ar(t, t.root_range, va, pick(log.ranges, x, (BOGUS, BOGUS)))
                log.mounts.append((t.id, va))
            else:
                yield from k.ar_unset(t, t.root_range, va)
            log.maps[t.root_range, va] += 1 if op == "mount" else -1
        elif op == "touch":
            mounted = [va for tid, va in log.mounts if tid == t.id]
            addr = pick(mounted, x, 0) + (y % 2) * ps
            yield from k.touch(t, addr)
            hit = k.memory.ranges.resolve(k.mem_objects[t.root_range], addr)
            if hit:  # (else unmapped again by now)
                log.touches.append((t, addr, hit[1]))
        elif op == "foreign":  # a pcore of another kernel, as the caller or the one granted to
            them = self.foreign[who]
            calls = [(k.share_alloc, them), (k.share_grant, t, them, share),
                     (k.segment_alloc, them, 1), (k.share_drop, them, share)]  # fmt: skip
            call, *args = calls[x % len(calls)]
            yield from call(*args)
            raise AssertionError(f"{call.__name__} accepted {them.name} of another kernel")
        else:
            raise AssertionError(op)

    def check(self) -> None:
        k, log, values = self.k, self.log, self.m.memory.values
        assert held_locks(k) == []
        assert min([*log.held.values(), *log.entries.values(), *log.maps.values(), 0]) >= 0
        for t in self.tasks:  # shares held: in memory, in Python, and as the calls say
            expected = sorted(s for (tid, s), n in log.held.items() if tid == t.id and n)
            assert sorted(corey_map(k, t)) == sorted(t.shares) == expected, t.name
        share_ids = [s for s, o in k.kobjects.items() if o.kind == "share"]
        holders = Counter()
        for s in share_ids:  # entries: exactly the adds not removed
            entries = {o: n for (sid, o), n in log.entries.items() if sid == s and n}
            assert k.share_entries(s) == entries and values.get(k.kobjects[s].s["size"], 0) == len(
                entries
            )
            holders.update(entries.keys())  # refcnt: shares holding it, not their counts
        for oid, obj in k.kobjects.items():
            assert values.get(obj.s["refcnt"], 0) == holders[oid], obj.name
        assert set(k.kobjects) == self.initial | set(log.made)  # no orphan, nothing lost
        roots = {t.root_range for t in self.tasks}
        made_mem = {o for o, kind in log.made.items() if kind in ("segment", "address_range")}
        assert set(k.mem_objects) == roots | made_mem
        made_by = Counter(oid >> ID_CORE_SHIFT for oid in log.made)
        for c, counter in enumerate(k.shares._kobj_ids):  # ids: two per pcore, then one per object
            assert values[counter["next"]] & ID_COUNT_MASK == 2 + made_by[c]
        self.check_ranges()
        # The lab frees nothing: an object a successful call made may be out of reach (no
        # share holds it, or only shares nobody holds), its pages still its own.
        released = set(log.made) | set(share_ids)
        walk = corey_walk(k, released)
        assert set(k.kobjects) == walk["objects"] | released
        assert len(walk["pages"]) == k.pages.in_use  # every page in use is reachable

    def check_ranges(self) -> None:
        k, log, values = self.k, self.log, self.m.memory.values
        for rid, r in k.mem_objects.items():
            if not hasattr(r, "slots"):
                continue
            assert sorted(m.va for m in r.slots if m) == sorted(
                va for (i, va), n in log.maps.items() if i == rid and n
            )
            for i, m in enumerate(r.slots):  # the Python view is what memory holds
                words = [values.get(r.slot_addr(i, w), 0) for w in range(4)]
                assert words == ([m.va, m.npages, m.target.id, m.offset] if m else [0] * 4)
        for t, addr, mapping in log.touches:  # a touched page is mapped while its mapping is
            hit = k.memory.ranges.resolve(k.mem_objects[t.root_range], addr)
            if hit is None or hit[1] is not mapping:
                continue
            owner, m, rva = hit
            index = m.offset + (rva - m.va) // self.m.params.page_size
            pt = owner.table
            for level in range(owner.level, PT):
                pt = values.get(entry_addr(pt, rva, level), 0) & ~PRESENT
            assert values.get(entry_addr(pt, rva, PT)) == m.target.pages[index] | PRESENT


@examples("corey")
@given(programs(COREY_OPS))
def test_corey_calls_at_once_leave_exactly_their_effects(per_core):
    with pytest.MonkeyPatch.context() as mp:  # small tables, so that short programs fill them
        mp.setattr(shares, "SHARE_SLOTS", SMALL_TABLES)
        mp.setattr(shares, "PCORE_SHARES", SMALL_TABLES)
        run = CoreyRun(len(per_core))
        run_programs(run.m, per_core, run.step)
        run.check()


# =================================================================================================
# Linux
# =================================================================================================
LINUX_OPS = ["open", "dup", "close", "mmap", "munmap", "touch"]


@dataclass
class LinuxLog:
    fds: Counter = field(default_factory=Counter)  # (table, fd) -> opens and dups - closes
    pages: Counter = field(default_factory=Counter)  # (mm, virtual page) -> mmaps - munmaps
    maps: list = field(default_factory=list)  # (mm, start, pages) of successful mmaps
    touches: list = field(default_factory=list)  # (task, address)
    unmapped: set = field(default_factory=set)  # (mm, virtual page) some munmap removed


class LinuxRun:
    """A process on core 0 with a thread on every other core but the last, and a process of
    its own on the last: shared and private fd tables and mms."""

    def __init__(self, cores: int) -> None:
        self.m = machine(cores)
        self.k = k = LinuxKernel(self.m)
        first = k.create_process(0)
        self.tasks = [first, *(k.create_thread(first, c) for c in range(1, cores - 1))]
        self.tasks.append(k.create_process(cores - 1))
        self.log = LinuxLog()

    def step(self, who: int, op: str, x: int, y: int):
        k, t, log, ps = self.k, self.tasks[who], self.log, self.m.params.page_size
        table, mm = id(t.files), t.mm.id
        mine = [fd for (tb, fd), n in log.fds.items() if tb == table and n]
        fd = pick(mine, x, 60)
        if op == "open":
            new = yield from k.open(t, f"/f{x}")
            log.fds[table, new] += 1
        elif op == "dup":
            new = yield from k.dup(t, fd)
            log.fds[table, new] += 1
        elif op == "close":
            yield from k.close(t, fd)
            log.fds[table, fd] -= 1
        elif op == "mmap":
            start = yield from k.mmap(t, (1 + y % 2) * ps)
            log.maps.append((mm, start, 1 + y % 2))
            log.pages.update({(mm, start // ps + i): 1 for i in range(1 + y % 2)})
        elif op == "munmap":
            _, start, n = pick([mp for mp in log.maps if mp[0] == mm], x, (mm, 1 << 40, 1))
            first, count = (start, n) if y % 2 else (start + (n - 1) * ps, 1)  # all, or the last
            yield from k.munmap(t, first, count * ps)
            log.pages.subtract({(mm, first // ps + i): 1 for i in range(count)})
            log.unmapped |= {(mm, first // ps + i) for i in range(count)}
        elif op == "touch":
            _, start, n = pick([mp for mp in log.maps if mp[0] == mm], x, (mm, 1 << 40, 1))
            addr = start + (y % n) * ps
            yield from k.touch(t, addr, value=who + 1)
            log.touches.append((t, addr))
        else:
            raise AssertionError(op)

    def check(self) -> None:
        k, log, values = self.k, self.log, self.m.memory.values
        mms = {t.mm.id: t.mm for t in self.tasks}
        extra = [lock for mm in mms.values() for lock in (mm.mmap_sem, mm.page_table_lock)]
        assert held_locks(k, extra) == []
        assert min([*log.fds.values(), *log.pages.values(), 0]) >= 0
        for t in self.tasks:  # open fds: exactly the opens and dups not closed
            expected = sorted(fd for (tb, fd), n in log.fds.items() if tb == id(t.files) and n)
            assert sorted(t.files.snapshot(values)["fd"]) == expected, t.name
        walk = linux_walk(k)
        assert walk["f_count"] == walk["slots"]  # each file counts the fds that name it
        ps = self.m.params.page_size
        for mid, mm in mms.items():  # mapped pages: exactly the mmaps not unmapped
            mapped = {v.start // ps + i for v in mm.vmas for i in range((v.end - v.start) // ps)}
            assert mapped == {p for (i, p), n in log.pages.items() if i == mid and n}
        for t, addr in log.touches:  # a touched page stays mapped until an munmap
            if (t.mm.id, addr // ps) not in log.unmapped:
                pt = t.mm.pgd
                for level in range(PT):
                    pt = values.get(entry_addr(pt, addr, level), 0) & ~PRESENT
                assert values.get(entry_addr(pt, addr, PT), 0) & PRESENT
        reachable = set()
        for mm in mms.values():
            table_pages(values, mm.pgd, 0, reachable)
        assert reachable == walk["pages"] and len(reachable) == k.pages.in_use


@examples("linux")
@given(programs(LINUX_OPS))
def test_linux_calls_at_once_leave_exactly_their_effects(per_core):
    run = LinuxRun(len(per_core))
    run_programs(run.m, per_core, run.step)
    run.check()
