"""Exercises: each student's own variant in each course, answers computed by the simulator,
hidden until an attempt, every attempt recorded."""

import pytest

from coreylab.exercises import SPECS, exercise, is_correct, record
from coreylab.exercises import course as course_mod
from coreylab.exercises.engine import Exercise, solved
from coreylab.exercises.record import MIME, plain


@pytest.fixture(autouse=True)
def clean_course(monkeypatch, tmp_path):
    """No course or graded mode leaks in from the machine, and a fresh attempt log."""
    monkeypatch.delenv("COREYLAB_COURSE", raising=False)
    monkeypatch.delenv("COREYLAB_GRADED", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(record, "LOG", [])


def wrong_for(answer):
    if isinstance(answer, tuple) and len(answer) == 2:
        return ("M", "M") if answer == ("I", "I") else ("I", "I")
    if isinstance(answer, tuple):  # a ranking: the reverse
        return tuple(reversed(answer))
    if isinstance(answer, frozenset):
        return ["linux-threads"] if "linux-threads" not in answer else ["corey-shares"]
    return answer * 3 + 7


@pytest.mark.parametrize("key", sorted(SPECS))
def test_the_simulated_answer_is_accepted_and_a_wrong_one_is_not(key):
    ex = exercise(key, "s0001", course="c1")
    answer = ex._solution()
    assert ex.check(plain(answer)).correct, "the answer key, typed back, must be accepted"
    feedback = ex.check(wrong_for(answer))
    assert feedback.correct is False and ex.spec.hint in feedback.message


@pytest.mark.parametrize("key", sorted(SPECS))
def test_unreadable_answers_get_a_message_not_a_traceback(key):
    feedback = exercise(key, "s0001", course="c1").check("forty-two?!")
    assert feedback.correct is False and "could not read" in feedback.message


JUNK = ["abc", 12, -1, 1.5, float("nan"), float("inf"), True, [1, 2], [None], {}, {"a": 1}]
PYTHON_WORDS = ("object", "iterable", "Error", "'int'", "'float'", "'bool'", "NoneType")


@pytest.mark.parametrize("key", sorted(SPECS))
def test_junk_gets_a_message_a_student_can_read(key):
    """Whatever is typed, the answer is wrong and the message says what form it takes, in
    the lesson's words: never a Python message such as "'int' object is not iterable"."""
    ex = exercise(key, "s0001", course="c1")
    for junk in JUNK:
        feedback = ex.check(junk)
        assert feedback.correct is False or junk in (12, 1.5), junk  # a number may be right
        if "could not read" in feedback.message:
            said = feedback.message.replace(ex.spec.hint, "")
            assert not any(w in said for w in PYTHON_WORDS), (junk, feedback)


def test_commas_are_read_only_between_thousands():
    """A comma reads as a thousands separator only: 2,048 is 2048; 1,5 (a decimal comma) is
    not read as 15, nor 1,,2 as 12."""
    from coreylab.exercises.judging import parse_number

    assert parse_number("2,048") == parse_number(" 2048 ") == 2048
    assert parse_number("-1,234.5") == -1234.5
    for text in ["1,5", "1,,2", "12,34", ",100"]:
        with pytest.raises(ValueError, match="commas only between thousands"):
            parse_number(text)


@pytest.mark.parametrize("blank", [None, "", "   \n"])
def test_a_blank_answer_is_no_answer_yet_and_unlocks_nothing(blank):
    """ "" is what a student leaves after deleting None: not an attempt, so not recorded, and
    reveal() still asks for one."""
    ex = exercise("02.lock-count", "s0001", course="c1")
    assert str(ex.check(blank)) == str(ex.check(None)) and ex.check(blank).correct is None
    assert record.LOG == [] and ex.reveal().verdict == "Try first:"


@pytest.mark.parametrize("key", sorted(SPECS))
def test_variants_are_per_student_and_stable(key):
    questions = {exercise(key, f"student{i}", course="c1").question for i in range(12)}
    assert len(questions) > 1, "every student would get the same question"
    assert exercise(key, "ada", "c1").question == exercise(key, "ada", "c1").question


def test_the_course_id_changes_the_variants():
    """The same student in another offering gets other questions: answers do not transfer."""

    def variants(course):
        return [exercise(k, "ada", course).variant for k in sorted(SPECS)]

    assert variants("fall") != variants("spring")
    assert sum(a != b for a, b in zip(variants("fall"), variants("spring"), strict=True)) >= 8


def test_the_course_id_comes_from_the_environment_then_the_course_file(monkeypatch, tmp_path):
    lesson = tmp_path / "course" / "lessons"
    lesson.mkdir(parents=True)
    (tmp_path / "course" / "coreylab-course.toml").write_text('course = "os-2026"\n')
    monkeypatch.chdir(lesson)
    assert exercise("01.states", "ada").course == "os-2026"  # found in a parent folder
    monkeypatch.setenv("COREYLAB_COURSE", "from-env")
    assert exercise("01.states", "ada").course == "from-env"
    assert exercise("01.states", "ada", course="flag").course == "flag"


def test_a_broken_course_file_is_one_line_naming_it(tmp_path):
    (tmp_path / "coreylab-course.toml").write_text("course = [unclosed\n")
    with pytest.raises(course_mod.CourseError, match="coreylab-course.toml") as e:
        exercise("01.states", "ada")
    assert "\n" not in str(e.value)


def test_no_student_or_no_course_is_said_once(monkeypatch, capsys):
    monkeypatch.setattr(course_mod, "_SAID", set())
    exercise("01.states", "student-id")
    exercise("00.dram-load", "student-id")
    err = capsys.readouterr().err
    assert err.count("No student id") == 1 and err.count("No course id") == 1
    exercise("01.states", "ada", course="c1")
    assert capsys.readouterr().err == ""


def test_nothing_is_revealed_before_an_attempt():
    """Run All: reveal() right after the question shows no answer and never says 'Right.'"""
    ex = exercise("00.remote-load", "s0001", "c1")
    assert not hasattr(ex, "answer")
    assert ex.check(None).correct is None  # "no answer yet" is not an attempt
    shown = ex.reveal()
    assert shown.verdict == "Try first:" and "Right" not in str(shown)
    assert str(int(ex._solution())) not in str(shown)
    ex.check(1)
    shown = ex.reveal()
    assert shown.verdict == "The answer:" and shown.correct is None
    assert str(int(ex._solution())) in shown.message


def test_giving_up_is_recorded_then_reveals():
    ex = exercise("02.lock-count", "s0001", "c1")
    shown = ex.give_up()
    assert shown.verdict == "The answer:"
    assert record.LOG[-1] | {"time": None} == {
        "kind": "give-up",
        "key": "02.lock-count",
        "student": "s0001",
        "course": "c1",
        "answer": None,
        "time": None,
    }


def test_every_check_is_recorded_without_a_verdict():
    ex = exercise("02.lock-count", "s0001", "c1")
    ex.check(3)
    ex.check("7")
    assert [(r["kind"], r["answer"]) for r in record.LOG] == [("check", 3), ("check", "7")]
    assert all("correct" not in r and r["time"].endswith("+00:00") for r in record.LOG)


def test_graded_mode_gives_no_feedback_and_no_reveal(monkeypatch):
    monkeypatch.setenv("COREYLAB_GRADED", "1")
    ex = exercise("02.lock-count", "s0001", "c1")
    right = plain(ex._solution())
    for answer in (right, right + 1):
        feedback = ex.check(answer)
        assert feedback.correct is None and feedback.verdict == "Recorded."
    assert ex.give_up().verdict == "Graded mode:"
    assert is_correct("02.lock-count", "s0001", right, "c1")  # graders still can


def test_graded_mode_from_the_course_file(tmp_path):
    (tmp_path / "coreylab-course.toml").write_text('course = "x"\ngraded = true\n')
    ex = exercise("02.lock-count", "s0001")
    assert ex.check(1).verdict == "Recorded." and ex.reveal().verdict == "Graded mode:"


def test_in_a_notebook_a_check_is_published_once_with_its_record(monkeypatch):
    """check() displays its feedback with the record in the same output, and the returned
    feedback does not display a second time."""
    published = []
    monkeypatch.setattr(record, "ipython", lambda: object())
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: published.append(obj))
    feedback = exercise("02.lock-count", "s0001", "c1").check(2)
    assert feedback.shown and len(published) == 1
    assert published[0][MIME]["answer"] == 2 and "text/markdown" in published[0]
    feedback._ipython_display_()
    assert len(published) == 1


def test_states_exercise_matches_a_hand_worked_case():
    """MOESI: core 0 stores x; then the other core loads it: O at the writer, S at the reader."""
    spec = SPECS["01.states"]
    assert solved(spec, {"protocol": "MOESI", "ops": [(0, "store"), (1, "load")]}) == ("O", "S")
    assert solved(spec, {"protocol": "MESI", "ops": [(1, "load")]}) == ("I", "E")
    assert solved(spec, {"protocol": "MSI", "ops": [(1, "load")]}) == ("I", "S")
    ex = Exercise(spec, "s0001", "c1")
    ex.variant.update(protocol="MOESI", ops=[(0, "store"), (1, "load")])
    assert ex.check("o, s").correct and ex.check({0: "O", 1: "S"}).correct


def test_unknown_exercise_names_the_known_ones():
    with pytest.raises(KeyError, match="01.states"):
        exercise("99.nope")


def test_no_answer_yet_is_said_plainly():
    feedback = exercise("00.remote-load", "s0001", "c1").check(None)
    assert feedback.correct is None and "replace None" in feedback.message
    assert feedback._repr_markdown_().startswith("**No answer yet:**")
    assert record.LOG == []


def test_numeric_questions_state_their_tolerance():
    for key, spec in SPECS.items():
        stated = getattr(spec.judge, "stated", None)
        if stated is not None:
            assert stated in exercise(key, "ada", "c1").question, key


def test_identify_names_the_student_and_course_or_warns(monkeypatch, capsys):
    monkeypatch.setattr(course_mod, "_SAID", set())
    assert course_mod.identify("ada", "os-1") == "Exercises for 'ada' in course 'os-1'."
    assert capsys.readouterr().err == ""
    course_mod.identify("student-id")
    assert "No student id" in capsys.readouterr().err
