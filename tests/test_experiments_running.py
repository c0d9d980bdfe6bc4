"""How an experiment's points run: what running them fast must not change. A point runs without
the cyclic garbage collector and leaves it as it found it."""

from __future__ import annotations

import dataclasses
import gc

import pytest

from coreylab import experiments


@pytest.mark.parametrize("enabled", [True, False])
def test_a_point_runs_without_the_cyclic_collector_and_restores_it(monkeypatch, enabled):
    seen = []
    ladder = experiments.EXPERIMENTS["latency-ladder"]

    def point(*args, **kwargs):
        seen.append(gc.isenabled())
        return ladder.point(*args, **kwargs)

    monkeypatch.setitem(experiments.EXPERIMENTS, ladder.name,
                        dataclasses.replace(ladder, point=point))  # fmt: skip
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        experiments.run("latency-ladder", preset="tiny")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
    assert seen == [False]
