"""The machine animation's player: slider, Play/Pause, step and speed, all in the browser.

How it works (what `reference/jupyter-notes.md` found to work everywhere, kernel or not): every
frame is already in ColumnDataSources; a Slider over the transactions, numbered from 1 as the
line above it numbers them, in steps of 1/STEPS_PER_FRAME so that a token can be part-way
between two caches (at 7.45 the token is under half-way from transaction 7 to 8, and the line
says "transaction 7 → 8"), has one CustomJS that copies the current frame into the small view
sources the glyphs draw. The buttons only move the slider: Play/Pause toggles a `setInterval`
that advances it at the chosen speed; Back and Next jump to the previous or next whole frame.
The Python twin of the draw callback is `scene.view_at` (the first frame is drawn by Python;
tests compare the two).

What it leaves out: looping (playback stops at the last frame; Play again restarts), keyboard
shortcuts.
"""

from __future__ import annotations

import json

from bokeh.layouts import row
from bokeh.models import Button, ColumnDataSource, CustomJS, Div, LayoutDOM, Slider

from . import style

STEPS_PER_FRAME = 20  # slider resolution: a token crosses between two caches in 20 steps
LABEL_LIFT = 0.17  # data units: a moving token's label rides this far above it
SLIDER_NAME = "coreylab-time"  # how scripts and browser tests find the time slider

# -- the player: every control only moves the slider; one callback draws -----------------------
_DRAW = """
const F = frames.data, N = F.t.length, v = slider.value - 1;  // frames count from 0
if (N == 0) return;
const k = Math.max(0, Math.min(Math.floor(v + 1e-9), N - 1)), f = v - k;
const j = (f > 1e-6 && k + 1 < N) ? k + 1 : k, p = (j > k) ? f : 1;
const C = cells.data, nc = C.x.length, S = snaps.data.s;
for (let i = 0; i < nc; i++) {
  const s = S[k * nc + i];
  C.fill[i] = COLORS[s]; C.letter[i] = LETTERS[s]; C.tc[i] = TEXT[s];
  C.lw[i] = (k == 0 || S[(k - 1) * nc + i] != s) ? 4 : 1;
}
const K = cores.data, nk = K.x.length, T = stats.data.s;
for (let i = 0; i < nk; i++) {
  const s = T[j * nk + i];
  K.hatch[i] = HATCH[s]; K.hcolor[i] = HCOLOR[s]; K.word[i] = WORDS[s];
}
const on = F.token[j] == 1, x = F.x0[j] + (F.x1[j] - F.x0[j]) * p;
const y = F.y0[j] + (F.y1[j] - F.y0[j]) * p;
// At rest the label sits on the path's middle; in flight it rides just above the token.
const lx = p < 1 ? x : (F.x0[j] + F.x1[j]) / 2, ly = p < 1 ? y + LIFT : (F.y0[j] + F.y1[j]) / 2;
token.data = on ? {x: [x], y: [y], label: [F.label[j]], lx: [lx], ly: [ly]}
                : {x: [], y: [], label: [], lx: [], ly: []};
arrow.data = on ? {x_start: [F.x0[j]], y_start: [F.y0[j]], x_end: [F.x1[j]], y_end: [F.y1[j]]}
                : {x_start: [], y_start: [], x_end: [], y_end: []};
cells.change.emit(); cores.change.emit();
caption.text = F.caption[j];
const which = j > k ? `${k + 1} → ${j + 1}` : `${k + 1}`;
clock.text = `transaction ${which} of ${N} · cycle ${F.t[j].toLocaleString("en")}`;
"""

_PLAY = """
const b = button, N = frames.data.t.length;
const stop = () => { clearInterval(b._timer); b._timer = null; b.label = "▶ Play"; };
if (b._timer) { stop(); return; }
if (slider.value >= N) slider.value = 1;
b.label = "❚❚ Pause";
b._timer = setInterval(() => {
  const end = frames.data.t.length;
  const v = Math.round((slider.value + speed.value / STEPS) * STEPS) / STEPS;
  if (v >= end) { slider.value = Math.max(end, 1); stop(); } else { slider.value = v; }
}, 1000 / STEPS);
"""

_STEP = """
const N = frames.data.t.length, v = slider.value;
slider.value = step > 0 ? Math.min(Math.max(N, 1), Math.floor(v + 1e-9) + 1)
                        : Math.max(1, Math.ceil(v - 1e-9) - 1);
"""


def _constants() -> str:
    table = {
        "COLORS": [style.STATES[s].color for s in style.STATE_ORDER],
        "LETTERS": list(style.STATE_ORDER),
        "TEXT": [style.STATES[s].text for s in style.STATE_ORDER],
        "HATCH": list(style.STATUS_HATCH),
        "HCOLOR": list(style.STATUS_HATCH_COLOR),
        "WORDS": list(style.STATUS_WORDS),
        "STEPS": STEPS_PER_FRAME,
        "LIFT": LABEL_LIFT,
    }
    return "".join(f"const {name} = {json.dumps(value)};\n" for name, value in table.items())


def player(src: dict[str, ColumnDataSource], caption: Div, clock: Div) -> tuple[Slider, LayoutDOM]:
    """The time slider (drawing every frame) and the row of Back, Play, Next and speed. The
    slider has no title (Bokeh would end it in a colon with no value after it): `clock` says
    which transaction and cycle it is at."""
    slider = Slider(
        start=1,
        end=2,
        value=1,
        step=1 / STEPS_PER_FRAME,
        show_value=False,
        title="",
        name=SLIDER_NAME,
        width=900,
    )
    names = ("frames", "cells", "cores", "snaps", "stats", "token", "arrow")
    args = {name: src[name] for name in names}
    slider.js_on_change(
        "value",
        CustomJS(
            args={**args, "slider": slider, "caption": caption, "clock": clock},
            code=_constants() + _DRAW,
        ),
    )
    speed = Slider(
        start=1,
        end=STEPS_PER_FRAME,
        value=3,
        step=1,
        width=260,
        title="speed (transactions per second)",
    )
    play = Button(label="▶ Play", button_type="success", width=120, name="coreylab-play")
    play.js_on_click(
        CustomJS(
            args={"slider": slider, "speed": speed, "frames": src["frames"], "button": play},
            code=_constants() + _PLAY,
        )
    )
    back, forward = Button(label="◀ Back", width=100), Button(label="Next ▶", width=100)
    for button, step in ((back, -1), (forward, 1)):
        button.js_on_click(
            CustomJS(args={"slider": slider, "frames": src["frames"], "step": step}, code=_STEP)
        )
    return slider, row(back, play, forward, speed)
