"""How much memory a student's kernel holds after a lesson: the figure a hub is sized by.

    python tools/kernel_memory.py [notebooks/NN_name.ipynb ...]   (default: every lesson)

Runs each lesson top to bottom in a fresh kernel (as a student does with Run All), then reads
the kernel process's resident set (VmRSS) and its peak (VmHWM) from /proc (Linux only), and
prints one line per lesson and the largest of each. docs/deploy.md turns the largest into
students per node.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def kernel_memory(path: Path) -> tuple[float, float, float]:
    """(seconds, RSS MB, peak RSS MB) of a fresh kernel after running `path`."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3")
    started = time.perf_counter()
    with client.setup_kernel(cwd=str(path.parent)):
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        took = time.perf_counter() - started
        status = _status(client.km.provisioner.process.pid)
    return took, status["VmRSS"] / 1024, status["VmHWM"] / 1024


def _status(pid: int) -> dict[str, int]:
    """The kB figures of /proc/PID/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            fields[name] = int(value.split()[0])
    return fields


def main(paths: list[str]) -> int:
    os.environ.pop("BOKEH_RESOURCES", None)  # as a hub's kernel: the lab makes BokehJS inline
    lessons = [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    rss, peak = [], []
    for lesson in lessons:
        took, now, high = kernel_memory(lesson)
        rss.append(now)
        peak.append(high)
        print(f"{lesson.name:32} {took:6.1f} s  RSS {now:6.0f} MB  peak {high:6.0f} MB", flush=True)
    print(f"{'largest':32} {'':8}  RSS {max(rss):6.0f} MB  peak {max(peak):6.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
