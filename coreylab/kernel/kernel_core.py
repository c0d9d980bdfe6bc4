"""Kernel cores: a Corey pcore in monitor mode, polling its cards and serving the system-call
rings of the applications attached to it (Corey's kern/sysmon.c, kern/device.c).

What it models
  KernelCore  the cards it drives (a kernel driver each, or Corey's e1000 driver alone when it
              runs no stack), its own TCP stack on its chip (or none), the rings it serves and
              the accepts parked until a connection comes. Its loop (`monitor`), forever: poll
              each card (run what arrived through its stack, or, with no stack, mark the
              buffers the cards are done with), answer parked accepts, serve each ring
              (`syscall_ring.serve`); with nothing to do, spin on the lines that would bring
              work (each card's next descriptor, each ring's next slot flag).
  UserStack   an application pcore's own TCP stack (lwIP in user space) over its own buffers
              (`jnic.JNic`): the same polling, with its calls run inline, no ring and no trap.
  The calls a kernel core runs (`run_call`): a null call, accept, recv, write and close on its
  stack, and `device_buf`, which hands one of an application's buffers to the card.

Who makes them and who may name what (devices as kernel objects, shares) is `devices.py`; the
ring's slots and flags are `syscall_ring.py`.

What it leaves out: a kernel core that sleeps or runs anything else (it spins on its lines
when idle), interrupts (its cards' stay masked), and more than one kernel core per card.

Invariants: a call given bad input raises `KernelError` before it changes any state; the loop's
bookkeeping (`cycles`: cards, rings, calls, idle) adds up to the time it has run, and costs
nothing simulated.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from ..hardware.core import Core, Op
from .base import Errno, KernelError, Task
from .jnic import IN
from .netstack import Connection, NetStack
from .params import NetParams
from .syscall_ring import (
    FLAG,
    NARGS,
    PARKED,
    POSTED,
    SYS_ACCEPT,
    SYS_DEVICE_BUF,
    SYS_NULL,
    SYS_RECV,
    SYS_WRITE,
    Ring,
    answer,
    serve,
)


def spin_until_changed(core: Core, addrs: list[int]) -> Op:
    """A polling loop with nothing to do: spin until another agent (a core, a card) changes one
    of `addrs`' lines in this core's caches (`Core.sleep_until_changed`)."""
    yield from core.sleep_until_changed(sorted({core.machine.line_of(a) for a in addrs}))


class KernelCore:
    """A pcore in monitor mode: the cards it drives, its own TCP stack (None: drivers only),
    the rings it serves, and accepts waiting for a connection (ring, slot). It is given the
    network parameters and `send_buffer(task, nbytes)`, the line addresses a task's `write`
    sends from. An application running its own stack over its `JNic` polls the same way
    (`UserStack`)."""

    def __init__(
        self,
        task: Task,
        stack: NetStack | None,
        drivers: list,
        nparams: NetParams,
        send_buffer: Callable[[Task, int], list[int]],
    ) -> None:
        self.task, self.stack, self.drivers = task, stack, drivers
        self.nparams, self.send_buffer = nparams, send_buffer
        self.rings: list[Ring] = []
        self.parked: deque[tuple[Ring, int]] = deque()
        # Where its monitor loop's time went (bookkeeping only, it costs nothing): "cards"
        # (polling the cards: descriptors taken back and buffers marked done, or packets run
        # through its stack and parked accepts answered), "rings" (reading and freeing slots,
        # answering), "calls" (what the slots asked: device_buf, or a call on its stack),
        # "idle" (spinning on its lines until one changes).
        self.cycles: Counter[str] = Counter()

    def watch(self) -> list[int]:
        """The words whose change gives it work: each card's next descriptor, each ring's next
        slot flag."""
        core = self.task.core  # (its own writes may still be in its store buffer)
        slots = [r.word(core.peek(r.kern["next_slot"]), FLAG) for r in self.rings]
        return [a for d in self.drivers for a in d.watch(core)] + slots

    def __repr__(self) -> str:
        return f"KernelCore({self.task.name}, {len(self.drivers)} cards, {len(self.rings)} rings)"

    # -- the loop --------------------------------------------------------------------------------
    def monitor(self) -> Op:
        """Forever: poll cards, answer parked accepts, serve rings; with nothing to do, spin on
        the lines that would bring work."""
        core, spent = self.task.core, self.cycles
        while True:
            start = core.local
            worked = yield from self.poll_cards()
            worked = (yield from self._unpark()) or worked
            spent["cards"] += core.local - start
            start, calls = core.local, spent["calls"]
            for ring in self.rings:
                worked = (yield from self._serve(ring)) or worked
            spent["rings"] += core.local - start - (spent["calls"] - calls)
            if not worked:
                start = core.local
                yield from spin_until_changed(core, self.watch())
                spent["idle"] += core.local - start

    def poll_cards(self) -> Op:
        """One poll of each card; returns whether any had work."""
        core, budget, worked = self.task.core, self.nparams.napi_budget, False
        if self.stack is None:  # drivers only: mark the buffers the cards are done with
            for driver in self.drivers:
                worked = (yield from driver.poll(core)) or worked
            return worked
        for driver in self.drivers:
            packets = yield from driver.rx_poll(core, budget)
            for packet in packets:
                yield from self.stack.rx(core, driver, packet)
            worked = worked or bool(packets)
        return worked

    def _serve(self, ring: Ring) -> Op:
        dispatch = self.nparams.slot_dispatch_cycles
        return (yield from serve(self.task.core, ring, self._timed_call, dispatch, self.parked))

    def _timed_call(self, ring: Ring, sysno: int, args: list) -> Op:
        """`run_call` for a ring's slot, its time (refused or not) counted as "calls"."""
        core = self.task.core
        start = core.local
        try:
            ret = yield from self.run_call(ring, sysno, args)
        except KernelError:
            self.cycles["calls"] += core.local - start
            raise
        self.cycles["calls"] += core.local - start
        return ret

    # -- accepts ---------------------------------------------------------------------------------
    def accept_polling(self) -> Op:
        """Accept inline on its own stack (a polling pcore, an application's own stack): poll
        the cards, spinning when they are idle, until a connection is queued."""
        while (conn := (yield from self.accept_now())) is None:
            if not (yield from self.poll_cards()):
                yield from spin_until_changed(self.task.core, self.watch())
        return conn

    def accept_now(self) -> Op:
        """The oldest queued connection of its stack, or None."""
        core, stack = self.task.core, self.stack
        yield from stack.lock_sock(core, stack.listener)
        conn = yield from stack.accept_locked(core)
        yield from stack.release_sock(core, stack.listener)
        if conn is not None:
            yield from core.compute(self.nparams.accept_cycles)
        return conn

    def _unpark(self) -> Op:
        """Answer parked accepts, oldest first, while connections are queued."""
        worked = False
        while self.parked and self.stack.listener.queue:
            ring, slot = self.parked.popleft()
            conn = yield from self.accept_now()
            yield from answer(self.task.core, ring, slot, conn.id)
            worked = True
        return worked

    # -- the calls -------------------------------------------------------------------------------
    def run_call(self, caller: Ring | Task, sysno: int, args: list) -> Op:
        """One call on its stack (validated first). `caller` is the ring (served by a kernel
        core) or the task (inline)."""
        core, stack = self.task.core, self.stack
        if sysno == SYS_NULL:
            return core.id  # processor_current
        if sysno == SYS_DEVICE_BUF:
            return (yield from _device_buf(core, caller, *args))
        if stack is None:
            raise KernelError(Errno.EINVAL, f"{self!r} runs no stack: system call {sysno}")
        if sysno == SYS_ACCEPT:
            conn = yield from self.accept_now()
            return PARKED if conn is None else conn.id
        if sysno not in NARGS:
            raise KernelError(Errno.EINVAL, f"no system call {sysno}")
        conn = self._connection(args[0])
        if sysno == SYS_RECV:
            return (yield from stack.recv(core, conn))
        if sysno == SYS_WRITE:
            app = caller.app if isinstance(caller, Ring) else caller
            yield from stack.send(core, conn, self.send_buffer(app, args[1]))
            return args[1]
        conn.closed = True
        yield from stack.close(core, conn)
        return 0

    def _connection(self, conn_id: int) -> Connection:
        conn = self.stack.conns.get(conn_id)
        if conn is None or conn.closed:
            raise KernelError(Errno.EBADF, f"connection {conn_id} is not open")
        return conn


class UserStack(KernelCore):
    """An application pcore's own TCP stack (lwIP in user space) over its buffers: its calls
    run inline, with no trap, and its driver is its `JNic`."""


def _device_buf(core: Core, ring: Any, direction: int, index: int) -> Op:
    """sys_device_buf: hand one of the application's buffers to its card (receive into it, or
    send what it holds)."""
    jnic = getattr(ring, "jnic", None)
    if jnic is None:
        raise KernelError(Errno.EINVAL, "device_buf needs an application's buffers")
    try:
        buf = jnic.buffer(direction, index)
    except ValueError as e:
        raise KernelError(Errno.EINVAL, str(e)) from None
    if direction == IN:
        yield from jnic.driver.add_rxbuf(core, buf)
    else:
        yield from jnic.driver.add_txbuf(core, buf)
    return POSTED
