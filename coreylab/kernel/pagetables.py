"""Physical pages and x86-64 page tables in simulated memory: what both kernels' address spaces
are built on.

What it models:
  PageAllocator  pages of DRAM per chip, taken from `PhysicalMemory` a chunk at a time (Linux's
                 buddy allocator behind its per-CPU page lists; Corey's per-chip page lists). Each
                 page has a descriptor line (Linux's `struct page`, Corey's `page_info`) in a
                 `mem_map` at the start of its chunk, on the same chip. Taking a page off the free
                 list is Python bookkeeping plus `page_alloc_cycles` of instruction work: the
                 per-CPU lists touch no shared line in the common case. Pages come from the chip
                 asked for, else from the nearest chip with room, as Linux's zone fallback does.
  zero_page      `clear_page`: streaming stores of every line of the page (no read for
                 ownership, nothing cached), so a fresh page costs the chip's DRAM bandwidth.
  walk           the MMU's walk of a 4-level radix tree of 512-entry table pages (PML4, PDPT, PD,
                 PT), one simulated load per level. An entry holds the physical address of the
                 next table (or of the page) with the PRESENT bit; 0 is an empty entry.
  descend        the kernel's way down the same tree, making missing tables (a zeroed page each,
                 installed under a lock the caller names, re-checked under it as `__pte_alloc`
                 does) and returning the address of the entry at the level asked for.

Invariants: a page is either on exactly one free list or in use; a table page is installed in at
most one parent entry per tree (Corey may mount the same subtree under several trees: that is
how address ranges share page tables); entries are written only by kernel code, under a lock.

Left out: huge pages, accessed/dirty/NX/permission bits (every mapping is read-write), freeing
table pages, the zone lock behind the per-CPU lists, NUMA policies other than "local first".
Source: the x86-64 4-level paging format (AMD64 APM vol. 2); Linux 2.6.27 mm/memory.c.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ..hardware import Machine, OutOfMemory
from ..hardware.core import Core, Op

PRESENT = 1
ENTRY = 8  # bytes per table entry
FANOUT = 512  # entries per table page
SHIFTS = (39, 30, 21, 12)  # va bits that index the PML4, PDPT, PD and PT
PML4, PDPT, PD, PT = range(4)
LEVEL_NAMES = ("pml4", "pdpt", "pd", "pt")


def entry_addr(table: int, va: int, level: int) -> int:
    """Address of the entry for `va` in a table page at `level`."""
    return table + ((va >> SHIFTS[level]) & (FANOUT - 1)) * ENTRY


class KernelOutOfMemory(Exception):
    """No chip has a free page; the address-space code turns it into ENOMEM."""


class PageAllocator:
    """Free pages per chip, each with a descriptor line; chunks come from `PhysicalMemory`."""

    def __init__(self, machine: Machine, chunk_pages: int) -> None:
        p = machine.params
        self.memory = machine.memory
        self.params = p
        self.page_size, self.line = p.page_size, p.line_size
        self.chunk_pages = chunk_pages
        self.free: list[list[int]] = [[] for _ in range(p.chips)]  # a stack per chip
        self.descriptors: dict[int, int] = {}  # page -> its descriptor's address
        self.in_use = 0
        self._dry: set[int] = set()  # chips whose DRAM gave out
        self._order = [sorted(range(p.chips), key=lambda c, a=a: (p.hops(a, c), c)) for a in
                       range(p.chips)]  # fmt: skip

    def reserve(self, chip: int, count: int) -> list[int]:
        """Take `count` pages, nearest chip first; all or none (KernelOutOfMemory)."""
        taken: list[int] = []
        for _ in range(count):
            page = self._take(chip)
            if page is None:
                self._put_back(taken)
                raise KernelOutOfMemory(f"no free page for chip {chip}")
            taken.append(page)
        self.in_use += len(taken)
        return taken

    def release(self, pages: list[int]) -> None:
        """Free pages in use, last taken first (so the next `reserve` takes them again)."""
        self._put_back(pages)
        self.in_use -= len(pages)

    def _put_back(self, pages: list[int]) -> None:
        for page in reversed(pages):
            self.free[self.memory.home_chip(page)].append(page)

    def descriptor(self, page: int) -> int:
        return self.descriptors[page]

    def label(self, page: int, label: str) -> None:
        self.memory.label(page, self.page_size, label)

    def _take(self, chip: int) -> int | None:
        for c in self._order[chip]:
            if not self.free[c] and c not in self._dry:
                self._refill(c)
            if self.free[c]:
                return self.free[c].pop()
        return None

    def _refill(self, chip: int) -> None:
        """A chunk from the chip's DRAM: a mem_map of descriptor lines, then the pages. Asks for
        less when the chip is nearly full; marks the chip dry when not one page is left."""
        pages = self.chunk_pages
        while pages:
            meta = -(-pages * self.line // self.page_size)  # pages of descriptors
            try:
                base = self.memory.alloc(
                    (meta + pages) * self.page_size, chip, "mem_map", align=self.page_size
                )
            except OutOfMemory:
                pages //= 2
                continue
            first = base + meta * self.page_size
            for i in reversed(range(pages)):  # a stack: the lowest address is taken first
                page = first + i * self.page_size
                self.descriptors[page] = base + i * self.line
                self.free[chip].append(page)
            return
        self._dry.add(chip)


def zero_page(core: Core, page: int, page_size: int, line_size: int) -> Op:
    """`clear_page`: streaming stores of the whole page (`Core.stream_zero`)."""
    yield from core.stream_zero(page, page_size)


def walk(core: Core, table: int, va: int, level: int = PML4) -> Op:
    """The MMU's walk from a table at `level` down to the page: one load per level. Returns the
    page's physical address, or None at the first empty entry."""
    load = core.load
    for shift in SHIFTS[level:]:
        entry = yield from load(table + ((va >> shift) & (FANOUT - 1)) * ENTRY)
        if not entry & PRESENT:
            return None
        table = entry - PRESENT
    return table


def peek_missing(
    values: dict[int, int], table: int, va: int, level: int = PML4, until: int = PT
) -> int:
    """How many table pages a fill of `va` would make going from `table` down to the table at
    `until` (a Python-side look at memory in no simulated time: only to reserve pages before
    acting, so a call that runs out of memory fails before it changes anything)."""
    for depth, lvl in enumerate(range(level, until)):
        entry = values.get(entry_addr(table, va, lvl), 0)
        if not entry & PRESENT:
            return until - level - depth
        table = entry - PRESENT
    return 0


Locker = Any  # a lock with acquire(core) / release(core) generators
# new_table(level) -> a fresh page (already reserved) for a table at that level; and
# new_table.unused(page): the page lost a race to install its table, back to the caller's spares.
NewTable = Any


def descend(
    core: Core, table: int, va: int, level: int, until: int, new_table: NewTable, lock: Locker
) -> Generator[Any, Any, int]:
    """From a table at `level`, follow (making where missing) the tables down to the one at
    `until`; return that table's address. A missing table is zeroed, then installed under
    `lock` if nobody installed one meanwhile (otherwise the fresh page goes back unused)."""
    while level < until:
        slot = entry_addr(table, va, level)
        entry = yield from core.load(slot)
        if not entry & PRESENT:
            page = new_table(level + 1)
            entry = yield from _install_table(core, slot, page, lock)
            if entry != page | PRESENT:  # another core installed one first
                new_table.unused(page)
        table, level = entry - PRESENT, level + 1
    return table


def _install_table(core: Core, slot: int, page: int, lock: Locker) -> Op:
    p = core.machine.params
    yield from zero_page(core, page, p.page_size, p.line_size)
    yield from lock.acquire(core)
    entry = yield from core.load(slot)
    if not entry & PRESENT:  # nobody beat us to it
        entry = page | PRESENT
        yield from core.store(slot, entry)
    yield from lock.release(core)
    return entry


def clear_ptes(core: Core, table: int, va: int, end: int, level: int = PML4) -> Op:
    """Empty the PTEs of [va, end) below a table at `level` (`zap_pte_range`): one load per
    PTE, a store where one is present. Returns (va, page) of each page that was mapped."""
    pages: list[tuple[int, int]] = []
    page_size = 1 << SHIFTS[PT]
    span = 1 << SHIFTS[PD]
    while va < end:
        pt = yield from _table_at(core, table, va, level)
        stop = min(end, (va // span + 1) * span)
        if pt is None:
            va = stop
            continue
        for v in range(va, stop, page_size):
            slot = entry_addr(pt, v, PT)
            entry = yield from core.load(slot)
            if entry & PRESENT:
                yield from core.store(slot, 0)
                pages.append((v, entry - PRESENT))
        va = stop
    return pages


def _table_at(core: Core, table: int, va: int, level: int) -> Op:
    """The PT page covering `va`, or None if a table above it is missing."""
    while level < PT:
        entry = yield from core.load(entry_addr(table, va, level))
        if not entry & PRESENT:
            return None
        table, level = entry - PRESENT, level + 1
    return table
