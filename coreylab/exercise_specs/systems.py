"""Old path of the runs in `coreylab.exercises.systems` (the lessons still import them here)."""

from ..exercises.systems import MAPREDUCE_VARIANTS, mapreduce_run, parse_ranking, ring_calls

__all__ = ["MAPREDUCE_VARIANTS", "mapreduce_run", "parse_ranking", "ring_calls"]
