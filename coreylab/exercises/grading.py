"""The course staff's side: answer keys for a roster, and grading of saved submissions.

    answer_key(students, keys, course)   one row per student and exercise:
                                         {"student", "key", "question", "answer"}
    read_submission(path)                the attempts in a saved lesson notebook (the records
                                         `record.py` left in its outputs), or in a JSON list
                                         of {"student", "key", "answer"}
    other_courses(attempts, course)      students whose answers were recorded in another course
    grade(attempts, course)              one row per answer {"student", "key", "answer",
                                         "correct", "final"}, then totals per student

Every answer is re-checked with the simulator on the student's variant in the staff's course
(a recorded verdict, or the course a student's kernel used, is never trusted). A student may
check several answers: the one that counts (`final`) is the last one checked before any
`give_up()` on that exercise; answers after giving up are listed but never count.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .engine import SPECS, Exercise, get_spec
from .record import SubmissionError, no_answer, plain, records_in_notebook

ANSWER_FIELDS = ("student", "key", "answer", "correct", "final")
TOTAL_FIELDS = ("student", "right", "answered", "gave_up", "exercises")


def read_roster(path: Path) -> list[str]:
    """Student ids: one per line ('#' starts a comment), or a CSV (a .csv file, or a first line
    with a comma) with a `student` column. Each id once."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise SubmissionError(f"{path}: cannot read the roster ({type(e).__name__})") from None
    lines = [line.strip() for line in text.splitlines()]
    header = next((line for line in lines if line and not line.startswith("#")), "")
    if path.suffix.lower() == ".csv" or "," in header or header.lower() == "student":
        rows = csv.DictReader(io.StringIO(text))
        if "student" not in (rows.fieldnames or []):
            raise SubmissionError(f"{path}: a CSV roster needs a 'student' column")
        students = [(row["student"] or "").strip() for row in rows]
    else:
        students = [line for line in lines if not line.startswith("#")]
    students = [s for s in students if s]
    if not students:
        raise SubmissionError(f"{path}: no student ids in the roster")
    twice = sorted(s for s, n in Counter(students).items() if n > 1)
    if twice:
        raise SubmissionError(f"{path}: listed more than once: {', '.join(twice)}")
    return students


def answer_key(students: Iterable[str], keys: Iterable[str] | None = None, course: str = ""):
    """One row per student and exercise, answers computed by the simulator."""
    specs = [get_spec(k) for k in keys] if keys else list(SPECS.values())
    rows = []
    for student in students:
        for spec in specs:
            ex = Exercise(spec, student, course)
            answer = plain(ex._solution())
            rows.append(
                {"student": ex.student, "key": spec.key, "question": ex.question, "answer": answer}
            )
    return rows


def read_submission(path: Path) -> list[dict[str, Any]]:
    """The attempts in one file: a saved lesson notebook, or a JSON list of answers."""
    if path.suffix == ".ipynb":
        attempts = records_in_notebook(path)
        if not attempts:
            raise SubmissionError(f"{path}: no recorded coreylab answers in this notebook")
    else:
        try:
            attempts = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SubmissionError(f"{path}: not readable JSON ({type(e).__name__})") from None
    expected = "expected a list of {student, key, answer}"
    if not isinstance(attempts, list):
        raise SubmissionError(f"{path}: not a submission: {expected}")
    bad = [i for i, a in enumerate(attempts) if not _is_attempt(a)]
    if bad:
        which = ", ".join(map(str, bad[:5])) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise SubmissionError(
            f"{path}: not a submission: entry {which} (counting from 0) is not "
            "{student, key, answer}"
        )
    return [
        dict(a, kind=a.get("kind", "check"), source=str(path))
        for a in attempts
        # no answer yet, as a notebook's check of None or "" records nothing
        if a.get("kind", "check") != "check" or not no_answer(a.get("answer"))
    ]


def other_courses(attempts: list[dict[str, Any]], course: str) -> dict[str, set[str]]:
    """Per student, the course ids their answers were recorded under, when not `course` (a
    JSON list without "course" fields records none)."""
    found: dict[str, set[str]] = {}
    for a in attempts:
        recorded = a.get("course")
        if recorded is not None and str(recorded) != course:
            found.setdefault(str(a["student"]).strip(), set()).add(str(recorded))
    return found


def _is_attempt(item: Any) -> bool:
    if not isinstance(item, dict) or not isinstance(item.get("key"), str):
        return False
    if item.get("kind") == "give-up":
        return "student" in item
    return "student" in item and "answer" in item


def grade(attempts: list[dict[str, Any]], course: str = "") -> tuple[list[dict], list[dict]]:
    """(one row per answer, totals per student), every answer re-checked by the simulator."""
    final = final_attempts(attempts)
    rows, exercises = [], {}
    for i, a in enumerate(attempts):
        student = str(a["student"]).strip()
        exercises.setdefault(student, set()).add(a["key"])
        if a["kind"] != "check":
            continue
        correct = Exercise(get_spec(a["key"]), student, course)._judge(a["answer"])[0]
        rows.append(
            {
                "student": student,
                "key": a["key"],
                "answer": a["answer"],
                "correct": correct,
                "final": i in final,
            }
        )
    return rows, _totals(rows, attempts, exercises)


def final_attempts(attempts: list[dict[str, Any]]) -> set[int]:
    """Indexes of the answers that count: per student and key, the last check before any
    give-up."""
    final: dict[tuple[str, str], int] = {}
    gave_up: set[tuple[str, str]] = set()
    for i, a in enumerate(attempts):
        who = (str(a["student"]).strip(), a["key"])
        if a["kind"] == "give-up":
            gave_up.add(who)
        elif who not in gave_up:
            final[who] = i
    return set(final.values())


def _totals(rows, attempts, exercises) -> list[dict]:
    totals = []
    for student in sorted(exercises):
        mine = [r for r in rows if r["student"] == student and r["final"]]
        gave_up = {
            a["key"]
            for a in attempts
            if a["kind"] == "give-up" and str(a["student"]).strip() == student
        }
        totals.append(
            {
                "student": student,
                "right": sum(r["correct"] for r in mine),
                "answered": len(mine),
                "gave_up": len(gave_up),
                "exercises": len(exercises[student]),
            }
        )
    return totals


def to_csv(rows: list[dict], fields: tuple[str, ...]) -> str:
    """Rows as CSV; a list answer becomes 'a, b' (as a student would type it)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: ", ".join(map(str, v)) if isinstance(v, list) else v for k, v in row.items()}
        )
    return out.getvalue()
