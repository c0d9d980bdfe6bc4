"""The Corey kernel: pcores, shares, segments and address ranges, assembled from the Corey
halves of the subsystems.

Nothing is shared unless the application says so: each pcore starts with its own share and
its own root address range; sharing is a share or a range mounted in several places.

    k = CoreyKernel(machine)
    pc = k.create_pcore(0)           # a pcore on core 0, its objects on core 0's chip
"""

from __future__ import annotations

from ..hardware import Machine
from .address_space import CoreyMemory
from .base import KernelBase, KernelParams, Task
from .descriptors import CoreyShares
from .devices import CoreyDevices


class CoreyKernel(CoreyDevices, CoreyShares, CoreyMemory, KernelBase):
    name = "corey"

    def __init__(self, machine: Machine, kparams: KernelParams | None = None) -> None:
        KernelBase.__init__(self, machine, kparams)
        self.setup_shares()
        self.setup_memory()
        self.setup_devices()

    def create_pcore(self, core_id: int, name: str | None = None) -> Task:
        """A pcore (Corey's thread of control) on `core_id`, with its own share map and root
        address range on that core's chip."""
        task = self._new_task(core_id, name or f"pcore{len(self.tasks)}")
        self.init_pcore_shares(task)
        self.init_pcore_memory(task)
        return task
