"""Colours, fonts and sizes every coreylab picture shares, in one place.

What it fixes: one colour per variant, from the Okabe-Ito palette (distinguishable with the
common colour-vision deficiencies), and font sizes large enough for a projector. The coherence
states' colours are the protocols' own (`hardware/protocols.py`, same palette). Colour is never
the only cue: views also print the state letter, use marker shapes per variant and hatch
patterns for waiting cores.

What it leaves out: themes and dark mode (every view draws on white), per-view layout sizes
(each view sizes itself for a notebook and a 1080p projector).

Source: Okabe and Ito, "Color Universal Design" (2008); Wong, "Points of view: Color
blindness", Nature Methods 8, 441 (2011).
"""

from __future__ import annotations

from ..hardware import STATE_FACTS

# Okabe-Ito, in its usual order (black left out: it is the text colour).
OKABE_ITO = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
)
# Lines and markers on white: Okabe-Ito without its yellow (kept for the animation's token).
VARIANT_COLORS = ("#E69F00", "#0072B2", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000")
MARKERS = ("circle", "square", "triangle", "diamond", "inverted_triangle", "hex", "star")

# A coherence state's word and colours are facts of the protocols (`hardware/protocols.py`);
# here they are keyed by the letter a trace records, strongest first. The animation codes a
# state as its index in STATE_ORDER.
STATES = {state.name: facts for state, facts in STATE_FACTS.items()}
STATE_ORDER = tuple(STATES)

# What a core is doing at a frame's time (the machine animation): hatch and words, not colour
# alone. Index = the status code the frames carry.
STATUSES = ("idle", "miss", "queued", "spinning")
STATUS_WORDS = ("", "miss", "waiting", "spinning")
STATUS_HATCH = (" ", ".", "/", "x")
STATUS_HATCH_COLOR = ("#FFFFFF", "#0072B2", "#CC79A7", "#D55E00")

TOKEN_COLOR = "#F0E442"  # the moving line: yellow, a colour no state uses
LINK_COLOR = "#BDBDBD"
CHIP_FILL = "#FAFAFA"
CORE_FILL = "#FFFFFF"
MEMORY_FILL = "#E8E8E8"

# Font sizes in screen pixels: readable at 1 m in a notebook and from the back of a lecture room.
FONT_SMALL = "12px"
FONT = "14px"
FONT_LARGE = "17px"
FONT_TITLE = "18px"


def variant_style(index: int) -> tuple[str, str]:
    """(colour, marker) of the `index`-th variant of a chart."""
    return VARIANT_COLORS[index % len(VARIANT_COLORS)], MARKERS[index % len(MARKERS)]


def style_figure(fig) -> None:
    """Projector-sized fonts on a figure's title and axes."""
    fig.title.text_font_size = FONT_TITLE
    for axis in (*fig.xaxis, *fig.yaxis):
        axis.axis_label_text_font_size = FONT_LARGE
        axis.major_label_text_font_size = FONT
