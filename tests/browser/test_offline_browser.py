"""The lessons with no internet, as students and lecturers meet them: every request that leaves
127.0.0.1 is refused, and the plots must still draw.

- Plain `jupyter lab` with no BOKEH_RESOURCES (a hub, Binder, VS Code): BokehJS must come with
  the notebook (coreylab.viz makes Bokeh's resources inline), never from cdn.bokeh.org.
- `coreylab lab --voila`: the page opens only with the printed token, and asks nothing of a
  CDN (Voila's template links Font Awesome from jsDelivr; the lab's CSP keeps the browser
  from trying).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_notebooks_browser import (
    ARGS,
    ARTIFACTS,
    CHROMIUM,
    NOTEBOOKS,
    SETTINGS,
    check_page,
    free_port,
    load_dashboard,
    local_page,
    pytestmark,  # noqa: F401  (the same skips: no Chromium or no playwright)
    run_all,
    serve,
    server_log,
    sync_playwright,
    wait_until_listening,
)

TOUR = NOTEBOOKS[0]


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def offline_page(browser):
    """A page whose requests beyond 127.0.0.1 fail, and the list of what it asked for."""
    external: list[str] = []
    return local_page(browser, external), external


def test_plain_jupyter_lab_draws_the_plots_offline(chromium, tmp_path):
    shutil.copy(TOUR, tmp_path)
    settings = tmp_path / ".settings"
    for name, values in SETTINGS.items():
        path = settings / name.replace(":", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = free_port()
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
            f"--port={port}", "--allow-root", "--IdentityProvider.token=",
            "--ServerApp.password=", f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={tmp_path / '.workspaces'}"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "BOKEH_RESOURCES"}
    url = f"http://127.0.0.1:{port}"
    with serve(argv, f"{url}/api", tmp_path, env=env):
        page, external = offline_page(chromium)
        try:
            run_all(page, url, TOUR.name)
            ARTIFACTS.mkdir(exist_ok=True)
            check_page(page, ARTIFACTS / "offline-lab-00_tour.png")
        finally:
            page.close()
    assert not [u for u in external if "bokeh" in u], external


@pytest.mark.skipif(not (Path(sys.executable).parent / "voila").exists(), reason="no voila")
def test_the_lecturers_server_needs_its_token_and_no_cdn(chromium):
    port = free_port()
    argv = [sys.executable, "-m", "coreylab.cli", "lab", "--voila", TOUR.stem, f"--port={port}"]
    log = server_log("lecturer", port)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True,
                            start_new_session=True)  # fmt: skip
    log.close()  # the server has its own copy
    try:
        url = proc.stdout.readline().split()[-1]
        # Keep reading what the server prints: a full pipe would stop it (and its kernels,
        # which print to the same pipe) at their next write.
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        wait_until_listening(proc, url)  # not by opening the page: that starts a kernel
        # One navigation a page, as the other dashboards load theirs. (This test's CI
        # timeouts were the tour's interact cell stalling Voila's run: see viz.redraw.)
        login, refused = offline_page(chromium)
        login.goto(f"http://127.0.0.1:{port}/", timeout=60_000, wait_until="commit")
        assert "/login" in login.url  # no token, no lesson
        login.close()
        page, external = offline_page(chromium)
        load_dashboard(page, url, Path(log.name))
        page.wait_for_selector("canvas", timeout=180_000)
        page.wait_for_selector(".widget-slider, .widget-hslider", timeout=60_000)
        page.wait_for_timeout(2000)
        ARTIFACTS.mkdir(exist_ok=True)
        check_page(page, ARTIFACTS / "offline-voila-00_tour.png")
        page.close()
        assert refused + external == []
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
