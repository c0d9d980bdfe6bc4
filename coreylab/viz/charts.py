"""Scaling charts: a metric against the number of cores, one line per kernel variant.

What it shows: for each variant in a `Result`, its measured metric at each core count (line and
markers, each variant its own colour and marker shape), a dashed "linear scaling" reference
drawn from the variant's smallest core count (for a throughput, value x cores / c0; for a cost
per operation, flat: perfect scaling keeps it constant), optional reference points passed in by
the caller (the paper's numbers, say: hollow markers), and hover details (variant, cores, value,
speed-up over the smallest core count). Clicking a legend entry hides that variant.

The y axis is linear, as the paper draws these charts, except for a cost whose values span
more than two decades (one variant's cycles per operation a thousand times another's): then
a log axis shows both, and the chart says so.

What it leaves out: error bars (each point is one seeded run). Nothing here is computed but
the reference line: every value plotted comes from the Result or from the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bokeh.models import (
    BasicTickFormatter,
    CDSView,
    ColumnDataSource,
    CustomJSTickFormatter,
    HoverTool,
    Legend,
    LegendItem,
    Line,
    Scatter,
    Title,
)
from bokeh.plotting import figure

from ..experiments import Result
from ..experiments.base import require_result
from . import style

REFERENCE_COLORS = ("#000000", "#CC79A7", "#56B4E9")  # hollow markers: the caller's numbers
# A tick in SI prefixes, upper-case M and G so that no one reads milli: 140000000 -> "140M",
# 2500 -> "2.5k", 12.5 -> "12.5" (at most two decimals, no trailing zeros).
SI_TICKS = """
const a = Math.abs(tick);
for (const [n, prefix] of [[1e9, "G"], [1e6, "M"], [1e3, "k"]]) {
  if (a >= n) return +(tick / n).toFixed(2) + prefix;
}
return String(+tick.toFixed(2));
"""
ReferencePoints = Mapping[str, Sequence[tuple[int, float]]]


def scaling_chart(
    result: Result,
    metric: str,
    reference: ReferencePoints | None = None,
    higher_is_better: bool = True,
    title: str | None = None,
    width: int = 900,
    height: int = 520,
    log_y: bool | None = None,
):
    """`metric` against cores for every variant of `result`, with a linear-scaling reference.

    `reference` maps a name to (cores, value) points, e.g. {"paper: Linux": [(1, 1.0), ...]}.
    `higher_is_better` says whether the metric is a throughput (linear reference grows with
    cores) or a cost per operation (linear reference stays flat). `log_y`: a log y axis
    (default: for a cost spanning more than two decades, all of it above zero)."""
    require_result(result, metric, "cores")  # a bad argument: ExperimentError, one line
    values = [abs(r[metric]) for r in result.rows if isinstance(r.get(metric), int | float)]
    if log_y is None:
        log_y = not higher_is_better and _spans_decades(values, 2)
    fig = figure(
        title=title or f"{result.experiment}: {metric} by cores",
        width=width,
        height=height,
        x_axis_label="cores",
        y_axis_label=f"{metric} (log scale)" if log_y else metric,
        y_axis_type="log" if log_y else "linear",
        tools="pan,box_zoom,reset,save",
    )
    style.style_figure(fig)
    fig.xaxis.ticker = sorted({r["cores"] for r in result.rows})
    # "1.2M" and "140k" for counts and rates; plain (scientific if need be) for fractions of
    # one, which the abbreviated format would print as 0.
    if max(values, default=1) >= 1:
        fig.yaxis.formatter = CustomJSTickFormatter(code=SI_TICKS)
    else:
        fig.yaxis.formatter = BasicTickFormatter(precision=2)
    fig.add_layout(
        Title(text=_NOTE[higher_is_better], text_font_size=style.FONT, text_font_style="italic"),
        "above",
    )
    legend = Legend(click_policy="hide", label_text_font_size=style.FONT, location="top_left")
    fig.add_layout(legend, "right")
    hovered = [
        _variant(fig, legend, _variant_data(result, variant, metric, higher_is_better), i)
        for i, variant in enumerate(_variants(result))
    ]
    for j, (name, points) in enumerate((reference or {}).items()):
        hovered.append(_reference(fig, legend, name, points, j))
    fig.add_tools(HoverTool(renderers=hovered, tooltips=_TOOLTIPS))
    return fig


def _variant(fig, legend: Legend, data: dict[str, list], index: int):
    """A variant's line, markers and dashed linear reference, under one legend entry; returns
    the markers (what hover reads). Each is added as its glyph alone: `fig.line` would also
    build a faded copy for unselected and for muted data, which nothing here selects or mutes
    (the legend hides), and a view of the source each: the three read all of one source, so
    they share one view. A page of 28 charts is then a quarter fewer models to build."""
    source = ColumnDataSource(data)
    view = CDSView()
    name = data["variant"][0]
    colour, marker = style.variant_style(index)  # never yellow: too faint on white
    line = fig.add_glyph(
        source,
        Line(x="cores", y="value", line_color=colour, line_width=3),
        view=view,
        name=f"variant:{name}",
    )
    dots = fig.add_glyph(
        source,
        Scatter(x="cores", y="value", fill_color=colour, line_color=colour, hatch_color=colour,
                marker=marker, size=11),
        view=view,
    )  # fmt: skip
    ref = fig.add_glyph(
        source,
        Line(x="cores", y="linear", line_color=colour, line_width=2, line_dash="dashed"),
        view=view,
        name=f"linear:{name}",
    )
    legend.items.append(LegendItem(label=name, renderers=[line, dots, ref]))
    return dots


_NOTE = {
    True: "dashed: linear scaling from each variant's fewest cores (click a name to hide it)",
    False: "dashed: perfect scaling keeps the cost flat (click a name to hide it)",
}
_TOOLTIPS = [
    ("", "@variant"),
    ("cores", "@cores"),
    ("value", "@value{0,0.[00]}"),
    ("speed-up", "@speedup{0.00}x"),
]


def _spans_decades(values: list[float], decades: int) -> bool:
    return bool(values) and min(values) > 0 and max(values) > 10**decades * min(values)


def _variants(result: Result) -> list[str]:
    seen: list[str] = []
    for r in result.rows:
        if r["variant"] not in seen:
            seen.append(r["variant"])
    return seen


def _variant_data(result: Result, variant: str, metric: str, higher: bool) -> dict[str, list]:
    """A variant's points, its speed-up over its smallest core count c0 and its linear line."""
    rows = sorted((r for r in result.rows if r["variant"] == variant), key=lambda r: r["cores"])
    cores = [r["cores"] for r in rows]
    values = [r[metric] for r in rows]
    c0, v0 = cores[0], values[0]
    return {
        "variant": [variant] * len(rows),
        "cores": cores,
        "value": values,
        "speedup": [_ratio(v, v0) if higher else _ratio(v0, v) for v in values],
        "linear": [v0 * c / c0 if higher else v0 for c in cores],
    }


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _reference(fig, legend: Legend, name: str, points, index: int):
    """The caller's reference points: hollow markers with their own legend entry."""
    cores = [c for c, _ in points]
    values = [v for _, v in points]
    source = ColumnDataSource(
        {
            "variant": [name] * len(points),
            "cores": cores,
            "value": values,
            "speedup": [_ratio(v, values[0]) for v in values],
        }
    )
    colour = REFERENCE_COLORS[index % len(REFERENCE_COLORS)]
    marker = style.MARKERS[(index + 3) % len(style.MARKERS)]
    dots = fig.scatter(
        "cores",
        "value",
        source=source,
        marker=marker,
        size=14,
        line_width=2.5,
        line_color=colour,
        fill_color=None,
        name=f"reference:{name}",
    )
    legend.items.append(LegendItem(label=name, renderers=[dots]))
    return dots
