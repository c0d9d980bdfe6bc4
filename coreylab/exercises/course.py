"""Who is asking, in which course: the student id, the course id and graded mode.

Every variant's seed mixes in the course id, so that answers from another offering of the
course do not transfer. The course id comes from, first to last:

  1. an explicit `course=` (the CLI's `--course`);
  2. the environment variable `COREYLAB_COURSE`;
  3. a file `coreylab-course.toml` that the course ships with its lessons, found in the current
     folder (a notebook runs in its own folder) or the nearest parent that has one:

         course = "os-fall-2026"   # mixed into every student's variant
         graded = false            # true: no reveal and no right/wrong feedback

Graded mode is on when `COREYLAB_GRADED` is 1/true/yes, or the course file says `graded = true`.
Presenting (`COREYLAB_PRESENT`, set by `coreylab lab --present` for its Voila kernels): an
audience sees the questions, predictions and runs, never an answer, and no prompt about code
it cannot see. A plain Voila page (`COREYLAB_DASHBOARD`, set by `coreylab lab --voila`) shows
no such prompt either; its answers are as in a notebook.
A lesson run without a student id or without a course id says so once, visibly (a notebook
shows a warning above the exercise; a script gets one line on stderr).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

COURSE_FILE = "coreylab-course.toml"
PLACEHOLDERS = {"", "0", "student-id", "none"}  # what the lessons ship before a student edits
_SAID: set[str] = set()


class CourseError(ValueError):
    """A course file that cannot be read: one line naming the file."""


def course_file(start: Path | None = None) -> Path | None:
    """The nearest `coreylab-course.toml` in `start` (default: the current folder) or above."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / COURSE_FILE
        if path.is_file():
            return path
    return None


def course_settings(start: Path | None = None) -> dict[str, Any]:
    path = course_file(start)
    if path is None:
        return {}
    try:
        settings = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise CourseError(f"{path}: not a readable course file: {e}") from None
    if not isinstance(settings.get("course", ""), str):
        raise CourseError(f"{path}: `course` must be a string")
    return settings


def course_id(explicit: str | None = None) -> str:
    """The course id ('' when none is set): explicit, then COREYLAB_COURSE, then the file."""
    if explicit is not None:
        return str(explicit).strip()
    if os.environ.get("COREYLAB_COURSE", "").strip():
        return os.environ["COREYLAB_COURSE"].strip()
    return str(course_settings().get("course", "")).strip()


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def presenting() -> bool:
    """A lecturer's Voila dashboard (`coreylab lab --present`): nothing revealed, no prompts."""
    return _flag("COREYLAB_PRESENT")


def dashboard() -> bool:
    """A Voila page (`coreylab lab --voila`, or `--present`): the code is hidden, so nothing
    asks the reader to edit it (set STUDENT, replace None, call .check)."""
    return presenting() or _flag("COREYLAB_DASHBOARD")


def graded_mode() -> bool:
    """No reveal and no right/wrong feedback: exam conditions."""
    flag = os.environ.get("COREYLAB_GRADED", "").strip().lower()
    if flag:
        return flag in {"1", "true", "yes", "on"}
    return bool(course_settings().get("graded", False))


def seed(course: str, key: str, student: str) -> int:
    """A stable seed for one student's variant (sha256, not Python's salted `hash`)."""
    digest = hashlib.sha256(f"{course}\x00{key}\x00{student}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def is_placeholder(student: str) -> bool:
    return student.strip().lower() in PLACEHOLDERS


def say_once(message: str) -> None:
    """Show `message` the first time only: a warning in a notebook, a line on stderr elsewhere."""
    if message in _SAID:
        return
    _SAID.add(message)
    shell = ipython()
    if shell is None:
        print(f"coreylab: {message}", file=sys.stderr)
        return
    from IPython.display import Markdown, display

    display(Markdown(f'<div style="color:#D55E00">⚠ <b>{message}</b></div>'))


def warn_if_anonymous(student: str, course: str) -> None:
    if dashboard():  # the audience has no STUDENT cell to edit
        return
    if is_placeholder(student):
        say_once(
            "No student id: set STUDENT to your own id at the top of the lesson, or every "
            "exercise is the same as everyone else's and cannot be graded as yours."
        )
    if not course:
        say_once(
            f'No course id: set COREYLAB_COURSE, or put {COURSE_FILE} (with course = "...") '
            "in the lesson folder; these variants are the lab's defaults, not your course's."
        )


def identify(student: str, course: str | None = None) -> str:
    """For a lesson's first cell: say whose exercises these are (or warn, once, that they
    are nobody's), so a student sees it before the first exercise."""
    if presenting():
        return "Presentation: questions and predictions only; answers are not shown."
    if dashboard():
        return "Dashboard: the lessons' runs and questions, with the lab's default exercises."
    course = course_id(course)
    warn_if_anonymous(str(student).strip(), course)
    mode = ", graded mode" if graded_mode() else ""
    return f"Exercises for {str(student).strip()!r} in course {course or '(none)'!r}{mode}."


def ipython():
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()
