"""Linux's address-space bookkeeping: mm_struct on its lines, VMAs and the VMA list, and what
the fault and munmap paths of `LinuxMemory` do to them.

What it models: `mm_struct` laid out as Linux 2.6.27 lays it out on x86-64 (fields of 8 bytes;
where the real fields are 4 bytes, two share a word), so the lines a fault touches are the real
ones: which fields share a line decides what bounces between cores (see `MM_LINES`). `mmap_sem`
is Linux's sleeping rw-semaphore (`locks.RWSemaphore`: waiters queue and sleep). The VMA list
is in simulated memory, sorted by address and linked through `vm_next`; `find_vma` tries the
one-entry `mmap_cache` and else walks the list, writing the cache. With split PTE locks
(2.6.27 on 4 or more CPUs) a fault's PTE lock lives in the page-table page's `struct page` and
the rss counters are atomics; without, both are `mm->page_table_lock`'s.

Invariants: `MM.vmas` (the Python view) holds exactly the VMAs the list in memory links, in the
same order, with the same bounds; no two VMAs overlap.

Left out: the rb-tree (a list walk stands for it: with the lab's handful of VMAs it touches the
same few lines), VMA merging (each mmap is its own VMA), anon_vma chains, the rest of the
fields of vm_area_struct (its first line is modelled).
Source: Linux 2.6.27 include/linux/mm_types.h, mm/mmap.c, lib/rwsem.c.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from ..hardware.core import Core, Op
from ..hardware.memory import OutOfMemory
from .base import Errno, KernelError, Task
from .locks import RWSemaphore, TicketLock
from .mmu import PAGE_COUNT, PAGE_MAPCOUNT, PAGE_PTL, TASK_SIZE, WORD, PageObject, VirtualMemory
from .objects import Struct

MMAP_BASE = 1 << 32  # where mmap starts looking for a hole (bottom-up)

# =============================================================================================
# Linux: mm_struct, VMAs
# =============================================================================================

# mm_struct as 2.6.27 lays it out on x86-64 (a cache-aligned slab object), one group per line:
MM_LINES = {
    # bytes 0-63: what find_vma reads (the VMA list head, the rb root) and the one-entry
    # cache it writes on a miss: every fault of every thread reads this line.
    "mmap": ["mmap", "mm_rb", "mmap_cache", "get_unmapped_area", "unmap_area", "mmap_base",
             "task_size", "cached_hole_size"],
    # bytes 64-127: free_area_cache, pgd, mm_users/mm_count, map_count, then mmap_sem (a
    # 32-bit count and the 32-bit wait_lock in one word, then the wait_list head: first and
    # last waiter) and page_table_lock at byte 120 (a ticket lock: its two halves at 120 and
    # 124). The semaphore every fault takes twice and the lock share this line.
    "mmap_sem": ["free_area_cache", "pgd", "mm_users", "map_count", "mmap_sem",
                 ("wait_list", 2), "page_table_lock"],
    # bytes 128-191: mmlist, then the rss counters every fault bumps.
    "counters": [("mmlist", 2), "file_rss", "anon_rss", "hiwater_rss", "hiwater_vm",
                 "total_vm", "nr_ptes"],
    # far below, after saved_auxv: the cores that ran this mm (switch_mm sets its bit).
    "cpu_vm_mask": ["cpu_vm_mask"],
}  # fmt: skip
# The first line of vm_area_struct: what find_vma and the fault path read.
VMA_LINES = {"vma": ["vm_mm", "vm_start", "vm_end", "vm_next", "vm_flags", "vm_pgoff",
                     "vm_file", "anon_vma"]}  # fmt: skip


@dataclass(eq=False)
class VMA:
    """One mapping of an mm: [start, end), anonymous (obj None) or of a MAP_SHARED object from
    its page `pgoff` on. `s` is its copy in simulated memory."""

    s: Struct
    start: int
    end: int
    obj: PageObject | None
    pgoff: int

    def index(self, va: int, page_size: int) -> int:
        return self.pgoff + (va - self.start) // page_size


_start = attrgetter("start")


class MM:
    """A process's address space: its mm_struct, its VMAs (sorted) and its page-table root."""

    def __init__(self, vm: VirtualMemory, mm_id: int, chip: int, pgd: int) -> None:
        self.id, self.chip, self.name, self.pgd = mm_id, chip, f"mm[{mm_id}]", pgd
        vm.pages.label(pgd, f"{self.name}.pml4")
        self.s = s = Struct(vm.machine, self.name, MM_LINES, chip)
        kp = vm.kparams
        sem = RWSemaphore(f"{self.name}.mmap_sem", vm.machine, s["mmap_sem"],
                          s["wait_list", 0], kp.wakeup_cycles, kp.switch_cycles)  # fmt: skip
        self.mmap_sem = vm.register(sem)
        vm.register(sem.wait_lock)
        ptl, half = s["page_table_lock"], 4  # the ticket lock's two halves in one word
        ptl = TicketLock(f"{self.name}.page_table_lock", ptl, ptl + half)
        self.page_table_lock = vm.register(ptl)
        self.vmas: list[VMA] = []
        self._found: VMA | None = None  # `find`'s last answer: most accesses ask it again
        self.cpus: set[int] = set()  # cores that ran this mm: Python's copy of cpu_vm_mask
        values = vm.machine.memory.values  # made before it runs: set up in no time
        values[s["pgd"]], values[s["mmap_base"]] = self.pgd, MMAP_BASE
        values[s["task_size"]], values[s["mm_users"]] = TASK_SIZE, 1

    @property
    def struct(self) -> Struct:
        """The mm_struct `s`, by the name lesson 3 reads it."""
        return self.s

    def find(self, va: int) -> VMA | None:
        """The VMA that holds `va`, or None. (Python's view, no simulated access: the MMU's
        check on every user access. VMAs never overlap, so the last one found, while linked,
        answers whenever it holds `va`.)"""
        last = self._found
        if last is not None and last.start <= va < last.end:
            return last
        i = bisect.bisect_right(self.vmas, va, key=_start) - 1  # (looks at log2(n) starts)
        if i >= 0 and va < self.vmas[i].end:
            self._found = self.vmas[i]
            return self._found
        return None

    def unlink(self, i: int) -> None:
        """Take the i-th VMA out of Python's view."""
        if self.vmas[i] is self._found:
            self._found = None
        del self.vmas[i]

    def hole(self, length: int) -> int | None:
        """The lowest address >= MMAP_BASE with `length` free bytes (first fit)."""
        at = MMAP_BASE
        for v in self.vmas:
            if v.end <= at:
                continue
            if v.start - at >= length:
                break
            at = v.end
        return at if at + length <= TASK_SIZE else None

    def overlapping(self, start: int, end: int) -> list[VMA]:
        return [v for v in self.vmas if v.start < end and start < v.end]

    def covered(self, start: int, end: int) -> bool:
        at = start
        for v in self.overlapping(start, end):
            if v.start > at:
                return False
            at = v.end
        return at >= end


class MmOps:
    """What `LinuxMemory` does to an mm besides its system calls and faults: the VMA list in
    simulated memory (find, link, unlink), the rss counters, the PTE locks, freeing pages. It
    touches the kernel's virtual memory (`vm`: pages, parameters, lock list) and the list of
    MAP_SHARED objects the memory subsystem made."""

    def __init__(self, vm: VirtualMemory, shared_objects: list[PageObject]) -> None:
        self.vm, self.machine, self.pages = vm, vm.machine, vm.pages
        self.shared_objects = shared_objects
        self.vma_at: dict[int, VMA] = {}  # a VMA's address in memory -> the VMA
        self.vma_pool: dict[int, list[Struct]] = {}  # chip -> free VMA structs (the slab)
        self._ptlocks: dict[int, TicketLock] = {}  # split PTE locks, by PT page
        self._vmas_made = 0

    def find_vma(self, core: Core, mm: MM, va: int) -> Op:
        """find_vma: try mmap_cache, else walk the list and cache what it finds."""
        s = mm.s
        cached = yield from core.load(s["mmap_cache"])
        if cached:
            vma = self.vma_at[cached]
            start = yield from core.load(vma.s["vm_start"])
            if start <= va and va < (yield from core.load(vma.s["vm_end"])):
                return vma
        at = yield from core.load(s["mmap"])
        while at:
            vma = self.vma_at[at]
            if va < (yield from core.load(vma.s["vm_end"])):
                yield from core.store(s["mmap_cache"], at)
                found = (yield from core.load(vma.s["vm_start"])) <= va
                return vma if found else None
            at = yield from core.load(vma.s["vm_next"])
        return None

    def link_vma(self, core: Core, mm: MM, vma: VMA) -> Op:
        """Fill the VMA's fields and link it in address order (the walk to its place is the
        cost of get_unmapped_area and find_vma_prepare)."""
        s, f = mm.s, vma.s
        prev_at, at = 0, (yield from core.load(s["mmap"]))
        while at and (yield from core.load(self.vma_at[at].s["vm_start"])) < vma.start:
            prev_at, at = at, (yield from core.load(self.vma_at[at].s["vm_next"]))
        for name, value in (("vm_mm", s.base), ("vm_start", vma.start), ("vm_end", vma.end),
                            ("vm_next", at), ("vm_pgoff", vma.pgoff),
                            ("vm_file", vma.obj.id + 1 if vma.obj else 0)):  # fmt: skip
            yield from core.store(f[name], value)
        head = self.vma_at[prev_at].s["vm_next"] if prev_at else s["mmap"]
        yield from core.store(head, f.base)
        self.vma_at[f.base] = vma
        bisect.insort(mm.vmas, vma, key=_start)
        yield from self.add(core, s["map_count"], 1)

    def unlink_range(self, core: Core, mm: MM, start: int, end: int, spare) -> Op:
        """detach_vmas_to_be_unmapped with split_vma: remove, trim or split each VMA that
        [start, end) overlaps; kill mmap_cache."""
        ps = self.vm.page_size
        for v in mm.overlapping(start, end):
            if start <= v.start and v.end <= end:
                yield from self.remove_vma(core, mm, v)
                continue
            if v.start < start and end < v.end:  # the hole is inside: the tail becomes a VMA
                tail = VMA(spare, end, v.end, v.obj, v.index(end, ps))
                v.end = start
                yield from core.store(v.s["vm_end"], start)
                yield from self.link_vma(core, mm, tail)
            elif v.start < start:
                v.end = start
                yield from core.store(v.s["vm_end"], start)
            else:
                v.pgoff, v.start = v.index(end, ps), end
                yield from core.store(v.s["vm_start"], end)
                yield from core.store(v.s["vm_pgoff"], v.pgoff)
        yield from core.store(mm.s["mmap_cache"], 0)
        yield from self.add(core, mm.s["total_vm"], -((end - start) // ps))

    def remove_vma(self, core: Core, mm: MM, vma: VMA) -> Op:
        i = mm.vmas.index(vma)
        head = mm.vmas[i - 1].s["vm_next"] if i else mm.s["mmap"]
        yield from core.store(head, (yield from core.load(vma.s["vm_next"])))
        mm.unlink(i)
        del self.vma_at[vma.s.base]
        self.vma_pool.setdefault(vma.s.chip, []).append(vma.s)
        yield from self.add(core, mm.s["map_count"], -1)

    def add(self, core: Core, addr: int, delta: int) -> Op:
        yield from core.store(addr, (yield from core.load(addr)) + delta)

    def vma_struct(self, chip: int) -> Struct:
        pool = self.vma_pool.setdefault(chip, [])
        if pool:
            return pool.pop()
        try:
            self._vmas_made += 1
            return Struct(self.machine, f"vma[{self._vmas_made}]", VMA_LINES, chip)
        except OutOfMemory:
            raise KernelError(Errno.ENOMEM, f"chip {chip} has no room for a VMA") from None

    def bump(self, core: Core, counter: int, delta: int) -> Op:
        """An rss counter: atomic with split PTE locks, else plain under page_table_lock."""
        if self.vm.mparams.split_ptlock:
            yield from core.fetch_add(counter, delta)
        else:
            yield from core.store(counter, (yield from core.load(counter)) + delta)

    def ptlock(self, mm: MM, pt: int) -> TicketLock:
        if not self.vm.mparams.split_ptlock:
            return mm.page_table_lock
        lock = self._ptlocks.get(pt)
        if lock is None:
            desc = self.pages.descriptor(pt) + PAGE_PTL
            lock = self.vm.register(TicketLock(f"{mm.name}.ptl[{pt:#x}]", desc, desc + WORD))
            self._ptlocks[pt] = lock
        return lock

    # -- unmapping -------------------------------------------------------------------------------
    def drop_pages(self, core: Core, mm: MM, gone: list, kinds: list) -> Op:
        """zap_pte_range's accounting: free anonymous pages, unmap shared ones."""
        anon = [p for va, p in gone if object_at(kinds, va) is None]
        shared = [p for va, p in gone if object_at(kinds, va) is not None]
        for page in anon:
            yield from core.store(self.pages.descriptor(page) + PAGE_MAPCOUNT, 0)
        for page in shared:
            yield from core.fetch_add(self.pages.descriptor(page) + PAGE_MAPCOUNT, -1)
            yield from core.fetch_add(self.pages.descriptor(page) + PAGE_COUNT, -1)
        for counter, pages in (("anon_rss", anon), ("file_rss", shared)):
            if pages:
                yield from self.add(core, mm.s[counter], -len(pages))
        self.pages.release(anon)

    # -- small helpers ---------------------------------------------------------------------------
    def mm_of(self, task: Task) -> MM:
        if not isinstance(task.mm, MM):
            raise KernelError(Errno.EINVAL, f"{task.name} has no address space")
        return task.mm

    def ran(self, core: Core, mm: MM) -> Op:
        """switch_mm's `cpu_set`: the core joins cpu_vm_mask the first time it uses the mm."""
        if core.id not in mm.cpus:
            mm.cpus.add(core.id)
            yield from core.fetch_add(mm.s["cpu_vm_mask"], 1 << core.id)

    def check_object(self, obj: Any, offset: Any, npages: int) -> None:
        if not isinstance(obj, PageObject) or obj not in self.shared_objects:
            raise KernelError(Errno.EINVAL, f"{obj!r} is not a shared object of this kernel")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise KernelError(Errno.EINVAL, f"offset must be a non-negative number, not {offset!r}")
        if offset % self.vm.page_size or offset // self.vm.page_size + npages > obj.npages:
            raise KernelError(Errno.EINVAL, f"offset {offset} does not fit {obj.name}")

    def tree_lock(self, name: str):
        def make(chip: int) -> tuple[Struct, TicketLock]:
            s = Struct(self.machine, name, {"tree_lock": ["next", "owner"]}, chip)
            return s, self.vm.register(TicketLock(f"{name}.tree_lock", s["next"], s["owner"]))

        return make

    def zero_slots(self, core: Core, obj: PageObject) -> Op:
        for page in obj.slot_pages:
            yield from self.vm.fresh_page(core, page, f"{obj.name}.slots")


def object_at(kinds: list, va: int):
    return next(obj for start, end, obj in kinds if start <= va < end)
