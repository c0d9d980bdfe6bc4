"""`coreylab lab --present`: the lessons in Voila for a room, where predictions and runs show
but no exercise answer ever does, and nothing asks the audience to edit code it cannot see."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import coreylab as lab
from coreylab.cli import main
from coreylab.cli.lab import CSP
from coreylab.exercises import course
from coreylab.exercises.engine import NO_ANSWER

FLAGS = (
    "COREYLAB_PRESENT",
    "COREYLAB_GRADED",
    "COREYLAB_DASHBOARD",
    "COREYLAB_COURSE",
    "JUPYTER_TOKEN",
    "JUPYTER_CONFIG_PATH",
)


class Launched(BaseException):  # main() reports an Exception; this must pass through
    """Raised instead of replacing the process: holds what would have run, and with what."""

    def __init__(self, argv: list[str]) -> None:
        super().__init__(argv)
        self.argv = argv
        self.env = dict(os.environ)


@pytest.fixture
def launch(monkeypatch):
    for name in FLAGS:  # set, then unset: monkeypatch then restores them after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)

    def execv(program, argv):
        raise Launched(list(argv))

    monkeypatch.setattr(os, "execv", execv)

    def run(*args: str) -> Launched:
        with pytest.raises(Launched) as caught:
            main(["lab", *args])
        return caught.value

    return run


@pytest.fixture
def presenting(monkeypatch):
    monkeypatch.setenv("COREYLAB_PRESENT", "1")
    monkeypatch.setenv("COREYLAB_GRADED", "1")


def test_present_serves_one_lesson_in_voila_with_answers_off(launch):
    launched = launch("--present", "02_fd_table_and_shares")
    assert Path(launched.argv[0]).name == "voila"
    assert any(arg.endswith("notebooks/02_fd_table_and_shares.ipynb") for arg in launched.argv)
    assert launched.env["COREYLAB_PRESENT"] == "1"
    assert launched.env["COREYLAB_GRADED"] == "1"  # belt and braces: graded hides answers too


def test_present_without_a_lesson_serves_the_folder(launch):
    launched = launch("--present")
    assert Path(launched.argv[0]).name == "voila"
    assert any(Path(arg).name == "notebooks" for arg in launched.argv)


def test_plain_voila_leaves_answers_alone(launch):
    launched = launch("--voila", "00_tour")
    assert "COREYLAB_PRESENT" not in launched.env
    assert "COREYLAB_GRADED" not in launched.env
    assert launched.env["COREYLAB_DASHBOARD"] == "1"  # but asks no one to edit hidden code


def test_voila_gets_its_csp_header_from_a_config_file_not_the_command_line(launch):
    """The header that keeps the browser off the CDN, as voila.json on the config path (its
    JSON form on the command line is deprecated: a warning in the lecturer's terminal)."""
    launched = launch("--voila", "00_tour")
    assert not [arg for arg in launched.argv if "tornado_settings" in arg]
    first = Path(launched.env["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0])
    assert first.stat().st_mode & 0o777 == 0o700  # private: no other user writes Voila's config
    settings = json.loads((first / "voila.json").read_text(encoding="utf-8"))
    assert settings["Voila"]["tornado_settings"]["headers"] == {"Content-Security-Policy": CSP}


@pytest.fixture
def dashboard(monkeypatch):
    for name in ("COREYLAB_PRESENT", "COREYLAB_GRADED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COREYLAB_DASHBOARD", "1")


def test_a_dashboard_asks_for_no_code_and_still_reveals_a_checked_answer(
    dashboard, capsys, monkeypatch
):
    """A plain Voila page: no "replace None", no "check an answer first" (there is no code
    to edit), no student-id warning; a checked answer reveals as in a notebook."""
    monkeypatch.setattr(course, "_SAID", set())  # warnings not yet given in this process
    ex = lab.exercise("02.lock-count", "student-id", course="")
    assert capsys.readouterr() == ("", "")  # no anonymous-student warning
    for quiet in (ex.check(None), ex.check("  "), ex.reveal()):
        assert quiet.shown and str(quiet).strip() == ""
    assert lab.exercises.identify("student-id").startswith("Dashboard:")
    ex.check(3)
    assert "The answer:" in str(ex.reveal())


def test_presenting_shows_no_answer_even_after_a_check(presenting, capsys):
    ex = lab.exercise("02.lock-count", "alice", course="c")
    placeholder = ex.check(None)
    assert placeholder.shown and str(placeholder).strip() == ""  # no "replace None" prompt
    assert NO_ANSWER not in str(placeholder)
    ex.check(1)  # an attempt, recorded: would unlock reveal() outside a presentation
    for shown in (ex.reveal(), ex.give_up()):
        assert shown.shown and str(shown).strip() == ""
    assert ex.question  # the question itself still shows


def test_presenting_says_so_instead_of_asking_for_a_student_id(presenting):
    assert lab.exercises.identify("student-id") == (
        "Presentation: questions and predictions only; answers are not shown."
    )


def test_an_unanswered_prediction_prints_no_result_in_a_presentation(presenting, capsys):
    p = lab.predict("t.x", "Which?", choices=["a", "b"])
    p.compare("a")
    assert capsys.readouterr().out == ""
    p.lock("b")  # a lecturer who locks in the room's answer sees the comparison
    p.compare("a")
    assert "You predicted b" in capsys.readouterr().out
