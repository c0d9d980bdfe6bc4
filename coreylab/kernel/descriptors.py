"""Descriptor tables: Linux's files_struct (with the talk's FD shares) | Corey's shares.

What it models, Linux half (`LinuxFiles`, 2.6.27's fs/file.c, fs/open.c):

  files[N]            one files_struct, on the chip of the task that made it
    .read_mostly      count (tasks using the table), fdt, max_fds; padded to a line
    .file_lock        file_lock (ticket lock, 2 words), next_fd, open_fds, close_on_exec,
                      then fd[0..2]:                  the lock and what it guards share a line
    .fd_array         fd[3..63] on the next 8 lines
  files[N].fdtable<k> after the k-th expand_files: max_fds, then the fd array and the two
                      bitmaps, each on lines of their own (128, 256, ... up to 1,024 fds)
  file[M]             a struct file: f_count alone on a line, then its data lines

`dup(fd)`: an RCU lookup of fd's slot (loads, no lock) and `f_count++` (atomic); under
file_lock allocate the lowest free fd (scan open_fds from next_fd, set the bit, clear
close-on-exec, next_fd = fd + 1); under file_lock again install the file pointer.
`close(fd)`: under file_lock clear the slot and both bits and lower next_fd; then filp_close and
`f_count--` (atomic). So a dup+close takes file_lock three times, and every line it writes is a
line the other threads of the process write too. Threads share their process's table; processes
do not. FD shares (the talk's "Linux with FD shares"): `share_alloc(task)` makes a new table on
the caller's chip, and every fd call takes `share=id` to use it instead of the process's table.
When no fd below max_fds is free, locate_fd calls expand_files: drop file_lock, allocate a
bigger table (as alloc_fdtable rounds: 128, 256, ...), take file_lock again, copy the slots and
bitmaps over and publish the new `fdt` (unless another thread has already).

The Corey half (`CoreyShares`) lives in `shares.py` and is re-exported here. Side by side:

  concept             Linux (this file)                 Corey (shares.py)
  table               files_struct, one per process     share, any number, per pcore or given
  name of an object   fd: lowest free slot (POSIX)      object id from a per-core counter
  add a reference     dup: 3 x file_lock, shared lines  share_addobj: MCS write lock on the share
  lookup              RCU load of the fd slot           MCS read lock, hash probe
  who can name it     every thread of the process       pcores holding the share

What it leaves out: more than RLIMIT_NOFILE's default 1,024 fds (EMFILE), freeing a replaced
table (RCU would, later), close-on-exec semantics (the bit is kept, never used), paths and
inodes (every `open` makes a new small in-memory file), file positions (read/write touch the
file from its start), RCU grace periods (a freed struct file goes to a per-chip free list at
once), sleeping.

Invariants, between calls: a slot is non-zero exactly when its open_fds bit is set; next_fd
is at most the lowest free fd; a file's f_count is the number of slots holding it.
A call given bad input raises `KernelError` and changes nothing the table holds: errors found
before the lock take no lock; errors found under file_lock (a closed fd in `close`, a full
table) release it and give back any reference taken, as Linux does, so only the lock's ticket
counters have moved on.

Setup outside the simulated clock (`new_files`, `share_files`) writes memory values directly, as
a kernel's boot code would before the measured run; system calls touch memory only through the
calling task's core.
"""

from __future__ import annotations

from ..hardware.core import Core, Op
from .base import Errno, KernelBase, KernelError, Task
from .locks import TicketLock
from .objects import WORD, Struct
from .shares import CoreyShares

NR_OPEN = 64  # slots in the embedded fd array (NR_OPEN_DEFAULT = BITS_PER_LONG)
NR_OPEN_MAX = 1024  # the most fds a process may have: RLIMIT_NOFILE's default
BITS = 64  # fds per bitmap word
FILE_DATA_LINES = 4  # lines of data in a small in-memory file

__all__ = [
    "FILE_DATA_LINES",
    "NR_OPEN",
    "NR_OPEN_MAX",
    "CoreyShares",
    "FdTable",
    "File",
    "FilesTable",
    "LinuxFiles",
]


class FdTable:
    """Where a files_struct's descriptors are: its slots and its two bitmaps (a word per 64
    fds). The first one is embedded in the files_struct; expand_files makes bigger ones."""

    def __init__(
        self, addr: int, max_fds: int, max_fds_addr: int, slot, open_fds, close_on_exec
    ) -> None:
        self.addr = addr  # what files->fdt holds
        self.max_fds, self.max_fds_addr = max_fds, max_fds_addr
        self._slot, self._open, self._cloexec = slot, open_fds, close_on_exec

    @classmethod
    def separate(cls, machine, name: str, chip: int, max_fds: int) -> FdTable:
        """A table of `max_fds` fds in its own allocations, as alloc_fdtable makes one."""
        words = max_fds // BITS
        s = Struct(
            machine,
            name,
            {
                "header": ["max_fds", "fd_ptr", "open_fds_ptr", "close_on_exec_ptr"],
                "fd": [("fd", max_fds)],
                "fdset": [("open_fds", words), ("close_on_exec", words)],
            },
            chip=chip,
        )
        return cls(s.base, max_fds, s["max_fds"], lambda fd: s["fd", fd],
                   lambda fd: s["open_fds", fd // BITS],
                   lambda fd: s["close_on_exec", fd // BITS])  # fmt: skip

    def slot(self, fd: int) -> int:
        return self._slot(fd)

    def open_fds(self, fd: int) -> int:
        """The bitmap word that holds `fd`'s open bit."""
        return self._open(fd)

    def close_on_exec(self, fd: int) -> int:
        return self._cloexec(fd)


class FilesTable:
    """One files_struct in simulated memory, with its file_lock and its current fd table."""

    def __init__(self, machine, name: str, chip: int) -> None:
        line_words = machine.params.line_size // WORD
        groups = {
            # read-mostly part, then file_lock ____cacheline_aligned_in_smp: the filler is the
            # alignment. No padding after file_lock: the fd array follows it on the same line.
            "read_mostly": ["count", "fdt", "max_fds", ("_align", line_words - 3)],
            "file_lock": [("file_lock", 2), "next_fd", "open_fds", "close_on_exec"],
            "fd_array": [("fd", NR_OPEN)],
        }
        self.name = name
        self.chip = chip
        self.s = s = Struct(machine, name, groups, chip=chip, pad=False)
        self.lock = TicketLock(f"{name}.file_lock", s["file_lock", 0], s["file_lock", 1])
        self.fdt = FdTable(s.base, NR_OPEN, s["max_fds"], lambda fd: s["fd", fd],
                           lambda fd: s["open_fds"], lambda fd: s["close_on_exec"])  # fmt: skip
        self.expansions = 0

    def snapshot(self, values: dict[int, int]) -> dict:
        """What the table holds, read straight from memory (for tests and notebooks): the
        bitmaps as one number each."""
        fdt = self.fdt
        words = range(0, fdt.max_fds, BITS)
        return {
            "open_fds": sum(values.get(fdt.open_fds(w), 0) << w for w in words),
            "close_on_exec": sum(values.get(fdt.close_on_exec(w), 0) << w for w in words),
            "next_fd": values.get(self.s["next_fd"], 0),
            "max_fds": fdt.max_fds,
            "fd": {
                fd: values[fdt.slot(fd)] for fd in range(fdt.max_fds) if values.get(fdt.slot(fd))
            },
        }

    def __repr__(self) -> str:
        return f"FilesTable({self.name}, chip {self.chip})"


class File:
    """A struct file: its reference count on a line of its own, then a few lines of data."""

    def __init__(self, machine, name: str, chip: int) -> None:
        data_words = FILE_DATA_LINES * machine.params.line_size // WORD
        self.s = Struct(
            machine, name, {"f_count": ["f_count"], "f_data": [("data", data_words)]}, chip
        )
        self.name = name
        self.chip = chip
        self.addr = self.s.base  # what an fd slot holds: the file's address, never 0
        self.path = ""
        self.line_words = machine.params.line_size // WORD

    @property
    def size(self) -> int:
        return FILE_DATA_LINES * self.line_words * WORD


class LinuxFiles:
    """System calls on descriptors, Linux-like: the fd tables and struct files of one kernel.
    It touches the machine's memory through the calling task's core, and nothing of the
    kernel's but `base` (its parameters, its lock list, the cost of entering it)."""

    def __init__(self, base: KernelBase) -> None:
        self.machine, self.kparams = base.machine, base.kparams
        self.enter, self.register, self.chip_for = base.enter, base.register, base.chip_for
        self.files_tables: list[FilesTable] = []
        self.files_objects: list[File] = []
        self._file_at: dict[int, File] = {}  # address in an fd slot -> the file
        self._free_files: dict[int, list[File]] = {}  # chip -> struct files to reuse
        self._fd_shares: dict[int, tuple[FilesTable, Task]] = {}  # id -> (table, process)

    def new_files(self, chip: int) -> FilesTable:
        """A new, empty files_struct on `chip`, used by one task."""
        table = self._fd_table_on(chip)
        values = self.machine.memory.values
        values[table.s["count"]] = 1
        values[table.s["fdt"]] = table.s.base
        values[table.s["max_fds"]] = NR_OPEN
        return table

    def _fd_table_on(self, chip: int) -> FilesTable:
        table = FilesTable(self.machine, f"files[{len(self.files_tables)}]", chip)
        self.files_tables.append(table)
        self.register(table.lock)
        return table

    def file_of(self, table: FilesTable, fd: int) -> File | None:
        """The file `fd` names in `table`, read straight from memory (tests and notebooks)."""
        if not 0 <= fd < table.fdt.max_fds:
            return None
        return self._file_at.get(self.machine.memory.values.get(table.fdt.slot(fd), 0))

    def share_files(self, table: FilesTable) -> None:
        """One more task (a new thread) uses `table`: `count` says the table is shared."""
        self.machine.memory.values[table.s["count"]] += 1

    # -- FD shares --------------------------------------------------------------------------------
    def share_alloc(self, task: Task, chip: int | None = None) -> Op:
        """A new fd table (an FD share) on `chip` (default: the caller's); return its id. The
        threads of the caller's process may name it; other processes may not."""
        chip = self.chip_for(task, chip)
        yield from self.enter(task)
        table = self._fd_table_on(chip)
        core = task.core  # the caller's core initializes the new table: its first touch
        yield from core.store(table.s["count"], 1)
        yield from core.store(table.s["fdt"], table.s.base)
        yield from core.store(table.s["max_fds"], NR_OPEN)
        share_id = len(self._fd_shares) + 1
        self._fd_shares[share_id] = (table, task.process or task)
        return share_id

    def _files_of(self, task: Task, share: int | None) -> FilesTable:
        """The table an fd call uses: the task's own, or the FD share it names."""
        if share is None:
            return task.files
        entry = self._fd_shares.get(share) if isinstance(share, int) else None
        if entry is None:
            raise KernelError(Errno.ENOENT, f"no FD share {share!r}")
        table, owner = entry
        if owner is not (task.process or task):
            raise KernelError(Errno.EACCES, f"FD share {share} belongs to {owner.name}")
        return table

    # -- system calls ---------------------------------------------------------------------------
    def open(self, task: Task, path: str, share: int | None = None) -> Op:
        """Open a new small file at `path`; return the lowest free fd. As do_sys_open: take an
        fd under file_lock, set up the file, install it under file_lock again."""
        if not isinstance(path, str) or not path:
            raise KernelError(Errno.EINVAL, f"open needs a non-empty path, not {path!r}")
        files = self._files_of(task, share)
        yield from self.enter(task)
        core = task.core
        yield from files.lock.acquire(core)
        fd = yield from self._alloc_fd(core, files)
        yield from files.lock.release(core)
        if fd is None:
            raise KernelError(Errno.EMFILE, f"{files.name} has all {NR_OPEN_MAX} fds open")
        yield from core.compute(self.kparams.file_open_cycles)
        file = self._new_file(core.chip, path)
        yield from core.store(file.s["f_count"], 1)
        yield from self._fd_install(core, files, fd, file)
        return fd

    def dup(self, task: Task, fd: int, share: int | None = None) -> Op:
        """A new fd (the lowest free one) for the file `fd` names; return it."""
        files = self._files_of(task, share)
        _check_fd(fd)
        yield from self.enter(task)
        core = task.core
        file = yield from self._fget(core, files, fd)
        yield from files.lock.acquire(core)
        new = yield from self._alloc_fd(core, files)
        yield from files.lock.release(core)
        if new is None:  # as dupfd: give back the reference fget took
            yield from self._fput(core, file)
            raise KernelError(Errno.EMFILE, f"{files.name} has all {NR_OPEN_MAX} fds open")
        yield from self._fd_install(core, files, new, file)
        return new

    def close(self, task: Task, fd: int, share: int | None = None) -> Op:
        """Free `fd`: under file_lock clear its slot and bits and lower next_fd; then drop the
        file's reference (the last one frees the file)."""
        files = self._files_of(task, share)
        _check_fd(fd)
        yield from self.enter(task)
        core, s = task.core, files.s
        yield from files.lock.acquire(core)
        ptr = yield from self._fd_slot(core, files, fd)
        if not ptr:
            yield from files.lock.release(core)
            raise KernelError(Errno.EBADF, f"fd {fd} is not open in {files.name}")
        fdt = files.fdt
        yield from core.store(fdt.slot(fd), 0)
        yield from _clear_bit(core, fdt.close_on_exec(fd), fd % BITS)
        yield from _clear_bit(core, fdt.open_fds(fd), fd % BITS)
        if fd < (yield from core.load(s["next_fd"])):
            yield from core.store(s["next_fd"], fd)
        yield from files.lock.release(core)
        yield from core.compute(self.kparams.file_close_cycles)
        yield from self._fput(core, self._file_at[ptr])

    def read(self, task: Task, fd: int, nbytes: int, share: int | None = None) -> Op:
        """Copy up to `nbytes` from the start of the file to the caller; return bytes copied."""
        return (yield from self._fd_rw(task, fd, nbytes, share, write=False))

    def write(self, task: Task, fd: int, nbytes: int, share: int | None = None) -> Op:
        """Copy up to `nbytes` from the caller to the start of the file; return bytes copied."""
        return (yield from self._fd_rw(task, fd, nbytes, share, write=True))

    # -- the kernel interface (see kernel/__init__.py) ------------------------------------------
    def ref_new(self, task: Task, share: int | None = None) -> Op:
        """A new object named in `share`: open a new file; its fd."""
        return (yield from self.open(task, f"/tmp/{task.name}.{len(self.files_objects)}", share))

    def ref_dup(self, task: Task, name: int, share: int | None = None) -> Op:
        """One more reference: dup; the new fd."""
        return (yield from self.dup(task, name, share))

    def ref_drop(self, task: Task, name: int, share: int | None = None) -> Op:
        """Drop a reference: close."""
        yield from self.close(task, name, share)

    # -- the paths behind the calls --------------------------------------------------------------
    def _fd_slot(self, core: Core, files: FilesTable, fd: int) -> Op:
        """fcheck_files: files->fdt, fdt->max_fds, then fdt->fd[fd] (0 past max_fds)."""
        fdt = files.fdt
        yield from core.load(files.s["fdt"])
        yield from core.load(fdt.max_fds_addr)
        yield from core.compute(self.kparams.fd_lookup_cycles)
        if fd >= fdt.max_fds:
            return 0
        return (yield from core.load(fdt.slot(fd)))

    def _fget(self, core: Core, files: FilesTable, fd: int) -> Op:
        """The RCU lookup (no lock) and a new reference on the file (atomic on f_count)."""
        ptr = yield from self._fd_slot(core, files, fd)
        if not ptr:
            raise KernelError(Errno.EBADF, f"fd {fd} is not open in {files.name}")
        file = self._file_at[ptr]
        yield from core.fetch_add(file.s["f_count"], 1)
        return file

    def _fput(self, core: Core, file: File) -> Op:
        if (yield from core.fetch_add(file.s["f_count"], -1)) == 1:
            self._free_files.setdefault(file.chip, []).append(file)

    def _alloc_fd(self, core: Core, files: FilesTable) -> Op:
        """locate_fd, with file_lock held: the lowest free fd from next_fd up, marked open and
        not close-on-exec, next_fd moved past it; the table grows when it is full
        (`_expand`). None past NR_OPEN_MAX."""
        s = files.s
        start = yield from core.load(s["next_fd"])
        while True:
            fdt, fd = files.fdt, None
            for word in range(start - start % BITS, fdt.max_fds, BITS):
                bits = yield from core.load(fdt.open_fds(word))
                yield from core.compute(self.kparams.fd_alloc_cycles)
                free = ~bits & ~((1 << max(start - word, 0)) - 1) & ((1 << BITS) - 1)
                if free:
                    fd = word + (free & -free).bit_length() - 1
                    break
            if fd is not None:
                break
            if fdt.max_fds >= NR_OPEN_MAX:
                return None
            yield from self._expand(core, files, fdt.max_fds)
        yield from core.store(fdt.open_fds(fd), bits | 1 << fd % BITS)
        yield from _clear_bit(core, fdt.close_on_exec(fd), fd % BITS)
        yield from core.store(s["next_fd"], fd + 1)
        return fd

    def _expand(self, core: Core, files: FilesTable, nr: int) -> Op:
        """expand_fdtable, file_lock held on entry and exit: drop the lock, allocate a table
        for fd `nr` (alloc_fdtable: a multiple of 128 slots, doubled), take the lock again
        and, unless another thread grew the table meanwhile, copy the slots and bitmaps over
        and publish it (files->fdt)."""
        size = min(NR_OPEN_MAX, 128 * _pow2_above(nr // 128))
        yield from files.lock.release(core)
        yield from core.compute(self.kparams.fd_expand_cycles)
        files.expansions += 1
        new = FdTable.separate(
            self.machine, f"{files.name}.fdtable{files.expansions}", files.chip, size
        )
        yield from files.lock.acquire(core)
        old = files.fdt
        if old.max_fds > nr:  # another thread expanded it while the lock was dropped
            return
        yield from core.store(new.max_fds_addr, size)
        for fd in range(old.max_fds):
            yield from core.store(new.slot(fd), (yield from core.load(old.slot(fd))))
        for word in range(0, old.max_fds, BITS):
            for bitmap in (FdTable.open_fds, FdTable.close_on_exec):
                value = yield from core.load(bitmap(old, word))
                yield from core.store(bitmap(new, word), value)
        yield from core.store(files.s["fdt"], new.addr)
        files.fdt = new

    def _fd_install(self, core: Core, files: FilesTable, fd: int, file: File) -> Op:
        """fd_install: under file_lock, point the slot at the file."""
        yield from files.lock.acquire(core)
        yield from core.load(files.s["fdt"])
        yield from core.store(files.fdt.slot(fd), file.addr)
        yield from files.lock.release(core)

    def _new_file(self, chip: int, path: str) -> File:
        free = self._free_files.get(chip)
        if free:
            file = free.pop()
        else:
            file = File(self.machine, f"file[{len(self.files_objects)}]", chip)
            self.files_objects.append(file)
            self._file_at[file.addr] = file
        file.path = path
        return file

    def _fd_rw(self, task: Task, fd: int, nbytes: int, share: int | None, write: bool) -> Op:
        """fget_light: a table used by one task needs no reference; a shared one does."""
        if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
            raise KernelError(Errno.EINVAL, f"byte count must be a whole number >= 0: {nbytes!r}")
        files = self._files_of(task, share)
        _check_fd(fd)
        yield from self.enter(task)
        core = task.core
        shared = (yield from core.load(files.s["count"])) > 1
        if shared:
            file = yield from self._fget(core, files, fd)
        else:
            ptr = yield from self._fd_slot(core, files, fd)
            if not ptr:
                raise KernelError(Errno.EBADF, f"fd {fd} is not open in {files.name}")
            file = self._file_at[ptr]
        done = min(nbytes, file.size)
        for line in range(-(-done // (file.line_words * WORD))):
            addr = file.s["data", line * file.line_words]
            yield from (core.store(addr, line) if write else core.load(addr))
            yield from core.compute(self.kparams.copy_cycles_per_line)
        if shared:
            yield from self._fput(core, file)
        return done


def _check_fd(fd: int) -> None:
    if isinstance(fd, bool) or not isinstance(fd, int) or not 0 <= fd < NR_OPEN_MAX:
        raise KernelError(Errno.EBADF, f"fd {fd!r} is out of range 0..{NR_OPEN_MAX - 1}")


def _pow2_above(n: int) -> int:
    """roundup_pow_of_two(n + 1)."""
    return 1 << n.bit_length()


def _clear_bit(core: Core, addr: int, bit: int) -> Op:
    """__clear_bit: a plain read-modify-write of one bitmap word (file_lock held)."""
    value = yield from core.load(addr)
    yield from core.store(addr, value & ~(1 << bit))
