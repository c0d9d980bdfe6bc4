"""The machine animation's data: every ColumnDataSource's columns, as plain Python.

What it holds: the static machine (chips, their L3/DRAM bars, the ring's links, cores and one
cell per line of interest in each core, positioned by `topology.py`), the legend, every frame
(`frames.py`) flattened into columns (token path, label, caption; states and core statuses as
small integer codes, one row per frame and cell or core), and the "view" sources the glyphs
draw, filled for one frame by `view_at`. The player's CustomJS does in the browser what
`view_at` does here, so a test can check a frame without a browser.

What it leaves out: drawing (`machine.py`) and playing (`player.py`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..hardware import PROTOCOL_TABLES, HardwareParams
from . import style
from .topology import CELL_H, CORE_H, CORE_W, MEM_H, TITLE, Layout

EDGE_GAP = 0.1  # data units between a cell's edge and the token's path


def source_data(fr: dict[str, Any], params: HardwareParams, geo: Layout) -> dict[str, dict]:
    """Every source's columns: the static machine, all frames, and the view at frame 0."""
    nlines = len(fr["lines"])
    codes = {s: i for i, s in enumerate(style.STATE_ORDER)}
    snaps = [codes[s] for f in fr["frames"] for per_line in f["states"] for s in per_line]
    stats = [s for f in fr["frames"] for s in f["status"]]
    data = {
        "chips": _chip_data(params, geo),
        "mems": _mem_data(geo),
        "links": _link_data(geo),
        "cores": _core_data(geo),
        "cells": _cell_data(geo, nlines),
        "frames": _frame_columns(fr, geo),
        "snaps": {"s": np.array(snaps, dtype=np.int8)},
        "stats": {"s": np.array(stats, dtype=np.int8)},
        **_keys(params, geo),
    }
    data.update(view_at(data, 0))
    return data


def view_at(data: dict[str, dict], k: int) -> dict[str, dict]:
    """The view sources at frame `k` with its token arrived: what the CustomJS draws too."""
    count = len(data["frames"]["t"])
    return {
        "cells": _cells_at(data, k, count),
        "cores": _cores_at(data, k, count),
        **_token_at(data["frames"], k, count),
    }


def _cells_at(data: dict[str, dict], k: int, count: int) -> dict[str, list]:
    cells = dict(data["cells"])
    n = len(cells["x"])
    invalid = style.STATE_ORDER.index("I")
    now = list(data["snaps"]["s"][k * n : (k + 1) * n]) if count else [invalid] * n
    was = list(data["snaps"]["s"][(k - 1) * n : k * n]) if k > 0 else None
    letters = [style.STATE_ORDER[s] for s in now]
    cells["fill"] = [style.STATES[s].color for s in letters]
    cells["letter"] = letters
    cells["tc"] = [style.STATES[s].text for s in letters]
    changed = [True] * n if was is None else [a != b for a, b in zip(now, was, strict=True)]
    cells["lw"] = [4 if c and count else 1 for c in changed]
    return cells


def _cores_at(data: dict[str, dict], k: int, count: int) -> dict[str, list]:
    cores = dict(data["cores"])
    n = len(cores["x"])
    status = list(data["stats"]["s"][k * n : (k + 1) * n]) if count else [0] * n
    cores["hatch"] = [style.STATUS_HATCH[s] for s in status]
    cores["hcolor"] = [style.STATUS_HATCH_COLOR[s] for s in status]
    cores["word"] = [style.STATUS_WORDS[s] for s in status]
    return cores


def _token_at(f: dict[str, list], k: int, count: int) -> dict[str, dict]:
    """The token at the end of its path, its label at the path's middle, and the arrow."""
    if not (count and f["token"][k]):
        return {"token": {c: [] for c in _TOKEN_COLUMNS}, "arrow": {c: [] for c in _ARROW_COLUMNS}}
    mid = {"lx": (f["x0"][k] + f["x1"][k]) / 2, "ly": (f["y0"][k] + f["y1"][k]) / 2}
    token = {"x": [f["x1"][k]], "y": [f["y1"][k]], "label": [f["label"][k]]}
    token.update({key: [value] for key, value in mid.items()})
    return {"token": token, "arrow": {n: [f[c][k]] for n, c in _ARROW_COLUMNS.items()}}


_TOKEN_COLUMNS = ("x", "y", "label", "lx", "ly")
_ARROW_COLUMNS = {"x_start": "x0", "y_start": "y0", "x_end": "x1", "y_end": "y1"}


def _chip_data(params: HardwareParams, geo: Layout) -> dict[str, list]:
    w, h = geo.chip_size
    return {
        "x": [x for x, _ in geo.chip_xy],
        "y": [y for _, y in geo.chip_xy],
        "ty": [y + h / 2 - TITLE / 2 for _, y in geo.chip_xy],
        "name": [f"chip {c}" for c in range(params.chips)],
        "w": [w] * params.chips,
        "h": [h] * params.chips,
    }


def _mem_data(geo: Layout) -> dict[str, list]:
    n = len(geo.mem_xy)
    return {"x": [x for x, _ in geo.mem_xy], "y": [y for _, y in geo.mem_xy], "w": [geo.mem_w] * n}


def _link_data(geo: Layout) -> dict[str, list]:
    chips = geo.chip_xy
    pairs = [(a, (a + 1) % len(chips)) for a in range(len(chips) if len(chips) > 2 else 1)]
    pairs = pairs if len(chips) > 1 else []
    return {
        "xs": [[chips[a][0], chips[b][0]] for a, b in pairs],
        "ys": [[chips[a][1], chips[b][1]] for a, b in pairs],
    }


def _core_data(geo: Layout) -> dict[str, list]:
    return {
        "x": [x for x, _ in geo.core_xy],
        "y": [y for _, y in geo.core_xy],
        "left": [x - CORE_W / 2 + 0.06 for x, _ in geo.core_xy],
        "right": [x + CORE_W / 2 - 0.06 for x, _ in geo.core_xy],
        "top": [y + CORE_H / 2 - 0.04 for _, y in geo.core_xy],
        "name": [f"core {c}" for c in range(len(geo.core_xy))],
        "hatch": [" "] * len(geo.core_xy),
        "hcolor": ["#FFFFFF"] * len(geo.core_xy),
        "word": [""] * len(geo.core_xy),
    }


def _cell_data(geo: Layout, nlines: int) -> dict[str, list]:
    n = len(geo.cell_xy)
    return {
        "x": [x for x, _ in geo.cell_xy],
        "y": [y for _, y in geo.cell_xy],
        "w": [geo.cell_w * 0.88] * n,
        "fill": [style.STATES["I"].color] * n,
        "letter": ["I"] * n,
        "tc": [style.STATES["I"].text] * n,
        "lw": [1] * n,
    }


def _frame_columns(fr: dict[str, Any], geo: Layout) -> dict[str, list]:
    index = {line: i for i, line in enumerate(fr["lines"])}
    cols: dict[str, list] = {k: [] for k in ("t", "x0", "y0", "x1", "y1", "token", "label")}
    cols["caption"] = []
    for f in fr["frames"]:
        li = index[f["line"]]
        x0, y0, x1, y1 = _path(f, li, geo)
        for key, value in zip(("x0", "y0", "x1", "y1"), (x0, y0, x1, y1), strict=True):
            cols[key].append(value)
        cols["t"].append(f["t"])
        cols["token"].append(int(f["from"] is not None))
        cols["label"].append(f["name"])
        cols["caption"].append(f["caption"])
    return cols


def _path(f: dict[str, Any], line_index: int, geo: Layout) -> tuple[float, ...]:
    """The token's path: from the edge of the source facing the destination to the edge of
    the destination facing the source (above the cells for side-by-side cores), so the path
    crosses no letter and the token at rest sits beside its cell, not on it."""
    if f["from"] is None:
        return 0.0, 0.0, 0.0, 0.0
    (x0, y0), h0 = _centre(f["from"], line_index, geo)
    (x1, y1), h1 = _centre(f["to"], line_index, geo)
    return x0, _edge(y0, h0, y1), x1, _edge(y1, h1, y0)


def _centre(end: tuple[str, int], line_index: int, geo: Layout):
    kind, ident = end
    if kind == "core":
        return geo.cell(line_index, ident), CELL_H
    return geo.mem_xy[ident], MEM_H


def _edge(y: float, height: float, other_y: float) -> float:
    below = other_y < y - CORE_H / 2  # the other end is clearly lower: leave from the bottom
    return y - height / 2 - EDGE_GAP if below else y + height / 2 + EDGE_GAP


def _keys(params: HardwareParams, geo: Layout) -> dict[str, dict]:
    """The legend, a column right of the chips: states (only the protocol's), then what the
    hatching of a core means."""
    x, top = geo.legend_x + 0.45, geo.y_range[1] - 0.35
    states = [s.name for s in PROTOCOL_TABLES[params.protocol].states]
    statuses = [1, 2, 3]
    ys = [top - 0.42 * i for i in range(len(states) + len(statuses))]
    ys[len(states) :] = [y - 0.3 for y in ys[len(states) :]]  # a gap between the two keys
    return {
        "key_states": {
            "x": [x] * len(states),
            "tx": [x + 0.25] * len(states),
            "y": ys[: len(states)],
            "fill": [style.STATES[s].color for s in states],
            "letter": states,
            "tc": [style.STATES[s].text for s in states],
            "name": [style.STATES[s].words for s in states],
        },
        "key_status": {
            "x": [x] * len(statuses),
            "tx": [x + 0.25] * len(statuses),
            "y": ys[len(states) :],
            "hatch": [style.STATUS_HATCH[s] for s in statuses],
            "hcolor": [style.STATUS_HATCH_COLOR[s] for s in statuses],
            "name": ["miss being served", "queued for the line", "spinning on it"],
        },
    }
