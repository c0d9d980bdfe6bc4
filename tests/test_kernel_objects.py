"""Kernel structures laid out on named lines, padded or packed."""

import pytest

from coreylab.hardware import HardwareParams, Machine
from coreylab.kernel import Struct, per_core


def test_groups_start_on_their_own_lines_when_padded():
    m = Machine(HardwareParams.preset("tiny"))
    files = Struct(m, "files", {"count": ["count", "fdt"], "file_lock": [("lock", 2), "next_fd"]})
    assert files["fdt"] - files["count"] == 8
    assert files["lock"] % 64 == 0 and files["lock"] - files["count"] == 64
    assert files["next_fd"] == files["lock", 1] + 8
    assert files.lines["count"] == [m.line_of(files["count"])]
    assert m.memory.label_of(m.line_of(files["next_fd"])) == "files.file_lock"


def test_packed_groups_share_a_line():
    """Without padding, two per-core counters fall on one line: false sharing."""
    m = Machine(HardwareParams.preset("tiny"))
    packed = Struct(m, "stats", {"c0": ["n0"], "c1": ["n1"]}, pad=False)
    assert m.line_of(packed["n0"]) == m.line_of(packed["n1"])
    padded = Struct(m, "stats2", {"c0": ["n0"], "c1": ["n1"]}, pad=True)
    assert m.line_of(padded["n0"]) != m.line_of(padded["n1"])


def test_arrays_span_lines_and_check_bounds():
    m = Machine(HardwareParams.preset("tiny"))
    fdt = Struct(m, "fdt", {"fd": [("fd", 16)]})
    assert len(fdt.lines["fd"]) == 2
    with pytest.raises(IndexError, match="16 words"):
        fdt.addr("fd", 16)
    with pytest.raises(KeyError, match="no field 'nope'"):
        fdt.addr("nope")


def test_per_core_copies_live_on_their_cores_chips():
    m = Machine(HardwareParams.preset("amd16"))
    copies = per_core(m, "ids", ["next"])
    chips = [m.memory.home_chip(c["next"]) for c in copies]
    assert chips == [c // 4 for c in range(16)]
    assert len({m.line_of(c["next"]) for c in copies}) == 16


def test_describe_draws_the_layout_line_by_line():
    m = Machine(HardwareParams.preset("tiny"))
    s = Struct(m, "files", {"hot": [("lock", 2), "next_fd", ("fd", 9)]}, pad=False)
    assert s.describe().splitlines()[1:] == [
        "  line 0: lock[0..1], next_fd, fd[0..4]",
        "  line 1: fd[5..8]",
    ]
