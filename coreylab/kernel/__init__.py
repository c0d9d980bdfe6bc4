"""The kernels: kernel objects on simulated cache lines, locks, and (as they land) the
Linux-like and Corey kernels that assemble them.

Read in this order: `objects` (structures laid out on named lines), `locks` (ticket, MCS,
rw-semaphore, MCS reader-writer).
"""

from .locks import LockStats, MCSLock, MCSRWLock, RWSemaphore, TicketLock
from .objects import Struct, per_core

__all__ = ["LockStats", "MCSLock", "MCSRWLock", "RWSemaphore", "Struct", "TicketLock", "per_core"]
