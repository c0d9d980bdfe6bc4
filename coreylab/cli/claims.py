"""`coreylab claims`: each experiment's claims from the paper beside the model's figures."""

from __future__ import annotations

import argparse

from .. import experiments
from ..experiments import claims
from .common import parse_list


def add(sub) -> None:
    cmd = sub.add_parser("claims", help="the paper's claims beside the model's figures")
    cmd.add_argument("experiment", nargs="?", help="comma-separated experiments (default: all)")
    cmd.add_argument("--seed", type=int, default=0)
    cmd.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    names = parse_list(args.experiment, str, "experiment") or list(experiments.EXPERIMENTS)
    for name in names:
        experiments.get(name)  # a bad name fails before anything runs
    for name in names:
        print(f"## {name}\n")
        print(claims.markdown(claims.check(name, seed=args.seed)))
    return 0
