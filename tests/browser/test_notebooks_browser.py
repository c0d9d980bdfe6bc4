"""Every lesson in a real browser: JupyterLab runs each notebook top to bottom, and Voila serves
one as a dashboard.

For each notebook (a copy, so the repository's files are never saved over) the test opens it in
JupyterLab on 127.0.0.1, runs all cells, waits for the kernel to go idle, and checks: no cell
printed a traceback, every Bokeh canvas rendered with a size, and (in the lessons that have
one) the machine animation's time slider advances when Play is clicked. A screenshot of each
notebook is kept in test-artifacts/. Then Voila renders the tour with code hidden, and the same
Play check runs there.

Needs /usr/bin/chromium (`apt-get install -y chromium chromium-driver`), playwright (pip; never
`playwright install`), and voila for the last test.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
PROMPTS = ".jp-CodeCell .jp-InputArea-prompt"  # "[ ]:", "[*]:" queued or running, "[3]:" run
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking"]  # fmt: skip

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = PlaywrightTimeout = None

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium"),
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (pip)"),
]

# The animation's time slider, read in every Bokeh document on the page.
SLIDERS = """() => (window.Bokeh ? [...window.Bokeh.documents] : []).map(
    d => d.get_model_by_name('coreylab-time')).filter(m => m).map(m => m.value)"""
SETTINGS = {
    # Render every cell (no windowing), so canvases below the fold exist; no news pop-up.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_listening(proc: subprocess.Popen, url: str, seconds: float = 60) -> None:
    """Return once `url`'s port takes connections; fail if `proc` ends or `seconds` pass.

    A connection, never a request: each request of a Voila page starts a kernel that runs the
    whole notebook, even once the client has given up, and that kernel stays until the server
    stops. Probing the page with a 2 s timeout every 0.5 s left one kernel per timed-out probe
    on a loaded machine, each making the server slower to answer the next probe, all running
    the tour beside the browser's own: in CI the page then outlasted its 180 s, twice."""
    address = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection((address.hostname, address.port), timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"server {proc.args[2]} did not start")
            time.sleep(0.5)


def server_log(name: str, port: int | None):
    """A file in test-artifacts/ for a server's output: evidence if a page does not load."""
    ARTIFACTS.mkdir(exist_ok=True)
    return open(ARTIFACTS / f"server-{name}-{port}.log", "wb")  # noqa: SIM115  (closed by caller)


def local_page(browser, external: list[str] | None = None, width: int = 1400):
    """A page whose requests beyond 127.0.0.1 fail at once (each one recorded in `external`,
    if given). CI's network drops them silently, so a page that links a CDN (Voila's template
    links Font Awesome from jsDelivr) would otherwise wait for its load event until the
    request timed out."""
    page = browser.new_page(viewport={"width": width, "height": 1000})

    def route(r):
        if r.request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
            r.continue_()
        else:
            if external is not None:
                external.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return page


def load_dashboard(page, url: str, log: Path | None = None, timeout: int = 180_000) -> None:
    """Open a Voila page and wait for its load event. Voila sends the page while its kernel
    runs the lesson, so a page that does not load says where it stopped: the requests still
    open, how much of the page came, and the server's last lines (`log`)."""
    open_requests: dict[int, str] = {}
    page.on("request", lambda r: open_requests.__setitem__(id(r), r.url))
    for done in ("requestfinished", "requestfailed"):
        page.on(done, lambda r: open_requests.pop(id(r), None))
    try:
        page.goto(url, timeout=timeout)
    except PlaywrightTimeout as e:
        state = page.evaluate("() => [document.readyState, document.documentElement.outerHTML"
                              ".length, document.querySelectorAll('.jp-Cell').length]")  # fmt: skip
        tail = log.read_text(errors="replace").splitlines()[-12:] if log else []
        raise AssertionError(
            f"{url} did not load in {timeout // 1000} s: document {state[0]}, "
            f"{state[1]:,} characters, {state[2]} cells; requests still open: "
            f"{sorted(set(open_requests.values()))}; server's last lines:\n" + "\n".join(tail)
        ) from e


@contextlib.contextmanager
def serve(argv: list[str], url: str, cwd: Path, env: dict[str, str] | None = None):
    """Start a server, wait until it takes connections on `url`'s port; stop it on leaving.
    Gives the file its output goes to."""
    env = env or dict(os.environ, BOKEH_RESOURCES="inline")
    log = server_log(argv[2], urllib.parse.urlsplit(url).port)
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    log.close()  # the server has its own copy
    try:
        wait_until_listening(proc, url)
        yield Path(log.name)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a copy of the notebooks, with its own settings."""
    work = tmp_path_factory.mktemp("lab")
    for nb in NOTEBOOKS:
        shutil.copy(nb, work)
    settings = work / ".settings"
    for name, values in SETTINGS.items():
        path = settings / name.replace(":", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = free_port()
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
            f"--port={port}", "--allow-root", "--IdentityProvider.token=",
            "--ServerApp.password=", f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={work / '.workspaces'}"]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with serve(argv, f"{url}/api", work):
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def run_all(page, url: str, name: str) -> None:
    page.goto(f"{url}/lab/tree/{name}?reset")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    page.wait_for_timeout(1000)
    if page.locator(".jp-Dialog").count():  # a kernel chooser: take the default
        page.click(".jp-Dialog button.jp-mod-accept")
    # Run All until the prompts change ("[*]:" queued, new counts): on a loaded machine the
    # first notebook's page can show "idle" before its kernel has started, and a Run All then
    # does nothing (the stored outputs stay, so a missing canvas was the only sign).
    prompts = f"() => [...document.querySelectorAll({PROMPTS!r})].map(p => p.textContent)"
    before = page.evaluate(prompts)
    for attempt in range(3):
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        try:
            page.wait_for_function(f"before => ({prompts})().join() !== before.join()",
                                   arg=before, timeout=30_000)  # fmt: skip
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    page.wait_for_function(
        f"() => ![...document.querySelectorAll({PROMPTS!r})]"
        ".some(p => p.textContent.includes('*'))",
        timeout=120_000,
    )
    page.wait_for_timeout(2000)  # let BokehJS draw


def check_page(page, shot: Path) -> None:
    tracebacks = [t for t in page.locator(".jp-OutputArea-output").all_inner_texts()
                  if "Traceback" in t or "Error:" in t]  # fmt: skip
    assert not tracebacks, tracebacks[0][:500]
    sizes = page.eval_on_selector_all(
        "canvas", "cs => cs.map(c => [c.width, c.height])"
    )  # Playwright's CSS reaches into Bokeh's shadow DOM
    assert sizes, "no Bokeh canvas on the page"
    assert all(w > 0 and h > 0 for w, h in sizes), sizes
    page.screenshot(path=str(shot), full_page=True)


def check_play(page) -> None:
    """Click the first Play button; the first animation's slider must move."""
    before = page.evaluate(SLIDERS)
    assert before, "no machine animation on the page"
    page.locator(".bk-btn:has-text('Play')").first.click()
    page.wait_for_timeout(2500)
    after = page.evaluate(SLIDERS)
    assert after[0] > before[0], (before, after)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_runs_in_jupyterlab(lab, browser, notebook):
    ARTIFACTS.mkdir(exist_ok=True)
    page = local_page(browser)
    try:
        run_all(page, lab, notebook.name)
        check_page(page, ARTIFACTS / f"lab-{notebook.stem}.png")
        if page.evaluate(SLIDERS):
            check_play(page)
    finally:
        page.close()


@pytest.mark.skipif(shutil.which("voila") is None and not (Path(sys.executable).parent / "voila")
                    .exists(), reason="voila is not installed")  # fmt: skip
def test_a_plot_inside_an_output_widget_draws_on_a_voila_page(browser, tmp_path):
    """Lesson 01's "Watch it": the animation sits in an Output widget, which a Voila page
    draws only as a widget (`BokehModel`); shown with `show()` the box stayed empty."""
    lesson = next(nb for nb in NOTEBOOKS if nb.stem.startswith("01_"))
    shutil.copy(lesson, tmp_path)
    port = free_port()
    argv = [sys.executable, "-m", "voila", lesson.name, "--no-browser", f"--port={port}",
            "--Voila.ip=127.0.0.1"]  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    with serve(argv, url, tmp_path) as log:
        page = local_page(browser)
        try:
            load_dashboard(page, url, log)
            page.wait_for_selector(".widget-output canvas", timeout=120_000)
        finally:
            page.close()


@pytest.mark.skipif(shutil.which("voila") is None and not (Path(sys.executable).parent / "voila")
                    .exists(), reason="voila is not installed")  # fmt: skip
def test_tour_as_a_voila_dashboard(browser, tmp_path):
    """Lecturer mode: the tour with code hidden, controls and animation live."""
    shutil.copy(NOTEBOOKS[0], tmp_path)
    port = free_port()
    argv = [sys.executable, "-m", "voila", NOTEBOOKS[0].name, "--no-browser",
            f"--port={port}", "--Voila.ip=127.0.0.1"]  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    with serve(argv, url, tmp_path) as log:
        page = local_page(browser)
        load_dashboard(page, url, log)
        page.wait_for_selector("canvas", timeout=180_000)
        page.wait_for_timeout(3000)
        code = page.locator(".jp-InputArea-editor, .CodeMirror, .cm-editor").count()
        assert code == 0, "Voila must hide the code"
        check_page(page, ARTIFACTS / "voila-00_tour.png")
        check_play(page)
        page.close()
