"""Live mode: the machine animation inside an ipywidgets layout, re-fed from Python.

What it is for: a lecturer changes a control (cores, protocol, a hardware parameter), the
simulation reruns, and the same picture shows the new run without being displayed again.
`LiveMachineView` wraps the animation's layout in jupyter_bokeh's `BokehModel` (an ipywidget);
`update(trace, params)` replaces the ColumnDataSources' data and the slider's range, and
`BokehModel` sends those changes to the browser as document patches. The client-side player
keeps working on the new frames.

What it leaves out: it does not run anything itself (see `widgets.live_panel`, which ties
controls, a run and the view together); its output does not survive a static HTML export (use
`machine_animation` for that). `push_notebook` is not used: it blocks the kernel in loops.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jupyter_bokeh.widgets import BokehModel

from ..hardware import HardwareParams
from ..trace import LineEvent, Trace
from .frames import Lines
from .machine import MAX_FRAMES, MachineView


class LiveMachineView:
    """The machine animation as an ipywidget whose data Python can replace.

    >>> view = LiveMachineView(machine.trace, machine.params)
    >>> display(view.widget)            # once
    >>> view.update(other.trace, other.params)   # later, as often as needed
    """

    def __init__(
        self,
        trace: Trace | Iterable[LineEvent],
        params: HardwareParams,
        lines: Lines = None,
        max_frames: int = MAX_FRAMES,
    ) -> None:
        self.view = MachineView(trace, params, lines, max_frames)
        self.widget = BokehModel(self.view.layout)
        self.frames: dict[str, Any] = self.view.last

    def update(
        self,
        trace: Trace | Iterable[LineEvent],
        params: HardwareParams,
        lines: Lines = None,
        max_frames: int = MAX_FRAMES,
    ) -> dict[str, Any]:
        """Show another run in the same widget; return its frames (see `frames.frames`)."""
        self.frames = self.view.update(trace, params, lines, max_frames)
        return self.frames

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
