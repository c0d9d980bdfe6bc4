"""Devices: Linux's network stack, run on the cores interrupts reach | Corey's devices, kernel
cores and system-call rings. The card, its driver and the TCP stack both kernels run are in
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
  none, below). A kernel core loops: poll each card, run the stack, serve each ring;
  with nothing to do it spins on those lines. An application pcore hands it calls through a
  ring (`sysmon_attach`): 51 slots of 10 words (sc_num, a1..a7, ret, flag), packed as Corey
  packs them, in a page of the application's; the application takes the next slot (flag
  INUSE), writes the arguments, sets KERN_CALL|KERN_RET and spins on the flag; the kernel core
  runs slots in ring order, writes `ret` and clears KERN_RET. An accept with nothing queued is
  parked and answered when a connection arrives. A kernel core started without a stack
  (Corey's TCP benchmark) runs only Corey's e1000 driver (`nic.CoreyDriver`) for its cards and
  the `device_buf` calls its rings bring: each application pcore runs its own TCP stack (lwIP,
  in user space) on its own buffers (`jnic.JNic`, `jnic_attach`), with its data on lines of
  its own. "Polling": each pcore is its own kernel core (calls run inline, no ring).

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
act); a ring slot's flag moves INUSE -> +KERN_CALL|KERN_RET (application) -> -KERN_CALL
(kernel) -> -KERN_RET (kernel, with `ret` written) -> 0 (application); a posted call's
(`ring_post`, nobody waits) INUSE|KERN_CALL (application) -> -KERN_CALL -> 0 (kernel, once it
has copied the arguments and before it runs the call, as sysmon.c does).
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any, NamedTuple

from ..hardware.core import Core, Op
from .base import Errno, KernelBase, KernelError, Task
from .jnic import IN, JNic
from .netstack import Connection, Listener, NetStack
from .nic import NIC, CoreyDriver, Driver, Interrupts
from .objects import Struct
from .params import NetParams
from .shares import CoreyShares

SLOTS, SLOT_WORDS = 51, 10  # Corey's SM_NUM_SLOTS and sizeof(struct jsm_slot) / 8
RET, FLAG = 8, 9  # word offsets of ret and flag in a slot
INUSE, KERN_CALL, KERN_RET = 0x10, 0x20, 0x40  # SYSMON_USER_INUSE, _KERN_CALL, _KERN_RET
SYS_NULL, SYS_ACCEPT, SYS_RECV, SYS_WRITE, SYS_CLOSE, SYS_DEVICE_BUF = 1, 2, 3, 4, 5, 6
PARKED = object()  # a call the kernel core answers later
POSTED = object()  # a device_buf call: it returns nothing (0 if the caller waits)


class ConnRef(NamedTuple):
    """What `accept` gives an application: the stack that holds the connection (Linux 0,
    Corey the kernel core's task id) and the connection's id there."""

    stack: int
    id: int


def spin_until_changed(core: Core, addrs: list[int]) -> Op:
    """A polling loop with nothing to do: spin until another agent (a core, a card) changes one
    of `addrs`' lines in this core's caches (`Core.sleep_until_changed`)."""
    yield from core.sleep_until_changed(sorted({core.machine.line_of(a) for a in addrs}))


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


# -- Corey: devices as kernel objects, kernel cores, system-call rings -------------------------
class KernelCore:
    """A pcore in monitor mode: the cards it drives, its own TCP stack (None: drivers only),
    the rings it serves, and accepts waiting for a connection (ring, slot). An application
    running its own stack over its `JNic` polls the same way (`UserStack`)."""

    def __init__(self, task: Task, stack: NetStack | None, drivers: list) -> None:
        self.task, self.stack, self.drivers = task, stack, drivers
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
        values = self.task.core.machine.memory.values
        slots = [r.word(values.get(r.kern["next_slot"], 0), FLAG) for r in self.rings]
        return [a for d in self.drivers for a in d.watch()] + slots

    def __repr__(self) -> str:
        return f"KernelCore({self.task.name}, {len(self.drivers)} cards, {len(self.rings)} rings)"


class UserStack(KernelCore):
    """An application pcore's own TCP stack (lwIP in user space) over its buffers: its calls
    run inline, with no trap, and its driver is its `JNic`."""


class Ring:
    """A system-call ring: 51 packed slots in a page of the application's chip; the
    application's `jsm.next_slot` and the kernel core's `sysmon.next_slot`, each on its line."""

    def __init__(self, machine, name: str, app: Task, kcore: KernelCore) -> None:
        self.name, self.app, self.kcore = name, app, kcore
        chip = app.core.chip
        self.s = Struct(machine, name, {"slots": [("w", SLOTS * SLOT_WORDS)]}, chip)
        self.user = Struct(machine, f"{name}.jsm", {"jsm": ["next_slot"]}, chip)
        self.kern = Struct(machine, f"{name}.sysmon", {"sysmon": ["next_slot"]},
                           kcore.task.core.chip)  # fmt: skip
        self.errors: dict[int, KernelError] = {}  # slot -> the error its call returned
        self.jnic: JNic | None = None  # the application's buffers its device_buf calls name

    def word(self, slot: int, w: int) -> int:
        return self.s["w", slot * SLOT_WORDS + w]


NARGS = {SYS_NULL: 0, SYS_ACCEPT: 1, SYS_RECV: 1, SYS_WRITE: 2, SYS_CLOSE: 1, SYS_DEVICE_BUF: 2}


class CoreyDevices(NetCommon):
    """Devices and kernel cores, Corey's way. Devices are kernel objects, named through the
    kernel's `shares`."""

    def __init__(self, base: KernelBase, shares: CoreyShares) -> None:
        super().__init__(base)
        self.shares = shares
        self.kcores: dict[int, KernelCore] = {}  # task id -> the kernel core it became
        self._device_nic: dict[int, NIC] = {}  # device object id -> its card
        self._served: set[int] = set()  # cards some kernel core drives

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
            kcore = KernelCore(task, tcp, [Driver(c, chip, shared=False) for c in cards])
        else:
            kcore = KernelCore(task, None, [CoreyDriver(c, chip) for c in cards])
        self._served.update(c.id for c in cards)
        self.kcores[task.id] = kcore
        return kcore

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
            task, drivers[0], lambda core, *call: self.ring_post(task, SYS_DEVICE_BUF, *call)
        )
        tcp = NetStack(self.machine, f"{task.name}.lwip", task.core.chip, self.nparams, False)
        host = task.stack = UserStack(task, tcp, [ring.jnic])
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
            return ConnRef(kcore.task.id, (yield from self.ring_call(task, SYS_ACCEPT, 0)))
        yield from self._enter(task)
        while (conn := (yield from self._accept_now(kcore))) is None:
            if not (yield from self._poll_cards(kcore)):
                yield from spin_until_changed(task.core, kcore.watch())
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
            return (yield from self.ring_call(task, sysno, conn.id, *args))
        yield from self._enter(task)
        return (yield from self._run_call(kcore, task, sysno, [conn.id, *args]))

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

    # -- the ring, application side (Corey's lib/jsysmon.c) -------------------------------------
    def ring_call(self, task: Task, sysno: int, *args: int) -> Op:
        """A system call through the task's ring: submit, then wait for the result."""
        slot = yield from self.ring_submit(task, sysno, *args)
        return (yield from self.ring_wait(task, slot))

    def ring_submit(self, task: Task, sysno: int, *args: int) -> Op:
        """jsm_next_slot + jsm_call_*: take the next slot (EBUSY if it is still in use), write
        the call, raise KERN_CALL|KERN_RET. Returns the slot."""
        ring = task.ring
        if ring is None or len(args) > RET - 1:
            raise KernelError(Errno.EINVAL, f"{task.name} has no ring, or too many arguments")
        core = task.core
        slot = yield from core.load(ring.user["next_slot"])
        flag = yield from core.load(ring.word(slot, FLAG))
        if flag & INUSE:
            raise KernelError(Errno.EBUSY, f"{ring.name}: all {SLOTS} slots are in use")
        yield from core.store(ring.word(slot, FLAG), INUSE)
        yield from core.store(ring.user["next_slot"], (slot + 1) % SLOTS)
        for w, value in enumerate((sysno, *args)):
            yield from core.store(ring.word(slot, w), value)
        yield from core.store(ring.word(slot, FLAG), INUSE | KERN_CALL | KERN_RET)
        return slot

    def ring_post(self, task: Task, sysno: int, *args: int) -> Op:
        """A call nobody waits for (jsm_call_* without a wait): flag INUSE|KERN_CALL; the
        kernel core frees the slot when it has run it. With the next slot still in use, the
        application waits for it."""
        ring, core = task.ring, task.core
        slot = yield from core.load(ring.user["next_slot"])
        if (yield from core.load(ring.word(slot, FLAG))) & INUSE:
            yield from core.spin_until(ring.word(slot, FLAG), lambda v: not v & INUSE)
        yield from core.store(ring.user["next_slot"], (slot + 1) % SLOTS)
        for w, value in enumerate((sysno, *args)):
            yield from core.store(ring.word(slot, w), value)
        yield from core.store(ring.word(slot, FLAG), INUSE | KERN_CALL)

    def ring_wait(self, task: Task, slot: int) -> Op:
        """Spin on the slot's flag until the kernel core clears KERN_RET; free the slot; return
        `ret`, or raise the call's error."""
        ring, core = task.ring, task.core
        flag = yield from core.spin_until(ring.word(slot, FLAG), lambda v: not v & KERN_RET)
        ret = yield from core.load(ring.word(slot, RET))
        yield from core.store(ring.word(slot, FLAG), flag & ~INUSE)
        if ret < 0:
            raise ring.errors.pop(slot)
        return ret

    # -- the kernel core (Corey's kern/sysmon.c, kern/device.c) ---------------------------------
    def monitor(self, task: Task) -> Op:
        """The kernel core's loop, forever: poll cards, answer parked accepts, serve rings;
        with nothing to do, spin on the lines that would bring work."""
        kcore = self.kcores.get(task.id)
        if kcore is None:
            raise KernelError(Errno.EINVAL, f"{task.name} is not a kernel core")
        core, spent = task.core, kcore.cycles
        while True:
            start = core.local
            worked = yield from self._poll_cards(kcore)
            worked = (yield from self._unpark(kcore)) or worked
            spent["cards"] += core.local - start
            start, calls = core.local, spent["calls"]
            for ring in kcore.rings:
                worked = (yield from self._serve_ring(kcore, ring)) or worked
            spent["rings"] += core.local - start - (spent["calls"] - calls)
            if not worked:
                start = core.local
                yield from spin_until_changed(core, kcore.watch())
                spent["idle"] += core.local - start

    def _poll_cards(self, kcore: KernelCore) -> Op:
        core, budget, worked = kcore.task.core, self.nparams.napi_budget, False
        if kcore.stack is None:  # drivers only: mark the buffers the cards are done with
            for driver in kcore.drivers:
                worked = (yield from driver.poll(core)) or worked
            return worked
        for driver in kcore.drivers:
            packets = yield from driver.rx_poll(core, budget)
            for packet in packets:
                yield from kcore.stack.rx(core, driver, packet)
            worked = worked or bool(packets)
        return worked

    def _serve_ring(self, kcore: KernelCore, ring: Ring) -> Op:
        """sysmon_poll: run slots in ring order while the next one has KERN_CALL. As
        sysmon.c does, a call nobody waits for (no KERN_RET) has its slot freed as soon as its
        arguments are copied, before it runs: the flag's line is written while the kernel
        core holds it, not again after the call (when the application may be writing the
        next slot on the same line)."""
        core, served = kcore.task.core, False
        slot = yield from core.load(ring.kern["next_slot"])
        while (flag := (yield from core.load(ring.word(slot, FLAG)))) & KERN_CALL:
            yield from core.store(ring.word(slot, FLAG), flag & ~KERN_CALL)
            sysno = yield from core.load(ring.word(slot, 0))
            args = []
            for w in range(1, 1 + NARGS.get(sysno, 0)):
                args.append((yield from core.load(ring.word(slot, w))))
            waited = flag & KERN_RET
            if not waited:
                yield from core.store(ring.word(slot, FLAG), flag & ~(KERN_CALL | INUSE))
            yield from core.compute(self.nparams.slot_dispatch_cycles)
            start = core.local
            try:
                ret = yield from self._run_call(kcore, ring, sysno, args, slot)
            except KernelError as e:
                ring.errors[slot], ret = e, -int(e.errno)
            kcore.cycles["calls"] += core.local - start
            if ret is PARKED:
                kcore.parked.append((ring, slot))
            elif waited:
                yield from self._answer(core, ring, slot, 0 if ret is POSTED else ret)
            else:
                ring.errors.pop(slot, None)  # nobody reads a posted call's result
            slot = (slot + 1) % SLOTS
            yield from core.store(ring.kern["next_slot"], slot)
            served = True
        return served

    def _run_call(self, kcore: KernelCore, caller, sysno: int, args: list, slot=None) -> Op:
        """One call on the kernel core's stack (validated first). `caller` is the ring (served
        by a kernel core) or the task (inline)."""
        core, stack = kcore.task.core, kcore.stack
        if sysno == SYS_NULL:
            return core.id  # processor_current
        if sysno == SYS_DEVICE_BUF:
            return (yield from self._device_buf(core, caller, *args))
        if stack is None:
            raise KernelError(Errno.EINVAL, f"{kcore!r} runs no stack: system call {sysno}")
        if sysno == SYS_ACCEPT:
            conn = yield from self._accept_now(kcore)
            return PARKED if conn is None else conn.id
        if sysno not in NARGS:
            raise KernelError(Errno.EINVAL, f"no system call {sysno}")
        conn = stack.conns.get(args[0])
        if conn is None or conn.closed:
            raise KernelError(Errno.EBADF, f"connection {args[0]} is not open")
        if sysno == SYS_RECV:
            return (yield from stack.recv(core, conn))
        if sysno == SYS_WRITE:
            app = caller.app if isinstance(caller, Ring) else caller
            yield from stack.send(core, conn, self.send_buffer(app, args[1]))
            return args[1]
        conn.closed = True
        yield from stack.close(core, conn)
        return 0

    def _device_buf(self, core: Core, ring: Any, direction: int, index: int) -> Op:
        """sys_device_buf: hand one of the application's buffers to its card (receive into
        it, or send what it holds)."""
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

    def _answer(self, core: Core, ring: Ring, slot: int, ret: int) -> Op:
        yield from core.store(ring.word(slot, RET), ret)
        flag = yield from core.load(ring.word(slot, FLAG))
        yield from core.store(ring.word(slot, FLAG), flag & ~KERN_RET)

    def _accept_now(self, kcore: KernelCore) -> Op:
        core, stack = kcore.task.core, kcore.stack
        yield from stack.lock_sock(core, stack.listener)
        conn = yield from stack.accept_locked(core)
        yield from stack.release_sock(core, stack.listener)
        if conn is not None:
            yield from core.compute(self.nparams.accept_cycles)
        return conn

    def _unpark(self, kcore: KernelCore) -> Op:
        """Answer parked accepts, oldest first, while connections are queued."""
        worked = False
        while kcore.parked and kcore.stack.listener.queue:
            ring, slot = kcore.parked.popleft()
            conn = yield from self._accept_now(kcore)
            yield from self._answer(kcore.task.core, ring, slot, conn.id)
            worked = True
        return worked
