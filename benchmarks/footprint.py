"""Measure what one experiment point allocates and takes, to derive `experiments.estimate`.

For each experiment, every variant runs one point at two sizes (its size parameter at the
default and at 4x) on 2 and 8 cores of amd16, twice: once timed (CPU seconds, the cyclic
collector paused as in a worker), once under tracemalloc for its peak Python allocation
(tracemalloc slows a run about 2x, so it times nothing). A least-squares line through the
largest variant's points, in units of size x cores (x a second parameter's default, for an
experiment whose work grows with two), gives the bytes and seconds per unit and the fixed
part; `estimate.FOOTPRINTS` holds the bytes rounded up, so a memory estimate errs high, and
the seconds with a margin of about a quarter (a busy machine is slower), so the time a run
announces is the time it takes, not a bound several times over.

Run: python benchmarks/footprint.py [--experiment NAME ...]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from coreylab import experiments
from coreylab.experiments.estimate import FOOTPRINTS
from coreylab.experiments.pool import cyclic_gc_paused
from coreylab.hardware import HardwareParams

CORES = (2, 8)
SCALES = (1, 4)


def measure(name: str) -> tuple[float, float, float, float]:
    """(base bytes, bytes per unit, base seconds, seconds per unit) of `name`'s points."""
    exp = experiments.get(name)
    size = FOOTPRINTS[name].size
    hw = HardwareParams.preset("amd16")
    units, peaks, times = [], [], []
    for cores in CORES if exp.sweeps_cores else (hw.cores,):
        for scale in SCALES if size else (1,):
            params = {size: exp.param(size).default * scale} if size else {}
            worst_peak, worst_time = 0, 0.0
            for variant in exp.variants:
                started = time.process_time()
                with cyclic_gc_paused():
                    experiments.run(name, [variant], [cores], hw=hw, params=params)
                worst_time = max(worst_time, time.process_time() - started)
                tracemalloc.start()
                experiments.run(name, [variant], [cores], hw=hw, params=params)
                worst_peak = max(worst_peak, tracemalloc.get_traced_memory()[1])
                tracemalloc.stop()
            also = FOOTPRINTS[name].also  # a second parameter, at its default
            units.append(params.get(size, 0) * cores * (exp.param(also).default if also else 1))
            peaks.append(worst_peak)
            times.append(worst_time)
    if len(set(units)) < 2:
        return max(peaks), 0.0, max(times), 0.0
    per_byte, base = np.polyfit(units, peaks, 1)
    per_sec, base_sec = np.polyfit(units, times, 1)
    return base, per_byte, base_sec, per_sec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", action="append", help="default: all")
    args = parser.parse_args()
    print(f"{'experiment':16} {'base MB':>8} {'B/unit':>9} {'base s':>7} {'us/unit':>8}")
    for name in args.experiment or list(experiments.EXPERIMENTS):
        base, per_byte, base_sec, per_sec = measure(name)
        print(f"{name:16} {base / 2**20:8.1f} {per_byte:9.0f} {base_sec:7.3f} {per_sec * 1e6:8.3f}")


if __name__ == "__main__":
    main()
