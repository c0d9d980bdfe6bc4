"""The one way to run a program on the machine now, to its end: set-up, tests and lessons.

What it models: nothing of its own. `run_program(core, body)` starts `body` (a generator of
simulated work: loads, stores, system calls) on `core` at the machine's current time, runs the
machine until nothing is left to run, and returns the body's value, or raises the `KernelError`
it raised (after the run, so the machine is left as the failed call left it: unchanged, as
every system call promises). Timed runs of many cores at once are `loops.measure` and the
experiments' own programs.

    fd = run_call(task, kernel.open, "/tmp/a")               # a system call
    value = run_program(machine.cores[1], machine.cores[1].load(x))
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from ..hardware.core import Core, Op
from ..kernel import KernelError, Task


def run_program(core: Core, body: Op) -> Any:
    """Run `body` on `core` now, to its end (nothing else may be running on that core);
    return its value, or raise its `KernelError`."""
    out: dict[str, Any] = {}

    def program(core: Core) -> Op:
        try:
            out["value"] = yield from body
        except KernelError as e:
            out["error"] = e

    core.machine.spawn(core.id, program)
    core.machine.run()
    if "error" in out:
        raise out["error"]
    return out.get("value")


def run_call(task: Task, syscall: Callable[..., Generator], *args: Any, **kwargs: Any) -> Any:
    """Run one system call of `task` on its core now, to its end (`run_program`)."""
    return run_program(task.core, syscall(task, *args, **kwargs))
