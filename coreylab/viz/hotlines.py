"""Hot cache lines, as `perf c2c` reports them, and lock statistics, as `/proc/lock_stat` does.

What it shows: `hot_lines` is a table with one row per line (or per owning object and field,
`by_label=True`): its label, how often it moved between caches (transfers), how many copies
writes invalidated, how many transfers came from a dirty copy (HITM), fills from L3/DRAM, and
how many cores touched it; hottest first. Given the run's trace, a column shows the byte
offsets each line's transactions touched, and by which cores: several offsets touched by
different cores is false sharing. `lock_table` shows per-lock acquisitions, contentions, and
wait and hold cycles (with averages), most waited-for first, from plain dicts.

What it leaves out: per-core breakdowns (the timeline has them); lines no core took a
transaction on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bokeh.layouts import column
from bokeh.models import (
    ColumnDataSource,
    DataTable,
    Div,
    NumberFormatter,
    StringFormatter,
    TableColumn,
)

from ..experiments import Result
from ..trace import Counters, LineEvent, LineStats, Trace
from . import style

LINE_COLUMNS = [
    ("label", "object.field"),
    ("line", "line"),
    ("transfers", "transfers"),
    ("invalidations", "invalidations"),
    ("hitm", "HITM"),
    ("fills", "fills"),
    ("cores", "cores"),
]
LOCK_KEYS = ("name", "acquisitions", "contentions", "wait_cycles", "hold_cycles")
LOCK_COLUMNS = [
    ("name", "lock"),
    ("acquisitions", "acquisitions"),
    ("contentions", "contentions"),
    ("contended", "contended %"),
    ("wait_cycles", "wait cycles"),
    ("wait_avg", "avg wait"),
    ("hold_cycles", "hold cycles"),
    ("hold_avg", "avg hold"),
]


def hot_line_rows(
    counters: Counters | Result,
    top: int | None = 20,
    by_label: bool = False,
    trace: Trace | Iterable[LineEvent] | None = None,
) -> list[dict[str, Any]]:
    """The table's rows as plain dicts, hottest first (most transfers, then invalidations).
    With a trace (given, or in the Result), each line also lists the byte offsets its
    transactions touched, and by which cores: true vs false sharing."""
    if trace is None and isinstance(counters, Result):
        trace = counters.trace
    offsets = _offsets(trace, by_label) if trace is not None else None
    counters = _counters(counters)
    items = counters.by_label().items() if by_label else counters.lines.items()
    rows = [_line_row(key, stats, by_label, offsets) for key, stats in items]
    rows.sort(key=lambda r: (-r["transfers"], -r["invalidations"], str(r["line"])))
    return rows[:top] if top is not None else rows


def _offsets(trace, by_label: bool) -> dict:
    """Line (or label) -> byte offset -> cores, from the trace's transactions."""
    out: dict = {}
    for r in trace:
        if r.core >= 0 and r.kind in ("load", "store", "atomic"):
            key = r.label if by_label else r.line
            out.setdefault(key, {}).setdefault(r.offset, set()).add(r.core)
    return out


def _line_row(key, stats: LineStats, by_label: bool, offsets: dict | None) -> dict[str, Any]:
    row = {
        "label": stats.label or "(unlabelled)",
        "line": "(all)" if by_label else f"{key:#x}",
        "transfers": stats.transfers,
        "invalidations": stats.invalidations,
        "hitm": stats.hitm,
        "fills": stats.fills,
        "cores": len(stats.cores),
    }
    if offsets is not None:
        touched = offsets.get(stats.label if by_label else key, {})
        row["offsets"] = ", ".join(
            f"{o} (core{'s' if len(c) > 1 else ''} {', '.join(map(str, sorted(c)))})"
            for o, c in sorted(touched.items())
        )
    return row


def _counters(counters: Counters | Result) -> Counters:
    if isinstance(counters, Result):
        found = next((c for c in counters.counters if c is not None), None)
        if found is None:
            raise ValueError("this Result holds no counters")
        return found
    if not isinstance(counters, Counters):
        raise ValueError(f"expected Counters or a Result, not {counters!r:.60}")
    return counters


def hot_lines(
    counters: Counters | Result,
    top: int | None = 20,
    by_label: bool = False,
    width: int = 900,
    trace: Trace | Iterable[LineEvent] | None = None,
):
    """A perf-c2c-like table of the `top` hottest lines (or objects, `by_label=True`); pass the
    run's trace (or a Result that holds one) for the offsets each line's users touched."""
    rows = hot_line_rows(counters, top, by_label, trace)
    columns = list(LINE_COLUMNS)
    if rows and "offsets" in rows[0]:
        columns.append(("offsets", "offsets touched (by cores)"))
    what = "objects" if by_label else "lines"
    title = f"Hottest {what} by cache-to-cache transfers (HITM: the copy sent was dirty)"
    return _table(title, rows, columns, width)


def lock_rows(lock_stats: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Lock statistics with contention rate and averages, most wait cycles first."""
    rows = []
    if isinstance(lock_stats, str | bytes) or not isinstance(lock_stats, Sequence):
        raise ValueError(f"expected a list of lock statistics, not {lock_stats!r:.60}")
    for i, stats in enumerate(lock_stats):
        if not isinstance(stats, Mapping):
            raise ValueError(f"lock statistics entry {i} is not a dict: {stats!r:.60}")
        missing = [k for k in LOCK_KEYS if k not in stats]
        if missing:
            raise ValueError(f"lock statistics entry {i} lacks {', '.join(missing)}")
        n = stats["acquisitions"]
        row = {k: stats[k] for k in LOCK_KEYS}
        row["contended"] = 100.0 * stats["contentions"] / n if n else 0.0
        row["wait_avg"] = stats["wait_cycles"] / n if n else 0.0
        row["hold_avg"] = stats["hold_cycles"] / n if n else 0.0
        rows.append(row)
    rows.sort(key=lambda r: (-r["wait_cycles"], str(r["name"])))
    return rows


def lock_table(lock_stats: Sequence[Mapping[str, Any]], width: int = 900):
    """A lock_stat-like table from dicts with name, acquisitions, contentions, wait_cycles and
    hold_cycles (cycles summed over all acquisitions)."""
    title = "Locks by cycles spent waiting for them"
    return _table(title, lock_rows(lock_stats), LOCK_COLUMNS, width)


def _table(title: str, rows: list[dict], columns: list[tuple[str, str]], width: int):
    data = {key: [r.get(key, "") for r in rows] for key, _ in columns}
    source = ColumnDataSource(data)
    table_columns = [
        TableColumn(field=key, title=name, formatter=_format(rows, key), width=_width(key))
        for key, name in columns
    ]
    table = DataTable(
        source=source,
        columns=table_columns,
        width=width,
        index_position=None,
        reorderable=False,
        height=min(40 + 28 * max(len(rows), 1), 620),
        row_height=28,
        stylesheets=[_TABLE_CSS],
    )
    heading = Div(text=f"<b>{title}</b>", styles={"font-size": style.FONT_LARGE})
    return column(heading, table)


_TABLE_CSS = ":host { font-size: 14px; }"


def _format(rows: list[dict], key: str):
    sample = rows[0].get(key) if rows else None
    if isinstance(sample, float):
        return NumberFormatter(format="0,0.0", text_align="right")
    if isinstance(sample, int):
        return NumberFormatter(format="0,0", text_align="right")
    return StringFormatter()


def _width(key: str) -> int:
    return 260 if key in ("label", "name") else 110
