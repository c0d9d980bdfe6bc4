"""The kernels: kernel objects on simulated cache lines, locks, and the Linux-like and Corey
kernels that assemble the subsystems.

Read in this order: `objects` (structures laid out on named lines), `locks` (ticket, MCS,
rw-semaphore, MCS reader-writer), `params` (every kernel tunable), `base` (tasks, errors,
system-call entry), then each subsystem with its two designs side by side: `descriptors` (with
`shares`), `address_space` (with `mm_struct`, `address_range`, `mmu`, `pagetables`, `tlb`),
`devices` (with `nic`, `netstack`, `jnic`, `syscall_ring`, `kernel_core`); then the short
assemblies `linux` and `corey`.

Each subsystem is an object whose constructor names what it touches (`KernelBase`: the machine,
parameters, lock list, system-call entry; and, for Corey's memory and devices, the kernel's
`CoreyShares`). A kernel builds its subsystems, publishes their system calls as its own
(`kernel.dup` is `kernel.files.dup`) and keeps the few calls that choose a subsystem
(Linux's `write` and `close`, on files or sockets).

`Kernel` below is the one interface both kernels implement where their concepts coincide;
workloads are written against it. Everything else (creating processes, threads or pcores, and
the calls only one design has) is called on the concrete kernel.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..hardware import HardwareParams, Machine
from ..hardware.core import Op
from .base import Errno, KernelBase, KernelError, Task
from .corey import CoreyKernel
from .linux import LinuxKernel
from .locks import LockStats, MCSLock, MCSRWLock, RWSemaphore, TicketLock
from .objects import Struct, per_core
from .params import KernelParams, MemoryParams, NetParams


@runtime_checkable
class Kernel(Protocol):
    """What a workload may call on either kernel. System calls are generator methods that take
    the calling `Task` first and run on its core (`yield from kernel.call(task, ...)`); on bad
    input they raise `KernelError` and change nothing.

    Descriptor tables are where the two designs coincide: a table through which a task names
    kernel objects. Linux's is a files_struct (one per process, or a new one per FD share),
    naming files by fd; Corey's is a share, naming kernel objects by id. `share=None` means the
    task's default table: its process's files_struct, or the pcore's own share.

        kernel      share_alloc        ref_new            ref_dup             ref_drop
        Linux       new fd table       open -> fd         dup -> a new fd     close(fd)
        Corey       new share          object -> its id   share_addobj -> id  share_delobj(id)
    """

    name: str
    machine: Machine
    params: HardwareParams
    kparams: KernelParams
    tasks: list[Task]

    def lock_stats(self) -> list[dict]:
        """One dict per lock, as /proc/lock_stat: name, acquisitions, contentions, cycles."""
        ...

    def share_alloc(self, task: Task, chip: int | None = None) -> Op:
        """A new, empty table on `chip` (default: the caller's chip), usable by the caller; its
        id, for the `share` argument of the calls below."""
        ...

    def ref_new(self, task: Task, share: int | None = None) -> Op:
        """A new kernel object named in `share`; its name there (Linux: an fd; Corey: an id)."""
        ...

    def ref_dup(self, task: Task, name: int, share: int | None = None) -> Op:
        """One more reference to the object `name` (Corey: taken from the pcore's own share)
        in `share`; the name to drop it by."""
        ...

    def ref_drop(self, task: Task, name: int, share: int | None = None) -> Op:
        """Drop the reference `name` in `share`."""
        ...


__all__ = [
    "CoreyKernel",
    "Errno",
    "Kernel",
    "KernelBase",
    "KernelError",
    "KernelParams",
    "LinuxKernel",
    "LockStats",
    "MemoryParams",
    "NetParams",
    "MCSLock",
    "MCSRWLock",
    "RWSemaphore",
    "Struct",
    "Task",
    "TicketLock",
    "per_core",
]
