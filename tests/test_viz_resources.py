"""Lessons opened offline without `make` (plain `jupyter lab`, a hub, Binder, VS Code): BokehJS
comes inline with the notebook once coreylab.viz is imported, never from cdn.bokeh.org; an
explicit BOKEH_RESOURCES still decides."""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
from nbclient import NotebookClient

# The lessons' first cell, as they all begin.
SETUP = (
    "from bokeh.io import output_notebook\nimport coreylab.viz\noutput_notebook(hide_banner=True)"
)


def _env(**changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "BOKEH_RESOURCES"}
    return {**env, **changes}


def test_a_lesson_kernel_without_bokeh_resources_loads_bokehjs_inline(tmp_path):
    """Run the lessons' setup cell in a real kernel with no BOKEH_RESOURCES: the output holds
    BokehJS itself (megabytes of it) and no CDN address."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP)])
    client = NotebookClient(nb, timeout=120, kernel_name="python3")
    client.execute(cwd=str(tmp_path), env=_env())  # a kernel as a plain `jupyter lab` starts it
    outputs = nbformat.writes(nb)
    assert "cdn.bokeh.org" not in outputs
    assert len(outputs) > 1_000_000 and "Bokeh" in outputs


def _mode(**env: str) -> str:
    code = "import coreylab.viz; from bokeh.resources import Resources; print(Resources().mode)"
    run = subprocess.run([sys.executable, "-c", code], env=_env(**env), capture_output=True)
    return run.stdout.decode().strip()


def test_the_users_own_choice_wins():
    assert _mode() == "inline"
    assert _mode(BOKEH_RESOURCES="cdn") == "cdn"
