"""Lesson 05's "Run all three" widget: a job too long for a click is refused with its estimated
time (`experiments.check`, no run), a small one runs. The cell's own code is run here, with
the lesson's display helpers replaced by stubs (what they draw is the browser tests' part)."""

import html
import json
from pathlib import Path

import ipywidgets as w
import pytest

import coreylab as lab
from coreylab import viz
from coreylab.experiments import ExperimentError

LESSON = Path(__file__).resolve().parent.parent / "notebooks" / "05_mapreduce.ipynb"


@pytest.fixture
def widget(monkeypatch):
    cells = json.loads(LESSON.read_text())["cells"]
    source = next("".join(c["source"]) for c in cells if "def compare(" in "".join(c["source"]))
    runs = []
    real_run = lab.run

    def counted_run(*args, **kwargs):
        runs.append(kwargs)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(lab, "run", counted_run)
    ns = {"w": w, "html": html, "lab": lab, "viz": viz, "ExperimentError": ExperimentError,
          "us_table": lambda r: None, "phases": lambda rows, title: None,
          "BokehModel": lambda chart: None, "display": lambda *a: None}  # fmt: skip
    exec(compile(source, str(LESSON), "exec"), ns)  # ends with compare(): 6 cores, 768 words
    ns["runs"] = runs
    return ns


def test_the_first_job_runs_and_names_the_fastest(widget):
    assert len(widget["runs"]) == 1 and "fastest:" in widget["message"].value


def test_a_job_too_long_for_a_click_is_refused_with_its_estimate_and_not_run(widget):
    widget["cores_in"].value, widget["words_in"].value = 16, 32_768
    widget["compare"]()
    need = lab.experiments.check("mapreduce", cores=[16], params={"words": 32_768})
    assert need.seconds > 12
    assert f"takes about {need.seconds:.0f} s" in widget["message"].value
    assert len(widget["runs"]) == 1  # only the first job ran


def test_bad_input_is_one_line_not_a_traceback(widget):
    widget["cores_in"].value, widget["words_in"].value = 2, 1000  # not a multiple of 128
    widget["compare"]()
    assert (
        "multiple of 128" in widget["message"].value and "Traceback" not in widget["message"].value
    )
