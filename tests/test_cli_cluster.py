"""`coreylab run/report --scheduler ADDRESS`: a sweep's points on a dask cluster give the rows
of a serial run, byte for byte; without dask, or without a scheduler, one line and exit 2."""

from __future__ import annotations

import builtins

import pytest

from coreylab.cli import main

distributed = pytest.importorskip("distributed")

SWEEP = ["run", "fd-dup-close", "--preset", "duo", "--cores", "1,2,4", "--seed", "5"]


@pytest.fixture(scope="module")
def scheduler():
    """Two worker processes: the points travel pickled, as they would to remote machines."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def test_run_on_a_cluster_gives_the_serial_rows(scheduler, capsys):
    assert main([*SWEEP, "--format", "json", "--jobs", "1"]) == 0
    serial = capsys.readouterr().out
    assert main([*SWEEP, "--format", "json", "--scheduler", scheduler]) == 0
    assert capsys.readouterr().out == serial
    assert '"cores": 4' in serial


def test_report_sends_its_points_to_the_cluster(scheduler, tmp_path, monkeypatch):
    """The report runs its experiments through `experiments.run_many` with the cluster's
    executor (the rows that gives are the serial ones: the test above)."""
    from coreylab import experiments

    seen = []
    real_run = experiments.run_many

    def spy(*args, **kwargs):
        seen.append(type(kwargs.get("executor")).__name__)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(experiments, "run_many", spy)
    out = tmp_path / "report.html"
    argv = ["report", "--experiment", "latency-ladder", "--preset", "tiny", "-o", str(out)]
    assert main([*argv, "--scheduler", scheduler]) == 0
    assert seen == ["ClientExecutor"]
    assert "latency-ladder" in out.read_text()


def test_no_scheduler_there_is_one_line(capsys, monkeypatch):
    monkeypatch.setattr("coreylab.cli.cluster.CONNECT_TIMEOUT", "1s")
    assert main([*SWEEP, "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("coreylab: error: cannot reach the dask scheduler at tcp://127.0.0.1:9")
    assert err.count("\n") == 1


def test_without_dask_there_is_one_line(capsys, monkeypatch):
    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name == "distributed":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    assert main([*SWEEP, "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert capsys.readouterr().err == (
        "coreylab: error: --scheduler needs dask.distributed: pip install 'coreylab[dask]'\n"
    )
