"""Time to build the lab's pictures from a 16-core trace with about 2,000 line transfers.

The run: fd-dup-close, linux-threads, 16 cores, one timed dup+close per core and no warm-up
(about 2,000 cache-to-cache transfers, mostly of files[0].file_lock). If that experiment is not
available, a stand-in: 16 cores doing 125 atomic increments each on one lock word.

Measured (median of --repeat runs, wall-clock seconds):
  frames          the animation's frames as plain data (`viz.frames`)
  animation       `machine_animation`: frames plus every Bokeh model (floor: under 1 s)
  html            the standalone page with BokehJS inline (`bokeh.embed.file_html`)
  live update     `LiveMachineView.update` with another run, document patches included
                  (floor: under 1 s; the simulation's own time is printed apart)
  timeline, protocol, hot lines   the other views on the same trace

Run: python benchmarks/bench_viz.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from bokeh.embed import file_html
from bokeh.resources import INLINE

from coreylab.experiments import ExperimentError, run
from coreylab.hardware import HardwareParams, Machine
from coreylab.trace import Counters, Trace
from coreylab.viz import (
    LiveMachineView,
    core_timeline,
    frames,
    hot_lines,
    machine_animation,
    protocol_table,
)

FLOOR = 1.0  # seconds, for the animation build and a live update


def fd_run(variant: str, hw: HardwareParams) -> tuple[Trace, Counters, str]:
    result = run("fd-dup-close", variants=[variant], cores=[16], hw=hw, trace=True,
                 params={"ops": 1, "warmup": 0})  # fmt: skip
    return result.trace, result.counters[0], f"fd-dup-close {variant}, 16 cores, ops=1"


def lock_run(rounds: int, hw: HardwareParams) -> tuple[Trace, Counters, str]:
    m = Machine(hw)
    lock = m.memory.alloc(64, chip=0, label="files.file_lock")

    def program(core):
        for _ in range(rounds):
            yield from core.fetch_add(lock, 1)
            yield from core.compute(50)

    for c in range(16):
        m.spawn(c, program)
    m.run()
    return m.trace, m.counters(), f"16 cores x {rounds} atomics on one lock word"


def workload(hw: HardwareParams):
    try:
        return fd_run("linux-threads", hw)
    except (ExperimentError, ImportError, KeyError, TypeError):
        return lock_run(125, hw)


def timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    args = ap.parse_args()
    hw = HardwareParams.preset("amd16")
    t0 = time.perf_counter()
    trace, counters, what = workload(hw)
    simulated = time.perf_counter() - t0
    fr = frames(trace, hw)
    print(f"run: {what}: {len(trace):,} records, {counters.total('transfers'):,} transfers "
          f"({simulated:.2f} s to simulate)")  # fmt: skip
    print(f"animation: {len(fr['frames']):,} frames of {', '.join(fr['names'])}")
    layout = machine_animation(trace, hw)
    report = {
        "frames": timed(lambda: frames(trace, hw), args.repeat),
        "animation": timed(lambda: machine_animation(trace, hw), args.repeat),
        "html": timed(lambda: file_html(layout, INLINE, "coreylab"), args.repeat),
    }
    report["live update"], rerun = live_update(trace, hw, args.repeat)
    report["timeline"] = timed(lambda: core_timeline(trace, hw), args.repeat)
    report["protocol"] = timed(lambda: protocol_table(hw.protocol, trace), args.repeat)
    report["hot lines"] = timed(lambda: hot_lines(counters), args.repeat)
    for name, seconds in report.items():
        floor = f"  (floor {FLOOR:.0f} s)" if name in ("animation", "live update") else ""
        print(f"{name:>12}: {seconds * 1000:7.1f} ms{floor}")
    print(f"{'':>12}  a control change also reruns the simulation: {rerun:.2f} s")
    slow = [n for n in ("animation", "live update") if report[n] >= FLOOR]
    print("FLOOR MISSED: " + ", ".join(slow) if slow else "floors met")
    raise SystemExit(1 if slow else 0)


def live_update(trace: Trace, hw: HardwareParams, repeat: int) -> tuple[float, float]:
    """Seconds for `LiveMachineView.update` after a control change (the protocol, MOESI to
    MESI, and back), with the document patches serialized as BokehModel does; and seconds for
    the simulation that change reran."""
    mesi = hw.replace(protocol="MESI")
    t0 = time.perf_counter()
    other, _, _ = workload(mesi)
    rerun = time.perf_counter() - t0
    view = LiveMachineView(trace, hw)
    view.widget.send = lambda *args, **kwargs: None  # no browser: count the patch, not a socket
    runs = [(trace, hw), (other, mesi)] * repeat
    return timed(lambda: view.update(*runs.pop()), repeat), rerun


if __name__ == "__main__":
    main()
