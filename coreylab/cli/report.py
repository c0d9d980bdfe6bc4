"""`coreylab report`: every experiment (or some) as one standalone HTML page."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from .. import experiments
from ..hardware import PRESETS, HardwareParams
from . import cluster
from .common import CliError, add_run_flags, add_seed_and_jobs, check_jobs, parse_list, write_atomic


def add(sub) -> None:
    rep = sub.add_parser("report", help="every experiment as one standalone HTML page")
    rep.add_argument("-o", "--output", default="report.html", help="file to write")
    rep.add_argument("--experiment", help="comma-separated experiments (default: all)")
    add_seed_and_jobs(rep)
    rep.add_argument("--preset", default="amd16", help=f"machine: {', '.join(PRESETS)}")
    add_run_flags(rep)
    cluster.add_flag(rep)
    rep.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from .. import report

    check_jobs(args.jobs)
    names = parse_list(args.experiment, str, "--experiment")
    for name in names or []:
        experiments.get(name)  # a bad name fails before anything runs
    HardwareParams.preset(args.preset)
    folder = Path(args.output).resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise CliError(f"cannot write {args.output}: no writable folder {folder}")
    started = time.perf_counter()
    with cluster.executor(args.scheduler) as executor:
        page = report.build(names, args.seed, args.preset, args.jobs, progress=not args.quiet,
                            max_memory=args.max_memory, executor=executor)  # fmt: skip
    write_atomic(args.output, page)
    took = time.perf_counter() - started
    print(f"wrote {args.output} ({len(page) // 1024} KB) in {took:.0f} s")
    return 0
