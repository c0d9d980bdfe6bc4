"""Replaying a trace: which core holds each line in which state, record after record.

What it computes: a trace records one `LineEvent` per coherence transaction, from the point of
view of the core that asked. Replaying the records in order, through the same protocol table the
machine used, gives every other core's state too, and the transitions each record caused: the
requester's `(state_before, event)` and, for the cores it probed, `PROBE_READ` (the core that
supplied the data of a load) or `PROBE_WRITE` (every core a store or atomic invalidated). Both the
machine animation (states per frame) and the protocol view (cells exercised) read this.

How the event of a load is told: `LOAD` when another core held the line at that moment,
`LOAD_ONLY` when none did (the replay knows the holders), checked against the table's next state.

What it leaves out, and why: a store to a line held E is a silent hit (no transaction, so no
record). The replay then still believes E where the line is really M, until a later record says
otherwise (its `state_before`, or the core supplying data a clean copy would not). Probes that
find a line in E are flagged `uncertain`; the views say so. Records of kind "spin" change no state.
A bounded trace (`Trace(limit=...)`) misses later records; the replay just stops there.

A hit in another chip's L3 is recorded with the source of a transfer from a cache that many hops
away and the chip's number as `supplier`; the replay tells the two apart by remembering which
chips' L3s may hold each line (the last copy's eviction puts it there; an exclusive copy or a
move up to its own chip's cores takes it out). L3s also drop lines unrecorded, so "may hold".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from ..hardware import PROTOCOL_TABLES, Event, State
from ..trace import LineEvent

I = "I"  # noqa: E741
TRANSACTIONS = ("load", "store", "atomic", "evict")  # record kinds that change states


class Transition(NamedTuple):
    """One table cell a record exercised: `core` went from `before` to `after` on `event`."""

    core: int
    before: str
    event: str
    after: str
    role: str  # "requester" or "probe"
    uncertain: bool  # a probe that found E (maybe M after a silent store)


def is_cache_source(source: str) -> bool:
    """True when the data came from another core's cache (a transfer, in perf c2c's words)."""
    return "cache" in source


class Replay:
    """Holders and states of every line, advanced one record at a time.

    After each `step`, `origin` says where that record's data came from: ("core", id) for
    another core's cache, ("chip", id) for a chip's L3 or DRAM, None when no data moved."""

    def __init__(self, protocol: str) -> None:
        self.protocol = PROTOCOL_TABLES[protocol]
        self.table = {(s.name, e.name): t for (s, e), t in self.protocol.table.items()}
        self.held: dict[int, dict[int, str]] = {}  # line -> core -> state letter (not I)
        self.in_l3: dict[int, set[int]] = {}  # line -> chips whose L3 may hold it
        self.origin: tuple[str, int] | None = None
        self.corrections = 0  # records that contradicted the replay (silent stores)

    def state(self, line: int, core: int) -> str:
        return self.held.get(line, {}).get(core, I)

    def step(self, rec: LineEvent) -> list[Transition]:
        """Apply one record; return the table transitions it caused (requester first)."""
        self.origin = None
        if rec.kind not in TRANSACTIONS:
            return []
        held = self.held.setdefault(rec.line, {})
        if rec.kind == "evict":
            return self._evict(rec, held)
        if held.get(rec.core, I) != rec.state_before:
            self.corrections += 1
        self.origin = self._origin(rec, held)
        if rec.kind == "load":
            event = self._load_event(rec, held)
            probes = self._probe_read(rec, held)
        else:
            event = Event.STORE.name
            probes = self._probe_write(rec, held)
        self._install(rec, held)
        mine = Transition(rec.core, rec.state_before, event, rec.state_after, "requester", False)
        return [mine, *probes]

    def _evict(self, rec: LineEvent, held: dict[int, str]) -> list[Transition]:
        held.pop(rec.core, None)
        if not held:  # the last copy leaves: the chip's L3 keeps it (`supplier` is the chip)
            self.in_l3.setdefault(rec.line, set()).add(rec.supplier)
        if rec.source == "writeback":
            self.origin = ("core", rec.core)
        return [Transition(rec.core, rec.state_before, Event.EVICT.name, I, "requester", False)]

    def _origin(self, rec: LineEvent, held: dict[int, str]) -> tuple[str, int] | None:
        """Another core's cache, or a chip's L3/DRAM. A hit in a far chip's L3 is recorded
        like a transfer from a core 1+ hops away, with the chip as supplier: it is the L3 when
        that chip's L3 may hold the line and the core of the same number could not supply it."""
        if rec.source == "upgrade":
            return None
        if not is_cache_source(rec.source):
            return ("chip", rec.supplier)
        owner = self.table[held.get(rec.supplier, I), Event.PROBE_READ.name].supplies
        if rec.supplier in self.in_l3.get(rec.line, ()) and not owner:
            return ("chip", rec.supplier)
        return ("core", rec.supplier)

    def _install(self, rec: LineEvent, held: dict[int, str]) -> None:
        if rec.state_after != I:
            held[rec.core] = rec.state_after
        if rec.state_after in ("M", "E"):  # an exclusive copy is the only one: L3s drop it
            self.in_l3.pop(rec.line, None)
        elif rec.source == "l3":  # a victim cache: the line moved up out of it
            self.in_l3.get(rec.line, set()).discard(rec.supplier)

    def _load_event(self, rec: LineEvent, held: dict[int, str]) -> str:
        others = any(core != rec.core for core in held)
        event = Event.LOAD if others else Event.LOAD_ONLY
        if self.table[rec.state_before, event.name].next.name != rec.state_after:
            # The replay's holders disagree with the record (a bounded or partial trace): trust
            # the record, through the table.
            for e in (Event.LOAD, Event.LOAD_ONLY):
                if self.table[rec.state_before, e.name].next.name == rec.state_after:
                    return e.name
        return event.name

    def _probe_read(self, rec: LineEvent, held: dict[int, str]) -> list[Transition]:
        """A load probes only the owner, which supplies: the only holder whose state changes."""
        if self.origin is None or self.origin[0] != "core":
            return []
        core = rec.supplier
        before = held.get(core, I)
        if not self.table[before, Event.PROBE_READ.name].supplies:
            before = self._dirty_state(held, core)  # it was written silently: it was M
            self.corrections += 1
        after = self.table[before, Event.PROBE_READ.name].next.name
        self._set(held, core, after)
        return [Transition(core, before, Event.PROBE_READ.name, after, "probe", before == "E")]

    def _probe_write(self, rec: LineEvent, held: dict[int, str]) -> list[Transition]:
        out = []
        for core in rec.invalidated:
            before = held.get(core, I)
            after = self.table[before, Event.PROBE_WRITE.name].next.name
            self._set(held, core, after)
            probe = Transition(core, before, Event.PROBE_WRITE.name, after, "probe", before == "E")
            out.append(probe)
        return out

    def _dirty_state(self, held: dict[int, str], core: int) -> str:
        """The state a supplier that the replay thought clean must really have been in."""
        states = {s.name for s in self.protocol.states}
        sharers = any(c != core for c in held)
        return "O" if sharers and "O" in states else State.M.name

    @staticmethod
    def _set(held: dict[int, str], core: int, state: str) -> None:
        if state == I:
            held.pop(core, None)
        else:
            held[core] = state


def transitions(records: Iterable[LineEvent], protocol: str) -> list[Transition]:
    """Every transition a trace caused, in record order."""
    replay = Replay(protocol)
    out: list[Transition] = []
    for rec in records:
        out.extend(replay.step(rec))
    return out
