"""Exercises of lesson 07, the capstone: designs of a request counter, measured."""

from __future__ import annotations

import random

from ..exercises import Spec, checked_params, parse_number, register, within
from ..playground import measure


def _shared(m, n):
    return m.memory.alloc(64, label="stats.requests")


def _shared_work(core, counter, i):
    yield from core.compute(200)
    yield from core.fetch_add(counter, 1)


def batched(k: int):
    """A per-core counter, padded, added into the shared total every `k` requests."""

    def setup(m, n):
        total = m.memory.alloc(64, label="stats.requests")
        mine = [m.memory.alloc(64, chip=m.params.chip_of(c), label=f"stats.mine[{c}]")
                for c in range(n)]  # fmt: skip
        return total, mine

    def work(core, state, i):
        total, mine = state
        yield from core.compute(200)
        yield from core.fetch_add(mine[core.id], 1)
        if (i + 1) % k == 0:
            pending = yield from core.swap(mine[core.id], 0)
            yield from core.fetch_add(total, pending)

    return setup, work


def _transfers_solve(v: dict) -> float:
    r = measure({"shared": (_shared, _shared_work)}, cores=[v["cores"]], ops=40,
                hw=checked_params("amd16"))  # fmt: skip
    return r.rows[0]["line_transfers_per_op"]


register(
    Spec(
        key="07.shared-counter",
        lesson="07_capstone",
        draw=lambda rng: {"cores": rng.choice([4, 8, 16])},
        ask=lambda v: (
            f"Every request on each of {v['cores']} cores atomically increments one shared "
            "counter (after 200 cycles of other work). About how many times does the counter's "
            "line move between caches per request? (within 10%)"
        ),
        solve=_transfers_solve,
        judge=within(0.10),
        parse=parse_number,
        explain=lambda v, a: (
            f"{a} per request: the next increment almost always comes from another core, which "
            "must take the line exclusive."
        ),
        hint="Who did the previous increment, and where does the line live afterwards?",
    )
)


def _batch_draw(rng: random.Random) -> dict:
    return {"k": rng.choice([4, 8, 16]), "cores": rng.choice([4, 8])}


def _batch_solve(v: dict) -> float:
    r = measure({"batched": batched(v["k"])}, cores=[v["cores"]], ops=4 * v["k"],
                hw=checked_params("amd16"))  # fmt: skip
    return r.rows[0]["line_transfers_per_op"]


register(
    Spec(
        key="07.batched",
        lesson="07_capstone",
        draw=_batch_draw,
        ask=lambda v: (
            f"Each of {v['cores']} cores counts requests in its own padded counter and adds it "
            f"into the shared total every {v['k']} requests. About how many line transfers per "
            "request now? (within 25%)"
        ),
        solve=_batch_solve,
        judge=within(0.25),
        parse=parse_number,
        explain=lambda v, a: (
            f"about {a} per request: only the flush every {v['k']} requests touches the shared "
            "line, so sharing costs 1/k of what it did."
        ),
        hint="Which of the per-request operations touch a line another core writes?",
    )
)
