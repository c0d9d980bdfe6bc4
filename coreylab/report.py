"""`coreylab report`: every experiment's figures and tables on one standalone HTML page.

What it holds: for each experiment, its summary, the parameters and seed it ran with, a chart
per metric (the latency ladder as bars; the others as scaling curves against cores with a
linear-scaling reference), the table of rows, and the locks each variant waited for most at
its largest core count (as /proc/lock_stat would show them), and the paper's claims beside
the figures this run gave (`experiments.claims`). BokehJS is inlined, so the page
opens offline and needs no server and no kernel.

The experiments run as `coreylab run` runs them (`experiments.run_many`: the rows are the
same), their points all in one pool of `jobs` processes, the longest first; progress shows on
stderr (a bar on a terminal, a line every few seconds elsewhere) unless `progress` is False.

The same experiments, seed and preset give the same bytes (a course's CI can diff two
reports): the page holds no clock time, and the ids Bokeh draws at random for the document and
its element are renamed in the order they appear.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from concurrent.futures import Executor

from bokeh.embed import file_html
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, DataTable, Div, TableColumn
from bokeh.resources import INLINE
from bokeh.settings import settings

from . import experiments
from .experiments import Experiment, Result, claims
from .experiments.base import format_value
from .experiments.pool import cyclic_gc_paused

# Bokeh's fresh ids (uuid4): the document's, its root element's and its data block's.
BOKEH_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
THROUGHPUT_SUFFIXES = ("_per_sec",)  # metrics where higher is better; the rest are costs


def build(
    names: Sequence[str] | None = None,
    seed: int = 0,
    preset: str = "amd16",
    jobs: int = 1,
    progress: bool = False,
    max_memory: int | None = None,
    executor: Executor | None = None,
) -> str:
    """The report as one HTML string. Every experiment's run is estimated and checked
    against `max_memory` before the first point starts. Points run on `executor` (a dask
    cluster's, say) when one is given."""
    exps = [experiments.get(n) for n in (names or list(experiments.EXPERIMENTS))]
    # The collector stays off to the end: its passes while Bokeh builds ~2,300 models and
    # writes them out cost 0.4 s of the page's 2.7 (2.4 s while the points' counters, millions
    # of objects, were kept). What the page leaves behind is collected afterwards.
    with cyclic_gc_paused():
        return _build(exps, seed, preset, jobs, progress, max_memory, executor)


def _build(exps: list[Experiment], seed, preset, jobs, progress, max_memory, executor) -> str:
    results = experiments.run_many([exp.name for exp in exps], seed=seed, preset=preset,
                                   jobs=jobs, executor=executor, progress=progress,
                                   max_memory=max_memory, label="report",
                                   counters=False)  # fmt: skip
    return _page(_layout(exps, results, seed, preset))


def _layout(exps: list[Experiment], results: list[Result], seed: int, preset: str):
    """The page's Bokeh layout: a heading, then each experiment's section."""
    sections = [_section(exp, result) for exp, result in zip(exps, results, strict=True)]
    head = Div(
        text=(
            "<h1>coreylab report</h1><p>Every experiment of the lab, run on the simulated "
            f"<b>{html.escape(preset)}</b> machine with seed <b>{seed}</b>. "
            "Each number below was measured by the simulation; "
            "rerun any figure with <code>coreylab run EXPERIMENT --seed N --preset P</code>.</p>"
        ),
        width=980,
    )
    return column(head, *sections)


def _page(layout) -> str:
    """The standalone page of `layout`. Bokeh's integrity checks, a fifth of the page's
    time, are left to the tests (test_report checks a page's layout passes them)."""
    was_on = settings.perform_document_validation()
    settings.perform_document_validation.set_value(False)
    try:
        page = file_html(layout, INLINE, title="coreylab report")
    finally:
        if was_on:
            settings.perform_document_validation.unset_value()
    return _stable_ids(page)


def _stable_ids(page: str) -> str:
    """`page` with each of Bokeh's random ids renamed coreylab-1, coreylab-2, ... in order of
    first appearance (they need be unique only within the page, which embeds one document)."""
    names: dict[str, str] = {}
    return BOKEH_UUID.sub(lambda m: names.setdefault(m[0], f"coreylab-{len(names) + 1}"), page)


def _section(exp: Experiment, result: Result):
    from . import viz  # Bokeh views load on demand

    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    intro = Div(
        text=(
            f"<h2>{html.escape(exp.name)}</h2><p>{html.escape(exp.summary)}</p>"
            f"<p><small>variants: {', '.join(exp.variants)}; parameters: "
            f"{html.escape(params)}</small></p>"
        ),
        width=980,
    )
    if exp.name == "latency-ladder":
        charts = [viz.ladder_chart(result)]
    else:
        charts = [
            viz.scaling_chart(result, m, higher_is_better=m.endswith(THROUGHPUT_SUFFIXES))
            for m in _numeric_metrics(exp, result)
        ]
    paper = Div(text=claims.html(claims.check(exp.name, result)), width=980)
    return column(intro, paper, *charts, _table(result), *_locks(result))


def _numeric_metrics(exp: Experiment, result: Result) -> list[str]:
    return [m for m in exp.metrics if all(isinstance(r.get(m), int | float) for r in result.rows)]


LOCKS_SHOWN = 2  # per variant


def _locks(result: Result) -> list:
    """The most waited-for locks of each variant at its largest core count (nothing if no
    variant took a lock)."""
    from .viz import lock_rows

    rows = []
    for variant in dict.fromkeys(r["variant"] for r in result.rows):
        cores = max(r["cores"] for r in result.rows if r["variant"] == variant)
        for lock in lock_rows(result.locks(variant=variant, cores=cores))[:LOCKS_SHOWN]:
            rows.append({"variant": variant, "cores": cores, "lock": lock["name"],
                         "acquisitions": lock["acquisitions"],
                         "contended": f"{lock['contended']:.0f}%",
                         "wait_avg": format_value(round(lock["wait_avg"])),
                         "hold_avg": format_value(round(lock["hold_avg"]))})  # fmt: skip
    if not rows:
        return []
    title = Div(text="<p><b>Locks waited for most</b> (per variant, at its most cores; "
                "average cycles per acquisition)</p>", width=980)  # fmt: skip
    columns = list(rows[0])
    table = DataTable(
        source=ColumnDataSource({c: [r[c] for r in rows] for c in columns}),
        columns=[
            TableColumn(field=c, title=c, width=300 if c == "lock" else 100) for c in columns
        ],  # fmt: skip
        width=980,
        height=min(40 + 26 * len(rows), 420),
        index_position=None,
    )
    return [title, table]


def _table(result: Result) -> DataTable:
    columns = list(dict.fromkeys(k for row in result.rows for k in row))
    data = {c: [format_value(r.get(c, "")) for r in result.rows] for c in columns}
    return DataTable(
        source=ColumnDataSource(data),
        columns=[TableColumn(field=c, title=c) for c in columns],
        width=980,
        height=min(40 + 26 * len(result.rows), 420),
        index_position=None,
    )
