"""Old path of `coreylab.exercises.memory.memory_run` (the lessons still import it here)."""

from ..exercises.memory import MemoryRun, memory_run

__all__ = ["MemoryRun", "memory_run"]
