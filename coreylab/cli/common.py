"""What every command shares: the one-line user error, the parsing of list arguments, the
flags of a run (--quiet, --max-memory), and writing a file atomically."""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from pathlib import Path

from ..experiments.estimate import ENV, parse_bytes

EXIT_USAGE = 2


class CliError(Exception):
    """A user mistake: printed as one line, exit code 2."""


def parse_int(name: str, text: str) -> int:
    try:
        return int(text.replace("_", ""), 0)
    except ValueError:
        raise CliError(f"{name} must be a whole number, not {text!r}") from None


def parse_list(text: str | None, kind: type, flag: str) -> list | None:
    """A comma-separated flag value as a list of `kind` (None when the flag was not given)."""
    if text is None:
        return None
    items = [t.strip() for t in text.split(",")]
    if items == [""]:
        raise CliError(f"{flag} needs at least one value")
    if "" in items:  # "1,,2" or "1,": a value left out, as likely as a typo as a shorthand
        raise CliError(f"{flag} has an empty item: {text!r}")
    if kind is int:
        return [parse_int(flag, t) for t in items]
    return items


def add_seed_and_jobs(parser: argparse.ArgumentParser) -> None:
    """--seed and --jobs, for the commands that run experiments."""
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed of every run (default 0): same seed, same rows",
    )
    cpus = os.cpu_count() or 1
    parser.add_argument(
        "--jobs",
        type=int,
        default=cpus,
        help=f"worker processes running the points in parallel (default: the CPUs, {cpus})",
    )


def check_jobs(jobs: int) -> None:
    if jobs < 1:
        raise CliError(f"--jobs must be at least 1, not {jobs}")


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """--quiet and --max-memory, for the commands that run experiments."""
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument(
        "--max-memory",
        type=_size,
        metavar="SIZE",
        help=f"refuse runs estimated to need more (e.g. 8G; default: ${ENV}, else half the "
        "free memory)",
    )


def _size(text: str) -> int:
    try:
        return parse_bytes(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("--max-memory ")) from None


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write `text` to a temporary file beside `path` and rename it into place, so a failed
    write never leaves a truncated file where the old one was. A device or a pipe (not a
    regular file) is written through. An OSError is a CliError naming the file."""
    target = Path(path)
    try:
        if target.exists() and not target.is_file():
            target.write_text(text, encoding="utf-8")
            return
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is for sharing
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as e:
        raise CliError(f"cannot write {path}: {e.strerror or e}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
