"""HardwareParams: presets, derived values, and impossible machines rejected with one line."""

import pytest

from coreylab.hardware import HardwareParams, ParamError


def test_amd16_is_the_papers_machine():
    """Four chips of four cores at 2 GHz, with the talk's 3 and 121 cycles."""
    p = HardwareParams.preset("amd16")
    assert (p.chips, p.cores_per_chip, p.cores, p.clock_mhz) == (4, 4, 16, 2000)
    assert (p.l1_latency, p.same_chip_cache_latency) == (3, 121)
    assert (p.l1_size, p.l2_size, p.l3_size) == (64 * 1024, 512 * 1024, 2 * 1024 * 1024)


def test_chips_sit_on_a_square():
    """On four chips, neighbours are one hop apart and opposite corners two."""
    p = HardwareParams.preset("amd16")
    assert [p.hops(0, c) for c in range(4)] == [0, 1, 2, 1]
    assert p.chip_of(5) == 1 and p.max_hops == 2
    # 121 on the chip; another chip's data adds its way back, 30 cycles a hop (params.py)
    assert p.remote_cache_cycles(1) == 151 and p.remote_cache_cycles(2) == 181
    assert p.dram_cycles(0) == 200 and p.dram_cycles(1) == 260


def test_tiny_and_duo_are_small():
    assert HardwareParams.preset("tiny").cores == 2
    assert HardwareParams.preset("duo").chips == 2


def test_replace_and_overrides_convert_text():
    p = HardwareParams.preset("amd16").with_overrides({"l3_latency": "46", "protocol": "MESI"})
    assert p.l3_latency == 46 and p.protocol == "MESI"
    assert HardwareParams.preset("amd16").replace(chips=8, cores_per_chip=8).cores == 64


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"chips": 0}, "chips must be positive"),
        ({"cores_per_chip": -1}, "cores_per_chip must be positive"),
        ({"line_size": 48}, "line_size must be a power of two"),
        ({"l1_size": 32}, "smaller than one line"),
        ({"l1_size": 2**20}, r"l1_size \(1048576 B\) must not exceed l2_size \(524288 B\)"),
        ({"l2_size": 3 * 64, "l2_assoc": 2}, "whole sets"),
        ({"protocol": "MOSI"}, "protocol must be one of MSI, MESI, MOESI"),
        ({"l1_latency": 2.5}, "whole number"),
        ({"chips": 64, "cores_per_chip": 64}, "at most"),
    ],
)
def test_impossible_machines_are_refused(changes, message):
    with pytest.raises(ParamError, match=message):
        HardwareParams.preset("amd16").replace(**changes)


def test_unknown_names_are_refused_with_the_known_ones():
    with pytest.raises(ParamError, match="unknown hardware parameter 'l4_size'.*l3_size"):
        HardwareParams.preset("amd16").replace(l4_size=1)
    with pytest.raises(ParamError, match="unknown preset 'big'; known: amd16"):
        HardwareParams.preset("big")
    with pytest.raises(ParamError, match="l1_latency must be a whole number, not 'fast'"):
        HardwareParams.preset("amd16").with_overrides({"l1_latency": "fast"})


def test_error_messages_are_one_line():
    with pytest.raises(ParamError) as err:
        HardwareParams.preset("amd16").replace(l4_size=1)
    assert "\n" not in str(err.value)
