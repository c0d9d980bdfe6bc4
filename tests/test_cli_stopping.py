"""Stopping and writing (issue 13 §4): Ctrl-C during a parallel run stops it within 2 s with one
line and exit code 130, leaving no worker behind, and a second Ctrl-C prints no traceback; the
report is written atomically; a closed pipe and a full disk end in one line, not a traceback;
progress lines reach stderr where there is no terminal, and --quiet silences them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coreylab.cli import main
from coreylab.cli.common import write_atomic

# A run of several seconds on two workers: 5 core counts x 3 variants of a big memclone.
LONG_RUN = [
    "run",
    "memclone",
    "--jobs",
    "2",
    "--param",
    "pages=256",
    "--preset",
    "amd16",
    "--quiet",
]


def _as_from_a_terminal() -> None:
    """SIGINT back to its default in the child, as a terminal's foreground job has it: a shell
    that started these tests in the background (`cmd &` without job control) made its children
    ignore SIGINT, and Python keeps an ignored SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cli(*argv: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "coreylab.cli", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_as_from_a_terminal, **kwargs)  # fmt: skip


def _children(pid: int) -> set[int]:
    """Processes whose parent is `pid` (from /proc)."""
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines()
                          if ":\t" in line)  # fmt: skip
        except OSError:
            continue
        if int(fields.get("PPid", "0").strip()) == pid:
            found.add(int(status.parent.name))
    return found


def _wait_for_workers(proc: subprocess.Popen, count: int, timeout: float = 60) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = _children(proc.pid)
        if len(workers) >= count:
            time.sleep(1.0)  # let them take points
            return workers
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the workers did not start")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in state


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")
@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_stops_a_parallel_run_at_once(presses):
    """SIGINT to the whole process group, as a terminal sends it: exit 130 within 2 s, one
    line, no traceback, and every worker gone."""
    proc = _cli(*LONG_RUN)
    workers = _wait_for_workers(proc, 2)
    started = time.monotonic()
    for _ in range(presses):
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.1)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    took = time.monotonic() - started
    assert proc.returncode == 130, err
    assert took < 2.0
    assert err == "coreylab: interrupted\n"
    time.sleep(0.2)
    assert not [w for w in workers if _alive(w)]


def test_a_closed_pipe_ends_quietly():
    """`coreylab list | true`: the reader is gone before the first line is written."""
    proc = _cli("list")
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert proc.returncode == 141


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_one_line(capsys):
    code = main(["report", "--experiment", "latency-ladder", "--preset", "tiny", "-o", "/dev/full",
                 "--jobs", "1"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("coreylab: error: cannot write /dev/full: No space left on device")
    assert err.count("\n") == 1


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    """The new text goes to a temporary file beside the old one; if writing fails, the old
    file is whole and no temporary file is left."""
    target = tmp_path / "report.html"
    target.write_text("old report")

    def fail(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(Exception, match="No space left on device"):
        write_atomic(target, "new report")
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    monkeypatch.undo()
    write_atomic(target, "new report")
    assert target.read_text() == "new report"
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)  # readable as a normal file


def test_progress_lines_without_a_terminal(monkeypatch, capsys):
    """Where stderr is a pipe, a run longer than PROGRESS_EVERY prints plain lines; --quiet
    prints none."""
    from coreylab.experiments import pool

    monkeypatch.setattr(pool, "PROGRESS_EVERY", 0.0)
    monkeypatch.setattr(pool._lines, "__defaults__", (0.0,))
    argv = ["run", "fd-dup-close", "--preset", "tiny", "--jobs", "1", "--cores", "1,2"]
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "fd-dup-close: 8/8 points, 0 s" and "\r" not in "".join(err)
    assert main([*argv, "--quiet"]) == 0
    assert capsys.readouterr().err == ""
