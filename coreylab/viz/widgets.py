"""Control panels generated from an experiment's declared parameters, and the live demo panel.

What it builds: `control_panel(experiment, hw)` makes one ipywidgets control per experiment
`Param` (a slider from `low` to `high`, or a checkbox for an on/off 0..1 parameter), plus the run
arguments `variants` (a dropdown) and `cores` (a slider up to the machine's cores) when the
experiment has them, plus the chosen `HardwareParams` fields (`protocol` as a dropdown, any whole
number field as a text box bounded by the field's `BOUNDS`). Nothing is listed by hand: every
key is an experiment parameter, a hardware field or an argument of `experiments.run` (a test
checks it). Reading the panel gives
keyword arguments for `experiments.run`. A bad value (out of range, an impossible machine) shows
a one-line message next to the controls and reading gives None: never a traceback.

`redraw(out, draw)` fills an Output widget with what `draw()` prints and shows, collected in the
kernel: the way every lesson redraws its Output widgets (see its docstring for why).

`live_panel` joins a panel, a Run button and a `LiveMachineView`: Run reruns the experiment with
a trace and replaces the animation's frames in place. While it runs, the button says so and
every control is disabled; whatever goes wrong (a refused size, a machine out of memory, a bug)
ends as one line under the controls, never as an exception out of the click handler.

What it leaves out: free-text parameters (all experiment parameters are whole numbers) and
persistence of chosen values between sessions.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from typing import Any

import ipywidgets as w

from ..experiments import Experiment, ExperimentError, Param, get, run
from ..hardware import PROTOCOLS, HardwareParams, ParamError
from ..hardware.memory import OutOfMemory
from ..hardware.params import BOUNDS, MAX_CYCLES
from ..kernel import KernelError
from .live import LiveMachineView

RUN_ARGUMENTS = ("variants", "cores")  # the `experiments.run` arguments a panel can set
FIELDS = ("protocol",)  # hardware fields a panel shows unless told otherwise
_STYLE = {"description_width": "150px"}
_LAYOUT = w.Layout(width="420px")
_ERRORS = (ParamError, ExperimentError, ValueError, TypeError, KernelError, OutOfMemory)


class PanelReader:
    """Reads a panel: `reader()` gives `experiments.run` keyword arguments (hw, params,
    variants, cores) or None after showing what is wrong. `controls` maps key -> widget."""

    def __init__(self, experiment: Experiment, hw: HardwareParams, controls: dict[str, w.Widget],
                 message: w.HTML) -> None:  # fmt: skip
        self.experiment, self.hw, self.controls, self.message = experiment, hw, controls, message

    def __call__(self) -> dict[str, Any] | None:
        try:
            values = self._values()
        except _ERRORS as e:
            self.show(str(e))
            return None
        self.show("")
        return values

    def _values(self) -> dict[str, Any]:
        c = self.controls
        hw_fields = {f.name for f in fields(HardwareParams)}
        hw = self.hw.replace(**{k: c[k].value for k in c if k in hw_fields})
        names = {p.name for p in self.experiment.params}
        params = self.experiment.resolve({k: int(c[k].value) for k in c if k in names})
        out: dict[str, Any] = {"hw": hw, "params": params}
        if "variants" in c:
            out["variants"] = [c["variants"].value]
        if "cores" in c:
            cores = c["cores"].value
            if not 1 <= cores <= hw.cores:
                raise ExperimentError(f"cores must be between 1 and {hw.cores} on this machine")
            out["cores"] = [cores]
        return out

    def show(self, text: str) -> None:
        """Put a one-line message next to the controls (empty: clear it)."""
        if not text:
            self.message.value = ""
            return
        line = html.escape(text.splitlines()[0])
        self.message.value = f'<span style="color:#D55E00;font-weight:bold">⚠ {line}</span>'


def control_panel(
    experiment: Experiment | str,
    hw: HardwareParams,
    fields: Sequence[str] = FIELDS,
    on_change: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[w.VBox, PanelReader]:
    """Controls for `experiment`'s parameters and the hardware `fields`; returns the widget box
    and the reader. `on_change(values)` is called after each change that reads well."""
    experiment = get(experiment) if isinstance(experiment, str) else experiment
    controls = {p.name: _param_control(p) for p in experiment.params}
    if len(experiment.variants) > 1:
        controls["variants"] = w.Dropdown(options=list(experiment.variants), description="variant",
                                          style=_STYLE, layout=_LAYOUT)  # fmt: skip
    if experiment.sweeps_cores:
        controls["cores"] = w.IntSlider(value=hw.cores, min=1, max=hw.cores, description="cores",
                                        style=_STYLE, layout=_LAYOUT)  # fmt: skip
    for name in fields:
        controls[name] = _hardware_control(hw, name)
    message = w.HTML(value="", layout=w.Layout(min_height="1.6em"))
    reader = PanelReader(experiment, hw, controls, message)

    def changed(_change: dict) -> None:
        values = reader()
        if values is not None and on_change is not None:
            on_change(values)

    for control in controls.values():
        control.observe(changed, names="value")
    return w.VBox([*controls.values(), message]), reader


SLIDER_SPAN = 8  # a slider goes up to 8x the default: a lecturer's click must answer in seconds


def _param_control(p: Param) -> w.Widget:
    common = dict(description=p.name, tooltip=p.help, style=_STYLE, layout=_LAYOUT)
    if (p.low, p.high) == (0, 1):
        return w.Checkbox(value=bool(p.default), indent=False, **common)
    top = min(p.high, max(p.low + 1, SLIDER_SPAN * p.default, 16))  # larger sizes: from code
    return w.IntSlider(value=p.default, min=p.low, max=top, **common)


def _hardware_control(hw: HardwareParams, name: str) -> w.Widget:
    known = {f.name for f in fields(HardwareParams)} - {"name"}
    if name not in known:
        raise ParamError(f"unknown hardware parameter {name!r}; known: {', '.join(sorted(known))}")
    common = dict(description=name, style=_STYLE, layout=_LAYOUT)
    if name == "protocol":
        return w.Dropdown(options=list(PROTOCOLS), value=hw.protocol, **common)
    low, high = BOUNDS.get(name, (1, MAX_CYCLES))
    return w.BoundedIntText(value=getattr(hw, name), min=low, max=high, **common)


def redraw(out: w.Output, draw: Callable[[], object]) -> None:
    """Replace `out`'s contents with what `draw()` prints and displays, captured in the kernel
    (IPython's `capture_output`), never by the front end (`with out:` or `out.clear_output()`).

    Why: a notebook run without a browser (Voila's dashboards, nbgrader and nbconvert runs)
    emulates front-end capture by sending the widget's new outputs back to the kernel on the
    shell channel while it waits there for the cell's reply; with pyzmq's asyncio sockets that
    send can swallow the reply's wake-up, and the run then waits forever with the reply
    unread in its socket (seen: the tour's widget cell, 1 run in 30-50 under load). Here the
    kernel sets the widget's outputs itself, and nothing is sent back. Printed text comes
    first, then each displayed object in order."""
    from IPython.utils.capture import capture_output  # the lessons' kernels have IPython

    with capture_output() as captured:
        draw()
    outputs = [{"output_type": "stream", "name": name, "text": text}
               for name, text in (("stdout", captured.stdout), ("stderr", captured.stderr))
               if text]  # fmt: skip
    outputs += [{"output_type": "display_data", "data": o.data, "metadata": o.metadata}
                for o in captured.outputs]  # fmt: skip
    out.outputs = tuple(outputs)


def live_panel(
    experiment: Experiment | str,
    hw: HardwareParams,
    fields: Sequence[str] = FIELDS,
    lines: Sequence[int | str] | None = None,
    seed: int = 0,
) -> w.VBox:
    """Controls, a Run button and the live machine animation of the experiment's run."""
    experiment = get(experiment) if isinstance(experiment, str) else experiment
    box, reader = control_panel(experiment, hw, fields)
    button = w.Button(description="Run", button_style="success", icon="play")
    first = _traced_run(experiment, reader(), seed)
    view = LiveMachineView(first.trace or [], hw, lines)

    def clicked(_button: w.Button) -> None:
        values = reader()
        if values is None:
            return
        with busy(button, reader.controls.values()):
            try:
                result = _traced_run(experiment, values, seed)
                view.update(result.trace or [], values["hw"], lines)
            except _ERRORS as e:
                reader.show(str(e))
            except Exception as e:  # noqa: BLE001 - a handler must not raise into the page
                reader.show(f"internal error (a bug; please report it): {type(e).__name__}: {e}")

    button.on_click(clicked)
    return w.VBox([w.HBox([box, button]), view.widget])


@contextmanager
def busy(button: w.Button, controls: Iterable[w.Widget]) -> Iterator[None]:
    """While the body runs: the button says Running and every control is disabled."""
    controls = list(controls)
    saved = button.description, button.icon
    for widget in (button, *controls):
        widget.disabled = True
    button.description, button.icon = "Running…", "hourglass-half"
    try:
        yield
    finally:
        for widget in (button, *controls):
            widget.disabled = False
        button.description, button.icon = saved


def _traced_run(experiment: Experiment, values: dict[str, Any] | None, seed: int):
    if values is None:
        raise ExperimentError("the panel's starting values do not describe a runnable experiment")
    return run(experiment.name, seed=seed, trace=True, **values)
