"""Descriptor tables: Linux's files_struct (with FD shares) | Corey's shares.

(Being written: the Linux half `LinuxFiles` and the Corey half `CoreyShares` land here.)
"""

from __future__ import annotations


class LinuxFiles:
    def setup_files(self) -> None:
        pass

    def new_files(self, chip: int):
        return None


class CoreyShares:
    def setup_shares(self) -> None:
        pass

    def init_pcore_shares(self, task) -> None:
        pass
