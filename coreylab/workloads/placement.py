"""Who runs where: the three ways the experiments place one task per core, each with its
kernel. Cores are used in order 0, 1, ...: chip by chip.

  threads     Linux: one process on core 0 and a thread of it on every other core, so every
              task shares one files_struct and one mm_struct
  processes   Linux: a process per core, each with its own tables on its own chip
  pcores      Corey: a pcore per core, each with its own share and root address range
"""

from __future__ import annotations

from collections.abc import Callable

from ..hardware import Machine
from ..kernel import CoreyKernel, LinuxKernel, Task


def threads(machine: Machine, cores: int) -> tuple[LinuxKernel, list[Task]]:
    kernel = LinuxKernel(machine)
    first = kernel.create_process(0)
    return kernel, [first] + [kernel.create_thread(first, c) for c in range(1, cores)]


def processes(machine: Machine, cores: int) -> tuple[LinuxKernel, list[Task]]:
    kernel = LinuxKernel(machine)
    return kernel, [kernel.create_process(c) for c in range(cores)]


def pcores(machine: Machine, cores: int) -> tuple[CoreyKernel, list[Task]]:
    kernel = CoreyKernel(machine)
    return kernel, [kernel.create_pcore(c) for c in range(cores)]


Placement = Callable[[Machine, int], tuple]  # (machine, cores) -> (kernel, one task per core)
