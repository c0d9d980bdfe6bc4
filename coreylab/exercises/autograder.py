"""nbgrader integration: a lesson as an nbgrader assignment, graded by the simulator.

`assignment(lesson)` copies a lesson notebook and puts, after every cell that checks an
exercise, a locked nbgrader test cell (one point) that calls `autograde(key, STUDENT)`. nbgrader
(`generate_assignment`, then `autograde` on the collected notebooks) restores those cells from
the source, re-executes each student's notebook, and scores each test cell: `autograde` finds
the answer that counts among the checks this kernel just re-ran (the last one before any
give-up, as `grading.py` says) and re-checks it with the simulator. Under nbgrader's
autograde, the student is nbgrader's student id (the folder the submission was collected
into), not the STUDENT the notebook names, so a copied notebook is checked against its
submitter's own variant. The course id comes from COREYLAB_COURSE or the course file, as
everywhere (put coreylab-course.toml in the nbgrader course folder).

Why nbgrader and not Otter-Grader: docs/grading.md.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

from . import record
from .course import course_id
from .engine import get_spec, is_correct
from .grading import final_attempts

EXERCISE = re.compile(r"""(\w+)\s*=\s*(?:lab\.)?exercise\(\s*["']([^"']+)["']""")
TEST_SOURCE = (
    "# coreylab: re-check {key} with the simulator\nlab.exercises.autograde({key!r}, STUDENT)"
)


def graded_student(student: str) -> str:
    """nbgrader's student id while nbgrader autogrades (the submission's folder), else
    `student`: nbgrader runs the notebook in autograded/<student>/<assignment>/."""
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        here = Path.cwd()
        if here.parent.parent.name == "autograded":
            return here.parent.name
    return str(student).strip()


def autograde(key: str, student: str) -> None:
    """Pass if the answer that counts for `key`, checked in this kernel, is right."""
    get_spec(key)
    attempts = [dict(r) for r in record.LOG if r["key"] == key]
    final = [attempts[i] for i in sorted(final_attempts(attempts))]
    assert final, f"{key}: no answer was checked (or only after giving up)"
    # several ids checked the same key in this kernel: the last checked counts
    answer = final[-1]["answer"]
    who = graded_student(student)
    assert is_correct(key, who, answer, course_id()), f"{key}: {answer!r} is not right"


def assignment(lesson: dict[str, Any], points: int = 1) -> dict[str, Any]:
    """The lesson notebook with an nbgrader test cell after every cell that checks an answer."""
    nb = copy.deepcopy(lesson)
    keys: dict[str, str] = {}  # exercise variable -> key
    cells = []
    for cell in nb["cells"]:
        cells.append(cell)
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        keys.update(EXERCISE.findall(source))
        for var, key in keys.items():
            if re.search(rf"\b{var}\.check\(", source):
                cells.append(_test_cell(key, points))
    nb["cells"] = cells
    return nb


def _test_cell(key: str, points: int) -> dict[str, Any]:
    grade_id = "coreylab-" + re.sub(r"[^A-Za-z0-9_-]", "-", key)  # nbgrader's id alphabet
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": grade_id,
        "metadata": {
            "deletable": False,
            "editable": False,
            "nbgrader": {
                "grade": True,
                "grade_id": grade_id,
                "locked": True,
                "points": points,
                "schema_version": 3,
                "solution": False,
                "task": False,
            },
        },
        "outputs": [],
        "source": TEST_SOURCE.format(key=key),
    }
