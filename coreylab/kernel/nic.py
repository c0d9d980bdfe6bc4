"""The network card and its driver: DMA rings, interrupts, e1000-like register writes.

What it models
  NIC            one card: receive and transmit rings of 16-byte descriptors (two words: status,
                 packet) and one header line per receive buffer, in memory on the chip the
                 driver names. Registers live on the card (Python attributes). The card writes
                 a received packet into the ring by DMA (`Machine.dma_write`: every cached copy of
                 those lines is invalidated, as a DMA write snoops the caches), then raises an
                 interrupt on the core it is routed to unless the driver masked it. It sends what
                 the driver queued when the driver writes its tail register (an MMIO write) and
                 writes each sent descriptor's done bit back by DMA.
  Interrupts     one interrupt line per core: pending sources and a simpy event the core's kernel
                 waits on; the kernel takes interrupts when it checks (at system-call exit, or
                 while idle), never in the middle of a critical section (as spin_lock_bh does).
  Driver         e1000-like (Linux): `next_to_clean` on one line, a tx lock and `next_to_use` on
                 another; the card's receive buffers are the driver's own (one header line each).
  CoreyDriver    Corey's e1000 (kern/dev/e1000.c), run by a kernel core: each descriptor points
                 at a buffer in an application's memory (`add_rxbuf`, `add_txbuf`: system calls
                 the application makes through its ring); the card DMAs a packet into that
                 buffer; `poll` marks each buffer the card is done with in the buffer's header
                 (`actual_count |= DONE`), where the application's own stack looks for it.

What it leaves out: DMA reads (the card reads descriptors and data without disturbing caches),
retries of dropped packets (a card drops what arrives when its ring and its FIFO of
`NetParams.fifo_packets` are full), checksums and payload bytes beyond the lines copied.

Invariant: a descriptor's status word is written only by the card (DD) and cleared only by the
driver. The TCP stack above the driver is `netstack.py`.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, NamedTuple

import simpy

from ..hardware import Machine
from ..hardware.core import Core, Op
from .locks import TicketLock
from .objects import WORD, Struct

if TYPE_CHECKING:
    from .params import NetParams

SYN, SYNACK, ACK, DATA, FIN = 1, 2, 3, 4, 5  # packet kinds
DD = 1  # descriptor status: done (the card wrote it, or the card sent it)
TXBUF = 1 << 8  # transmit descriptor status: the packet is in the buffer at word 1 (Corey)
NB_DONE = 1 << 16  # NETHDR_COUNT_DONE: a buffer's header word once the card is done with it


class Packet(NamedTuple):
    kind: int
    flow: int
    arg: int = 0  # what the client asked for (carried by its ACK)


class Interrupts:
    """Each core's interrupt line: the sources pending on it and an event to wait on."""

    def __init__(self, machine: Machine) -> None:
        self.env = machine.env
        n = machine.params.cores
        self.pending: list[list] = [[] for _ in range(n)]
        self.taken = [0] * n  # interrupts each core has taken
        self._events: list = [None] * n

    def raise_irq(self, core_id: int, source) -> None:
        if source not in self.pending[core_id]:
            self.pending[core_id].append(source)
        event = self._events[core_id]
        if event is not None and not event.triggered:
            event.succeed()

    def event(self, core_id: int) -> simpy.Event:
        """A simpy event that fires when an interrupt is pending on `core_id` (at once if one
        already is)."""
        event = self._events[core_id] = self.env.event()
        if self.pending[core_id]:
            event.succeed()
        return event

    def take(self, core_id: int) -> list:
        sources, self.pending[core_id] = self.pending[core_id], []
        self.taken[core_id] += len(sources)
        return sources


class NIC:
    """A network card: rings in memory on `chip`, registers on the card, interrupts routed to
    `irq_core` (None: polled, never interrupts)."""

    def __init__(self, machine: Machine, nic_id: int, chip: int, params: NetParams,
                 irqs: Interrupts, irq_core: int | None) -> None:  # fmt: skip
        self.machine, self.env, self.id, self.chip = machine, machine.env, nic_id, chip
        self.params, self.irqs, self.irq_core = params, irqs, irq_core
        n, line_words = params.ring_size, machine.params.line_size // WORD
        self.rx = Struct(machine, f"nic{nic_id}.rx_ring", {"desc": [("d", 2 * n)]}, chip)
        self.rx_buf = Struct(machine, f"nic{nic_id}.rx_buf", {"hdr": [("w", n * line_words)]}, chip)
        self.tx = Struct(machine, f"nic{nic_id}.tx_ring", {"desc": [("d", 2 * n)]}, chip)
        self._line_words = line_words
        for i in range(n):  # every transmit descriptor starts free (done)
            machine.memory.values[self.tx["d", 2 * i]] = DD
        self.rx_next = 0  # next receive descriptor the card fills
        self.rx_free = n  # receive descriptors the driver has handed back
        self.rx_addr: list[int | None] = [None] * n  # a descriptor's buffer (None: rx_buf's)
        self.tx_next = 0  # next transmit descriptor the card sends
        self.irq_masked = irq_core is None
        self.fifo: deque[Packet] = deque()  # on-card buffer while the ring is full
        self.waiting: dict[tuple[int, int], object] = {}  # (flow, kind) -> a client's event
        self.received = self.sent = self.dropped = 0
        self._flows = 0

    # -- the wire side -------------------------------------------------------------------------
    def new_flow(self) -> int:
        self._flows += 1
        return self.id << 32 | self._flows

    def receive(self, packet: Packet) -> None:
        """A packet arrives from the wire now: into the ring by DMA, then an interrupt; into
        the card's FIFO while the ring is full; dropped when that is full too."""
        if len(self.fifo) >= self.params.fifo_packets:
            self.dropped += 1
            return
        self.fifo.append(packet)
        self._fill()

    def expect(self, flow: int, kind: int) -> simpy.Event:
        """An event that fires when the card sends a `kind` packet of `flow`."""
        event = self.waiting[flow, kind] = self.env.event()
        return event

    def _fill(self) -> None:
        writes: dict[int, int] = {}
        while self.fifo and self.rx_free:
            packet, i = self.fifo.popleft(), self.rx_next
            writes[self.rx["d", 2 * i]] = DD
            writes[self.rx["d", 2 * i + 1]] = self.machine.params.line_size
            buf = self.rx_addr[i]  # an application's buffer: its header word, then the packet
            first = self.rx_buf["w", i * self._line_words] if buf is None else buf + WORD
            for w, value in enumerate(packet):
                writes[first + w * WORD] = value
            self.rx_next, self.rx_free = (i + 1) % self.params.ring_size, self.rx_free - 1
            self.received += 1
        if writes:
            self.machine.dma_write(writes)
            self._interrupt()

    def _interrupt(self) -> None:
        if not self.irq_masked and self.rx_free < self.params.ring_size:
            self.irqs.raise_irq(self.irq_core, self)

    # -- registers the driver writes (MMIO) ----------------------------------------------------
    def mmio(self, core: Core, action, *args) -> Op:
        """A posted write to a card register: the core pays for it, and the card acts at the
        core's clock. The core first catches up with the machine's clock, so that what the
        card does (DMA writes, interrupts) is ordered with every core's accesses; and, as an
        uncached write on x86 is, after the core's earlier stores (its store buffer drains)."""
        yield from core.compute(self.params.mmio_write_cycles)
        yield from core.drain()
        yield from core.sync()
        action(*args)

    def rx_return(self, count: int, bufs: tuple[int, ...] = ()) -> None:
        """RDT: the driver hands `count` cleaned descriptors back (pointing at `bufs`, if it
        gives buffers of its own: the card reads the descriptors it is handed)."""
        n = self.params.ring_size
        for k, buf in enumerate(bufs):
            self.rx_addr[(self.rx_next + self.rx_free + k) % n] = buf
        self.rx_free += count
        self._fill()

    def mask(self, masked: bool) -> None:
        """IMC/IMS: mask or unmask the interrupt; unmasking with packets waiting raises it."""
        self.irq_masked = masked or self.irq_core is None
        self._interrupt()

    def tx_kick(self, tail: int) -> None:
        """TDT: send every descriptor up to `tail`, writing each one's done bit back."""
        writes, values = {}, self.machine.memory.values
        while self.tx_next != tail:
            i = self.tx_next
            kind, flow = values[self.tx["d", 2 * i]] >> 1, values[self.tx["d", 2 * i + 1]]
            if kind << 1 & TXBUF:  # the packet is in an application's buffer: read it (DMA)
                kind, flow = values[flow + WORD], values[flow + 2 * WORD]
            writes[self.tx["d", 2 * i]] = DD
            self.tx_next, self.sent = (i + 1) % self.params.ring_size, self.sent + 1
            event = self.waiting.pop((flow, kind), None)
            if event is not None:
                event.succeed()
        if writes:
            self.machine.dma_write(writes)

    def __repr__(self) -> str:
        return f"NIC({self.id}, chip {self.chip}, irq -> {self.irq_core})"


class NoLock:
    """The lock of a structure only one core ever touches (each Corey stack is run by one
    core, as lwIP is single-threaded): taking it costs nothing."""

    name = "none"

    def acquire(self, core: Core) -> Op:
        return
        yield

    def release(self, core: Core) -> Op:
        return
        yield


NO_LOCK = NoLock()


def ticket(name: str, s: Struct, field: str, shared: bool) -> TicketLock | NoLock:
    """A ticket spinlock on the two words of `field`, or no lock for a private structure."""
    return TicketLock(name, s[field, 0], s[field, 1]) if shared else NO_LOCK


class Driver:
    """The kernel's side of one card (e1000-like), its netdev lines on `chip`."""

    def __init__(self, nic: NIC, chip: int, shared: bool) -> None:
        self.nic, self.params = nic, nic.params
        groups = {"rx": ["next_to_clean"], "tx": [("tx_lock", 2), "next_to_use"]}
        self.s = Struct(nic.machine, f"netdev{nic.id}", groups, chip)
        self.tx_lock = ticket(f"netdev{nic.id}.tx_lock", self.s, "tx_lock", shared)

    def watch(self, core: Core) -> list[int]:
        """The address whose change means a packet arrived: the next descriptor's status (the
        index as `core`, which polls, sees it)."""
        return [self.nic.rx["d", 2 * core.peek(self.s["next_to_clean"])]]

    def rx_poll(self, core: Core, budget: int) -> Op:
        """e1000_clean_rx_irq: take up to `budget` received packets, re-arm their descriptors
        and hand them back to the card."""
        nic, n, words = self.nic, self.params.ring_size, self.nic._line_words
        i = yield from core.load(self.s["next_to_clean"])
        packets = []
        while len(packets) < budget and (yield from core.load(nic.rx["d", 2 * i])) & DD:
            header = []
            for w in range(len(Packet._fields)):
                header.append((yield from core.load(nic.rx_buf["w", i * words + w])))
            yield from core.store(nic.rx["d", 2 * i], 0)
            yield from core.compute(self.params.packet_driver_cycles)
            packets.append(Packet(*header))
            i = (i + 1) % n
        if packets:
            yield from core.store(self.s["next_to_clean"], i)
            yield from nic.mmio(core, nic.rx_return, len(packets))
        return packets

    def xmit(self, core: Core, packet: Packet) -> Op:
        """e1000_xmit_frame under the tx lock: wait for a free descriptor, fill it, ring the
        doorbell (the card then sends it and writes its done bit back)."""
        nic = self.nic
        yield from self.tx_lock.acquire(core)
        i = yield from core.load(self.s["next_to_use"])
        status = nic.tx["d", 2 * i]
        if not (yield from core.load(status)) & DD:  # the ring is full: wait for the card
            yield from core.spin_until(status, lambda v: v & DD)
        yield from core.store(nic.tx["d", 2 * i + 1], packet.flow)
        yield from core.store(status, packet.kind << 1)
        tail = (i + 1) % self.params.ring_size
        yield from core.store(self.s["next_to_use"], tail)
        yield from core.compute(self.params.packet_driver_cycles)
        yield from nic.mmio(core, nic.tx_kick, tail)
        yield from self.tx_lock.release(core)


class CoreyDriver:
    """Corey's e1000 driver (kern/dev/e1000.c) for one card, run by the kernel core that polls
    it; its queue indices and the buffer each descriptor points at on lines of `chip`. No
    lock: one kernel core drives a card."""

    def __init__(self, nic: NIC, chip: int) -> None:
        self.nic, self.params, n = nic, nic.params, nic.params.ring_size
        groups = {"q": ["rx_head", "rx_nextq", "tx_head", "tx_nextq"],
                  "slots": [("rx_nb", n), ("tx_nb", n)]}  # fmt: skip
        self.s = Struct(nic.machine, f"e1000_{nic.id}", groups, chip)
        nic.rx_free = 0  # the card has no receive buffer until an application feeds one
        self.rx_pending = self.tx_pending = 0  # descriptors handed to the card, not yet done

    def _index(self, field: str) -> int:
        return self.nic.machine.memory.values.get(self.s[field], 0)

    def watch(self, core: Core) -> list[int]:
        """What the card writes next that gives the driver work: the oldest pending receive
        and transmit descriptors' status words (the indexes as `core`, which polls, sees
        them)."""
        rx = self.nic.rx["d", 2 * core.peek(self.s["rx_head"])]
        tx = self.nic.tx["d", 2 * core.peek(self.s["tx_head"])]
        return [rx, tx] if self.tx_pending else [rx]

    def arm(self, buf: int) -> None:
        """Set-up, outside the clock: one receive buffer handed to the card."""
        i = self._index("rx_nextq")
        values = self.nic.machine.memory.values
        values[self.s["rx_nb", i]] = buf
        values[self.s["rx_nextq"]] = (i + 1) % self.params.ring_size
        self.rx_pending += 1
        self.nic.rx_return(1, (buf,))

    def add_rxbuf(self, core: Core, buf: int) -> Op:
        """e1000_add_rxbuf: the next receive descriptor points at `buf`; RDT."""
        nic = self.nic
        i = yield from core.load(self.s["rx_nextq"])
        yield from core.store(self.s["rx_nb", i], buf)
        yield from core.store(nic.rx["d", 2 * i], 0)
        yield from core.store(nic.rx["d", 2 * i + 1], buf)
        yield from core.store(self.s["rx_nextq"], (i + 1) % self.params.ring_size)
        yield from core.compute(self.params.driver_desc_cycles)
        self.rx_pending += 1
        yield from nic.mmio(core, nic.rx_return, 1, (buf,))

    def add_txbuf(self, core: Core, buf: int) -> Op:
        """e1000_add_txbuf: the next transmit descriptor points at `buf`; TDT (the card then
        reads the packet from the buffer, sends it and writes the descriptor's done bit)."""
        nic = self.nic
        i = yield from core.load(self.s["tx_nextq"])
        yield from core.store(self.s["tx_nb", i], buf)
        yield from core.store(nic.tx["d", 2 * i + 1], buf)
        yield from core.store(nic.tx["d", 2 * i], TXBUF)
        tail = (i + 1) % self.params.ring_size
        yield from core.store(self.s["tx_nextq"], tail)
        yield from core.compute(self.params.driver_desc_cycles)
        self.tx_pending += 1
        yield from nic.mmio(core, nic.tx_kick, tail)

    def poll(self, core: Core) -> Op:
        """e1000_poll: e1000_intr_tx then e1000_intr_rx. Each descriptor the card is done with:
        its buffer's header word gets DONE (and the length, received). Returns whether any was."""
        done = yield from self._reap(core, "tx", self.nic.tx)
        return (yield from self._reap(core, "rx", self.nic.rx)) or done

    def _reap(self, core: Core, side: str, ring: Struct) -> Op:
        n, reaped = self.params.ring_size, False
        while getattr(self, f"{side}_pending"):
            i = yield from core.load(self.s[f"{side}_head"])
            if not (yield from core.load(ring["d", 2 * i])) & DD:
                break
            count = (yield from core.load(ring["d", 2 * i + 1])) if side == "rx" else 0
            buf = yield from core.load(self.s[f"{side}_nb", i])
            yield from core.store(buf, count | NB_DONE)
            yield from core.compute(self.params.driver_desc_cycles)
            yield from core.store(self.s[f"{side}_head"], (i + 1) % n)
            setattr(self, f"{side}_pending", getattr(self, f"{side}_pending") - 1)
            reaped = True
        return reaped
