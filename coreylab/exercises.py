"""Exercises that ask before they reveal, seeded per student and checked by code.

How a notebook uses one (OSTEP's `-c` flag: predict, then reveal):

    ex = exercise("01.states", student="s1234567")
    ex                      # shows the question, this student's own variant of it
    ex.check("M I")         # right or wrong, with a hint when wrong
    ex.reveal()             # the answer and why, computed by the simulator

Every answer comes out of a simulation run on the variant's machine, never out of a formula
here: change the simulator and the answers change with it. Course staff grade in code:
`exercise(key, student).check(answer).correct`. The same student always gets the same
variant (the seed is a hash of the key and the student id, not Python's salted `hash`).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .hardware import HardwareParams, ParamError


@dataclass(frozen=True)
class Feedback:
    correct: bool
    message: str

    def __str__(self) -> str:
        return ("Right. " if self.correct else "Not quite. ") + self.message

    def _repr_markdown_(self) -> str:
        verdict, rest = ("Right.", self.message) if self.correct else ("Not quite.", self.message)
        return f"**{verdict}** {rest}"

    def __bool__(self) -> bool:
        return self.correct


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


class Exercise:
    """One student's variant of an exercise."""

    def __init__(self, spec: Spec, student: str | int = 0) -> None:
        self.spec = spec
        self.student = str(student)
        digest = hashlib.sha256(f"{spec.key}:{self.student}".encode()).digest()
        self.seed = int.from_bytes(digest[:8], "big")
        self.variant = spec.draw(random.Random(self.seed))
        self._answer: Any = None

    @property
    def question(self) -> str:
        return self.spec.ask(self.variant)

    @property
    def answer(self) -> Any:
        if self._answer is None:
            self._answer = self.spec.solve(self.variant)
        return self._answer

    def check(self, response: Any) -> Feedback:
        if response is None:
            return Feedback(False, "No answer yet: replace None with your prediction.")
        try:
            given = self.spec.parse(response)
        except (ValueError, TypeError, KeyError) as e:
            return Feedback(False, f"I could not read that answer: {e}. {self.spec.hint}")
        if self.spec.judge(self.answer, given):
            return Feedback(True, self.spec.explain(self.variant, self.answer))
        return Feedback(False, self.spec.hint)

    def reveal(self) -> Feedback:
        return Feedback(True, self.spec.explain(self.variant, self.answer))

    def __repr__(self) -> str:
        return f"[{self.spec.key}] {self.question}"

    def _repr_markdown_(self) -> str:
        return f"**Exercise {self.spec.key}** — {self.question}"


SPECS: dict[str, Spec] = {}


def register(spec: Spec) -> Spec:
    SPECS[spec.key] = spec
    return spec


def exercise(key: str, student: str | int = 0) -> Exercise:
    """This student's variant of exercise `key` (see `SPECS` for the keys)."""
    try:
        return Exercise(SPECS[key], student)
    except KeyError:
        raise KeyError(f"no exercise {key!r}; exercises: {', '.join(SPECS)}") from None


# -- small tools for specs ----------------------------------------------------------------------
def within(tolerance: float) -> Callable[[Any, Any], bool]:
    def judge(expected: float, given: float) -> bool:
        return abs(given - expected) <= tolerance * abs(expected)

    return judge


def parse_number(response: Any) -> float:
    if isinstance(response, bool):
        raise ValueError("a number, please")
    try:
        return float(str(response).replace(",", "").strip())
    except ValueError:
        raise ValueError(f"{response!r} is not a number") from None


def parse_states(response: Any) -> tuple[str, ...]:
    """'M I', 'M,I', ['M', 'I'] or {0: 'M', 1: 'I'} -> ('M', 'I')."""
    if isinstance(response, dict):
        response = [response[k] for k in sorted(response)]
    if isinstance(response, str):
        response = response.replace(",", " ").split()
    states = tuple(str(s).strip().upper() for s in response)
    if not states or any(s not in {"M", "O", "E", "S", "I"} for s in states):
        raise ValueError("states are letters among M, O, E, S, I")
    return states


def checked_params(preset: str, **changes: Any) -> HardwareParams:
    try:
        return HardwareParams.preset(preset).replace(**changes)
    except ParamError as e:  # a spec drew an impossible machine: a bug in the spec
        raise RuntimeError(f"exercise drew an impossible machine: {e}") from e


from . import exercise_specs  # noqa: E402,F401  (registers the lessons' exercises)
