"""Page tables and address ranges, drawn: which page-table pages each core's address space (a
Linux `mm`) or address tree (a Corey root range) walks, which of them several cores or several
trees share, and how many hard and soft page faults each core took.

Two steps, kept apart (simulation, results and pictures stay apart):

  page_table_snapshot(kernel)  after a run, the tables as plain data (`pagetable_snapshot.py`).
  page_table_view(snapshot)    draws a snapshot: a row of cores, then one row per table level
                               (PML4, PDPT, PD, PT), an edge from each table to the tables its
                               entries point to, and under it each core's faults.

What it shows: a table page is drawn once however many trees reach it. Its colour (and the
words in it: colour is never the only cue) says who walks it: one core only; several cores
of one tree (threads sharing an mm); or several trees (a Corey range mounted in several root
ranges: a shared subtree, its incoming edges drawn thick). PT boxes say how many entries (PTEs)
they hold: separate processes mapping one shared buffer each hold their own copy of every PTE,
and each copy cost a soft fault.

What it leaves out: the data pages themselves (counted, not drawn), and what the snapshot leaves
out (see `pagetable_snapshot.py`).
"""

from __future__ import annotations

from typing import Any

from bokeh.layouts import column
from bokeh.models import (
    ColumnDataSource,
    Div,
    FixedTicker,
    HoverTool,
    Legend,
    LegendItem,
    NumeralTickFormatter,
    Range1d,
)
from bokeh.plotting import figure

from ..kernel.pagetables import PT
from . import style
from .pagetable_snapshot import Snapshot, page_table_snapshot, snapshot_summary

__all__ = ["page_table_snapshot", "page_table_view", "snapshot_summary"]

# Who walks a table -> (legend words, fill, text colour, outline width). Okabe-Ito colours;
# the words in each box say the same (colour is never the only cue).
KINDS = {
    "private": ("one core", "#CFE8F7", "black", 1.5),
    "cores": ("several cores, one tree (threads)", "#E69F00", "black", 1.5),
    "trees": ("several trees: a shared subtree", "#D55E00", "white", 3.5),
}
LEVEL_ROWS = ("PML4", "PDPT", "PD", "PT")
CORE_ROW = len(LEVEL_ROWS) + 1  # y of the row of cores; a level's row is at y = 4 - level
EDGE_COLOR = "#9E9E9E"
FAULT_COLORS = {"hard": "#0072B2", "soft": "#E69F00"}


# -- the picture ----------------------------------------------------------------------------------
def page_table_view(snap: Snapshot, title: str | None = None, width: int = 900):
    """The snapshot's trees (cores on top, PML4 to PT below) and each core's faults."""
    pos = _positions(snap)
    columns = pos["columns"]
    unit = max(min(170.0, (width - MARGIN) / columns), 12.0)
    fig_width = max(int(unit * columns + MARGIN), MIN_WIDTH)
    unit = (fig_width - MARGIN) / columns
    tree = _tree_figure(snap, pos, columns, fig_width, title or snap.get("title") or "")
    _draw_edges(tree, snap, pos)
    _draw_tables(tree, snap, pos, unit)
    _draw_cores(tree, snap, pos, unit)
    faults = _fault_figure(snap, pos, tree.x_range, fig_width, min(0.6, 70 / unit))
    caption = Div(
        text=snapshot_summary(snap), width=fig_width, styles={"font-size": style.FONT_LARGE}
    )
    return column(caption, tree, faults)


def _positions(snap: Snapshot) -> dict[str, Any]:
    """x of every core and table: each row spread evenly over the widest row, each table
    placed in its row by the mean x of its parents (cores for a root), so edges rarely cross."""
    cores = [c["core"] for c in snap["cores"]]
    levels: dict[int, list[dict]] = {}
    for t in snap["tables"]:
        levels.setdefault(t["level"], []).append(t)
    rows: list[list] = [cores] + [levels.get(lv, []) for lv in range(len(LEVEL_ROWS))]
    columns = max(1, *(len(r) for r in rows))

    def spread(n: int) -> list[float]:
        return [(i + 0.5) * columns / n for i in range(n)]

    x_core = dict(zip(cores, spread(len(cores)), strict=True))
    x_table: dict[int, float] = {}
    above: dict[int, list[float]] = {}  # a table -> the x of what points at it
    for c in snap["cores"]:
        above.setdefault(c["root"], []).append(x_core[c["core"]])
    for lv in range(len(LEVEL_ROWS)):
        row = levels.get(lv, [])
        for t in row:
            ups = above.get(t["page"], []) if lv == 0 else [x_table[p] for p in t["parents"]]
            t["_x"] = (sum(ups) / len(ups) if ups else 0.0, t["page"])
        row.sort(key=lambda t: t.pop("_x"))
        for t, x in zip(row, spread(len(row)), strict=True):
            x_table[t["page"]] = x
    return {"rows": rows, "core": x_core, "table": x_table, "columns": columns}


def _y(level: int) -> float:
    return float(len(LEVEL_ROWS) - level)


# Glyph and figure styles, named once.
BORDERS = {"min_border_left": 70, "min_border_right": 20}  # room for the row names
CENTRED = {"text_align": "center", "text_baseline": "middle"}
OUTLINED = {"line_color": "#212121"}
ENDS = ("x0", "y0", "x1", "y1")  # a segment's columns


def _tree_figure(snap: Snapshot, pos: dict, columns: int, width: int, title: str):
    x_range, y_range = Range1d(0, columns), Range1d(0.4, CORE_ROW + 0.5)
    tools = "pan,box_zoom,reset,save"
    fig = figure(
        width=width,
        height=520,
        title=title,
        tools=tools,
        toolbar_location="above",
        x_range=x_range,
        y_range=y_range,
        **BORDERS,
    )
    style.style_figure(fig)
    fig.xaxis.visible = False
    fig.xgrid.visible = fig.ygrid.visible = False
    fig.yaxis.ticker = FixedTicker(ticks=[CORE_ROW, *(_y(lv) for lv in range(len(LEVEL_ROWS)))])
    names = {_y(lv): name for lv, name in enumerate(LEVEL_ROWS)}
    fig.yaxis.major_label_overrides = {CORE_ROW: "cores", **names}
    fig.yaxis.major_label_text_font_style = "bold"
    fig.outline_line_color = None
    return fig


BOX_H = 0.62  # a table box's height in rows
BOX_W = 0.86  # ... and its width in columns, at most MAX_BOX_PX pixels
MAX_BOX_PX = 120
MARGIN = 90  # pixels left of the plot (row names) and right of it
MIN_WIDTH = 760  # the legend's three entries fit in a row
CORE_R = 0.3  # a core's circle's radius in rows


def _draw_edges(fig, snap: Snapshot, pos: dict) -> None:
    """Core -> its root; table -> each table its entries point to (thick into shared subtrees)."""
    thin: dict[str, list] = {k: [] for k in ENDS}
    thick: dict[str, list] = {k: [] for k in ENDS}
    for c in snap["cores"]:
        x1 = pos["table"].get(c["root"])
        if x1 is not None:
            _edge(thin, pos["core"][c["core"]], CORE_ROW - CORE_R, x1, _y(0) + BOX_H / 2)
    for t in snap["tables"]:
        into = thick if t["kind"] == "trees" and len(t["parents"]) > 1 else thin
        for p in t["parents"]:
            y0 = _y(t["level"] - 1) - BOX_H / 2
            _edge(into, pos["table"][p], y0, pos["table"][t["page"]], _y(t["level"]) + BOX_H / 2)
    fig.segment(*ENDS, source=ColumnDataSource(thin), color=EDGE_COLOR, line_width=1.5)
    fig.segment(*ENDS, source=ColumnDataSource(thick), color=KINDS["trees"][1], line_width=3.5)


def _edge(data: dict, x0: float, y0: float, x1: float, y1: float) -> None:
    for k, v in zip(("x0", "y0", "x1", "y1"), (x0, y0, x1, y1), strict=True):
        data[k].append(v)


def _draw_tables(fig, snap: Snapshot, pos: dict, unit: float) -> None:
    """One box per table page, a renderer (and legend entry) per kind, words inside."""
    legend = Legend(
        location="bottom_right", label_text_font_size=style.FONT_SMALL, background_fill_alpha=0.9
    )
    boxes = []
    small = unit < 66
    box_w = min(BOX_W, MAX_BOX_PX / unit)
    for kind, (words, fill, text_color, outline) in KINDS.items():
        rows = [t for t in snap["tables"] if t["kind"] == kind]
        if not rows:
            continue
        data = _box_data(rows, pos, small)
        source = ColumnDataSource(data)
        box = fig.rect(
            "x",
            "y",
            width=box_w,
            height=BOX_H,
            source=source,
            fill_color=fill,
            line_width=outline,
            **OUTLINED,
        )
        if unit >= 40:
            size = "11px" if small else style.FONT_SMALL
            fig.text(
                "x",
                "y",
                text="words",
                source=source,
                text_color=text_color,
                text_font_size=size,
                text_line_height=1.15,
                **CENTRED,
            )
        boxes.append(box)
        legend.items.append(LegendItem(label=f"walked by {words}", renderers=[box]))
    fig.add_layout(legend, "below")
    legend.orientation = "horizontal"
    fig.add_tools(HoverTool(renderers=boxes, tooltips=TABLE_TIPS))


TABLE_TIPS = [
    ("table", "@label (@level_name)"),
    ("page", "@page_hex on chip @chip"),
    ("entries", "@entries present"),
    ("walked by cores", "@cores_text"),
    ("trees", "@spaces_text"),
]


def _box_data(rows: list[dict], pos: dict, small: bool) -> dict[str, list]:
    def box(t: dict) -> dict:
        return {
            "x": pos["table"][t["page"]],
            "y": _y(t["level"]),
            "words": _words(t, small),
            "label": t["label"],
            "level_name": t["level_name"],
            "page_hex": f"{t['page']:#x}",
            "chip": t["chip"],
            "entries": t["entries"],
            "cores_text": ", ".join(map(str, t["cores"])),
            "spaces_text": ", ".join(t["spaces"]),
        }

    boxes = [box(t) for t in rows]
    return {k: [b[k] for b in boxes] for k in boxes[0]}  # rows is never empty


def _words(t: dict, small: bool) -> str:
    """What a box says: its owner; a PT's entry count; who shares it."""
    lines = [t["owner"]]
    if t["level"] == PT:
        lines.append(f"{t['entries']} PTE{'s' * (t['entries'] != 1)}")
    if t["kind"] == "trees":
        lines.append(f"{len(t['spaces'])} trees")
    elif t["kind"] == "cores":
        lines.append(f"{len(t['cores'])} cores" if not small else f"×{len(t['cores'])}")
    return "\n".join(lines)


def _draw_cores(fig, snap: Snapshot, pos: dict, unit: float) -> None:
    data = {
        "x": [pos["core"][c["core"]] for c in snap["cores"]],
        "y": [CORE_ROW] * len(snap["cores"]),
        "name": [str(c["core"]) for c in snap["cores"]],
        "space": [c["space"] for c in snap["cores"]],
        "hard": [c["hard"] for c in snap["cores"]],
        "soft": [c["soft"] for c in snap["cores"]],
    }
    source = ColumnDataSource(data)
    size = max(min(unit * 0.55, 34), 10)
    dots = fig.scatter(
        "x", "y", source=source, size=size, fill_color="#FFFFFF", line_width=2, **OUTLINED
    )
    fig.text(
        "x",
        "y",
        text="name",
        source=source,
        text_font_size=style.FONT_SMALL,
        text_font_style="bold",
        **CENTRED,
    )
    tips = [("core", "@name"), ("address space", "@space"), ("faults", "@hard hard, @soft soft")]
    fig.add_tools(HoverTool(renderers=[dots], tooltips=tips))


def _fault_figure(snap: Snapshot, pos: dict, x_range, width: int, bar: float):
    """Each core's hard and soft faults, stacked, under the core's place in the tree."""
    data = {
        "x": [pos["core"][c["core"]] for c in snap["cores"]],
        "core": [str(c["core"]) for c in snap["cores"]],
        "hard": [c["hard"] for c in snap["cores"]],
        "soft": [c["soft"] for c in snap["cores"]],
    }
    title = "faults per core: hard (page made), soft (only the entry filled)"
    fig = figure(
        width=width,
        height=240,
        x_range=x_range,
        tools="",
        title=title,
        y_axis_label="faults",
        toolbar_location=None,
        **BORDERS,
    )
    style.style_figure(fig)
    fig.xaxis.ticker = FixedTicker(ticks=data["x"])
    few = len(data["x"]) <= 8
    fig.xaxis.major_label_overrides = {
        x: f"core {c}" if few else c for x, c in zip(data["x"], data["core"], strict=True)
    }
    fig.yaxis.formatter = NumeralTickFormatter(format="0,0")
    fig.xgrid.visible = False
    top = max((h + s for h, s in zip(data["hard"], data["soft"], strict=True)), default=0)
    fig.y_range = Range1d(0, max(top, 1) * 1.4)  # room for the legend above the bars
    kinds = ["hard", "soft"]
    bars = fig.vbar_stack(
        kinds,
        x="x",
        width=bar,
        source=ColumnDataSource(data),
        line_color=None,
        fill_color=[FAULT_COLORS[k] for k in kinds],
        hatch_pattern=[" ", "/"],
        hatch_color="#FFFFFF",
        hatch_alpha=0.5,
        legend_label=[f"{k} faults" for k in kinds],
    )
    fig.legend.location = "top_left"
    fig.legend.orientation = "horizontal"
    fig.legend.label_text_font_size = style.FONT_SMALL
    tips = [("core", "@core"), ("hard", "@hard"), ("soft", "@soft")]
    fig.add_tools(HoverTool(renderers=bars, tooltips=tips))
    return fig
