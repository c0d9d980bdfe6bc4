"""Locks built on atomics on simulated cache lines, with /proc/lock_stat-like statistics.

What it models: the lock algorithms the two kernels use, instruction for instruction at the
level of memory accesses, so what a lock costs comes out of the coherence traffic:

  TicketLock   Linux 2.6.25+ x86 spinlock: take a ticket with `lock xadd` on `next`, spin until
               `owner` shows it; release by bumping `owner`. FIFO, and every waiter spins on
               the same line, so each release invalidates all of them: hand-off cost grows with
               the number of waiters.
  MCSLock      Mellor-Crummey and Scott: a queue of per-core nodes; each waiter spins on its own
               node's line and the releaser touches only its successor's. Corey's lock.
  RWSemaphore  Linux's rw_semaphore (`mmap_sem`): one `count` word; a reader's down/up are two
               atomics on that shared line even when no writer exists; writers queue FIFO.
  MCSRWLock    a reader-writer lock built from an MCS queue for writers, a reader count and a
               writer flag: Corey's share lock as the lab's workloads use it.

Waiters spin (`Core.spin_until`), they do not sleep: Linux's rwsem would put a blocked task to
sleep and wake it, which costs more, not less; the lab's workloads rarely block on writers.

Statistics per lock, as /proc/lock_stat: acquisitions, contentions (the lock was held when
asked for), cycles waited and cycles held.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..hardware import Machine
from ..hardware.core import Core, Op
from .objects import per_core

WRITER = -(1 << 32)  # rwsem: the writer's bias, so any reader sees a negative count


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
    """Linux's rw_semaphore (`mmap_sem`). Fast paths on one `count` word: a reader adds 1, and
    backs off and spins while a writer's large negative bias is in. Writers keep Linux's
    fairness: they queue in FIFO order (the wait_list, kept as a ticket pair `next`/`serving`),
    and the writer at the head adds its bias, which stops new readers, then waits for the
    readers inside to leave; so a stream of readers cannot starve a writer."""

    def __init__(self, name: str, count_addr: int, next_addr: int, serving_addr: int) -> None:
        super().__init__(name)
        self.count = count_addr
        self.next, self.serving = next_addr, serving_addr

    def down_read(self, core: Core) -> Op:
        asked, contended = core.local, False
        while (yield from core.fetch_add(self.count, 1)) < 0:
            contended = True
            yield from core.fetch_add(self.count, -1)
            yield from core.spin_until(self.count, lambda v: v >= 0)
        self._acquired(core, asked, contended)

    def up_read(self, core: Core) -> Op:
        self._released(core)
        yield from core.fetch_add(self.count, -1)

    def down_write(self, core: Core) -> Op:
        asked = core.local
        ticket = yield from core.fetch_add(self.next, 1)
        contended = (yield from core.load(self.serving)) != ticket
        if contended:
            yield from core.spin_until(self.serving, lambda v: v == ticket)
        if (yield from core.fetch_add(self.count, WRITER)) != 0:  # readers inside: let them out
            contended = True
            yield from core.spin_until(self.count, lambda v: v == WRITER)
        self._acquired(core, asked, contended)

    def up_write(self, core: Core) -> Op:
        self._released(core)
        yield from core.fetch_add(self.count, -WRITER)
        serving = yield from core.load(self.serving)
        yield from core.store(self.serving, serving + 1)


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
        readers = yield from core.load(self.readers)
        if readers:
            yield from core.spin_until(self.readers, lambda v: v == 0)
        self._acquired(core, asked, self.queue.stats.contentions > queued_before or bool(readers))

    def write_release(self, core: Core) -> Op:
        self._released(core)
        yield from core.store(self.writer, 0)
        yield from self.queue.release(core)
