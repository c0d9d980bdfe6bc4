"""Packaging checks: environment.yml (Binder/conda) and pyproject.toml (pip) must agree.

repo2docker installs from environment.yml and ignores pyproject.toml's dependency list, so a
dependency added to one file only would break either Binder or pip installs without a failure.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent

# Everything from the first version operator, extras bracket, marker or space on is not the name.
_SPEC_START = re.compile(r"[\s\[<>=!~;]")


def split_requirement(req: str) -> tuple[str, str]:
    """Split "jupyter_bokeh>=4.0" into ("jupyter-bokeh", ">=4.0"): normalized name, specifier."""
    req = req.strip()
    match = _SPEC_START.search(req)
    name, spec = (req[: match.start()], req[match.start() :]) if match else (req, "")
    return re.sub(r"[-_.]+", "-", name).lower(), spec.replace(" ", "")


def load_pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def load_environment() -> dict:
    with open(ROOT / "environment.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def conda_deps(env: dict) -> tuple[list[str], list[str]]:
    """Return (conda dependency strings, pip section strings) of an environment.yml."""
    conda, pip = [], []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip.extend(dep.get("pip", []))
        else:
            conda.append(str(dep))
    return conda, pip


def test_environment_matches_pyproject_dependencies():
    """The runtime dependencies in environment.yml are the same packages, with the same version
    floors, as pyproject.toml's [project] dependencies plus its `lab` extra (python and pip
    aside): Binder opens the lessons in JupyterLab."""
    project = load_pyproject()["project"]
    required = project["dependencies"] + project["optional-dependencies"]["lab"]
    pyproject = dict(split_requirement(r) for r in required)
    conda, _ = conda_deps(load_environment())
    env = dict(split_requirement(d) for d in conda)
    env.pop("python", None)
    env.pop("pip", None)
    assert set(env) == set(pyproject)
    assert env == pyproject


def test_environment_pins_python_and_installs_the_package():
    """environment.yml pins python exactly to 3.11 (repo2docker ignores ">="), lists pip, uses
    conda-forge, and installs this package with "-e ." in its pip section (repo2docker does not
    install it on its own when an environment.yml exists)."""
    env = load_environment()
    conda, pip = conda_deps(env)
    assert env["channels"] == ["conda-forge"]
    assert "python=3.11" in conda
    assert [d for d in conda if split_requirement(d)[0] == "python"] == ["python=3.11"]
    assert "pip" in conda
    assert "-e ." in [p.strip() for p in pip]


def test_console_script_entry_point():
    """The `coreylab` command runs coreylab.cli:entry (main's code as the exit status)."""
    scripts = load_pyproject()["project"]["scripts"]
    assert scripts == {"coreylab": "coreylab.cli:entry"}


# What the lab's pictures and server need; the simulator must import without any of them.
LAB_ONLY = ("numpy", "bokeh", "ipywidgets", "jupyter_bokeh", "jupyterlab", "ipykernel", "IPython")


def test_the_simulator_needs_only_simpy():
    """With every lab-only package made unimportable, the simulator, kernels, experiments,
    exercises and CLI import and an experiment runs (as under Pyodide or a bare install)."""
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {LAB_ONLY!r}:\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import coreylab, coreylab.experiments, coreylab.exercises, coreylab.kernel, coreylab.cli\n"
        "r = coreylab.run('fd-dup-close', cores=[1, 2], preset='tiny')\n"
        "print(len(r.rows))\n"
    )
    run = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True)
    assert run.stderr == ""
    assert run.stdout == "8\n"  # 4 variants x 2 core counts


def test_the_version_lives_in_one_place():
    """pyproject.toml takes the version from coreylab.__version__; it never types its own."""
    project = load_pyproject()
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "coreylab.__version__"
