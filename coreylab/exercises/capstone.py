"""Exercises of lesson 07, the capstone: designs of a request counter, measured."""

from __future__ import annotations

import random

from ..playground import measure
from .engine import register_number
from .judging import checked_params


def sampled(m: int):
    """One shared counter, incremented on every `m`-th request only (a sampled count)."""

    def setup(machine, n):
        return machine.memory.alloc(64, label="stats.requests")

    def work(core, counter, i):
        yield from core.compute(200)
        if i % m == m - 1:
            yield from core.fetch_add(counter, 1)

    return setup, work


def batched(k: int):
    """A per-core counter, padded, added into the shared total every `k` requests."""

    def setup(m, n):
        total = m.memory.alloc(64, label="stats.requests")
        mine = [
            m.memory.alloc(64, chip=m.params.chip_of(c), label=f"stats.mine[{c}]") for c in range(n)
        ]
        return total, mine

    def work(core, state, i):
        total, mine = state
        yield from core.compute(200)
        yield from core.fetch_add(mine[core.id], 1)
        if (i + 1) % k == 0:
            pending = yield from core.swap(mine[core.id], 0)
            yield from core.fetch_add(total, pending)

    return setup, work


def _sampled_draw(rng: random.Random) -> dict:
    return {"cores": rng.choice([1, 2, 4, 8, 16]), "every": rng.choice([1, 2, 3, 4, 5])}


def _transfers_solve(v: dict) -> float:
    design = {"sampled": sampled(v["every"])}
    r = measure(design, cores=[v["cores"]], ops=40 * v["every"], hw=checked_params("amd16"))
    return r.rows[0]["line_transfers_per_op"]


def _sampled_ask(v: dict) -> str:
    who = "One core serves" if v["cores"] == 1 else f"Each of {v['cores']} cores serves"
    nth = {2: "second", 3: "third", 4: "fourth", 5: "fifth"}
    often = "every request" if v["every"] == 1 else f"every {nth[v['every']]} request only"
    return (
        f"{who} requests (200 cycles of work each) and atomically increments one shared "
        f"counter on {often}. About how many times does the counter's line move between "
        "caches per request, on average?"
    )


register_number(
    0.10,
    key="07.shared-counter",
    lesson="07_capstone",
    draw=_sampled_draw,
    ask=_sampled_ask,
    solve=_transfers_solve,
    explain=lambda v, a: (
        f"{a} per request (measured). "
        + (
            "With one core the line never leaves its cache."
            if v["cores"] == 1
            else "Each increment almost always comes from another core than the last one, "
            f"which must take the line exclusive: one move per increment, and there is one "
            f"increment per {v['every']} request(s)."
        )
    ),
    hint="Who did the previous increment, and where does the line live afterwards? How "
    "many increments are there per request?",
)


def _batch_draw(rng: random.Random) -> dict:
    return {"k": rng.choice([2, 4, 8, 16, 32]), "cores": rng.choice([4, 8, 16])}


def _batch_solve(v: dict) -> float:
    r = measure(
        {"batched": batched(v["k"])}, cores=[v["cores"]], ops=4 * v["k"], hw=checked_params("amd16")
    )
    return r.rows[0]["line_transfers_per_op"]


register_number(
    0.25,
    key="07.batched",
    lesson="07_capstone",
    draw=_batch_draw,
    ask=lambda v: (
        f"Each of {v['cores']} cores counts requests in its own padded counter and adds it "
        f"into the shared total every {v['k']} requests. About how many line transfers per "
        "request now? (within 25%)"
    ),
    solve=_batch_solve,
    explain=lambda v, a: (
        f"about {a} per request: only the flush every {v['k']} requests touches the shared "
        "line, so sharing costs 1/k of what it did."
    ),
    hint="Which of the per-request operations touch a line another core writes?",
)
