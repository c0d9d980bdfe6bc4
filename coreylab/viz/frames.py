"""The machine animation's frames, as plain data: one frame per coherence transaction.

What a frame holds: the transaction (who asked, for which line, what it did, where the data came
from), the token it moves (from a core's cache, or from a chip's L3/DRAM, to the requester; or
back to memory on a write-back), every core's state of each line of interest after it, and what
each core was doing at the transaction's start time: idle, waiting for its own miss to be served
(`miss`), queued behind earlier transfers of the same line (`queued`), or `spinning` on a line.

Invariants the tests check: frames are the trace's transactions on the chosen lines, in trace
order, one for one; a frame moves a token between two caches exactly when its record's data came
from another core's cache, so those frames match the machine's per-line transfer counters.

What it leaves out: cache hits (they move nothing); states of lines not chosen; the silent
E -> M of a store hit (see `replay.py`: the state shows E until a record says otherwise).
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from ..hardware import HardwareParams
from ..trace import LineEvent, Trace, is_cache_source, source_words
from .replay import TRANSACTIONS, Replay

DEFAULT_LINES = 3  # the hottest few: more cells per core stop being readable
IDLE, MISS, QUEUED, SPINNING = range(4)  # status codes (indices into style.STATUSES)

Lines = Sequence[int | str] | None
End = tuple[str, int] | None


def records_of(trace_or_records: Trace | Iterable[LineEvent]) -> list[LineEvent]:
    if isinstance(trace_or_records, Trace):
        return trace_or_records.records
    return list(trace_or_records)


def hottest_lines(records: Sequence[LineEvent], count: int = DEFAULT_LINES) -> list[int]:
    """The `count` lines with the most cache-to-cache transfers (then most transactions)."""
    transfers: Counter[int] = Counter()
    touched: Counter[int] = Counter()
    for r in records:
        if r.kind in TRANSACTIONS:
            touched[r.line] += 1
            transfers[r.line] += is_cache_source(r.source)
    ranked = sorted(touched, key=lambda line: (-transfers[line], -touched[line], line))
    return ranked[:count]


def choose_lines(records: Sequence[LineEvent], lines: Lines) -> list[int]:
    """Line numbers from `lines` (numbers, or labels meaning every line with that label)."""
    if lines is None:
        return hottest_lines(records)
    by_label: dict[str, list[int]] = {}
    for r in records:
        if r.line not in by_label.setdefault(r.label, []):
            by_label[r.label].append(r.line)
    chosen: list[int] = []
    for item in lines:
        for line in by_label.get(item, []) if isinstance(item, str) else [item]:
            if line not in chosen:
                chosen.append(line)
    return chosen


def frames(
    records: Trace | Iterable[LineEvent],
    params: HardwareParams,
    lines: Lines = None,
    max_frames: int | None = None,
) -> dict[str, Any]:
    """The animation's frames for `lines` (default: the hottest few), in trace order."""
    records = records_of(records)
    chosen = choose_lines(records, lines)
    wanted = set(chosen)
    picked = [(i, r) for i, r in enumerate(records) if r.line in wanted and r.kind in TRANSACTIONS]
    total = len(picked)
    picked = picked[:max_frames] if max_frames is not None else picked
    labels = {r.line: r.label for _, r in picked}
    names = line_names(records, chosen, params.line_size)
    replay = Replay(params.protocol)
    statuses = _statuses(records, params.cores, [r.t_start for _, r in picked])
    out = []
    for (index, rec), status in zip(picked, statuses, strict=True):
        replay.step(rec)
        frame = _frame(index, rec, replay, chosen, params.cores, status)
        frame["name"] = names[rec.line]
        frame["caption"] = caption(frame)
        out.append(frame)
    return {
        "lines": chosen,
        "labels": [labels.get(line, "") for line in chosen],
        "names": [names[line] for line in chosen],
        "protocol": params.protocol,
        "cores": params.cores,
        "chips": params.chips,
        "total": total,
        "frames": out,
    }


def _frame(index: int, rec: LineEvent, replay: Replay, lines, cores: int, status) -> dict:
    src, dst = token_ends(rec, replay.origin)
    return {
        "record": index,
        "t": rec.t_start,
        "t_end": rec.t_end,
        "core": rec.core,
        "kind": rec.kind,
        "line": rec.line,
        "label": rec.label,
        "source": rec.source,
        "supplier": rec.supplier,
        "queued": rec.queued,
        "invalidated": list(rec.invalidated),
        "state_before": rec.state_before,
        "state_after": rec.state_after,
        "from": src,
        "to": dst,
        "states": [_states(replay.held.get(line, {}), cores) for line in lines],
        "status": status,
    }


def _states(held: dict[int, str], cores: int) -> list[str]:
    return [held.get(c, "I") for c in range(cores)]


def token_ends(rec: LineEvent, origin: tuple[str, int] | None) -> tuple[End, End]:
    """Where a record's data moves: (from, to) as ("core" | "chip", id), or (None, None).
    `origin` is the replay's answer to where the data came from."""
    if origin is None:
        return None, None
    if rec.kind == "evict":
        return origin, ("chip", rec.supplier)  # a write-back, to the chip's memory side
    return origin, ("core", rec.core)


def _statuses(records: Sequence[LineEvent], cores: int, times: list[int]) -> list[list[int]]:
    """Each core's status at each of `times` (non-decreasing), from every record of the trace:
    waiting on any line is waiting, whichever lines the animation shows."""
    spans: list[list[tuple[int, int, int]]] = [[] for _ in range(cores)]
    for r in records:
        if not 0 <= r.core < cores:
            continue
        if r.kind == "spin":
            spans[r.core].append((r.t_start, r.t_end, SPINNING))
        elif r.kind != "evict":
            served = r.t_start + r.queued
            spans[r.core].append((r.t_start, served, QUEUED))
            spans[r.core].append((served, r.t_end, MISS))
    for s in spans:
        s.sort()
    cursor = [0] * cores
    out = []
    for t in times:
        row = []
        for core, s in enumerate(spans):
            i = cursor[core]
            while i < len(s) and s[i][1] <= t:
                i += 1
            cursor[core] = i
            row.append(s[i][2] if i < len(s) and s[i][0] <= t else IDLE)
        out.append(row)
    return out


# -- a frame in words ----------------------------------------------------------------------------
_VERBS = {"load": "loads", "store": "stores to", "atomic": "does an atomic on", "evict": "evicts"}


def line_name(line: int, label: str) -> str:
    """A line's label, or its number when nothing labelled it."""
    return label or f"line {line:#x}"


def line_names(records: Sequence[LineEvent], lines: list[int], line_size: int) -> dict[int, str]:
    """A name for each line: its label; with the byte offset from the label's first line when
    several chosen lines share a label (`files.fd_array+64`); its number when unlabelled."""
    first: dict[str, int] = {}
    label_of: dict[int, str] = {}
    for r in records:
        first[r.label] = min(first.get(r.label, r.line), r.line)
        label_of[r.line] = r.label
    shared = Counter(label_of.get(line, "") for line in lines)
    names = {}
    for line in lines:
        label = label_of.get(line, "")
        offset = f"+{(line - first[label]) * line_size}" if label and shared[label] > 1 else ""
        names[line] = line_name(line, label) + offset
    return names


def caption(f: dict[str, Any]) -> str:
    """One frame in words (HTML-escaped), e.g. "cycle 321: core 2 does an atomic on ...": what
    the core did, the line's state change, where the data came from, and what it cost."""
    what = html.escape(f.get("name") or line_name(f["line"], f["label"]))
    text = f"<b>cycle {f['t']:,}</b>: core {f['core']} {_VERBS[f['kind']]} <b>{what}</b>"
    text += f", {f['state_before']} → {f['state_after']}; {_source_words(f)}"
    if f["queued"]:
        text += f"; waited {f['queued']:,} cycles behind earlier transfers of the line"
    if f["invalidated"]:
        text += "; invalidated core " + ", ".join(str(c) for c in f["invalidated"])
    if f["kind"] != "evict":
        text += f"; took {f['t_end'] - f['t']:,} cycles"
    return text + "."


def _source_words(f: dict[str, Any]) -> str:
    """Where the data came from (`trace.source_words`), and which core or chip that was."""
    words = source_words(f["source"])
    if f["from"] is None or f["kind"] == "evict":  # no data moved, or a write-back
        return words
    kind, ident = f["from"]
    return f"data from {words} ({kind} {ident})"
