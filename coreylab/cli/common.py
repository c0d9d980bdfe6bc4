"""What every command shares: the one-line user error and the parsing of list arguments."""

from __future__ import annotations

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
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise CliError(f"{flag} needs at least one value")
    if kind is int:
        return [parse_int(flag, t) for t in items]
    return items


def check_jobs(jobs: int) -> None:
    if jobs < 1:
        raise CliError(f"--jobs must be at least 1, not {jobs}")
