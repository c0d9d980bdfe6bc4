"""Old path of `coreylab.exercises.capstone.batched` (the lesson still imports it here)."""

from ..exercises.capstone import batched

__all__ = ["batched"]
