"""Exercises: each student's own variant, answers computed by the simulator, checked by code."""

import pytest

from coreylab.exercises import SPECS, exercise


@pytest.mark.parametrize("key", sorted(SPECS))
def test_the_simulated_answer_is_accepted_and_a_wrong_one_is_not(key):
    ex = exercise(key, student="s0001")
    assert ex.check(ex.answer).correct
    if isinstance(ex.answer, tuple):
        wrong = ("M", "M") if ex.answer == ("I", "I") else ("I", "I")
    elif isinstance(ex.answer, frozenset):
        wrong = frozenset({"linux-threads"})
    else:
        wrong = ex.answer * 3 + 7
    feedback = ex.check(wrong)
    assert not feedback.correct and ex.spec.hint in feedback.message


@pytest.mark.parametrize("key", sorted(SPECS))
def test_unreadable_answers_get_a_message_not_a_traceback(key):
    feedback = exercise(key, "s0001").check("forty-two?!")
    assert not feedback.correct and "could not read" in feedback.message


@pytest.mark.parametrize("key", sorted(SPECS))
def test_variants_are_per_student_and_stable(key):
    questions = {exercise(key, f"student{i}").question for i in range(12)}
    assert len(questions) > 1, "every student would get the same question"
    assert exercise(key, "ada").question == exercise(key, "ada").question


def test_states_exercise_matches_a_hand_worked_case():
    """MOESI: core 0 stores x; then the other core loads it: O at the writer, S at the reader."""
    ex = exercise("01.states", "s0001")
    ex.variant.update(protocol="MOESI", ops=[(0, "store"), (1, "load")])
    ex._answer = None
    assert ex.answer == ("O", "S")
    assert ex.check("o, s").correct and ex.check({0: "O", 1: "S"}).correct


def test_unknown_exercise_names_the_known_ones():
    with pytest.raises(KeyError, match="01.states"):
        exercise("99.nope")


def test_no_answer_yet_is_said_plainly():
    feedback = exercise("00.remote-load", "s0001").check(None)
    assert not feedback.correct and "replace None" in feedback.message
    assert feedback._repr_markdown_().startswith("**Not quite.**")
