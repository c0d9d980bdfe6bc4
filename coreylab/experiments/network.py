"""tcp-connections and webserver: the paper's kernel-core experiments.

tcp-connections (Corey's TCP microbenchmark). Each server task accepts a connection, writes 128
bytes and closes it, `conns` times; closed-loop clients (`clients` per card) keep every card
busy. One card per core used. Variants:
  linux            one process per core; each card's interrupt goes to its own core, whose
                   kernel runs the softirq there; one listen socket and one TCP stack for all
  corey-polling    each core is a kernel core for its own card with its own stack; the
                   application's calls run inline, nothing is shared
  corey-dedicated  core 0 is a kernel core that polls every card and serves a system-call ring
                   for each of the other cores, which run the application; with one core there
                   is no core to dedicate, so it runs as corey-polling
Metrics, over a window in which every server is busy (from the end of the warm-up to when the
first server finished; see `workloads/network.py`, `Meter`): conns_per_sec (connections served per
simulated second) and l3_misses_per_conn (misses served by another core's cache or by DRAM,
per connection).

What comes out and why. Linux: every connection's SYN and last ACK are handled with the listen
socket's ticket lock held (2.6's listener lock), accept takes it twice more, and the route's
refcount, the global counters, the bind bucket and the accept queue are written by every core;
the socket made by one core's softirq is accepted on another. So from a few cores on, the
listen lock's hand-offs (every waiter re-reads the lock line on each release) and the misses
inside its critical sections grow with the number of cores and throughput falls. Polling:
nothing is shared, so it scales with the cores; its misses are the cards' DMA writes. Dedicated:
one core runs all the stack work with its data in its own cache; the others only pass calls
through their rings (a few line transfers per call), so throughput is that one core's rate and
stays there as application cores are added (a few per cent lower at 16 cores: rings on other
chips cost more to reach), while Linux's falls. Nothing here is a per-variant constant: the
variants run the same stack code and costs (`NetParams`) and differ only in who runs it.

webserver (the paper's application). Half the cores run the network stack, half the
application: each request names one of `files` files of `file_pages` pages; the server sums
that file's lines and writes the sum back. Cores alternate: even cores run the stack, odd cores
the application (with one core, the one core does both). Variants:
  linux            even cores take the cards' interrupts (one card each); odd cores run
                   server processes on the one listen socket
  corey-dedicated  even cores are kernel cores, one card and one stack each; each odd core hands
                   its calls to the kernel core next to it through a ring
Metric: requests_per_sec, measured as conns_per_sec is. Each server reads every file once
before its first request (a server loads what it serves), so the window sees warm files.
What comes out and why: Linux splits each request's stack work between a stack core (the
softirq: SYN, ACK, under the listen lock) and an application core (accept, recv, write, close,
and the wake-up when it slept), and every one of them meets on the one listener, so it peaks
at a few cores and falls. Each Corey pair (a kernel core and its application core) shares
only its ring, so throughput grows with the number of pairs; each pair runs at its kernel
core's rate, since at these sizes the stack work of a request exceeds the file sum.

What both leave out: everything `kernel/netstack.py` and `kernel/devices.py` leave out, the
clients' own costs, and HTTP; the files are in memory before the run (the page cache, or a
Corey segment), read-only.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, NamedTuple

from ..hardware import HardwareParams, Machine
from ..kernel import CoreyKernel, LinuxKernel, Task
from ..kernel.params import NetParams
from ..workloads import L3_MISS_SOURCES, run_call
from ..workloads.network import Meter, closed_loop, tcp_server, web_server
from .base import Experiment, Param, Point, finish_point, new_machine

# at most 10,000: 16 and 12.5 KB per connection or request and core, 2.5 GB on 16 cores
CONNS = Param("conns", 8, 1, 10_000, "connections each server core serves")
REQUESTS = Param("requests", 8, 1, 10_000, "requests each application core serves")
WARMUP = Param("warmup", 2, 0, 10_000, "of those, per server core, before timing starts")
CLIENTS = Param("clients", 4, 1, 64, "closed-loop clients per network card")
FILES = Param("files", 4, 1, 64, "files the web server serves")
FILE_PAGES = Param("file_pages", 2, 1, 256, "pages per file")


class Setup(NamedTuple):
    """A variant on a machine: its kernel, the server tasks, the cards, and the programs that
    run beside the servers (kernel cores, stack-only cores)."""

    kernel: Any
    servers: list[Task]
    nics: list
    background: list[tuple[Task, Callable]]


# -- the variants ----------------------------------------------------------------------------
def linux_setup(machine: Machine, stack_cores: list[int], app_cores: list[int],
                nparams: NetParams | None = None) -> Setup:  # fmt: skip
    """One process per core used; a card per stack core, its interrupt routed there; stack
    cores that run no server only take interrupts."""
    kernel = LinuxKernel(machine)
    kernel.net_params(nparams or NetParams())
    tasks = {c: kernel.create_process(c) for c in sorted({*stack_cores, *app_cores})}
    nics = [kernel.nic_attach(c) for c in stack_cores]
    background = [(tasks[c], kernel.irq_loop) for c in stack_cores if c not in app_cores]
    return Setup(kernel, [tasks[c] for c in app_cores], nics, background)


def corey_polling_setup(machine: Machine, cores: list[int],
                        nparams: NetParams | None = None) -> Setup:  # fmt: skip
    """Each core a kernel core for its own card; its application's calls run inline."""
    kernel = CoreyKernel(machine)
    kernel.net_params(nparams or NetParams())
    tasks, nics = [], []
    for c in cores:
        task = kernel.create_pcore(c)
        nic = kernel.nic_attach(task.core.chip)
        device = run_call(task, kernel.device_alloc, nic.id)
        run_call(task, kernel.kcore_start, [(kernel.root_share(task), device)])
        tasks.append(task)
        nics.append(nic)
    return Setup(kernel, tasks, nics, [])


def corey_dedicated_setup(machine: Machine, kernel_cores: list[int], app_cores: list[int],
                          cards_per_kcore: int,
                          nparams: NetParams | None = None) -> Setup:  # fmt: skip
    """Kernel cores, each polling `cards_per_kcore` cards of its chip; application core i
    gets a ring to kernel core i mod (number of kernel cores)."""
    if set(kernel_cores) == set(app_cores):
        return corey_polling_setup(machine, app_cores, nparams)
    kernel = CoreyKernel(machine)
    kernel.net_params(nparams or NetParams())
    kcores, nics, background = [], [], []
    for c in kernel_cores:
        task = kernel.create_pcore(c)
        cards = [kernel.nic_attach(task.core.chip) for _ in range(cards_per_kcore)]
        devices = [run_call(task, kernel.device_alloc, nic.id) for nic in cards]
        share = kernel.root_share(task)
        kcores.append(run_call(task, kernel.kcore_start, [(share, d) for d in devices]))
        nics += cards
        background.append((task, kernel.monitor))
    servers = [kernel.create_pcore(c) for c in app_cores]
    for i, task in enumerate(servers):
        kernel.sysmon_attach(task, kcores[i % len(kcores)])
    return Setup(kernel, servers, nics, background)


def split_cores(cores: int) -> tuple[list[int], list[int]]:
    """Half the cores for the stack (even), half for the application (odd); one core does both."""
    if cores == 1:
        return [0], [0]
    return list(range(0, cores, 2)), list(range(1, cores, 2))


# -- running a point ----------------------------------------------------------------------------
def serve(setup: Setup, server: Callable, count: int, warmup: int, clients: int,
          requests: int, seed: int) -> Meter:  # fmt: skip
    """Start the clients and the background programs, run `server(task, count, meter)` on
    every server task, and run the machine until all servers are done. (Closed loop only: an
    open-loop load above what the server takes livelocks it, as a SYN flood does, and a run
    that waits for a number of connections would then never end.)"""
    machine = setup.kernel.machine
    rng = random.Random(seed)
    for nic in setup.nics:
        closed_loop(nic, clients, random.Random(rng.random()), requests)
    meter = Meter(machine, len(setup.servers), warmup, count)
    for task, program in setup.background:
        machine.spawn(task.core_id, lambda core, t=task, p=program: p(t))
    procs = [
        machine.spawn(task.core_id, lambda core, t=task: server(t, count, meter))
        for task in setup.servers
    ]
    machine.env.run(until=machine.env.all_of(procs))
    return meter


def tcp_point(variant: str, cores: int, seed: int, hw: HardwareParams, trace: bool,
              conns: int, warmup: int, clients: int,
              nparams: NetParams | None = None) -> Point:  # fmt: skip
    """One point; `nparams` (from Python only) changes the network's costs for every variant."""
    machine = new_machine(hw, trace)
    used = list(range(cores))
    if variant == "linux":
        setup = linux_setup(machine, used, used, nparams)
    elif variant == "corey-polling":
        setup = corey_polling_setup(machine, used, nparams)
    else:
        setup = corey_dedicated_setup(machine, [0], used[1:] or [0], cores, nparams)
    kernel = setup.kernel

    def server(task: Task, count: int, meter: Meter):
        return tcp_server(kernel, task, count, meter)

    meter = serve(setup, server, conns, min(warmup, conns - 1), clients, 1, seed)
    return finish_point(machine, kernel, variant, cores, {
        "conns_per_sec": round(meter.per_second(hw), 1),
        "l3_misses_per_conn": round(meter.misses_per_connection(L3_MISS_SOURCES), 2),
    })  # fmt: skip


def web_point(variant: str, cores: int, seed: int, hw: HardwareParams, trace: bool,
              requests: int, warmup: int, clients: int, files: int, file_pages: int,
              nparams: NetParams | None = None) -> Point:  # fmt: skip
    """One point; `nparams` (from Python only) changes the network's costs for every variant."""
    machine = new_machine(hw, trace)
    stack_cores, app_cores = split_cores(cores)
    if variant == "linux":
        setup = linux_setup(machine, stack_cores, app_cores, nparams)
    else:
        setup = corey_dedicated_setup(machine, stack_cores, app_cores, 1, nparams)
    kernel, lines = setup.kernel, _files(machine, files, file_pages)

    def server(task: Task, count: int, meter: Meter):
        return web_server(kernel, task, lines, count, meter)

    meter = serve(setup, server, requests, min(warmup, requests - 1), clients, files, seed)
    return finish_point(machine, kernel, variant, cores, {
        "requests_per_sec": round(meter.per_second(hw), 1),
    })  # fmt: skip


def _files(machine: Machine, files: int, pages: int) -> list[list[int]]:
    """The files, in memory before the run, spread over the chips; each file's line addresses.
    Every line holds a value, so the sum is a real one."""
    p, values = machine.params, machine.memory.values
    out = []
    for f in range(files):
        base = machine.memory.alloc(pages * p.page_size, f % p.chips, f"file{f}", p.page_size)
        lines = [base + i * p.line_size for i in range(pages * p.page_size // p.line_size)]
        for i, addr in enumerate(lines):
            values[addr] = f + i
        out.append(lines)
    return out


TCP_CONNECTIONS = Experiment(
    name="tcp-connections",
    summary="accept, write 128 bytes, close: Linux's shared stack vs Corey's kernel cores",
    variants=("linux", "corey-polling", "corey-dedicated"),
    metrics=("conns_per_sec", "l3_misses_per_conn"),
    params=(CONNS, WARMUP, CLIENTS),
    point=tcp_point,
)

WEBSERVER = Experiment(
    name="webserver",
    summary="half the cores run the network stack, half the application",
    variants=("linux", "corey-dedicated"),
    metrics=("requests_per_sec",),
    params=(REQUESTS, WARMUP, CLIENTS, FILES, FILE_PAGES),
    point=web_point,
)
