"""Locks built on atomics on simulated cache lines, with /proc/lock_stat-like statistics.

What it models: the lock algorithms the two kernels use, instruction for instruction at the
level of memory accesses, so what a lock costs comes out of the coherence traffic:

  TicketLock   Linux 2.6.25+ x86 spinlock: take a ticket with `lock xadd` on `next`, spin until
               `owner` shows it; release by bumping `owner`. FIFO, and every waiter spins on
               the same line, so each release invalidates all of them: hand-off cost grows with
               the number of waiters.
  MCSLock      Mellor-Crummey and Scott: a queue of per-core nodes; each waiter spins on its own
               node's line and the releaser touches only its successor's. Corey's lock.
  RWSemaphore  Linux's sleeping rw_semaphore (`mmap_sem`): a reader's down/up are two atomics on
               its `count` even when no writer exists; a task that cannot get it queues on a
               wait list (under a spinlock) and sleeps until a releaser wakes it, FIFO.
  MCSRWLock    a reader-writer lock built from an MCS queue for writers, a reader count and a
               writer flag: Corey's share lock as the lab's workloads use it.

Spinlock waiters spin (`Core.spin_until`); the rw-semaphore's waiters sleep (`Core.wait`), and
the wake-up costs instruction work on both sides (`KernelParams.wakeup_cycles`, paid by the
waker for each task it wakes, and `switch_cycles`, paid by the woken core before it runs on).
A sleeping core runs nothing else (one task per core).

Statistics per lock, as /proc/lock_stat: acquisitions, contentions (the lock was held when
asked for: the slow path), cycles waited (spinning or asleep) and cycles held.
Source: Linux 2.6.27 lib/rwsem.c and include/asm-x86/rwsem.h (x86-64 in 2.6.27 builds the
generic lib/rwsem-spinlock.c instead, whose uncontended paths are likewise one atomic on that
line, the wait_lock's, but whose readers take the spinlock every time; 2.6.35 moved x86-64 to
the xadd algorithm modelled here).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..hardware import Machine
from ..hardware.core import Core, Op
from .objects import Struct, per_core


@dataclass
class LockStats:
    name: str
    acquisitions: int = 0
    contentions: int = 0
    wait_cycles: int = 0
    hold_cycles: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


class Lock:
    """What every lock shares: a name, statistics and who holds it since when."""

    def __init__(self, name: str) -> None:
        self.stats = LockStats(name)
        self._since: dict[int, int] = {}  # core id -> local time it acquired the lock

    @property
    def name(self) -> str:
        return self.stats.name

    def _acquired(self, core: Core, asked: int, contended: bool) -> None:
        self.stats.acquisitions += 1
        self.stats.contentions += contended
        self.stats.wait_cycles += core.local - asked
        self._since[core.id] = core.local

    def _released(self, core: Core) -> None:
        if core.id not in self._since:
            raise RuntimeError(f"core {core.id} releases {self.name}, which it does not hold")
        self.stats.hold_cycles += core.local - self._since.pop(core.id)

    def held_by(self, core: Core) -> bool:
        return core.id in self._since


class TicketLock(Lock):
    """Linux's ticket spinlock on two words of a line someone else lays out (`next`, `owner`)."""

    def __init__(self, name: str, next_addr: int, owner_addr: int) -> None:
        super().__init__(name)
        self.next, self.owner = next_addr, owner_addr

    def acquire(self, core: Core) -> Op:
        asked = core.local
        ticket = yield from core.fetch_add(self.next, 1)
        serving = yield from core.load(self.owner)
        if serving != ticket:
            yield from core.spin_until(self.owner, lambda v: v == ticket)
        self._acquired(core, asked, serving != ticket)

    def release(self, core: Core) -> Op:
        self._released(core)
        serving = yield from core.load(self.owner)
        yield from core.store(self.owner, serving + 1)  # x86 `incb`: no lock prefix


class MCSLock(Lock):
    """An MCS queue lock: `tail` names the last waiter (core id + 1; 0 = free). Its queue
    nodes (one per core) are its own, or `nodes` shared with locks no core holds two of at once."""

    def __init__(self, name: str, machine: Machine, tail_addr: int, nodes=None) -> None:
        super().__init__(name)
        self.tail = tail_addr
        self.nodes = nodes or per_core(machine, f"{name}.qnode", ["locked", "next"])

    def acquire(self, core: Core) -> Op:
        asked = core.local
        node = self.nodes[core.id]
        yield from core.store(node["next"], 0)
        yield from core.store(node["locked"], 1)
        pred = yield from core.swap(self.tail, core.id + 1)
        if pred:
            yield from core.store(self.nodes[pred - 1]["next"], core.id + 1)
            yield from core.spin_until(node["locked"], lambda v: v == 0)
        self._acquired(core, asked, bool(pred))

    def release(self, core: Core) -> Op:
        self._released(core)
        node = self.nodes[core.id]
        succ = yield from core.load(node["next"])
        if not succ:
            if (yield from core.cas(self.tail, core.id + 1, 0)) == core.id + 1:
                return  # nobody was waiting
            succ = yield from core.spin_until(node["next"], lambda v: v != 0)
        yield from core.store(self.nodes[succ - 1]["locked"], 0)


class RWSemaphore(Lock):
    """Linux's sleeping rw_semaphore (`mmap_sem`), the xadd algorithm of lib/rwsem.c.

    Fast paths are one atomic on `count`: a reader adds ACTIVE and is in unless the result is
    negative (a writer is in or waits); a writer adds ACTIVE_WRITE and is in if it was 0.
    Slow path (`_sleep`): under the spinlock `wait_lock` the task links a waiter (on its own
    stack: its own line) at the tail of `wait_list`, turns its active bias into a waiting one,
    and sleeps until a waker grants it the semaphore. Releases whose count shows waiters and
    no one active call `_wake`: under `wait_lock`, grant the head writer alone, or every reader
    at the head at once, each with `wake_up_process` (the waker pays `wakeup_cycles` a task;
    the woken core pays `switch_cycles` to run it again). FIFO: a reader arriving while a
    writer waits queues behind it, so readers cannot starve a writer."""

    ACTIVE, ACTIVE_MASK, WAITING = 1, 0xFFFF, -0x10000
    ACTIVE_WRITE = WAITING + ACTIVE
    READ, WRITE = 1, 2  # a waiter's flags

    def __init__(self, name: str, machine: Machine, count_addr: int, wait_list_addr: int,
                 wakeup_cycles: int, switch_cycles: int) -> None:  # fmt: skip
        super().__init__(name)
        self.machine = machine
        self.count = count_addr  # 32-bit count, then the 32-bit wait_lock, in one word
        self.wait_lock = TicketLock(f"{name}.wait_lock", count_addr + 4, count_addr + 6)
        self.first, self.last = wait_list_addr, wait_list_addr + 8  # list head: next, prev
        self.wakeup_cycles, self.switch_cycles = wakeup_cycles, switch_cycles
        self._waiters: dict[int, Struct] = {}  # core -> its waiter (on its kernel stack)
        self._by_addr: dict[int, int] = {}  # waiter's address -> core
        self._woken: dict[int, Any] = {}  # core -> the event its wake-up triggers

    def down_read(self, core: Core) -> Op:
        asked = core.local
        contended = (yield from core.fetch_add(self.count, self.ACTIVE)) + self.ACTIVE < 0
        if contended:  # rwsem_down_read_failed: active -> waiting
            yield from self._sleep(core, self.READ, self.WAITING - self.ACTIVE)
        self._acquired(core, asked, contended)

    def up_read(self, core: Core) -> Op:
        self._released(core)
        old = yield from core.fetch_add(self.count, -self.ACTIVE)
        if old - self.ACTIVE < 0 and old & self.ACTIVE_MASK == self.ACTIVE:  # the last one out
            yield from self._wake(core)

    def down_write(self, core: Core) -> Op:
        asked = core.local
        contended = (yield from core.fetch_add(self.count, self.ACTIVE_WRITE)) != 0
        if contended:  # rwsem_down_write_failed: keep the waiting bias, drop the active one
            yield from self._sleep(core, self.WRITE, -self.ACTIVE)
        self._acquired(core, asked, contended)

    def up_write(self, core: Core) -> Op:
        self._released(core)
        if (yield from core.fetch_add(self.count, -self.ACTIVE_WRITE)) != self.ACTIVE_WRITE:
            yield from self._wake(core)  # someone waits

    # -- the slow paths (lib/rwsem.c) -----------------------------------------------------------
    def _sleep(self, core: Core, flags: int, adjustment: int) -> Op:
        """rwsem_down_failed_common: queue at the tail, adjust the count, wake the head if no
        one is active any more (it may be this task), then sleep until granted."""
        me = self._waiter(core)
        self._woken[core.id] = core.env.event()
        yield from core.store(me["task"], core.id + 1)
        yield from core.store(me["flags"], flags)
        yield from core.store(me["next"], 0)
        yield from self.wait_lock.acquire(core)
        tail = yield from core.load(self.last)
        yield from core.store(self._waiters[self._by_addr[tail]]["next"] if tail else self.first,
                              me.base)  # fmt: skip
        yield from core.store(self.last, me.base)
        count = (yield from core.fetch_add(self.count, adjustment)) + adjustment
        if not count & self.ACTIVE_MASK:
            yield from self._do_wake(core)
        yield from self.wait_lock.release(core)
        while (yield from core.load(me["task"])) != 0:  # schedule() until a waker clears it
            yield from core.wait(self._woken[core.id])
            yield from core.compute(self.switch_cycles)
        del self._woken[core.id]

    def _wake(self, core: Core) -> Op:
        """rwsem_wake: under wait_lock, wake the head of the queue if there is one."""
        yield from self.wait_lock.acquire(core)
        if (yield from core.load(self.first)) != 0:
            yield from self._do_wake(core)
        yield from self.wait_lock.release(core)

    def _do_wake(self, core: Core) -> Op:
        """__rwsem_do_wake: claim an active slot (only if no one else is active), then grant
        the head writer, or every reader at the head (one atomic turns their waiting biases
        into active ones)."""
        while True:
            old = yield from core.fetch_add(self.count, self.ACTIVE)
            if not old & self.ACTIVE_MASK:
                break
            if (yield from core.fetch_add(self.count, -self.ACTIVE)) != self.ACTIVE:
                return  # someone else is active: they will wake the queue when they leave
        head = yield from core.load(self.first)
        granted = [head]
        if (yield from core.load(self._at(head)["flags"])) == self.READ:
            while True:
                nxt = yield from core.load(self._at(granted[-1])["next"])
                if not nxt or (yield from core.load(self._at(nxt)["flags"])) != self.READ:
                    break
                granted.append(nxt)
            delta = len(granted) * (self.ACTIVE - self.WAITING) - self.ACTIVE
            yield from core.fetch_add(self.count, delta)
        rest = yield from core.load(self._at(granted[-1])["next"])
        yield from core.store(self.first, rest)
        if not rest:
            yield from core.store(self.last, 0)
        for waiter in granted:
            yield from core.store(self._at(waiter)["task"], 0)
            sleeper = self._by_addr[waiter]
            if sleeper != core.id:  # wake_up_process; granting itself, the task just runs on
                yield from core.compute(self.wakeup_cycles)
            yield from core.signal(self._woken[sleeper])

    def _waiter(self, core: Core) -> Struct:
        """The core's waiter structure, made the first time it has to wait (it lives on the
        task's kernel stack: a line of its own on the core's chip)."""
        me = self._waiters.get(core.id)
        if me is None:
            name = f"{self.name}.waiter[{core.id}]"
            me = Struct(self.machine, name, {"waiter": ["next", "task", "flags"]}, core.chip)
            self._waiters[core.id], self._by_addr[me.base] = me, core.id
        return me

    def _at(self, addr: int) -> Struct:
        return self._waiters[self._by_addr[addr]]


class MCSRWLock(Lock):
    """Writers queue on an MCS lock and raise `writer`; readers count themselves in `readers`
    when no writer is inside, and back out if one raced in."""

    def __init__(self, name: str, machine: Machine, tail: int, readers: int, writer: int) -> None:
        super().__init__(name)
        self.queue = MCSLock(f"{name}.queue", machine, tail)
        self.readers, self.writer = readers, writer

    def read_acquire(self, core: Core) -> Op:
        asked, contended = core.local, False
        while True:
            if (yield from core.load(self.writer)) != 0:
                contended = True
                yield from core.spin_until(self.writer, lambda v: v == 0)
            yield from core.fetch_add(self.readers, 1)
            if (yield from core.load(self.writer)) == 0:
                break
            contended = True
            yield from core.fetch_add(self.readers, -1)
        self._acquired(core, asked, contended)

    def read_release(self, core: Core) -> Op:
        self._released(core)
        yield from core.fetch_add(self.readers, -1)

    def write_acquire(self, core: Core) -> Op:
        asked, queued_before = core.local, self.queue.stats.contentions
        yield from self.queue.acquire(core)
        yield from core.store(self.writer, 1)
        # A reader counts itself, then looks at `writer`; the writer raises `writer`, then
        # counts readers. Each must see the other's write: on x86 (TSO) a load may pass an
        # earlier store, so a full fence goes between the two (smp_mb).
        yield from core.fence()
        readers = yield from core.load(self.readers)
        if readers:
            yield from core.spin_until(self.readers, lambda v: v == 0)
        self._acquired(core, asked, self.queue.stats.contentions > queued_before or bool(readers))

    def write_release(self, core: Core) -> Op:
        self._released(core)
        yield from core.store(self.writer, 0)
        yield from self.queue.release(core)
