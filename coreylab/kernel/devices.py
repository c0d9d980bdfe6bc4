"""Devices: Linux's network stack, run on the cores interrupts reach | Corey's devices and the
kernel cores that drive them. The card, its driver and the TCP stack both kernels run are in
`netstack.py`; this file decides who runs them where, and who shares what.

What it models, Linux half (`LinuxNet`, 2.6.2x with one process per core):
  one stack for the whole machine (`tcp`: listener, established hash, bind bucket, route,
  counters, on chip 0) that every core runs; each card's interrupt routed to a core
  (smp_affinity), whose kernel takes it at its next system-call exit or while it sleeps (NAPI:
  mask, poll up to a budget, unmask). `accept` sleeps on the listener's wait queue when nothing
  is queued and is woken (wake-one, an IPI) by whichever core's softirq queued a connection;
  `recv`, `write` and `close` run in the caller's context on the connection's socket wherever
  its lines are. So every core writes the listener's lock and queues, the shared counters, the
  route and the cards' tx rings, and a connection's socket moves from the core that made it
  to the core that accepted it.

The Corey half (`CoreyDevices`, Corey's kern/device.c, kern/sysmon.c, inc/jsysmon.h):
  a card is a kernel object (`device_alloc`, in a share); `kcore_start` puts a pcore in monitor
  mode over devices it can name through its shares, with a stack of its own on its chip (or
  none, below): a `KernelCore` (`kernel_core.py`), which loops polling each card, running the
  stack and serving each ring. An application pcore hands it calls through a ring
  (`sysmon_attach`; the slots and their flags are `syscall_ring.py`) in a page of the
  application's. An accept with nothing queued is parked and answered when a connection
  arrives. A kernel core started without a stack (Corey's TCP benchmark) runs only Corey's
  e1000 driver (`nic.CoreyDriver`) for its cards and the `device_buf` calls its rings bring:
  each application pcore runs its own TCP stack (lwIP, in user space) on its own buffers
  (`jnic.JNic`, `jnic_attach`), with its data on lines of its own. "Polling": each pcore is
  its own kernel core (calls run inline, no ring).

  concept           Linux (LinuxNet)                  Corey (CoreyDevices)
  who runs TCP      every core: softirq + syscalls    each application (lwIP), or the
                                                      kernel core that owns the card
  stack data        one copy, ticket-locked, shared   one per stack, no locks, private
  a packet arrives  interrupt on the routed core      the kernel core's poll sees the DMA write
  accept/write      trap, run on the caller's core    inline in the application's own stack
                                                      (or ring slot -> kernel core)

What it leaves out: sockets as file descriptors (calls take a `ConnRef`), `socket`/`bind`/
`listen` (one listener made at set-up), lwIP's own code (Corey's stacks here are the same
code as Linux's, with private data and no locks), interrupts that preempt a running call, the
scheduler beyond a wake-up cost, and everything `netstack.py` leaves out.

Invariants: a call given bad input raises `KernelError` and changes no state (validate, then
act); a card has at most one kernel core; a task has at most one ring and one stack of its own.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..hardware.core import Op
from .base import Errno, KernelBase, KernelError, Task
from .jnic import JNic
from .kernel_core import KernelCore, UserStack
from .netstack import Connection, Listener, NetStack
from .nic import NIC, CoreyDriver, Driver, Interrupts
from .params import NetParams
from .shares import CoreyShares
from .syscall_ring import (
    FLAG,
    INUSE,
    SLOTS,
    SYS_ACCEPT,
    SYS_CLOSE,
    SYS_DEVICE_BUF,
    SYS_NULL,
    SYS_RECV,
    SYS_WRITE,
    Ring,
    ring_call,
    ring_post,
)

# What callers import from here: this file's classes, and the ring's names tests and exercises
# have always taken from this module.
__all__ = ["FLAG", "INUSE", "SLOTS", "SYS_DEVICE_BUF", "SYS_NULL", "ConnRef", "CoreyDevices",
           "LinuxNet", "NetCommon", "NetParams"]  # fmt: skip


class ConnRef(NamedTuple):
    """What `accept` gives an application: the stack that holds the connection (Linux 0,
    Corey the kernel core's task id) and the connection's id there."""

    stack: int
    id: int


def _check_bytes(nbytes: Any, limit: int) -> None:
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or not 0 < nbytes <= limit:
        raise KernelError(Errno.EINVAL, f"byte count must be 1..{limit}, not {nbytes!r}")


class NetCommon:
    """What both halves share: parameters, interrupt lines, cards, per-task send buffers. It
    touches `base`: the machine, the kernel's parameters and lock list, the cost of entering."""

    def __init__(self, base: KernelBase) -> None:
        self.machine, self.params = base.machine, base.params
        self.enter, self.register = base.enter, base.register
        self.nparams = base.kparams.net
        self.irqs = Interrupts(self.machine)
        self.nics: list[NIC] = []
        self._send_pages: dict[int, int] = {}  # task id -> its send buffer page

    def net_params(self, nparams: NetParams) -> None:
        """Use other network parameters (set-up only, before any card is attached)."""
        if self.nics:
            raise KernelError(Errno.EINVAL, "network parameters are fixed once a card exists")
        self.nparams = nparams

    def send_buffer(self, task: Task, nbytes: int) -> list[int]:
        """The line addresses of the first `nbytes` of the task's send buffer (a page of its
        memory, or of the page it shares with its kernel core): store the data there, then
        `write`."""
        _check_bytes(nbytes, self.params.page_size)
        page = self._send_pages.get(task.id)
        if page is None:
            page = self._send_page(task)
        line = self.params.line_size
        return [page + i * line for i in range(-(-nbytes // line))]

    def _send_page(self, task: Task) -> int:
        page = self.machine.memory.alloc(self.params.page_size, task.core.chip,
                                         f"{task.name}.sendbuf")  # fmt: skip
        self._send_pages[task.id] = page
        return page

    def _check_core(self, core_id: Any) -> int:
        if isinstance(core_id, bool) or not isinstance(core_id, int):
            raise KernelError(Errno.EINVAL, f"core {core_id!r} does not exist")
        if not 0 <= core_id < self.params.cores:
            raise KernelError(Errno.EINVAL, f"core {core_id} does not exist")
        return core_id


# -- Linux: one shared stack, interrupts on application cores -----------------------------------
class LinuxNet(NetCommon):
    """Network system calls, Linux-like. (`LinuxKernel` sends `write` and `close` here when
    they are given a `ConnRef`, and to its file layer otherwise.)"""

    def __init__(self, base: KernelBase) -> None:
        super().__init__(base)
        self._stack: NetStack | None = None
        self.drivers: dict[int, Driver] = {}

    @property
    def stack(self) -> NetStack:
        """The one TCP stack, made on first use (after `net_params`), on chip 0 as at boot."""
        if self._stack is None:
            self._stack = NetStack(self.machine, "tcp", 0, self.nparams, True, self.register)
        return self._stack

    def nic_attach(self, irq_core: int) -> NIC:
        """A card whose interrupt goes to `irq_core`; the driver allocates its rings on that
        core's chip (set-up, outside the clock)."""
        chip = self.params.chip_of(self._check_core(irq_core))
        nic = NIC(self.machine, len(self.nics), chip, self.nparams, self.irqs, irq_core)
        self.nics.append(nic)
        self.drivers[nic.id] = driver = Driver(nic, chip, shared=True)
        self.register(driver.tx_lock)
        return nic

    def net_listener(self, task: Task) -> Listener:
        """The listening socket (made once before the processes fork: all of them share it)."""
        return self.stack.listener

    def accept(self, task: Task, listener: Listener) -> Op:
        """inet_csk_accept: the oldest queued connection; sleep until one comes."""
        stack = self.stack
        if listener is not stack.listener:
            raise KernelError(Errno.EINVAL, f"{listener!r} is not a listening socket")
        yield from self.enter(task)
        core = task.core
        while True:
            yield from stack.lock_sock(core, listener)
            conn = yield from stack.accept_locked(core)
            if conn is not None:
                break
            woken = core.env.event()
            yield from stack.add_sleeper(core, woken)
            yield from stack.release_sock(core, listener)
            yield from self._sleep(task, woken)
        yield from stack.release_sock(core, listener)
        yield from core.compute(self.nparams.accept_cycles)  # sock_alloc, fd_install: unlocked
        yield from self._irq_exit(task)
        return ConnRef(0, conn.id)

    def recv(self, task: Task, conn: ConnRef) -> Op:
        """Read the request the client sent; returns it (an int)."""
        c = self._connection(conn)
        yield from self.enter(task)
        request = yield from self.stack.recv(task.core, c)
        yield from self._irq_exit(task)
        return request

    def write(self, task: Task, conn: ConnRef, nbytes: int) -> Op:
        """Send the first `nbytes` of the task's send buffer; returns `nbytes`."""
        c = self._connection(conn)
        src = self.send_buffer(task, nbytes)
        yield from self.enter(task)
        yield from self.stack.send(task.core, c, src)
        yield from self._irq_exit(task)
        return nbytes

    def close(self, task: Task, conn: ConnRef) -> Op:
        """Close a connection: FIN, then the socket is torn down."""
        c = self._connection(conn)
        c.closed = True  # claimed now: a second close is EBADF
        yield from self.enter(task)
        yield from self.stack.close(task.core, c)
        yield from self._irq_exit(task)

    def irq_loop(self, task: Task) -> Op:
        """A core that runs only the network stack: it takes interrupts, forever."""
        core = task.core
        while True:
            yield from core.wait(self.irqs.event(core.id))
            yield from self._take_irqs(task)

    # -- interrupts and sleeping ---------------------------------------------------------------
    def _irq_exit(self, task: Task) -> Op:
        if self.irqs.pending[task.core_id]:
            yield from self._take_irqs(task)

    def _take_irqs(self, task: Task) -> Op:
        """Each pending card: NAPI (mask, poll the ring up to the budget, unmask)."""
        core, p = task.core, self.nparams
        for nic in self.irqs.take(core.id):
            yield from core.compute(p.irq_entry_cycles)
            driver = self.drivers[nic.id]
            yield from nic.mmio(core, nic.mask, True)
            while True:
                packets = yield from driver.rx_poll(core, p.napi_budget)
                for packet in packets:
                    yield from self.stack.rx(core, driver, packet)
                if len(packets) < p.napi_budget:
                    break
            yield from nic.mmio(core, nic.mask, False)

    def _sleep(self, task: Task, woken) -> Op:
        """schedule() until woken; interrupts routed here are still taken meanwhile."""
        core = task.core
        while not woken.triggered:
            yield from core.wait(core.env.any_of([woken, self.irqs.event(core.id)]))
            if self.irqs.pending[core.id]:
                yield from self._take_irqs(task)
        yield from core.compute(self.nparams.wakeup_cycles)

    def _connection(self, conn: ConnRef) -> Connection:
        c = self.stack.conns.get(conn.id) if conn.stack == 0 else None
        if c is None or c.closed:
            raise KernelError(Errno.EBADF, f"connection {conn.id} is not open")
        return c


# -- Corey: devices as kernel objects, driven by kernel cores -------------------------------------
class CoreyDevices(NetCommon):
    """Devices and kernel cores, Corey's way. Devices are kernel objects, named through the
    kernel's `shares`."""

    def __init__(self, base: KernelBase, shares: CoreyShares) -> None:
        super().__init__(base)
        self.shares = shares
        self.kcores: dict[int, KernelCore] = {}  # task id -> the kernel core it became
        self._device_nic: dict[int, NIC] = {}  # device object id -> its card
        self._served: set[int] = set()  # cards some kernel core drives

    def net_params(self, nparams: NetParams) -> None:
        """As `NetCommon.net_params`; a kernel core keeps the parameters it started with, so
        they are fixed once one runs, too."""
        if self.kcores:
            raise KernelError(Errno.EINVAL, "network parameters are fixed once a kernel core runs")
        super().net_params(nparams)

    def nic_attach(self, chip: int) -> NIC:
        """A card whose rings live in `chip`'s memory; kernel cores poll it (its interrupt
        stays masked). Set-up, outside the clock."""
        if isinstance(chip, bool) or not isinstance(chip, int) or not 0 <= chip < self.params.chips:
            raise KernelError(Errno.EINVAL, f"chip {chip!r} does not exist")
        nic = NIC(self.machine, len(self.nics), chip, self.nparams, self.irqs, None)
        self.nics.append(nic)
        return nic

    def device_alloc(self, task: Task, nic: int, share: int | None = None) -> Op:
        """Card number `nic` as a device object in `share` (default: the caller's own); its id."""
        if isinstance(nic, bool) or not isinstance(nic, int) or not 0 <= nic < len(self.nics):
            raise KernelError(Errno.ENOENT, f"no network card {nic!r}")
        card = self.nics[nic]
        if card in self._device_nic.values():
            raise KernelError(Errno.EEXIST, f"card {nic} is already a device object")
        dev_id = yield from self.shares.kobject_alloc(task, share, kind="device", chip=card.chip)
        self._device_nic[dev_id] = card
        return dev_id

    def kcore_start(self, task: Task, devices: list[tuple[int, int]], stack: bool = True) -> Op:
        """Monitor mode: the pcore becomes a kernel core for `devices`, (share id, device id)
        pairs it can name, with a TCP stack of its own on its chip (`stack`), or running only
        the cards' drivers for applications' own stacks (`jnic_attach`). Returns it."""
        if task.id in self.kcores:
            raise KernelError(Errno.EEXIST, f"{task.name} is already a kernel core")
        if not isinstance(devices, list | tuple) or any(
            not isinstance(d, tuple) or len(d) != 2 for d in devices
        ):
            raise KernelError(Errno.EINVAL, f"devices must be (share, device) pairs: {devices!r}")
        cards: list[NIC] = []
        for share_id, dev_id in devices:
            obj = yield from self.shares.share_lookup(task, share_id, dev_id)
            card = self._device_nic.get(obj.id)
            if card is None:
                raise KernelError(Errno.EINVAL, f"{obj.name} is not a device")
            if card.id in self._served or card in cards:
                raise KernelError(Errno.EEXIST, f"card {card.id} already has a kernel core")
            cards.append(card)
        chip = task.core.chip
        if stack:
            tcp = NetStack(self.machine, f"kcore{task.id}.tcp", chip, self.nparams, shared=False)
            drivers = [Driver(c, chip, shared=False) for c in cards]
        else:
            tcp, drivers = None, [CoreyDriver(c, chip) for c in cards]
        kcore = KernelCore(task, tcp, drivers, self.nparams, self.send_buffer)
        self._served.update(c.id for c in cards)
        self.kcores[task.id] = kcore
        return kcore

    def monitor(self, task: Task) -> Op:
        """The kernel core's loop, forever (`KernelCore.monitor`): poll cards, answer parked
        accepts, serve rings; with nothing to do, spin on the lines that would bring work."""
        kcore = self.kcores.get(task.id)
        if kcore is None:
            raise KernelError(Errno.EINVAL, f"{task.name} is not a kernel core")
        yield from kcore.monitor()

    def sysmon_attach(self, task: Task, kcore: KernelCore) -> Ring:
        """Give `task` a ring to `kcore` in a page of its own (set-up: Corey's device_conf)."""
        if kcore not in self.kcores.values():
            raise KernelError(Errno.EINVAL, f"{kcore!r} is not a kernel core")
        if task is kcore.task:
            raise KernelError(Errno.EINVAL, f"{task.name} is the kernel core: it calls inline")
        if task.ring is not None:
            raise KernelError(Errno.EEXIST, f"{task.name} already has a ring")
        ring = Ring(self.machine, f"ring{task.id}", task, kcore)
        kcore.rings.append(ring)
        task.ring = ring
        return ring

    def jnic_attach(self, task: Task, nic: NIC) -> UserStack:
        """Set-up: `task` runs its own TCP stack on buffers of its own for card `nic`, which
        the kernel core at the other end of its ring drives (Corey's lwIP over jnicreal)."""
        ring = task.ring
        if ring is None or ring.jnic is not None or task.stack is not None:
            raise KernelError(Errno.EINVAL, f"{task.name} needs a ring and no stack yet")
        drivers = [d for d in ring.kcore.drivers if getattr(d, "nic", None) is nic]
        if ring.kcore.stack is not None or not drivers:
            raise KernelError(Errno.EINVAL, f"{ring.kcore!r} does not drive {nic!r} for stacks")
        ring.jnic = JNic(
            task, drivers[0], lambda core, *call: ring_post(task, SYS_DEVICE_BUF, *call)
        )
        tcp = NetStack(self.machine, f"{task.name}.lwip", task.core.chip, self.nparams, False)
        host = task.stack = UserStack(task, tcp, [ring.jnic], self.nparams, self.send_buffer)
        return host

    def net_listener(self, task: Task) -> Listener:
        """The listening socket of the stack that serves `task`."""
        return self._kcore_of(task).stack.listener

    # -- application calls: through the ring, or inline on a polling pcore ----------------------
    def accept(self, task: Task, listener: Listener) -> Op:
        """The oldest established connection of the task's kernel core; waits for one."""
        kcore = self._kcore_of(task)
        if listener is not kcore.stack.listener:
            raise KernelError(Errno.EINVAL, f"{listener!r} is not this kernel core's listener")
        if kcore.task is not task:
            return ConnRef(kcore.task.id, (yield from ring_call(task, SYS_ACCEPT, 0)))
        yield from self._enter(task)
        conn = yield from kcore.accept_polling()
        return ConnRef(kcore.task.id, conn.id)

    def recv(self, task: Task, conn: ConnRef) -> Op:
        """The request the client sent (an int)."""
        return (yield from self._conn_call(task, conn, SYS_RECV))

    def write(self, task: Task, conn: Any, nbytes: int) -> Op:
        """Send the first `nbytes` of the task's send buffer; returns `nbytes`."""
        if not isinstance(conn, ConnRef):  # Corey's kernel has no file layer
            raise KernelError(Errno.EBADF, f"{conn!r} is not a connection")
        self.send_buffer(task, nbytes)  # checks nbytes
        return (yield from self._conn_call(task, conn, SYS_WRITE, nbytes))

    def close(self, task: Task, conn: Any) -> Op:
        """Close a connection (FIN, teardown) on the kernel core that holds it."""
        if not isinstance(conn, ConnRef):
            raise KernelError(Errno.EBADF, f"{conn!r} is not a connection")
        yield from self._conn_call(task, conn, SYS_CLOSE)

    def _conn_call(self, task: Task, conn: ConnRef, sysno: int, *args: int) -> Op:
        kcore = self._kcore_of(task)
        if not isinstance(conn, ConnRef) or conn.stack != kcore.task.id:
            raise KernelError(Errno.EBADF, f"{conn!r} is not a connection of {kcore.task.name}")
        if kcore.task is not task:
            return (yield from ring_call(task, sysno, conn.id, *args))
        yield from self._enter(task)
        return (yield from kcore.run_call(task, sysno, [conn.id, *args]))

    def _enter(self, task: Task) -> Op:
        """A trap into the kernel, unless the stack is the application's own (no trap)."""
        if task.stack is None:
            yield from self.enter(task)

    def _kcore_of(self, task: Task) -> KernelCore:
        """The stack `task`'s calls run on: its own, or its kernel core's (ring or inline)."""
        ring = task.ring
        kcore = task.stack or (ring.kcore if ring is not None else self.kcores.get(task.id))
        if kcore is None or kcore.stack is None:
            raise KernelError(Errno.EINVAL, f"no TCP stack serves {task.name}")
        return kcore
