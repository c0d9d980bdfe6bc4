"""The TCP stack under the system calls, its data on named lines, above the card and driver of
`nic.py`. Both kernels run this code; `devices.py` decides which cores run it and who shares
what.

What it models
  NetStack       one TCP stack's data: the listen socket (sock_common, the socket lock, the
                 accept queue, the SYN queue and the accept wait queue, each on its own lines),
                 the established hash with its locks, the port's bind bucket, the route (dst)
                 entry, the global counters, and sockets, request socks and send buffers from
                 per-core pools (slab magazines). Paths follow Linux 2.6.2x's tcp_ipv4.c: a SYN
                 and the handshake's last ACK are handled with the listen socket locked.

(The card, its interrupts and its driver are in `nic.py`.)

A connection: client SYN -> `rx`: listener lookup, SYN queue, SYN-ACK; client ACK (with the
request) -> `rx`: a new socket, hashed, bound, on the accept queue, a sleeper woken; the caller's
`accept_locked`, `send` (data) and `close` (FIN, then the teardown the rest of the exchange does).

What it leaves out: retransmission, windows, timers and TIME_WAIT (the teardown is done at
close), the socket backlog (a softirq that finds the listener owned by a process waits for it
instead of queueing the packet), retries of dropped SYNs (beyond `syn_backlog`; their clients
never retry), the accept-queue limit.

Invariants: every socket on the accept queue is in `conns` and hashed; locks are taken in the order
listen socket -> established-hash lock -> bind-bucket lock -> wait-queue lock -> tx lock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..hardware import Machine
from ..hardware.core import Core, Op
from .locks import TicketLock
from .nic import ACK, DATA, FIN, NO_LOCK, SYN, SYNACK, Driver, Packet, ticket
from .objects import Struct

if TYPE_CHECKING:
    from .params import NetParams

SYN_SLOTS = 64  # the listener's SYN table (listen_sock.syn_table)
SKB_PAGES = 4  # send buffers per core, reused round robin
ESTABLISHED, FIN_WAIT = 1, 2


class Listener:
    """The listening socket (struct sock + inet_connection_sock), its parts on their own lines;
    the Python queues mirror what its lines say."""

    GROUPS = {
        "common": ["refcnt", "state", "hash"],
        "lock": [("slock", 2), "owned"],
        "accept_queue": ["head", "tail", "ack_backlog", "max_backlog"],
        "syn_queue": ["qlen", "young"],
        "syn_table": [("syn", SYN_SLOTS)],
        "wait": [("wq_lock", 2), "sleepers"],
    }

    def __init__(self, machine: Machine, name: str, chip: int, shared: bool) -> None:
        self.name = name
        self.s = Struct(machine, name, self.GROUPS, chip)
        self.lock = ticket(f"{name}.slock", self.s, "slock", shared)
        self.wq_lock = ticket(f"{name}.wq_lock", self.s, "wq_lock", shared)
        self.queue: deque[Connection] = deque()  # the accept queue, oldest first
        self.sleepers: deque[tuple[int, object]] = deque()  # (core, event) waiting in accept
        self.requests: dict[int, Struct] = {}  # flow -> its request sock (the SYN queue)


class Tcb:
    """A TCP socket (struct tcp_sock) on four lines, with its own socket lock."""

    GROUPS = {
        "common": ["refcnt", "state", "hash", "next", "flow", "request"],
        "lock": [("slock", 2), "owned"],
        "tcp": ["snd_nxt", "snd_una", "rcv_nxt", "srtt"],
        "send": ["forward_alloc", "wmem_queued", "write_queue"],
    }

    def __init__(self, machine: Machine, name: str, chip: int, shared: bool) -> None:
        self.s = Struct(machine, name, self.GROUPS, chip)
        self.lock = ticket(f"{name}.slock", self.s, "slock", shared)
        self.addr = self.s.base


class Connection:
    """An established connection: its socket, the card it came in on, what the client asked."""

    def __init__(self, conn_id: int, flow: int, tcb: Tcb, driver: Driver, request: int) -> None:
        self.id, self.flow, self.tcb, self.driver = conn_id, flow, tcb, driver
        self.request = request
        self.closed = False

    def __repr__(self) -> str:
        return f"Connection({self.id}, flow {self.flow:#x})"


class PerCpu:
    """One core's slab magazines (free sockets, request socks) and send buffers."""

    def __init__(self, machine: Machine, name: str, chip: int) -> None:
        self.s = Struct(machine, name, {"slab": ["tcb_avail", "req_avail", "skb_next"]}, chip)
        page = machine.params.page_size
        self.skbs = [machine.memory.alloc(page, chip, f"{name}.skb") for _ in range(SKB_PAGES)]
        self.pools: dict[str, list] = {"tcb": [], "req": []}


class NetStack:
    """One TCP stack's data on `chip`. `shared`: cores other than one may run it, so its locks
    are ticket spinlocks (Linux); otherwise it takes none (a Corey stack). `register` is given
    each real lock, for lock statistics."""

    def __init__(self, machine: Machine, name: str, chip: int, params: NetParams,
                 shared: bool, register: Callable | None = None) -> None:  # fmt: skip
        self.machine, self.name, self.chip = machine, name, chip
        self.params, self.shared = params, shared
        buckets = {"buckets": [("head", params.ehash_buckets)]}
        self.ehash = Struct(machine, f"{name}.ehash", buckets, chip)
        locks = Struct(machine, f"{name}.ehash_locks",
                       {"locks": [("lock", 2 * params.ehash_locks)]}, chip)  # fmt: skip
        self.ehash_locks = [
            TicketLock(f"{locks.name}[{i}]", locks["lock", 2 * i], locks["lock", 2 * i + 1])
            if shared
            else NO_LOCK
            for i in range(params.ehash_locks)
        ]
        bucket = {"bucket": [("lock", 2), "owners", "count"]}
        self.bind = Struct(machine, f"{name}.bind_bucket", bucket, chip)
        self.bind_lock = ticket(f"{name}.bind_bucket.lock", self.bind, "lock", shared)
        self.route = Struct(machine, f"{name}.dst", {"dst": ["refcnt", "use", "lastuse"]}, chip)
        counters = {"counters": ["sockets_allocated", "orphan_count", "memory_allocated"]}
        self.globals = Struct(machine, f"{name}.tcp_prot", counters, chip)  # adjacent globals
        self.listener = Listener(machine, f"{name}.listen", chip, shared)
        self.conns: dict[int, Connection] = {}
        self.syn_dropped = 0
        self._cpus: dict[int, PerCpu] = {}
        self._ids = self._made = 0  # connection ids; objects made
        for lock in (self.listener.lock, self.listener.wq_lock, self.bind_lock):
            if register is not None and lock is not NO_LOCK:
                register(lock)

    # -- receive: what the softirq does with one packet -----------------------------------------
    def rx(self, core: Core, driver: Driver, packet: Packet) -> Op:
        """ip_rcv and tcp_v4_rcv: the route, the established hash (the flow is not there), the
        listener held and locked while the SYN or the handshake's last ACK is handled."""
        ls = self.listener
        yield from core.compute(self.params.rx_proto_cycles)
        yield from core.fetch_add(self.route["refcnt"], 1)  # ip_route_input: dst_hold
        yield from core.load(self.ehash["head", self._bucket(packet.flow)])
        yield from core.load(ls.s["state"])  # __inet_lookup_listener
        yield from core.fetch_add(ls.s["refcnt"], 1)  # sock_hold
        yield from self._bh_lock(core)
        if packet.kind == SYN:
            yield from self._conn_request(core, driver, packet)
        elif packet.kind == ACK and packet.flow in ls.requests:
            yield from self._new_child(core, driver, packet)
        yield from ls.lock.release(core)
        yield from core.fetch_add(ls.s["refcnt"], -1)  # sock_put
        yield from core.fetch_add(self.route["refcnt"], -1)  # kfree_skb: dst_release

    def _bh_lock(self, core: Core) -> Op:
        """bh_lock_sock on the listener; while a process owns it (lock_sock), wait."""
        ls = self.listener
        while True:
            yield from ls.lock.acquire(core)
            if not (yield from core.load(ls.s["owned"])):
                return
            yield from ls.lock.release(core)
            yield from core.spin_until(ls.s["owned"], lambda v: v == 0)

    def _conn_request(self, core: Core, driver: Driver, packet: Packet) -> Op:
        """tcp_v4_conn_request: a request sock in the SYN queue, and the SYN-ACK; with the
        queue full the SYN is dropped (no SYN cookies)."""
        ls = self.listener
        qlen = yield from core.load(ls.s["qlen"])
        if qlen >= self.params.syn_backlog:
            self.syn_dropped += 1
            return
        yield from core.compute(self.params.conn_request_cycles)
        req = yield from self._alloc(core, "req")
        yield from core.store(req["flow"], packet.flow)
        yield from core.store(ls.s["syn", self._syn_slot(packet.flow)], req.base)
        yield from core.store(ls.s["qlen"], qlen + 1)
        ls.requests[packet.flow] = req
        yield from self.xmit(core, driver, Packet(SYNACK, packet.flow))

    def _new_child(self, core: Core, driver: Driver, packet: Packet) -> Op:
        """tcp_check_req and tcp_v4_syn_recv_sock: the new socket, hashed and bound, moves from
        the SYN queue to the accept queue, and one sleeper in accept is woken."""
        ls, flow = self.listener, packet.flow
        req, slot = ls.requests.pop(flow), self._syn_slot(flow)
        yield from core.load(ls.s["syn", slot])
        yield from core.load(req["flow"])
        yield from core.compute(self.params.create_child_cycles)
        tcb = yield from self._alloc(core, "tcb")
        for field, value in (("state", ESTABLISHED), ("flow", flow), ("next", 0),
                             ("request", packet.arg), ("owned", 0), ("snd_nxt", 0),
                             ("forward_alloc", 0)):  # fmt: skip
            yield from core.store(tcb.s[field], value)
        yield from core.fetch_add(self.globals["sockets_allocated"], 1)
        yield from self._ehash_set(core, flow, tcb.addr)  # __inet_hash_nolisten
        yield from self._bind(core, tcb, 1)  # __inet_inherit_port
        yield from core.store(ls.s["syn", slot], 0)  # inet_csk_reqsk_queue_unlink
        qlen = yield from core.load(ls.s["qlen"])
        yield from core.store(ls.s["qlen"], qlen - 1)
        yield from self._free(core, "req", req)
        self._ids += 1
        conn = self.conns[self._ids] = Connection(self._ids, flow, tcb, driver, packet.arg)
        yield from self._enqueue(core, conn)
        yield from self._data_ready(core)

    def _enqueue(self, core: Core, conn: Connection) -> Op:
        """inet_csk_reqsk_queue_add: link the socket at the accept queue's tail."""
        ls = self.listener
        tail = yield from core.load(ls.s["tail"])
        head_or_link = ls.queue[-1].tcb.s["next"] if tail else ls.s["head"]
        ls.queue.append(conn)  # before the store that lets another core's accept see it
        yield from core.store(head_or_link, conn.tcb.addr)
        yield from core.store(ls.s["tail"], conn.tcb.addr)
        backlog = yield from core.load(ls.s["ack_backlog"])
        yield from core.store(ls.s["ack_backlog"], backlog + 1)

    def _data_ready(self, core: Core) -> Op:
        """sock_def_readable: wake the first task sleeping in accept (wake-one), with an IPI if
        it sleeps on another core."""
        ls = self.listener
        yield from ls.wq_lock.acquire(core)
        sleepers = yield from core.load(ls.s["sleepers"])
        woken = ls.sleepers.popleft() if sleepers else None
        if woken is not None:
            yield from core.store(ls.s["sleepers"], sleepers - 1)
        yield from ls.wq_lock.release(core)
        if woken is not None:
            if woken[0] != core.id:
                yield from core.compute(self.params.ipi_cycles)
            yield from core.signal(woken[1])  # at this core's time, not before

    # -- what system calls do ---------------------------------------------------------------------
    def lock_sock(self, core: Core, sock) -> Op:
        """lock_sock: take the spinlock, mark the socket owned, drop the spinlock."""
        yield from sock.lock.acquire(core)
        yield from core.store(sock.s["owned"], 1)
        yield from sock.lock.release(core)

    def release_sock(self, core: Core, sock) -> Op:
        yield from sock.lock.acquire(core)
        yield from core.store(sock.s["owned"], 0)
        yield from sock.lock.release(core)

    def add_sleeper(self, core: Core, event) -> Op:
        """prepare_to_wait_exclusive on the listener's wait queue."""
        ls = self.listener
        yield from ls.wq_lock.acquire(core)
        sleepers = yield from core.load(ls.s["sleepers"])
        yield from core.store(ls.s["sleepers"], sleepers + 1)
        ls.sleepers.append((core.id, event))
        yield from ls.wq_lock.release(core)

    def accept_locked(self, core: Core) -> Op:
        """reqsk_queue_get_child, the listener owned: the oldest connection, or None."""
        ls = self.listener
        # Another core's accept may have taken the last one since its head was stored: lock_sock
        # here does not wait for the owner as Linux's does.
        if not (yield from core.load(ls.s["head"])) or not ls.queue:
            return None
        conn = ls.queue.popleft()
        link = yield from core.load(conn.tcb.s["next"])
        yield from core.store(ls.s["head"], link)
        if not link:
            yield from core.store(ls.s["tail"], 0)
        backlog = yield from core.load(ls.s["ack_backlog"])
        yield from core.store(ls.s["ack_backlog"], backlog - 1)
        return conn

    def recv(self, core: Core, conn: Connection) -> Op:
        """tcp_recvmsg of the request the client sent with its ACK; returns it."""
        tcb = conn.tcb
        yield from self.lock_sock(core, tcb)
        yield from core.compute(self.params.recvmsg_cycles)
        request = yield from core.load(tcb.s["request"])
        rcv = yield from core.load(tcb.s["rcv_nxt"])
        yield from core.store(tcb.s["rcv_nxt"], rcv + 1)
        yield from self.release_sock(core, tcb)
        return request

    def send(self, core: Core, conn: Connection, src: list[int]) -> Op:
        """tcp_sendmsg: charge the memory, copy the caller's lines `src` into a send buffer,
        and transmit them as one segment."""
        tcb, line = conn.tcb, self.machine.params.line_size
        yield from self.lock_sock(core, tcb)
        yield from core.compute(self.params.sendmsg_cycles)
        yield from self._charge(core, tcb, len(src) * line)
        cpu = self._cpu(core)
        k = yield from core.load(cpu.s["skb_next"])
        yield from core.store(cpu.s["skb_next"], (k + 1) % SKB_PAGES)
        for i, addr in enumerate(src):
            value = yield from core.load(addr)
            yield from core.store(cpu.skbs[k] + i * line, value)
            yield from core.compute(self.params.copy_cycles_per_line)
        snd = yield from core.load(tcb.s["snd_nxt"])
        yield from core.store(tcb.s["snd_nxt"], snd + len(src) * line)
        yield from self.xmit(core, conn.driver, Packet(DATA, conn.flow))
        yield from self.release_sock(core, tcb)

    def close(self, core: Core, conn: Connection) -> Op:
        """tcp_close: FIN, an orphan; then, done here, what the rest of the exchange and
        TIME_WAIT do later: unhash, unbind, uncharge, free the socket."""
        tcb, g = conn.tcb, self.globals
        yield from self.lock_sock(core, tcb)
        yield from core.compute(self.params.close_cycles)
        yield from core.store(tcb.s["state"], FIN_WAIT)
        yield from core.fetch_add(g["orphan_count"], 1)
        yield from self.xmit(core, conn.driver, Packet(FIN, conn.flow))
        yield from self.release_sock(core, tcb)
        yield from self._ehash_set(core, conn.flow, 0)
        yield from self._bind(core, tcb, -1)
        yield from core.fetch_add(g["sockets_allocated"], -1)
        yield from core.fetch_add(g["orphan_count"], -1)
        if (yield from core.load(tcb.s["forward_alloc"])):
            yield from core.fetch_add(g["memory_allocated"], -1)  # sk_mem_reclaim: one page
            yield from core.store(tcb.s["forward_alloc"], 0)
        del self.conns[conn.id]
        conn.closed = True
        yield from self._free(core, "tcb", tcb)

    def xmit(self, core: Core, driver: Driver, packet: Packet) -> Op:
        """ip_queue_xmit and dev_queue_xmit: the skb holds the route while it is sent."""
        yield from core.fetch_add(self.route["refcnt"], 1)
        yield from driver.xmit(core, packet)
        yield from core.fetch_add(self.route["refcnt"], -1)

    # -- helpers ------------------------------------------------------------------------------
    def _charge(self, core: Core, tcb: Tcb, nbytes: int) -> Op:
        """sk_wmem_schedule: take a page from the global pool when the socket has too little."""
        have = yield from core.load(tcb.s["forward_alloc"])
        if have < nbytes:
            yield from core.fetch_add(self.globals["memory_allocated"], 1)
            have += self.machine.params.page_size
        yield from core.store(tcb.s["forward_alloc"], have - nbytes)

    def _ehash_set(self, core: Core, flow: int, value: int) -> Op:
        bucket = self._bucket(flow)
        lock = self.ehash_locks[bucket % len(self.ehash_locks)]
        yield from lock.acquire(core)
        yield from core.store(self.ehash["head", bucket], value)
        yield from lock.release(core)

    def _bind(self, core: Core, tcb: Tcb, delta: int) -> Op:
        """The port's bind bucket: owner list head and count, under the bucket's lock."""
        yield from self.bind_lock.acquire(core)
        yield from core.load(self.bind["owners"])
        yield from core.store(self.bind["owners"], tcb.addr if delta > 0 else 0)
        count = yield from core.load(self.bind["count"])
        yield from core.store(self.bind["count"], count + delta)
        yield from self.bind_lock.release(core)

    def _cpu(self, core: Core) -> PerCpu:
        cpu = self._cpus.get(core.id)
        if cpu is None:
            cpu = self._cpus[core.id] = PerCpu(self.machine, f"{self.name}.cpu{core.id}", core.chip)
        return cpu

    def _alloc(self, core: Core, kind: str) -> Op:
        """kmem_cache_alloc from this core's magazine (a new object on its chip when empty)."""
        cpu = self._cpu(core)
        avail = yield from core.load(cpu.s[f"{kind}_avail"])
        pool = cpu.pools[kind]
        if pool:
            yield from core.store(cpu.s[f"{kind}_avail"], avail - 1)
            return pool.pop()
        self._made += 1
        name = f"{self.name}.{kind}[{self._made}]"
        if kind == "tcb":
            return Tcb(self.machine, name, core.chip, self.shared)
        return Struct(self.machine, name, {"req": ["flow", "nic", "ts", "next"]}, core.chip)

    def _free(self, core: Core, kind: str, obj) -> Op:
        cpu = self._cpu(core)
        avail = yield from core.load(cpu.s[f"{kind}_avail"])
        yield from core.store(cpu.s[f"{kind}_avail"], avail + 1)
        cpu.pools[kind].append(obj)

    def _bucket(self, flow: int) -> int:
        return _mix(flow) % self.params.ehash_buckets

    @staticmethod
    def _syn_slot(flow: int) -> int:
        return _mix(flow) % SYN_SLOTS


def _mix(flow: int) -> int:
    """inet_ehashfn stand-in: a multiplicative hash of the flow id."""
    return (flow * 0x9E3779B97F4A7C15 & (1 << 64) - 1) >> 40
