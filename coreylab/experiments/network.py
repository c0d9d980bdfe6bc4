"""tcp-connections and webserver: the paper's kernel-core experiments.

tcp-connections (Corey's TCP microbenchmark). Each server task accepts a connection, writes 128
bytes and closes it, `conns` times; closed-loop clients (`clients` per card) keep every card
busy. One card per core used. Variants:
  linux            one process per core; each card's interrupt goes to its own core, whose
                   kernel runs the softirq there; one listen socket and one TCP stack for all
  corey-polling    each core is a kernel core for its own card with its own stack; the
                   application's calls run inline, nothing is shared
  corey-dedicated  Corey's layout (num_monitors = 1, num_stacks = cores - 1): the first
                   `kernel_cores` cores (default 1) are kernel cores; every other core runs the
                   application over its own TCP stack (lwIP, in user space) on its own card's
                   buffers, with its data on its own lines. A kernel core runs only the cards'
                   driver (Corey's e1000: descriptors, and marking buffers done) and the
                   `device_buf` calls that come through the application cores' rings (app
                   core i to kernel core i mod kernel_cores). With no core left for the
                   application (cores <= kernel_cores) the point has no row: that is not
                   this layout.
Metrics, over a window in which every server is busy (from the end of the warm-up to when the
first server finished; see `workloads/network.py`, `Meter`): conns_per_sec (connections served per
simulated second) and l3_misses_per_conn (misses served by another core's cache or by DRAM,
per connection). `--param kernel_cores=K` sets the number of kernel cores (a what-if: Corey
ran 1); a 64-core machine (`--param chips=8 --param cores_per_chip=8`) shows where one kernel
core saturates.

What comes out and why. Linux: every connection's SYN and last ACK are handled with the listen
socket's ticket lock held (2.6's listener lock), accept owns it too, and the route's refcount,
the global counters, the bind bucket and the accept queue are written by every core; the socket
made by one core's softirq is accepted on another. The work done under the listen lock (the
request sock and SYN-ACK, the child socket, accept: 9.6k, 16k and 6.4k cycles of the calibrated
stack costs) is about 40% of a connection's, so from about 4 cores on the lock is always held
and the cores queue for it: throughput stops near 2e9 / 32k connections a second, while the
lock's hand-offs (every waiter re-reads its line on each release) and the misses inside its
critical sections keep growing with the cores. Polling:
nothing is shared, so it scales with the cores; its misses are the cards' DMA writes. Dedicated:
each application core runs the whole stack on its own data, as polling does, and hands the
kernel core only buffers (one posted ring slot per packet, not waited for; lwIP's jif copies
each packet between its pbuf and the buffer on the application core). The kernel core does,
per packet, what Corey's kern/sysmon.c and kern/dev/e1000.c do: read the slot (its flag's line
and its arguments' line come from the application core's cache), free it (an upgrade), write a
descriptor (its line was invalidated by the card's last write-back) and the card's tail
register, and later re-read the descriptor's status and mark the buffer done in its header (a
line in the application core's cache). So throughput grows with the application cores until
the kernel core's own work per connection, times the connections all of them serve, fills it;
from there it is the kernel core's rate, which falls slowly as application cores on other
chips join (their rings and buffers cost more to reach); more kernel cores move that point.
`kernel_core_cycles` splits the kernel core's time by phase of its loop. Misses per connection
stay near flat: the ring slots, buffer headers and descriptors each connection moves between
an application core and the kernel core do not depend on how many cores there are. Nothing here
is a per-variant constant: the variants run the same stack code and costs (`NetParams`) and
differ only in who runs each step.

Model vs paper (tcp-connections, amd16, default parameters):
  claim    Linux "sees a dropoff in throughput scalability after about 4 cores"; Corey's
           "Dedicated" line (one kernel core, 15 application cores with their own lwIP)
           scales nearly linearly (the paper's TCP figure; Corey's source: num_stacks = 15,
           num_monitors = 1).
  model    Linux 25.6k conns/s at 1 core, 63k at 4, 68k at 8, 64k at 16: agrees. Dedicated
           28.8k at 2 cores, 86k at 4, 195k at 8, 313k at 16 (10.9x for 15 application cores
           against 1): agrees, nearly linear to 8 cores and bending by 16, where the kernel
           core is busy 92% of the time. Its work per connection at 16 cores
           (`kernel_core_cycles`) is 6.8k cycles: 2.3k serving ring slots, 2.4k running the
           device_buf calls (five card-register writes of 300 cycles each, and descriptors),
           2.1k polling the cards (descriptor status, buffer headers): Corey's own steps per
           packet (kern/sysmon.c, kern/dev/e1000.c). An application core alone spends about
           69.5k cycles per connection (2e9 / 28.8k), most of it its stack's instruction work,
           so one kernel core can feed about ten. Both figures rest on the stack's costs,
           calibrated as a whole to published rates (`NetParams`, docs/calibration.md: about
           78k cycles a connection on one Linux core, in a range of 59k-102k) and charged to
           lwIP as to Linux (no source measured lwIP). With the model's first estimates, an
           eighth as much (`NetParams.scale_stack(1/8)`, a what-if), dedicated gives 154k 355k
           334k 288k at 2/4/8/16 (one kernel core fills by 3 application cores) and Linux 243k
           at 4, 228k at 16. With a store buffer of 32 stores (`--param store_buffer=32`,
           x86-TSO, a what-if) dedicated gives 29k 85k 196k 416k at 2/4/8/16 and Linux 61k at
           4, 67k at 16: the kernel core's store misses overlap. A 64-core what-if (chips=8,
           cores_per_chip=8) at 8/16/32/64 cores: kernel_cores=1 195k 304k 290k 274k;
           kernel_cores=2 169k 391k 573k 568k; kernel_cores=4 115k 337k 772k 1.13M.

webserver (the paper's application). Half the cores run the network stack, half the
application: each request names one of `files` files of `file_pages` pages; the server sums
that file's lines and writes the sum back. Cores alternate: even cores run the stack, odd cores
the application (with one core, the one core does both). This follows Corey's httpd: at 16
cores, 8 stack cores and 8 application cores, and monitor_nics = 0 (no kernel core polls cards
for others: each stack core drives its own card). Variants:
  linux            even cores take the cards' interrupts (one card each); odd cores run
                   server processes on the one listen socket
  corey-dedicated  even cores are kernel cores, one card and one stack each; each odd core hands
                   its calls to the kernel core next to it through a ring
Metric: requests_per_sec, measured as conns_per_sec is. Each server reads every file once
before its first request (a server loads what it serves), so the window sees warm files.
What comes out and why: Linux splits each request's stack work between a stack core (the
softirq: SYN, ACK, under the listen lock) and an application core (accept, recv, write, close,
and the wake-up when it slept), and every one of them meets on the one listener, so it peaks
at about 4 cores and falls. Each Corey pair (a kernel core and its application core) shares
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
CONNS = Param("conns", 12, 1, 10_000, "connections each server core serves")
REQUESTS = Param("requests", 8, 1, 10_000, "requests each application core serves")
KERNEL_CORES = Param("kernel_cores", 1, 1, 63, "corey-dedicated: cores that run only the cards' "
                     "drivers and the rings (Corey: 1)")  # fmt: skip
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


def corey_kernel_cores_setup(machine: Machine, kernel_cores: list[int], app_cores: list[int],
                             nparams: NetParams | None = None) -> Setup:  # fmt: skip
    """Corey's TCP benchmark: each application core a card of its own (rings on its kernel
    core's chip, buffers in its own memory) and its own stack; kernel core i mod K drives the
    card and serves the ring of application core i."""
    kernel = CoreyKernel(machine)
    kernel.net_params(nparams or NetParams())
    ktasks = [kernel.create_pcore(c) for c in kernel_cores]
    servers = [kernel.create_pcore(c) for c in app_cores]
    mine: list[list] = [[] for _ in ktasks]  # each kernel core's (card, device id)
    nics = []
    for i, _ in enumerate(servers):
        k = i % len(ktasks)
        nic = kernel.nic_attach(ktasks[k].core.chip)
        mine[k].append((nic, run_call(ktasks[k], kernel.device_alloc, nic.id)))
        nics.append(nic)
    kcores = []
    for task, cards in zip(ktasks, mine, strict=True):
        share = kernel.root_share(task)
        devices = [(share, dev) for _, dev in cards]
        kcores.append(run_call(task, kernel.kcore_start, devices, False))
    for i, task in enumerate(servers):
        kernel.sysmon_attach(task, kcores[i % len(kcores)])
        kernel.jnic_attach(task, nics[i])
    return Setup(kernel, servers, nics, [(t, kernel.monitor) for t in ktasks])


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


class TcpVariant(NamedTuple):
    """How a variant of Corey's TCP benchmark is set up on the first cores: `setup(machine,
    cores, kernel_cores, nparams)`, and whether it spends `kernel_cores` of them on kernel
    cores (then it needs at least one core more for an application)."""

    setup: Callable[[Machine, list[int], int, NetParams | None], Setup]
    kernel_cores: bool = False


def _linux_tcp(machine: Machine, used: list[int], _: int, nparams: NetParams | None) -> Setup:
    return linux_setup(machine, used, used, nparams)  # every core runs the stack and the app


def _polling_tcp(machine: Machine, used: list[int], _: int, nparams: NetParams | None) -> Setup:
    return corey_polling_setup(machine, used, nparams)


def _dedicated_tcp(machine: Machine, used: list[int], kernel_cores: int,
                   nparams: NetParams | None) -> Setup:  # fmt: skip
    return corey_kernel_cores_setup(machine, used[:kernel_cores], used[kernel_cores:], nparams)


def _dedicated_web(machine: Machine, stack: list[int], app: list[int],
                   nparams: NetParams | None) -> Setup:  # fmt: skip
    return corey_dedicated_setup(machine, stack, app, 1, nparams)


TCP_VARIANTS = {
    "linux": TcpVariant(_linux_tcp),
    "corey-polling": TcpVariant(_polling_tcp),
    "corey-dedicated": TcpVariant(_dedicated_tcp, kernel_cores=True),
}
# The web server's variants: (machine, stack cores, application cores, nparams) -> Setup.
WEB_VARIANTS: dict[str, Callable[[Machine, list[int], list[int], NetParams | None], Setup]] = {
    "linux": linux_setup,
    "corey-dedicated": _dedicated_web,
}


def tcp_point(variant: str, cores: int, seed: int, hw: HardwareParams, trace: bool,
              conns: int, warmup: int, clients: int, kernel_cores: int = 1,
              nparams: NetParams | None = None) -> Point:  # fmt: skip
    """One point; `nparams` (from Python only) changes the network's costs for every variant.
    corey-dedicated with no core left for the application gives no row."""
    if TCP_VARIANTS[variant].kernel_cores and cores <= kernel_cores:
        return Point(rows=[])
    machine = new_machine(hw, trace)
    setup, meter = _tcp_run(machine, variant, cores, seed, conns, warmup, clients,
                            kernel_cores, nparams)  # fmt: skip
    return finish_point(machine, setup.kernel, variant, cores, {
        "conns_per_sec": round(meter.per_second(hw), 1),
        "l3_misses_per_conn": round(meter.misses_per_connection(L3_MISS_SOURCES), 2),
    })  # fmt: skip


def _tcp_run(machine: Machine, variant: str, cores: int, seed: int, conns: int, warmup: int,
             clients: int, kernel_cores: int,
             nparams: NetParams | None) -> tuple[Setup, Meter]:  # fmt: skip
    """Run Corey's TCP benchmark for `variant` on the first `cores` cores of `machine`."""
    setup = TCP_VARIANTS[variant].setup(machine, list(range(cores)), kernel_cores, nparams)
    kernel = setup.kernel

    def server(task: Task, count: int, meter: Meter):
        return tcp_server(kernel, task, count, meter)

    return setup, serve(setup, server, conns, min(warmup, conns - 1), clients, 1, seed)


def kernel_core_cycles(cores: int, hw: HardwareParams, seed: int = 0, kernel_cores: int = 1,
                       nparams: NetParams | None = None) -> dict[str, float]:  # fmt: skip
    """corey-dedicated at `cores` (default sizes): where the kernel cores' cycles went, by
    phase of their loop (`KernelCore.cycles`: cards, rings, calls, idle), summed over the
    kernel cores and divided by the connections served in the whole run (warm-up included)."""
    if not kernel_cores < cores:
        raise ValueError(f"{cores} cores leave no application core beside {kernel_cores}")
    machine = new_machine(hw, False)
    sizes = {p.name: p.default for p in (CONNS, WARMUP, CLIENTS)}
    setup, meter = _tcp_run(machine, "corey-dedicated", cores, seed, sizes["conns"],
                            sizes["warmup"], sizes["clients"], kernel_cores, nparams)  # fmt: skip
    served = sum(len(t) for t in meter.times.values())
    phases = ("cards", "rings", "calls", "idle")
    return {p: sum(k.cycles[p] for k in setup.kernel.kcores.values()) / served for p in phases}


def web_point(variant: str, cores: int, seed: int, hw: HardwareParams, trace: bool,
              requests: int, warmup: int, clients: int, files: int, file_pages: int,
              nparams: NetParams | None = None) -> Point:  # fmt: skip
    """One point; `nparams` (from Python only) changes the network's costs for every variant."""
    machine = new_machine(hw, trace)
    setup = WEB_VARIANTS[variant](machine, *split_cores(cores), nparams)
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
    variants=tuple(TCP_VARIANTS),
    metrics=("conns_per_sec", "l3_misses_per_conn"),
    params=(CONNS, WARMUP, CLIENTS, KERNEL_CORES),
    point=tcp_point,
)

WEBSERVER = Experiment(
    name="webserver",
    summary="half the cores run the network stack, half the application",
    variants=tuple(WEB_VARIANTS),
    metrics=("requests_per_sec",),
    params=(REQUESTS, WARMUP, CLIENTS, FILES, FILE_PAGES),
    point=web_point,
)
