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

import functools
import random
from dataclasses import dataclass
from typing import Any

from ..experiments import run
from ..experiments.mapreduce import run_mapreduce
from ..hardware import HardwareParams, Machine
from .engine import Spec, register, register_number
from .judging import checked_params, parse_names, parse_number, within

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
        "words": rng.choice([1024, 1536, 2048]),  # the lesson's sweep prints 512's faults
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
            "reduce partition; each reducer then copies every entry of its partition to fresh "
            "pages of its own heap; pages are 4 KB). "
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
            "the map writes it first; each reducer's copy of its partition fills pages of "
            "its own heap, which fault once too. "
            + (
                "Separate processes also fault on every page they touch for the first time in "
                "their own mapping: in reduce, their partition's pages in every other task's "
                "heap, and in map their slice of the input."
                if v["variant"] == "linux-procs"
                else "One address space (threads), or address ranges mounted in every core's "
                "root (Corey), means a page mapped once is mapped for every core: reduce "
                "faults only on its own output."
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


RANK_GAP = 0.10  # fairness: the runs to rank differ pairwise by at least this fraction


@functools.lru_cache(maxsize=256)
def _job_seconds(variant: str, cores: int, words: int) -> float:
    """The mapreduce experiment's time for one point (runs are deterministic: cache them)."""
    result = run(
        "mapreduce",
        variants=[variant],
        cores=[cores],
        hw=checked_params("amd16"),
        params={"words": words},
    )
    return result.rows[0]["seconds"]


def _ranking_draw(rng: random.Random) -> dict:
    """Each variant runs on its own number of cores: ranking them asks how each layout's
    cost grows with the cores, not only which layout wins at one size."""
    cores = {name: rng.choice([1, 2, 4, 8, 16]) for name in MAPREDUCE_VARIANTS}
    # Not 512: the lesson's sweep prints every variant's time at 512 words, 1-16 cores.
    return {"words": rng.choice([256, 384, 1024]), "cores": cores}


def _ranking_solve(v: dict) -> Ranking:
    return Ranking({n: _job_seconds(n, c, v["words"]) for n, c in v["cores"].items()})


def _ranking_admit(v: dict, a: Ranking) -> bool:
    """Fair: consecutive runs differ by at least RANK_GAP, so no order turns on a few %."""
    times = [a.seconds[name] for name in a]
    return all(slow >= (1 + RANK_GAP) * fast for fast, slow in zip(times, times[1:], strict=False))


def _ranking_ask(v: dict) -> str:
    runs = ", ".join(f"{name} on {c} core{'s' if c > 1 else ''}" for name, c in v["cores"].items())
    return (
        f"The mapreduce job with {v['words']} words per core, three runs: {runs}. Rank them by "
        "the time the whole job takes, fastest first, by variant name, e.g. 'corey, procs, "
        "threads' (the runs differ by at least 10%: the lesson's panel can run each)."
    )


def parse_ranking(response: Any) -> tuple[str, ...]:
    """'corey, procs, threads' or a list -> ('corey', 'linux-procs', 'linux-threads')."""
    form = (
        f"a ranking: name each of {', '.join(MAPREDUCE_VARIANTS)} once, fastest first, as "
        "text ('a, b, c') or a list"
    )
    try:
        ranking = parse_names(MAPREDUCE_VARIANTS, SHORT_NAMES)(response)
    except ValueError:
        raise ValueError(form) from None
    if sorted(ranking) != sorted(MAPREDUCE_VARIANTS):
        raise ValueError(form)
    return ranking


def _ranking_explain(v: dict, a: Ranking) -> str:
    times = ", ".join(
        f"{name} on {v['cores'][name]} core{'s' * (v['cores'][name] > 1)}: "
        f"{a.seconds[name] * 1e6:,.1f} µs"
        for name in a
    )
    return (
        f"fastest first: {', '.join(a)} ({times}, simulated). Each core has the same work at "
        "every size, so a flat line would be perfect scaling; none is flat. Threads and "
        "processes grow about as fast with the cores: threads all map at once, queueing on "
        "mmap_sem and the mm's lines; processes pay a soft fault in reduce on every page "
        "another core wrote. Corey's time grows least: it pays for a segment and an address "
        "range per map task, and little else."
    )


register(
    Spec(
        key="05.ranking",
        lesson="05_mapreduce",
        draw=_ranking_draw,
        ask=_ranking_ask,
        solve=_ranking_solve,
        judge=lambda expected, given: tuple(expected) == tuple(given),
        parse=parse_ranking,
        admit=_ranking_admit,
        explain=_ranking_explain,
        hint="Weigh each run's costs at its own number of cores: threads queue on one "
        "mm_struct while all cores fault their map output in (worse with more cores); "
        "processes take a soft fault on every other task's output page in reduce; Corey "
        "avoids both, but sets up a segment and an address range for each map task. The "
        "scaling chart at the top of the lesson shows how each grows.",
    )
)


# -- 06: kernel cores ---------------------------------------------------------------------------
def _ring_solve(v: dict) -> int:
    return ring_calls(v["app"], v["calls"]).transfers


register_number(
    0.10,
    key="06.ring-transfers",
    lesson="06_kernel_cores",
    draw=lambda rng: {"app": rng.randrange(1, 16), "calls": rng.randint(1, 8)},
    ask=lambda v: (
        f"A Corey kernel core runs on core 0. An application pcore on core {v['app']} hands "
        f"it {v['calls']} null system call{'s' if v['calls'] > 1 else ''} through its ring, "
        "one after the other (the ring is warm: one call went through before). How many "
        "times does a cache line move from one core's cache to the other's during those "
        "calls? Reason it out from a slot's walk, then measure one call from your core "
        f"with ring_calls(app_core={v['app']}, calls=1), as the lesson does (within 10%)."
    ),
    solve=_ring_solve,
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
    "(a slot is 80 bytes: it can straddle two 64-byte lines). Every call costs the same "
    "number of transfers: measure one with ring_calls, as the lesson does.",
)


WEB_STEPS = [  # from `cores` to `factor` times as many (even counts: half stack, half app)
    {"cores": 2, "factor": 2},
    {"cores": 2, "factor": 4},
    {"cores": 4, "factor": 2},
    {"cores": 4, "factor": 4},
    {"cores": 8, "factor": 2},
]


@functools.lru_cache(maxsize=64)
def _web_rate(variant: str, cores: int, clients: int) -> float:
    result = run(
        "webserver",
        variants=[variant],
        cores=[cores],
        hw=checked_params("amd16"),
        params={"clients": clients},
    )
    return result.rows[0]["requests_per_sec"]


def _web_solve(v: dict) -> float:
    low = _web_rate(v["variant"], v["cores"], v["clients"])
    high = _web_rate(v["variant"], v["factor"] * v["cores"], v["clients"])
    return round(high / low, 2)


def _web_explain(v: dict, a: float) -> str:
    trend = (
        "grows about as the cores do"
        if a >= 0.9 * v["factor"]
        else "grows, but less than the cores do"
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
            "ticket lock and the stack's shared counters. About 40% of a connection's stack "
            "work (the SYN, the new socket, accept) runs under that one lock, which caps the "
            "rate: up to about 4 cores it still grows, less than the cores do; from there the "
            "lock is always held, more cores add only hand-offs and misses, and the rate stays "
            "flat or falls."
        )
    return f"x{a} on the simulated machine: the rate {trend}. {why}"


register_number(
    0.20,
    key="06.web-growth",
    lesson="06_kernel_cores",
    draw=lambda rng: {
        "variant": rng.choice(["linux", "corey-dedicated"]),
        **rng.choice(WEB_STEPS),
        "clients": rng.choice([2, 4, 8]),
    },
    ask=lambda v: (
        f"The webserver experiment, variant {v['variant']}, {v['clients']} clients per "
        f"card. Going from {v['cores']} to {v['factor'] * v['cores']} cores (half of them run "
        "the stack, half the application), by what factor does requests_per_sec change? "
        f"({v['factor']} means it grows as the cores do, 0.5 that it halves; within 20%)"
    ),
    solve=_web_solve,
    explain=_web_explain,
    hint="Ask what the cores share. Corey's pairs share nothing but their own ring; "
    "Linux's cores share one listen socket, its ticket lock and the stack's counters, so "
    "adding cores adds waiters on the same lines.",
)
