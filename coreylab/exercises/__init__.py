"""The lessons' exercises: the engine (`engine.py`: ask, check, reveal), who asks in which course
(`course.py`), the record of attempts kept in the saved notebook (`record.py`), the specs, one
module per group of lessons, and the staff's side (`grading.py`: answer keys and grading;
`nbgrader.py`: the nbgrader integration).

Each exercise draws a variant from a seed of the course, the key and the student, and is
answered by running the simulator on that variant; keys are "<lesson>.<name>" and notebooks
name them. Importing this package registers them all. The specs import the engine, never this
package, so there is no import circle.
"""

from . import (
    autograder,  # noqa: F401  nbgrader's test cells call exercises.autograde
    basics,  # noqa: F401  00-02
    capstone,  # noqa: F401  07
    memory,  # noqa: F401  03-04
    systems,  # noqa: F401  05-06
)
from .autograder import autograde
from .course import course_id, graded_mode, identify
from .engine import SPECS, Exercise, Feedback, Spec, exercise, is_correct
from .memory import memory_run
from .systems import mapreduce_run, ring_calls

__all__ = [
    "SPECS",
    "autograde",
    "Exercise",
    "Feedback",
    "Spec",
    "course_id",
    "exercise",
    "graded_mode",
    "identify",
    "is_correct",
    "mapreduce_run",
    "memory_run",
    "ring_calls",
]
