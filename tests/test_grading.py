"""The staff's commands: `coreylab answers` (the answer key for a roster) and `coreylab grade`
(every saved answer re-checked by the simulator, whatever verdict the student saw)."""

import csv
import io
import json

import nbformat
import pytest
from nbclient import NotebookClient

from coreylab.cli import main
from coreylab.exercises import exercise
from coreylab.exercises.engine import SPECS
from coreylab.exercises.record import MIME, plain

COURSE = "os-test"


@pytest.fixture(autouse=True)
def no_course_from_the_machine(monkeypatch, tmp_path):
    monkeypatch.delenv("COREYLAB_COURSE", raising=False)
    monkeypatch.delenv("COREYLAB_GRADED", raising=False)
    monkeypatch.chdir(tmp_path)


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def right(key, student):
    return plain(exercise(key, student, COURSE)._solution())


def test_answers_gives_one_row_per_student_and_exercise(capsys, tmp_path):
    roster = tmp_path / "roster.txt"
    roster.write_text("# section A\nada\n\nbob\n")
    code, out, _ = run_cli(
        capsys, "answers", "02.lock-count", "01.states", "--roster", roster, "--course", COURSE
    )
    rows = json.loads(out)
    assert code == 0 and [(r["student"], r["key"]) for r in rows] == [
        ("ada", "02.lock-count"),
        ("ada", "01.states"),
        ("bob", "02.lock-count"),
        ("bob", "01.states"),
    ]
    for r in rows:
        assert r["answer"] == right(r["key"], r["student"])
        assert r["question"] == exercise(r["key"], r["student"], COURSE).question


def test_answers_reads_a_csv_roster_and_writes_csv(capsys, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("name,student\nAda Lovelace,ada\nBob,bob\n")
    code, out, _ = run_cli(
        capsys, "answers", "01.states", "--roster", roster, "--course", COURSE, "--format", "csv"
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [r["student"] for r in rows] == ["ada", "bob"]
    assert rows[0]["answer"] == " ".join(right("01.states", "ada")).replace(" ", ", ")


def test_answers_for_every_exercise_by_default(capsys, tmp_path):
    roster = tmp_path / "r.txt"
    roster.write_text("ada\n")
    _, out, _ = run_cli(capsys, "answers", "--roster", roster, "--course", COURSE)
    assert [r["key"] for r in json.loads(out)] == list(SPECS)


def test_answers_refuses_an_unknown_key_or_an_empty_roster(capsys, tmp_path):
    roster = tmp_path / "r.txt"
    roster.write_text("ada\n")
    code, _, err = run_cli(capsys, "answers", "99.nope", "--roster", roster)
    assert code == 2 and "99.nope" in err and err.count("\n") == 1
    roster.write_text("# nobody\n")
    code, _, err = run_cli(capsys, "answers", "--roster", roster)
    assert code == 2 and "no student ids" in err


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("r.txt", "ada\nbob\nada\n", "listed more than once: ada"),
        ("r.csv", "student\nada\nada\n", "listed more than once: ada"),
        ("r.csv", "name\nada\n", "a CSV roster needs a 'student' column"),
    ],
)
def test_a_roster_with_a_student_twice_or_no_student_column_is_refused(
    capsys, tmp_path, name, text, message
):
    (tmp_path / name).write_text(text)
    code, out, err = run_cli(capsys, "answers", "01.states", "--roster", tmp_path / name)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_a_json_submission_names_its_bad_entries(capsys, tmp_path):
    good = {"student": "ada", "key": "01.states", "answer": "M I"}
    path = tmp_path / "a.json"
    path.write_text(json.dumps([good, {"student": "ada"}, good, "M I"]))
    code, _, err = run_cli(capsys, "grade", path)
    assert code == 3 and "entry 1, 3 (counting from 0) is not" in err and "a.json" in err


def test_a_blank_json_answer_is_no_attempt_as_in_a_notebook(capsys, tmp_path):
    """None or a blank string after a right answer: the right one stays the final one (a
    notebook's check of None or "" records nothing either)."""
    answers = [
        {"student": "ada", "key": "02.lock-count", "answer": right("02.lock-count", "ada")},
        {"student": "ada", "key": "02.lock-count", "answer": "  "},
        {"student": "ada", "key": "02.lock-count", "answer": None},
    ]
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers))
    code, out, _ = run_cli(capsys, "grade", "--course", COURSE, path)
    graded = json.loads(out)
    assert code == 0
    assert [(r["correct"], r["final"]) for r in graded["answers"]] == [(True, True)]


def test_grade_rechecks_answers_and_never_trusts_a_recorded_verdict(capsys, tmp_path):
    answers = [
        {
            "student": "ada",
            "key": "02.lock-count",
            "answer": right("02.lock-count", "ada") + 3,
            "correct": True,
        },  # a forged verdict: ignored
        {"student": "ada", "key": "02.lock-count", "answer": right("02.lock-count", "ada")},
        {"student": "bob", "key": "01.states", "answer": right("01.states", "bob")},
        {"student": "bob", "key": "02.lock-count", "kind": "give-up"},
        {"student": "bob", "key": "02.lock-count", "answer": right("02.lock-count", "bob")},
    ]
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers))
    code, out, _ = run_cli(capsys, "grade", "--course", COURSE, path)
    graded = json.loads(out)
    assert code == 0
    assert [(r["student"], r["correct"], r["final"]) for r in graded["answers"]] == [
        ("ada", False, False),
        ("ada", True, True),
        ("bob", True, True),
        ("bob", True, False),
    ]
    assert graded["totals"] == [
        {"student": "ada", "right": 1, "answered": 1, "gave_up": 0, "exercises": 1},
        {"student": "bob", "right": 1, "answered": 1, "gave_up": 1, "exercises": 2},
    ]


def test_grade_in_another_course_marks_the_answers_wrong(capsys, tmp_path):
    """Answers do not transfer between offerings: the course id is in every seed."""
    path = tmp_path / "a.json"
    keys = ["02.lock-count", "00.remote-load", "03.mmap-sem", "06.web-growth"]
    path.write_text(
        json.dumps([{"student": "ada", "key": k, "answer": right(k, "ada")} for k in keys])
    )
    _, out, _ = run_cli(capsys, "grade", "--course", "another-year", path)
    assert sum(r["correct"] for r in json.loads(out)["answers"]) < len(keys)


def test_answers_recorded_in_another_course_are_graded_with_one_warning(capsys, tmp_path):
    """A record keeps the course its kernel used: grading under another id warns once per
    such submission, naming the student and both ids, and still grades it."""
    key = "00.remote-load"
    mine = [{"student": "ada", "key": key, "answer": right(key, "ada"), "course": COURSE}]
    theirs = [
        {"student": "bob", "key": key, "answer": 1, "course": ""},
        {"student": "bob", "key": "01.states", "answer": "M I", "course": ""},
        {"student": "cy", "key": key, "answer": 1, "course": "old-year"},
    ]
    (tmp_path / "mine.json").write_text(json.dumps(mine))
    (tmp_path / "theirs.json").write_text(json.dumps(theirs))
    code, out, err = run_cli(
        capsys, "grade", "--course", COURSE, tmp_path / "mine.json", tmp_path / "theirs.json"
    )
    assert code == 0 and len(json.loads(out)["answers"]) == 4
    [line] = err.strip().splitlines()
    assert "theirs.json" in line and "warning" in line
    assert "bob in '' (no course id)" in line and "cy in 'old-year'" in line
    assert f"graded in course '{COURSE}'" in line


def test_unreadable_and_foreign_files_are_named_and_the_rest_graded(capsys, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps([{"student": "ada", "key": "01.states", "answer": "M I"}]))
    bad = {
        "broken.json": "[{",
        "foreign.json": json.dumps({"grades": [1, 2]}),
        "unknown.json": json.dumps([{"student": "ada", "key": "99.nope", "answer": 1}]),
        "empty.ipynb": json.dumps(nbformat.v4.new_notebook()),
        "garbage.ipynb": "\x00\x01",
    }
    for name, text in bad.items():
        (tmp_path / name).write_text(text)
    code, out, err = run_cli(
        capsys,
        "grade",
        "--format",
        "csv",
        good,
        *(tmp_path / n for n in bad),
        tmp_path / "missing.json",
    )
    assert code == 3
    lines = err.strip().splitlines()
    assert len(lines) == len(bad) + 1
    for name in [*bad, "missing.json"]:
        assert sum(name in line for line in lines) == 1, name
    assert out.splitlines()[1].startswith("ada,01.states,M I,")


def test_a_saved_notebook_is_the_submission(capsys, tmp_path):
    """A real kernel runs check() cells; the saved .ipynb holds the records; grade reads them
    back and re-checks them."""
    lock, states = right("02.lock-count", "ada"), right("01.states", "ada")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(s)
        for s in [
            'import coreylab as lab\nSTUDENT = "ada"',
            f'ex1 = lab.exercise("02.lock-count", STUDENT, course="{COURSE}")\nex1',
            f"ex1.check({lock + 1})",
            f"fb = ex1.check({lock})  # assigned, not displayed: still recorded",
            f'ex2 = lab.exercise("01.states", STUDENT, course="{COURSE}")\nex2.reveal()',
            "ex2.give_up()",
        ]
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    saved = tmp_path / "lesson.ipynb"
    nbformat.write(nb, saved)
    reveal = nb.cells[4].outputs
    assert "Try first" in json.dumps(reveal) and "".join(states) not in json.dumps(reveal)
    records = [
        o["data"][MIME] for c in nb.cells for o in c.get("outputs", []) if MIME in o.get("data", {})
    ]
    assert [(r["kind"], r["answer"]) for r in records] == [
        ("check", lock + 1),
        ("check", lock),
        ("give-up", None),
    ]
    assert len(nb.cells[2].outputs) == 1, "a check is shown once"
    code, out, _ = run_cli(capsys, "grade", "--course", COURSE, saved)
    graded = json.loads(out)
    assert code == 0 and [r["correct"] for r in graded["answers"]] == [False, True]
    assert graded["totals"][0] | {} == {
        "student": "ada",
        "right": 1,
        "answered": 1,
        "gave_up": 1,
        "exercises": 2,
    }


def test_assignment_takes_a_lesson_name_and_refuses_paths_files_and_overwrites(capsys, tmp_path):
    """`assignment 00_tour` finds the shipped lesson (as `lab --voila 00_tour` does); a file
    for the course folder, a path for --name, or an existing assignment without --force get
    one line and exit 2, and nothing is written outside source/."""
    course = tmp_path / "course"
    code, out, _ = run_cli(capsys, "assignment", "00_tour", "--course-dir", course)
    written = course / "source" / "00_tour" / "00_tour.ipynb"
    assert code == 0 and out.startswith(f"wrote {written}") and written.is_file()
    (tmp_path / "file").write_text("")
    for argv, message in [
        (["00_tour", "--course-dir", course], "exists already; --force overwrites it"),
        (["00_tour", "--course-dir", tmp_path / "file"], "exists and is not a folder"),
        (["00_tour", "--course-dir", course, "--name", "../escape"], "takes a name"),
        (["00_tour", "--course-dir", course, "--name", "a/b"], "takes a name"),
        (["99_nope", "--course-dir", course], "lessons: 00_tour, "),
    ]:
        code, _, err = run_cli(capsys, "assignment", *argv)
        assert code == 2 and message in err and err.count("\n") == 1, (argv, err)
    assert sorted(p.name for p in (course / "source").iterdir()) == ["00_tour"]
    assert not (course / "escape").exists() and not (tmp_path / "escape").exists()
    code, out, _ = run_cli(capsys, "assignment", "00_tour", "--course-dir", course, "--force")
    assert code == 0 and out.startswith(f"overwrote {written}")
