"""Where a line can come from, and what each way costs: worked out once per machine from its
shape, so the miss path looks a path up instead of computing hops and latencies.

Three tables, each entry a (source name, latency) as counters and traces name them:
- `cache[a][b]`: core b's cache answering core a's miss (the same chip, or n hops away);
- `far_l3s[chip]`: the other chips' L3s, nearest first, as (chip, source, latency);
- `dram[chip][home]`: a line's home DRAM, local or remote.
"""

from __future__ import annotations

from typing import NamedTuple

from .params import HardwareParams


class Paths(NamedTuple):
    cache: list[list[tuple[str, int]]]
    far_l3s: list[list[tuple[int, str, int]]]
    dram: list[list[tuple[str, int]]]


def plan_paths(p: HardwareParams) -> Paths:
    """Every cache-to-cache, remote-L3 and DRAM path of the machine `p` describes."""

    def cache_path(hops: int) -> tuple[str, int]:
        if hops == 0:
            return "same-chip-cache", p.same_chip_cache_latency
        return f"other-chip-cache-{hops}hop", p.remote_cache_cycles(hops)

    chip = p.chip_of
    cache = [[cache_path(p.hops(chip(a), chip(b))) for b in range(p.cores)] for a in range(p.cores)]
    far_l3s = [
        [
            (c, f"remote-l3-{h}hop", p.remote_cache_cycles(h))
            for h, c in sorted((p.hops(a, c), c) for c in range(p.chips))
            if h
        ]
        for a in range(p.chips)
    ]
    dram = [
        [
            ("dram-local" if a == b else "dram-remote", p.dram_cycles(p.hops(a, b)))
            for b in range(p.chips)
        ]
        for a in range(p.chips)
    ]
    return Paths(cache, far_l3s, dram)
