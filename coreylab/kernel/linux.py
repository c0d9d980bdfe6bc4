"""The Linux-like kernel (2.6.2x behaviour): processes and threads, assembled from the Linux
halves of the subsystems.

Threads of one process share its `files_struct` and its `mm_struct`; separate processes share
neither. That sharing, by default, is what the lab measures.

    k = LinuxKernel(machine)
    p = k.create_process(0)          # a process on core 0, its tables on core 0's chip
    t = k.create_thread(p, 1)        # a thread of p on core 1: same files and mm
"""

from __future__ import annotations

from ..hardware import Machine
from .address_space import LinuxMemory
from .base import KernelBase, KernelParams, Task
from .descriptors import LinuxFiles
from .devices import LinuxNet


class LinuxKernel(LinuxNet, LinuxFiles, LinuxMemory, KernelBase):
    name = "linux"

    def __init__(self, machine: Machine, kparams: KernelParams | None = None) -> None:
        KernelBase.__init__(self, machine, kparams)
        self.setup_files()
        self.setup_memory()
        self.setup_net()

    def create_process(self, core_id: int, name: str | None = None) -> Task:
        """A new process on `core_id`, with its own descriptor table and address space, both
        allocated on that core's chip."""
        task = self._new_task(core_id, name or f"process{len(self.tasks)}")
        task.process = task
        task.files = self.new_files(task.core.chip)
        task.mm = self.new_mm(task.core.chip)
        return task

    def create_thread(self, process: Task, core_id: int, name: str | None = None) -> Task:
        """A new thread of `process` on `core_id`: it shares the process's tables."""
        task = self._new_task(core_id, name or f"{process.name}.thread{len(self.tasks)}")
        task.process = process
        task.files = process.files
        self.share_files(process.files)
        task.mm = process.mm
        return task
