"""The coherence protocol as a grid: states by events, drawn from the machine's own table.

What it shows: one cell per `(state, event)` row of `PROTOCOL_TABLES[name].rows` (the literal
table the simulated machine dispatches on), with the cell's actions and its next state (as a
letter in the state's colour). Given a trace, the cells the run exercised are shaded by how
often, with the count printed: a requester's cell comes straight from each record's
`(state_before, event)` (a load's event is LOAD or LOAD_ONLY as the table and the holders at that
moment say); probe cells (PROBE_READ for every core a load probed, PROBE_WRITE for every core a
store or atomic probed) come from each record's `probed` (`replay.py`).

What it leaves out: cache hits (no record, so LOAD and STORE hits, and a store's silent E -> M,
are never counted).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from bokeh.layouts import column
from bokeh.models import ColumnDataSource, Div, HoverTool
from bokeh.palettes import Cividis256
from bokeh.plotting import figure

from ..hardware import PROTOCOL_TABLES, Action
from ..trace import LineEvent, Trace
from . import style
from .frames import records_of
from .replay import Replay

Cell = tuple[str, str]  # (state letter, event name)
SHADES = Cividis256[::-1][:200]  # colour-blind safe: light yellow (few) to dark blue (many)


def exercised(records: Trace | Iterable[LineEvent], protocol: str) -> dict[str, Counter]:
    """How often the trace exercised each cell, by role: {"requester": Counter, "probe": ...}."""
    replay = Replay(protocol)
    out = {"requester": Counter(), "probe": Counter()}
    for rec in records_of(records):
        for t in replay.step(rec):
            out[t.role][t.before, t.event] += 1
    return out


def protocol_table(
    name: str = "MOESI", trace: Trace | Iterable[LineEvent] | None = None, width: int = 980
):
    """The grid of `name`'s table, with the cells `trace` exercised highlighted and counted."""
    counts = exercised(trace, name) if trace is not None else None
    data = table_data(name, counts)
    source = ColumnDataSource(data)
    events = list(dict.fromkeys(data["event"]))
    states = list(dict.fromkeys(data["state"]))
    fig = figure(
        title=f"{name}: what each event does to a line in each state",
        x_range=events,
        y_range=list(reversed(states)),
        width=width,
        height=120 + 88 * len(states),
        tools="",
        toolbar_location=None,
        x_axis_location="above",
    )
    style.style_figure(fig)
    fig.grid.visible = False
    fig.axis.axis_line_color = None
    fig.axis.major_tick_line_color = None
    fig.yaxis.axis_label = "state"
    cells = fig.rect(
        "event",
        "state",
        0.97,
        0.94,
        source=source,
        fill_color="fill",
        line_color="#9E9E9E",
        name="cells",
    )
    _texts(fig, source)
    fig.add_tools(HoverTool(renderers=[cells], tooltips=_TOOLTIPS))
    return column(fig, Div(text=caption(counts), width=width, styles={"font-size": style.FONT}))


_TOOLTIPS = [
    ("cell", "@state on @event"),
    ("actions", "@actions"),
    ("next state", "@next"),
    ("as requester", "@requester"),
    ("as probed core", "@probe"),
]


def table_data(name: str, counts: dict[str, Counter] | None) -> dict[str, list]:
    """One row per table cell, in the table's order: state, event, actions, next, counts."""
    rows = PROTOCOL_TABLES[name].rows
    top = max((_total(counts, (s.name, e.name)) for s, e, _, _ in rows), default=0)
    cells = [_cell(s.name, e.name, acts, nxt.name, counts, top) for s, e, acts, nxt in rows]
    return {key: [c[key] for c in cells] for key in cells[0]}


def _cell(state: str, event: str, actions, nxt: str, counts, top: int) -> dict:
    mine = counts["requester"][state, event] if counts else 0
    probe = counts["probe"][state, event] if counts else 0
    n = mine + probe
    # Shade on a log scale: one very hot cell must not wash out the rest.
    shade = round(math.log1p(n) / math.log1p(top) * (len(SHADES) - 1)) if n else None
    return {
        "state": state,
        "event": event,
        "actions": _actions(actions),
        "next": nxt,
        "requester": mine,
        "probe": probe,
        "count": n,
        "fill": "white" if shade is None else SHADES[shade],
        "tc": "white" if shade is not None and shade > len(SHADES) // 2 else "#212121",
        "count_text": f"× {n:,}" if n else "",
        "next_color": style.STATES[nxt].color,
        "next_tc": style.STATES[nxt].text,
    }


def _total(counts: dict[str, Counter] | None, cell: Cell) -> int:
    return counts["requester"][cell] + counts["probe"][cell] if counts else 0


def _actions(actions: tuple[Action, ...]) -> str:
    return " + ".join(a.name.lower().replace("_", " ") for a in actions) or "nothing"


def _texts(fig, source: ColumnDataSource) -> None:
    """Actions on top, the next state as a coloured lettered square, the count below."""
    common = dict(source=source, text_align="center", text_baseline="middle")
    fig.text(
        "event",
        "state",
        "actions",
        y_offset=-25,
        text_color="tc",
        text_font_size=style.FONT_SMALL,
        **common,
    )
    fig.text(
        "event",
        "state",
        text={"value": "→"},
        x_offset=-26,
        text_color="tc",
        text_font_size=style.FONT_LARGE,
        **common,
    )
    fig.scatter(
        "event",
        "state",
        source=source,
        marker="square",
        size=26,
        fill_color="next_color",
        line_color="#212121",
    )
    fig.text(
        "event",
        "state",
        "next",
        text_color="next_tc",
        text_font_style="bold",
        text_font_size=style.FONT,
        **common,
    )
    fig.text(
        "event",
        "state",
        "count_text",
        y_offset=26,
        text_color="tc",
        text_font_style="bold",
        text_font_size=style.FONT,
        **common,
    )


def caption(counts: dict[str, Counter] | None) -> str:
    """What the highlighted counts mean."""
    if counts is None:
        return "Each cell: the actions the machine takes and (in the square) the line's next state."
    mine, probe = sum(counts["requester"].values()), sum(counts["probe"].values())
    return (
        f"Shaded cells were exercised by the trace: {mine:,} transitions of the cores that asked "
        f"and {probe:,} of cores their requests probed (PROBE_READ for a load, PROBE_WRITE for a "
        f"store or atomic), all from the trace's records. Hits make no record, so hit cells stay "
        f"blank."
    )
