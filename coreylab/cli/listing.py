"""`coreylab list`: experiments, their variants, metrics and parameters; hardware parameters."""

from __future__ import annotations

import argparse
import textwrap

from .. import experiments
from ..hardware import PRESETS, HardwareParams


def add(sub) -> None:
    lst = sub.add_parser("list", help="list experiments, variants, metrics and parameters")
    lst.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    for exp in experiments.EXPERIMENTS.values():
        print(f"{exp.name}: {exp.summary}")
        print(f"  variants: {', '.join(exp.variants)}")
        print(f"  metrics:  {', '.join(exp.metrics)}")
        for p in exp.params:
            print(f"  --param {p.name}={p.default}  ({p.low}..{p.high}) {p.help}")
        print()
    print("Hardware parameters (any of them with --param NAME=VALUE):")
    names = ", ".join(HardwareParams.__dataclass_fields__)
    print(textwrap.fill(names, width=96, initial_indent="  ", subsequent_indent="  "))
    print(f"Presets: {', '.join(PRESETS)}")
    return 0
