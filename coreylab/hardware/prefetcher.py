"""A core's hardware prefetcher: which DRAM misses it had already fetched.

What it models: AMD's rule (Software Optimization Guide for AMD64 Processors, 25112, 5.6): after
line l and then l + 1 it fetches l + 3, and keeps ahead from there, so a run of misses on
consecutive lines is covered from its fourth line on (l + 2 is fetched by the core itself). A
stream ends at its page's end: the prefetcher works on physical addresses. It follows a few
streams at once (`HardwareParams.prefetch_streams`) and forgets the least recently used one to
follow a new one. The machine asks it on every miss served by DRAM (`Machine._locate`); a
covered line costs an L1 hit there, but still takes its turn at the memory controller.
"""

from __future__ import annotations

from .params import HardwareParams


class Prefetcher:
    __slots__ = ("streams", "_limit", "_lines_per_page")

    def __init__(self, p: HardwareParams) -> None:
        # The line each stream expects next -> how many lines of its run came before it,
        # least recently used first.
        self.streams: dict[int, int] = {}
        self._limit = p.prefetch_streams
        self._lines_per_page = p.page_size // p.line_size

    def covers(self, line: int) -> bool:
        """A DRAM miss on `line`: True if a stream had fetched it ahead. Either way a stream now
        expects the next line, unless that starts a new page."""
        streams = self.streams
        run = streams.pop(line, 0)
        if (line + 1) % self._lines_per_page:
            if len(streams) == self._limit:
                del streams[next(iter(streams))]
            streams[line + 1] = run + 1
        return run >= 3
