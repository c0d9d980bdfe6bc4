"""fd-dup-close, end to end: the talk's claims come out of the simulated machine and kernels
(one shared fd table collapses; per-process tables, FD shares and Corey shares scale), the rows
are deterministic, and the per-operation metrics do not depend on the run's length."""

from __future__ import annotations

import json

import pytest

from coreylab.cli import main
from coreylab.experiments import EXPERIMENTS, ExperimentError, hardware, run

CORES = [1, 2, 4, 8, 16]


@pytest.fixture(scope="module")
def figure():
    """The default figure: every variant at 1, 2, 4, 8 and 16 cores on amd16."""
    result = run("fd-dup-close", cores=CORES)
    return {
        v: {r["cores"]: r for r in result.rows if r["variant"] == v}
        for v in EXPERIMENTS["fd-dup-close"].variants
    }


def test_rows_have_the_stable_names(figure):
    exp = EXPERIMENTS["fd-dup-close"]
    assert exp.variants == ("linux-threads", "linux-procs", "linux-fdshares", "corey-shares")
    assert exp.metrics == (
        "ops_per_sec",
        "cycles_per_op",
        "line_transfers_per_op",
        "coherence_misses_per_op",
    )
    for rows in figure.values():
        for cores, row in rows.items():
            assert set(row) == {"variant", "cores", *exp.metrics} and row["cores"] == cores


def test_one_shared_table_drops_from_one_core_to_two_and_never_recovers(figure):
    """The talk: throughput falls from 1 core to 2 and does not rise with more cores."""
    ops = {c: figure["linux-threads"][c]["ops_per_sec"] for c in CORES}
    assert ops[2] < ops[1]
    assert max(ops[4], ops[8], ops[16]) <= ops[2]
    transfers = [figure["linux-threads"][c]["line_transfers_per_op"] for c in CORES]
    assert transfers[0] == 0 and transfers == sorted(transfers)


@pytest.mark.parametrize("variant", ["linux-procs", "linux-fdshares", "corey-shares"])
def test_private_tables_scale_close_to_linearly(figure, variant):
    rows = figure[variant]
    for cores in (8, 16):
        assert rows[cores]["ops_per_sec"] >= 0.8 * cores * rows[1]["ops_per_sec"]
        assert rows[cores]["line_transfers_per_op"] == 0
    assert rows[16]["cycles_per_op"] <= 1.05 * rows[1]["cycles_per_op"]


def test_one_core_costs_the_same_whatever_the_table(figure):
    """At one core nothing is shared: Linux's three variants run the same code on one table."""
    one = {v: figure[v][1]["cycles_per_op"] for v in ("linux-threads", "linux-procs")}
    assert (
        one["linux-threads"] == one["linux-procs"] == figure["linux-fdshares"][1]["cycles_per_op"]
    )


def test_same_seed_same_rows_and_a_trace_on_request():
    a = run("fd-dup-close", variants=["linux-threads"], cores=[2], seed=7, trace=True)
    b = run("fd-dup-close", variants=["linux-threads"], cores=[2], seed=7)
    assert a.rows == b.rows
    assert a.trace is not None and len(a.trace) > 0 and b.trace is None
    labels = {r.label for r in a.trace}
    assert "files[0].file_lock" in labels and "files[0].fd_array" in labels


def test_per_op_metrics_do_not_depend_on_the_number_of_ops():
    short = run("fd-dup-close", cores=[1, 4], params={"ops": 8}).rows
    long = run("fd-dup-close", cores=[1, 4], params={"ops": 24}).rows
    for few, many in zip(short, long, strict=True):
        for metric in ("cycles_per_op", "line_transfers_per_op"):
            assert few[metric] == pytest.approx(many[metric], rel=0.08, abs=0.05), (few, many)


def test_bad_parameters_are_refused():
    with pytest.raises(ExperimentError, match="ops must be between"):
        run("fd-dup-close", params={"ops": 0})
    with pytest.raises(ExperimentError, match="no variant"):
        run("fd-dup-close", variants=["linux-fibers"])


def test_command_line_runs_it_as_json(capsys):
    assert main(["run", "fd-dup-close", "--cores", "1,2", "--variant", "linux-procs",
                 "--format", "json", "--jobs", "1", "--param", "ops=3"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert out["experiment"] == "fd-dup-close" and out["params"]["ops"] == 3
    assert [r["cores"] for r in out["rows"]] == [1, 2]


def test_the_result_carries_each_points_lock_statistics():
    """Like /proc/lock_stat for the run: with threads, file_lock is the most contended lock
    and is taken three times per dup+close on every core (plus each core's open); with
    processes each table's lock is taken as often and never contended."""
    result = run("fd-dup-close", variants=["linux-threads", "linux-procs"], cores=[4])
    ops, warmup = result.params["ops"], result.params["warmup"]
    (top,) = result.locks(top=1, variant="linux-threads")
    assert top["name"] == "files[0].file_lock" and top["contentions"] > 0
    assert top["acquisitions"] == 4 * (3 * (ops + warmup) + 2)
    procs = result.locks(variant="linux-procs")
    assert [s["contentions"] for s in procs] == [0] * 4
    assert sorted(s["acquisitions"] for s in procs) == [3 * (ops + warmup) + 2] * 4
    with pytest.raises(KeyError):
        result.locks(variant="corey-shares")


def test_coherence_misses_per_op_by_hand_on_tiny():
    """tiny (one chip, two cores), linux-procs: each core's files_struct and file are its own,
    so no write of one core ever takes a line from the other: 0 coherence misses, under every
    protocol. linux-threads: the cores share file_lock's line, which both write in every
    dup+close, so each pair has at least one (a core always misses on the line after the
    other's last critical section took it); and it is the same count whatever the protocol
    supplies the data from."""
    per_protocol = {}
    for protocol in ("MSI", "MESI", "MOESI"):
        hw = hardware("tiny", protocol=protocol)
        rows = run("fd-dup-close", variants=["linux-procs", "linux-threads"], cores=[2], hw=hw)
        by_variant = {r["variant"]: r["coherence_misses_per_op"] for r in rows.rows}
        assert by_variant["linux-procs"] == 0, protocol
        assert by_variant["linux-threads"] >= 1, protocol
        per_protocol[protocol] = by_variant["linux-threads"]
    assert len(set(per_protocol.values())) == 1, per_protocol
