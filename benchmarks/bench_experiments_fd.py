"""Wall time of fd-dup-close at its defaults: one point, and the whole default figure.

(a) one point: each variant at 16 cores (the largest default point; linux-threads at 16 cores
    is the slowest point of the figure). Floor: under 0.5 s each.
(b) the whole default figure: 4 variants x cores 1, 2, 4, 8, 16, run serially (--jobs 1).
    Floor: under 5 s.
CPU time is printed next to wall time: on a shared machine wall time includes waiting.

Run: python benchmarks/bench_experiments_fd.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time

from coreylab.experiments import EXPERIMENTS, run

POINT_FLOOR = 0.5  # seconds, one point
FIGURE_FLOOR = 5.0  # seconds, the whole default figure


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def best(fn, repeat: int) -> tuple[float, float]:
    runs = [timed(fn) for _ in range(repeat)]
    return min(w for w, _ in runs), min(c for _, c in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept")
    args = ap.parse_args()
    exp = EXPERIMENTS["fd-dup-close"]
    defaults = {p.name: p.default for p in exp.params}
    print(f"fd-dup-close defaults: {defaults}")
    for variant in exp.variants:
        wall, cpu = best(lambda v=variant: run(exp.name, variants=[v], cores=[16]), args.repeat)
        verdict = "ok" if wall < POINT_FLOOR else "SLOW"
        print(f"(a) one point, {variant:15s} 16 cores: {wall:6.3f} s wall, {cpu:6.3f} s CPU "
              f"(floor {POINT_FLOOR} s) {verdict}")  # fmt: skip
    wall, cpu = best(lambda: run(exp.name, cores=[1, 2, 4, 8, 16]), args.repeat)
    verdict = "ok" if wall < FIGURE_FLOOR else "SLOW"
    print(f"(b) whole figure, 20 points:            {wall:6.3f} s wall, {cpu:6.3f} s CPU "
          f"(floor {FIGURE_FLOOR} s) {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
