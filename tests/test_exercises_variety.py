"""Variants worth grading, over a simulated class of 200 students in one course.

For every exercise: at least 3 distinct correct answers, and no single answer accepted for
more than 60% of the class ("accepted" under the exercise's own judge, so two numbers within
its tolerance count as one answer). And every variant fair: a ranking's runs differ by at
least 10%, a "which scale" question never asks about a variant near its 75% line, a ring's
calls all cost the same so one measurement with the lesson's tool answers any count.

Answers come from the simulator, computed over the class at test time (cached per distinct
variant, so a class of 200 runs each distinct variant once): if the simulator changes, these
tests say whether the exercises are still worth grading.
"""

import functools
import json
import re
from pathlib import Path

import pytest

from coreylab.exercises import SPECS
from coreylab.exercises.basics import MARGIN, SCALES
from coreylab.exercises.engine import Exercise
from coreylab.exercises.record import plain
from coreylab.exercises.systems import RANK_GAP, ring_calls

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

pytestmark = pytest.mark.slow
CLASS, COURSE = 200, "variety-check"


@functools.cache
def the_class(key: str) -> tuple[list[Exercise], list]:
    spec = SPECS[key]
    students = [Exercise(spec, f"s{i:04d}", COURSE) for i in range(CLASS)]
    return students, [ex._solution() for ex in students]


def coverage(key: str) -> tuple[int, float]:
    """(distinct answers, the largest share of the class one answer would get right)."""
    spec = SPECS[key]
    _, answers = the_class(key)
    typed = {}  # each distinct answer as the answer key prints it, read back as a student's
    for a in answers:
        typed.setdefault(repr(plain(a)), (a, spec.parse(plain(a))))
    share = {k: sum(bool(spec.judge(e, g)) for e in answers) / CLASS for k, (_, g) in typed.items()}
    distinct = []  # answers no earlier one is accepted for
    for k in sorted(typed, key=share.get, reverse=True):
        if not any(spec.judge(typed[k][0], typed[r][1]) for r in distinct):
            distinct.append(k)
    return len(distinct), max(share.values())


@pytest.mark.parametrize("key", sorted(SPECS))
def test_a_class_gets_varied_answers(key):
    distinct, largest = coverage(key)
    assert distinct >= 3, f"{key}: only {distinct} distinct answers over {CLASS} students"
    assert largest <= 0.60, f"{key}: one answer is right for {largest:.0%} of the class"


@pytest.mark.parametrize("key", sorted(SPECS))
def test_every_answer_key_typed_back_is_accepted(key):
    spec = SPECS[key]
    _, answers = the_class(key)
    for a in {repr(plain(a)): a for a in answers}.values():
        assert spec.judge(a, spec.parse(plain(a))), (key, a)


def test_ranked_runs_differ_by_at_least_ten_percent():
    _, rankings = the_class("05.ranking")
    for ranking in rankings:
        times = [ranking.seconds[name] for name in ranking]
        assert all(b >= (1 + RANK_GAP) * a for a, b in zip(times, times[1:], strict=False))


def test_which_scale_never_asks_about_a_variant_near_the_line():
    students, answers = the_class("02.which-scale")
    for ex, answer in zip(students, answers, strict=True):
        assert set(answer.efficiency) == set(ex.variant["variants"])
        assert all(abs(e - SCALES) >= MARGIN for e in answer.efficiency.values())


def test_one_ring_call_measured_from_your_core_answers_any_count():
    """Whatever the chip, every call through a warm ring moves about the same lines: a student
    on any core measures one call with the lesson's `ring_calls` and multiplies, and is within
    the exercise's tolerance."""
    judge = SPECS["06.ring-transfers"].judge
    students, answers = the_class("06.ring-transfers")
    per_call = {app: ring_calls(app, 1).transfers for app in {ex.variant["app"] for ex in students}}
    for ex, answer in zip(students, answers, strict=True):
        assert judge(answer, ex.variant["calls"] * per_call[ex.variant["app"]]), ex.variant
        assert f"ring_calls(app_core={ex.variant['app']}" in ex.question


def test_the_draws_are_not_mostly_rejected():
    """A spec that admits few of its draws would need many simulations to find a variant."""
    for key in ("05.ranking", "02.which-scale"):
        students, _ = the_class(key)
        assert len({str(ex.variant) for ex in students}) >= 10, key


def test_no_mapreduce_variant_is_answered_by_the_lessons_own_sweep():
    """Lesson 05 prints faults and times of every variant at its WORDS per core on 1-16 cores:
    05.faults and 05.ranking never ask about that size, for any student of a class."""
    lesson = json.loads((NOTEBOOKS / "05_mapreduce.ipynb").read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in lesson["cells"] if c["cell_type"] == "code")
    swept = int(re.search(r"^WORDS = (\d+)", code, re.M).group(1))
    for key in ("05.faults", "05.ranking"):
        students, _ = the_class(key)
        sizes = {ex.variant["words"] for ex in students}
        assert swept not in sizes and len(sizes) == 3, (key, sizes)
