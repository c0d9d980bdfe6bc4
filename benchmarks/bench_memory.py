"""Simulated memory accesses per wall-clock second on amd16 (16 cores), trace off.

(a) mostly private: 90% of accesses go to lines only that core touches, 10% to shared lines.
(b) heavily shared: every access goes to 32 lines all cores share, a third of them stores.
Floors (2-core machine): 1,000,000 accesses/s for (a), 250,000 for (b). Memory use must not
grow with the run length when the trace is off: the peak is printed for two lengths.

Run: python benchmarks/bench_memory.py [--accesses N]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from coreylab.hardware import HardwareParams, Machine
from coreylab.trace import Trace


def accesses(seed, n, private_base, shared_base, p_private, p_store, lines, chunk=8192):
    """The (address, is_store) stream of one core, drawn in chunks so that memory does not
    grow with the run length."""
    rng = np.random.default_rng(seed)
    for done in range(0, n, chunk):
        k = min(chunk, n - done)
        private = rng.random(k) < p_private
        addrs = np.where(
            private,
            private_base + (rng.integers(0, lines, k) << 6),
            shared_base + (rng.integers(0, 32, k) << 6),
        )
        yield from zip(addrs.tolist(), (rng.random(k) < p_store).tolist(), strict=True)


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
        stream = accesses(seed * 100 + c, n_per_core, private, shared, p_private, p_store, 64)
        m.spawn(c, mix, stream)
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accesses", type=int, default=1_000_000, help="total accesses per mix")
    args = ap.parse_args()
    per_core = args.accesses // 16
    rate_a, n = run(per_core, 0.9, 0.3)
    print(f"(a) mostly private, {n:,} accesses: {rate_a:,.0f} accesses/s (floor 1,000,000)")
    rate_b, n = run(per_core // 2, 0.0, 0.33)
    print(f"(b) heavily shared, {n:,} accesses: {rate_b:,.0f} accesses/s (floor 250,000)")
    small, large = peak_memory(10_000), peak_memory(40_000)  # both past one chunk
    print(
        f"peak Python memory, trace off: {small / 1e6:.1f} MB at 160k accesses, "
        f"{large / 1e6:.1f} MB at 640k accesses"
    )


if __name__ == "__main__":
    main()
