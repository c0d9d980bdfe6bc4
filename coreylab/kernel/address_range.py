"""Corey's address ranges and segments as kernel objects, and what the fault and unmap paths
of `CoreyMemory` do to them.

What it models: an address range ("address tree" in Corey's code) is a kernel object on a chip
the caller names: a header, a reader-writer lock on its mappings (read-locked by every fault
that passes through the range), a lock on its page map (taken to fill an entry), and a table of
mapping slots (va, pages, object id, offset). Its page-table root is a PML4 page for a pcore's
root range, a PD page (a 1 GB subtree) for a range that can be mounted: mounting installs that
PD in the root's PDPT, so every root that mounts the range walks the same PD and PT pages.
A segment is a `PageObject`: a slot per page, filled on first use. Object ids come from a
per-core counter with the core number in the top bits, so making one touches no shared line.
Each object sits on its own lines (padded), not a page of its own: lines are what caches see.
Segments and ranges are entered in a share when made (`CoreyShares.kobject_enter`), and the
calls name them through shares: by id in the caller's own share, or as (share id, object id);
a pcore names its own root range by its id.

Invariants: `AddressRange.slots` (the Python view) equals the slot table in memory; mappings of
one range never overlap; a mountable range is mounted only in root ranges; the cores a range's
unmap interrupts are those whose root ranges reach it (`roots()`).

Left out: growing the slot table (a range holds `ar_slots` mappings, or two per core on a
bigger machine, so that a root can mount every core's range; the next is ENOMEM), the
one-entry lookup cache of `at_pmap_fill`, freeing objects (the shares count references to a
segment or range, as to any kernel object; nothing frees one at zero).
Source: Corey kern/kern/at.c, at.h.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..hardware.core import Core, Op
from ..hardware.memory import OutOfMemory
from .base import Errno, KernelError, Task
from .locks import MCSLock, MCSRWLock
from .mmu import TASK_SIZE, PageObject, VirtualMemory
from .objects import Struct, capacity
from .pagetables import PD, PML4, PRESENT
from .shares import ID_COUNT_MASK, CoreyShares

RANGE_SPAN = 1 << 30  # a mounted range is one PDPT entry's subtree (1 GB)

# An address range's object page: its header, the rwlock on its mappings (read by every fault
# that passes through it), the lock on its page map, then its mapping slots (4 words each:
# va, pages, object id, offset in pages). Padded: each on its own line.
RANGE_HEADER = {"header": ["id", "interior", "pgmap", "nmaps"],
                "map_lock": ["map_tail", "map_readers", "map_writer"],
                "pgmap_lock": ["pgmap_tail"]}  # fmt: skip
SLOT_WORDS = 4
# A segment's object page: its header and the lock that guards filling its page slots.
SEGMENT_LINES = {"header": ["id", "npages", "slots", "refcount"], "lock": ["lock_tail"]}


@dataclass(eq=False)
class Mapping:
    """One slot of a range: `npages` pages at `va` (in the range's own addresses) of a segment
    from its page `offset` on, or a whole range mounted there."""

    va: int
    npages: int
    target: Any  # PageObject (a segment) | AddressRange
    offset: int
    slot: int


class AddressRange:
    """A Corey address range: its object on a chip, its page-table root (a PML4 page for a
    pcore's root range, a PD page for a range that can be mounted), its mappings."""

    def __init__(self, vm: VirtualMemory, oid: int, name: str, chip: int, table: int,
                 interior: bool) -> None:  # fmt: skip
        m = vm.machine
        self.id, self.name, self.chip, self.table, self.interior = oid, name, chip, table, interior
        slots = capacity(vm.mparams.ar_slots, m.params.cores)  # room for every core's range
        lines = {**RANGE_HEADER, "maps": [("maps", SLOT_WORDS * slots)]}
        self.s = s = Struct(m, name, lines, chip)
        rw = MCSRWLock(f"{name}.map_lock", m, s["map_tail"], s["map_readers"], s["map_writer"])
        self.map_lock = vm.register(rw)
        self.pgmap_lock = vm.register(MCSLock(f"{name}.pgmap_lock", m, s["pgmap_tail"]))
        self.level = PD if interior else PML4
        self.span = RANGE_SPAN if interior else TASK_SIZE
        self.slots: list[Mapping | None] = [None] * slots
        self.parents: list[tuple[AddressRange, int]] = []  # (root range, va) it is mounted at
        self.cores: set[int] = set()  # cores whose pcore runs in it (root ranges)
        self.page_size = m.params.page_size
        self._found: Mapping | None = None  # `find`'s last answer: most accesses ask it again

    def find(self, va: int) -> Mapping | None:
        """The mapping that holds `va` (mappings never overlap), or None. (A loop, not a
        generator: Corey's every user access asks this of one or two ranges. The last one
        found, while still in its slot, answers whenever it holds `va`.)"""
        ps, last = self.page_size, self._found
        if (
            last is not None
            and self.slots[last.slot] is last
            and last.va <= va < last.va + last.npages * ps
        ):
            return last
        for m in self.slots:
            if m and m.va <= va < m.va + m.npages * ps:
                self._found = m
                return m
        return None

    def overlaps(self, va: int, end: int) -> bool:
        ps = self.page_size
        return any(m and m.va < end and va < m.va + m.npages * ps for m in self.slots)

    def roots(self) -> list[tuple[AddressRange, int]]:
        """The root ranges that reach this one, with where it sits in each."""
        return list(self.parents) if self.interior else [(self, 0)]

    def slot_addr(self, slot: int, word: int = 0) -> int:
        return self.s["maps", slot * SLOT_WORDS + word]


class RangeTable:
    """What `CoreyMemory` does to ranges besides its system calls and faults: slots, ids,
    objects, the lock path of a fault, shootdowns. It touches the kernel's virtual memory
    (`vm`: pages, TLBs, parameters, lock list) and its shares (for object ids)."""

    def __init__(self, vm: VirtualMemory, shares: CoreyShares) -> None:
        self.vm, self.shares, self.machine = vm, shares, vm.machine
        self.objects: dict[int, Any] = {}  # object id -> segment (PageObject) or AddressRange

    def scan(self, core: Core, r: AddressRange, upto: int) -> Op:
        """Look through the slots for the one that maps the address (va and size of each)."""
        for slot in range(upto + 1):
            if r.slots[slot] is not None:
                yield from core.load(r.slot_addr(slot, 0))
                yield from core.load(r.slot_addr(slot, 1))

    def resolve(self, root: AddressRange, va: int):
        """(range whose table maps va, its mapping, va in that range) or None."""
        m = root.find(va)
        if m is None or not isinstance(m.target, AddressRange):
            return m and (root, m, va)
        inner, rva = m.target, va - m.va
        mm = inner.find(rva)
        return mm and (inner, mm, rva)

    def check_window(self, r: AddressRange, va: Any, size: int, align: int) -> int:
        """Check [va, va + size) is aligned, inside `r`, free; return a free slot."""
        self.vm.check_addr(va, align, "va")
        if va + size > r.span:
            raise KernelError(Errno.EINVAL, f"[{va:#x}, {va + size:#x}) is outside {r.name}")
        if r.overlaps(va, va + size):
            raise KernelError(Errno.EEXIST, f"[{va:#x}, {va + size:#x}) overlaps a mapping")
        slot = next((i for i, m in enumerate(r.slots) if m is None), None)
        if slot is None:
            raise KernelError(Errno.ENOMEM, f"{r.name} has no free mapping slot")
        return slot

    def mapping_at(self, r: AddressRange, va: Any) -> Mapping:
        m = next((m for m in r.slots if m and m.va == va), None)
        if m is None:
            raise KernelError(Errno.EINVAL, f"nothing is mapped at {va!r} in {r.name}")
        return m

    def write_slot(self, core: Core, r: AddressRange, m: Mapping) -> Op:
        for word, value in enumerate((m.va, m.npages, m.target.id, m.offset)):
            yield from core.store(r.slot_addr(m.slot, word), value)
        r.slots[m.slot] = m

    def next_id(self, task: Task, kind: str) -> tuple[int, str]:
        """The id the caller's core gives its next object (Corey's per-core counter, shared with
        every kernel object, so ids never collide), and a name for its lines;
        `CoreyShares.kobject_id_use` uses it up once the object exists."""
        oid = self.shares.kobject_id(task)
        return oid, f"{kind}[{task.core.id}.{oid & ID_COUNT_MASK}]"

    def make_range(self, task: Task, chip: int, table: int, interior: bool) -> AddressRange:
        oid, name = self.next_id(task, "ar")
        try:
            r = AddressRange(self.vm, oid, name, chip, table, interior)
        except OutOfMemory:
            self.vm.pages.release([table])
            raise KernelError(Errno.ENOMEM, f"chip {chip} has no room for {name}") from None
        self.shares.kobject_id_use(oid)
        self.vm.pages.label(table, f"{name}.{'pd' if interior else 'pml4'}")
        return r

    def segment_header(self, name: str):
        def make(chip: int) -> tuple[Struct, MCSLock]:
            s = Struct(self.machine, name, SEGMENT_LINES, chip)
            return s, self.vm.register(MCSLock(f"{name}.lock", self.machine, s["lock_tail"]))

        return make

    def lookup(self, oid: Any, kind: type, what: str):
        obj = self.objects.get(oid) if isinstance(oid, int) else None
        if obj is None:
            raise KernelError(Errno.ENOENT, f"no object {oid!r}")
        if not isinstance(obj, kind):
            raise KernelError(Errno.EINVAL, f"object {oid:#x} is not {what}")
        return obj

    def range(self, oid: Any) -> AddressRange:
        return self.lookup(oid, AddressRange, "an address range")

    def segment(self, oid: Any) -> PageObject:
        return self.lookup(oid, PageObject, "a segment")

    def read_lock_path(self, core: Core, root: AddressRange, va: int) -> Op:
        """at_pmap_fill: read-lock each range's mappings and scan its slots for the one that
        maps va, from the root down into a mounted range. Returns the ranges locked."""
        path, r, rva = [], root, va
        while r is not None:
            yield from r.map_lock.read_acquire(core)
            path.append(r)
            m = r.find(rva)
            yield from self.scan(core, r, m.slot if m else len(r.slots) - 1)
            r, rva = (m.target, rva - m.va) if m and isinstance(m.target, AddressRange) else (
                None, rva)  # fmt: skip
        return path

    def read_unlock(self, core: Core, path: list[AddressRange]) -> Op:
        for r in reversed(path):
            yield from r.map_lock.read_release(core)

    def fill_pte(self, core: Core, r: AddressRange, pte: int, page: int) -> Op:
        yield from r.pgmap_lock.acquire(core)
        empty = not (yield from core.load(pte)) & PRESENT
        if empty:
            yield from core.store(pte, page | PRESENT)
        yield from r.pgmap_lock.release(core)
        return empty

    def lock_window(self, core: Core, r: AddressRange, va: int, size: int, align: int) -> Op:
        """Write-lock `r`'s mappings and check the window again under the lock (another core
        may have mapped it since the first check); return a free slot."""
        yield from r.map_lock.write_acquire(core)
        try:
            return self.check_window(r, va, size, align)
        except KernelError:
            yield from r.map_lock.write_release(core)
            raise

    def shootdown(self, core: Core, roots: list, va: int, npages: int) -> Op:
        """Flush [va, va + npages pages) of a range from the TLBs of the cores running in the
        roots that reach it (`roots`: (root range, where the range sits in it))."""
        shift = self.vm.page_shift
        windows = [(root.id, (base + va) >> shift, ((base + va) >> shift) + npages)
                   for root, base in roots]  # fmt: skip
        cores = set().union(*(root.cores for root, _ in roots))
        yield from self.vm.tlbs.shootdown(core, cores, windows, self.vm.mparams.ipi_cycles)
