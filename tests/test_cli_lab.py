"""`coreylab lab`: which folder it opens, and the lecturer's Voila server: a token, 127.0.0.1
unless told otherwise, a port, lessons that cannot name a file outside their folder, and no
kernel left behind by a page that has gone."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from coreylab.cli import CliError, lab, main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def launched(monkeypatch):
    """Run `coreylab lab ...` up to the exec, and hand back the argv it would exec."""
    calls = []
    monkeypatch.setattr(os, "execv", lambda program, argv: calls.append(argv))
    monkeypatch.delenv("JUPYTER_TOKEN", raising=False)

    def launch(*argv: str) -> list[str]:
        assert main(["lab", *argv]) == 0
        return calls.pop()

    return launch


def test_in_a_checkout_jupyterlab_opens_notebooks(launched):
    argv = launched()
    assert argv[1:4] == ["lab", str(ROOT / "notebooks"), "--ip=127.0.0.1"]


def test_outside_a_checkout_the_lessons_are_copied_and_opened(launched, tmp_path, monkeypatch):
    """An installed package has no notebooks/ beside it: the lab works on ./coreylab-lessons."""
    monkeypatch.setattr(lab, "checkout_notebooks", lambda: None)
    monkeypatch.chdir(tmp_path)
    argv = launched()
    assert argv[2] == "coreylab-lessons"
    assert len(list((tmp_path / "coreylab-lessons").glob("*.ipynb"))) == 8


def test_voila_gets_a_token_a_local_address_and_a_port(launched, capsys):
    """The token reaches Voila through the environment (not the command line other users see
    in `ps`) and is printed inside the URL; Voila may not move to another port than printed."""
    argv = launched("--voila", "00_tour")
    token = os.environ["JUPYTER_TOKEN"]
    assert len(token) >= 32
    assert (
        capsys.readouterr().out
        == f"coreylab: the lessons are at http://127.0.0.1:8866/?token={token}\n"
    )
    assert argv[1] == str(ROOT / "notebooks" / "00_tour.ipynb")
    assert "--Voila.ip=127.0.0.1" in argv and "--port=8866" in argv
    assert "--Voila.port_retries=0" in argv and "--Voila.auto_token=True" in argv
    assert not any(token in a for a in argv)
    argv = launched("--voila", "--ip", "0.0.0.0", "--port", "9000")
    assert "--Voila.ip=0.0.0.0" in argv and "--port=9000" in argv
    assert os.environ["JUPYTER_TOKEN"] != token  # a new token for every server


@pytest.mark.parametrize("name", ["../pyproject.toml", "../README", "/etc/passwd", "conftest.py"])
def test_a_lesson_must_be_a_notebook_inside_the_folder(name):
    with pytest.raises(CliError, match="no lesson"):
        lab.lesson_path(ROOT / "notebooks", name)


def test_a_link_out_of_the_folder_is_no_lesson(tmp_path):
    (tmp_path / "outside.ipynb").write_text("{}")
    (tmp_path / "lessons").mkdir()
    (tmp_path / "lessons" / "00_x.ipynb").symlink_to(tmp_path / "outside.ipynb")
    with pytest.raises(CliError, match="no lesson"):
        lab.lesson_path(tmp_path / "lessons", "00_x")


def test_a_bad_port_is_a_one_line_error(capsys):
    assert main(["lab", "--voila", "--port", "70000"]) == 2
    assert (
        capsys.readouterr().err
        == "coreylab: error: --port must be between 1 and 65535, not 70000\n"
    )


# A lesson of one cell: what is culled does not depend on what the kernel ran.
ONE_CELL = {
    "cells": [{"cell_type": "code", "execution_count": None, "id": "one", "metadata": {},
               "outputs": [], "source": "x = 1"}],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}  # fmt: skip


def test_voila_shuts_down_the_kernel_of_a_page_that_has_gone(tmp_path, monkeypatch):
    """Each request of a lesson starts a kernel. One whose client read the page and left is
    shut down once idle for the cull time; one a page is still connected to (a websocket, as
    an open dashboard holds) stays. The server runs with voila_argv's options, with the idle
    time cut to 2 s and a check every second."""
    if not (Path(sys.executable).parent / "voila").exists():
        pytest.skip("voila is not installed")
    import tornado.websocket

    (tmp_path / "one.ipynb").write_text(json.dumps(ONE_CELL))
    monkeypatch.setenv("JUPYTER_TOKEN", "")  # voila_argv sets its own; put back afterwards
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(lab, "KERNEL_IDLE_SECONDS", 2)
    monkeypatch.setattr(lab, "CULL_EVERY_SECONDS", 1)
    argv = lab.voila_argv(tmp_path, "one", "127.0.0.1", port)
    token = os.environ["JUPYTER_TOKEN"]
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def open_page() -> str:
        page = urllib.request.urlopen(f"{base}/?token={token}", timeout=120).read().decode()
        return re.search(r'"kernelId": "([0-9a-f-]{36})"', page).group(1)

    def alive(kernel: str) -> bool:
        return _status(f"{base}/api/kernels/{kernel}?token={token}") == 200

    async def hold_one_drop_one() -> None:
        held = open_page()
        url = f"ws://127.0.0.1:{port}/api/kernels/{held}/channels?token={token}"
        ws = await tornado.websocket.websocket_connect(url)
        gone = open_page()
        deadline = time.monotonic() + 60
        while alive(gone):
            assert time.monotonic() < deadline, "the kernel of the page that went is still there"
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # two more checks of the culler
        assert alive(held), "the kernel of the open page was shut down"
        ws.close()

    try:
        for _ in range(300):
            if proc.poll() is not None or _status(f"{base}/voila/static/voila.js") == 200:
                break
            time.sleep(0.2)
        asyncio.run(hold_one_drop_one())
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def _status(url: str) -> int:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None

    try:
        return urllib.request.build_opener(NoRedirect).open(url, timeout=5).status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:  # not listening yet
        return 0


def test_voila_serves_only_with_the_token(tmp_path):
    """A real Voila: without the token it sends to its login page; with it, it serves."""
    if not (Path(sys.executable).parent / "voila").exists():
        pytest.skip("voila is not installed")
    port = 18000 + os.getpid() % 1000
    proc = subprocess.Popen(
        [sys.executable, "-m", "coreylab.cli", "lab", "--voila", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = proc.stdout.readline().split()[-1]
        assert url.startswith(f"http://127.0.0.1:{port}/?token=")
        for _ in range(100):
            if proc.poll() is not None or _status(url) == 200:
                break
            time.sleep(0.2)
        assert _status(url) == 200
        assert _status(f"http://127.0.0.1:{port}/") == 302  # to /login
        assert _status(f"http://127.0.0.1:{port}/voila/render/00_tour.ipynb") == 302
    finally:
        proc.terminate()
        proc.wait(timeout=10)
