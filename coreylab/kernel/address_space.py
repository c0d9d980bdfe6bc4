"""Address spaces: Linux's mm_struct, VMAs and page faults | Corey's segments and address ranges.

Both designs map virtual pages through x86-64 page tables in simulated memory and fill entries
lazily in page faults; the MMU path (TLB, walk, fault, access) is shared (`mmu.py`). What
differs is which kernel data a fault or an unmap touches, and who else touches it:

  Linux (`LinuxMemory`): one `mm_struct` per process, shared by its threads. A fault takes
    `mmap_sem` for reading (two atomics on one line), walks the VMA list (writing `mmap_cache`
    when it misses), takes the page-table lock and bumps an rss counter: all lines of the one
    `mm` every thread shares. `mmap`/`munmap` take `mmap_sem` for writing; `munmap` interrupts
    every core that ran the address space (`cpu_vm_mask`). A `MAP_SHARED` object mapped by
    several processes costs each process a soft fault per page: page tables are per process.
  Corey (`CoreyMemory`): a segment holds physical pages; an address range ("address tree" in
    Corey's code) maps segments and other ranges and owns its page-table pages. Each pcore runs
    in a private root range. A fault read-locks the ranges it passes through and locks the page
    map of the one whose table it fills; a range mounted in several roots (`ar_set_ar`) shares
    its page-table subtree (its PD page is installed in each root's PDPT), so a page faulted in
    by one core is mapped for all; unmapping interrupts only cores whose roots mount the range.

This file holds the two designs' system calls and fault paths, to be read side by side; the
structures and their bookkeeping are in `mm_struct.py` (Linux) and `address_range.py` (Corey),
the shared machinery in `mmu.py`, `pagetables.py` and `tlb.py`.

Placement: an `mm` on the chip its process was made on, VMAs on the caller's chip (the slab is
per node), page-table pages and fresh pages on the faulting core's chip; Corey objects on the
chip the caller names.

Errors: a call checks its input against the Python-side view of the mappings and reserves the
pages it may need before its first simulated access, so one that raises changed nothing. What
another core may change between that check and the call's locks (a share filled up, an object
taken out of its share, a window mapped) is checked again under the lock, and a call that
fails there gives back what it reserved (pages, id, locks) before it raises.

Left out: VMA merging and the rb-tree (find_vma walks the list), copy-on-write, fork, the zero
page (a read fault allocates like a write), swapping, mprotect, nested mounts in Corey (only a
root range mounts ranges), freeing Corey objects.
Sources: Linux 2.6.27 include/linux/mm_types.h, mm/memory.c, mm/mmap.c; Corey kern/kern/at.c.
"""

from __future__ import annotations

from typing import Any

from ..hardware.core import Core, Op
from ..hardware.memory import OutOfMemory
from .address_range import RANGE_SPAN, SLOT_WORDS, AddressRange, Mapping, RangeTable
from .base import Errno, KernelBase, KernelError, Task
from .mm_struct import MM, VMA, MmOps
from .mmu import (
    PAGE_COUNT,
    PAGE_FLAGS,
    PAGE_MAPCOUNT,
    TASK_SIZE,
    WORD,
    PageObject,
    VirtualMemory,
)
from .pagetables import PDPT, PML4, PRESENT, PT, clear_ptes, descend, entry_addr, peek_missing
from .shares import CoreyShares

# =============================================================================================
# Linux
# =============================================================================================


class LinuxMemory:
    """Linux 2.6.2x address spaces: mm_struct, VMAs, per-process page tables, page faults.
    It touches `base` (the machine, the cost of entering the kernel), its own virtual memory
    (`vm`: pages, TLBs, fault counts, the MMU path) and its mm bookkeeping (`ops`)."""

    def __init__(self, base: KernelBase) -> None:
        self.machine, self.enter = base.machine, base.enter
        self.vm = VirtualMemory(base)
        self.mms: list[MM] = []
        self.shared_objects: list[PageObject] = []
        self.ops = MmOps(self.vm, self.shared_objects)

    def new_mm(self, chip: int) -> MM:
        """An address space for a new process, on `chip` (called when the process is made)."""
        pgd = self.vm.reserve(chip, 1)
        try:
            mm = MM(self.vm, len(self.mms), chip, pgd[0])
        except OutOfMemory:
            self.vm.pages.release(pgd)
            raise KernelError(Errno.ENOMEM, f"chip {chip} has no room for an mm") from None
        self.mms.append(mm)
        return mm

    # -- system calls ----------------------------------------------------------------------------
    def shmem_create(self, task: Task, length: int) -> Op:
        """A MAP_SHARED object of `length` bytes (shm_open + ftruncate): its page-cache slots on
        the caller's chip, no pages yet. Returns the object, to pass to `mmap`."""
        npages = self.vm.check_length(length)
        name = f"shm[{len(self.shared_objects)}]"
        obj = self.vm.new_object(task.core.chip, npages, name, self.ops.tree_lock(name))
        obj.id = len(self.shared_objects)
        self.shared_objects.append(obj)
        yield from self.enter(task)
        yield from self.ops.zero_slots(task.core, obj)
        return obj

    def mmap(self, task: Task, length: int, shared: PageObject | None = None, offset: int = 0,
             addr: int | None = None):  # fmt: skip
        """Map `length` bytes, anonymous or of a MAP_SHARED object from byte `offset`; return
        the address: `addr` if that much is free there (mmap's hint), else the lowest hole.
        Takes mmap_sem for writing."""
        mm, core = self.ops.mm_of(task), task.core
        npages = self.vm.check_length(length)
        if shared is not None:
            self.ops.check_object(shared, offset, npages)
        if addr is not None:
            self.vm.check_addr(addr, self.vm.page_size)
        struct = self.ops.vma_struct(core.chip)
        yield from self.enter(task)
        yield from self.ops.ran(core, mm)
        yield from mm.mmap_sem.down_write(core)
        free = (
            addr is not None
            and addr + length <= TASK_SIZE
            and not mm.overlapping(addr, addr + length)
        )
        start = addr if free else mm.hole(length)
        if start is None:
            self.ops.vma_pool[core.chip].append(struct)
            yield from mm.mmap_sem.up_write(core)
            raise KernelError(Errno.ENOMEM, f"no hole of {length} bytes in {mm.name}")
        vma = VMA(struct, start, start + length, shared, offset // self.vm.page_size)
        yield from self.ops.link_vma(core, mm, vma)
        yield from self.ops.add(core, mm.s["total_vm"], npages)
        yield from core.compute(self.vm.mparams.map_work_cycles)
        yield from mm.mmap_sem.up_write(core)
        return start

    def brk(self, task: Task, addr: int, length: int) -> Op:
        """Grow the mapping that starts at `addr` by `length` bytes at its end, as sys_brk
        grows the heap (do_brk merges the pages into the heap's VMA) and glibc's grow_heap a
        thread's arena (mprotect over its reservation): mmap_sem for writing, find the VMA,
        move its end, account total_vm. ENOMEM if something is mapped in the way."""
        mm, core = self.ops.mm_of(task), task.core
        npages = self.vm.check_length(length)
        vma = mm.find(self.vm.check_addr(addr, self.vm.page_size))
        if vma is None or vma.start != addr:
            raise KernelError(Errno.EINVAL, f"no mapping starts at {addr:#x} in {mm.name}")
        self._check_room(mm, vma, length)
        yield from self.enter(task)
        yield from self.ops.ran(core, mm)
        yield from mm.mmap_sem.down_write(core)
        try:  # again under the semaphore: another thread may have mapped there meanwhile
            end = self._check_room(mm, vma, length)
        except KernelError:
            yield from mm.mmap_sem.up_write(core)
            raise
        yield from self.ops.find_vma(core, mm, addr)
        vma.end = end
        yield from core.store(vma.s["vm_end"], end)
        yield from self.ops.add(core, mm.s["total_vm"], npages)
        yield from core.compute(self.vm.mparams.map_work_cycles)
        yield from mm.mmap_sem.up_write(core)

    def _check_room(self, mm: MM, vma: VMA, length: int) -> int:
        """brk's check: nothing mapped in [end, end + length), the object has the pages."""
        end = vma.end + length
        beyond = vma.obj is not None and vma.index(end, self.vm.page_size) > vma.obj.npages
        if end > TASK_SIZE or mm.overlapping(vma.end, end) or beyond:
            raise KernelError(Errno.ENOMEM, f"no room to grow {vma.start:#x} by {length} bytes")
        return end

    def munmap(self, task: Task, addr: int, length: int) -> Op:
        """Unmap [addr, addr + length), which must be mapped: split or trim VMAs, clear the
        PTEs, drop the pages, shoot down the TLB of every core that ran the mm."""
        mm, core = self.ops.mm_of(task), task.core
        self.vm.check_addr(addr, self.vm.page_size)
        self.vm.check_length(length)
        end = addr + length
        if end > TASK_SIZE or not mm.covered(addr, end):
            raise KernelError(Errno.EFAULT, f"[{addr:#x}, {end:#x}) is not all mapped")
        inside = [v for v in mm.overlapping(addr, end) if v.start < addr and end < v.end]
        spare = self.ops.vma_struct(core.chip) if inside else None
        yield from self.enter(task)
        yield from self.ops.ran(core, mm)
        yield from mm.mmap_sem.down_write(core)
        if not mm.covered(addr, end):  # another thread unmapped some of it meanwhile
            yield from mm.mmap_sem.up_write(core)
            raise KernelError(Errno.EFAULT, f"[{addr:#x}, {end:#x}) is not all mapped")
        kinds = [(v.start, v.end, v.obj) for v in mm.overlapping(addr, end)]
        yield from self.ops.unlink_range(core, mm, addr, end, spare)
        yield from mm.page_table_lock.acquire(core)  # mmap_sem held for writing: no fault races
        gone = yield from clear_ptes(core, mm.pgd, addr, end)
        yield from mm.page_table_lock.release(core)
        shift = self.vm.page_shift
        yield from self.vm.tlbs.shootdown(
            core, mm.cpus, [(mm.id, addr >> shift, end >> shift)], self.vm.mparams.ipi_cycles
        )
        yield from self.ops.drop_pages(core, mm, gone, kinds)
        yield from core.compute(self.vm.mparams.map_work_cycles)
        yield from mm.mmap_sem.up_write(core)

    def touch(self, task: Task, addr: int, write: bool = True, value: int = 1) -> Op:
        """The application reads or writes the word at `addr` through the MMU."""
        mm = self.ops.mm_of(task)
        self.vm.check_addr(addr, WORD)
        if mm.find(addr) is None:
            raise KernelError(Errno.EFAULT, f"{addr:#x} is not mapped in {mm.name}")
        if task.core.id not in mm.cpus:
            yield from self.ops.ran(task.core, mm)
        return (yield from self.vm.access(task, mm.id, mm.pgd, addr, write, value, self._fault))

    # -- the page fault --------------------------------------------------------------------------
    def _fault(self, task: Task, va: int) -> Op:
        """do_anonymous_page / do_linear_fault under mmap_sem read."""
        core, mm = task.core, task.mm
        vma = mm.find(va)
        if vma is None:
            raise KernelError(Errno.EFAULT, f"{va:#x} is not mapped in {mm.name}")
        needs_page = vma.obj is None or vma.index(va, self.vm.page_size) not in vma.obj.pages
        values = self.machine.memory.values
        spare = self.vm.reserve(core.chip, needs_page + peek_missing(values, mm.pgd, va))
        mp = self.vm.mparams
        yield from core.compute(mp.fault_trap_cycles + mp.fault_work_cycles)
        yield from mm.mmap_sem.down_read(core)
        vma = yield from self.ops.find_vma(core, mm, va)
        if vma is None:  # unmapped by another thread meanwhile
            yield from mm.mmap_sem.up_read(core)
            self.vm.pages.release(spare)
            raise KernelError(Errno.EFAULT, f"{va:#x} is not mapped in {mm.name}")
        if vma.obj is None:
            page, hard = spare.pop(), True
            yield from self.vm.fresh_page(core, page, f"{mm.name}.anon")
        else:
            index = vma.index(va, self.vm.page_size)
            page, hard = yield from self.vm.object_page(core, vma.obj, index, spare)
        new_table = self.vm.new_table(spare, mm.name)
        pt = yield from descend(core, mm.pgd, va, PML4, PT, new_table, mm.page_table_lock)
        done = yield from self._set_pte(core, mm, vma, pt, va, page)
        if not done and vma.obj is None:
            spare.append(page)  # another thread mapped it first: our page goes back
        yield from mm.mmap_sem.up_read(core)
        self.vm.pages.release(spare)
        if done:
            self.vm.faults.count(core.id, hard)

    def _set_pte(self, core: Core, mm: MM, vma: VMA, pt: int, va: int, page: int) -> Op:
        """Under the PTE lock: fill the entry unless someone did, account the page."""
        ptl = self.ops.ptlock(mm, pt)
        pte = entry_addr(pt, va, PT)
        yield from ptl.acquire(core)
        if (yield from core.load(pte)) & PRESENT:
            yield from ptl.release(core)
            return False
        yield from core.store(pte, page | PRESENT)
        counter = mm.s["anon_rss" if vma.obj is None else "file_rss"]
        yield from self.ops.bump(core, counter, 1)
        desc = self.vm.pages.descriptor(page)
        if vma.obj is None:  # page_add_new_anon_rmap: the page is ours alone, a plain store
            yield from core.store(desc + PAGE_MAPCOUNT, 1)
        else:  # get_page + page_add_file_rmap: atomics on a line every mapper shares
            yield from core.fetch_add(desc + PAGE_COUNT, 1)
            yield from core.fetch_add(desc + PAGE_MAPCOUNT, 1)
        yield from ptl.release(core)
        return True


# =============================================================================================
# Corey
# =============================================================================================


class CoreyMemory:
    """Corey's address spaces: segments, address ranges, per-range page tables and faults.
    It touches `base` (the machine, the cost of entering the kernel), its own virtual memory
    (`vm`), its ranges' bookkeeping (`ranges`) and the kernel's `shares`, which name every
    segment and range."""

    def __init__(self, base: KernelBase, shares: CoreyShares) -> None:
        self.machine, self.enter, self.own = base.machine, base.enter, base.own
        self.locks = base.locks
        self.vm = VirtualMemory(base)
        self.shares = shares
        self.ranges = RangeTable(self.vm, shares)
        self.mem_objects = self.ranges.objects  # object id -> segment (PageObject) or range

    def init_pcore_memory(self, task: Task) -> None:
        """A private root range for a new pcore, on its chip (made before it runs)."""
        chip = task.core.chip
        root = self.ranges.make_range(task, chip, self.vm.reserve(chip, 1)[0], interior=False)
        root.cores.add(task.core.id)
        self.mem_objects[root.id] = root
        task.root_range = root.id

    def root_range(self, task: Task) -> int:
        """The id of the range the pcore runs in."""
        return task.root_range

    # -- system calls ----------------------------------------------------------------------------
    def segment_alloc(
        self, task: Task, pages: int, chip: int | None = None, share: int | None = None
    ) -> Op:
        """A segment of `pages` pages, its object on `chip` (default: the caller's) and named in
        `share` (default: the caller's own); its pages are made on first use. Its id."""
        if isinstance(pages, bool) or not isinstance(pages, int) or pages <= 0:
            raise KernelError(Errno.EINVAL, f"pages must be a positive number, not {pages!r}")
        chip = self.vm.check_chip(chip, self.own(task).core.chip)
        share = self.shares.share_check(task, share)
        oid, name = self.ranges.next_id(task, "seg")
        seg = self.vm.new_object(chip, pages, name, self.ranges.segment_header(name))
        seg.id = oid
        self.shares.kobject_id_use(oid)
        yield from self.enter(task)
        try:
            yield from self.shares.kobject_enter(task, share, "segment", chip, oid)
        except KernelError:  # the share filled up meanwhile: give back what the call took
            self._forget(oid, seg.slot_pages, [seg.lock])
            raise
        for page in seg.slot_pages:
            yield from self.vm.fresh_page(task.core, page, f"{name}.slots")
        for field_name, value in (("id", oid), ("npages", pages), ("slots", seg.slot_pages[0])):
            yield from task.core.store(seg.header[field_name], value)
        self.mem_objects[oid] = seg
        return oid

    def ar_alloc(self, task: Task, chip: int | None = None, share: int | None = None) -> Op:
        """An address range that can be mounted (a 1 GB page-table subtree), its object and
        page directory on `chip` (default: the caller's), named in `share` (default: the
        caller's own). Its id."""
        chip = self.vm.check_chip(chip, self.own(task).core.chip)
        share = self.shares.share_check(task, share)
        ar = self.ranges.make_range(task, chip, self.vm.reserve(chip, 1)[0], interior=True)
        yield from self.enter(task)
        try:
            yield from self.shares.kobject_enter(task, share, "address_range", chip, ar.id)
        except KernelError:  # the share filled up meanwhile: give back what the call took
            self._forget(ar.id, [ar.table], [ar.map_lock, ar.pgmap_lock])
            raise
        yield from self.vm.fresh_page(task.core, ar.table, f"{ar.name}.pd")
        for field_name, value in (("id", ar.id), ("interior", 1), ("pgmap", ar.table)):
            yield from task.core.store(ar.s[field_name], value)
        self.mem_objects[ar.id] = ar
        return ar.id

    def _forget(self, oid: int, pages: list[int], locks: list) -> None:
        """Undo an object a failed call made: its pages back to the pool, its locks off the
        kernel's list, its id back to its core (its few header lines stay allocated: the
        machine's memory is never freed)."""
        self.vm.pages.release(pages)
        for lock in locks:
            self.locks.remove(lock)
        self.shares.kobject_id_unuse(oid)

    def _named(self, task: Task, name: Any) -> tuple[int | None, Any]:
        """(share, id) for an object name: `(share id, object id)`, or an id alone, looked up in
        the caller's own share; checked in no time (ENOENT, EACCES) before anything changes.
        The range a pcore runs in it names by its own id. (The share is None for that.)"""
        share, oid = name if isinstance(name, tuple) and len(name) == 2 else (None, name)
        if not getattr(oid, "__hash__", None):  # a list or dict names nothing
            raise KernelError(Errno.EINVAL, f"an object name is an id, not {name!r:.40}")
        if share is None and oid == self.own(task).root_range:
            return None, oid
        return self.shares.share_check(task, share, oid), oid

    def _look_up(self, task: Task, *named: tuple[int | None, Any]) -> Op:
        """What naming costs: each object found in its share, under the share's read lock."""
        for share, oid in named:
            if share is not None:
                yield from self.shares.share_find(task, share, oid)

    def ar_set_seg(self, task: Task, ar: Any, va: int, seg: Any, offset: int = 0,
                   pages: int | None = None) -> Op:  # fmt: skip
        """Map `pages` pages of segment `seg` from its page `offset` at `va` in range `ar`
        (an address in the range's own space: from 0 for a mountable range). Objects are named
        by id in the caller's own share, or by (share id, object id)."""
        ar_share, ar = self._named(task, ar)
        r = self.ranges.range(ar)
        seg_share, seg = self._named(task, seg)
        s = self.ranges.segment(seg)
        pages = s.npages - offset if pages is None else pages
        for name, value in (("offset", offset), ("pages", pages)):
            if isinstance(value, bool) or not isinstance(value, int) or value < (name == "pages"):
                raise KernelError(Errno.EINVAL, f"{name} must be a whole number, not {value!r}")
        if offset + pages > s.npages:
            raise KernelError(Errno.EINVAL, f"{s.name} has {s.npages} pages, not {offset + pages}")
        size = pages * self.vm.page_size
        self.ranges.check_window(r, va, size, self.vm.page_size)
        core = task.core
        yield from self.enter(task)
        yield from self._look_up(task, (ar_share, ar), (seg_share, seg))
        slot = yield from self.ranges.lock_window(core, r, va, size, self.vm.page_size)
        yield from self.ranges.write_slot(core, r, Mapping(va, pages, s, offset, slot))
        yield from core.compute(self.vm.mparams.map_work_cycles)
        yield from r.map_lock.write_release(core)

    def ar_set_ar(self, task: Task, ar: Any, va: int, inner: Any) -> Op:
        """Mount range `inner` at `va` (1 GB aligned) in root range `ar`: the root's PDPT entry
        then points at `inner`'s page directory, shared with every root it is mounted in.
        Names as for `ar_set_seg`: a range another pcore made is reached through a share."""
        ar_share, ar = self._named(task, ar)
        outer = self.ranges.range(ar)
        inner_share, inner = self._named(task, inner)
        r = self.ranges.range(inner)
        if outer.interior or not r.interior:
            raise KernelError(Errno.EINVAL, "only a mountable range mounts, in a root range")
        self.ranges.check_window(outer, va, RANGE_SPAN, RANGE_SPAN)
        core, values = task.core, self.machine.memory.values
        spare = self.vm.reserve(core.chip, peek_missing(values, outer.table, va, PML4, PDPT))
        yield from self.enter(task)
        try:  # either may have left its share meanwhile (ENOENT), or the window filled up
            yield from self._look_up(task, (ar_share, ar), (inner_share, inner))
            slot = yield from self.ranges.lock_window(core, outer, va, RANGE_SPAN, RANGE_SPAN)
        except KernelError:
            self.vm.pages.release(spare)
            raise
        new_table = self.vm.new_table(spare, outer.name)
        pdpt = yield from descend(core, outer.table, va, PML4, PDPT, new_table, outer.pgmap_lock)
        yield from outer.pgmap_lock.acquire(core)
        yield from core.store(entry_addr(pdpt, va, PDPT), r.table | PRESENT)
        yield from outer.pgmap_lock.release(core)
        mapping = Mapping(va, RANGE_SPAN // self.vm.page_size, r, 0, slot)
        yield from self.ranges.write_slot(core, outer, mapping)
        r.parents.append((outer, va))
        yield from core.compute(self.vm.mparams.map_work_cycles)
        yield from outer.map_lock.write_release(core)
        self.vm.pages.release(spare)

    def ar_unset(self, task: Task, ar: Any, va: int) -> Op:
        """Remove the mapping at `va` of range `ar`: clear its entries and shoot down the TLBs
        of the cores whose root ranges reach it, and only those."""
        ar_share, ar = self._named(task, ar)
        r, core = self.ranges.range(ar), task.core
        self.ranges.mapping_at(r, va)
        yield from self.enter(task)
        yield from self._look_up(task, (ar_share, ar))
        yield from r.map_lock.write_acquire(core)
        try:  # again under the lock: another core may have removed it meanwhile
            m = self.ranges.mapping_at(r, va)
        except KernelError:
            yield from r.map_lock.write_release(core)
            raise
        for word in range(SLOT_WORDS):
            yield from core.store(r.slot_addr(m.slot, word), 0)
        r.slots[m.slot] = None
        yield from r.pgmap_lock.acquire(core)
        if isinstance(m.target, AddressRange):  # unmount: empty the root's PDPT entry
            pdpt = yield from core.load(entry_addr(r.table, va, PML4))
            yield from core.store(entry_addr(pdpt - PRESENT, va, PDPT), 0)
            m.target.parents.remove((r, va))
            roots = [(r, 0)]
        else:
            yield from clear_ptes(core, r.table, va, va + m.npages * self.vm.page_size, r.level)
            roots = r.roots()
        yield from r.pgmap_lock.release(core)
        yield from self.ranges.shootdown(core, roots, va, m.npages)
        yield from core.compute(self.vm.mparams.map_work_cycles)
        yield from r.map_lock.write_release(core)

    def touch(self, task: Task, addr: int, write: bool = True, value: int = 1) -> Op:
        """The application reads or writes the word at `addr` through the MMU."""
        root = self.mem_objects[self.own(task).root_range]
        self.vm.check_addr(addr, WORD)
        if self.ranges.resolve(root, addr) is None:
            raise KernelError(Errno.EFAULT, f"{addr:#x} is not mapped in {root.name}")
        access = self.vm.access(task, root.id, root.table, addr, write, value, self._fault)
        return (yield from access)

    # -- the page fault (at_pagefault) -----------------------------------------------------------
    def _fault(self, task: Task, va: int) -> Op:
        """Read-lock the mappings of the ranges on the way, get the segment's page, fill the
        entry in the page table of the range that maps it, under that range's page-map lock."""
        core, root = task.core, self.mem_objects[task.root_range]
        hit = self.ranges.resolve(root, va)
        if hit is None:
            raise KernelError(Errno.EFAULT, f"{va:#x} is not mapped in {root.name}")
        owner, m, rva = hit
        index = m.offset + (rva - m.va) // self.vm.page_size
        values = self.machine.memory.values
        needs = (index not in m.target.pages) + peek_missing(values, owner.table, rva, owner.level)
        spare = self.vm.reserve(core.chip, needs)
        mp = self.vm.mparams
        yield from core.compute(mp.fault_trap_cycles + mp.fault_work_cycles)
        path = yield from self.ranges.read_lock_path(core, root, va)
        if self.ranges.resolve(root, va) != hit:  # unmapped meanwhile
            yield from self.ranges.read_unlock(core, path)
            self.vm.pages.release(spare)
            raise KernelError(Errno.EFAULT, f"{va:#x} is not mapped in {root.name}")
        page, hard = yield from self.vm.object_page(core, m.target, index, spare)
        if not hard:  # page_info: is it cleared already?
            yield from core.load(self.vm.pages.descriptor(page) + PAGE_FLAGS)
        new_table = self.vm.new_table(spare, owner.name)
        pt = yield from descend(
            core, owner.table, rva, owner.level, PT, new_table, owner.pgmap_lock
        )
        done = yield from self.ranges.fill_pte(core, owner, entry_addr(pt, rva, PT), page)
        yield from self.ranges.read_unlock(core, path)
        self.vm.pages.release(spare)
        if done:
            self.vm.faults.count(core.id, hard)
