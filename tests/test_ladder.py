"""The latency ladder is measured on the simulated machine, not echoed from the parameters."""

import pytest

from coreylab.experiments import ExperimentError, hardware, run


def ladder(**changes):
    rows = run("latency-ladder", hw=hardware("amd16", **changes)).rows
    return {r["source"]: r["cycles"] for r in rows}


def test_amd16_ladder_shows_the_talks_3_and_121_cycles():
    assert ladder() == {
        "l1": 3,
        "l2": 14,
        "l3": 75,
        "same-chip-cache": 121,
        "other-chip-cache-1hop": 121 + 30,  # broadcast probes: only the data's way back
        "other-chip-cache-2hop": 121 + 2 * 30,  # differs from the same chip (params.py)
        "dram-local": 200,
        "dram-remote": 260,
    }


def test_changing_a_latency_changes_only_what_depends_on_it():
    """l3_latency=46 (the vendor's measurement) moves the L3 rung alone."""
    base, changed = ladder(), ladder(l3_latency=46)
    assert changed["l3"] == 46
    assert {k: v for k, v in changed.items() if k != "l3"} == {
        k: v for k, v in base.items() if k != "l3"
    }


def test_msi_has_no_owner_so_a_shared_line_comes_from_its_writer_only_when_modified():
    """The same-chip rung is a Modified line in both protocols: MSI supplies it from the cache."""
    assert ladder(protocol="MSI")["same-chip-cache"] == 121


def test_the_ladder_follows_the_topology():
    """A single chip has no remote rungs; eight chips on a ring have rungs out to four hops."""
    one_chip = run("latency-ladder", preset="tiny").rows
    assert [r["source"] for r in one_chip] == ["l1", "l2", "l3", "same-chip-cache", "dram-local"]
    eight = {r["source"]: r["cycles"] for r in run("latency-ladder", hw=hardware(chips=8)).rows}
    assert eight["other-chip-cache-4hop"] == 151 + 3 * 30


def test_a_slow_dram_controller_does_not_change_a_single_load():
    """Bandwidth shows only under load: one load on an idle controller waits for nothing."""
    assert ladder(dram_cycles_per_line=500)["dram-local"] == 200


def test_a_machine_whose_l2_sets_outrun_chip_0s_memory_is_refused_before_running():
    """Pushing a line out of a 4 MB 2-way L2 takes lines 2 MB apart: more than tiny's 1 MB of
    memory per chip. The ladder says so instead of touching memory that is not there."""
    with pytest.raises(
        ExperimentError,
        match=r"cannot push a line out of l2: 2 more lines "
        r"2097152 B apart need \d+ B of chip 0's memory, which has 1048576",
    ):
        run("latency-ladder", hw=hardware("tiny").replace(l2_size=2**22))
