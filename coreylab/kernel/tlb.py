"""Per-core TLBs and TLB shootdowns.

What it models: each core caches its last `capacity` translations (virtual page -> physical
page), least recently used out first, tagged with the address space they came from (a Linux
`mm` or a Corey root address range), as if every space had its own tag (PCID): a core that
runs one task never needs to flush on a switch. A hit costs nothing beyond the access itself;
a miss costs the page-table walk, whose loads are simulated by the caller.

A shootdown is what `munmap` (Linux) or unmapping in an address range (Corey) must do before
the pages can be reused: invalidate the translations in every core that may hold them. The
initiating core flushes its own TLB and interrupts each other target core, waiting
`ipi_cycles` per target for it to flush and acknowledge (`flush_tlb_others` in Linux 2.6.27).
Who the targets are is the design difference: Linux interrupts every core that ran the address
space (`mm->cpu_vm_mask`); Corey only the cores that use the range.

Left out: the time the interrupted cores spend in the handler (they are running their own
programs; only the initiator's wait is charged), ASID limits, the page-walk caches, and
TLB capacity by page size and level.
Sources: AMD Family 10h L2 DTLB, 512 entries for 4 KB pages (vendor); Linux 2.6.27
arch/x86/kernel/tlb_64.c.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..hardware.core import Core, Op


class TLB:
    """One core's translations: (space, virtual page number) -> physical page, LRU order."""

    __slots__ = ("capacity", "entries", "hits", "misses")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.entries: OrderedDict[tuple[int, int], int] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def lookup(self, space: int, vpn: int) -> int | None:
        page = self.entries.get((space, vpn))
        if page is None:
            self.misses += 1
            return None
        self.entries.move_to_end((space, vpn))
        self.hits += 1
        return page

    def insert(self, space: int, vpn: int, page: int) -> None:
        self.entries[(space, vpn)] = page
        self.entries.move_to_end((space, vpn))
        if len(self.entries) > self.capacity:
            self.entries.popitem(last=False)

    def invalidate(self, space: int, first_vpn: int, end_vpn: int) -> int:
        """Drop the space's translations of pages [first_vpn, end_vpn); return how many."""
        gone = [k for k in self.entries if k[0] == space and first_vpn <= k[1] < end_vpn]
        for key in gone:
            del self.entries[key]
        return len(gone)

    def holds(self, space: int, vpn: int) -> bool:
        return (space, vpn) in self.entries


@dataclass
class Shootdown:
    """One shootdown, for tests and lessons: who started it, which cores it interrupted."""

    initiator: int
    targets: tuple[int, ...]  # the other cores it interrupted
    windows: tuple[tuple[int, int, int], ...]  # (space, first vpn, end vpn) it invalidated


@dataclass
class TLBs:
    """The TLBs of every core, created on first use, and the log of shootdowns."""

    capacity: int
    by_core: dict[int, TLB] = field(default_factory=dict)
    log: list[Shootdown] = field(default_factory=list)

    def of(self, core_id: int) -> TLB:
        tlb = self.by_core.get(core_id)
        if tlb is None:
            tlb = self.by_core[core_id] = TLB(self.capacity)
        return tlb

    def shootdown(
        self, core: Core, cores: Iterable[int], windows: Iterable[tuple[int, int, int]],
        ipi_cycles: int,
    ) -> Op:  # fmt: skip
        """Invalidate `windows` (space, first vpn, end vpn) in the TLBs of `cores`: the
        initiator's own at no extra cost, every other core's by an interrupt costing the
        initiator `ipi_cycles`."""
        windows = list(windows)
        remote = tuple(sorted(c for c in set(cores) if c != core.id))
        for core_id in (core.id, *remote):
            tlb = self.of(core_id)
            for space, first, end in windows:
                tlb.invalidate(space, first, end)
        self.log.append(Shootdown(core.id, remote, tuple(windows)))
        if remote:
            yield from core.compute(ipi_cycles * len(remote))
