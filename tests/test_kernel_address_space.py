"""Address spaces on simulated lines: faults, soft faults, shared page tables, shootdowns, and
errors that change nothing. Each scenario is small enough to count by hand.

The machine `two` is one chip of two cores with amd16's caches: big enough that a page's
zeroing does not push the mm's lines out of a core, so every line that moves between the two
cores is a transfer, and the counts below can be derived step by step.
"""

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from coreylab.hardware import HardwareParams, Machine
from coreylab.kernel import CoreyKernel, Errno, KernelError, LinuxKernel
from coreylab.kernel.address_space import RANGE_SPAN
from coreylab.kernel.pagetables import PRESENT, entry_addr
from coreylab.trace import Trace

PAGE = 4096
TWO = HardwareParams.preset("amd16").replace(name="two", chips=1, cores_per_chip=2)
FOUR = HardwareParams.preset("amd16").replace(name="four", chips=1, cores_per_chip=4)


def machine(params=TWO) -> Machine:
    return Machine(params, trace=Trace(enabled=False))


def call(kernel, task, gen):
    """Run one system call on the task's core to the end; return its value or raise its
    KernelError (caught inside the program, so the machine stays usable)."""
    box = {}

    def program(core):
        try:
            box["value"] = yield from gen
        except KernelError as e:
            box["error"] = e

    kernel.machine.spawn(task.core.id, program)
    kernel.machine.run()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def transfers(kernel, struct, group) -> int:
    return sum(kernel.machine.lines[ln].transfers for ln in struct.lines[group]
               if ln in kernel.machine.lines)  # fmt: skip


def peek(kernel, root, va) -> int | None:
    """The page a va maps to by the page tables in memory (no simulated time)."""
    values, table = kernel.machine.memory.values, root
    for level in range(4):
        entry = values.get(entry_addr(table, va, level), 0)
        if not entry & PRESENT:
            return None
        table = entry - PRESENT
    return table


# -- Linux: threads vs processes ---------------------------------------------------------------
def linux_pair(threads: bool):
    k = LinuxKernel(machine())
    a = k.create_process(0)
    b = k.create_thread(a, 1) if threads else k.create_process(1)
    return k, a, b


@pytest.mark.parametrize("threads", [True, False])
def test_fresh_pages_threads_vs_processes_by_hand(threads):
    """Two tasks map 4 pages each, then fault them in turn (a0, b0, a1, b1, ...).

    Every fault is hard (a fresh page, zeroed). Each fault does down_read and up_read on the
    mmap_sem line and one atomic add on the rss-counter line. Threads share one mm: the line
    is always in the other core's cache (setup ended with b's mmap, which wrote both lines),
    so each of the 8 faults moves each line once: 8 transfers of each. Processes: 0."""
    k, a, b = linux_pair(threads)
    addr = {t.id: call(k, t, k.mmap(t, 4 * PAGE)) for t in (a, b)}
    sem_before = transfers(k, a.mm.s, "mmap_sem")
    rss_before = transfers(k, a.mm.s, "counters")
    for i in range(4):
        for t in (a, b):
            call(k, t, k.touch(t, addr[t.id] + i * PAGE))
    assert k.faults.hard_total == 8 and k.faults.soft_total == 0
    expected = 8 if threads else 0
    assert transfers(k, a.mm.s, "mmap_sem") - sem_before == expected
    assert transfers(k, a.mm.s, "counters") - rss_before == expected
    assert k.machine.memory.values[a.mm.s["anon_rss"]] == (8 if threads else 4)


def test_second_touch_is_a_tlb_hit_and_costs_only_the_access():
    """After the fault, the same page again: the TLB holds it, no walk, one L1 store (3)."""
    k, a, _ = linux_pair(True)
    addr = call(k, a, k.mmap(a, PAGE))
    call(k, a, k.touch(a, addr))
    before = a.core.local
    call(k, a, k.touch(a, addr + 8))
    assert a.core.local - before == TWO.l1_latency
    assert k.tlbs.of(0).hits == 1 and k.faults.hard_total == 1


@pytest.mark.parametrize("threads", [True, False])
def test_map_shared_object_soft_faults_per_process(threads):
    """A MAP_SHARED object of 3 pages: a touches every page (3 hard faults), then b does.
    Processes: b's page table is its own, so b takes a soft fault on each page (3). Threads
    share one page table: b's touches find the entries filled (0 soft)."""
    k, a, b = linux_pair(threads)
    obj = call(k, a, k.shmem_create(a, 3 * PAGE))
    addr_a = call(k, a, k.mmap(a, 3 * PAGE, shared=obj))
    addr_b = addr_a if threads else call(k, b, k.mmap(b, 3 * PAGE, shared=obj))
    for t, addr in ((a, addr_a), (b, addr_b)):
        for i in range(3):
            call(k, t, k.touch(t, addr + i * PAGE, True, 10 * t.id + i))
    assert k.faults.hard_total == 3
    assert k.faults.soft_total == (0 if threads else 3)
    assert sorted(obj.pages) == [0, 1, 2]  # one page each, made once
    assert call(k, a, k.touch(a, addr_a + 2 * PAGE, False)) == 10 * b.id + 2  # same memory


def test_munmap_shoots_down_exactly_the_cores_that_ran_the_mm():
    """Threads on cores 0, 1, 2 of one process; another process on core 3. Cores 0 and 1 touch
    the region, core 2 only mapped something else (it ran the mm, so Linux interrupts it
    too), core 3 touched its own. munmap on core 0: targets are 1 and 2, never 3."""
    k = LinuxKernel(machine(FOUR))
    p = k.create_process(0)
    t1, t2 = k.create_thread(p, 1), k.create_thread(p, 2)
    q = k.create_process(3)
    addr = call(k, p, k.mmap(p, 2 * PAGE))
    call(k, t2, k.mmap(t2, PAGE))
    mine = call(k, q, k.mmap(q, PAGE))
    for t in (p, t1):
        call(k, t, k.touch(t, addr))
    call(k, q, k.touch(q, mine))
    start = p.core.local
    call(k, p, k.munmap(p, addr, 2 * PAGE))
    (shot,) = k.tlbs.log
    assert shot.initiator == 0 and shot.targets == (1, 2)
    vpn = addr // PAGE
    assert not any(k.tlbs.of(c).holds(p.mm.id, vpn) for c in range(4))
    assert k.tlbs.of(3).holds(q.mm.id, mine // PAGE)
    assert p.core.local - start >= 2 * k.mparams.ipi_cycles
    with pytest.raises(KernelError) as e:
        call(k, t1, k.touch(t1, addr))
    assert e.value.errno == Errno.EFAULT


def test_munmap_splits_a_vma_and_frees_its_pages():
    """Unmapping the middle page of three leaves two VMAs; the freed page is reused."""
    k, a, _ = linux_pair(True)
    addr = call(k, a, k.mmap(a, 3 * PAGE))
    for i in range(3):
        call(k, a, k.touch(a, addr + i * PAGE))
    middle = peek(k, a.mm.pgd, addr + PAGE)
    call(k, a, k.munmap(a, addr + PAGE, PAGE))
    assert [(v.start, v.end) for v in a.mm.vmas] == [
        (addr, addr + PAGE),
        (addr + 2 * PAGE, addr + 3 * PAGE),
    ]
    assert peek(k, a.mm.pgd, addr + PAGE) is None
    assert list_in_memory(k, a.mm) == [(v.start, v.end) for v in a.mm.vmas]
    other = call(k, a, k.mmap(a, PAGE))
    call(k, a, k.touch(a, other))
    assert peek(k, a.mm.pgd, other) == middle


def test_brk_grows_the_mapping_in_place_and_mmap_takes_a_free_hint():
    """mmap puts a mapping at its hint when that much is free there, else in the lowest hole;
    brk moves the VMA's end (in memory too), so the pages past the old end fault in."""
    k, a, _ = linux_pair(True)
    hint = 1 << 33
    addr = call(k, a, k.mmap(a, PAGE, addr=hint))
    assert addr == hint
    assert call(k, a, k.mmap(a, PAGE, addr=hint)) != hint  # taken: the lowest hole instead
    with pytest.raises(KernelError):
        call(k, a, k.touch(a, addr + PAGE))
    call(k, a, k.brk(a, addr, 2 * PAGE))
    call(k, a, k.touch(a, addr + 2 * PAGE))
    assert (a.mm.find(addr).start, a.mm.find(addr).end) == (addr, addr + 3 * PAGE)
    assert list_in_memory(k, a.mm) == [(v.start, v.end) for v in a.mm.vmas]
    assert k.machine.memory.values[a.mm.struct["total_vm"]] == 4
    assert a.mm.mmap_sem.stats.acquisitions == 4  # two mmaps and brk write, one fault reads


def list_in_memory(k, mm):
    """The VMA list as the simulated memory links it."""
    values, out = k.machine.memory.values, []
    at = values.get(mm.s["mmap"], 0)
    while at:
        vma = k.memory.ops.vma_at[at]
        out.append((values[vma.s["vm_start"]], values[vma.s["vm_end"]]))
        at = values.get(vma.s["vm_next"], 0)
    return out


# -- Corey: address ranges -----------------------------------------------------------------------
def corey(cores=3, params=FOUR):
    k = CoreyKernel(machine(params))
    return k, [k.create_pcore(c) for c in range(cores)]


def shared_range(k, owner, pcs, pages, seg=None):
    """A range holding segment `seg` (a new one if None), mounted at 1 GB in every root. The
    range lives in a share the owner makes and gives the others: that is how they name it.
    Returns the segment and the range's name, (share, range)."""
    seg = seg if seg is not None else call(k, owner, k.segment_alloc(owner, pages))
    share = call(k, owner, k.share_alloc(owner))
    for pc in pcs:
        if pc is not owner:
            call(k, owner, k.share_grant(owner, pc, share))
    ar = (share, call(k, owner, k.ar_alloc(owner, share=share)))
    call(k, owner, k.ar_set_seg(owner, ar, 0, seg))
    for pc in pcs:
        call(k, pc, k.ar_set_ar(pc, k.root_range(pc), RANGE_SPAN, ar))
    return seg, ar


def test_shared_range_fresh_pages_one_hard_fault_each_no_soft():
    """Three cores touch 4 fresh pages through one range mounted in all three roots: the
    first core's hard faults fill the range's own page table, which the other roots share
    (their PDPT entries point at its PD), so nobody else faults at all."""
    k, pcs = corey()
    _, ar = shared_range(k, pcs[0], pcs, 4)
    for pc in pcs:
        for i in range(4):
            call(k, pc, k.touch(pc, RANGE_SPAN + i * PAGE))
    assert k.faults.hard == {0: 4} and k.faults.soft_total == 0
    roots = [k.mem_objects[k.root_range(pc)].table for pc in pcs]
    assert len({peek(k, r, RANGE_SPAN + PAGE) for r in roots}) == 1


def test_shared_range_existing_pages_one_soft_fault_per_page_in_total():
    """The segment's pages exist already (core 0 touched them through a private mapping):
    through the shared range the first toucher takes one soft fault per page, the others
    none: 4 soft faults in total, against 4 per process with separate MAP_SHARED mappings."""
    k, pcs = corey()
    seg = call(k, pcs[0], k.segment_alloc(pcs[0], 4))
    root0 = k.root_range(pcs[0])
    call(k, pcs[0], k.ar_set_seg(pcs[0], root0, 8 * RANGE_SPAN, seg))
    for i in range(4):
        call(k, pcs[0], k.touch(pcs[0], 8 * RANGE_SPAN + i * PAGE))
    shared_range(k, pcs[0], pcs, 4, seg)
    for pc in pcs[1:] + pcs[:1]:
        for i in range(4):
            call(k, pc, k.touch(pc, RANGE_SPAN + i * PAGE))
    assert k.faults.hard == {0: 4}
    assert k.faults.soft == {1: 4}


def test_corey_unmap_shoots_down_only_the_cores_that_use_the_range():
    """A range mounted in the roots of cores 0 and 1; core 2 works in a private range of its
    own. Unmapping the shared segment interrupts core 1 only; unmapping in core 2's private
    range interrupts nobody."""
    k, pcs = corey()
    _, ar = shared_range(k, pcs[0], pcs[:2], 2)
    own = call(k, pcs[2], k.segment_alloc(pcs[2], 1))
    root2 = k.root_range(pcs[2])
    call(k, pcs[2], k.ar_set_seg(pcs[2], root2, 0, own))
    call(k, pcs[2], k.touch(pcs[2], 0))
    for pc in pcs[:2]:
        call(k, pc, k.touch(pc, RANGE_SPAN))
    call(k, pcs[0], k.ar_unset(pcs[0], ar, 0))
    call(k, pcs[2], k.ar_unset(pcs[2], root2, 0))
    first, second = k.tlbs.log
    assert (first.initiator, first.targets) == (0, (1,))
    assert (second.initiator, second.targets) == (2, ())
    for pc in pcs[:2]:
        assert not k.tlbs.of(pc.core.id).holds(k.root_range(pc), RANGE_SPAN // PAGE)
        with pytest.raises(KernelError) as e:
            call(k, pc, k.touch(pc, RANGE_SPAN))
        assert e.value.errno == Errno.EFAULT


def test_corey_objects_live_on_the_chip_named():
    """A segment's and a range's objects go on the chip the caller names, not its own."""
    k, pcs = corey(1, HardwareParams.preset("amd16"))
    seg = call(k, pcs[0], k.segment_alloc(pcs[0], 1, chip=2))
    ar = call(k, pcs[0], k.ar_alloc(pcs[0], chip=3))
    home = k.machine.memory.home_chip
    assert home(k.mem_objects[seg].header.base) == 2
    assert home(k.mem_objects[ar].s.base) == 3 and home(k.mem_objects[ar].table) == 3


# -- errors change nothing -----------------------------------------------------------------------
def snapshot(k):
    values = dict(k.machine.memory.values)
    faults = (dict(k.faults.hard), dict(k.faults.soft))
    tlbs = {c: list(t.entries) for c, t in k.tlbs.by_core.items()}
    if isinstance(k, LinuxKernel):
        maps = [[(v.start, v.end, v.pgoff) for v in mm.vmas] for mm in k.mms]
    else:
        maps = {oid: [(m.va, m.npages, m.target.id, m.offset) if m else None for m in o.slots]
                for oid, o in k.mem_objects.items() if hasattr(o, "slots")}  # fmt: skip
    return values, faults, tlbs, maps, k.pages.in_use


def linux_errors(k, a):
    addr = call(k, a, k.mmap(a, 2 * PAGE))
    call(k, a, k.mmap(a, PAGE, addr=addr + 8 * PAGE))  # a neighbour brk cannot grow into
    return [
        (k.brk(a, addr + PAGE, PAGE), Errno.EINVAL),
        (k.brk(a, addr, 100), Errno.EINVAL),
        (k.brk(a, addr, 7 * PAGE), Errno.ENOMEM),
        (k.mmap(a, PAGE, addr=addr + 1), Errno.EINVAL),
        (k.mmap(a, 0), Errno.EINVAL),
        (k.mmap(a, -PAGE), Errno.EINVAL),
        (k.mmap(a, 100), Errno.EINVAL),
        (k.mmap(a, PAGE, shared="nope"), Errno.EINVAL),
        (k.munmap(a, addr + 1, PAGE), Errno.EINVAL),
        (k.munmap(a, addr, 3 * PAGE), Errno.EFAULT),
        (k.munmap(a, addr + 4 * PAGE, PAGE), Errno.EFAULT),
        (k.touch(a, addr + 3), Errno.EINVAL),
        (k.touch(a, addr + 2 * PAGE), Errno.EFAULT),
        (k.touch(a, -8), Errno.EFAULT),
    ]


def corey_errors(k, pc):
    root = k.root_range(pc)
    seg = call(k, pc, k.segment_alloc(pc, 2))
    call(k, pc, k.ar_set_seg(pc, root, 0, seg))
    ar = call(k, pc, k.ar_alloc(pc))
    return [
        (k.segment_alloc(pc, 0), Errno.EINVAL),
        (k.segment_alloc(pc, 1, chip=9), Errno.EINVAL),
        (k.ar_alloc(pc, chip=-1), Errno.EINVAL),
        (k.ar_set_seg(pc, root, PAGE, seg), Errno.EEXIST),
        (k.ar_set_seg(pc, root, 3, seg), Errno.EINVAL),
        (k.ar_set_seg(pc, root, 8 * PAGE, 12345), Errno.ENOENT),
        (k.ar_set_seg(pc, root, 8 * PAGE, ar), Errno.EINVAL),
        (k.ar_set_seg(pc, root, 8 * PAGE, seg, 1, 2), Errno.EINVAL),
        (k.ar_set_seg(pc, ar, RANGE_SPAN - PAGE, seg), Errno.EINVAL),
        (k.ar_set_ar(pc, root, RANGE_SPAN + PAGE, ar), Errno.EINVAL),
        (k.ar_set_ar(pc, root, 0, ar), Errno.EEXIST),
        (k.ar_set_ar(pc, ar, 0, root), Errno.EINVAL),
        (k.ar_unset(pc, root, PAGE), Errno.EINVAL),
        (k.touch(pc, 2 * PAGE), Errno.EFAULT),
        (k.touch(pc, 4), Errno.EINVAL),
    ]


@pytest.mark.parametrize("design", ["linux", "corey"])
def test_bad_calls_raise_and_change_nothing(design):
    if design == "linux":
        k, a, _ = linux_pair(True)
        cases = linux_errors(k, a)
    else:
        k, (a, *_) = corey(1)
        cases = corey_errors(k, a)
    for gen, errno in cases:
        before = snapshot(k)
        with pytest.raises(KernelError) as e:
            call(k, a, gen)
        assert e.value.errno == errno, e.value
        assert len(str(e.value).splitlines()) == 1
        assert snapshot(k) == before, f"{e.value} changed state"


@pytest.mark.parametrize("design", ["linux", "corey"])
def test_memory_exhausted_is_enomem_and_changes_nothing(design):
    """On a machine of 64 pages a task touches pages until none is left: ENOMEM, after which
    the kernel is as before the failing touch."""
    params = TWO.replace(dram_bytes_per_chip=64 * PAGE)
    if design == "linux":
        k = LinuxKernel(machine(params))
        t = k.create_process(0)
        addr = call(k, t, k.mmap(t, 128 * PAGE))
    else:
        k = CoreyKernel(machine(params))
        t = k.create_pcore(0)
        seg = call(k, t, k.segment_alloc(t, 128))
        call(k, t, k.ar_set_seg(t, k.root_range(t), 0, seg))
        addr = 0
    for i in range(128):
        before = snapshot(k)
        try:
            call(k, t, k.touch(t, addr + i * PAGE))
        except KernelError as e:
            assert e.errno == Errno.ENOMEM
            assert snapshot(k) == before
            break
    else:
        pytest.fail("64 pages of DRAM held 128 pages")


# -- a random tester against a plain-Python model of address ranges ------------------------------
SLOTS = 4  # mapping slots per range: small, so a full range (ENOMEM) comes up
BOGUS = 999


class RangeModel:
    """What the calls should do, in plain Python: ranges map va -> (kind, target, offset,
    pages); a root spans user space, a mountable range 1 GB; data is per (segment, page)."""

    def __init__(self):
        self.segs: dict[int, int] = {}  # id -> pages
        self.ranges: dict[int, dict] = {}  # id -> {"root": bool, "maps": {va: mapping}}
        self.data: dict[tuple[int, int], int] = {}

    def lookup(self, oid, want):
        other = self.ranges if want == "seg" else self.segs
        mine = self.segs if want == "seg" else self.ranges
        if oid in mine:
            return None
        return Errno.EINVAL if oid in other else Errno.ENOENT

    def window(self, rid, va, size, align):
        r = self.ranges[rid]
        span = 1 << 47 if r["root"] else RANGE_SPAN
        if va % align or va + size > span:
            return Errno.EINVAL
        if any(m_va < va + size and va < m_va + n * PAGE
               for m_va, (_, _, _, n) in r["maps"].items()):  # fmt: skip
            return Errno.EEXIST
        return Errno.ENOMEM if len(r["maps"]) >= SLOTS else None

    def set_seg(self, rid, va, sid, offset, pages):
        err = self.lookup(rid, "ar") or self.lookup(sid, "seg")
        if err is None and offset + pages > self.segs[sid]:
            err = Errno.EINVAL
        err = err or self.window(rid, va, pages * PAGE, PAGE)
        if err is None:
            self.ranges[rid]["maps"][va] = ("seg", sid, offset, pages)
        return err

    def set_ar(self, rid, va, inner):
        err = self.lookup(rid, "ar") or self.lookup(inner, "ar")
        if err is None and (not self.ranges[rid]["root"] or self.ranges[inner]["root"]):
            err = Errno.EINVAL
        err = err or self.window(rid, va, RANGE_SPAN, RANGE_SPAN)
        if err is None:
            self.ranges[rid]["maps"][va] = ("ar", inner, 0, RANGE_SPAN // PAGE)
        return err

    def unset(self, rid, va):
        err = self.lookup(rid, "ar")
        if err is None and va not in self.ranges[rid]["maps"]:
            err = Errno.EINVAL
        if err is None:
            del self.ranges[rid]["maps"][va]
        return err

    def mapping_of(self, rid, va):
        """(range, va of the mapping) that holds the segment va maps to through rid."""
        for m_va, (kind, target, _, n) in self.ranges[rid]["maps"].items():
            if m_va <= va < m_va + n * PAGE:
                return self.mapping_of(target, va - m_va) if kind == "ar" else (rid, m_va)
        return None

    def resolve(self, rid, va):
        """(segment, page index) that va maps to through range rid, or None."""
        for m_va, (kind, target, offset, n) in self.ranges[rid]["maps"].items():
            if m_va <= va < m_va + n * PAGE:
                if kind == "ar":
                    return self.resolve(target, va - m_va)
                return target, offset + (va - m_va) // PAGE
        return None


class AddressRanges(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.k = CoreyKernel(machine(TWO.replace(dram_bytes_per_chip=1 << 22)))
        self.k.memory.vm.mparams = self.k.mparams.replace(ar_slots=SLOTS)
        self.pcs = [self.k.create_pcore(c) for c in range(2)]
        self.model = RangeModel()
        self.touched: list[tuple[int, int]] = []  # (range, va) of mappings touched through
        self.owner = {}  # root range -> its pcore: only it names its root (by id alone)
        for p, pc in enumerate(self.pcs):
            self.model.ranges[self.k.root_range(pc)] = {"root": True, "maps": {}}
            self.owner[self.k.root_range(pc)] = p
        # Every other object lives in a share both pcores hold: that is how they name it.
        self.share = call(self.k, self.pcs[0], self.k.share_alloc(self.pcs[0]))
        call(self.k, self.pcs[0], self.k.share_grant(self.pcs[0], self.pcs[1], self.share))

    def named(self, oid):
        return oid if oid in self.owner else (self.share, oid)

    def naming_error(self, p, *objects):
        """The kernel checks each object in turn: a root range only its own pcore names (any
        other gets ENOENT: it is in none of its shares), then what the model says of it."""
        for oid, kind in objects:
            if oid in self.owner and self.owner[oid] != p:
                return Errno.ENOENT
            err = self.model.lookup(oid, kind)
            if err:
                return err
        return None

    @initialize()
    def some_objects(self):
        for p, pages in ((0, 3), (1, 2)):
            self.segment_alloc(p, pages)
        self.ar_alloc(0)

    def pick(self, ids, i, others=()):
        """Mostly one of `ids`; sometimes an object of the wrong kind or no object at all."""
        if i == 9 or (i == 8 and not others):
            return BOGUS
        pool = sorted(others) if i == 8 else sorted(ids)
        return pool[i % len(pool)] if pool else BOGUS

    def expect(self, pc, gen, err):
        """Run a call; it must fail with `err` (changing nothing) or succeed if err is None."""
        before = snapshot(self.k)
        try:
            value = call(self.k, pc, gen)
        except KernelError as e:
            assert e.errno == err, e
            assert snapshot(self.k) == before
            return None
        assert err is None, f"expected {err!r}"
        return value

    @rule(p=st.integers(0, 1), pages=st.integers(0, 3))
    def alloc(self, p, pages):
        """A segment of 1-3 pages, or (pages 0) a mountable range."""
        if pages:
            self.segment_alloc(p, pages)
        else:
            self.ar_alloc(p)

    def segment_alloc(self, p, pages):
        sid = self.expect(self.pcs[p], self.k.segment_alloc(self.pcs[p], pages, share=self.share),
                          None)  # fmt: skip
        self.model.segs[sid] = pages

    def ar_alloc(self, p):
        rid = self.expect(self.pcs[p], self.k.ar_alloc(self.pcs[p], share=self.share), None)
        self.model.ranges[rid] = {"root": False, "maps": {}}

    @rule(
        p=st.integers(0, 1),
        r=st.integers(0, 9),
        page=st.integers(0, 7),
        skew=st.sampled_from([0, 0, 0, 8]),
        s=st.integers(0, 9),
        offset=st.sampled_from([0, 0, 0, 1]),
        pages=st.sampled_from([None, None, 1, 2, 3]),
    )
    def ar_set_seg(self, p, r, page, skew, s, offset, pages):  # fmt: skip
        rid = self.pick(self.model.ranges, r, self.model.segs)
        sid = self.pick(self.model.segs, s, self.model.ranges)
        va = page * PAGE + skew
        if pages is None:  # the rest of the segment, as the kernel's default
            pages = max(self.model.segs.get(sid, 0) - offset, 1)
        p = self.owner.get(rid, p)
        err = self.naming_error(p, (rid, "ar"), (sid, "seg"))
        err = err or self.model.set_seg(rid, va, sid, offset, pages)
        pc = self.pcs[p]
        call_ = self.k.ar_set_seg(pc, self.named(rid), va, self.named(sid), offset, pages)
        self.expect(pc, call_, err)

    @rule(p=st.integers(0, 1), r=st.integers(0, 9), slot=st.integers(0, 3),
          skew=st.sampled_from([0, 0, PAGE]), i=st.integers(0, 9))  # fmt: skip
    def ar_set_ar(self, p, r, slot, skew, i):
        roots = [rid for rid, spec in self.model.ranges.items() if spec["root"]]
        inners = [rid for rid, spec in self.model.ranges.items() if not spec["root"]]
        rid, inner = self.pick(roots, r, inners), self.pick(inners, i, roots)
        va = slot * RANGE_SPAN + skew
        p = self.owner.get(rid, p)
        err = self.naming_error(p, (rid, "ar"), (inner, "ar")) or self.model.set_ar(rid, va, inner)
        pc = self.pcs[p]
        self.expect(pc, self.k.ar_set_ar(pc, self.named(rid), va, self.named(inner)), err)

    @rule(p=st.integers(0, 1), r=st.integers(0, 9), which=st.integers(0, 9))
    def ar_unset(self, p, r, which):
        rid = self.pick(self.model.ranges, r, self.model.segs)
        maps = sorted(self.model.ranges.get(rid, {"maps": {}})["maps"]) + [PAGE * 5 + 8]
        va = maps[which % len(maps)]
        err = self.model.unset(rid, va)
        pc = self.pcs[self.owner.get(rid, p)]
        self.expect(pc, self.k.ar_unset(pc, self.named(rid), va), err)

    @rule(p=st.integers(0, 1), which=st.integers(0, 9))
    def ar_unset_touched(self, p, which):
        """Unmap a mapping some core touched through: its entries and TLBs must go."""
        if self.touched:
            rid, va = self.touched[which % len(self.touched)]
            err = self.model.unset(rid, va)
            pc = self.pcs[self.owner.get(rid, p)]
            self.expect(pc, self.k.ar_unset(pc, self.named(rid), va), err)

    @rule(p=st.integers(0, 1), slot=st.integers(0, 3), page=st.integers(0, 7),
          mapped=st.booleans(), write=st.booleans(), value=st.integers(1, 99))  # fmt: skip
    def touch(self, p, slot, page, mapped, write, value):
        self.touch_one(p, slot, page, mapped, write, value)

    @rule(p=st.integers(0, 1), slot=st.integers(0, 3), page=st.integers(0, 7),
          write=st.booleans(), value=st.integers(1, 99))  # fmt: skip
    def touch_mapped(self, p, slot, page, write, value):
        self.touch_one(p, slot, page, True, write, value)

    def touch_one(self, p, slot, page, mapped, write, value):
        pc = self.pcs[p]
        rid = self.k.root_range(pc)
        vas = [s * RANGE_SPAN + i * PAGE for s in range(4) for i in range(8)]
        live = [va for va in vas if self.model.resolve(rid, va)]
        va = live[(slot * 8 + page) % len(live)] if mapped and live else vas[slot * 8 + page]
        where = self.model.resolve(rid, va)
        got = self.expect(pc, self.k.touch(pc, va, write, value), None if where else Errno.EFAULT)
        if where is None:
            return
        if write:
            self.model.data[where] = value
        else:
            assert got == self.model.data.get(where, 0)
        self.touched.append(self.model.mapping_of(rid, va))
        sid, index = where
        root = self.k.mem_objects[self.k.root_range(pc)]
        assert peek(self.k, root.table, va) == self.k.mem_objects[sid].pages[index]

    @invariant()
    def slots_match_the_model_and_memory(self):
        values = self.k.machine.memory.values
        for rid, spec in self.model.ranges.items():
            r = self.k.mem_objects[rid]
            seen = {m.va: ("ar" if m.target.id in self.model.ranges else "seg", m.target.id,
                           m.offset, m.npages) for m in r.slots if m}  # fmt: skip
            assert seen == spec["maps"]
            for m in r.slots:
                if m:
                    words = [values.get(r.slot_addr(m.slot, w), 0) for w in range(4)]
                    assert words == [m.va, m.npages, m.target.id, m.offset]

    @invariant()
    def page_tables_map_only_what_the_model_maps(self):
        for pc in self.pcs:
            rid = self.k.root_range(pc)
            table = self.k.mem_objects[rid].table
            for va in (s * RANGE_SPAN + i * PAGE for s in range(4) for i in range(8)):
                page, where = peek(self.k, table, va), self.model.resolve(rid, va)
                if where is None:
                    assert page is None, f"{va:#x} still mapped"
                elif page is not None:
                    assert page == self.k.mem_objects[where[0]].pages[where[1]]

    @invariant()
    def every_cached_translation_is_current(self):
        for pc in self.pcs:
            rid = self.k.root_range(pc)
            for (space, vpn), page in self.k.tlbs.of(pc.core.id).entries.items():
                assert space == rid
                sid, index = self.model.resolve(rid, vpn * PAGE)
                assert self.k.mem_objects[sid].pages[index] == page


AddressRanges.TestCase.settings = settings(max_examples=80, stateful_step_count=30,
                                           deadline=None)  # fmt: skip
test_address_ranges_against_a_model = AddressRanges.TestCase


class LinuxMappings(RuleBasedStateMachine):
    """mmap, munmap (whole, partial, splitting) and touch by two threads of one process,
    against a model that knows only which pages are mapped and what each holds."""

    def __init__(self):
        super().__init__()
        self.k = LinuxKernel(machine(TWO.replace(dram_bytes_per_chip=1 << 22)))
        self.a = self.k.create_process(0)
        self.tasks = [self.a, self.k.create_thread(self.a, 1)]
        self.mapped: dict[int, int] = {}  # mapped page number -> value of its first word
        self.base = 1 << 32 >> 12  # MMAP_BASE in pages

    def expect(self, t, gen, err):
        before = snapshot(self.k)
        try:
            value = call(self.k, self.tasks[t], gen)
        except KernelError as e:
            assert e.errno == err, e
            assert snapshot(self.k) == before
            return None
        assert err is None, f"expected {err!r}"
        return value

    @rule(t=st.integers(0, 1), pages=st.integers(1, 4))
    def mmap(self, t, pages):
        at = self.base
        while any(p in self.mapped for p in range(at, at + pages)):
            at += 1
        addr = self.expect(t, self.k.mmap(self.tasks[t], pages * PAGE), None)
        assert addr == at * PAGE  # first fit from MMAP_BASE
        self.mapped.update({p: 0 for p in range(at, at + pages)})

    @rule(t=st.integers(0, 1), first=st.integers(0, 12), pages=st.integers(1, 4),
          skew=st.sampled_from([0, 0, 0, 8]))  # fmt: skip
    def munmap(self, t, first, pages, skew):
        span = range(self.base + first, self.base + first + pages)
        err = Errno.EINVAL if skew else None
        err = err or (None if all(p in self.mapped for p in span) else Errno.EFAULT)
        self.expect(t, self.k.munmap(self.tasks[t], span[0] * PAGE + skew, pages * PAGE), err)
        if err is None:
            for p in span:
                del self.mapped[p]

    @rule(t=st.integers(0, 1), page=st.integers(0, 12), write=st.booleans(),
          value=st.integers(1, 99))  # fmt: skip
    def touch(self, t, page, write, value):
        p = self.base + page
        err = None if p in self.mapped else Errno.EFAULT
        got = self.expect(t, self.k.touch(self.tasks[t], p * PAGE, write, value), err)
        if err is None and write:
            self.mapped[p] = value
        elif err is None:
            assert got == self.mapped[p]

    @invariant()
    def vmas_cover_exactly_the_mapped_pages(self):
        mm = self.a.mm
        pages = {p for v in mm.vmas for p in range(v.start // PAGE, v.end // PAGE)}
        assert pages == set(self.mapped)
        assert list_in_memory(self.k, mm) == [(v.start, v.end) for v in mm.vmas]

    @invariant()
    def only_mapped_pages_have_entries_and_translations(self):
        mm = self.a.mm
        present = {p for p in range(self.base, self.base + 17) if peek(self.k, mm.pgd, p * PAGE)}
        assert present <= set(self.mapped)
        assert self.k.machine.memory.values.get(mm.s["anon_rss"], 0) == len(present)
        for c in (0, 1):
            assert {vpn for _, vpn in self.k.tlbs.of(c).entries} <= present


LinuxMappings.TestCase.settings = settings(max_examples=60, stateful_step_count=30,
                                           deadline=None)  # fmt: skip
test_linux_mappings_against_a_model = LinuxMappings.TestCase


def test_memory_objects_are_named_only_through_shares_the_caller_holds():
    """Segments and ranges are kernel objects in shares: a pcore reaches another's range only
    through a share it was given. Naming one otherwise is ENOENT (an id not in its own share)
    or EACCES (a share it does not hold), and changes nothing."""
    k, pcs = corey()
    share = call(k, pcs[0], k.share_alloc(pcs[0]))
    call(k, pcs[0], k.share_grant(pcs[0], pcs[1], share))
    ar = call(k, pcs[0], k.ar_alloc(pcs[0], share=share))
    mine = call(k, pcs[0], k.ar_alloc(pcs[0]))  # in pcore 0's own share only
    root2 = k.root_range(pcs[2])
    for name, errno in (((share, ar), Errno.EACCES), (ar, Errno.ENOENT), (mine, Errno.ENOENT)):
        before = snapshot(k)
        with pytest.raises(KernelError) as e:
            call(k, pcs[2], k.ar_set_ar(pcs[2], root2, RANGE_SPAN, name))
        assert e.value.errno == errno and snapshot(k) == before
    with pytest.raises(KernelError) as e:  # pcore 1 holds the share, but not pcore 0's own
        call(k, pcs[1], k.ar_set_ar(pcs[1], k.root_range(pcs[1]), RANGE_SPAN, mine))
    assert e.value.errno == Errno.ENOENT
    call(k, pcs[1], k.ar_set_ar(pcs[1], k.root_range(pcs[1]), RANGE_SPAN, (share, ar)))
    assert ar in k.share_entries(share) and mine in k.share_entries(k.root_share(pcs[0]))
