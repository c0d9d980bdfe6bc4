"""A kernel's memory after running every lesson in it, as one student's session would.

One IPython kernel (jupyter_client) runs the code cells of the eight lessons, in order, in the
lesson folder; after each lesson the kernel reports its resident memory (VmRSS) and its peak
(VmHWM) from /proc/self/status. The goal (issue 13 §5) is under 500 MB, so that one 64 GB hub
node serves a class of about 100 students at once.

What it leaves out: the browser's side (BokehJS, widget views) and the Jupyter server itself.

Run: python benchmarks/load_lessons.py [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
GOAL_MB = 500
READ_RSS = (
    "import json\n"
    "_s = dict(l.split(':', 1) for l in open('/proc/self/status') if ':' in l)\n"
    "print(json.dumps({k: int(_s[k].split()[0]) // 1024 for k in ('VmRSS', 'VmHWM')}))"
)


def run_cell(client, code: str, timeout: float) -> str:
    """Run `code` in the kernel; its stdout (an error in the cell raises RuntimeError)."""
    out: list[str] = []
    errors: list[str] = []

    def collect(msg: dict) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream" and content.get("name") == "stdout":
            out.append(content["text"])
        elif kind == "error":
            errors.append(f"{content['ename']}: {content['evalue']}")

    reply = client.execute_interactive(code, timeout=timeout, output_hook=collect)
    if reply["content"]["status"] != "ok" or errors:
        raise RuntimeError("; ".join(errors) or reply["content"].get("evalue", "cell failed"))
    return "".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=900, help="seconds per cell")
    args = parser.parse_args()
    km, client = start_new_kernel(kernel_name="python3", cwd=str(NOTEBOOKS))
    try:
        start = json.loads(run_cell(client, READ_RSS, args.timeout))
        print(f"{'lesson':28} {'RSS MB':>7} {'peak MB':>8} {'seconds':>8}")
        print(f"{'(kernel started)':28} {start['VmRSS']:7} {start['VmHWM']:8}")
        for path in sorted(NOTEBOOKS.glob("*.ipynb")):
            began = time.perf_counter()
            for cell in nbformat.read(path, as_version=4).cells:
                if cell.cell_type == "code" and cell.source.strip():
                    run_cell(client, cell.source, args.timeout)
            took = time.perf_counter() - began
            mem = json.loads(run_cell(client, READ_RSS, args.timeout))
            print(f"{path.stem:28} {mem['VmRSS']:7} {mem['VmHWM']:8} {took:8.0f}", flush=True)
        verdict = "under" if mem["VmHWM"] < GOAL_MB else "OVER"
        print(f"after all lessons: {mem['VmRSS']} MB resident, {mem['VmHWM']} MB peak: "
              f"{verdict} the {GOAL_MB} MB goal")  # fmt: skip
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
