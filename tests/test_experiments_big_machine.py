"""The largest machine the lab promises (8 chips x 8 cores): every experiment runs on all 64
cores, every variant, without hitting a limit of the simulated kernels (a shared fd table
grows past its 64 embedded slots, shares, share maps and address ranges are sized for the
machine), and the lab's first claim still holds there: one shared fd table is slower on 64
cores than on one, private ones are not."""

from __future__ import annotations

import pytest

import coreylab as lab
from coreylab.experiments import EXPERIMENTS

BIG = lab.hardware("amd16", chips=8, cores_per_chip=8)
SMALL_RUNS = {  # the shortest runs that still do each experiment's work
    "fd-dup-close": {"ops": 2, "warmup": 1},
    "shares": {"ops": 2, "warmup": 1},
    "object-naming": {"ops": 2, "warmup": 1},
    "memclone": {"pages": 2},
    "mempass": {"pages": 4},
    "tlb-shootdown": {"ops": 1, "warmup": 0, "pages": 1},
    "mapreduce": {"words": 256},
    "tcp-connections": {"conns": 2, "warmup": 1},
    "webserver": {"requests": 2, "warmup": 1},
}


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_variant_runs_on_64_cores(name):
    exp = EXPERIMENTS[name]
    cores = [64] if exp.sweeps_cores else None
    result = lab.run(name, cores=cores, hw=BIG, params=SMALL_RUNS.get(name, {}))
    variants = {row["variant"] for row in result.rows}
    assert variants == set(exp.variants)


def test_a_shared_fd_table_is_slower_on_64_cores_and_private_ones_are_not():
    result = lab.run(
        "fd-dup-close", variants=["linux-threads", "linux-procs"], cores=[1, 64], hw=BIG,
        params=SMALL_RUNS["fd-dup-close"],
    )  # fmt: skip
    ops = {(r["variant"], r["cores"]): r["ops_per_sec"] for r in result.rows}
    assert ops["linux-threads", 64] < ops["linux-threads", 1]
    assert ops["linux-procs", 64] > 50 * ops["linux-procs", 1]
