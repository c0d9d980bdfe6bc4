"""Simulated memory accesses per wall-clock second on amd16 (16 cores), trace off.

(a) mostly private: 90% of accesses go to lines only that core touches, 10% to shared lines.
(b) heavily shared: every access goes to 32 lines all cores share, a third of them stores.
Floors (2-core machine): 1,000,000 accesses/s for (a), 250,000 for (b). Memory use must not
grow with the run length when the trace is off: the peak is printed for two lengths.

Each core loops over its own random pattern of accesses, drawn before the clock starts, so
that the figure is the simulator's and not the random-number generator's; the pattern is
longer than any cache effect it could have (64 private and 32 shared lines fit in the caches
either way).

Run: python benchmarks/bench_memory.py [--accesses N] [--runs K]
"""

from __future__ import annotations

import argparse
import itertools
import time
import tracemalloc

import numpy as np

from coreylab.hardware import HardwareParams, Machine
from coreylab.trace import Trace

PATTERN = 16_384  # accesses in each core's pattern


def pattern(seed, private_base, shared_base, p_private, p_store, lines) -> list[tuple[int, bool]]:
    """One core's (address, is_store) pattern."""
    rng = np.random.default_rng(seed)
    private = rng.random(PATTERN) < p_private
    addrs = np.where(
        private,
        private_base + (rng.integers(0, lines, PATTERN) << 6),
        shared_base + (rng.integers(0, 32, PATTERN) << 6),
    )
    return list(zip(addrs.tolist(), (rng.random(PATTERN) < p_store).tolist(), strict=True))


def mix(core, stream):
    load, store = core.load, core.store
    for addr, is_store in stream:
        if is_store:
            yield from store(addr, 1)
        else:
            yield from load(addr)


def run(n_per_core: int, p_private: float, p_store: float, seed: int = 1) -> tuple[float, int]:
    params = HardwareParams.preset("amd16")
    m = Machine(params, trace=Trace(enabled=False))
    shared = m.memory.alloc(32 * 64, chip=0, label="shared")
    for c in range(params.cores):
        private = m.memory.alloc(64 * 64, chip=params.chip_of(c), label=f"private{c}")
        loop = pattern(seed * 100 + c, private, shared, p_private, p_store, 64)
        m.spawn(c, mix, itertools.islice(itertools.cycle(loop), n_per_core))
    t0 = time.perf_counter()
    m.run()
    wall = time.perf_counter() - t0
    total = n_per_core * params.cores
    return total / wall, total


def peak_memory(n_per_core: int) -> int:
    tracemalloc.start()
    run(n_per_core, 0.9, 0.3)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def best_of(runs: int, *args) -> tuple[float, int]:
    """The best rate of `runs` runs (as timeit reports: the others were slowed by the rest of
    the machine, not by the simulator)."""
    results = [run(*args) for _ in range(runs)]
    return max(rate for rate, _ in results), results[0][1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accesses", type=int, default=1_000_000, help="total accesses per mix")
    ap.add_argument("--runs", type=int, default=5, help="runs per mix; the best is reported")
    args = ap.parse_args()
    per_core = args.accesses // 16
    rate_a, n = best_of(args.runs, per_core, 0.9, 0.3)
    print(f"(a) mostly private, {n:,} accesses: {rate_a:,.0f} accesses/s (floor 1,000,000)")
    rate_b, n = best_of(args.runs, per_core // 2, 0.0, 0.33)
    print(f"(b) heavily shared, {n:,} accesses: {rate_b:,.0f} accesses/s (floor 250,000)")
    small, large = peak_memory(20_000), peak_memory(80_000)  # both past one pattern
    print(
        f"peak Python memory, trace off: {small / 1e6:.1f} MB at 320k accesses, "
        f"{large / 1e6:.1f} MB at 1.28M accesses"
    )


if __name__ == "__main__":
    main()
