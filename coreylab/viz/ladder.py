"""The latency ladder as a bar chart: cycles of one load by where its line came from.

What it shows: one horizontal bar per source in the latency-ladder Result (nearest first,
named in words by `trace.source_words`), coloured by how far the data travelled (inside the
core, inside the chip, across chips, from DRAM), with the measured cycles written at the end
of each bar and the ratio to an L1 hit. It draws what the simulation measured; it reads no
latency parameter.
"""

from __future__ import annotations

from bokeh.models import ColumnDataSource, HoverTool, LabelSet
from bokeh.plotting import figure

from ..experiments import Result
from ..experiments.base import require_result
from ..trace import source_words

REACH = {  # source prefix -> (how far, colour): Okabe-Ito, safe for colour-blind readers
    "l1": ("inside the core", "#009E73"),
    "l2": ("inside the core", "#009E73"),
    "l3": ("inside the chip", "#56B4E9"),
    "same-chip": ("inside the chip", "#56B4E9"),
    "other-chip": ("across chips", "#E69F00"),
    "dram": ("from DRAM", "#D55E00"),
}


def ladder_chart(result: Result, width: int = 720, height: int | None = None):
    """A bar chart of a latency-ladder Result's rows."""
    require_result(result, "source", "cycles")  # a bad argument: ExperimentError, one line
    rows = result.rows
    sources = [r["source"] for r in rows]
    cycles = [r["cycles"] for r in rows]
    l1 = next((r["cycles"] for r in rows if r["source"] == "l1"), cycles[0])
    reach = [_reach(s) for s in sources]
    words = [source_words(s) for s in sources]
    data = ColumnDataSource(
        {
            "source": sources,
            "words": words,
            "cycles": cycles,
            "reach": [r[0] for r in reach],
            "colour": [r[1] for r in reach],
            "text": [f"{c} cycles  ({c / l1:.0f}x L1)" for c in cycles],
        }
    )
    fig = figure(
        y_range=list(reversed(words)),
        x_range=(0, max(cycles) * 1.45),
        width=width + 160,
        height=height or 60 + 34 * len(rows),
        title=f"One load on {result.params.get('hardware', 'the machine')}: cycles by source",
        x_axis_label="cycles (simulated)",
        toolbar_location=None,
    )
    fig.hbar(
        y="words", right="cycles", height=0.7, color="colour", legend_field="reach", source=data
    )
    fig.add_layout(
        LabelSet(
            x="cycles",
            y="words",
            text="text",
            x_offset=6,
            y_offset=-8,
            source=data,
            text_font_size="11pt",
        )
    )
    fig.add_tools(
        HoverTool(tooltips=[("source", "@source"), ("cycles", "@cycles"), ("reach", "@reach")])
    )
    fig.add_layout(fig.legend[0], "right")  # beside the bars, never over their labels
    fig.ygrid.grid_line_color = None
    fig.title.text_font_size = "13pt"
    fig.yaxis.major_label_text_font_size = "11pt"
    return fig


def _reach(source: str) -> tuple[str, str]:
    for prefix, value in REACH.items():
        if source.startswith(prefix):
            return value
    return ("elsewhere", "#999999")
