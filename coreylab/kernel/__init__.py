"""The kernels: kernel objects on simulated cache lines, locks, and the Linux-like and Corey
kernels that assemble the subsystems.

Read in this order: `objects` (structures laid out on named lines), `locks` (ticket, MCS,
rw-semaphore, MCS reader-writer), `base` (tasks, errors, system-call entry), then each
subsystem with its two designs side by side: `descriptors`, `address_space`; then the short
assemblies `linux` and `corey`.
"""

from .base import Errno, KernelBase, KernelError, KernelParams, Task
from .corey import CoreyKernel
from .linux import LinuxKernel
from .locks import LockStats, MCSLock, MCSRWLock, RWSemaphore, TicketLock
from .objects import Struct, per_core

__all__ = [
    "CoreyKernel",
    "Errno",
    "KernelBase",
    "KernelError",
    "KernelParams",
    "LinuxKernel",
    "LockStats",
    "MCSLock",
    "MCSRWLock",
    "RWSemaphore",
    "Struct",
    "Task",
    "TicketLock",
    "per_core",
]
