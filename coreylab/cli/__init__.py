"""The command line: the stable interface for scripts, CI and graders.

    coreylab run EXPERIMENT [--variant V[,V...]] [--cores 1,2,4] [--seed N] [--preset P]
                 [--param NAME=VALUE ...] [--format table|json|csv] [--jobs N]
    coreylab list            # experiments, their variants, metrics and parameters
    coreylab --version
    coreylab report [-o report.html]   # every experiment on one standalone HTML page
    coreylab claims [EXPERIMENT]       # the paper's claims beside the model's figures
    coreylab lab             # JupyterLab on the notebooks
    coreylab lessons DIR     # copy the lessons into DIR (edited ones are kept)
    coreylab answers --roster FILE     # the answer key; `coreylab grade FILE...` re-checks

One module per command (`run`, `listing`, `report`, `lab`); each adds its own sub-parser with
`add(sub)` and does its work in `command(args)`. Every mistake a user can make (an unknown
experiment, variant, parameter or preset, a value out of range, an impossible machine) ends in
one line on stderr and exit code 2, never a traceback. Ctrl-C stops a run within a second or
two (its worker processes are ended): one line, exit code 130; a second Ctrl-C meanwhile is
ignored. Output into a closed pipe (`coreylab list | head -1`) ends quietly with 141 (as a
shell reports SIGPIPE). An error that is none of these is a bug of the lab: one line saying so
and exit code 1 (COREYLAB_DEBUG=1 shows its traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import signal
import sys
from typing import NoReturn

from ..experiments import ExperimentError
from ..hardware import ParamError
from ..kernel import KernelError
from . import claims, grading, lab, lessons, listing, report, run
from .common import EXIT_USAGE, CliError
from .lab import lesson_path

__all__ = ["CliError", "lesson_path", "main"]

COMMANDS = (run, listing, report, claims, lab, grading, lessons)


EXIT_BUG, EXIT_INTERRUPTED, EXIT_PIPE = 1, 130, 141


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    if not (sys.argv[1:] if argv is None else argv):  # a newcomer's first try: the commands
        parser.print_help()
        return EXIT_USAGE
    try:
        args = parser.parse_args(argv)
        return args.func(args)
    except (CliError, ExperimentError, ParamError, KernelError) as e:
        print(f"coreylab: error: {_one_line(e)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: no traceback
        print("coreylab: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader left (`| head`): send the rest of stdout nowhere, so that flushing it at
        # exit raises nothing (the recipe of the `signal` module's documentation).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE
    except Exception as e:
        if os.environ.get("COREYLAB_DEBUG"):
            raise
        print(f"coreylab: internal error (a bug; please report it with the command): "
              f"{type(e).__name__}: {_one_line(e)}", file=sys.stderr)  # fmt: skip
        return EXIT_BUG


def entry() -> None:
    """The `coreylab` command: exit with main's code. After Ctrl-C it leaves at once
    (`os._exit`, once its output is flushed and the workers are ended): a normal exit first
    joins the process pool's manager thread (CPython's ProcessPoolExecutor, at interpreter
    exit), which can wait forever on a worker that was ended while it sent a point back."""
    code = main()
    if code == EXIT_INTERRUPTED:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to say
                stream.flush()
        os._exit(code)
    sys.exit(code)


def _one_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


class _Parser(argparse.ArgumentParser):
    """argparse's own mistakes (a missing argument, a choice not offered, a value of the wrong
    type) as one line like coreylab's, pointing at the usage instead of printing it; the
    sub-parsers are of this class too (argparse makes them of their parent's class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"coreylab: error: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="coreylab",
        description="The Corey paper's experiments (OSDI 2008) on a simulated 16-core machine: "
        "run them, compare them with the paper, open the lessons, grade the exercises.",
        epilog="Start with `coreylab lab` (the lessons) or `coreylab run latency-ladder`; "
        "`coreylab COMMAND --help` for each command.",
    )
    parser.add_argument("--version", action="version", version=f"coreylab {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add(sub)
    return parser


def _version() -> str:
    """The installed distribution's version (a checkout run without installing has none)."""
    try:
        return importlib.metadata.version("coreylab")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"
