"""Wall time of the address-space experiments at their defaults: one point, and each figure.

(a) one point: each variant at 16 cores (the largest default point), for every experiment.
    Aim: well under a second.
(b) each whole default figure: every variant x cores 1, 2, 4, 8, 16, run serially.
The figures' rows are printed too (what the report would plot). CPU time is printed next to
wall time: on a shared machine wall time includes waiting.

Run: python benchmarks/bench_experiments_memory.py [--repeat N] [--only memclone,...]
"""

from __future__ import annotations

import argparse
import time

from coreylab.experiments import EXPERIMENTS, run

NAMES = ("memclone", "mempass", "mapreduce")
CORES = [1, 2, 4, 8, 16]
POINT_AIM = 1.0  # seconds, one point


def timed(fn):
    """(wall seconds, CPU seconds, value) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def best(fn, repeat: int):
    runs = [timed(fn) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[0][2]


def table(rows: list[dict]) -> str:
    keys = list(rows[0])
    cells = [[f"{r[k]:.4g}" if isinstance(r[k], float) else str(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    lines = ["  ".join(k.rjust(w) for k, w in zip(keys, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(cell, widths, strict=True)) for cell in cells]
    return "\n".join(lines)


def bench(name: str, repeat: int) -> None:
    exp = EXPERIMENTS[name]
    print(f"\n{name} defaults: { {p.name: p.default for p in exp.params} }")
    for variant in exp.variants:
        wall, cpu, _ = best(lambda v=variant: run(name, variants=[v], cores=[16]), repeat)
        verdict = "ok" if wall < POINT_AIM else "SLOW"
        print(f"(a) one point, {variant:14s} 16 cores: {wall:6.3f} s wall, {cpu:6.3f} s CPU "
              f"{verdict}")  # fmt: skip
    wall, cpu, result = best(lambda: run(name, cores=CORES), repeat)
    points = len(exp.variants) * len(CORES)
    print(f"(b) whole figure, {points} points: {wall:6.3f} s wall, {cpu:6.3f} s CPU")
    print(table(result.rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="runs of each; the best is kept")
    ap.add_argument("--only", default=",".join(NAMES), help="comma-separated experiments")
    args = ap.parse_args()
    for name in args.only.split(","):
        if name in EXPERIMENTS:
            bench(name, args.repeat)
        else:
            print(f"\n{name}: not registered")


if __name__ == "__main__":
    main()
