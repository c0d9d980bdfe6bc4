"""Network workloads: the clients on the far side of the wire, the server loops, and the meter
that times them. The server loops are written against the calls both kernels offer
(`accept`, `recv`, `write`, `close`, `send_buffer`, `net_listener`), so one loop runs on either.

What it models
  clients        the offered load of one card. Closed loop: a fixed number of clients, each
                 opening one connection after another (SYN; on the SYN-ACK, the ACK with its
                 request; on the FIN, the next one), so the server gets connections as fast as
                 it takes them. Open loop: connections arrive at a rate (Poisson), however slow
                 the server is. Each packet crosses the wire in `NetParams.wire_cycles`.
  tcp_server     Corey's TCP benchmark: accept a connection, write 128 bytes, close it.
  web_server     the paper's web server reduced to its kernel traffic: accept, read the
                 request (which file), sum that file's lines, write the sum, close.
  Meter          each served connection's time and the counters after the warm-up.

What it leaves out: the clients' own costs (they are not simulated cores), HTTP parsing, and
the other seven words of each file line (their L1 hits and adds are `SUM_CYCLES_PER_LINE`).

Randomness: every client draws from its own `random.Random`, seeded from the experiment's.
"""

from __future__ import annotations

import bisect
import random
from typing import Any

from ..hardware import HardwareParams, Machine
from ..hardware.core import Core, Op
from ..kernel import Task
from ..kernel.nic import ACK, FIN, NIC, SYN, SYNACK, Packet
from ..trace import Counters

SUM_CYCLES_PER_LINE = 29  # 7 more L1 hits (3 cycles) and 8 adds per 64-byte line of a file
REPLY_BYTES = 128  # what the servers write per connection (Corey's TCP benchmark)


# -- the clients -----------------------------------------------------------------------------
def closed_loop(nic: NIC, clients: int, rng: random.Random, requests: int = 1,
                count: int | None = None) -> None:  # fmt: skip
    """Start `clients` clients on `nic`, each asking for one of `requests` things (uniformly),
    `count` connections each (None: forever)."""
    for _ in range(clients):
        nic.env.process(_client(nic, random.Random(rng.random()), requests, count))


def open_loop(nic: NIC, rate: float, hw: HardwareParams, rng: random.Random, requests: int = 1):
    """Connections arrive at `rate` per simulated second on `nic` (exponential gaps)."""
    if rate <= 0:
        raise ValueError(f"rate must be positive, not {rate!r}")
    mean_gap = hw.clock_mhz * 1e6 / rate

    def arrivals():
        while True:
            yield nic.env.timeout(max(1, round(rng.expovariate(1 / mean_gap))))
            seed = rng.random()
            nic.env.process(_client(nic, random.Random(seed), requests, 1))

    return nic.env.process(arrivals())


def _client(nic: NIC, rng: random.Random, requests: int, count: int | None):
    env, wire = nic.env, nic.params.wire_cycles
    yield env.timeout(rng.randrange(wire))  # clients do not start in lockstep
    done = 0
    while count is None or done < count:
        flow = nic.new_flow()
        synack = nic.expect(flow, SYNACK)
        yield env.timeout(wire)  # the SYN on the wire
        nic.receive(Packet(SYN, flow))
        yield synack
        fin = nic.expect(flow, FIN)
        yield env.timeout(2 * wire)  # the SYN-ACK back, the ACK out
        nic.receive(Packet(ACK, flow, rng.randrange(requests)))
        yield fin
        yield env.timeout(wire)  # the FIN back
        done += 1


# -- the meter --------------------------------------------------------------------------------
class Meter:
    """Served connections: when each ended, by the serving task's clock; and the counters at
    the two ends of the measured window.

    The window is when every task is busy: from the end of the warm-up (every task has served
    its first `warmup`: caches, pools and queues filled) to when the first task served its
    last (`count`). Each task's progress at a time t counts its connections served by t plus
    the elapsed part of the next one, so a short window is not rounded to whole connections."""

    def __init__(self, machine: Machine, tasks: int, warmup: int, count: int) -> None:
        self.machine, self.tasks, self.warmup, self.count = machine, tasks, warmup, count
        self.times: dict[int, list[int]] = {}  # task id -> when each of its connections ended
        self.warm = 0  # tasks past their warm-up
        self.before = machine.counters() if warmup == 0 else None
        self.after: Counters | None = None

    def done(self, task: Task) -> None:
        times = self.times.setdefault(task.id, [])
        times.append(task.core.local)
        if len(times) == self.warmup:
            self.warm += 1
            if self.warm == self.tasks:
                self.before = self.machine.counters()
        if len(times) == self.count and self.after is None:
            self.after = self.machine.counters()

    def window(self) -> tuple[int, int]:
        """(start, end): every task warm at `start`, none finished before `end`."""
        start = max(t[self.warmup - 1] for t in self.times.values()) if self.warmup else 0
        return start, min(t[-1] for t in self.times.values())

    def served(self) -> float:
        """Connections served in the window, all tasks together (0 if there is none)."""
        start, end = self.window()
        if end <= start or len(self.times) < self.tasks:
            return 0.0
        return sum(_progress(t, end) - _progress(t, start) for t in self.times.values())

    def per_second(self, hw: HardwareParams) -> float:
        """Connections per simulated second over the window."""
        start, end = self.window()
        served = self.served()
        return served / hw.seconds(end - start) if served else 0.0

    def misses_per_connection(self, sources: tuple[str, ...]) -> float:
        """Misses from `sources` in the window, per connection served in it."""
        served = self.served()
        if not served or self.before is None or self.after is None:
            return 0.0
        return (self.after.misses(*sources) - self.before.misses(*sources)) / served


def _progress(times: list[int], t: int) -> float:
    """Connections a task had served by time t: whole ones, and the elapsed part of the next."""
    k = bisect.bisect_right(times, t)
    if k == len(times):
        return float(k)
    prev = times[k - 1] if k else 0
    return k + (t - prev) / (times[k] - prev)


# -- the servers --------------------------------------------------------------------------------
def tcp_server(kernel: Any, task: Task, conns: int, meter: Meter) -> Op:
    """Corey's TCP benchmark on one task: accept, write 128 bytes, close; `conns` times."""
    core, listener = task.core, kernel.net_listener(task)
    for n in range(conns):
        conn = yield from kernel.accept(task, listener)
        yield from _fill(core, kernel.send_buffer(task, REPLY_BYTES), n)
        yield from kernel.write(task, conn, REPLY_BYTES)
        yield from kernel.close(task, conn)
        meter.done(task)


def web_server(kernel: Any, task: Task, files: list[list[int]], requests: int, meter: Meter) -> Op:
    """The web server on one task: accept, read which file, sum its lines, write the sum,
    close; `requests` times. `files` are the line addresses of each file, which it reads once
    first (a server loads what it serves at start-up: its caches then hold the files, as in
    steady state)."""
    core, listener = task.core, kernel.net_listener(task)
    for lines in files:
        for addr in lines:
            yield from core.load(addr)
    for _ in range(requests):
        conn = yield from kernel.accept(task, listener)
        which = yield from kernel.recv(task, conn)
        total = 0
        for addr in files[which]:
            total += yield from core.load(addr)
            yield from core.compute(SUM_CYCLES_PER_LINE)
        yield from _fill(core, kernel.send_buffer(task, REPLY_BYTES), total)
        yield from kernel.write(task, conn, REPLY_BYTES)
        yield from kernel.close(task, conn)
        meter.done(task)


def _fill(core: Core, lines: list[int], value: int) -> Op:
    """The application writes its reply into its send buffer."""
    for addr in lines:
        yield from core.store(addr, value)
