"""The simulator in the browser's Python: Pyodide under Node.js must print the same JSON rows as
CPython, byte for byte, for the same commands and seeds.

    python tools/pyodide_check.py WHEEL_DIR     (make pyodide-check builds the wheels first)

For each command line in lite/commands.jsonl (small sweeps of fd-dup-close and mempass) it runs
`coreylab` here, on CPython, and saves the output; then lite/pyodide_check.mjs runs the same
commands under Pyodide (the `pyodide` npm package pinned in lite/package-lock.json, with the
wheels in WHEEL_DIR unpacked into its file system: nothing comes from a CDN) and compares.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LITE = ROOT / "lite"
EXPECTED = ROOT / "build" / "pyodide-expected"


def main(wheels: str) -> int:
    EXPECTED.mkdir(parents=True, exist_ok=True)
    commands = (LITE / "commands.jsonl").read_text().splitlines()
    for i, line in enumerate(c for c in commands if c.strip()):
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "coreylab.cli", *json.loads(line)],
            capture_output=True,
            check=True,
        ).stdout
        (EXPECTED / f"{i}.json").write_bytes(out)
        took = time.perf_counter() - started
        print(
            f"CPython {sys.version.split()[0]}: {took:.1f} s: coreylab {' '.join(json.loads(line))}"
        )
    node = [
        "node",
        "pyodide_check.mjs",
        str(Path(wheels).resolve()),
        str(EXPECTED),
        "commands.jsonl",
    ]
    return subprocess.run(node, cwd=LITE).returncode


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.splitlines()[2].strip())
    sys.exit(main(sys.argv[1]))
