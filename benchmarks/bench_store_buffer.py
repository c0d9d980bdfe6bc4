"""What the store buffer what-if costs in simulation time: one point of each experiment it moves
most, with `store_buffer` 0 (the default, sequentially consistent) and 32, and the ratio.

Each buffered store group is a simpy event of its own (when its stores land), and a line's home
holds other requests back until then, so a run with a store buffer does more work. Floor: the
what-if no more than 1.5x slower than the default on any of these points.

Run: python benchmarks/bench_store_buffer.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time

from coreylab.experiments import run
from coreylab.hardware import HardwareParams

POINTS = (
    ("fd-dup-close", "linux-threads", 16),
    ("tcp-connections", "corey-dedicated", 16),
    ("memclone", "linux-threads", 16),
    ("mapreduce", "linux-threads", 16),
)
FLOOR = 1.5  # the what-if over the default, at most


def cpu_seconds(name: str, variant: str, cores: int, size: int, repeat: int) -> float:
    """The best CPU time of `repeat` runs of one point."""
    hw = HardwareParams.preset("amd16").replace(store_buffer=size)
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run(name, variants=[variant], cores=[cores], hw=hw)
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept")
    args = ap.parse_args()
    print(f"{'point':<42} {'SC s':>7} {'TSO s':>7} {'ratio':>6}")
    worst = 0.0
    for name, variant, cores in POINTS:
        sc = cpu_seconds(name, variant, cores, 0, args.repeat)
        tso = cpu_seconds(name, variant, cores, 32, args.repeat)
        worst = max(worst, tso / sc)
        print(f"{f'{name} {variant} {cores}':<42} {sc:7.2f} {tso:7.2f} {tso / sc:6.2f}")
    verdict = "within" if worst <= FLOOR else "OVER"
    print(f"worst ratio {worst:.2f}: {verdict} the floor of {FLOOR}x")


if __name__ == "__main__":
    main()
