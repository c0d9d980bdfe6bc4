"""Set-associative caches with LRU replacement, holding line numbers.

What it models: which lines a cache holds and which one it gives up when a set is full. It
holds no data and no coherence state: values live in the machine's functional memory and states
in the core's state map (`core.py`), so a cache here is only tags and recency.

Layout of the hierarchy (the inclusion policy): L1 is inclusive in L2, so a core's private
caches hold exactly the lines its L2 holds and the coherence state is per core. The per-chip L3
is a victim cache, as on the Opteron: it fills only with lines the chip's cores evict, and a line
read back from it moves into the core and leaves the L3. Unlike the Opteron's, it holds only
clean data (a dirty victim is written back to DRAM on the way in), which keeps it out of the
ownership protocol. Real Family 10h L2 is exclusive of L1; the difference is 64 KB of capacity.

Invariant: a set never holds more than `assoc` lines; the line evicted is the least recently
touched one in its set.
"""

from __future__ import annotations


class Cache:
    """A set-associative LRU cache of line numbers. Each set is a short list in recency order,
    most recent first: a hit on the most recent line (the common case in a loop) costs one
    comparison, and a set never holds more than a few dozen lines."""

    __slots__ = ("name", "assoc", "mask", "sets")

    def __init__(self, name: str, size: int, assoc: int, line_size: int) -> None:
        n_sets = size // line_size // assoc
        self.name = name
        self.assoc = assoc
        self.mask = n_sets - 1
        self.sets: list[list[int]] = [[] for _ in range(n_sets)]

    def __contains__(self, line: int) -> bool:
        return line in self.sets[line & self.mask]

    def __len__(self) -> int:
        return sum(len(s) for s in self.sets)

    def lines(self) -> list[int]:
        return [line for s in self.sets for line in s]

    def touch(self, line: int) -> bool:
        """Mark a line most recently used; False if it is not here."""
        s = self.sets[line & self.mask]
        if s and s[0] == line:
            return True
        if line not in s:
            return False
        s.remove(line)
        s.insert(0, line)
        return True

    def insert(self, line: int) -> int | None:
        """Put a line in as most recently used; return the line it evicted, if any."""
        s = self.sets[line & self.mask]
        if line in s:
            s.remove(line)
            s.insert(0, line)
            return None
        victim = s.pop() if len(s) >= self.assoc else None
        s.insert(0, line)
        return victim

    def remove(self, line: int) -> bool:
        s = self.sets[line & self.mask]
        if line in s:
            s.remove(line)
            return True
        return False

    def __repr__(self) -> str:
        return f"Cache({self.name}, {len(self.sets)} sets x {self.assoc} ways)"
