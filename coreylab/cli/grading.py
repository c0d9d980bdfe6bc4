"""`coreylab answers` and `coreylab grade`: the course staff's commands.

    coreylab answers [KEY ...] --roster FILE [--course ID] [--format json|csv]
        the answer key: one row per student and exercise {"student", "key", "question",
        "answer"}; the roster is one id per line, or a CSV with a `student` column.
    coreylab grade [--course ID] [--format json|csv] SUBMISSION ...
        each submission a saved lesson notebook or a JSON list of {"student", "key", "answer"};
        every answer re-checked with the simulator: one row per answer {"student", "key",
        "answer", "correct", "final"}, then totals per student. A file that cannot be read or
        is not a submission gets one line on stderr naming it, the others are still graded,
        and the exit code is 3. A submission whose answers were recorded under another course
        id gets a warning on stderr naming the students and both ids (it is still graded).
    coreylab assignment LESSON --course-dir DIR [--name NAME] [--course ID] [--graded] [--force]
        the lesson (a notebook file, or a shipped lesson's name such as 00_tour) as an nbgrader
        assignment: DIR/source/NAME/ gets the lesson with a locked test cell after every check
        (nbgrader's `autograde` then re-checks each answer with the simulator), and DIR an
        nbgrader_config.py and a coreylab-course.toml when missing. NAME is a plain name, not
        a path. An existing source/NAME/LESSON.ipynb is kept (an error) unless --force, as
        nbgrader's generate_assignment does with its release.

The course id defaults as in the lessons: COREYLAB_COURSE, then coreylab-course.toml in the
current folder or above (see docs/grading.md).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from ..exercises import SPECS
from ..exercises.autograder import assignment
from ..exercises.course import COURSE_FILE, CourseError, course_id
from ..exercises.grading import (
    ANSWER_FIELDS,
    TOTAL_FIELDS,
    answer_key,
    grade,
    other_courses,
    read_roster,
    read_submission,
    to_csv,
)
from ..exercises.record import SubmissionError
from .common import CliError
from .lab import lesson_path
from .lessons import packaged_lessons

EXIT_SOME_FAILED = 3  # 1 is a bug of the lab (cli/__init__.py), 2 a usage error


def add(sub) -> None:
    answers = sub.add_parser("answers", help="the answer key for a roster of students")
    answers.add_argument("keys", nargs="*", metavar="KEY", help="exercises (default: all)")
    answers.add_argument(
        "--roster",
        required=True,
        type=Path,
        help="student ids, one a line, or a CSV with a 'student' column",
    )
    _common(answers)
    answers.set_defaults(func=answers_command)
    grader = sub.add_parser("grade", help="re-check saved notebooks or JSON answers")
    grader.add_argument(
        "submissions",
        nargs="+",
        type=Path,
        metavar="SUBMISSION",
        help="a saved lesson notebook (.ipynb), or a JSON list of {student, key, answer}",
    )
    _common(grader)
    grader.set_defaults(func=grade_command)
    nbg = sub.add_parser("assignment", help="a lesson as an nbgrader assignment")
    nbg.add_argument(
        "lesson",
        type=Path,
        metavar="LESSON",
        help="a notebook file, or the name of a shipped lesson (e.g. 00_tour)",
    )
    nbg.add_argument("--course-dir", required=True, type=Path, help="the nbgrader course folder")
    nbg.add_argument(
        "--name",
        help="the assignment's name, a folder under source/ (default: the lesson's file name)",
    )
    nbg.add_argument(
        "--force",
        action="store_true",
        help="overwrite source/NAME/LESSON.ipynb if it exists (as nbgrader's own --force)",
    )
    nbg.add_argument("--course", help="the course id written to coreylab-course.toml")
    nbg.add_argument("--graded", action="store_true", help="students get no feedback")
    nbg.set_defaults(func=assignment_command)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--course", help="the course id (default: COREYLAB_COURSE, then the course file)"
    )
    parser.add_argument(
        "--format", choices=["json", "csv"], default="json", help="json (default) or csv"
    )


def _course(args: argparse.Namespace) -> str:
    try:
        return course_id(args.course)
    except CourseError as e:
        raise CliError(str(e)) from None


def answers_command(args: argparse.Namespace) -> int:
    unknown = [k for k in args.keys if k not in SPECS]
    if unknown:
        raise CliError(f"no exercise {', '.join(unknown)}; exercises: {', '.join(SPECS)}")
    try:
        students = read_roster(args.roster)
    except SubmissionError as e:
        raise CliError(str(e)) from None
    rows = answer_key(students, args.keys, _course(args))
    if args.format == "csv":
        sys.stdout.write(to_csv(rows, ("student", "key", "question", "answer")))
    else:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
    return 0


def grade_command(args: argparse.Namespace) -> int:
    course = _course(args)
    attempts, failed = [], 0
    for path in args.submissions:
        try:
            mine = read_submission(path)
            unknown = sorted({a["key"] for a in mine} - set(SPECS))
            if unknown:
                raise SubmissionError(f"{path}: unknown exercise(s) {', '.join(unknown)}")
        except SubmissionError as e:
            print(f"coreylab grade: {e}", file=sys.stderr)
            failed += 1
            continue
        _warn_other_courses(path, mine, course)
        attempts.extend(mine)
    rows, totals = grade(attempts, course)
    if args.format == "csv":
        sys.stdout.write(to_csv(rows, ANSWER_FIELDS) + "\n" + to_csv(totals, TOTAL_FIELDS))
    else:
        print(
            json.dumps(
                {"course": course, "answers": rows, "totals": totals}, indent=1, ensure_ascii=False
            )
        )
    return EXIT_SOME_FAILED if failed else 0


def _warn_other_courses(path: Path, attempts: list[dict], course: str) -> None:
    """Answers recorded under another course are graded on other variants (the course id is
    in every seed): most will come out wrong. Say so, once per submission, and go on."""
    other = other_courses(attempts, course)
    if other:
        who = "; ".join(
            f"{student} in {' and '.join(map(_shown, sorted(ids)))}"
            for student, ids in sorted(other.items())
        )
        print(
            f"coreylab grade: warning: {path}: answers recorded in another course ({who}), "
            f"graded in course {_shown(course)}",
            file=sys.stderr,
        )


def _shown(course: str) -> str:
    return repr(course) if course else "'' (no course id)"


def assignment_command(args: argparse.Namespace) -> int:
    source = _lesson_file(args.lesson)
    try:
        lesson = json.loads(source.read_text())
        lesson["cells"]  # noqa: B018  (a notebook has cells)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        raise CliError(f"{args.lesson}: not a readable notebook") from None
    name = _assignment_name(args.name or source.stem)
    folder = args.course_dir / "source" / name
    target = folder / source.name
    if args.course_dir.exists() and not args.course_dir.is_dir():
        raise CliError(f"{args.course_dir} exists and is not a folder")
    existed = target.exists()
    if existed and not args.force:
        raise CliError(f"{target} exists already; --force overwrites it")
    try:
        _write_assignment(args, lesson, folder, target)
    except OSError as e:
        raise CliError(f"cannot write in {args.course_dir}: {e.strerror or e}") from None
    done = "overwrote" if existed else "wrote"
    print(f"{done} {target}; next: cd {args.course_dir} && nbgrader generate_assignment {name}")
    return 0


def _lesson_file(given: Path) -> Path:
    """A notebook file, or the name of a lesson this install ships ("00_tour"), as `coreylab
    lab --voila` takes it."""
    if given.is_file() or given.suffix == ".ipynb" and given.parent != Path():
        return given
    try:
        return lesson_path(packaged_lessons(), str(given))
    except CliError as e:
        raise CliError(f"{given}: no such notebook file, and {e}") from None


def _assignment_name(name: str) -> str:
    """nbgrader's assignment id, a folder under source/: a plain name, never a path."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise CliError(f"--name takes a name (letters, digits, '_', '-', '.'), not {name!r}")
    return name


def _write_assignment(args: argparse.Namespace, lesson: dict, folder: Path, target: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(assignment(lesson), indent=1) + "\n")
    config = args.course_dir / "nbgrader_config.py"
    if not config.exists():
        config.write_text(NBGRADER_CONFIG.format(course=args.course or "coreylab"))
    course_file = f"course = {json.dumps(_course(args))}\ngraded = {str(args.graded).lower()}\n"
    for where in (args.course_dir, folder):  # the course folder (grading), the release (students)
        if not (where / COURSE_FILE).exists():
            (where / COURSE_FILE).write_text(course_file)


NBGRADER_CONFIG = """\
# nbgrader's configuration for a coreylab course (written by `coreylab assignment`)
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "{course}"
c.Execute.timeout = 300  # a lesson runs in under a minute; slow machines get room
"""
