"""Memory of a live panel after 50 slider moves against 5: does a lecture leak?

In this process (no browser), a `live_panel` on fd-dup-close (duo machine) has its cores
slider moved back and forth (a cycle of five settings, so moves 5 and 50 end on the same one)
and its Run callback driven after each move, as a lecturer's clicks would; the view's
BokehModel sends its patches to a stub. After 5 moves and after 50 the Python heap
(tracemalloc, after a garbage collection) and the resident memory (VmRSS) are read.
The goal (issue 13 §5): no growth beyond 10% from 5 to 50.

Run: python benchmarks/load_sliders.py [--experiment NAME] [--preset P]
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc

from coreylab.hardware import HardwareParams
from coreylab.viz import live_panel

GOAL = 0.10  # growth allowed from 5 to 50 moves


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="fd-dup-close")
    parser.add_argument("--preset", default="duo")
    args = parser.parse_args()
    panel = live_panel(args.experiment, HardwareParams.preset(args.preset))
    (box, button), view = panel.children[0].children, panel.children[1]
    view.send = lambda *a, **k: None  # no front end: patches go nowhere
    cores = next(c for c in box.children if getattr(c, "description", "") == "cores")
    tracemalloc.start()
    measured = {}
    values = [cores.max, cores.min, cores.max // 2 or 1, cores.min, cores.max]  # a 5-move cycle
    for move in range(1, 51):
        cores.value = values[move % 5]  # moves 5 and 50 end on the same setting
        button.click()
        if move in (5, 50):
            gc.collect()
            measured[move] = (tracemalloc.get_traced_memory()[0] / 2**20, rss_mb())
    (heap5, rss5), (heap50, rss50) = measured[5], measured[50]
    print(f"{'moves':>5} {'heap MB':>8} {'RSS MB':>7}")
    for move, (heap, rss) in measured.items():
        print(f"{move:5} {heap:8.1f} {rss:7.1f}")
    heap_growth, rss_growth = heap50 / heap5 - 1, rss50 / rss5 - 1
    verdict = "within" if max(heap_growth, rss_growth) <= GOAL else "OVER"
    print(f"growth 5 -> 50 moves: heap {heap_growth:+.1%}, RSS {rss_growth:+.1%}: {verdict} "
          f"the {GOAL:.0%} goal")  # fmt: skip


if __name__ == "__main__":
    main()
