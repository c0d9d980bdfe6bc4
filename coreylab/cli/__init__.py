"""The command line: the stable interface for scripts, CI and graders.

    coreylab run EXPERIMENT [--variant V[,V...]] [--cores 1,2,4] [--seed N] [--preset P]
                 [--param NAME=VALUE ...] [--format table|json|csv] [--jobs N]
    coreylab list            # experiments, their variants, metrics and parameters
    coreylab report [-o report.html]   # every experiment on one standalone HTML page
    coreylab claims [EXPERIMENT]       # the paper's claims beside the model's figures
    coreylab lab             # JupyterLab on the notebooks

One module per command (`run`, `listing`, `report`, `lab`); each adds its own sub-parser with
`add(sub)` and does its work in `command(args)`. Every mistake a user can make (an unknown
experiment, variant, parameter or preset, a value out of range, an impossible machine) ends in
one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from ..experiments import ExperimentError
from ..hardware import ParamError
from . import claims, lab, listing, report, run
from .common import EXIT_USAGE, CliError
from .lab import lesson_path

__all__ = ["CliError", "lesson_path", "main"]

COMMANDS = (run, listing, report, claims, lab)


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
    for command in COMMANDS:
        command.add(sub)
    return parser
