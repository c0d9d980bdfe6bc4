"""What both kernels share: tasks pinned to cores, typed errors, system-call entry, lock stats.

What it models: a kernel as the code that runs on a core when a task makes a system call. A
`Task` is a thread of control pinned to one core (a Linux thread or process, a Corey pcore);
its system calls are generator methods of the kernel that take the task first and run on the
task's core, so every kernel data access is a simulated memory access.

The subsystems live in their own files, each with the Linux-like and the Corey design side by
side (`descriptors.py`, `address_space.py`, `devices.py`). Each is an object whose constructor
takes what it touches: this `KernelBase` (the machine, the kernel's parameters, its lock list
and the cost of entering the kernel) and the other subsystems it calls. `linux.py` and
`corey.py` assemble them and publish their system calls (`publish`).

Errors: a system call given bad input raises `KernelError` (an errno-like code and a one-line
message) before it changes any state: validate first, then act.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from ..hardware import Machine, ParamError
from ..hardware.core import Core, Op
from .locks import Lock
from .params import KernelParams


class Errno(enum.IntEnum):
    """The error codes system calls raise (values as in Linux's errno.h)."""

    ENOENT = 2  # no such file, share or object
    EBADF = 9  # bad or closed file descriptor
    ENOMEM = 12  # out of memory or address space
    EACCES = 13  # the object is outside the caller's shares
    EFAULT = 14  # an address that is not mapped
    EEXIST = 17  # a mapping overlaps another
    EINVAL = 22  # a bad argument (misaligned, negative, unknown)
    EBUSY = 16  # a resource is in use (every slot of a ring is taken)
    EMFILE = 24  # the descriptor table is full


class KernelError(Exception):
    """A system call refused its input. `errno` says why; the call changed nothing."""

    def __init__(self, errno: Errno, message: str) -> None:
        # The args stay (errno, message): simpy and pickle rebuild an exception from its args.
        super().__init__(errno, message)
        self.errno = errno
        self.message = message

    def __str__(self) -> str:
        return f"{self.errno.name}: {self.message}"


@dataclass(eq=False)
class Task:
    """A thread of control pinned to a core. The kernel that creates it fills in what the task
    can reach: Linux a `files` table and an `mm`; Corey the pcore's shares, its root share and
    root range, and (once attached to a kernel core) its system-call ring. (The subsystems'
    classes are named in comments, not imported: they import this module.)"""

    id: int
    core: Core
    name: str
    # Linux
    files: Any = None  # descriptors.FilesTable: the files_struct it uses (shared by threads)
    mm: Any = None  # mm_struct.MM: the address space it runs in (shared by threads)
    process: Task | None = None  # the process a thread belongs to (itself if a process)
    # Corey
    shares: dict[int, Any] = field(default_factory=dict)  # id -> shares.Share, those it holds
    root_share: int | None = None  # the id of the pcore's own private share
    root_range: int | None = None  # the id of the address range the pcore runs in
    ring: Any = None  # syscall_ring.Ring: its system-call ring to a kernel core, once attached
    stack: Any = None  # kernel_core.UserStack: its own TCP stack (lwIP) over its buffers, if any

    @property
    def core_id(self) -> int:
        return self.core.id


class KernelBase:
    """What every subsystem of a kernel is given: the machine, the kernel's parameters, its
    tasks and locks, and the cost of entering and leaving the kernel."""

    def __init__(self, machine: Machine, kparams: KernelParams | None = None) -> None:
        if not isinstance(machine, Machine):
            raise ParamError(f"a kernel runs on a Machine, not {machine!r:.60}")
        if kparams is not None and not isinstance(kparams, KernelParams):
            raise ParamError(f"kparams must be KernelParams, not {kparams!r:.60}")
        self.machine = machine
        self.params = machine.params
        self.kparams = kparams or KernelParams()
        self.tasks: list[Task] = []
        self.locks: list[Lock] = []

    def new_task(self, core_id: int, name: str) -> Task:
        if isinstance(core_id, bool) or not isinstance(core_id, int):
            raise KernelError(Errno.EINVAL, f"a core is a whole number, not {core_id!r:.40}")
        if not 0 <= core_id < self.params.cores:
            raise KernelError(Errno.EINVAL, f"core {core_id} does not exist")
        task = Task(len(self.tasks), self.machine.cores[core_id], name)
        self.tasks.append(task)
        return task

    def own(self, task: Any) -> Task:
        """`task`, if it is one of this kernel's (else EINVAL): a task of another kernel would
        name that kernel's shares and ranges here, or none at all."""
        tasks, index = self.tasks, getattr(task, "id", -1)
        if not isinstance(task, Task) or not 0 <= index < len(tasks) or tasks[index] is not task:
            what = task.name if isinstance(task, Task) else repr(task)
            raise KernelError(Errno.EINVAL, f"{what:.60} is not a task of this kernel")
        return task

    def chip_for(self, task: Task, chip: Any) -> int:
        """The chip a call places a new object on: `chip`, or the caller's when None."""
        if chip is None:
            return task.core.chip
        if isinstance(chip, bool) or not isinstance(chip, int) or not 0 <= chip < self.params.chips:
            raise KernelError(Errno.EINVAL, f"chip {chip!r} does not exist")
        return chip

    def register(self, lock: Lock) -> Lock:
        """Note a lock so `lock_stats` reports it."""
        self.locks.append(lock)
        return lock

    def lock_stats(self) -> list[dict]:
        """One dict per lock, as /proc/lock_stat: name, acquisitions, contentions, cycles."""
        return [lock.stats.as_dict() for lock in self.locks]

    def enter(self, task: Task) -> Op:
        """The fixed cost of a system call's trap and return, as instruction work."""
        yield from task.core.compute(self.kparams.syscall_cycles)


class Assembly:
    """What a kernel is besides its subsystems: the `base` they are all given, whose machine,
    parameters, tasks and lock statistics it shows by their usual names."""

    name = "kernel"

    def __init__(self, machine: Machine, kparams: KernelParams | None = None) -> None:
        self.base = base = KernelBase(machine, kparams)
        self.machine, self.params, self.kparams = base.machine, base.params, base.kparams
        self.tasks = base.tasks

    def lock_stats(self) -> list[dict]:
        """One dict per lock, as /proc/lock_stat: name, acquisitions, contentions, cycles."""
        return self.base.lock_stats()


def publish(kernel: object, subsystem: object, calls: tuple[str, ...]) -> None:
    """Make `subsystem`'s methods `calls` the kernel's own (`kernel.dup` is the fd table's
    `dup`): a kernel's system calls are its subsystems' calls, listed in its assembly."""
    for call in calls:
        setattr(kernel, call, getattr(subsystem, call))
