"""The Linux-like kernel (2.6.2x behaviour): processes and threads, assembled from the Linux
halves of the subsystems.

Threads of one process share its `files_struct` and its `mm_struct`; separate processes share
neither. That sharing, by default, is what the lab measures.

    k = LinuxKernel(machine)
    p = k.create_process(0)          # a process on core 0, its tables on core 0's chip
    t = k.create_thread(p, 1)        # a thread of p on core 1: same files and mm

The assembly: `base` (machine, parameters, tasks, locks, system-call entry), `files` (fd tables,
`descriptors.py`), `memory` (mm_structs and page faults, `address_space.py`) and `net` (the one
TCP stack and its interrupts, `devices.py`). None of them knows another; the calls they make
public are listed below, and `write` and `close`, which Linux has on both files and sockets,
pick their subsystem by what they are given.
"""

from __future__ import annotations

from typing import Any

from ..hardware import Machine
from ..hardware.core import Op
from .address_space import LinuxMemory
from .base import Assembly, KernelParams, Task, publish
from .descriptors import LinuxFiles
from .devices import ConnRef, LinuxNet
from .netstack import NetStack

FILE_CALLS = ("open", "dup", "read", "share_alloc", "ref_new", "ref_dup", "ref_drop", "file_of")
MEMORY_CALLS = ("shmem_create", "mmap", "brk", "munmap", "touch")
NET_CALLS = ("net_params", "nic_attach", "net_listener", "accept", "recv", "irq_loop",
             "send_buffer")  # fmt: skip


class LinuxKernel(Assembly):
    name = "linux"

    def __init__(self, machine: Machine, kparams: KernelParams | None = None) -> None:
        super().__init__(machine, kparams)
        base = self.base
        self.files = LinuxFiles(base)
        self.memory = LinuxMemory(base)
        self.net = LinuxNet(base)
        publish(self, self.files, FILE_CALLS)
        publish(self, self.memory, MEMORY_CALLS)
        publish(self, self.net, NET_CALLS)
        # What tests and lessons read of the subsystems, by the names they have always used.
        self.files_tables, self.files_objects = self.files.files_tables, self.files.files_objects
        self.mms, self.shared_objects = self.memory.mms, self.memory.shared_objects
        vm = self.memory.vm
        self.faults, self.tlbs, self.pages, self.mparams = vm.faults, vm.tlbs, vm.pages, vm.mparams
        self.irqs, self.nics, self.drivers = self.net.irqs, self.net.nics, self.net.drivers

    @property
    def stack(self) -> NetStack:
        """The one TCP stack (made on first use)."""
        return self.net.stack

    def create_process(self, core_id: int, name: str | None = None) -> Task:
        """A new process on `core_id`, with its own descriptor table and address space, both
        allocated on that core's chip."""
        task = self.base.new_task(core_id, name or f"process{len(self.tasks)}")
        task.process = task
        task.files = self.files.new_files(task.core.chip)
        task.mm = self.memory.new_mm(task.core.chip)
        return task

    def create_thread(self, process: Task, core_id: int, name: str | None = None) -> Task:
        """A new thread of `process` on `core_id`: it shares the process's tables."""
        task = self.base.new_task(core_id, name or f"{process.name}.thread{len(self.tasks)}")
        task.process = process
        task.files = process.files
        self.files.share_files(process.files)
        task.mm = process.mm
        return task

    # -- calls on both files and sockets ---------------------------------------------------------
    def write(self, task: Task, what: Any, nbytes: int, *args: Any, **kwargs: Any) -> Op:
        """write(2): on a connection (`ConnRef`) the network's, on an fd the file layer's."""
        if isinstance(what, ConnRef):
            return (yield from self.net.write(task, what, nbytes, *args, **kwargs))
        return (yield from self.files.write(task, what, nbytes, *args, **kwargs))

    def close(self, task: Task, what: Any, *args: Any, **kwargs: Any) -> Op:
        """close(2): of a connection (`ConnRef`) the network's, of an fd the file layer's."""
        if isinstance(what, ConnRef):
            return (yield from self.net.close(task, what, *args, **kwargs))
        return (yield from self.files.close(task, what, *args, **kwargs))
