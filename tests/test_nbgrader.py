"""A lesson graded end to end by nbgrader, offline: `coreylab assignment` makes the source,
nbgrader releases it, two students' notebooks are collected, `nbgrader autograde` re-runs
them (each test cell re-checks one answer with the simulator) and `nbgrader export` gives
the scores. The lesson is 02's own cells: its set-up and its "Your turn" section."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coreylab.exercises import exercise
from coreylab.exercises.autograder import assignment
from coreylab.exercises.record import plain

pytestmark = pytest.mark.slow
LESSON = Path(__file__).resolve().parents[1] / "notebooks" / "02_fd_table_and_shares.ipynb"
KEYS = {"ex1": "02.lock-count", "ex2": "02.which-scale", "ex3": "02.object-naming"}
BIN = Path(sys.executable).parent


def lesson_exercises() -> dict:
    """Lesson 02 cut to its set-up cell and its exercises (the rest is not graded)."""
    nb = json.loads(LESSON.read_text())
    setup = next(c for c in nb["cells"] if "STUDENT =" in "".join(c["source"]))
    turn = next(i for i, c in enumerate(nb["cells"]) if "Your turn" in "".join(c["source"]))
    cells = [setup] + [
        c
        for c in nb["cells"][turn:]
        if "lab.exercise" in "".join(c["source"])
        or ".check(" in "".join(c["source"])
        or ".reveal(" in "".join(c["source"])
    ]
    for c in cells:
        c["outputs"], c["execution_count"] = [], None
    return nb | {"cells": cells}


def test_the_assignment_adds_one_locked_test_cell_after_each_check():
    nb = assignment(lesson_exercises())
    tests = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    assert [c["source"] for c in tests] == [
        f"# coreylab: re-check {k} with the simulator\nlab.exercises.autograde({k!r}, STUDENT)"
        for k in KEYS.values()
    ]
    for test in tests:
        before = nb["cells"][nb["cells"].index(test) - 1]
        assert ".check(" in "".join(before["source"]) and test["metadata"]["nbgrader"]["locked"]


def student_copy(release: dict, student: str, course: str, wrong: set[str]) -> dict:
    nb = json.loads(json.dumps(release))
    for cell in nb["cells"]:
        source = "".join(cell["source"]).replace('"student-id"', f'"{student}"')
        for var, key in KEYS.items():
            if f"{var}.check(" in source:
                answer = plain(exercise(key, student, course)._solution())
                if key in wrong:
                    answer = answer + 1 if isinstance(answer, int) else "none"
                source = source.replace("answer = None", f"answer = {answer!r}")
        cell["source"] = source
    return nb


def run(args, cwd, env):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_nbgrader_grades_a_lesson_end_to_end(tmp_path):
    course, env = tmp_path / "course", dict(os.environ, COREYLAB_COURSE="")
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    (tmp_path / "02.ipynb").write_text(json.dumps(lesson_exercises()))
    run(
        [
            BIN / "coreylab",
            "assignment",
            tmp_path / "02.ipynb",
            "--course-dir",
            course,
            "--name",
            "fd",
            "--course",
            "os-test",
        ],
        tmp_path,
        env,
    )
    env.pop("COREYLAB_COURSE")  # from here on, the course file says which course
    run([BIN / "nbgrader", "generate_assignment", "fd", "--force"], course, env)
    release = json.loads((course / "release" / "fd" / "02.ipynb").read_text())
    # cy hands in ada's notebook (STUDENT = "ada"): checked against cy's own variant
    handed_in = {"ada": ("ada", set()), "bob": ("bob", {"02.lock-count"}), "cy": ("ada", set())}
    for student, (author, wrong) in handed_in.items():
        folder = course / "submitted" / student / "fd"
        folder.mkdir(parents=True)
        nb = student_copy(release, author, "os-test", wrong)
        (folder / "02.ipynb").write_text(json.dumps(nb))
    key = "02.lock-count"
    assert exercise(key, "ada", "os-test").variant != exercise(key, "cy", "os-test").variant
    run([BIN / "nbgrader", "autograde", "fd", "--create"], course, env)
    run([BIN / "nbgrader", "export"], course, env)
    with open(course / "grades.csv") as f:
        scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}
    every = float(len(KEYS))  # one point an exercise; bob gets one wrong, cy answers ada's
    assert scores["ada"] == every and scores["bob"] == every - 1 and scores["cy"] < every
