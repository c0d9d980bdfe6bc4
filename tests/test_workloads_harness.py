"""The one harness that runs a program to its end (`workloads.run_program`, `run_call`)."""

from __future__ import annotations

import pytest

from coreylab.hardware import HardwareParams, Machine
from coreylab.kernel import Errno, KernelError, LinuxKernel
from coreylab.workloads import run_call, run_program


def small() -> Machine:
    return Machine(HardwareParams.preset("amd16").replace(chips=1, cores_per_chip=2))


def test_a_program_runs_to_its_end_and_gives_its_value():
    """Core 0 stores 7; then core 1's load, run on its own, sees it: each call ran to its end
    before the next began. amd16 runs MOESI: the writer keeps its dirty copy as Owner and
    supplies the reader, which holds it Shared."""
    m = small()
    x = m.memory.alloc(m.params.line_size, chip=0, label="x")
    assert run_program(m.cores[0], m.cores[0].store(x, 7)) is None
    assert run_program(m.cores[1], m.cores[1].load(x)) == 7
    assert m.states(m.line_of(x)) == {0: "O", 1: "S"}


def test_a_failed_call_raises_after_the_run_and_frees_the_core():
    """close of an fd that is not open is EBADF; the core can run the next call at once."""
    m = small()
    k = LinuxKernel(m)
    p = k.create_process(0)
    with pytest.raises(KernelError) as e:
        run_call(p, k.close, 5)
    assert e.value.errno == Errno.EBADF
    assert run_call(p, k.open, "/tmp/a") == 0  # the lowest free fd
