"""The TLB-shootdown loop: a core maps its own memory, touches every page, and unmaps it.

What it models: a program that frees memory it used (a buffer, an arena), as threads do all the
time. The unmap must flush the translations from every TLB that may hold them before the pages
can be reused (`kernel/tlb.py`); which TLBs those are is the design difference:

  Linux  `munmap` in the task's mm: every core that ran the mm is interrupted (cpu_vm_mask),
         whether or not it ever touched these pages. The memory is a MAP_SHARED object the
         task made, so mapping it again finds its pages (soft faults, no page zeroing).
  Corey  `ar_unset` in an address range: only cores whose root ranges reach that range are
         interrupted. The memory is a segment the pcore made, mapped in its own root range or
         in a range that a few pcores mount (`experiments/tlb.py` places them).

Each unmap's cycles (the call only, lock waits and interrupts included) and the cores it
interrupted are recorded in the core's `Unmaps`.

Left out: what the program does with the memory besides one word per page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..hardware.core import Op
from ..kernel import CoreyKernel, LinuxKernel, Task
from .memory import touch_pages


@dataclass
class Unmaps:
    """One core's unmaps, in order: each one's cycles and how many other cores it interrupted."""

    cycles: list[int] = field(default_factory=list)
    ipis: list[int] = field(default_factory=list)

    def record(self, kernel, task: Task, cycles: int) -> None:
        """Note an unmap that just ended: its cycles, and the targets of the last shootdown
        this core started (each unmap starts exactly one)."""
        shootdown = next(s for s in reversed(kernel.tlbs.log) if s.initiator == task.core_id)
        self.cycles.append(cycles)
        self.ipis.append(len(shootdown.targets))


def unmap_linux(kernel: LinuxKernel, task: Task, obj, pages: int, log: Unmaps) -> Op:
    """mmap the task's object, touch each page, munmap it (timed)."""
    size = pages * kernel.params.page_size
    addr = yield from kernel.mmap(task, size, shared=obj)
    yield from touch_pages(kernel, task, addr, pages)
    start = task.core.local
    yield from kernel.munmap(task, addr, size)
    log.record(kernel, task, task.core.local - start)


def unmap_corey(kernel: CoreyKernel, task: Task, ar, va: int, base: int, seg: int, pages: int,
                log: Unmaps) -> Op:  # fmt: skip
    """Map the pcore's segment at `va` of range `ar` (seen by the pcore at `base + va`), touch
    each page, unmap it (timed)."""
    yield from kernel.ar_set_seg(task, ar, va, seg)
    yield from touch_pages(kernel, task, base + va, pages)
    start = task.core.local
    yield from kernel.ar_unset(task, ar, va)
    log.record(kernel, task, task.core.local - start)
