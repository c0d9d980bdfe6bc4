"""The memory-management unit and what both kernels' address spaces share: the instruction
costs of the memory paths, fault counts, objects that hold pages by index, and the path of an
application's memory access (TLB, page-table walk, fault, access).

What it models: `touch` is one access by an application through the MMU. A TLB hit costs
nothing beyond the access; a miss walks the page tables with simulated loads; an empty entry
calls the kernel's fault handler (Linux's or Corey's, see `address_space.py`) and then the
access restarts, walking again, as the faulting instruction does on hardware. A `PageObject` is
a MAP_SHARED object's page cache in Linux and a segment in Corey: a slot per page in simulated
memory, filled on first use under the object's lock, so two cores faulting the same page make
it once.

Invariants: the Python-side views (`PageObject.pages`, the kernels' mapping lists) always equal
what simulated memory holds; system calls check their input against those views and reserve
every page they may need before their first simulated access, so errors change nothing.

Left out: permission checks on access (every mapping is read-write), accessed/dirty bits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..hardware.core import Core, Op
from ..hardware.memory import OutOfMemory
from .base import Errno, KernelBase, KernelError, Task
from .pagetables import (
    ENTRY,
    FANOUT,
    LEVEL_NAMES,
    KernelOutOfMemory,
    PageAllocator,
    walk,
    zero_page,
)
from .tlb import TLBs

TASK_SIZE = 1 << 47  # user addresses: the lower half of the 48-bit space
WORD = 8  # bytes an application's `touch` reads or writes
# Words of a page's descriptor line (Linux `struct page`; Corey's `page_info` uses the first).
PAGE_FLAGS, PAGE_COUNT, PAGE_MAPCOUNT, PAGE_PTL = 0, 8, 16, 24


@dataclass
class FaultStats:
    """Page faults per core, hard and soft, and the cycles each core spent in the fault
    handler, waits on its locks included (always counted, like the machine's counters)."""

    hard: dict[int, int] = field(default_factory=dict)
    soft: dict[int, int] = field(default_factory=dict)
    cycles: dict[int, int] = field(default_factory=dict)

    def count(self, core_id: int, hard: bool) -> None:
        kind = self.hard if hard else self.soft
        kind[core_id] = kind.get(core_id, 0) + 1

    @property
    def hard_total(self) -> int:
        return sum(self.hard.values())

    @property
    def soft_total(self) -> int:
        return sum(self.soft.values())


class PageObject:
    """Pages by index, as a `MAP_SHARED` object's page cache (Linux) or a segment (Corey) holds
    them: a slot per page in slot pages on the object's chip, filled on first use under `lock`."""

    def __init__(self, name: str, npages: int, slot_pages: list[int], header, lock) -> None:
        self.id = 0  # set by the kernel that names it
        self.name, self.npages = name, npages
        self.slot_pages = slot_pages
        self.header = header  # the object's Struct (its lock's line)
        self.lock = lock
        self.pages: dict[int, int] = {}  # index -> page (Python view of the slots)

    def slot(self, index: int) -> int:
        return self.slot_pages[index // FANOUT] + (index % FANOUT) * ENTRY


class TableSource:
    """Table pages for `descend`, from the pages a call reserved (`spare`): one it takes that
    loses the race to install its table goes back to `spare`, which the call releases."""

    def __init__(self, pages, spare: list[int], owner: str) -> None:
        self.pages, self.spare, self.owner = pages, spare, owner

    def __call__(self, level: int) -> int:
        page = self.spare.pop()
        self.pages.label(page, f"{self.owner}.{LEVEL_NAMES[level]}")
        return page

    def unused(self, page: int) -> None:
        self.spare.append(page)


class VirtualMemory:
    """What both designs share: the page allocator, the TLBs, fault counts, the MMU path. Each
    kernel's memory subsystem has one; it touches the machine and the kernel's lock list."""

    def __init__(self, base: KernelBase) -> None:
        self.machine, self.params, self.register = base.machine, base.params, base.register
        self.kparams, self.mparams = base.kparams, base.kparams.memory
        self.pages = PageAllocator(self.machine, self.mparams.chunk_pages)
        self.tlbs = TLBs(self.mparams.tlb_entries)
        self.faults = FaultStats()
        ps = self.params.page_size
        self.page_size, self.page_mask = ps, ps - 1
        self.page_shift = ps.bit_length() - 1

    # -- checks shared by every system call -------------------------------------------------------
    def check_length(self, length: Any) -> int:
        if isinstance(length, bool) or not isinstance(length, int) or length <= 0:
            raise KernelError(Errno.EINVAL, f"length must be a positive number, not {length!r}")
        if length % self.page_size:
            raise KernelError(Errno.EINVAL, f"length {length} is not a multiple of a page")
        return length // self.page_size

    def check_addr(self, addr: Any, align: int, what: str = "address") -> int:
        if isinstance(addr, bool) or not isinstance(addr, int) or not 0 <= addr < TASK_SIZE:
            raise KernelError(Errno.EFAULT, f"{what} {addr!r} is outside user space")
        if addr % align:
            raise KernelError(Errno.EINVAL, f"{what} {addr:#x} is not aligned to {align}")
        return addr

    def reserve(self, chip: int, count: int) -> list[int]:
        try:
            return self.pages.reserve(chip, count) if count else []
        except KernelOutOfMemory:
            raise KernelError(Errno.ENOMEM, f"no free page left for chip {chip}") from None

    def new_table(self, spare: list[int], owner: str) -> TableSource:
        return TableSource(self.pages, spare, owner)

    # -- the MMU: TLB, walk, fault, access --------------------------------------------------------
    def access(self, task: Task, space: int, root: int, addr: int, write: bool, value: int,
               fault) -> Op:  # fmt: skip
        """The access as a generator to run at once (`yield from`). On a TLB hit it is the
        core's own load or store: every user access takes this path, and a generator frame of
        its own would cost each of the access's resumptions a step. A miss walks (`_walk`)."""
        core = task.core
        page = self.tlbs.of(core.id).lookup(space, addr >> self.page_shift)
        if page is None:
            return self._walk(task, space, root, addr, write, value, fault)
        return self._word(core, page, addr, write, value)

    def _word(self, core: Core, page: int, addr: int, write: bool, value: int) -> Op:
        """The core's load or store of `addr`'s word in the physical `page`."""
        phys = page | (addr & self.page_mask)
        return core.store(phys, value) if write else core.load(phys)

    def _walk(self, task: Task, space: int, root: int, addr: int, write: bool, value: int,
              fault) -> Op:  # fmt: skip
        """A TLB miss: walk the page tables, fault if the entry is empty (then walk again, as
        the faulting instruction restarts), fill the TLB, access."""
        core = task.core
        vpn = addr >> self.page_shift
        tlb = self.tlbs.of(core.id)
        page = None
        while page is None:
            page = yield from walk(core, root, addr)
            if page is None:
                start = core.local
                yield from fault(task, addr)  # then the access restarts: walk again
                cycles = self.faults.cycles
                cycles[core.id] = cycles.get(core.id, 0) + core.local - start
            else:
                tlb.insert(space, vpn, page)
        return (yield from self._word(core, page, addr, write, value))

    def object_page(self, core: Core, obj: PageObject, index: int, spare: list[int]) -> Op:
        """The object's page `index`, making it (zeroed, under the object's lock) if missing.
        Returns (page, made): made is True when this call allocated it."""
        slot = obj.slot(index)
        page = yield from core.load(slot)
        if page:
            return page, False
        new = spare.pop()
        yield from self.fresh_page(core, new, f"{obj.name}.page")
        yield from obj.lock.acquire(core)
        page = yield from core.load(slot)
        if not page:
            page = new
            yield from core.store(slot, page)
            obj.pages[index] = page
        else:
            spare.append(new)  # another core made it meanwhile
        yield from obj.lock.release(core)
        return page, page == new

    def fresh_page(self, core: Core, page: int, label: str) -> Op:
        """Take a page (prep_new_page sets its count in its descriptor) and zero it."""
        self.pages.label(page, label)
        yield from core.compute(self.mparams.page_alloc_cycles)
        yield from core.store(self.pages.descriptor(page) + PAGE_COUNT, 1)
        yield from zero_page(core, page, self.page_size, self.params.line_size)

    def new_object(self, chip: int, npages: int, name: str, make_header) -> PageObject:
        """A PageObject with its slot pages on `chip`, its header and lock made by
        `make_header(chip) -> (Struct, lock)`; all or nothing (ENOMEM)."""
        slot_pages = self.reserve(chip, -(-npages // FANOUT))
        try:
            header, lock = make_header(chip)
        except OutOfMemory:
            self.pages.release(slot_pages)
            raise KernelError(Errno.ENOMEM, f"chip {chip} has no room for {name}") from None
        for page in slot_pages:
            self.pages.label(page, f"{name}.slots")
        return PageObject(name, npages, slot_pages, header, lock)

    def check_chip(self, chip: Any, default: int) -> int:
        chip = default if chip is None else chip
        if isinstance(chip, bool) or not isinstance(chip, int) or not 0 <= chip < self.params.chips:
            raise KernelError(Errno.EINVAL, f"chip {chip!r} does not exist")
        return chip
