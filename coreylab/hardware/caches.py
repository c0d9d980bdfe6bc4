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
    """A set-associative LRU cache of line numbers. Sets are dicts in recency order, oldest first:
    Python dicts keep insertion order, so LRU is one delete and one insert."""

    __slots__ = ("name", "assoc", "mask", "sets")

    def __init__(self, name: str, size: int, assoc: int, line_size: int) -> None:
        n_sets = size // line_size // assoc
        self.name = name
        self.assoc = assoc
        self.mask = n_sets - 1
        self.sets: list[dict[int, None]] = [{} for _ in range(n_sets)]

    def __contains__(self, line: int) -> bool:
        return line in self.sets[line & self.mask]

    def __len__(self) -> int:
        return sum(len(s) for s in self.sets)

    def lines(self) -> list[int]:
        return [line for s in self.sets for line in s]

    def touch(self, line: int) -> bool:
        """Mark a line most recently used; False if it is not here."""
        s = self.sets[line & self.mask]
        if line not in s:
            return False
        del s[line]
        s[line] = None
        return True

    def insert(self, line: int) -> int | None:
        """Put a line in as most recently used; return the line it evicted, if any."""
        s = self.sets[line & self.mask]
        if line in s:
            del s[line]
            s[line] = None
            return None
        victim = None
        if len(s) >= self.assoc:
            victim = next(iter(s))
            del s[victim]
        s[line] = None
        return victim

    def remove(self, line: int) -> bool:
        s = self.sets[line & self.mask]
        if line in s:
            del s[line]
            return True
        return False

    def __repr__(self) -> str:
        return f"Cache({self.name}, {len(self.sets)} sets x {self.assoc} ways)"
