"""Address spaces: Linux's mm_struct, VMAs, page tables and faults | Corey's segments and
address ranges.

(Being written: the Linux half `LinuxMemory` and the Corey half `CoreyMemory` land here.)
"""

from __future__ import annotations


class LinuxMemory:
    def setup_memory(self) -> None:
        pass

    def new_mm(self, chip: int):
        return None


class CoreyMemory:
    def setup_memory(self) -> None:
        pass

    def init_pcore_memory(self, task) -> None:
        pass
