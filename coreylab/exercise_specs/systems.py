"""Exercises of lessons 05-06: MapReduce on a shared, private or range-shared address space, and
kernel cores. Also two runs those lessons look inside, which the experiments do not return:

  mapreduce_run  the `mapreduce` experiment's point, with the kernel kept after the run (for
                 its lock statistics: who waited on `mmap_sem`); its row equals the
                 experiment's row for the same arguments (a test checks it).
  ring_calls     a Corey kernel core and one application pcore that hands it null system calls
                 through its ring: what one call through a ring moves between two caches.

Every answer is read off a simulation of the student's variant: fault counts and times from the
`mapreduce` experiment, line transfers from the machine's counters, request rates from the
`webserver` experiment. Nothing here computes an answer by formula.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ..exercises import Spec, checked_params, parse_number, register, within
from ..experiments import run
from ..experiments.mapreduce import run_mapreduce
from ..hardware import HardwareParams, Machine

MAPREDUCE_VARIANTS = ("linux-threads", "linux-procs", "corey")
SHORT_NAMES = {"threads": "linux-threads", "procs": "linux-procs", "processes": "linux-procs"}


# -- a MapReduce run that keeps its kernel ------------------------------------------------------
@dataclass
class MapReduceRun:
    """One `mapreduce` point (same arguments, same row as the experiment's) with the machine
    and kernel as the run left them."""

    row: dict[str, Any]
    machine: Machine
    kernel: Any

    def locks(self, top: int = 6) -> list[dict]:
        """The kernel's locks that anyone waited for, most wait cycles first (lock_stat)."""
        stats = [s for s in self.kernel.lock_stats() if s["acquisitions"]]
        stats.sort(key=lambda s: (-s["wait_cycles"], -s["acquisitions"], s["name"]))
        return stats[:top]


def mapreduce_run(
    variant: str,
    cores: int,
    words: int = 2048,
    seed: int = 0,
    hw: HardwareParams | None = None,
    trace: bool = False,
) -> MapReduceRun:
    """The experiment's own run (`experiments.mapreduce.run_mapreduce`), keeping the kernel."""
    hw = hw or checked_params("amd16")
    metrics, machine, kernel = run_mapreduce(variant, cores, seed, hw, trace, words)
    return MapReduceRun({"variant": variant, "cores": cores, **metrics}, machine, kernel)


# -- system calls through a ring to a kernel core -----------------------------------------------
@dataclass
class RingCalls:
    """What `calls` null system calls through a warm ring cost: line transfers between caches
    and the application core's cycles, measured on `machine`."""

    machine: Machine
    app_core: int
    calls: int
    transfers: int
    cycles: int


def ring_calls(
    app_core: int,
    calls: int,
    kcore_core: int = 0,
    hw: HardwareParams | None = None,
    trace: bool = False,
) -> RingCalls:
    """A kernel core on `kcore_core` (polling one card that stays idle) and an application pcore
    on `app_core` with a ring to it; one call warms the ring, then `calls` are measured."""
    from ..kernel import CoreyKernel
    from ..kernel.devices import SYS_NULL
    from ..trace import Trace
    from ..workloads import run_call

    machine = Machine(hw or checked_params("amd16"), trace=Trace(enabled=trace))
    kernel = CoreyKernel(machine)
    ktask = kernel.create_pcore(kcore_core)
    nic = kernel.nic_attach(ktask.core.chip)
    device = run_call(ktask, kernel.device_alloc, nic.id)
    kcore = run_call(ktask, kernel.kcore_start, [(kernel.root_share(ktask), device)])
    app = kernel.create_pcore(app_core)
    kernel.sysmon_attach(app, kcore)
    machine.spawn(ktask.core_id, lambda core: kernel.monitor(ktask))

    def program(core, n):
        for _ in range(n):
            yield from kernel.ring_call(app, SYS_NULL)

    machine.spawn(app.core_id, program, 1)
    machine.run()
    before, start = machine.counters().total("transfers"), machine.cores[app_core].local
    machine.spawn(app.core_id, program, calls)
    machine.run()
    transfers = machine.counters().total("transfers") - before
    return RingCalls(machine, app_core, calls, transfers, machine.cores[app_core].local - start)


# -- 05: MapReduce ------------------------------------------------------------------------------
def _faults_draw(rng: random.Random) -> dict:
    return {
        "variant": rng.choice(MAPREDUCE_VARIANTS),
        "cores": rng.choice([2, 4, 8]),
        "words": rng.choice([512, 1024, 2048]),
    }


def _faults_solve(v: dict) -> int:
    result = run(
        "mapreduce",
        variants=[v["variant"]],
        cores=[v["cores"]],
        hw=checked_params("amd16"),
        params={"words": v["words"]},
    )
    return result.rows[0]["faults"]


def _within_one_or(tolerance: float):
    """Within `tolerance` of the answer, or within one fault of it (small counts)."""
    relative = within(tolerance)
    return lambda expected, given: abs(given - expected) <= 1 or relative(expected, given)


register(
    Spec(
        key="05.faults",
        lesson="05_mapreduce",
        draw=_faults_draw,
        ask=lambda v: (
            f"The mapreduce job runs as {v['variant']} on {v['cores']} cores with {v['words']} "
            "words per core (the input is already in memory and mapped by core 0; each map "
            "writes an 8-byte entry per word into a heap of its own, one block of pages per "
            "reduce partition; pages are 4 KB). "
            "How many page faults do all cores take in the timed part, map and reduce together? "
            "(within 10%, or within 1)"
        ),
        solve=_faults_solve,
        judge=_within_one_or(0.10),
        parse=parse_number,
        explain=lambda v, a: (
            f"{a} faults on the simulated machine. Each map task's heap holds "
            f"{v['words']} x 8 bytes of entries, in 4 KB pages, one block per reduce "
            "partition (so a part-full page per partition), and each page faults once when "
            "the map writes it first. "
            + (
                "Separate processes also fault on every page they touch for the first time in "
                "their own mapping: in reduce, their partition's pages in every other task's "
                "heap, and in map their slice of the input."
                if v["variant"] == "linux-procs"
                else "One address space (threads), or address ranges mounted in every core's "
                "root (Corey), means a page mapped once is mapped for every core: reduce "
                "takes no faults."
            )
        ),
        hint="Count pages, not words. A first write to a fresh page faults once. Which pages "
        "does a core touch that are not mapped *in its own page table* yet? With threads and "
        "Corey ranges the page tables of the outputs are shared; separate processes each "
        "fault on every page they reach for the first time.",
    )
)


class Ranking(tuple):
    """Variant names, fastest first, carrying the measured seconds (for the explanation)."""

    seconds: dict[str, float]

    def __new__(cls, seconds: dict[str, float]) -> Ranking:
        ranking = super().__new__(cls, sorted(seconds, key=seconds.__getitem__))
        ranking.seconds = dict(seconds)
        return ranking


def _ranking_solve(v: dict) -> Ranking:
    result = run(
        "mapreduce", cores=[v["cores"]], hw=checked_params("amd16"), params={"words": v["words"]}
    )
    return Ranking({r["variant"]: r["seconds"] for r in result.rows})


def parse_ranking(response: Any) -> tuple[str, ...]:
    """'corey, procs, threads' or a list -> ('corey', 'linux-procs', 'linux-threads')."""
    names = (
        response.replace(",", " ").replace(">", " ").split()
        if isinstance(response, str)
        else list(response)
    )
    ranking = tuple(SHORT_NAMES.get(str(n).strip().lower(), str(n).strip().lower()) for n in names)
    if sorted(ranking) != sorted(MAPREDUCE_VARIANTS):
        raise ValueError(f"name each of {', '.join(MAPREDUCE_VARIANTS)} once, fastest first")
    return ranking


def _ranking_explain(v: dict, a: Ranking) -> str:
    times = ", ".join(f"{name} {a.seconds[name] * 1e6:,.1f} µs" for name in a)
    if a[0] == "linux-threads":
        why = (
            "With this few cores the threads' one mm_struct is cheap to share, and each map "
            "task's mmap costs less than Corey's set-up of a segment and an address range "
            "(kernel objects, a page each) mounted in its root."
        )
    else:
        why = (
            "With this many cores mapping at once, the threads queue on mmap_sem and the "
            "mm's lines while they fault their output in; processes pay soft faults in "
            "reduce instead, and Corey's private ranges pay neither."
        )
    return f"fastest first: {', '.join(a)} ({times}, simulated). {why}"


register(
    Spec(
        key="05.ranking",
        lesson="05_mapreduce",
        draw=lambda rng: {"cores": rng.choice([2, 4, 8]), "words": rng.choice([256, 512, 2048])},
        ask=lambda v: (
            f"The mapreduce job on {v['cores']} cores with {v['words']} words per core: rank "
            "linux-threads, linux-procs and corey by the time the whole job takes, fastest "
            "first, e.g. 'corey, procs, threads'."
        ),
        solve=_ranking_solve,
        judge=lambda expected, given: tuple(expected) == tuple(given),
        parse=parse_ranking,
        explain=_ranking_explain,
        hint="Weigh three costs at this number of cores: threads queue on one mm_struct while "
        "all cores fault their map output in (worse with more cores); processes take a soft "
        "fault on every other task's output page in reduce; Corey avoids both, but setting up "
        "a segment and an address range for each map task costs more than an mmap.",
    )
)


# -- 06: kernel cores ---------------------------------------------------------------------------
def _ring_solve(v: dict) -> int:
    return ring_calls(v["app"], v["calls"]).transfers


register(
    Spec(
        key="06.ring-transfers",
        lesson="06_kernel_cores",
        draw=lambda rng: {"app": rng.randrange(1, 16), "calls": rng.randint(1, 5)},
        ask=lambda v: (
            f"A Corey kernel core runs on core 0. An application pcore on core {v['app']} hands "
            f"it {v['calls']} null system call(s) through its ring, one after the other (the "
            "ring is warm: one call went through before). How many times does a cache line "
            "move from one core's cache to the other's during those calls? (within 25%)"
        ),
        solve=_ring_solve,
        judge=within(0.25),
        parse=parse_number,
        explain=lambda v, a: (
            f"{a} transfers for {v['calls']} call(s), measured, all of them lines of the ring's "
            "slots. One slot is written by both sides in turn: the application takes it and "
            "writes the call, the kernel core clears KERN_CALL, writes ret and clears KERN_RET, "
            "the application frees it. In between, each side polls or spins on the slot's "
            "flag, so its line crosses between the two caches several times per call (and the "
            "kernel core reads ahead to the next slot's flag). Distance changes the time of "
            "each transfer, and so, a little, how the polls fall between the other side's "
            "writes: a far caller can add a crossing or two."
        ),
        hint="Follow one slot through a call: which core writes each of its lines, and which "
        "core reads it next? Every read of a line the other core wrote last is a transfer "
        "(a slot is 80 bytes: it can straddle two 64-byte lines).",
    )
)


def _web_solve(v: dict) -> float:
    c = v["cores"]
    result = run(
        "webserver",
        variants=[v["variant"]],
        cores=[c, 2 * c],
        hw=checked_params("amd16"),
        params={"clients": v["clients"]},
    )
    low, high = result.column("requests_per_sec")
    return round(high / low, 2)


def _web_explain(v: dict, a: float) -> str:
    trend = (
        "about doubles"
        if a >= 1.8
        else "grows, but less than double"
        if a >= 1.1
        else "stays about flat"
        if a >= 0.9
        else "falls"
    )
    if v["variant"] == "corey-dedicated":
        why = (
            "Each Corey pair (a kernel core with its card and stack, and the application "
            "core next to it) shares only its own ring: more pairs, proportionally more "
            "requests."
        )
    else:
        why = (
            "Linux's stack cores and application cores all meet on one listen socket, its "
            "ticket lock and the stack's shared counters: each core added slows the "
            "others' lock hand-offs and misses, and past a few cores the rate falls."
        )
    return f"x{a} on the simulated machine: the rate {trend}. {why}"


register(
    Spec(
        key="06.web-growth",
        lesson="06_kernel_cores",
        draw=lambda rng: {
            "variant": rng.choice(["linux", "corey-dedicated"]),
            "cores": rng.choice([2, 4, 8]),
            "clients": rng.choice([2, 4, 8]),
        },
        ask=lambda v: (
            f"The webserver experiment, variant {v['variant']}, {v['clients']} clients per "
            f"card. Going from {v['cores']} to {2 * v['cores']} cores (half of them run the "
            "stack, half the application), by what factor does requests_per_sec change? "
            "(2 means it doubles, 0.5 that it halves; within 20%)"
        ),
        solve=_web_solve,
        judge=within(0.20),
        parse=parse_number,
        explain=_web_explain,
        hint="Ask what the cores share. Corey's pairs share nothing but their own ring; "
        "Linux's cores share one listen socket, its ticket lock and the stack's counters, so "
        "adding cores adds waiters on the same lines.",
    )
)
