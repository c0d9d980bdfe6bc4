"""`coreylab claims`: each experiment's claims from the paper beside the model's figures.

The experiments run as `coreylab report` runs them (`experiments.run_many`: their points in one
pool of `--jobs` processes, the longest first, checked against `--max-memory` before the first
starts), so the figures are the report's and take its time, not the sum of every run's."""

from __future__ import annotations

import argparse

from .. import experiments
from ..experiments import claims
from .common import add_run_flags, add_seed_and_jobs, check_jobs, parse_list


def add(sub) -> None:
    cmd = sub.add_parser("claims", help="the paper's claims beside the model's figures")
    cmd.add_argument("experiment", nargs="?", help="comma-separated experiments (default: all)")
    add_seed_and_jobs(cmd)
    add_run_flags(cmd)
    cmd.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    check_jobs(args.jobs)
    names = parse_list(args.experiment, str, "experiment") or list(experiments.EXPERIMENTS)
    for name in names:
        experiments.get(name)  # a bad name fails before anything runs
    results = experiments.run_many(names, seed=args.seed, jobs=args.jobs,
                                   progress=not args.quiet, max_memory=args.max_memory,
                                   label="claims", counters=False)  # fmt: skip
    for name, result in zip(names, results, strict=True):
        print(f"## {name}\n")
        print(claims.markdown(claims.check(name, result)))
    return 0
