"""Pictures of the simulated machine, in Bokeh, each a function of a Trace, Counters or Result.

    from coreylab.viz import machine_animation, scaling_chart, core_timeline
    show(machine_animation(machine.trace, machine.params))

Read in this order: `frames` (a trace's transactions as plain frames, after `replay`, which
works out every core's state), `machine` (the animated machine, drawn from `scene` and laid out
by `topology`, played by `player`), `live` (the same view fed from Python), `charts` (scaling
curves), `timeline` (per-core spans and hand-offs), `protocol` (the coherence table with the
cells a trace exercised), `hotlines` (perf c2c and lock_stat tables), `widgets` (control panels
built from an experiment's parameters), `ladder` (the latency ladder as bars). `style` holds the
shared colour-blind-safe colours.

What it leaves out: viz never touches a live Machine and never runs a simulation, except
`widgets.live_panel`, which runs experiments through `coreylab.experiments.run`. `pagetables`
draws the page tables from a plain-data snapshot of a kernel taken after its run.
"""

from . import resources  # noqa: F401  (first: BokehJS inline, for lessons offline)
from .charts import scaling_chart
from .frames import frames, hottest_lines
from .hotlines import hot_line_rows, hot_lines, lock_rows, lock_table
from .ladder import ladder_chart
from .live import LiveMachineView
from .machine import MachineView, machine_animation
from .pagetables import page_table_snapshot, page_table_view
from .protocol import exercised, protocol_table
from .timeline import core_timeline, handoffs, timeline_spans
from .widgets import PanelReader, control_panel, live_panel, redraw

__all__ = [
    "LiveMachineView",
    "MachineView",
    "PanelReader",
    "control_panel",
    "core_timeline",
    "exercised",
    "frames",
    "handoffs",
    "hot_line_rows",
    "hot_lines",
    "hottest_lines",
    "ladder_chart",
    "live_panel",
    "lock_rows",
    "lock_table",
    "machine_animation",
    "page_table_snapshot",
    "page_table_view",
    "protocol_table",
    "redraw",
    "scaling_chart",
    "timeline_spans",
]
