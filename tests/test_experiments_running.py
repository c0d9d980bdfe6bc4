"""How an experiment's points run: what running them fast must not change. A point runs without
the cyclic garbage collector and leaves it as it found it; counters cross from a worker process
(pickled) unchanged; a machine's last counters are handed over, the same as a copy; several
experiments swept at once (the report) give each one's own run, whatever order the points ran in."""

from __future__ import annotations

import dataclasses
import gc
import pickle

import pytest

from coreylab import experiments
from coreylab.hardware import HardwareParams, Machine
from coreylab.trace import CoreStats, Counters, LineStats


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


def test_counters_pickle_as_they_are():
    """Two lines' counters by hand, the way a point's come back from a worker process."""
    counters = Counters(
        [CoreStats(0, l1_hits=3, misses={"dram-local": 1})],
        {7: LineStats("x", transfers=2, hitm=1, cores={0, 1}), 9: LineStats("y", fills=1)},
        [1, 0],
        [0, 2],
    )
    back = pickle.loads(pickle.dumps(counters))
    assert back == counters and list(back.lines) == [7, 9]
    assert back.lines[7].cores == {0, 1} and isinstance(back.lines[9], LineStats)


def two_cores_share_a_line() -> Machine:
    """Core 0 writes x, then core 1 writes it: a transfer, an invalidation."""
    m = Machine(HardwareParams.preset("tiny"))
    x = m.memory.alloc(64, label="x")

    def writer(core, delay):
        yield from core.compute(delay)
        yield from core.store(x, core.id)

    m.spawn(0, writer, 0)
    m.spawn(1, writer, 1000)
    m.run()
    return m


def test_a_machines_last_counters_are_its_own_and_equal_a_copy():
    m = two_cores_share_a_line()
    copy, final = m.counters(), m.counters(final=True)
    assert final == copy and final.lines is m.lines and copy.lines is not m.lines
    (x,) = copy.lines.values()
    assert (x.transfers, x.invalidations, x.cores) == (1, 1, {0, 1})


SMALL = ["fd-dup-close", "latency-ladder", "shares"]


def test_a_sweep_gives_each_experiments_own_run_in_order():
    results = experiments.run_many(SMALL, preset="duo", seed=3)
    assert [r.experiment for r in results] == SMALL
    for result in results:
        alone = experiments.run(result.experiment, preset="duo", seed=3)
        assert result.to_json() == alone.to_json()
        assert result.counters == alone.counters and result.lock_stats == alone.lock_stats


def test_a_sweep_on_two_processes_gives_the_serial_results():
    """The points come back pickled from the workers: rows, counters and locks unchanged."""
    serial = experiments.run_many(SMALL, preset="duo")
    parallel = experiments.run_many(SMALL, preset="duo", jobs=2)
    for a, b in zip(serial, parallel, strict=True):
        assert (a.to_json(), a.counters, a.lock_stats) == (b.to_json(), b.counters, b.lock_stats)


def test_a_sweep_without_counters_gives_the_same_rows_and_no_counters():
    """What the report asks for: each point's counters left in its worker, rows and locks as
    with them, serially and on two processes."""
    full = experiments.run_many(SMALL, preset="duo")
    for jobs in (1, 2):
        bare = experiments.run_many(SMALL, preset="duo", jobs=jobs, counters=False)
        for a, b in zip(full, bare, strict=True):
            assert (a.to_json(), a.lock_stats) == (b.to_json(), b.lock_stats)
            assert b.counters == [None] * len(a.counters)
    assert all(c is not None for c in full[0].counters + full[2].counters)  # fd, shares


def test_a_sweep_submits_its_longest_points_first(monkeypatch):
    """Ordered by the estimate: mapreduce's biggest point first, fd-dup-close's 1-core points
    (8 dup+close pairs, about 0.02 s each) last, after the latency ladder's (about 0.04 s)."""
    submitted = []

    def record(fn, args, executor, jobs, progress, label):
        submitted.extend((a[0], a[2]) for a in args)
        return [experiments.Point([]) for _ in args]

    monkeypatch.setattr(experiments.pool, "map_points", record)
    experiments.run_many(["latency-ladder", "mapreduce", "fd-dup-close"], jobs=2)
    assert submitted[0] == ("mapreduce", 16)
    assert submitted[-4:] == [("fd-dup-close", 1)] * 4  # its four variants
    assert len(submitted) == 1 + 15 + 20


def collector_on(_) -> bool:
    return gc.isenabled()


def test_pool_workers_collect_garbage_between_points_and_the_parent_is_restored():
    """The parent waits with the collector off (it only unpickles points); its workers, forked
    meanwhile, have it on between points, so one point's machine does not outlive it."""
    assert gc.isenabled()
    assert experiments.pool.map_points(collector_on, [0, 1], None, 2, False, "t") == [True] * 2
    assert gc.isenabled()


def test_a_closed_machine_keeps_the_counters_it_handed_over():
    m = two_cores_share_a_line()
    final = m.counters(final=True)
    m.close()
    assert m.entries == {} and m.holders == {}
    (x,) = final.lines.values()
    assert (x.transfers, x.invalidations, x.cores) == (1, 1, {0, 1})
