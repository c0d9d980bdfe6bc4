"""Wall time of tcp-connections and webserver at their defaults: one point, and each figure.

(a) one point: each variant at 16 cores (the largest default point; linux at 16 cores is the
    slowest point of both figures). Target: well under 1 s each.
(b) each whole default figure: every variant x cores 1, 2, 4, 8, 16, run serially (--jobs 1).
CPU time is printed next to wall time: on a shared machine wall time includes waiting.

Run: python benchmarks/bench_experiments_network.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time

from coreylab.experiments import EXPERIMENTS, run

POINT_TARGET = 1.0  # seconds, one point
NAMES = ("tcp-connections", "webserver")


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def best(fn, repeat: int) -> tuple[float, float]:
    runs = [timed(fn) for _ in range(repeat)]
    return min(w for w, _ in runs), min(c for _, c in runs)


def bench(name: str, repeat: int) -> None:
    exp = EXPERIMENTS[name]
    print(f"{name} defaults: { {p.name: p.default for p in exp.params} }")
    for variant in exp.variants:
        wall, cpu = best(lambda v=variant: run(name, variants=[v], cores=[16]), repeat)
        verdict = "ok" if wall < POINT_TARGET else "SLOW"
        print(f"  (a) one point, {variant:15s} 16 cores: {wall:6.3f} s wall, {cpu:6.3f} s CPU "
              f"(target < {POINT_TARGET} s) {verdict}")  # fmt: skip
    points = len(exp.variants) * 5
    wall, cpu = best(lambda: run(name, cores=[1, 2, 4, 8, 16]), repeat)
    print(f"  (b) whole figure, {points} points:            {wall:6.3f} s wall, {cpu:6.3f} s CPU")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept")
    args = ap.parse_args()
    for name in NAMES:
        bench(name, args.repeat)


if __name__ == "__main__":
    main()
