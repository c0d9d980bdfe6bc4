"""Trace records and counters: the one contract between the simulation and the pictures.

What it holds: plain records of what happened to cache lines (one per coherence transaction,
never one per cache hit), and counters that are always on: per core (hits, misses by source,
spin polls) and per line (transfers, invalidations, HITM). Viz and experiments read these;
they never touch a live machine.

A `Trace` can be switched off (counters still count) or bounded to its first `limit` records,
so large runs stay fast and small. The same seed and parameters give the same records, in the
same order: records hold only ints and strings, so two traces compare with `==`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from itertools import starmap
from operator import attrgetter
from typing import NamedTuple


class LineEvent(NamedTuple):
    """One coherence transaction on one line, as a core saw it.

    kind: what the core did: "load", "store", "atomic", or "evict" (a victim left its caches).
    source: where the data came from: "l3" (the requester's chip's), "same-chip-cache",
      "other-chip-cache-1hop", ..., "remote-l3-1hop", ..., "dram-local", "dram-remote";
      "upgrade" when no data moved (only other copies were invalidated); "writeback" or
      "drop" for an eviction; "device" for a DMA write. `source_words` says each in words.
    supplier: the core whose cache supplied the line, or the chip of the L3 or DRAM; -1 if none.
    queued: cycles the request waited for earlier transfers of the same line (contention).
    probed: (core, state before, state after) of every other core the request probed.
    offset: the byte within the line the access touched (true vs false sharing).
    """

    t_start: int
    t_end: int
    core: int
    kind: str
    line: int
    label: str
    source: str
    supplier: int
    state_before: str
    state_after: str
    invalidated: tuple[int, ...]
    queued: int
    probed: tuple[tuple[int, str, str], ...] = ()
    offset: int = 0


# Every source in words, for captions and axes; "-Nhop" sources are worded by their distance.
# fmt: off
SOURCE_WORDS = {
    "l1":               "its own L1",
    "l2":               "its own L2",
    "l3":               "its chip's L3",
    "same-chip-cache":  "a cache on the same chip",
    "other-chip-cache": "a cache {hops} away",
    "remote-l3":        "an L3 {hops} away",
    "dram-local":       "DRAM on its own chip",
    "dram-remote":      "DRAM on another chip",
    "upgrade":          "no data moved (an upgrade: other copies invalidated)",
    "writeback":        "dirty data written back",
    "drop":             "a clean copy dropped",
    "device":           "a device's write",
}
# fmt: on


def source_words(source: str) -> str:
    """A source in words: "remote-l3-2hop" -> "an L3 2 hops away" (unknown ones as they are)."""
    base, _, hops = source.rpartition("-")
    if base in SOURCE_WORDS and hops.endswith("hop") and hops[:-3].isdigit():
        n = int(hops[:-3])
        return SOURCE_WORDS[base].format(hops=f"{n} hop{'s' * (n != 1)}")
    return SOURCE_WORDS.get(source, source)


def is_cache_source(source: str) -> bool:
    """True when the data came from another core's cache (a transfer, in perf c2c's words)."""
    return "cache" in source


class Trace:
    """An append-only list of `LineEvent`s, optionally off or bounded."""

    def __init__(self, enabled: bool = True, limit: int | None = None) -> None:
        self.enabled = enabled
        self.limit = limit
        self.records: list[LineEvent] = []
        self.dropped = 0

    def append(self, record: LineEvent) -> None:
        if self.limit is not None and len(self.records) >= self.limit:
            self.dropped += 1
        else:
            self.records.append(record)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def columns(self) -> dict[str, list]:
        """The records as columns (what a Bokeh ColumnDataSource or a DataFrame takes)."""
        return {name: [getattr(r, name) for r in self.records] for name in LineEvent._fields}


@dataclass(slots=True)
class LineStats:
    """Per-line counters, what `perf c2c` shows: how often the line moved between caches."""

    label: str = ""
    transfers: int = 0  # data arrived in a core's cache from another core's cache
    invalidations: int = 0  # copies in other cores' caches invalidated by a write
    hitm: int = 0  # transfers whose supplier held the line dirty (M or O: `Protocol.dirty`)
    fills: int = 0  # data arrived from L3 or DRAM
    cores: set[int] = field(default_factory=set)  # cores that took a transaction on it


@dataclass
class CoreStats:
    """Per-core counters: hits by level, misses by the source that served them."""

    core: int
    l1_hits: int = 0
    l2_hits: int = 0
    misses: dict[str, int] = field(default_factory=dict)
    spin_polls: int = 0  # loads a spin loop made while waiting for a line to change
    cycles: int = 0  # the core's clock when the run ended
    # Misses on a line this core held until another core's write (or a device's) took it: the
    # coherence misses, wherever their data then came from (so the same under every protocol).
    coherence_misses: int = 0
    # DRAM misses the prefetcher had already fetched (counted in `misses` as DRAM misses too).
    prefetched: int = 0

    @property
    def accesses(self) -> int:
        return self.l1_hits + self.l2_hits + sum(self.misses.values())

    def misses_from(self, *sources: str) -> int:
        return sum(n for s, n in self.misses.items() if s.startswith(sources))


@dataclass
class Counters:
    """A snapshot of every counter of a machine (plain data, safe to keep after the run)."""

    cores: list[CoreStats]
    lines: dict[int, LineStats]
    dram_reads: list[int]  # per chip
    dram_writes: list[int]  # per chip

    def total(self, name: str) -> int:
        """Sum of a per-line counter over all lines (transfers, invalidations, hitm, fills)."""
        return sum(getattr(s, name) for s in self.lines.values())

    def coherence_misses(self) -> int:
        """Coherence misses over all cores (see `CoreStats.coherence_misses`)."""
        return sum(c.coherence_misses for c in self.cores)

    def misses(self, *sources: str) -> int:
        """Misses over all cores whose source starts with any of `sources` (all if none)."""
        if not sources:
            return sum(sum(c.misses.values()) for c in self.cores)
        return sum(c.misses_from(*sources) for c in self.cores)

    def by_label(self) -> dict[str, LineStats]:
        """Per-line counters summed by the label of the object that owns each line."""
        out: dict[str, LineStats] = {}
        for stats in self.lines.values():
            agg = out.setdefault(stats.label, LineStats(label=stats.label))
            agg.transfers += stats.transfers
            agg.invalidations += stats.invalidations
            agg.hitm += stats.hitm
            agg.fills += stats.fills
            agg.cores |= stats.cores
        return out

    def __reduce__(self) -> tuple:
        """Pickled with each line's counters as a tuple of its fields, not as an object: a
        point's counters come back from a worker process so, and a big run's 100k+ lines
        pickle four times faster and half as big. Unpickled, they are the same LineStats."""
        lines = self.lines
        rows = list(map(_line_fields, lines.values()))
        return _unpickle_counters, (self.cores, list(lines), rows, self.dram_reads,
                                    self.dram_writes)  # fmt: skip


_line_fields = attrgetter(*(f.name for f in fields(LineStats)))


def _unpickle_counters(cores, lines, rows, dram_reads, dram_writes) -> Counters:
    return Counters(cores, dict(zip(lines, starmap(LineStats, rows), strict=True)), dram_reads,
                    dram_writes)  # fmt: skip
