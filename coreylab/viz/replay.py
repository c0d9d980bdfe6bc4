"""Replaying a trace: which core holds each line in which state, record after record.

What it computes: a trace records one `LineEvent` per coherence transaction, from the point of
view of the core that asked, with every other core it probed (`probed`: core, state before,
state after, as the machine's table moved them). Replaying the records in order gives every
core's state of every line, and the table cells each record exercised: the requester's
`(state_before, event)` and, for each probed core, `PROBE_READ` (a load) or `PROBE_WRITE` (a
store or atomic). Both the machine animation (states per frame) and the protocol view (cells
exercised) read this. Nothing is guessed: the states and who supplied come from the record.

How the event of a load is told: `LOAD` when another core held the line at that moment,
`LOAD_ONLY` when none did (the replay knows the holders), checked against the table's next state.

What it leaves out, and why: a store to a line held E is a silent hit (no transaction, so no
record). The replay then shows E where the line is really M until the next record on the line
(whose `probed` or `state_before` says M). Records of kind "spin" change no state; a DMA write
("dma") takes the line from the cores it invalidated. A bounded trace (`Trace(limit=...)`)
misses later records; the replay just stops there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from ..hardware import PROTOCOL_TABLES, Event
from ..trace import LineEvent, is_cache_source

I = "I"  # noqa: E741
TRANSACTIONS = ("load", "store", "atomic", "evict")  # record kinds that change states


class Transition(NamedTuple):
    """One table cell a record exercised: `core` went from `before` to `after` on `event`."""

    core: int
    before: str
    event: str
    after: str
    role: str  # "requester" or "probe"


class Replay:
    """Holders and states of every line, advanced one record at a time.

    After each `step`, `origin` says where that record's data came from: ("core", id) for
    another core's cache, ("chip", id) for a chip's L3 or DRAM, None when no data moved."""

    def __init__(self, protocol: str) -> None:
        self.protocol = PROTOCOL_TABLES[protocol]
        self.table = {(s.name, e.name): t for (s, e), t in self.protocol.table.items()}
        self.held: dict[int, dict[int, str]] = {}  # line -> core -> state letter (not I)
        self.origin: tuple[str, int] | None = None

    def state(self, line: int, core: int) -> str:
        return self.held.get(line, {}).get(core, I)

    def step(self, rec: LineEvent) -> list[Transition]:
        """Apply one record; return the table transitions it caused (requester first)."""
        self.origin = None
        held = self.held.setdefault(rec.line, {})
        if rec.kind == "dma":  # a device's write: no table cell, the copies are gone
            for core in rec.invalidated:
                held.pop(core, None)
            return []
        if rec.kind not in TRANSACTIONS:
            return []
        if rec.kind == "evict":
            held.pop(rec.core, None)
            self.origin = ("core", rec.core) if rec.source == "writeback" else None
            return [Transition(rec.core, rec.state_before, Event.EVICT.name, I, "requester")]
        self.origin = origin(rec)
        event = self._load_event(rec, held) if rec.kind == "load" else Event.STORE.name
        column = (Event.PROBE_READ if rec.kind == "load" else Event.PROBE_WRITE).name
        out = [Transition(rec.core, rec.state_before, event, rec.state_after, "requester")]
        for core, before, after in rec.probed:
            out.append(Transition(core, before, column, after, "probe"))
            _set(held, core, after)
        _set(held, rec.core, rec.state_after)
        return out

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


def origin(rec: LineEvent) -> tuple[str, int] | None:
    """Where a load's, store's or atomic's data came from, as the record says: another core's
    cache, a chip's L3 or DRAM, or nowhere (an upgrade)."""
    if rec.source == "upgrade":
        return None
    return ("core" if is_cache_source(rec.source) else "chip", rec.supplier)


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
