"""Store lesson notebooks in reviewable form: run each top to bottom in a fresh kernel, keep
the outputs of cells marked `# NBVAL_CHECK_OUTPUT` (the seeded summaries nbval compares) and
clear every other output and execution count.

    python tools/nbstore.py notebooks/00_tour.ipynb [...]

Run it after a change to the simulation changes what a lesson prints, and review the diff:
it is the change a student will see.
"""

from __future__ import annotations

import os
import sys
import time

import nbformat
from nbclient import NotebookClient

MARK = "# NBVAL_CHECK_OUTPUT"


def store(path: str) -> float:
    nb = nbformat.read(path, as_version=4)
    os.environ.setdefault("BOKEH_RESOURCES", "inline")
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": os.path.dirname(path)}},
    ).execute()
    took = time.perf_counter() - start
    checked = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # run timestamps: noise in every diff
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            raise SystemExit(f"{path}: a cell raised {errors[0]['ename']}: {errors[0]['evalue']}")
        if MARK in cell.source:
            # nbval wants a count on every cell whose outputs it compares; keep them stable.
            checked += 1
            cell.execution_count = checked
            cell.outputs = merged_streams(cell.outputs)
            for out in cell.outputs:
                if out.get("output_type") == "execute_result":
                    out["execution_count"] = checked
        else:
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return took


def merged_streams(outputs: list) -> list:
    """Consecutive prints to one stream as one output: how the kernel split them depends on
    when it flushed (how long the cell ran), which would make every re-store a diff."""
    merged: list = []
    for out in outputs:
        last = merged[-1] if merged else None
        if (
            last is not None
            and out.get("output_type") == "stream"
            and last.get("output_type") == "stream"
            and last.get("name") == out.get("name")
        ):
            last["text"] += out["text"]
        else:
            merged.append(out)
    return merged


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(f"{p}: ran in {store(p):.1f} s")
