"""The coherence protocols are literal tables: complete, and loud about a missing cell."""

import pytest

from coreylab.hardware import PROTOCOL_TABLES, Action, Event, Protocol, ProtocolError, State
from coreylab.hardware.protocols import MESI_ROWS


@pytest.mark.parametrize("name", ["MSI", "MESI", "MOESI"])
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
