"""`coreylab lessons DIR`: the packaged lessons reach a working folder, and a student's edits
are never overwritten (kept, with the new version written beside them, and said so). And two
checks on the lessons themselves: each says to run its cells one at a time, and compares each
prediction only after the cell that asks it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from coreylab.cli import lessons as les
from coreylab.cli import main

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture
def packaged(tmp_path, monkeypatch):
    """A stand-in for the packaged lessons: two small notebooks whose text a test can change."""
    folder = tmp_path / "package"
    folder.mkdir()
    (folder / "00_a.ipynb").write_text('{"v": 1}')
    (folder / "01_b.ipynb").write_text('{"v": 1}')
    monkeypatch.setattr(les, "packaged_lessons", lambda: folder)
    return folder


def test_copies_every_lesson_of_the_checkout(tmp_path, capsys):
    """From a checkout the lessons are notebooks/: all eight land in DIR, byte for byte, each
    reported as copied; a second run finds them up to date."""
    assert main(["lessons", str(tmp_path / "work")]) == 0
    out = capsys.readouterr().out
    assert [line.split(":")[0] for line in out.splitlines()[:-1]] == LESSONS
    assert out.count(": copied") == len(LESSONS) == 8
    for name in LESSONS:
        assert (tmp_path / "work" / name).read_bytes() == (ROOT / "notebooks" / name).read_bytes()
    main(["lessons", str(tmp_path / "work")])
    assert capsys.readouterr().out.count(": up to date") == 8


def test_an_unedited_lesson_is_updated(packaged, tmp_path):
    """A lesson the student never touched follows the package to its new version."""
    work = tmp_path / "work"
    les.copy_lessons(work)
    (packaged / "00_a.ipynb").write_text('{"v": 2}')
    assert dict(les.copy_lessons(work)) == {"00_a.ipynb": "updated", "01_b.ipynb": "up to date"}
    assert (work / "00_a.ipynb").read_text() == '{"v": 2}'


def test_an_edited_lesson_is_kept_and_the_new_one_written_beside_it(packaged, tmp_path):
    """The student's edit survives an update; the new version goes to NAME.new.ipynb; the
    next update refreshes that file (still untouched), never the student's."""
    work = tmp_path / "work"
    les.copy_lessons(work)
    (work / "00_a.ipynb").write_text('{"mine": 1}')
    (packaged / "00_a.ipynb").write_text('{"v": 2}')
    outcome = dict(les.copy_lessons(work))["00_a.ipynb"]
    assert outcome == "kept (you edited it); the new version is 00_a.new.ipynb"
    assert (work / "00_a.ipynb").read_text() == '{"mine": 1}'
    assert (work / "00_a.new.ipynb").read_text() == '{"v": 2}'
    (packaged / "00_a.ipynb").write_text('{"v": 3}')
    les.copy_lessons(work)
    assert (work / "00_a.ipynb").read_text() == '{"mine": 1}'
    assert (work / "00_a.new.ipynb").read_text() == '{"v": 3}'


def test_an_edited_new_version_is_not_overwritten_either(packaged, tmp_path):
    work = tmp_path / "work"
    les.copy_lessons(work)
    (work / "00_a.ipynb").write_text('{"mine": 1}')
    (packaged / "00_a.ipynb").write_text('{"v": 2}')
    les.copy_lessons(work)
    (work / "00_a.new.ipynb").write_text('{"mine too": 1}')
    (packaged / "00_a.ipynb").write_text('{"v": 3}')
    outcome = dict(les.copy_lessons(work))["00_a.ipynb"]
    assert outcome == "kept (you edited it); 00_a.new.ipynb is edited too, so not copied"
    assert (work / "00_a.new.ipynb").read_text() == '{"mine too": 1}'


def test_without_a_record_a_differing_lesson_counts_as_the_students(packaged, tmp_path):
    """A folder with lessons but no record (copied by hand, or the record deleted): a file
    that differs from the package is kept, because nothing proves it was not edited."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "00_a.ipynb").write_text('{"v": 0}')
    (work / les.MANIFEST).write_text("not json")
    assert dict(les.copy_lessons(work))["00_a.ipynb"].startswith("kept (you edited it)")
    assert (work / "00_a.ipynb").read_text() == '{"v": 0}'


def test_a_file_in_the_way_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["lessons", str(tmp_path / "file")]) == 2
    assert (
        capsys.readouterr().err
        == f"coreylab: error: {tmp_path / 'file'} exists and is not a folder\n"
    )


ONE_AT_A_TIME = (
    "Run the cells one at a time (Shift+Enter), not with Run All: that way each prediction is "
    "locked in before the cell that answers it runs."
)


def cells_of(name: str) -> list[str]:
    return [
        "".join(c["source"]) for c in json.loads((ROOT / "notebooks" / name).read_text())["cells"]
    ]


@pytest.mark.parametrize("name", LESSONS)
def test_each_lesson_opens_by_saying_to_run_one_cell_at_a_time(name):
    """Run All would answer every prediction before the student locks it in: each lesson's
    first cell says so, in the same words everywhere."""
    assert ONE_AT_A_TIME in " ".join(cells_of(name)[0].split())


@pytest.mark.parametrize("name", LESSONS)
def test_each_prediction_is_asked_before_it_is_compared(name):
    """Every `p = lab.predict(...)` is compared (`p.compare(`) once, in a later cell."""
    cells = cells_of(name)
    asked = {m: i for i, c in enumerate(cells) for m in re.findall(r"(\w+) = lab\.predict\(", c)}
    assert asked, "a lesson without a prediction"
    for name_, at in asked.items():
        compared = [i for i, c in enumerate(cells) if f"{name_}.compare(" in c]
        assert len(compared) == 1 and compared[0] > at, (name_, at, compared)
