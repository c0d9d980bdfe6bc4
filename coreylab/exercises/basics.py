"""Exercises of lessons 00-02: the latency ladder, coherence by hand, the fd table."""

from __future__ import annotations

import functools
import random

from ..hardware import Machine
from ..playground import run_ops
from .engine import Spec, register, register_number
from .judging import checked_params, parse_names, parse_states


# -- 00: the tour and the latency ladder --------------------------------------------------------
def _remote_draw(rng: random.Random) -> dict:
    return {
        "writer": rng.randrange(1, 16),
        "remote": rng.choice([180, 200, 220]),
        "hop": rng.choice([40, 50, 60]),
    }


def _hops(n: int) -> str:
    return f"{n} hop{'s' * (n != 1)}"


def _remote_params(v: dict):
    return checked_params("amd16", remote_cache_latency=v["remote"], hop_latency=v["hop"])


def _remote_solve(v: dict) -> int:
    m, _ = run_ops(_remote_params(v), [(v["writer"], "store"), (0, "load")])
    last = m.trace.records[-1]
    return last.t_end - last.t_start


register_number(
    0.0,
    key="00.remote-load",
    lesson="00_tour",
    draw=_remote_draw,
    ask=lambda v: (
        f"The machine is amd16 (4 chips of 4 cores, chips on a square), but here a cache one "
        f"hop away costs {v['remote']} cycles and each further hop {v['hop']} more. Core "
        f"{v['writer']} has just written line x. How many cycles does core 0's load of x take?"
    ),
    solve=_remote_solve,
    explain=lambda v, a: (
        f"core {v['writer']} sits on chip {v['writer'] // 4}; its cache supplies the line in "
        f"{a} cycles (measured on the simulated machine)."
    ),
    hint="Find core 0's and the writer's chips (cores are numbered chip by chip), count hops "
    "on the square, then use the latency of a cache at that distance.",
)


def _dram_draw(rng: random.Random) -> dict:
    return {
        "home": rng.randrange(4),
        "dram": rng.choice([180, 200, 240]),
        "hop": rng.choice([40, 60, 80]),
    }


def _dram_solve(v: dict) -> int:
    m = Machine(checked_params("amd16", dram_latency=v["dram"], dram_hop_latency=v["hop"]))
    x = m.memory.alloc(64, chip=v["home"], label="x")
    took = []

    def reader(core):
        yield from core.load(x)
        took.append(core.local)

    m.spawn(0, reader)
    m.run()
    return took[0]


register_number(
    0.0,
    key="00.dram-load",
    lesson="00_tour",
    draw=_dram_draw,
    ask=lambda v: (
        f"On amd16 with local DRAM at {v['dram']} cycles and {v['hop']} more per hop, core 0 "
        f"loads a line that no cache holds, from memory attached to chip {v['home']}. How "
        "many cycles does the load take?"
    ),
    solve=_dram_solve,
    explain=lambda v, a: (
        f"chip {v['home']} is {_hops(min(v['home'], 4 - v['home']))} from chip 0 on the "
        f"square; the load took {a} cycles on the simulated machine."
    ),
    hint="Memory is split between the chips; count the hops from chip 0 to the line's home.",
)


# -- 01: cache lines and coherence by hand ------------------------------------------------------
def _states_draw(rng: random.Random) -> dict:
    """Three to five loads and stores by either core, in any order: the answer turns on
    who wrote last, whether the other core read since, and how the protocol shares a line."""
    ops = [(rng.randrange(2), rng.choice(["load", "store"])) for _ in range(rng.randint(3, 5))]
    return {"protocol": rng.choice(["MSI", "MESI", "MOESI"]), "ops": ops}


def _states_solve(v: dict) -> tuple[str, ...]:
    m, line = run_ops(checked_params("tiny", protocol=v["protocol"]), v["ops"])
    held = m.states(line)
    return tuple(held.get(c, "I") for c in range(2))


def _states_ask(v: dict) -> str:
    steps = "; ".join(f"core {c} {op}s x" for c, op in v["ops"])
    return (
        f"Under {v['protocol']}, on one chip of two cores, in this order: {steps}. What state is "
        "x in at core 0 and at core 1 afterwards? Answer with two letters, e.g. 'M I'."
    )


register(
    Spec(
        key="01.states",
        lesson="01_cache_lines",
        draw=_states_draw,
        ask=_states_ask,
        solve=_states_solve,
        judge=lambda expected, given: tuple(expected) == tuple(given),
        parse=parse_states,
        explain=lambda v, a: f"after those steps core 0 holds x in {a[0]} and core 1 in {a[1]}.",
        hint="Walk the protocol table one step at a time: a store needs the only copy; a load "
        "of a dirty line makes the writer supply it (MOESI keeps it dirty as O; MSI and MESI "
        "write it back and both become S); a load of a line no cache holds gets E under MESI "
        "and MOESI, S under MSI.",
    )
)


def _counter_draw(rng: random.Random) -> dict:
    return {"cores": rng.choice([2, 3, 4, 6, 8, 12]), "rounds": rng.choice([10, 15, 20, 25, 30])}


def _counter_solve(v: dict) -> int:
    m = Machine(checked_params("amd16"))
    x = m.memory.alloc(64, label="counter")

    def program(core):
        for _ in range(v["rounds"]):
            yield from core.fetch_add(x, 1)

    for c in range(v["cores"]):
        m.spawn(c, program)
    m.run()
    return m.counters().lines[m.line_of(x)].transfers


register_number(
    0.10,
    key="01.counter-transfers",
    lesson="01_cache_lines",
    draw=_counter_draw,
    ask=lambda v: (
        f"{v['cores']} cores each atomically increment one shared counter {v['rounds']} times, "
        "all starting together. About how many times does the counter's line move from one "
        "core's cache to another's? (within 10%)"
    ),
    solve=_counter_solve,
    explain=lambda v, a: (
        f"{a} transfers: nearly every increment finds the line in another core's cache, so "
        "it moves once per increment (the first comes from DRAM)."
    ),
    hint="An atomic increment needs the line exclusive. Who held it just before?",
)


# -- 02: the fd table and shares ----------------------------------------------------------------
def _times(k: int) -> str:
    return "once" if k == 1 else "twice" if k == 2 else f"{k} times"


def _new_fds(k: int) -> str:
    return "new descriptor" if k == 1 else f"{k} new descriptors"


def _lock_count_solve(v: dict) -> int:
    from ..kernel import LinuxKernel
    from ..workloads import run_call

    kernel = LinuxKernel(Machine(checked_params("amd16")))
    task = kernel.create_process(0)
    fd = run_call(task, kernel.open, "/tmp/f")
    lock = task.files.lock
    before = lock.stats.acquisitions
    dups = [run_call(task, kernel.dup, fd) for _ in range(v["k"])]
    for new in dups:
        run_call(task, kernel.close, new)
    return lock.stats.acquisitions - before


register_number(
    0.0,
    key="02.lock-count",
    lesson="02_fd_table_and_shares",
    draw=lambda rng: {"k": rng.randint(1, 8)},
    ask=lambda v: (
        f"A Linux thread dups its descriptor {_times(v['k'])}, then closes the "
        f"{_new_fds(v['k'])}. How many times does it take its table's file_lock?"
    ),
    solve=_lock_count_solve,
    explain=lambda v, a: (
        f"{a} times: a dup takes file_lock twice (allocate the lowest free fd, then install "
        "the file), a close once (clear the slot and the bit), as Linux 2.6.27 does."
    ),
    hint="POSIX wants the lowest free fd: allocating it and installing the file are two "
    "separate critical sections in fs/file.c; closing is one.",
)


FD_VARIANTS = ("linux-threads", "linux-procs", "linux-fdshares", "corey-shares")
SCALES = 0.75  # "scales": at least this fraction of linear scaling
MARGIN = 0.10  # fairness: every variant asked about is at least this far from the line


class Scaling(frozenset):
    """The variants that scale, carrying each asked variant's fraction of linear scaling."""

    efficiency: dict[str, float]

    def __new__(cls, efficiency: dict[str, float]) -> Scaling:
        scaling = super().__new__(cls, (v for v, e in efficiency.items() if e >= SCALES))
        scaling.efficiency = dict(efficiency)
        return scaling


def _scaling_draw(rng: random.Random) -> dict:
    asked = sorted(rng.sample(FD_VARIANTS, rng.choice([2, 3])))
    return {"cores": rng.choice([4, 8, 16]), "variants": asked}


@functools.lru_cache(maxsize=64)
def _efficiency(variant: str, cores: int) -> float:
    """One fd-dup-close variant's fraction of linear scaling at `cores` (runs are
    deterministic: a class of students asks about the same few points)."""
    from ..experiments import run

    result = run("fd-dup-close", variants=[variant], cores=[1, cores], hw=checked_params("amd16"))
    one, many = result.column("ops_per_sec")
    return many / (cores * one)


def _scaling_solve(v: dict) -> Scaling:
    return Scaling({variant: _efficiency(variant, v["cores"]) for variant in v["variants"]})


def _scaling_admit(v: dict, answer: Scaling) -> bool:
    """Fair: no asked variant sits within MARGIN of the line, where a student could not tell."""
    return all(abs(e - SCALES) >= MARGIN for e in answer.efficiency.values())


def _scaling_explain(v: dict, a: Scaling) -> str:
    shares = ", ".join(f"{name} {a.efficiency[name]:.0%}" for name in sorted(a.efficiency))
    names = ", ".join(sorted(a)) or "none of them"
    return (
        f"{names} (of linear scaling at {v['cores']} cores, measured: {shares}). A variant "
        "scales when no line is written by two cores: a table per process, per FD share or "
        "per Corey share; threads sharing one files_struct move its line on every dup and close."
    )


def parse_variants(response) -> frozenset[str]:
    """Variant names ('none' for none of them) -> a set."""
    if isinstance(response, str) and response.strip().lower() in {"none", "-"}:
        return frozenset()
    if isinstance(response, list | tuple | set | frozenset) and not response:
        return frozenset()  # an empty list: none of them
    try:
        return frozenset(parse_names(FD_VARIANTS)(response))
    except ValueError:
        raise ValueError(
            f"name them among {', '.join(FD_VARIANTS)}, as text ('a, b') or a list, or 'none'"
        ) from None


register(
    Spec(
        key="02.which-scale",
        lesson="02_fd_table_and_shares",
        draw=_scaling_draw,
        ask=lambda v: (
            f"Of the fd-dup-close variants {', '.join(v['variants'])}: which reach at least "
            f"75% of linear scaling at {v['cores']} cores (throughput at least 0.75 x "
            f"{v['cores']} x their 1-core throughput)? Name them, e.g. "
            f"'{v['variants'][-1]}', or say 'none'."
        ),
        solve=_scaling_solve,
        judge=lambda expected, given: frozenset(expected) == given,
        parse=parse_variants,
        admit=_scaling_admit,
        explain=_scaling_explain,
        hint="Ask of each variant: does any line get written by two cores? A shared files_struct "
        "does; a table per process, per FD share or per Corey share does not.",
    )
)


# -- 02: object naming (the talk's first Shares slide) -----------------------------------------
NAMING_WHY = {
    "global-table": "the one table's lock line, its size line and the slot lines core 0 last "
    "wrote (and the one id counter) all come over to the second core",
    "global-counter": "the only line both cores write is the one global id counter: it comes "
    "over once, on the second core's first object, and stays",
    "corey-percore": "each core's table and id counter are its own: nothing written by one "
    "core is ever read by the other",
}


def _naming_solve(v: dict) -> int:
    from ..experiments.naming import handoff

    return handoff(v["design"], v["ops"], v["second"], checked_params("duo"))


register_number(
    0.0,
    key="02.object-naming",
    lesson="02_fd_table_and_shares",
    draw=lambda rng: {
        "design": rng.choice(sorted(NAMING_WHY)),
        "ops": rng.randint(1, 6),
        "second": rng.randint(1, 3),
    },
    ask=lambda v: (
        f"object-naming's {v['design']} design on duo (two chips of two cores): core 0 "
        f"makes, looks up and drops {v['ops']} object{'s' * (v['ops'] > 1)}, then core "
        f"{v['second']} does the same, never at once. How many cache lines move from one "
        f"core's cache to another's while core {v['second']} runs? Predict, then measure with "
        f"handoff('{v['design']}', {v['ops']}, {v['second']})."
    ),
    solve=_naming_solve,
    explain=lambda v, a: f"{a}: {NAMING_WHY[v['design']]}.",
    hint="Which lines does an object's birth, lookup and death write: the id counter, the "
    "table's lock, size and slots, the object's own page? Which of them did core 0 write?",
)
