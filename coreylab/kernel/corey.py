"""The Corey kernel: pcores, shares, segments and address ranges, assembled from the Corey
halves of the subsystems.

Nothing is shared unless the application says so: each pcore starts with its own share and
its own root address range; sharing is a share or a range mounted in several places.

    k = CoreyKernel(machine)
    pc = k.create_pcore(0)           # a pcore on core 0, its objects on core 0's chip

The assembly: `base` (machine, parameters, tasks, locks, system-call entry), `shares` (kernel
objects and the shares that name them, `shares.py`), `memory` (segments and address ranges,
`address_space.py`) and `devices` (cards and kernel cores, `devices.py` with `kernel_core.py`).
Memory and devices name their objects through `shares`, given to their constructors; the calls
each makes public are listed below, with the application's side of the system-call ring
(`syscall_ring.py`), which needs no subsystem: a task's ring is all it touches.
"""

from __future__ import annotations

from ..hardware import Machine
from . import syscall_ring
from .address_space import CoreyMemory
from .base import Assembly, KernelParams, Task, publish
from .devices import CoreyDevices
from .shares import CoreyShares

SHARE_CALLS = ("share_alloc", "kobject_alloc", "share_addobj", "share_delobj", "share_lookup",
               "share_grant", "share_drop", "share_entries", "root_share", "ref_new", "ref_dup",
               "ref_drop")  # fmt: skip
MEMORY_CALLS = ("segment_alloc", "ar_alloc", "ar_set_seg", "ar_set_ar", "ar_unset", "touch",
                "root_range")  # fmt: skip
DEVICE_CALLS = ("net_params", "nic_attach", "device_alloc", "kcore_start", "sysmon_attach",
                "net_listener", "accept", "recv", "write", "close", "jnic_attach", "monitor",
                "send_buffer")  # fmt: skip
RING_CALLS = ("ring_call", "ring_submit", "ring_wait", "ring_post")


class CoreyKernel(Assembly):
    name = "corey"

    def __init__(self, machine: Machine, kparams: KernelParams | None = None) -> None:
        super().__init__(machine, kparams)
        base = self.base
        self.shares = CoreyShares(base)
        self.memory = CoreyMemory(base, self.shares)
        self.devices = CoreyDevices(base, self.shares)
        publish(self, self.shares, SHARE_CALLS)
        publish(self, self.memory, MEMORY_CALLS)
        publish(self, self.devices, DEVICE_CALLS)
        publish(self, syscall_ring, RING_CALLS)
        # What tests and lessons read of the subsystems, by the names they have always used.
        self.kobjects, self.pcore_shares = self.shares.kobjects, self.shares.pcore_shares
        self.mem_objects = self.memory.mem_objects
        vm = self.memory.vm
        self.faults, self.tlbs, self.pages, self.mparams = vm.faults, vm.tlbs, vm.pages, vm.mparams
        devices = self.devices
        self.irqs, self.nics, self.kcores = devices.irqs, devices.nics, devices.kcores

    def create_pcore(self, core_id: int, name: str | None = None) -> Task:
        """A pcore (Corey's thread of control) on `core_id`, with its own share map and root
        address range on that core's chip."""
        task = self.base.new_task(core_id, name or f"pcore{len(self.tasks)}")
        self.shares.init_pcore_shares(task)
        self.memory.init_pcore_memory(task)
        return task
