"""Golden rows: the JSON rows of every experiment, stored so a refactor can prove it changes
nothing, byte for byte.

    python tools/golden.py            # compare today's rows with tests/golden/ (exit 1 on a diff)
    python tools/golden.py --write    # store them (only for a behaviour change made on purpose)

What is stored, per experiment: its rows at the default parameters and seed 0, and at seeds 1
and 2 (the default preset, default core counts and variants); plus, for a few small traced runs,
a SHA-256 digest of the trace records and of the counters, so a refactor that keeps the rows
but moves a transaction still shows. `tests/test_golden.py` runs the same comparison.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from coreylab.experiments import EXPERIMENTS, run

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden"
SEEDS = (0, 1, 2)
# Small traced runs whose records and counters are digested: (experiment, variant, cores).
TRACED = (
    ("fd-dup-close", "linux-threads", 4),
    ("shares", "corey-global-share", 4),
    ("mempass", "linux-procs", 4),
    ("memclone", "linux-threads", 2),
    ("tcp-connections", "corey-dedicated", 4),
    ("mapreduce", "corey", 16),
)


def rows(name: str) -> dict:
    """An experiment's rows at each seed, as the JSON the CLI prints."""
    return {str(seed): run(name, seed=seed).to_json() for seed in SEEDS}


def digest(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()


def traces() -> dict:
    out = {}
    for name, variant, cores in TRACED:
        result = run(name, variants=[variant], cores=[cores], trace=True)
        key = f"{name}/{variant}/{cores}"
        out[key] = {
            "records": digest(list(result.trace)),
            "counters": digest(result.counters[0]),
            "locks": digest(result.lock_stats[0]),
        }
    return out


def current() -> dict[str, dict]:
    """Every golden file's content, computed now: {file name: content}."""
    files = {f"{name}.json": rows(name) for name in EXPERIMENTS}
    files["traces.json"] = traces()
    return files


def dumps(content: dict) -> str:
    return json.dumps(content, indent=1, sort_keys=True) + "\n"


def compare() -> list[str]:
    """Names of the golden files that differ from (or are missing beside) today's output."""
    return [
        name
        for name, content in current().items()
        if not (GOLDEN / name).exists() or (GOLDEN / name).read_text() != dumps(content)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="store today's rows as golden")
    args = parser.parse_args(argv)
    if args.write:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for name, content in current().items():
            (GOLDEN / name).write_text(dumps(content))
        print(f"stored {GOLDEN}")
        return 0
    changed = compare()
    for name in changed:
        print(f"differs: tests/golden/{name}")
    print("golden rows: " + ("CHANGED" if changed else "identical"))
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
