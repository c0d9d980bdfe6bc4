"""Per-core timeline: what each core spent its cycles on, and where hot lines were handed over.

What it shows: one row per core, time in cycles across. From the trace: each coherence
transaction as a span, split into the part spent queued behind earlier transfers of the same
line and the part spent being served; each spin (a core polling a line in its L1 until another
core changes it). From the caller, if given: spans of user and kernel work, drawn as a wider band
behind them. Hand-offs: for the lines of interest (default: the hottest few by transfers) an
arrow from the core that supplied a line to the core that took it, from the moment the transfer
starts to the moment it ends, with a dot where it arrived: a lock passed from releaser to next
acquirer reads as a chain (zoom in: a contended line is handed over thousands of times).

What it leaves out: cache hits and computation the caller does not describe (blank time); lines
that are not chosen get no arrows (their spans are still drawn).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bokeh.models import (
    ColumnDataSource,
    HoverTool,
    Legend,
    LegendItem,
    NumeralTickFormatter,
    Range1d,
)
from bokeh.plotting import figure

from ..hardware import HardwareParams
from ..trace import LineEvent, Trace
from . import style
from .frames import Lines, choose_lines, hottest_lines, line_name, records_of
from .replay import Replay

Span = tuple[int, int, int, str]  # (core, t0, t1, kind) with kind "user" or "kernel"

HANDOFF_COLORS = ("#212121", "#0072B2", "#D55E00")  # one per line whose hand-offs are drawn
# kind -> (legend words, colour, hatch, bar height in rows); wide bands first (drawn behind)
KINDS = {
    "user": ("user work", "#009E73", " ", 0.8),
    "kernel": ("kernel work", "#E69F00", " ", 0.8),
    "queued": ("queued for the line", style.STATUS_HATCH_COLOR[2], "/", 0.5),
    "miss": ("miss being served", style.STATUS_HATCH_COLOR[1], " ", 0.5),
    "spin": ("spinning on a line", style.STATUS_HATCH_COLOR[3], "x", 0.5),
}


def core_timeline(
    trace_or_records: Trace | Iterable[LineEvent],
    params: HardwareParams,
    spans: Sequence[Span] | None = None,
    lines: Lines = None,
    width: int = 1000,
    title: str = "What each core was doing (the wheel-zoom tool zooms in time)",
):
    """A row per core (0 at the top) of miss, queue and spin spans, plus the caller's
    user/kernel `spans`, with hand-offs of `lines` (default: the hottest line)."""
    records = records_of(trace_or_records)
    # Rows for the cores that did something (up to the highest one), not the whole machine.
    busy = [r.core for r in records if r.core >= 0] + [s[0] for s in spans or []]
    rows = max(busy, default=params.cores - 1) + 1
    fig = figure(
        title=title,
        width=width,
        height=110 + 30 * rows,
        x_axis_label="cycles",
        y_axis_label="core",
        y_range=Range1d(rows - 0.5, -0.5),
        tools="xpan,xwheel_zoom,box_zoom,reset,save",
        active_scroll=None,  # off until picked: the page must scroll past the chart
    )
    style.style_figure(fig)
    fig.yaxis.ticker = list(range(rows))
    fig.xaxis.formatter = NumeralTickFormatter(format="0,0")
    fig.ygrid.grid_line_color = None
    legend = Legend(label_text_font_size=style.FONT, click_policy="hide")
    fig.add_layout(legend, "right")
    bars = _draw_spans(fig, legend, timeline_spans(records, spans or []))
    chosen = lines if lines is not None else hottest_lines(records, 1)
    _draw_handoffs(fig, legend, handoffs(records, params.protocol, chosen))
    fig.add_tools(HoverTool(renderers=bars, tooltips=_TOOLTIPS))
    return fig


def _draw_spans(fig, legend: Legend, data: dict[str, dict]) -> list:
    bars = []
    for kind, (words, colour, hatch, height) in KINDS.items():
        if not data[kind]["core"]:
            continue
        source = ColumnDataSource(_bar_columns(data[kind], kind))
        bar = fig.quad(
            "left",
            "right",
            "bottom",
            "top",
            source=source,
            fill_color=colour,
            fill_alpha=0.35 if height > 0.5 else 0.9,
            line_color=colour,
            hatch_pattern=hatch,
            hatch_color="white",
            name=f"span:{kind}",
        )
        legend.items.append(LegendItem(label=words, renderers=[bar]))
        bars.append(bar)
    return bars


_TOOLTIPS = [
    ("core", "@core"),
    ("", "@what"),
    ("line", "@label"),
    ("cycles", "@left – @right"),
    ("took", "@took cycles"),
]


def timeline_spans(records: Sequence[LineEvent], spans: Sequence[Span]) -> dict[str, dict]:
    """Per kind of span, columns core, left, right, label (plain data, for tests and hover)."""
    out: dict[str, dict[str, list]] = {
        k: {"core": [], "left": [], "right": [], "label": []} for k in KINDS
    }

    def add(kind: str, core: int, left: int, right: int, label: str) -> None:
        if right > left:
            cols = out[kind]
            for key, value in zip(cols, (core, left, right, label), strict=True):
                cols[key].append(value)

    for r in records:
        name = line_name(r.line, r.label)
        if r.kind == "spin":
            add("spin", r.core, r.t_start, r.t_end, name)
        elif r.kind != "evict":
            add("queued", r.core, r.t_start, r.t_start + r.queued, name)
            add("miss", r.core, r.t_start + r.queued, r.t_end, name)
    for core, t0, t1, kind in spans:
        if kind not in ("user", "kernel"):
            raise ValueError(f"span kind must be 'user' or 'kernel', not {kind!r}")
        add(kind, core, t0, t1, "")
    return out


def _bar_columns(cols: dict[str, list], kind: str) -> dict[str, list]:
    words, _, _, height = KINDS[kind]
    return {
        **cols,
        "bottom": [c - height / 2 for c in cols["core"]],
        "top": [c + height / 2 for c in cols["core"]],
        "took": [r - left for left, r in zip(cols["left"], cols["right"], strict=True)],
        "what": [words] * len(cols["core"]),
    }


def handoffs(records: Sequence[LineEvent], protocol: str, lines: Lines = None) -> dict[str, list]:
    """Cache-to-cache transfers of the chosen lines: from (start of transfer, supplier core)
    to (end, requester core), as the records say (`replay.origin`)."""
    wanted = set(choose_lines(records, lines))
    cols: dict[str, list] = {"x0": [], "y0": [], "x1": [], "y1": [], "label": []}
    replay = Replay(protocol)
    for r in records:
        replay.step(r)
        if r.line in wanted and r.kind != "evict" and replay.origin == ("core", r.supplier):
            values = (r.t_start + r.queued, r.supplier, r.t_end, r.core, line_name(r.line, r.label))
            for key, value in zip(cols, values, strict=True):
                cols[key].append(value)
    return cols


def _draw_handoffs(fig, legend: Legend, data: dict[str, list]) -> None:
    """Per line, a thin segment from the core that held it to the core that took it, and a
    dot where it arrived: a lock's path from releaser to next acquirer. Thin and translucent,
    because a contended line is handed over thousands of times (zoom in to follow it)."""
    for i, name in enumerate(dict.fromkeys(data["label"])):
        rows = [k for k, label in enumerate(data["label"]) if label == name]
        source = ColumnDataSource({key: [data[key][k] for k in rows] for key in data})
        colour = HANDOFF_COLORS[i % len(HANDOFF_COLORS)]
        seg = fig.segment(
            "x0",
            "y0",
            "x1",
            "y1",
            source=source,
            line_color=colour,
            line_width=1.2,
            line_alpha=0.25,
            name=f"handoff:{name}",
        )
        dot = fig.scatter("x1", "y1", source=source, size=4, color=colour, alpha=0.6)
        legend.items.append(LegendItem(label=f"hand-off of {name}", renderers=[seg, dot]))
