"""Cache-coherence protocols as tables: MSI, MESI and MOESI.

What it models: the stable states of one line in one core's private caches and how each event
moves it, written as the textbook writes them, one `(state, event) -> (actions, next)` row at a
time. Transactions are atomic in this simulator (a line is in one transfer at a time, see
`machine.py`), so there are no transient states.

What it leaves out: transient states, NACKs and races inside a transaction; the exact probe
filter of the Opteron. Who supplies data on a read is stated by the table (the SUPPLY action),
not guessed by the machine: in MSI only a Modified line is supplied by its cache; MESI also
supplies from Exclusive; MOESI supplies from Modified, Owned and Exclusive and keeps a dirty
line dirty (Owned) instead of writing it back when another core reads it.

Invariant the machine keeps with these tables: at most one core holds a line in a writable
state (M or E), and then nobody else holds it at all (single writer, multiple readers).

Source: Sorin, Hill and Wood, "A Primer on Memory Consistency and Cache Coherence", ch. 7;
AMD64 Architecture Programmer's Manual vol. 2, 7.3 (MOESI).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class State(IntEnum):
    """Stable states of a line in one core's private caches."""

    I = 0  # noqa: E741  Invalid: not here
    S = 1  # Shared: a clean copy, others may have copies too
    E = 2  # Exclusive: the only copy, clean; a store needs no bus transaction
    O = 3  # noqa: E741  Owned: dirty, others may hold Shared copies; this cache answers reads
    M = 4  # Modified: the only copy, dirty

    @property
    def letter(self) -> str:
        return self.name


class Event(IntEnum):
    """What can happen to a line in one core's caches."""

    LOAD = 0  # this core reads; on a miss, another cache holds a copy (the shared signal)
    LOAD_ONLY = 1  # this core reads; on a miss, no other cache holds a copy
    STORE = 2  # this core writes, or does an atomic read-modify-write
    PROBE_READ = 3  # another core reads the line
    PROBE_WRITE = 4  # another core wants to write the line
    EVICT = 5  # the line is chosen as a victim and leaves this core's caches


class Action(IntEnum):
    """The small steps a transition asks of the machine."""

    HIT = 0  # nothing leaves the core
    FETCH = 1  # read miss: get the data from a cache that supplies it, else L3 or DRAM
    FETCH_EXCLUSIVE = 2  # write miss: get the data and invalidate every other copy
    UPGRADE = 3  # write to a line held read-only: invalidate every other copy, no data
    SUPPLY = 4  # this cache sends its data to the requester
    WRITEBACK = 5  # this cache writes its dirty data back to memory


@dataclass(frozen=True)
class Transition:
    actions: tuple[Action, ...]
    next: State

    # The questions the machine asks of every transition, answered once (it asks very often).
    def __post_init__(self) -> None:
        flags = {
            "supplies": Action.SUPPLY in self.actions,
            "writes_back": Action.WRITEBACK in self.actions,
            "upgrades": Action.UPGRADE in self.actions,
            "exclusive": self.next in (State.M, State.E),
        }
        for name, value in flags.items():
            object.__setattr__(self, name, value)


class ProtocolError(LookupError):
    """A (state, event) pair the protocol's table does not define."""


Row = tuple[State, Event, tuple[Action, ...], State]
M, O, E, S, I = State.M, State.O, State.E, State.S, State.I  # noqa: E741
LOAD, LOAD_ONLY, STORE = Event.LOAD, Event.LOAD_ONLY, Event.STORE
PROBE_READ, PROBE_WRITE, EVICT = Event.PROBE_READ, Event.PROBE_WRITE, Event.EVICT
HIT, FETCH, FETCH_X, UPGRADE = Action.HIT, Action.FETCH, Action.FETCH_EXCLUSIVE, Action.UPGRADE
SUPPLY, WRITEBACK = Action.SUPPLY, Action.WRITEBACK

# fmt: off
MSI_ROWS: list[Row] = [
    # state  event         actions                 next
    (M, LOAD,        (HIT,),                 M),
    (M, LOAD_ONLY,   (HIT,),                 M),
    (M, STORE,       (HIT,),                 M),
    (M, PROBE_READ,  (SUPPLY, WRITEBACK),    S),
    (M, PROBE_WRITE, (SUPPLY,),              I),
    (M, EVICT,       (WRITEBACK,),           I),
    (S, LOAD,        (HIT,),                 S),
    (S, LOAD_ONLY,   (HIT,),                 S),
    (S, STORE,       (UPGRADE,),             M),
    (S, PROBE_READ,  (),                     S),
    (S, PROBE_WRITE, (),                     I),
    (S, EVICT,       (),                     I),
    (I, LOAD,        (FETCH,),               S),
    (I, LOAD_ONLY,   (FETCH,),               S),
    (I, STORE,       (FETCH_X,),             M),
    (I, PROBE_READ,  (),                     I),
    (I, PROBE_WRITE, (),                     I),
    (I, EVICT,       (),                     I),  # never happens: nothing to evict
]

MESI_ROWS: list[Row] = [
    (M, LOAD,        (HIT,),                 M),
    (M, LOAD_ONLY,   (HIT,),                 M),
    (M, STORE,       (HIT,),                 M),
    (M, PROBE_READ,  (SUPPLY, WRITEBACK),    S),
    (M, PROBE_WRITE, (SUPPLY,),              I),
    (M, EVICT,       (WRITEBACK,),           I),
    (E, LOAD,        (HIT,),                 E),
    (E, LOAD_ONLY,   (HIT,),                 E),
    (E, STORE,       (HIT,),                 M),  # silent upgrade: the point of E
    (E, PROBE_READ,  (SUPPLY,),              S),
    (E, PROBE_WRITE, (SUPPLY,),              I),
    (E, EVICT,       (),                     I),
    (S, LOAD,        (HIT,),                 S),
    (S, LOAD_ONLY,   (HIT,),                 S),
    (S, STORE,       (UPGRADE,),             M),
    (S, PROBE_READ,  (),                     S),
    (S, PROBE_WRITE, (),                     I),
    (S, EVICT,       (),                     I),
    (I, LOAD,        (FETCH,),               S),
    (I, LOAD_ONLY,   (FETCH,),               E),
    (I, STORE,       (FETCH_X,),             M),
    (I, PROBE_READ,  (),                     I),
    (I, PROBE_WRITE, (),                     I),
    (I, EVICT,       (),                     I),  # never happens: nothing to evict
]

MOESI_ROWS: list[Row] = [
    (M, LOAD,        (HIT,),                 M),
    (M, LOAD_ONLY,   (HIT,),                 M),
    (M, STORE,       (HIT,),                 M),
    (M, PROBE_READ,  (SUPPLY,),              O),  # stays dirty: no write-back, the point of O
    (M, PROBE_WRITE, (SUPPLY,),              I),
    (M, EVICT,       (WRITEBACK,),           I),
    (O, LOAD,        (HIT,),                 O),
    (O, LOAD_ONLY,   (HIT,),                 O),
    (O, STORE,       (UPGRADE,),             M),
    (O, PROBE_READ,  (SUPPLY,),              O),
    (O, PROBE_WRITE, (SUPPLY,),              I),
    (O, EVICT,       (WRITEBACK,),           I),
    (E, LOAD,        (HIT,),                 E),
    (E, LOAD_ONLY,   (HIT,),                 E),
    (E, STORE,       (HIT,),                 M),
    (E, PROBE_READ,  (SUPPLY,),              S),
    (E, PROBE_WRITE, (SUPPLY,),              I),
    (E, EVICT,       (),                     I),
    (S, LOAD,        (HIT,),                 S),
    (S, LOAD_ONLY,   (HIT,),                 S),
    (S, STORE,       (UPGRADE,),             M),
    (S, PROBE_READ,  (),                     S),
    (S, PROBE_WRITE, (),                     I),
    (S, EVICT,       (),                     I),
    (I, LOAD,        (FETCH,),               S),
    (I, LOAD_ONLY,   (FETCH,),               E),
    (I, STORE,       (FETCH_X,),             M),
    (I, PROBE_READ,  (),                     I),
    (I, PROBE_WRITE, (),                     I),
    (I, EVICT,       (),                     I),  # never happens: nothing to evict
]
# fmt: on


class Protocol:
    """One protocol: its table, and the dispatch every coherence step goes through."""

    def __init__(self, name: str, rows: list[Row]) -> None:
        self.name = name
        self.rows = tuple(rows)
        self.table = {(s, e): Transition(acts, nxt) for s, e, acts, nxt in rows}
        self.states = tuple(sorted({s for s, *_ in rows}, reverse=True))
        self.events = tuple(sorted({e for _, e, *_ in rows}))
        # Derived once from the table, for the hit path: which states let a load or a store
        # complete inside the core, and the state a silent store leaves behind (E -> M).
        self.load_hits = frozenset(s for s in self.states if s != I and self._is_hit(s, LOAD))
        self.store_hits = {
            s: self.table[s, STORE].next for s in self.states if self._is_hit(s, STORE)
        }

    def _is_hit(self, state: State, event: Event) -> bool:
        step = self.table.get((state, event))
        return step is not None and step.actions == (HIT,)

    def step(self, state: State, event: Event) -> Transition:
        """The transition for `event` in `state`; a pair the table lacks is a loud error."""
        try:
            return self.table[state, event]
        except KeyError:
            pair = f"state {State(state).name} on event {Event(event).name}"
            raise ProtocolError(f"{self.name} has no transition for {pair}") from None

    def __repr__(self) -> str:
        return f"Protocol({self.name})"


PROTOCOL_TABLES = {
    "MSI": Protocol("MSI", MSI_ROWS),
    "MESI": Protocol("MESI", MESI_ROWS),
    "MOESI": Protocol("MOESI", MOESI_ROWS),
}


def protocol(name: str) -> Protocol:
    return PROTOCOL_TABLES[name]
