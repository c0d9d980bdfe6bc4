"""The coherence protocols are literal tables: complete, and loud about a missing cell."""

import pytest

from coreylab.hardware import PROTOCOL_TABLES, Action, Event, Protocol, ProtocolError, State
from coreylab.hardware.protocols import MESI_ROWS


@pytest.mark.parametrize("name", ["MSI", "MESI", "MOESI", "MESIF"])
def test_every_table_is_complete_for_its_states_and_events(name):
    """Each declared state has a transition for each declared event, and only once."""
    proto = PROTOCOL_TABLES[name]
    pairs = [(s, e) for s, e, *_ in proto.rows]
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == {(s, e) for s in proto.states for e in proto.events}


def test_each_protocol_has_the_states_its_name_says():
    assert {s.name for s in PROTOCOL_TABLES["MSI"].states} == set("MSI")
    assert {s.name for s in PROTOCOL_TABLES["MESI"].states} == set("MESI")
    assert {s.name for s in PROTOCOL_TABLES["MOESI"].states} == set("MOESI")
    assert {s.name for s in PROTOCOL_TABLES["MESIF"].states} == set("MESIF")


def test_a_missing_cell_names_the_state_and_the_event():
    rows = [r for r in MESI_ROWS if (r[0], r[1]) != (State.E, Event.STORE)]
    proto = Protocol("MESI-broken", rows)
    with pytest.raises(
        ProtocolError, match="MESI-broken has no transition for state E on event STORE"
    ):
        proto.step(State.E, Event.STORE)
    with pytest.raises(ProtocolError, match="state O on event LOAD"):
        PROTOCOL_TABLES["MESI"].step(State.O, Event.LOAD)


def test_the_cells_that_tell_the_protocols_apart():
    """E makes a private store silent; O keeps a shared dirty line out of DRAM."""
    msi, mesi, moesi = (PROTOCOL_TABLES[n] for n in ("MSI", "MESI", "MOESI"))
    assert msi.step(State.I, Event.LOAD_ONLY).next is State.S
    assert mesi.step(State.I, Event.LOAD_ONLY).next is State.E
    assert mesi.step(State.E, Event.STORE).actions == (Action.HIT,)
    assert mesi.step(State.M, Event.PROBE_READ).actions == (Action.SUPPLY, Action.WRITEBACK)
    assert moesi.step(State.M, Event.PROBE_READ).next is State.O
    assert Action.WRITEBACK not in moesi.step(State.M, Event.PROBE_READ).actions


def test_hit_sets_are_derived_from_the_table():
    moesi = PROTOCOL_TABLES["MOESI"]
    assert moesi.load_hits == {State.M, State.O, State.E, State.S}
    assert moesi.store_hits == {State.M: State.M, State.E: State.M}
    assert PROTOCOL_TABLES["MSI"].store_hits == {State.M: State.M}


@pytest.mark.parametrize(
    "name, owners, dirty, suppliers",
    [
        ("MSI", "M", "M", "M"),
        ("MESI", "ME", "M", "ME"),
        ("MOESI", "MOE", "MO", "MOE"),
        ("MESIF", "ME", "M", "MEF"),
    ],
)
def test_state_facts_are_read_off_the_rows(name, owners, dirty, suppliers):
    """Dirty: its eviction writes back. Owner: it may be written silently or is dirty (the
    holder answers for the line). Supplier: a probe makes it send the data. F supplies but
    owns nothing: memory is up to date."""
    proto = PROTOCOL_TABLES[name]
    assert {s.name for s in proto.owners} == set(owners)
    assert {s.name for s in proto.dirty} == set(dirty)
    assert {s.name for s in proto.suppliers} == set(suppliers)


def test_a_transition_into_a_writable_state_is_exclusive():
    """The machine drops L3 copies when a line becomes writable somewhere (the only copy)."""
    mesi = PROTOCOL_TABLES["MESI"]
    assert mesi.step(State.I, Event.LOAD_ONLY).exclusive
    assert not mesi.step(State.I, Event.LOAD).exclusive
    assert not PROTOCOL_TABLES["MSI"].step(State.I, Event.LOAD_ONLY).exclusive


def test_every_state_has_a_word_and_colours_in_the_pictures():
    """Legends and cells ask STATE_FACTS; every state of every table must be there, each with
    its own colour."""
    from coreylab.hardware import STATE_FACTS

    used = {s for proto in PROTOCOL_TABLES.values() for s in proto.states}
    assert used <= STATE_FACTS.keys()
    assert len({f.color for f in STATE_FACTS.values()}) == len(STATE_FACTS)
    assert STATE_FACTS[State.F].words == "forward"
