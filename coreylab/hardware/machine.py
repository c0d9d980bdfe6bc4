"""The machine: cores, per-chip L3s, DRAM, the chip ring, and the coherence transactions.

What it models: a broadcast-style coherent multicore. Every miss or upgrade is one transaction,
done atomically at the simulated time the requesting core issues it (`Core` makes sure that
time is now). The protocol table decides each holder's next state and who supplies the data;
the machine decides where the data comes from when no cache supplies it (own chip's L3, another
chip's L3, then DRAM at the address's home chip) and what that costs.

Latency depends only on where the line comes from, all from `HardwareParams`:
own L1 or L2 (in `Core`), own chip's L3, another core's cache on the same chip, a cache
`h` hops away on the ring, local or remote DRAM. An upgrade (a write to a line held read-only)
moves no data and costs the round trip to the farthest copy it invalidates.

Contention is physical, from three rules and nothing else:
  * a line is in one transfer at a time: a request waits until the line's previous transfer
    has ended (`busy_until`), so requests for a hot line queue behind each other;
  * each chip's memory controller moves one line per `dram_cycles_per_line`;
  * a store or atomic needs the line exclusive, which invalidates every other copy.

Invariants (the random tester checks them after every step): a line held M or E by one core is
held by no other core; the directory lists exactly the cores whose state map holds the line;
an L3 never holds a line that some core holds M or E.

What it leaves out: link bandwidth and the probe broadcast's own traffic, prefetching, MSHRs
(a core has one outstanding miss), I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy

from ..trace import CoreStats, Counters, LineEvent, LineStats, Trace
from .caches import Cache
from .core import Core
from .memory import PhysicalMemory
from .params import HardwareParams
from .protocols import Action, Event, State, protocol

DIRTY = (State.M, State.O)


class Machine:
    """A whole simulated machine on one simpy clock.

    >>> m = Machine(HardwareParams.preset("tiny"))
    >>> x = m.memory.alloc(64, label="x")
    >>> def writer(core):
    ...     yield from core.store(x, 42)
    >>> m.spawn(0, writer); m.run(); m.cores[0].local
    200
    """

    def __init__(self, params: HardwareParams | None = None, trace: Trace | None = None) -> None:
        self.params = p = params or HardwareParams()
        self.env = simpy.Environment()
        self.protocol = protocol(p.protocol)
        self.memory = PhysicalMemory(p)
        self.trace = trace if trace is not None else Trace()
        self.access_log: list[tuple] | None = None  # set to a list to log every access
        self.l3 = [Cache(f"chip{c}.l3", p.l3_size, p.l3_assoc, p.line_size) for c in range(p.chips)]
        self.cores = [Core(self, i) for i in range(p.cores)]
        self.holders: dict[int, dict[int, Core]] = {}  # line -> cores whose caches hold it
        self.busy_until: dict[int, int] = {}  # line -> when its current transfer ends
        self.lines: dict[int, LineStats] = {}
        self._watchers: dict[int, list[tuple[Core, simpy.Event]]] = {}
        self._shift = p.line_size.bit_length() - 1

    # -- running programs ---------------------------------------------------------------------
    def spawn(self, core_id: int, program: Callable[..., Generator], *args: Any) -> simpy.Process:
        """Run `program(core, *args)` on a core, starting at the current time."""
        if not 0 <= core_id < len(self.cores):
            raise ValueError(f"core {core_id} does not exist (cores 0..{len(self.cores) - 1})")
        core = self.cores[core_id]
        if core.busy:
            raise RuntimeError(f"core {core_id} is already running a program")
        core.busy = True
        return self.env.process(self._run(core, program(core, *args)))

    def _run(self, core: Core, body: Generator) -> Generator:
        core.local = max(core.local, self.env.now)
        core._refresh()
        try:
            result = yield from body
            yield from core.sync()
        finally:
            core.busy = False
        return result

    def run(self, until: int | None = None) -> int:
        """Run until every program ends (or `until`); return the latest core clock."""
        self.env.run(until=until)
        return max(c.local for c in self.cores)

    # -- one coherence transaction ------------------------------------------------------------
    def transact(self, core: Core, line: int, event: Event, kind: str) -> int:
        """Serve a miss or an upgrade for `core` at the current time; advance the core's clock
        past it and return the transaction's perform time."""
        now = self.env.now
        before = core.state.get(line, State.I)
        others = [c for c in self.holders.get(line, {}).values() if c is not core]
        if event is Event.LOAD and not others:
            event = Event.LOAD_ONLY
        step = self.protocol.step(before, event)
        probe = Event.PROBE_READ if event is not Event.STORE else Event.PROBE_WRITE
        supplier, invalidated = self._probe(others, line, probe, now)
        if step.next in (State.M, State.E):
            self._drop_from_l3s(line)
        if Action.UPGRADE in step.actions:
            source, where, latency = self._upgrade_cost(core, invalidated)
        else:
            source, where, latency = self._locate(core, line, supplier, now)
        start = max(now, self.busy_until.get(line, 0))
        end = start + latency
        self.busy_until[line] = end
        self._install(core, line, step.next, before)
        core.local = end
        core._refresh()
        self._count(core, line, source, supplier, invalidated)
        if self.trace.enabled:
            rec = LineEvent(
                now,
                end,
                core.id,
                kind,
                line,
                self.memory.label_of(line),
                source,
                where,
                before.name,
                step.next.name,
                tuple(invalidated),
                start - now,
            )
            self.trace.append(rec)
        return start + self.params.lookahead

    def _probe(self, others: list[Core], line: int, probe: Event, now: int):
        """Apply the probe to every other holder; return (supplier, supplier's state), and the
        ids of cores whose copy was invalidated."""
        supplier = None
        invalidated = []
        for other in others:
            state = other.state[line]
            step = self.protocol.step(state, probe)
            if Action.SUPPLY in step.actions:
                supplier = (other, state)
            if Action.WRITEBACK in step.actions:
                self.memory.write_line(self.memory.home_chip(line << self._shift), now)
            if step.next is State.I:
                self._remove(other, line)
                invalidated.append(other.id)
            else:
                other.state[line] = step.next
            if step.next is not state:
                self._wake(other, line)
        return supplier, invalidated

    def _locate(self, core: Core, line: int, supplier, now: int) -> tuple[str, int, int]:
        """Where a miss's data comes from: (source name, supplier core or chip, latency)."""
        p = self.params
        if supplier is not None:
            other = supplier[0]
            source, latency = self._cache_to_cache(core, other)
            return source, other.id, latency
        if line in self.l3[core.chip]:
            self.l3[core.chip].remove(line)  # a victim cache: the line moves up into the core
            return "l3", core.chip, p.l3_latency
        for hops, chip in sorted((p.hops(core.chip, c), c) for c in range(p.chips)):
            if hops and line in self.l3[chip]:
                return f"other-chip-cache-{hops}hop", chip, p.remote_cache_cycles(hops)
        home = self.memory.home_chip(line << self._shift)
        hops = p.hops(core.chip, home)
        wait = self.memory.read_line(home, now)
        source = "dram-local" if hops == 0 else "dram-remote"
        return source, home, wait + p.dram_cycles(hops)

    def _cache_to_cache(self, core: Core, other: Core) -> tuple[str, int]:
        hops = self.params.hops(core.chip, other.chip)
        if hops == 0:
            return "same-chip-cache", self.params.same_chip_cache_latency
        return f"other-chip-cache-{hops}hop", self.params.remote_cache_cycles(hops)

    def _upgrade_cost(self, core: Core, invalidated: list[int]) -> tuple[str, int, int]:
        """An upgrade waits for the farthest invalidation to be acknowledged."""
        latency = self.params.l3_latency  # at least a look in the chip's shared tags
        for other_id in invalidated:
            latency = max(latency, self._cache_to_cache(core, self.cores[other_id])[1])
        return "upgrade", -1, latency

    # -- state bookkeeping ----------------------------------------------------------------------
    def _install(self, core: Core, line: int, state: State, before: State) -> None:
        if before is not State.I:  # an upgrade: the line is already in the core's caches
            core.state[line] = state
            return
        self.holders.setdefault(line, {})[core.id] = core
        for victim in core.fill(line, state):
            self._evict(core, victim)

    def _evict(self, core: Core, line: int) -> None:
        """A line pushed out of a core's L2: write it back if dirty, keep it in the chip's L3."""
        state = core.state[line]
        step = self.protocol.step(state, Event.EVICT)
        now = self.env.now
        if Action.WRITEBACK in step.actions:
            self.memory.write_line(self.memory.home_chip(line << self._shift), now)
        self._remove(core, line)
        if not self.holders.get(line):  # the last copy leaves: the chip's L3 keeps it, clean
            self.l3[core.chip].insert(line)  # an L3 victim is clean: dropped silently
        if self.trace.enabled:
            source = "writeback" if Action.WRITEBACK in step.actions else "drop"
            rec = LineEvent(
                now,
                now,
                core.id,
                "evict",
                line,
                self.memory.label_of(line),
                source,
                core.chip,
                state.name,
                "I",
                (),
                0,
            )
            self.trace.append(rec)

    def _remove(self, core: Core, line: int) -> None:
        core.drop(line)
        holders = self.holders[line]
        del holders[core.id]
        if not holders:
            del self.holders[line]

    def _drop_from_l3s(self, line: int) -> None:
        for l3 in self.l3:
            l3.remove(line)

    def _count(self, core: Core, line: int, source: str, supplier, invalidated: list[int]) -> None:
        misses = core.stats.misses
        misses[source] = misses.get(source, 0) + 1
        stats = self.lines.get(line)
        if stats is None:
            stats = self.lines[line] = LineStats(label=self.memory.label_of(line))
        stats.cores.add(core.id)
        stats.invalidations += len(invalidated)
        if supplier is not None:
            stats.transfers += 1
            stats.hitm += supplier[1] in DIRTY
        elif source != "upgrade":
            stats.fills += 1

    # -- spinning -------------------------------------------------------------------------------
    def watch(self, line: int, core: Core, event: simpy.Event) -> None:
        """Trigger `event` when another core's transaction changes `core`'s copy of `line`."""
        self._watchers.setdefault(line, []).append((core, event))

    def _wake(self, core: Core, line: int) -> None:
        waiting = self._watchers.get(line)
        if not waiting:
            return
        for entry in [w for w in waiting if w[0] is core]:
            waiting.remove(entry)
            entry[1].succeed()
        if not waiting:
            del self._watchers[line]

    def record_spin(self, core: Core, line: int, start: int, end: int) -> None:
        if self.trace.enabled:
            rec = LineEvent(
                start,
                end,
                core.id,
                "spin",
                line,
                self.memory.label_of(line),
                "l1",
                core.id,
                core.state.get(line, State.I).name,
                "",
                (),
                0,
            )
            self.trace.append(rec)

    # -- reading the results ------------------------------------------------------------------
    def counters(self) -> Counters:
        """A snapshot of every counter (plain data)."""
        cores = []
        for core in self.cores:
            s = core.stats
            cores.append(
                CoreStats(core.id, s.l1_hits, s.l2_hits, dict(s.misses), s.spin_polls, core.local)
            )
        lines = {
            line: LineStats(
                st.label, st.transfers, st.invalidations, st.hitm, st.fills, set(st.cores)
            )
            for line, st in self.lines.items()
        }
        return Counters(cores, lines, list(self.memory.reads), list(self.memory.writes))

    def line_of(self, addr: int) -> int:
        return addr >> self._shift

    def states(self, line: int) -> dict[int, str]:
        """Each core's state letter for a line (only cores that hold it)."""
        return {cid: c.state[line].name for cid, c in sorted(self.holders.get(line, {}).items())}
