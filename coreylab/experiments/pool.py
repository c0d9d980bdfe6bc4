"""Running a sweep's points: serially, through an Executor, or in worker processes that Ctrl-C
stops at once; with progress on stderr.

Ctrl-C: a terminal sends SIGINT to every process of the group. A worker of
`ProcessPoolExecutor` takes a KeyboardInterrupt raised in a point as that point's exception and
goes on with the next ones (CPython issue 125886), and the parent's `shutdown(wait=True)` waits
for all of them: the 40-167 s. If the interrupt lands while the worker is inside the call
queue's `get` (holding its `_rlock`, a semaphore shared between processes), the worker dies
holding that lock; the other worker then waits for it forever and so does the parent: the
`report --jobs 2` hang. So workers here ignore SIGINT and only the parent sees it; on any
exception the parent cancels the points not started and terminates the workers (their
processes, taken before `shutdown` forgets them), then re-raises: one line, exit 130, in well
under a second, no worker left behind.

Progress: on a terminal, a tqdm bar; elsewhere (CI logs, pipes) one line every PROGRESS_EVERY
seconds, as tqdm's `mininterval`, and a last one at the end (none for a short run).
"""

from __future__ import annotations

import gc
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

PROGRESS_EVERY = 5.0  # seconds between progress lines where there is no terminal


def map_points(fn: Callable, args: list, executor: Executor | None, jobs: int, progress: bool,
               label: str) -> list:  # fmt: skip
    """fn over args, in order: through `executor`, a process pool of `jobs`, or serially.
    Every point is submitted at once, in the order given (list the long ones first, and no
    worker idles at the end while another runs one); progress counts them in that order."""
    if executor is None and jobs > 1 and len(args) > 1:
        workers = ProcessPoolExecutor(max_workers=min(jobs, len(args)), initializer=_start_worker)
        try:
            with cyclic_gc_paused():  # the points come back pickled: 5x faster to unpickle so
                return map_points(fn, args, workers, 1, progress, label)
        except BaseException:
            stop(workers)
            raise
        finally:
            workers.shutdown(wait=True)  # after stop(): returns at once
    mapped = executor.map(fn, args) if executor is not None else map(fn, args)
    if progress:
        mapped = _progress(mapped, len(args), label)
    return list(mapped)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off, then as it was. A point allocates up to millions
    of objects that live until it ends (each line's entry and counters, the words stored), and
    the collector's passes over them cost a mapreduce point a sixth of its time (and a sweep
    five times as long to unpickle the points its workers send back); the point's machine is
    garbage with cycles only once it ends. Reference counting still frees everything else."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def announce(label: str, points: int, need: object) -> None:
    """Say what a run will take, before it starts, if that is long enough to wait for."""
    if getattr(need, "seconds", 0) >= PROGRESS_EVERY:
        print(f"{label}: {points} points, estimated {need}", file=sys.stderr, flush=True)


def _start_worker() -> None:
    """A worker ignores SIGINT (see above) and collects cyclic garbage between points (forked
    while the parent had the collector off)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.enable()


def stop(workers: ProcessPoolExecutor) -> None:
    """Cancel the points not started and end the worker processes now."""
    processes = list((getattr(workers, "_processes", None) or {}).values())  # before shutdown
    workers.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=2)


def _progress(items: Iterable, total: int, label: str) -> Iterator:
    if sys.stderr.isatty():
        from tqdm import tqdm

        yield from tqdm(items, total=total, desc=label, unit="point", leave=False)
        return
    yield from _lines(items, total, label)


def _lines(items: Iterable, total: int, label: str, every: float = PROGRESS_EVERY) -> Iterator:
    """Progress as plain lines, at most one per `every` seconds (a run shorter than that
    prints none), and a last one at the end if any was printed."""
    started = last = time.monotonic()
    printed = False
    for done, item in enumerate(items, 1):
        now = time.monotonic()
        if now - last >= every or (printed and done == total):
            print(f"{label}: {done}/{total} points, {now - started:.0f} s", file=sys.stderr,
                  flush=True)  # fmt: skip
            last, printed = now, True
        yield item
