"""Where each chip, core, cache cell and memory sits in the machine picture (data units).

What it lays out: chips on a ring, as the interconnect links them (four chips make the paper's
square: chip 0 top-left, 1 top-right, 2 bottom-right, 3 bottom-left; two chips side by side;
other counts on a circle), each chip a box holding its cores in a grid (numbered row by row, as
the machine numbers them chip by chip) and a bar for its L3 and DRAM. Each core box holds one
cell per line of interest, left to right in the order of the lines.

What it leaves out: link bandwidth and direction; the L1/L2 split (a cell is "this core's
caches"). One data unit is one core box wide; `SCALE` pixels per unit make it projector-sized.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..hardware import HardwareParams

SCALE = 120  # screen pixels per data unit (a core box is 120 px wide)
MAX_WIDTH = 1200  # pixels: bigger machines are drawn smaller instead
CORE_W, CORE_H = 1.0, 0.84
GAP_X, GAP_Y = 0.16, 0.14  # between cores on a chip
PAD, TITLE, MEM_H = 0.14, 0.34, 0.34  # chip padding, chip title band, L3/DRAM bar
CHIP_GAP = 0.75  # between chips: room for the ring's links and the moving tokens
CELL_H, CELL_MAX_W = 0.32, 0.3
CELL_DY = -0.12  # cells sit low in the core box: the band above them is the tokens' path
MARGIN = 0.1
LEGEND_W, LEGEND_H = 2.3, 4.6  # the legend column right of the chips


@dataclass(frozen=True)
class Layout:
    chip_xy: list[tuple[float, float]]
    chip_size: tuple[float, float]
    core_xy: list[tuple[float, float]]
    mem_xy: list[tuple[float, float]]
    mem_w: float
    cell_xy: list[tuple[float, float]]  # index: line * cores + core
    cell_w: float
    legend_x: float  # where the legend column starts
    x_range: tuple[float, float]
    y_range: tuple[float, float]

    def cell(self, line_index: int, core: int) -> tuple[float, float]:
        return self.cell_xy[line_index * len(self.core_xy) + core]

    @property
    def pixels(self) -> tuple[int, int]:
        """(width, height) of a plot that shows the layout undistorted."""
        w = self.x_range[1] - self.x_range[0]
        h = self.y_range[1] - self.y_range[0]
        scale = min(SCALE, MAX_WIDTH / w)
        return round(w * scale), round(h * scale)


def chip_grid(cores_per_chip: int) -> tuple[int, int]:
    """(columns, rows) of the cores inside a chip."""
    cols = math.ceil(math.sqrt(cores_per_chip))
    return cols, math.ceil(cores_per_chip / cols)


def chip_size(cores_per_chip: int) -> tuple[float, float]:
    cols, rows = chip_grid(cores_per_chip)
    width = cols * CORE_W + (cols - 1) * GAP_X + 2 * PAD
    height = TITLE + rows * CORE_H + rows * GAP_Y + MEM_H + PAD
    return width, height


def chip_centres(chips: int, size: tuple[float, float]) -> list[tuple[float, float]]:
    """Chips clockwise on a ring, chip 0 first at the top left."""
    if chips == 1:
        return [(0.0, 0.0)]
    spread = 1.0 if chips in (2, 4) else math.sqrt(2)  # rectangles on a circle need more room
    chord = 2 * math.sin(math.pi / chips)
    rx = spread * (size[0] + CHIP_GAP) / chord
    ry = spread * (size[1] + CHIP_GAP) / chord
    out = []
    for k in range(chips):
        angle = math.pi / 2 + math.pi / chips - 2 * math.pi * k / chips
        out.append((_tidy(rx * math.cos(angle)), _tidy(ry * math.sin(angle))))
    return out


def _tidy(value: float) -> float:
    return round(value, 9) + 0.0  # no -0.0 and no 1e-17 from cos(pi/2)


def layout(params: HardwareParams, lines: int) -> Layout:
    """Positions of everything for `params` with `lines` cells per core; the legend goes in a
    column right of the chips (screens and projectors are wider than tall)."""
    size = chip_size(params.cores_per_chip)
    chips = chip_centres(params.chips, size)
    cores = [_core_xy(params, chips, core) for core in range(params.cores)]
    cell_w = min(CELL_MAX_W, 0.86 / max(lines, 1))
    cells = [
        (x - cell_w * (lines - 1) / 2 + cell_w * i, y + CELL_DY)
        for i in range(lines)
        for x, y in cores
    ]
    mems = [(x, y - size[1] / 2 + PAD + MEM_H / 2) for x, y in chips]
    left = min(x for x, _ in chips) - size[0] / 2 - MARGIN
    right = max(x for x, _ in chips) + size[0] / 2 + MARGIN
    top = max(y for _, y in chips) + size[1] / 2 + MARGIN
    bottom = min(min(y for _, y in chips) - size[1] / 2 - MARGIN, top - LEGEND_H)
    return Layout(
        chips,
        size,
        cores,
        mems,
        size[0] - 2 * PAD,
        cells,
        cell_w,
        right,
        (left, right + LEGEND_W),
        (bottom, top),
    )


def _core_xy(params: HardwareParams, chips, core: int) -> tuple[float, float]:
    cols, _ = chip_grid(params.cores_per_chip)
    chip_x, chip_y = chips[params.chip_of(core)]
    width, height = chip_size(params.cores_per_chip)
    row, col = divmod(core % params.cores_per_chip, cols)
    x = chip_x - width / 2 + PAD + col * (CORE_W + GAP_X) + CORE_W / 2
    y = chip_y + height / 2 - TITLE - row * (CORE_H + GAP_Y) - CORE_H / 2
    return x, y
