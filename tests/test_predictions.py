"""Predictions: asked before the result, locked in once, compared with what was measured."""

import pytest

from coreylab.predictions import MIMETYPE, predict


def test_a_choice_is_locked_in_once_and_compared_with_the_measurement(capsys):
    p = predict("t.drop", "From 1 to 2 cores?", choices=["doubles", "same", "drops"])
    assert p.lock("drops") == "Locked in: drops."
    assert p.lock("doubles").startswith("Already locked in: drops")
    assert p.value == "drops"
    assert p.compare("drops").endswith("as you predicted.")
    assert (
        p.compare("same")
        == "You predicted drops; the simulation gave same: not what you predicted."
    )
    assert "as you predicted" in capsys.readouterr().out


def test_no_prediction_says_so_and_still_shows_the_measurement():
    p = predict("t.n", "How many cycles?", unit="cycles")
    assert p.compare(121) == "No prediction was locked in above; the simulation gave 121 cycles."


def test_a_number_is_compared_as_a_ratio():
    p = predict("t.n", "How many cycles?", unit="cycles")
    p.lock("60")
    assert (
        p.compare(120.0)
        == "You predicted 60 cycles; the simulation gave 120 cycles (2x your guess)."
    )


def test_bad_predictions_are_refused_and_change_nothing():
    p = predict("t.c", "?", choices=["a", "b"])
    with pytest.raises(ValueError, match="choose one of: a, b"):
        p.lock("c")
    assert p.value is None
    q = predict("t.n", "?")
    with pytest.raises(ValueError, match="not a number"):
        q.lock("many")
    assert q.value is None
    with pytest.raises(ValueError, match="two choices"):
        predict("t.one", "?", choices=["only"])


def test_the_widget_button_locks_the_choice_and_disables_itself():
    p = predict("t.w", "?", choices=["a", "b"])
    box = p.widget()
    field, (button, status) = box.children[1], box.children[2].children
    button.click()  # nothing chosen yet
    assert p.value is None and "choose one of" in status.value and not button.disabled
    field.value = "b"
    button.click()
    assert p.value == "b" and status.value == "Locked in: b." and button.disabled


def test_the_record_is_a_display_the_saved_notebook_keeps():
    p = predict("t.r", "?", choices=["a", "b"])
    p.lock("a")
    bundle = p._bundle("Locked in: a.")
    assert bundle[MIMETYPE]["key"] == "t.r" and bundle[MIMETYPE]["prediction"] == "a"
