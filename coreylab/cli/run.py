"""`coreylab run`: one experiment's rows as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import csv
import io
import json

from .. import experiments
from ..hardware import PRESETS, HardwareParams
from . import cluster
from .common import CliError, add_run_flags, add_seed_and_jobs, check_jobs, parse_int, parse_list


def add(sub) -> None:
    run = sub.add_parser("run", help="run an experiment and print its rows")
    run.add_argument("experiment", help="experiment name (see `coreylab list`)")
    run.add_argument("--variant", help="comma-separated variants (default: all)")
    run.add_argument("--cores", help="comma-separated core counts (default: 1,2,4,8,16)")
    add_seed_and_jobs(run)
    run.add_argument("--preset", default="amd16", help=f"machine: {', '.join(PRESETS)}")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an experiment parameter or any hardware parameter; repeatable",
    )
    run.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (default, for reading), json (with the parameters) or csv (the rows)",
    )
    add_run_flags(run)
    cluster.add_flag(run)
    run.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    exp = experiments.get(args.experiment)
    pairs = _pairs(args.param)
    exp_names = {p.name for p in exp.params}
    hw_names = set(HardwareParams.__dataclass_fields__)
    for name in pairs:
        if name not in exp_names and name not in hw_names:
            own = ", ".join(sorted(exp_names)) or "none"
            raise CliError(
                f"unknown parameter {name!r}: not a parameter of {exp.name} ({own}) "
                "nor a hardware parameter (see `coreylab list`)"
            )
    exp_values = {k: parse_int(k, v) for k, v in pairs.items() if k in exp_names}
    hw_pairs = {k: v for k, v in pairs.items() if k not in exp_names}
    hw = HardwareParams.preset(args.preset).with_overrides(hw_pairs) if hw_pairs else None
    if args.cores is not None and not exp.sweeps_cores:
        raise CliError(
            f"--cores does not apply to {exp.name}: it runs on the whole machine (a preset, "
            "or --param chips=N --param cores_per_chip=N)"
        )
    check_jobs(args.jobs)
    with cluster.executor(args.scheduler) as executor:
        result = experiments.run(
            exp.name,
            variants=parse_list(args.variant, str, "--variant"),
            cores=parse_list(args.cores, int, "--cores"),
            seed=args.seed,
            hw=hw,
            preset=args.preset,
            params=exp_values,
            executor=executor,
            jobs=args.jobs,
            progress=not args.quiet,
            max_memory=args.max_memory,
        )
    if not result.rows:  # else a blank table and exit 0, which reads as a crash
        raise CliError(
            f"{exp.name} gave no rows: at these core counts the chosen variants have nothing to "
            "measure (corey-dedicated needs more cores than kernel_cores)"
        )
    print(format_result(result, args.format), end="")
    return 0


def _pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--param takes NAME=VALUE, not {item!r}")
        if name.strip() in pairs:
            raise CliError(f"--param {name.strip()} is given twice")
        pairs[name.strip()] = value.strip()
    return pairs


def format_result(result: experiments.Result, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result.to_json(), indent=2) + "\n"
    if fmt == "csv":
        columns = list(dict.fromkeys(k for row in result.rows for k in row))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(result.rows)
        return out.getvalue()
    return result.table()
