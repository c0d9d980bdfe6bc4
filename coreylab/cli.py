"""The command line: the stable interface for scripts, CI and graders.

    coreylab run EXPERIMENT [--variant V[,V...]] [--cores 1,2,4] [--seed N] [--preset P]
                 [--param NAME=VALUE ...] [--format table|json|csv] [--jobs N]
    coreylab list            # experiments, their variants, metrics and parameters
    coreylab report [-o report.html]   # every experiment on one standalone HTML page
    coreylab lab             # JupyterLab on the notebooks

Every mistake a user can make (an unknown experiment, variant, parameter or preset, a value out
of range, an impossible machine) ends in one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import sys
import textwrap
from pathlib import Path

from . import experiments
from .experiments import ExperimentError
from .hardware import PRESETS, HardwareParams, ParamError

EXIT_USAGE = 2


class CliError(Exception):
    """A user mistake: printed as one line, exit code 2."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (CliError, ExperimentError, ParamError) as e:
        print(f"coreylab: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("coreylab: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coreylab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run an experiment and print its rows")
    run.add_argument("experiment", help="experiment name (see `coreylab list`)")
    run.add_argument("--variant", help="comma-separated variants (default: all)")
    run.add_argument("--cores", help="comma-separated core counts (default: 1,2,4,8,16)")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument("--preset", default="amd16", help=f"machine: {', '.join(PRESETS)}")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an experiment parameter or any hardware parameter; repeatable",
    )
    run.add_argument("--format", choices=("table", "json", "csv"), default="table")
    run.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes")
    run.set_defaults(func=_cmd_run)

    lst = sub.add_parser("list", help="list experiments, variants, metrics and parameters")
    lst.set_defaults(func=_cmd_list)

    rep = sub.add_parser("report", help="every experiment as one standalone HTML page")
    rep.add_argument("-o", "--output", default="report.html", help="file to write")
    rep.add_argument("--experiment", help="comma-separated experiments (default: all)")
    rep.add_argument("--seed", type=int, default=0)
    rep.add_argument("--preset", default="amd16", help=f"machine: {', '.join(PRESETS)}")
    rep.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes")
    rep.set_defaults(func=_cmd_report)

    lab = sub.add_parser("lab", help="open JupyterLab on the notebooks")
    lab.add_argument(
        "--voila",
        nargs="?",
        const="",
        metavar="NOTEBOOK",
        help="lecturer mode: serve the lessons (or one) as Voila dashboards, code hidden",
    )
    lab.set_defaults(func=_cmd_lab)
    return parser


# -- run ---------------------------------------------------------------------------------------
def _cmd_run(args: argparse.Namespace) -> int:
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
    exp_values = {k: _int(k, v) for k, v in pairs.items() if k in exp_names}
    hw_pairs = {k: v for k, v in pairs.items() if k not in exp_names}
    hw = HardwareParams.preset(args.preset).with_overrides(hw_pairs) if hw_pairs else None
    if args.jobs < 1:
        raise CliError(f"--jobs must be at least 1, not {args.jobs}")
    result = experiments.run(
        exp.name,
        variants=_list(args.variant, str, "--variant"),
        cores=_list(args.cores, int, "--cores"),
        seed=args.seed,
        hw=hw,
        preset=args.preset,
        params=exp_values,
        jobs=args.jobs,
        progress=sys.stderr.isatty(),
    )
    print(_format(result, args.format), end="")
    return 0


def _pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--param takes NAME=VALUE, not {item!r}")
        pairs[name.strip()] = value.strip()
    return pairs


def _int(name: str, text: str) -> int:
    try:
        return int(text.replace("_", ""), 0)
    except ValueError:
        raise CliError(f"{name} must be a whole number, not {text!r}") from None


def _list(text: str | None, kind: type, flag: str) -> list | None:
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise CliError(f"{flag} needs at least one value")
    if kind is int:
        return [_int(flag, t) for t in items]
    return items


def _format(result: experiments.Result, fmt: str) -> str:
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


# -- list --------------------------------------------------------------------------------------
def _cmd_list(args: argparse.Namespace) -> int:
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


# -- report ------------------------------------------------------------------------------------
def _cmd_report(args: argparse.Namespace) -> int:
    from . import report

    if args.jobs < 1:
        raise CliError(f"--jobs must be at least 1, not {args.jobs}")
    names = _list(args.experiment, str, "--experiment")
    for name in names or []:
        experiments.get(name)  # a bad name fails before anything runs
    HardwareParams.preset(args.preset)
    folder = Path(args.output).resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise CliError(f"cannot write {args.output}: no writable folder {folder}")
    page = report.build(names, args.seed, args.preset, args.jobs, progress=sys.stderr.isatty())
    try:
        Path(args.output).write_text(page, encoding="utf-8")
    except OSError as e:
        raise CliError(f"cannot write {args.output}: {e.strerror}") from None
    print(f"wrote {args.output} ({len(page) // 1024} KB)")
    return 0


# -- lab ---------------------------------------------------------------------------------------
def _cmd_lab(args: argparse.Namespace) -> int:
    notebooks = Path(__file__).resolve().parent.parent / "notebooks"
    if not notebooks.is_dir():
        raise CliError(f"no notebooks folder at {notebooks}: run from a checkout of coreylab")
    tool = "voila" if args.voila is not None else "jupyter"
    program = shutil.which(
        tool, path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    )
    if program is None:
        extra = "pip install -e '.[voila]'" if tool == "voila" else "pip install jupyterlab"
        raise CliError(f"{tool} is not installed: {extra}")
    os.environ.setdefault("BOKEH_RESOURCES", "inline")
    if tool == "jupyter":
        argv = [program, "lab", str(notebooks)]
        if os.geteuid() == 0:  # in a container as root JupyterLab refuses to start without it
            argv.append("--allow-root")
    else:
        argv = [program, str(lesson_path(notebooks, args.voila) if args.voila else notebooks)]
    os.execv(program, argv)
    return 0  # not reached


def lesson_path(notebooks: Path, name: str) -> Path:
    """A lesson by file name, with or without .ipynb ("00_tour" or "00_tour.ipynb")."""
    for candidate in (notebooks / name, notebooks / f"{name}.ipynb"):
        if candidate.is_file() and candidate.suffix == ".ipynb":
            return candidate
    names = ", ".join(p.stem for p in sorted(notebooks.glob("*.ipynb")))
    raise CliError(f"no lesson {name!r}; lessons: {names}")


if __name__ == "__main__":
    sys.exit(main())
