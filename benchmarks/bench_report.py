"""Time `coreylab report` (every experiment at its defaults, one page), phase by phase.

Measured (wall-clock seconds, one run each; use farm-bench for a paired before/after):
  command   the whole command in a fresh process, as a user runs it (floor: under 20 s)
  points    every experiment's points in one pool of --jobs processes (`run_many`)
  sections  each experiment's charts, tables and claims as Bokeh models (`report._section`)
  page      the standalone page with BokehJS inline (`bokeh.embed.file_html`)
and, from the points run serially (--serial), each experiment's CPU seconds: what the pool
shares out. On a noisy machine the same command varies by a quarter from run to run.

Run: python benchmarks/bench_report.py [--jobs N] [--serial]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bokeh.embed import file_html
from bokeh.layouts import column
from bokeh.resources import INLINE

from coreylab import experiments, report
from coreylab.experiments.pool import cyclic_gc_paused

FLOOR = 20.0  # seconds for the whole command (issue 11)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--serial", action="store_true", help="also each experiment's CPU seconds")
    args = ap.parse_args()
    command = time_command(args.jobs)
    names = list(experiments.EXPERIMENTS)
    with cyclic_gc_paused():  # as report.build runs
        t0 = time.perf_counter()
        results = experiments.run_many(names, jobs=args.jobs, counters=False)
        t1 = time.perf_counter()
        exps = [experiments.get(n) for n in names]
        sections = [report._section(e, r) for e, r in zip(exps, results, strict=True)]
        t2 = time.perf_counter()
        file_html(column(*sections), INLINE, title="coreylab report")
        t3 = time.perf_counter()
    print(f"{'command':>9}: {command:6.1f} s  (floor {FLOOR:.0f} s; --jobs {args.jobs})")
    for name, seconds in (("points", t1 - t0), ("sections", t2 - t1), ("page", t3 - t2)):
        print(f"{name:>9}: {seconds:6.1f} s")
    if args.serial:
        for name in names:
            cpu = time.process_time()
            with cyclic_gc_paused():
                experiments.run(name)
            print(f"{name:>22}: {time.process_time() - cpu:6.1f} s of CPU")
    print("FLOOR MISSED: command" if command >= FLOOR else "floor met")
    raise SystemExit(1 if command >= FLOOR else 0)


def time_command(jobs: int) -> float:
    """Seconds for `python -m coreylab report` in a fresh process (start-up included)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "report.html"
        argv = [sys.executable, "-m", "coreylab", "report", "-q", "--jobs", str(jobs)]
        t0 = time.perf_counter()
        subprocess.run([*argv, "-o", str(out)], check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0


if __name__ == "__main__":
    main()
