"""The lessons' exercises, one module per group of lessons. Each exercise draws a variant from
the student's seed and is answered by running the simulator on that variant; keys are
"<lesson>.<name>" and notebooks name them. Importing this package registers them all."""

from . import (
    basics,  # noqa: F401  00-02
    capstone,  # noqa: F401  07
    memory,  # noqa: F401  03-04
    systems,  # noqa: F401  05-06
)

__all__: list[str] = []
