"""The latency ladder: what one load costs, by where its line comes from.

What it measures: for each source a topology has (own L1, own L2, own chip's L3, another
core's cache on the same chip, a cache 1, 2, ... hops away, local and remote DRAM), it puts a
line there by running loads and stores on the simulated machine, then times one load by core
0 on that machine's clock. Nothing is read from the parameters except where to put things: the
cycles come out of the simulated caches and coherence, so changing a latency parameter, the
protocol or the cache geometry changes what is measured the way the hardware would.

How each source is set up (core 0 on chip 0 is the reader):
  l1: core 0 loads the line, then loads it again.
  l2: core 0 loads it, then loads `l1_assoc` lines of the same L1 set (L2 keeps it, L1 not).
  l3: core 0 loads it, then loads `l2_assoc` lines of the same L2 set: the line is pushed out to
      the chip's victim L3.
  same-chip-cache / other-chip-cache-Nhop: a core at that distance stores to it first.
  dram-local / dram-remote: a fresh line homed on chip 0 / on a chip one hop away.
"""

from __future__ import annotations

from ..hardware import HardwareParams, Machine
from ..trace import Trace
from .base import Experiment, ExperimentError, Point


def _timed_load(machine: Machine, addr: int) -> int:
    """Run a load of `addr` on core 0 and return the cycles it took."""
    took = []

    def reader(core):
        yield from core.sync()
        start = core.local
        yield from core.load(addr)
        took.append(core.local - start)

    machine.spawn(0, reader)
    machine.run()
    return took[0]


def _run(machine: Machine, core_id: int, program, *args) -> None:
    machine.spawn(core_id, program, *args)
    machine.run()


def _touch(core, addrs: list[int], store: bool = False):
    for addr in addrs:
        if store:
            yield from core.store(addr, 1)
        else:
            yield from core.load(addr)


def _conflicting(machine: Machine, addr: int, level: str, count: int) -> list[int]:
    """`count` addresses on chip 0 that map to the same set of `level` as `addr`."""
    cache = machine.cores[0].l1 if level == "l1" else machine.cores[0].l2
    p = machine.params
    stride = (cache.mask + 1) * p.line_size
    if addr + stride * count >= p.dram_bytes_per_chip:
        raise ExperimentError(
            f"the ladder cannot push a line out of {level}: {count} more lines {stride} B apart "
            f"need {addr + stride * count + p.line_size} B of chip 0's memory, which has "
            f"{p.dram_bytes_per_chip} (raise dram_bytes_per_chip or shrink {level}_size)"
        )
    return [addr + stride * (i + 1) for i in range(count)]


def measure(params: HardwareParams, trace: Trace | None = None) -> list[dict]:
    """One row per source the machine has: {"source": ..., "cycles": ...}."""
    rows = []
    for source, setup in _setups(params):
        machine = Machine(params, trace=trace if trace is not None else Trace(enabled=False))
        addr = setup(machine)
        rows.append({"source": source, "cycles": _timed_load(machine, addr)})
    return rows


def _setups(p: HardwareParams):
    """(source name, setup(machine) -> address to time) for each source this topology has."""

    def fresh(machine: Machine, chip: int = 0) -> int:
        # Far from anything else allocated, so conflict lines never collide with it.
        return machine.memory.alloc(p.line_size, chip=chip, label="probe", align=p.l3_size * 4)

    def l1(m):
        a = fresh(m)
        _run(m, 0, _touch, [a])
        return a

    def evicted_from(level):
        def setup(m):
            a = fresh(m)
            ways = p.l1_assoc if level == "l1" else p.l2_assoc
            _run(m, 0, _touch, [a, *_conflicting(m, a, level, ways)])
            return a

        return setup

    def held_by(core_id):
        def setup(m):
            a = fresh(m)
            _run(m, core_id, _touch, [a], True)
            return a

        return setup

    yield "l1", l1
    yield "l2", evicted_from("l1")
    yield "l3", evicted_from("l2")
    if p.cores_per_chip > 1:
        yield "same-chip-cache", held_by(1)
    for hops in range(1, p.max_hops + 1):
        yield f"other-chip-cache-{hops}hop", held_by(hops * p.cores_per_chip)
    yield "dram-local", fresh
    if p.chips > 1:
        yield "dram-remote", lambda m: fresh(m, chip=1)


def _point(variant: str, cores: int, seed: int, hw: HardwareParams, trace: bool) -> Point:
    recorded = Trace() if trace else None
    rows = [{"variant": variant, "cores": hw.cores, **row} for row in measure(hw, recorded)]
    return Point(rows=rows, trace=recorded)


LATENCY_LADDER = Experiment(
    name="latency-ladder",
    summary="cycles of one load, by where its line comes from (L1 ... remote DRAM)",
    variants=("measured",),
    metrics=("source", "cycles"),
    params=(),
    point=_point,
    sweeps_cores=False,
)
