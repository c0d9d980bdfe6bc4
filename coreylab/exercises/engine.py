"""Exercises that ask before they reveal, seeded per student and course, checked by code.

How a notebook uses one (OSTEP's `-c` flag: predict, then reveal):

    ex = exercise("01.states", student="s1234567")
    ex                      # the question: this student's own variant of it
    ex.check("M I")         # right or wrong, with a hint when wrong; recorded in the notebook
    ex.reveal()             # the answer and why, once the student has tried (or given up)
    ex.give_up()            # recorded, then the answer

Every answer comes out of a simulation run on the variant's machine, never out of a formula
here: change the simulator and the answers change with it. What a student holds has no
answer attribute; `reveal()` shows nothing before an attempt, and graded mode (`course.py`)
shows neither the answer nor right/wrong. Course staff grade with `grading.py` (the CLI's
`coreylab answers` and `coreylab grade`), which re-checks every recorded answer.

A spec may `admit` only some variants (for fairness, e.g. a ranking whose options differ by
at least 10%): the draw then goes on with the same seeded generator until one is admitted.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import record
from .course import course_id, dashboard, graded_mode, presenting, seed, warn_if_anonymous
from .judging import parse_number, within

DRAWS = 200  # draws before a spec that admits no variant is called broken
NO_ANSWER = "replace None with your prediction, then run the cell again."


@dataclass
class Feedback:
    """What a student sees: a verdict ("Right.", "Not quite.", "The answer:", ...) and why.
    `correct` is None when no right/wrong is given (a reveal, graded mode, no answer)."""

    verdict: str
    message: str
    correct: bool | None = None
    shown: bool = field(default=False, repr=False, compare=False)  # already displayed

    def __str__(self) -> str:
        return f"{self.verdict} {self.message}"

    def __bool__(self) -> bool:
        return self.correct is True

    def _repr_markdown_(self) -> str:
        return f"**{self.verdict}** {self.message}"

    def _ipython_display_(self) -> None:
        if self.shown:  # check() showed it already, with its record
            return
        from IPython.display import display

        display({"text/markdown": self._repr_markdown_(), "text/plain": str(self)}, raw=True)


SILENT = Feedback("", "", shown=True)  # a presentation's check(None) and reveal(): nothing


@dataclass(frozen=True)
class Spec:
    """One exercise: how to draw a variant, ask it, solve it by simulation, and judge."""

    key: str
    lesson: str
    draw: Callable[[random.Random], dict]
    ask: Callable[[dict], str]
    solve: Callable[[dict], Any]
    judge: Callable[[Any, Any], bool]
    explain: Callable[[dict, Any], str]
    hint: str
    parse: Callable[[Any], Any] = lambda x: x
    admit: Callable[[dict, Any], bool] | None = None  # fairness: is this variant askable?


# -- solved variants, cached: a class of 200 draws far fewer distinct variants ---------------------
_SOLVED: dict[tuple[str, str], Any] = {}


def solved(spec: Spec, variant: dict) -> Any:
    """The simulator's answer to `variant` (cached by the variant's parameters)."""
    key = (spec.key, json.dumps(variant, sort_keys=True, default=str))
    if key not in _SOLVED:
        _SOLVED[key] = spec.solve(variant)
    return _SOLVED[key]


def draw(spec: Spec, rng: random.Random) -> dict:
    for _ in range(DRAWS):
        variant = spec.draw(rng)
        if spec.admit is None or spec.admit(variant, solved(spec, variant)):
            return variant
    raise RuntimeError(f"exercise {spec.key}: no admissible variant in {DRAWS} draws")


class Exercise:
    """One student's variant of an exercise, in one course."""

    def __init__(self, spec: Spec, student: str | int = 0, course: str | None = None) -> None:
        self.spec = spec
        self.student = str(student).strip()
        self.course = course_id(course)
        self.seed = seed(self.course, spec.key, self.student)
        self.variant = draw(spec, random.Random(self.seed))

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def question(self) -> str:
        text = self.spec.ask(self.variant)
        stated = getattr(self.spec.judge, "stated", None)
        return text if stated is None or stated in text else f"{text} ({stated})"

    def _solution(self) -> Any:
        return solved(self.spec, self.variant)

    def _judge(self, response: Any) -> tuple[bool, str | None]:
        """(right, why it could not be read): the simulator's verdict, never a recorded one."""
        try:
            given = self.spec.parse(response)
        except (ValueError, TypeError, KeyError) as e:
            return False, str(e)
        return bool(self.spec.judge(self._solution(), given)), None

    def check(self, response: Any) -> Feedback:
        """Judge `response`, record it (in this kernel and in the saved notebook), say why.
        None or a blank string is no answer yet: not recorded, not an attempt."""
        if record.no_answer(response):
            return SILENT if dashboard() else Feedback("No answer yet:", NO_ANSWER)
        rec = record.add("check", self.key, self.student, self.course, response)
        if graded_mode():
            feedback = Feedback("Recorded.", "Graded mode: your answer is saved with the notebook.")
        else:
            right, unreadable = self._judge(response)
            if unreadable is not None:
                message = f"I could not read that answer: {unreadable}. {self.spec.hint}"
                feedback = Feedback("Not quite.", message, False)
            elif right:
                feedback = Feedback(
                    "Right.", self.spec.explain(self.variant, self._solution()), True
                )
            else:
                feedback = Feedback("Not quite.", self.spec.hint, False)
        feedback.shown = record.publish(rec, feedback._repr_markdown_(), str(feedback))
        return feedback

    def give_up(self) -> Feedback:
        """Record that the student gave up, then reveal."""
        rec = record.add("give-up", self.key, self.student, self.course)
        record.publish(rec, f"*Gave up on {self.key} (recorded).*", f"Gave up on {self.key}.")
        return self.reveal()

    def reveal(self) -> Feedback:
        """The answer and why: only after a checked answer or `give_up()`, never in graded mode
        (nor in a presentation, which shows nothing here)."""
        if presenting():
            return SILENT
        if graded_mode():
            return Feedback("Graded mode:", "answers are not shown.")
        if not record.attempted(self.key, self.student, self.course):
            if dashboard():  # nothing checked yet, and no code to call .check or .give_up
                return SILENT
            return Feedback(
                "Try first:",
                "check an answer with .check(...) above. To see the answer without one, call "
                ".give_up() (that is recorded).",
            )
        return Feedback("The answer:", self.spec.explain(self.variant, self._solution()))

    def __repr__(self) -> str:
        return f"[{self.key}] {self.question}"

    def _repr_markdown_(self) -> str:
        return f"**Exercise {self.key}** — {self.question}"


SPECS: dict[str, Spec] = {}


def register(spec: Spec) -> Spec:
    SPECS[spec.key] = spec
    return spec


def register_number(tolerance: float, **fields: Any) -> Spec:
    """Register an exercise whose answer is a number, right when it is within `tolerance` (a
    fraction of the simulator's answer; 0 means exactly)."""
    return register(Spec(judge=within(tolerance), parse=parse_number, **fields))


def get_spec(key: str) -> Spec:
    try:
        return SPECS[key]
    except KeyError:
        raise KeyError(f"no exercise {key!r}; exercises: {', '.join(SPECS)}") from None


def exercise(key: str, student: str | int = 0, course: str | None = None) -> Exercise:
    """This student's variant of exercise `key` in this course (see `SPECS` for the keys)."""
    ex = Exercise(get_spec(key), student, course)
    warn_if_anonymous(ex.student, ex.course)
    return ex


def is_correct(key: str, student: str, answer: Any, course: str = "") -> bool:
    """Re-check one answer with the simulator (what graders use; nothing is recorded)."""
    return Exercise(get_spec(key), student, course)._judge(answer)[0]
