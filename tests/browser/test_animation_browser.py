"""The machine animation in a real browser: a standalone HTML file, no kernel, no network.

Writes the animation of a 16-core lock run to an HTML file with BokehJS inline, opens it in
Debian's Chromium through Playwright, checks that a canvas rendered, clicks Play and checks
(through `window.Bokeh.documents`) that the time slider advanced and the caption followed,
pauses, steps, and keeps a screenshot as a test artifact: test-artifacts/animation.png.

Needs /usr/bin/chromium (`apt-get install -y chromium chromium-driver`) and the playwright
package; never `playwright install` (it downloads a browser).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from bokeh.embed import file_html
from bokeh.resources import INLINE

from coreylab.hardware import HardwareParams, Machine
from coreylab.viz import frames, machine_animation

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="no /usr/bin/chromium: apt-get install -y chromium chromium-driver",
    ),  # fmt: skip
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (pip)"),
]

SLIDER = "() => window.Bokeh.documents[0].get_model_by_name('coreylab-time').value"


def lock_run() -> Machine:
    """16 cores take turns on a lock word (atomics) and read a shared counter."""
    m = Machine(HardwareParams.preset("amd16"))
    lock = m.memory.alloc(64, chip=0, label="files.file_lock")
    nxt = m.memory.alloc(64, chip=2, label="files.next_fd")

    def program(core):
        for _ in range(3):
            yield from core.fetch_add(lock, 1)
            yield from core.load(nxt)
            yield from core.compute(40)

    for c in range(16):
        m.spawn(c, program)
    m.run()
    return m


@pytest.fixture(scope="module")
def machine() -> Machine:
    return lock_run()


@pytest.fixture(scope="module")
def page_file(tmp_path_factory, machine) -> Path:
    path = tmp_path_factory.mktemp("browser") / "animation.html"
    layout = machine_animation(machine.trace, machine.params)
    path.write_text(file_html(layout, INLINE, "coreylab"))
    return path


@pytest.fixture(scope="module")
def page(page_file):
    args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        page = browser.new_page(viewport={"width": 1120, "height": 1250})
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(page_file.as_uri())
        page.wait_for_selector("canvas", timeout=20_000)
        yield page
        browser.close()


def _caption(page) -> str:
    return page.evaluate(
        "() => { const d = window.Bokeh.documents[0];"
        " for (const m of d.all_models) if (m.type == 'Div') return m.text; }"
    )


def test_canvas_renders(page):
    box = page.locator("canvas").first.bounding_box()
    assert box["width"] > 500 and box["height"] > 500
    assert page.evaluate(SLIDER) == 1  # transactions count from 1
    assert page.errors == []


def test_play_advances_pause_stops_step_moves(page):
    first = _caption(page)
    page.locator(".bk-btn", has_text="Play").click()
    time.sleep(1.5)
    assert page.locator(".bk-btn", has_text="Pause").count() == 1
    page.locator(".bk-btn", has_text="Pause").click()
    paused = page.evaluate(SLIDER)
    assert paused > 0, "the slider did not advance while playing"
    assert _caption(page) != first
    time.sleep(0.4)
    assert page.evaluate(SLIDER) == paused
    page.locator(".bk-btn", has_text="Next").click()
    assert page.evaluate(SLIDER) == int(paused) + 1
    assert page.errors == []


def _show(page, value: float) -> None:
    page.evaluate(
        "(v) => { window.Bokeh.documents[0].get_model_by_name('coreylab-time').value = v; }", value
    )
    time.sleep(0.3)


def test_browser_draws_the_frames_python_computed(page, machine):
    """The player's JavaScript shows, at frame k, the states `frames` computed for frame k."""
    expected = frames(machine.trace, machine.params)["frames"]
    for k in (0, 7, len(expected) - 1):
        _show(page, k + 1)  # the slider counts transactions from 1
        letters = page.evaluate(
            "() => window.Bokeh.documents[0].get_model_by_name('coreylab-cells').data.letter"
        )
        assert letters == [s for per_line in expected[k]["states"] for s in per_line]


def test_the_line_above_the_slider_says_where_it_is(page, machine):
    """At 7.45 the token is on its way from transaction 7 to 8: the line says so, with no
    dangling colon (the slider itself has no title)."""
    count = len(frames(machine.trace, machine.params)["frames"])
    _show(page, 7.45)
    models = "[...window.Bokeh.documents[0].all_models]"
    texts = page.evaluate(f"() => {models}.filter(m => m.type == 'Div').map(m => m.text)")
    assert any(t.startswith(f"transaction 7 → 8 of {count} · cycle ") for t in texts), texts
    title = "() => window.Bokeh.documents[0].get_model_by_name('coreylab-time').title"
    assert page.evaluate(title) == ""


def test_screenshots(page):
    """A frame at rest (token arrived, label on the arrow) and one with a token in flight,
    kept for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    for value, name in ((20, "animation.png"), (20.4, "animation-moving.png")):
        _show(page, value)
        page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        assert (ARTIFACTS / name).stat().st_size > 10_000
    assert page.errors == []
