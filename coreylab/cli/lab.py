"""`coreylab lab`: JupyterLab on the lessons, or (`--voila`) the lecturer's dashboards."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from .common import CliError


def add(sub) -> None:
    lab = sub.add_parser("lab", help="open JupyterLab on the notebooks")
    lab.add_argument(
        "--voila",
        nargs="?",
        const="",
        metavar="NOTEBOOK",
        help="lecturer mode: serve the lessons (or one) as Voila dashboards, code hidden",
    )
    lab.add_argument(
        "--present",
        nargs="?",
        const="",
        metavar="NOTEBOOK",
        help="presentation: as --voila, but no exercise answer is ever shown",
    )
    lab.set_defaults(func=command)


# What --present's Voila kernels run with: predictions and runs show; reveal() shows nothing.
PRESENT_ENV = {"COREYLAB_PRESENT": "1", "COREYLAB_GRADED": "1"}


def command(args: argparse.Namespace) -> int:
    if args.present is not None:  # Voila's kernels inherit this environment
        os.environ.update(PRESENT_ENV)
        args.voila = args.present
    notebooks = Path(__file__).resolve().parent.parent.parent / "notebooks"
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
