"""Cache-coherence protocols as tables: MSI, MESI, MOESI and MESIF.

What it models: the stable states of one line in one core's private caches and how each event
moves it, written as the textbook writes them, one `(state, event) -> (actions, next)` row at a
time. Transactions are atomic in this simulator (a line is in one transfer at a time, see
`machine.py`), so there are no transient states.

A state's facts are read off its rows, so they cannot disagree with what the machine does:
  * writable: a store completes inside the core (its STORE cell is a HIT): M, and E;
  * dirty: memory's copy is stale (its EVICT cell writes back): M and O;
  * owns: its holder answers for the line, because it may change it silently or holds it
    dirty (writable or dirty): M, O and E. The machine's directory names this holder;
  * supplies: its cache sends the data when another core's request probes it (SUPPLY).
What is not behaviour, a state's word, colour and letter colour in every picture, sits beside
the tables in `STATE_FACTS`; the machine, the trace replay and the pictures all ask `Protocol`.

Who supplies data on a read is stated by the table (the SUPPLY action), not guessed by the
machine: in MSI only a Modified line is supplied by its cache; MESI also supplies from
Exclusive; MOESI supplies from Modified, Owned and Exclusive and keeps a dirty line dirty
(Owned) instead of writing it back when another core reads it. MESIF (Intel's) adds Forward: a
clean shared copy that answers reads. The newest reader takes F and the old F becomes S, so
the copy that answers is the one least likely to be evicted soon; when F has been evicted
the data comes from the L3 or memory. F is a supplier that is not an owner: memory is up to
date and F writes nothing back.

What it leaves out: transient states, NACKs and races inside a transaction; the exact probe
filter of the Opteron; MESIF's home agent and its conflict resolution (the machine serializes
the requests for a line at the line's home instead).

Invariant the machine keeps with these tables: at most one core holds a line in a writable
state (M or E), and then nobody else holds it at all (single writer, multiple readers); at
most one core holds it in a state that supplies.

Source: Sorin, Hill and Wood, "A Primer on Memory Consistency and Cache Coherence", ch. 7;
AMD64 Architecture Programmer's Manual vol. 2, 7.3 (MOESI); Hum and Goodman, "Forward state
for use in cache coherency in a multiprocessor system", US patent 6,922,756 (2005) (MESIF).
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
    F = 5  # Forward (MESIF): a clean copy, others may have S copies; this cache answers reads


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
    exclusive: bool = False  # the next state is writable, so this copy is the only one

    # The questions the machine asks of every transition, answered once (it asks very often).
    def __post_init__(self) -> None:
        flags = {
            "supplies": Action.SUPPLY in self.actions,
            "writes_back": Action.WRITEBACK in self.actions,
            "upgrades": Action.UPGRADE in self.actions,
        }
        for name, value in flags.items():
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class StateFacts:
    """How every picture shows a state: its word in legends, its fill, its letter's colour."""

    words: str
    color: str
    text: str


# Strongest first: the order of legends and of each protocol's `states`. Colours are from the
# Okabe-Ito palette (distinguishable with the common colour-vision deficiencies; yellow is left
# for the animation's token); letters are black or white, whichever reads better on the fill.
# fmt: off
STATE_FACTS: dict[State, StateFacts] = {
    State.M: StateFacts("modified",  "#D55E00", "white"),    # vermillion
    State.O: StateFacts("owned",     "#E69F00", "black"),    # orange
    State.E: StateFacts("exclusive", "#009E73", "white"),    # bluish green
    State.F: StateFacts("forward",   "#CC79A7", "black"),    # reddish purple
    State.S: StateFacts("shared",    "#56B4E9", "black"),    # sky blue
    State.I: StateFacts("invalid",   "#F2F2F2", "#8C8C8C"),  # near white, grey letter
}
# fmt: on


class ProtocolError(LookupError):
    """A (state, event) pair the protocol's table does not define."""


Row = tuple[State, Event, tuple[Action, ...], State]
M, O, E, F, S, I = State.M, State.O, State.E, State.F, State.S, State.I  # noqa: E741
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

MESIF_ROWS: list[Row] = [
    (M, LOAD,        (HIT,),                 M),
    (M, LOAD_ONLY,   (HIT,),                 M),
    (M, STORE,       (HIT,),                 M),
    (M, PROBE_READ,  (SUPPLY, WRITEBACK),    S),  # the reader takes F
    (M, PROBE_WRITE, (SUPPLY,),              I),
    (M, EVICT,       (WRITEBACK,),           I),
    (E, LOAD,        (HIT,),                 E),
    (E, LOAD_ONLY,   (HIT,),                 E),
    (E, STORE,       (HIT,),                 M),
    (E, PROBE_READ,  (SUPPLY,),              S),  # the reader takes F
    (E, PROBE_WRITE, (SUPPLY,),              I),
    (E, EVICT,       (),                     I),
    (F, LOAD,        (HIT,),                 F),
    (F, LOAD_ONLY,   (HIT,),                 F),
    (F, STORE,       (UPGRADE,),             M),
    (F, PROBE_READ,  (SUPPLY,),              S),  # F moves to the newest reader
    (F, PROBE_WRITE, (SUPPLY,),              I),
    (F, EVICT,       (),                     I),  # clean: memory has it
    (S, LOAD,        (HIT,),                 S),
    (S, LOAD_ONLY,   (HIT,),                 S),
    (S, STORE,       (UPGRADE,),             M),
    (S, PROBE_READ,  (),                     S),
    (S, PROBE_WRITE, (),                     I),
    (S, EVICT,       (),                     I),
    (I, LOAD,        (FETCH,),               F),  # from F if a cache has it, else L3/DRAM
    (I, LOAD_ONLY,   (FETCH,),               E),
    (I, STORE,       (FETCH_X,),             M),
    (I, PROBE_READ,  (),                     I),
    (I, PROBE_WRITE, (),                     I),
    (I, EVICT,       (),                     I),  # never happens: nothing to evict
]
# fmt: on


class Protocol:
    """One protocol: its table, the facts of its states read off the table, and the dispatch
    every coherence step goes through."""

    def __init__(self, name: str, rows: list[Row]) -> None:
        self.name = name
        self.rows = tuple(rows)
        present = {s for s, *_ in rows}
        self.states = tuple(s for s in STATE_FACTS if s in present)  # strongest first
        self.events = tuple(sorted({e for _, e, *_ in rows}))
        cells = {(s, e): (acts, nxt) for s, e, acts, nxt in rows}
        # Derived once from the rows (the machine asks on every transaction): which states let
        # a load or a store complete inside the core, and the state a silent store leaves
        # behind (E -> M); then each state's facts (see the module's docstring).
        self.load_hits = frozenset(s for s in self.states if s != I and _hit(cells, s, LOAD))
        self.store_hits = {s: cells[s, STORE][1] for s in self.states if _hit(cells, s, STORE)}
        self.writable = frozenset(self.store_hits)
        self.dirty = frozenset(s for s in self.states if _does(cells, s, EVICT, WRITEBACK))
        self.owners = self.writable | self.dirty
        probes = (PROBE_READ, PROBE_WRITE)
        self.suppliers = frozenset(
            s for s in self.states if any(_does(cells, s, e, SUPPLY) for e in probes)
        )
        self.table = {
            key: Transition(acts, nxt, nxt in self.writable) for key, (acts, nxt) in cells.items()
        }

    def facts(self, state: State) -> StateFacts:
        return STATE_FACTS[state]

    def step(self, state: State, event: Event) -> Transition:
        """The transition for `event` in `state`; a pair the table lacks is a loud error."""
        try:
            return self.table[state, event]
        except KeyError:
            pair = f"state {State(state).name} on event {Event(event).name}"
            raise ProtocolError(f"{self.name} has no transition for {pair}") from None

    def __repr__(self) -> str:
        return f"Protocol({self.name})"


def _hit(cells: dict, state: State, event: Event) -> bool:
    cell = cells.get((state, event))
    return cell is not None and cell[0] == (HIT,)


def _does(cells: dict, state: State, event: Event, action: Action) -> bool:
    cell = cells.get((state, event))
    return cell is not None and action in cell[0]


# The one registry of protocols: parameters, widgets and the CLI take their names from it.
PROTOCOL_TABLES = {
    "MSI": Protocol("MSI", MSI_ROWS),
    "MESI": Protocol("MESI", MESI_ROWS),
    "MOESI": Protocol("MOESI", MOESI_ROWS),
    "MESIF": Protocol("MESIF", MESIF_ROWS),
}
PROTOCOLS = tuple(PROTOCOL_TABLES)


def protocol(name: str) -> Protocol:
    return PROTOCOL_TABLES[name]
