"""shares, end to end: one global share stops scaling and its L3 misses per operation grow
with the cores; per-core shares scale with no misses at all."""

from __future__ import annotations

import pytest

from coreylab.experiments import EXPERIMENTS, run

CORES = [1, 2, 4, 8, 16]


@pytest.fixture(scope="module")
def figure():
    result = run("shares", cores=CORES)
    return {
        v: {r["cores"]: r for r in result.rows if r["variant"] == v}
        for v in EXPERIMENTS["shares"].variants
    }


def test_rows_have_the_stable_names(figure):
    exp = EXPERIMENTS["shares"]
    assert exp.variants == ("corey-global-share", "corey-percore-shares")
    assert exp.metrics == ("ops_per_sec", "l3_misses_per_op", "coherence_misses_per_op")
    assert set(figure["corey-global-share"][4]) == {"variant", "cores", *exp.metrics}


def test_a_global_share_stops_scaling_and_misses_more_with_more_cores(figure):
    rows = figure["corey-global-share"]
    assert rows[1]["l3_misses_per_op"] == 0
    misses = [rows[c]["l3_misses_per_op"] for c in CORES]
    assert misses == sorted(misses) and misses[-1] > misses[1] > 1
    assert max(rows[c]["ops_per_sec"] for c in CORES[1:]) < 2 * rows[1]["ops_per_sec"]


def test_per_core_shares_scale_with_no_misses(figure):
    rows = figure["corey-percore-shares"]
    for cores in CORES:
        assert rows[cores]["l3_misses_per_op"] == 0
        assert rows[cores]["ops_per_sec"] >= 0.8 * cores * rows[1]["ops_per_sec"]


def test_at_one_core_the_variants_are_the_same(figure):
    assert figure["corey-global-share"][1] | {"variant": ""} == figure["corey-percore-shares"][
        1
    ] | {"variant": ""}


def test_same_seed_same_rows():
    a = run("shares", variants=["corey-global-share"], cores=[4], seed=3).rows
    assert a == run("shares", variants=["corey-global-share"], cores=[4], seed=3).rows
