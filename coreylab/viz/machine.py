"""The machine animation: cache lines moving between the cores of the simulated machine.

What it shows: chips and cores as the topology places them (`topology.py`), one cell per line of
interest in each core (colour = coherence state, and the state's letter), and for each coherence
transaction of the trace one frame (`frames.py`): a token labelled with the line's owner
(`files.file_lock`) flies from the supplier's cache, or from a chip's L3/DRAM, to the requester,
along an arrow; cells that just changed get a thick outline; cores waiting on a miss, queued
behind other transfers or spinning are hatched and say so. A caption spells the frame out.

How it plays: every frame is precomputed into ColumnDataSources; a Slider over frames (in
twentieths, so a token can be between two caches) drives one short CustomJS that copies the
current frame into small "view" sources. Play/Pause, step and speed controls only move the
slider. Nothing needs a kernel: it plays in JupyterLab, Voila, nbconvert HTML and a standalone
file (`bokeh.embed.file_html` with inline resources). `LiveMachineView` (`live.py`) swaps the
frames from Python.

What it leaves out: cache hits (nothing moves), lines not chosen, the timing between frames
(frames are evenly spaced; the caption and slider title give each one's cycle).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bokeh.layouts import column
from bokeh.models import (
    Arrow,
    ColumnDataSource,
    Div,
    LayoutDOM,
    Range1d,
    Title,
    VeeHead,
)
from bokeh.plotting import figure

from ..hardware import HardwareParams
from ..trace import LineEvent, Trace
from . import style
from .frames import Lines, frames
from .player import player
from .scene import source_data
from .topology import CELL_H, CORE_H, CORE_W, MEM_H, layout

MAX_FRAMES = 5000  # a longer trace shows its first MAX_FRAMES transactions (the caption says so)
SOURCES = (
    "chips",
    "mems",
    "links",
    "cores",
    "cells",
    "token",
    "arrow",
    "frames",
    "snaps",
    "stats",
    "key_states",
    "key_status",
)

__all__ = ["MachineView", "frames", "machine_animation"]


def machine_animation(
    trace_or_records: Trace | Iterable[LineEvent],
    params: HardwareParams,
    lines: Lines = None,
    max_frames: int = MAX_FRAMES,
) -> LayoutDOM:
    """A self-contained animated picture of the trace's transactions on `lines` (line numbers
    or labels; default the hottest few lines by cache-to-cache transfers)."""
    return MachineView(trace_or_records, params, lines, max_frames).layout


class MachineView:
    """The animation's Bokeh models, kept so that their data can be replaced (live mode)."""

    def __init__(
        self,
        trace_or_records,
        params: HardwareParams,
        lines: Lines = None,
        max_frames: int = MAX_FRAMES,
    ) -> None:
        self.sources = {name: ColumnDataSource(name=f"coreylab-{name}") for name in SOURCES}
        self.fig = _figure(self.sources)
        self.caption = Div(styles={"font-size": style.FONT_LARGE}, height=72)  # 3 lines
        self.key = Title(text="", text_font_size=style.FONT, text_font_style="normal")
        self.fig.add_layout(self.key, "above")
        self.clock = Div(styles={"font-size": style.FONT})
        self.slider, controls = player(self.sources, self.caption, self.clock)
        self.layout = column(self.caption, self.fig, controls, self.clock, self.slider)
        self.update(trace_or_records, params, lines, max_frames)

    def update(
        self,
        trace_or_records,
        params: HardwareParams,
        lines: Lines = None,
        max_frames: int = MAX_FRAMES,
    ) -> dict[str, Any]:
        """Recompute the frames and replace every source's data (same models, no re-display).
        Returns the frame data (see `frames`)."""
        fr = self.last = frames(trace_or_records, params, lines, max_frames)
        geo = layout(params, len(fr["lines"]))
        data = source_data(fr, params, geo)
        for name, source in self.sources.items():
            source.data = data[name]
        width, height = geo.pixels
        self.fig.x_range.update(start=geo.x_range[0], end=geo.x_range[1])
        self.fig.y_range.update(start=geo.y_range[0], end=geo.y_range[1])
        self.fig.update(width=width, height=height)
        self.fig.title.text = _title(params, fr)
        self.key.text = "cells in each core, left to right:  " + "   ·   ".join(fr["names"])
        count = len(fr["frames"])
        self.slider.update(start=1, end=max(count, 2), value=1, width=width)
        self.clock.text = _clock(fr, 0)
        self.caption.width = width
        self.caption.text = data["frames"]["caption"][0] if count else "No transactions to show."
        return fr


def _title(params: HardwareParams, fr: dict[str, Any]) -> str:
    shown, total = len(fr["frames"]), fr["total"]
    of = f"{shown} transactions" if shown == total else f"first {shown} of {total} transactions"
    return f"{params.name}: {params.chips} × {params.cores_per_chip} cores, {params.protocol}, {of}"


def _clock(fr: dict[str, Any], k: int) -> str:
    count = len(fr["frames"])
    if not count:
        return "no transactions"
    return f"transaction {k + 1} of {count} · cycle {fr['frames'][k]['t']:,}"


# -- Bokeh ----------------------------------------------------------------------------------------
# Glyph styles, named once: what each kind of text and box looks like.
CENTRED = {"text_align": "center", "text_baseline": "middle"}
LETTER = {**CENTRED, "text_font_style": "bold"}
HATCHED = {"hatch_pattern": "hatch", "hatch_color": "hcolor", "hatch_weight": 2}
CORE_BOX = {
    "fill_color": style.CORE_FILL,
    "line_color": "#424242",
    "line_width": 1.5,
    "hatch_alpha": 0.4,
    "hatch_scale": 12,
    **HATCHED,
}
CORE_WORDS = {
    "text_baseline": "top",
    "text_font_size": style.FONT_SMALL,
    "padding": 1,
    "background_fill_color": "white",
    "background_fill_alpha": 0.85,
}
TOKEN_LABEL = {
    **LETTER,
    "text_font_size": style.FONT_SMALL,
    "padding": 2,
    "background_fill_color": "white",
    "background_fill_alpha": 0.85,
    "border_line_color": "#212121",
}
PLAIN = {"tools": "", "toolbar_location": None, "min_border": 4, "outline_line_color": None}


def _figure(src: dict[str, ColumnDataSource]):
    fig = figure(x_range=Range1d(0, 1), y_range=Range1d(0, 1), **PLAIN)
    fig.axis.visible = False
    fig.grid.visible = False
    style.style_figure(fig)
    fig.multi_line("xs", "ys", source=src["links"], line_width=14, color=style.LINK_COLOR)
    chips, mems = src["chips"], src["mems"]
    fig.rect(
        "x",
        "y",
        "w",
        "h",
        source=chips,
        fill_color=style.CHIP_FILL,
        line_color="#757575",
        line_width=2,
    )
    fig.text("x", "ty", "name", source=chips, text_font_size=style.FONT_LARGE, **LETTER)
    fig.rect("x", "y", "w", MEM_H, source=mems, fill_color=style.MEMORY_FILL, line_color="#9E9E9E")
    fig.text(
        "x",
        "y",
        text={"value": "L3 · DRAM"},
        source=mems,
        text_font_size=style.FONT,
        text_color="#424242",
        **CENTRED,
    )
    _draw_cores(fig, src)
    _draw_keys(fig, src)
    _draw_token(fig, src)
    return fig


def _draw_cores(fig, src: dict[str, ColumnDataSource]) -> None:
    """Core boxes (hatched by status), their name and status, and one cell per line."""
    cores, cells = src["cores"], src["cells"]
    fig.rect("x", "y", CORE_W, CORE_H, source=cores, **CORE_BOX)
    fig.text("left", "top", "name", source=cores, **CORE_WORDS)
    fig.text(
        "right",
        "top",
        "word",
        source=cores,
        text_align="right",
        text_font_style="bold italic",
        **CORE_WORDS,
    )
    fig.rect(
        "x",
        "y",
        "w",
        CELL_H,
        source=cells,
        fill_color="fill",
        line_color="#212121",
        line_width="lw",
    )
    fig.text(
        "x", "y", "letter", source=cells, text_color="tc", text_font_size=style.FONT_LARGE, **LETTER
    )


def _draw_keys(fig, src: dict[str, ColumnDataSource]) -> None:
    states, status = src["key_states"], src["key_status"]
    fig.rect("x", "y", 0.3, 0.3, source=states, fill_color="fill", line_color="#212121")
    fig.text(
        "x", "y", "letter", source=states, text_color="tc", text_font_size=style.FONT, **LETTER
    )
    fig.rect(
        "x",
        "y",
        0.3,
        0.3,
        source=status,
        fill_color="white",
        line_color="#424242",
        hatch_scale=8,
        **HATCHED,
    )
    for key in (states, status):
        fig.text("tx", "y", "name", source=key, text_baseline="middle", text_font_size=style.FONT)


def _draw_token(fig, src: dict[str, ColumnDataSource]) -> None:
    """The arrow of the current transfer, its label, and the token moving along it."""
    head = VeeHead(size=16, fill_color="#212121")
    fig.add_layout(
        Arrow(
            source=src["arrow"],
            x_start="x_start",
            y_start="y_start",
            x_end="x_end",
            y_end="y_end",
            line_width=3,
            line_color="#212121",
            end=head,
        )
    )
    # Arrows are annotations, painted above glyphs: the label and then the token go on top.
    token = src["token"]
    fig.text("lx", "ly", "label", source=token, level="overlay", **TOKEN_LABEL)
    fig.scatter(
        "x",
        "y",
        source=token,
        size=22,
        fill_color=style.TOKEN_COLOR,
        line_color="#212121",
        line_width=2.5,
        level="overlay",
    )
