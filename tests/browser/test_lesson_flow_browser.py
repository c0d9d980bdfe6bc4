"""A student's path through a lesson in Chromium: Run All reveals no exercise answer; then a
prediction is chosen and locked in before its result is compared, and an exercise is checked
before its answer is revealed.

Uses the JupyterLab server and browser of test_notebooks_browser.py (same needs: Debian's
/usr/bin/chromium and the playwright package, never `playwright install`). The lesson is the
tour (00), the quickest to run; the screenshot is test-artifacts/flow-00_tour.png.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from test_notebooks_browser import (  # noqa: F401  fixtures and markers, shared
    ARTIFACTS,
    NOTEBOOKS,
    browser,
    free_port,
    lab,
    load_dashboard,
    local_page,
    pytestmark,
    run_all,
    serve,
)

from coreylab.cli.lab import PRESENT_ENV

LESSON = "00_tour.ipynb"


def cell(page, text: str):
    """The notebook cell whose source (or output) shows `text`."""
    return page.locator(".jp-Notebook .jp-Cell", has_text=text).first


def run_cell(page, text: str, source: str | None = None):
    """Click into the cell showing `text`, optionally replace its source, and run it."""
    target = cell(page, text)
    target.locator(".cm-content").click()
    if source is not None:
        page.keyboard.press("Control+A")
        page.keyboard.type(source)
    page.keyboard.press("Shift+Enter")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    page.wait_for_timeout(1000)
    return cell(page, source or text)


def outputs(page) -> list[str]:
    return page.locator(".jp-OutputArea-output").all_inner_texts()


def test_predict_then_see_and_check_then_reveal(lab, browser):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    page = local_page(browser)
    try:
        run_all(page, lab, LESSON)
        shown = outputs(page)
        assert not [t for t in shown if "The answer:" in t], "Run All revealed an answer"
        assert sum("Try first:" in t for t in shown) == 2  # both reveal() cells held back

        # Predict: choose, lock in; the comparison (run again) now quotes the prediction.
        widget = cell(page, "Predict (00.cache-or-dram)")
        choice = widget.locator("input[type=radio]").first
        choice.check()
        widget.locator("button:has-text('Lock in')").click()
        page.wait_for_timeout(500)
        assert "Locked in:" in widget.inner_text()
        compared = run_cell(page, "p_hop.compare(")
        assert "You predicted" in compared.inner_text()

        # Check an answer (any number is an attempt), then reveal.
        checked = run_cell(page, "ex1.check(answer)", "ex1.check(150)")
        assert "Right." in checked.inner_text() or "Not quite." in checked.inner_text()
        revealed = run_cell(page, "ex1.reveal()")
        assert "The answer:" in revealed.inner_text()
        page.screenshot(path=str(ARTIFACTS / "flow-00_tour.png"), full_page=True)
    finally:
        page.close()


@pytest.mark.skipif(shutil.which("voila") is None and not (Path(sys.executable).parent / "voila")
                    .exists(), reason="voila is not installed")  # fmt: skip
def test_presentation_shows_predictions_but_no_answer(browser, tmp_path, monkeypatch):  # noqa: F811
    for name, value in PRESENT_ENV.items():  # what `coreylab lab --present` hands its kernels
        monkeypatch.setenv(name, value)
    tour = next(nb for nb in NOTEBOOKS if nb.name == LESSON)
    shutil.copy(tour, tmp_path)
    port = free_port()
    argv = [sys.executable, "-m", "voila", LESSON, "--no-browser", f"--port={port}",
            "--Voila.ip=127.0.0.1"]  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    assert os.environ["COREYLAB_PRESENT"] == "1"  # serve() passes os.environ on
    with serve(argv, url, tmp_path) as log:
        page = local_page(browser)
        try:
            load_dashboard(page, url, log)
            page.wait_for_selector("canvas", timeout=180_000)
            page.wait_for_selector("text=Predict (00.counter-moves)", timeout=60_000)
            page.wait_for_timeout(2000)
            text = page.inner_text("body")
            assert "Predict (00.cache-or-dram)" in text
            assert "Exercise 00.remote-load" in text  # the question shows
            for hidden in ("The answer:", "with .check(...) above", "replace None", "No answer yet",
                           "No student id", "No prediction was locked in"):  # fmt: skip
                assert hidden not in text, hidden
            page.screenshot(path=str(ARTIFACTS / "present-00_tour.png"), full_page=True)
        finally:
            page.close()
