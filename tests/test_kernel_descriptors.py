"""Linux's files_struct on simulated lines: layout, POSIX lowest-fd allocation, file_lock taken
three times per dup+close, FD shares, errors that change nothing, and the line traffic of a
shared table worked out by hand."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from coreylab.hardware import HardwareParams, Machine
from coreylab.kernel import Errno, Kernel, KernelError, LinuxKernel, descriptors
from coreylab.kernel.descriptors import NR_OPEN
from coreylab.workloads import Loop, dup_close, measure, run_call


def linux(preset: str = "amd16") -> tuple[Machine, LinuxKernel]:
    m = Machine(HardwareParams.preset(preset))
    return m, LinuxKernel(m)


def dup_close_once(kernel, task, fd, share=None):
    run_call(task, lambda t: dup_close(kernel, t, fd, share))


def table_state(kernel: LinuxKernel) -> dict:
    """Everything the descriptor tables and files hold (lock words aside), plus FD shares."""
    values = kernel.machine.memory.values
    return {
        "tables": [t.snapshot(values) for t in kernel.files_tables],
        "f_count": [values.get(f.s["f_count"], 0) for f in kernel.files_objects],
        "shares": sorted(kernel.files._fd_shares),
    }


# -- layout ---------------------------------------------------------------------------------------
def test_files_struct_layout_puts_the_lock_and_what_it_guards_on_one_line():
    """As 2.6.27: count/fdt on a read-mostly line; file_lock, next_fd, both bitmaps and the first
    fd slots together on the next line; the rest of the 64 slots on the 8 lines after it."""
    m, k = linux()
    p = k.create_process(5)
    s = p.files.s
    line = m.line_of
    assert p.files.name == "files[0]" and m.memory.home_chip(s.base) == 1
    assert line(s["count"]) == line(s["fdt"]) == line(s["max_fds"])
    lock_line = line(s["file_lock", 0])
    assert lock_line == line(s["count"]) + 1
    for field in ("next_fd", "open_fds", "close_on_exec"):
        assert line(s[field]) == lock_line
    assert [line(s["fd", fd]) for fd in (0, 2, 3, 10, 11, 63)] == [
        lock_line,
        lock_line,
        lock_line + 1,
        lock_line + 1,
        lock_line + 2,
        lock_line + 8,
    ]
    label = m.memory.label_of
    assert label(line(s["count"])) == "files[0].read_mostly"
    assert label(lock_line) == "files[0].file_lock"
    assert label(lock_line + 1) == label(lock_line + 8) == "files[0].fd_array"


def test_threads_share_a_table_and_processes_do_not():
    """Threads point at their process's files_struct, whose `count` says it is shared."""
    m, k = linux()
    p = k.create_process(0)
    t = k.create_thread(p, 1)
    q = k.create_process(2)
    assert t.files is p.files and q.files is not p.files
    assert m.memory.values[p.files.s["count"]] == 2
    assert m.memory.values[q.files.s["count"]] == 1


def test_both_kernels_implement_the_kernel_interface():
    """Workloads are written against `Kernel`: both kernels provide it."""
    from coreylab.kernel import CoreyKernel

    m = Machine(HardwareParams.preset("tiny"))
    assert isinstance(LinuxKernel(m), Kernel)
    assert isinstance(CoreyKernel(Machine(HardwareParams.preset("tiny"))), Kernel)


# -- semantics ------------------------------------------------------------------------------------
def test_open_dup_close_give_the_lowest_free_fd():
    """POSIX: every new fd is the lowest free one, holes first; dups share one struct file."""
    m, k = linux("tiny")
    p = k.create_process(0)
    fds = [run_call(p, k.open, f"/f{i}") for i in range(4)]
    assert fds == [0, 1, 2, 3]
    run_call(p, k.close, 1)
    assert run_call(p, k.dup, 3) == 1  # the hole first
    assert run_call(p, k.dup, 0) == 4
    assert k.file_of(p.files, 1) is k.file_of(p.files, 3)
    assert m.memory.values[k.file_of(p.files, 3).s["f_count"]] == 2
    run_call(p, k.close, 3)
    assert m.memory.values[k.file_of(p.files, 1).s["f_count"]] == 1


def test_read_and_write_copy_up_to_the_file_size():
    """A small in-memory file of four lines: reads and writes stop at its end."""
    m, k = linux("tiny")
    p = k.create_process(0)
    fd = run_call(p, k.open, "/small")
    assert run_call(p, k.write, fd, 100) == 100
    assert run_call(p, k.read, fd, 10_000) == 256  # four 64-byte lines


def test_a_shared_table_makes_read_take_a_reference():
    """fget_light: while only one task uses the table, read takes no reference; once a thread
    shares it, every read is an atomic f_count++ and f_count-- on the file's own line."""
    m = Machine(HardwareParams.preset("amd16"), log_accesses=True)
    k = LinuxKernel(m)
    p = k.create_process(0)
    fd = run_call(p, k.open, "/x")
    f_count = k.file_of(p.files, fd).s["f_count"]

    def atomics_on_f_count():
        return sum(
            1 for _, _, kind, addr, _ in m.access_log if kind == "atomic" and addr == f_count
        )

    run_call(p, k.read, fd, 64)
    assert atomics_on_f_count() == 0
    t = k.create_thread(p, 1)
    run_call(t, k.read, fd, 64)
    run_call(p, k.read, fd, 64)
    assert atomics_on_f_count() == 4
    assert m.memory.values[f_count] == 1


def test_fd_shares_are_separate_tables_on_the_callers_chip():
    """share_alloc makes a new table on the caller's chip; any thread of the process may use it."""
    m, k = linux()
    p = k.create_process(0)
    t = k.create_thread(p, 9)
    share = run_call(t, k.share_alloc)
    table = k.files._fd_shares[share][0]
    assert m.memory.home_chip(table.s.base) == 2
    fd = run_call(t, k.open, "/in-share", share)
    assert fd == 0 and p.files.snapshot(m.memory.values)["open_fds"] == 0
    assert run_call(p, k.dup, fd, share) == 1  # another thread of the process may use it


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, args, errno",
    [
        ("dup", (7,), Errno.EBADF),
        ("dup", (NR_OPEN,), Errno.EBADF),
        ("dup", (-1,), Errno.EBADF),
        ("dup", (True,), Errno.EBADF),
        ("close", (5,), Errno.EBADF),
        ("read", (0, -1), Errno.EINVAL),
        ("write", (9, 10), Errno.EBADF),
        ("open", ("",), Errno.EINVAL),
        ("dup", (0, 99), Errno.ENOENT),
    ],
)
def test_bad_input_raises_and_changes_nothing(call, args, errno):
    """Each bad call raises its errno, leaves the tables and refcounts as they were and the
    lock free."""
    m, k = linux("tiny")
    p = k.create_process(0)
    run_call(p, k.open, "/a")
    before = table_state(k)
    with pytest.raises(KernelError) as e:
        run_call(p, getattr(k, call), *args)
    assert e.value.errno == errno and errno.name in str(e.value)
    assert table_state(k) == before
    assert m.memory.values[p.files.lock.next] == m.memory.values.get(p.files.lock.owner, 0)


def test_the_65th_fd_grows_the_table_and_keeps_every_file():
    """64 open fds fill the embedded table; the next open runs expand_files: a separate
    128-fd table (max_fds, fd array, bitmaps on lines of their own) gets a copy of every slot
    and bit, files->fdt points at it, and fds 64 and up then open, dup and close like the
    others. file_lock is dropped while the table is allocated: one more acquisition."""
    m, k = linux("tiny")
    p = k.create_process(0)
    files = [run_call(p, k.open, f"/f{i}") for i in range(NR_OPEN)]
    assert files == list(range(NR_OPEN))
    before = p.files.snapshot(m.memory.values)
    taken = p.files.lock.stats.acquisitions
    assert run_call(p, k.open, "/f64") == 64
    assert p.files.lock.stats.acquisitions == taken + 3  # alloc, again after allocating, install
    after = p.files.snapshot(m.memory.values)
    assert after["max_fds"] == 128 and p.files.expansions == 1
    assert after["fd"] == {**before["fd"], 64: after["fd"][64]}
    assert after["open_fds"] == before["open_fds"] | 1 << 64
    assert m.memory.values[p.files.s["fdt"]] == p.files.fdt.addr != p.files.s.base
    assert m.memory.labels[m.line_of(p.files.fdt.slot(64))] == "files[0].fdtable1.fd"
    assert k.file_of(p.files, 64).path == "/f64" and k.file_of(p.files, 3).path == "/f3"
    assert run_call(p, k.dup, 64) == 65
    run_call(p, k.close, 3)
    assert run_call(p, k.dup, 65) == 3  # still the lowest free one
    run_call(p, k.close, 64)
    assert k.file_of(p.files, 64) is None and k.file_of(p.files, 65).path == "/f64"


def test_a_full_table_is_emfile_and_dup_gives_its_reference_back(monkeypatch):
    """At the limit (RLIMIT_NOFILE, here lowered to 128 to keep the test short) dup and open
    fail with EMFILE and change nothing."""
    monkeypatch.setattr(descriptors, "NR_OPEN_MAX", 128)
    m, k = linux("tiny")
    p = k.create_process(0)
    for i in range(128):
        run_call(p, k.open, f"/f{i}")
    before = table_state(k)
    for call, args in (("dup", (3,)), ("open", ("/one-more",))):
        with pytest.raises(KernelError) as e:
            run_call(p, getattr(k, call), *args)
        assert e.value.errno == Errno.EMFILE
        assert table_state(k) == before


def test_many_threads_grow_a_shared_table_once():
    """48 threads each open a file and dup it at the same time: 96 fds, so the shared
    table must grow past 64 while the threads contend for file_lock. One thread grows it
    (the others that found it full meanwhile see it grown when they retake the lock), and
    every fd lands in it."""
    hw = HardwareParams.preset("amd16").replace(chips=8, cores_per_chip=6)
    m = Machine(hw)
    k = LinuxKernel(m)
    p = k.create_process(0)
    tasks = [p] + [k.create_thread(p, c) for c in range(1, 48)]
    fds = {}

    def program(core, task):
        fd = yield from k.open(task, f"/t{task.id}")
        fds[task.id] = (fd, (yield from k.dup(task, fd)))

    for t in tasks:
        m.spawn(t.core_id, program, t)
    m.run()
    assert p.files.expansions >= 1 and p.files.fdt.max_fds == 128
    opened = sorted(fd for pair in fds.values() for fd in pair)
    assert opened == list(range(96))
    assert all(k.file_of(p.files, a) is k.file_of(p.files, b) for a, b in fds.values())


def test_another_process_cannot_use_an_fd_share():
    """An FD share belongs to the process that made it."""
    m, k = linux("tiny")
    p, q = k.create_process(0), k.create_process(1)
    share = run_call(p, k.share_alloc)
    run_call(p, k.open, "/mine", share)
    with pytest.raises(KernelError) as e:
        run_call(q, k.dup, 0, share)
    assert e.value.errno == Errno.EACCES


# -- line traffic, by hand ------------------------------------------------------------------------
def two_threads():
    """A process on core 0 with fds 0-2 open (stdio), thread A's file at fd 3 and thread B's
    (core 1, same chip) at fd 4. A dup then lands at fd 5: fds 0-2 share file_lock's line,
    fds 3-10 are the first fd_array line."""
    m, k = linux()
    a = k.create_process(0)
    b = k.create_thread(a, 1)
    for i in range(3):
        run_call(a, k.open, f"/dev/tty{i}")
    assert (run_call(a, k.open, "/a"), run_call(b, k.open, "/b")) == (3, 4)
    return m, k, a, b


def test_taking_turns_moves_two_lines_per_dup_close_and_takes_file_lock_three_times():
    """Threads A and B take turns, one dup+close each. When A starts, B's close has left both
    lines Modified in B's cache. A's dup+close then needs exactly three transactions:
      1. the RCU lookup loads fd[3]: fd_array line from B's cache (121 cycles), A gets it Shared
         and B keeps it Owned;
      2. the lock's xadd on file_lock's line: from B's cache (121 cycles), Modified;
      3. fd_install's store to fd[5]: an upgrade of fd_array (no data), invalidating B's copy.
    Everything else (three lock round trips, next_fd, both bitmaps, close's stores) hits in A's
    L1 because the lock and what it guards share the line A now holds."""
    m, k, a, b = two_threads()
    for _ in range(3):
        dup_close_once(k, a, 3)
        dup_close_once(k, b, 4)
    acquisitions = a.files.lock.stats.acquisitions
    m.trace.records.clear()
    dup_close_once(k, a, 3)
    seen = [(r.label, r.kind, r.source, r.state_before, r.state_after) for r in m.trace]
    assert seen == [
        ("files[0].fd_array", "load", "same-chip-cache", "I", "S"),
        ("files[0].file_lock", "atomic", "same-chip-cache", "I", "M"),
        ("files[0].fd_array", "store", "upgrade", "S", "M"),
    ]
    assert [r.t_end - r.t_start for r in m.trace][:2] == [121, 121]
    assert a.files.lock.stats.acquisitions - acquisitions == 3


def test_two_threads_at_once_contend_on_file_lock():
    """Running flat out, every critical section finds file_lock's line in the other core's
    cache: at least three transfers per dup+close (one per acquisition), the ticket lock is
    contended, and still exactly three acquisitions per dup+close."""
    m, k, a, b = two_threads()
    loops = [Loop(a, dup_close, (3, None)), Loop(b, dup_close, (4, None))]
    before = a.files.lock.stats.acquisitions
    result = measure(k, loops, warmup=2, ops=20, seed=1)
    assert a.files.lock.stats.acquisitions - before == 3 * (2 + 20) * 2
    assert a.files.lock.stats.contentions > 0
    from_other_cache = result.after.misses("same-chip-cache") - result.before.misses(
        "same-chip-cache"
    )
    assert from_other_cache / result.ops >= 3
    assert a.files.snapshot(m.memory.values)["open_fds"] == 0b11111  # only fds 0-4 left


@pytest.mark.parametrize("variant", ["procs", "fdshares"])
def test_private_tables_move_no_line_after_warm_up(variant):
    """With a table per process or per FD share, four cores on two chips running at once move
    no line between caches once warmed up, and run exactly as fast as one core alone."""
    m, k = linux()
    if variant == "procs":
        tasks = [k.create_process(c) for c in (0, 1, 4, 5)]
    else:
        p = k.create_process(0)
        tasks = [p] + [k.create_thread(p, c) for c in (1, 4, 5)]
    loops = []
    for t in tasks:
        share = run_call(t, k.share_alloc) if variant == "fdshares" else None
        loops.append(Loop(t, dup_close, (run_call(t, k.open, "/own", share), share)))
    result = measure(k, loops, warmup=2, ops=10, seed=0)
    assert result.transfers_per_op() == 0
    assert result.after.misses() == result.before.misses()  # every access hit its own cache
    assert len(set(result.per_core)) == 1


# -- a reference model of fd allocation -----------------------------------------------------------
LIMIT = 128  # the fd limit the model runs with (RLIMIT_NOFILE lowered): the table grows once


class FdTable(RuleBasedStateMachine):
    """Random open/dup/close/read on one shared table from two threads, against a plain dict:
    the lowest free fd every time (past the 64 embedded slots too), the same errors, and
    errors change nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.saved_limit, descriptors.NR_OPEN_MAX = descriptors.NR_OPEN_MAX, LIMIT
        self.m, self.k = linux("tiny")
        p = self.k.create_process(0)
        self.tasks = [p, self.k.create_thread(p, 1)]
        self.fds: dict[int, int] = {}  # fd -> model file number
        self.next_file = 0

    def lowest_free(self) -> int | None:
        return next((fd for fd in range(LIMIT) if fd not in self.fds), None)

    def call(self, who: int, name: str, *args):
        before = table_state(self.k)
        try:
            return run_call(self.tasks[who], getattr(self.k, name), *args), None
        except KernelError as e:
            assert table_state(self.k) == before, "a failed call changed the table"
            return None, e.errno

    @rule(who=st.integers(0, 1), n=st.integers(1, 70))
    def open_files(self, who, n):
        for _ in range(n):
            fd, err = self.call(who, "open", f"/f{self.next_file}")
            expected = self.lowest_free()
            if expected is None:
                assert err == Errno.EMFILE
                return
            assert (fd, err) == (expected, None)
            self.fds[fd] = self.next_file
            self.next_file += 1

    @rule(who=st.integers(0, 1), fd=st.integers(-2, LIMIT + 1))
    def dup(self, who, fd):
        new, err = self.call(who, "dup", fd)
        if fd not in self.fds:
            assert err == Errno.EBADF
        elif self.lowest_free() is None:
            assert err == Errno.EMFILE
        else:
            assert (new, err) == (self.lowest_free(), None)
            self.fds[new] = self.fds[fd]

    @rule(who=st.integers(0, 1), fd=st.integers(-2, LIMIT + 1))
    def close(self, who, fd):
        _, err = self.call(who, "close", fd)
        assert err == (None if fd in self.fds else Errno.EBADF)
        self.fds.pop(fd, None)

    @rule(who=st.integers(0, 1), fd=st.integers(-1, 8), nbytes=st.integers(-1, 300))
    def read(self, who, fd, nbytes):
        done, err = self.call(who, "read", fd, nbytes)
        if nbytes < 0:
            assert err == Errno.EINVAL
        elif fd not in self.fds:
            assert err == Errno.EBADF
        else:
            assert (done, err) == (min(nbytes, 256), None)

    @invariant()
    def table_matches_the_model(self):
        table = self.tasks[0].files
        snap = table.snapshot(self.m.memory.values)
        assert snap["open_fds"] == sum(1 << fd for fd in self.fds)
        assert set(snap["fd"]) == set(self.fds)
        lowest = self.lowest_free()
        assert snap["next_fd"] <= (LIMIT if lowest is None else lowest)
        files = {fd: self.k.file_of(table, fd) for fd in self.fds}
        same = {(self.fds[a] == self.fds[b], files[a] is files[b]) for a in files for b in files}
        assert all(model == kernel for model, kernel in same)
        refs = Counter(files.values())
        for file, n in refs.items():
            assert self.m.memory.values[file.s["f_count"]] == n

    def teardown(self) -> None:
        descriptors.NR_OPEN_MAX = self.saved_limit


TestFdTable = FdTable.TestCase
TestFdTable.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)


def test_kernel_errors_survive_pickling_and_rebuilding():
    """simpy rebuilds a failed process's exception from its args, and a process pool pickles
    it: both must give back the same KernelError, errno and message."""
    import pickle

    from coreylab.kernel import Errno, KernelError

    err = KernelError(Errno.EBADF, "fd 7 is not open")
    for copy in (pickle.loads(pickle.dumps(err)), type(err)(*err.args)):
        assert isinstance(copy, KernelError)
        assert (copy.errno, str(copy)) == (Errno.EBADF, "EBADF: fd 7 is not open")
