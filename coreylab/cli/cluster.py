"""`--scheduler ADDRESS`: send a sweep's points to a running dask cluster instead of local
processes.

The points go through `client.get_executor()`, a `concurrent.futures.Executor`, so
`experiments.run` maps them exactly as it maps them over a local process pool: same order, same
rows, byte for byte, and the same progress bar. The workers must have the same coreylab
installed (`pip install 'coreylab[dask]'` in the workers' image). dask is an optional extra: a
missing one, or a scheduler that does not answer, is a one-line error.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager

from .common import CliError

CONNECT_TIMEOUT = "10s"


def add_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the points on a dask cluster (e.g. tcp://host:8786; needs coreylab[dask])",
    )


@contextmanager
def executor(address: str | None) -> Iterator[Executor | None]:
    """The cluster's executor while the block runs; None (local processes) without an address."""
    if address is None:
        yield None
        return
    try:
        from distributed import Client
    except ImportError:
        raise CliError("--scheduler needs dask.distributed: pip install 'coreylab[dask]'") from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as e:
        raise CliError(f"cannot reach the dask scheduler at {address}: {e}") from None
    with client:
        yield client.get_executor()
