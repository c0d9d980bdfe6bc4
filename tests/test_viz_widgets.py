"""Control panels: every control is a real parameter, and bad input gives a message.

A made-up experiment declares the parameters (the panel is built from the declaration, not
from a list in the panel); the live panel is tried on the real latency-ladder experiment.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import fields

import ipywidgets as w
import pytest

from coreylab.experiments import Experiment, Param, Point, run
from coreylab.hardware import HardwareParams, ParamError
from coreylab.hardware.memory import OutOfMemory
from coreylab.viz import control_panel, live_panel


def _point(variant, cores, seed, hw, trace, files, padding):
    return Point(rows=[{"variant": variant, "cores": cores, "files": files}])


FD = Experiment(
    name="fd-demo",
    summary="a made-up experiment with two parameters",
    variants=("linux", "corey"),
    metrics=("files",),
    params=(
        Param("files", 8, 1, 64, "descriptors each core opens"),
        Param("padding", 0, 0, 1, "pad each field to its own line"),
    ),
    point=_point,
)
HW = HardwareParams.preset("amd16")
FIELDS = ("protocol", "chips", "cores_per_chip", "l1_size", "l1_assoc", "page_size")


def test_every_control_is_a_real_parameter():
    _, reader = control_panel(FD, HW, FIELDS)
    allowed = ({p.name for p in FD.params} | {f.name for f in fields(HardwareParams)}
               | set(inspect.signature(run).parameters))  # fmt: skip
    assert set(reader.controls) <= allowed
    assert {"files", "padding", "variants", "cores", *FIELDS} == set(reader.controls)
    assert isinstance(reader.controls["padding"], w.Checkbox)
    assert isinstance(reader.controls["protocol"], w.Dropdown)


def test_reading_gives_run_arguments():
    box, reader = control_panel(FD, HW, FIELDS)
    reader.controls["files"].value = 16
    reader.controls["protocol"].value = "MESI"
    reader.controls["cores"].value = 4
    values = reader()
    assert values["params"] == {"files": 16, "padding": 0}
    assert values["hw"].protocol == "MESI" and values["cores"] == [4]
    assert values["variants"] == ["linux"]
    assert isinstance(box, w.VBox) and reader.message.value == ""


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("l1_size", 100, "l1_size"),  # not whole sets of lines: ParamError
        ("page_size", 12288, "page_size must be a power of two"),
        ("l1_assoc", 3, "whole sets"),
    ],
)
def test_impossible_machines_give_a_one_line_message(key, value, words):
    seen = []
    _, reader = control_panel(FD, HW, FIELDS, on_change=seen.append)
    reader.controls[key].value = value  # the observer reads the panel: must not raise
    assert words in reader.message.value and "Traceback" not in reader.message.value
    assert "\n" not in reader.message.value
    assert reader() is None and seen == []


def test_too_many_cores_for_a_smaller_machine():
    _, reader = control_panel(FD, HW, FIELDS)
    reader.controls["cores"].value = 16
    reader.controls["chips"].value = 2
    assert reader() is None and "cores must be between 1 and 8" in reader.message.value
    reader.controls["cores"].value = 8
    assert reader() is not None and reader.message.value == ""


def test_unknown_hardware_field_is_refused():
    with pytest.raises(ParamError, match="unknown hardware parameter 'l9_size'"):
        control_panel(FD, HW, ("l9_size",))


def test_live_panel_reruns_into_the_same_view():
    """The latency ladder with a trace: Run with another protocol updates the view in place."""
    tiny = HardwareParams.preset("duo")
    panel = live_panel("latency-ladder", tiny)
    controls, bokeh_view = panel.children
    box, button = controls.children
    protocol = next(c for c in box.children if getattr(c, "description", "") == "protocol")
    protocol.value = "MSI"
    before = bokeh_view.render_bundle
    sent = []
    bokeh_view.send = lambda *args, **kwargs: sent.append(args)
    button.click()
    assert sent and bokeh_view.render_bundle is before


def test_size_sliders_stay_interactive():
    """A slider stops at 8x the default (at least 16): 100,000 connections is for code, not for
    a lecturer's click."""
    from coreylab.experiments import get
    from coreylab.hardware import HardwareParams
    from coreylab.viz import control_panel

    box, _ = control_panel("tcp-connections", HardwareParams.preset("amd16"))
    conns = next(c for c in box.children if getattr(c, "description", "") == "conns")
    default = get("tcp-connections").param("conns").default
    assert conns.max == max(8 * default, 16) and conns.value == default


def test_every_number_box_is_bounded():
    """Each whole-number hardware field's box stops at the field's bounds: typing 10**30 or 0
    lands on the nearest sensible machine, not on an impossible one."""
    from coreylab.hardware.params import BOUNDS, MAX_CYCLES

    names = [f.name for f in dataclasses.fields(HardwareParams) if f.type in ("int", int)]
    _, reader = control_panel(FD, HW, names)
    for name in names:
        box = reader.controls[name]
        assert (box.min, box.max) == BOUNDS.get(name, (1, MAX_CYCLES)), name
        box.value = 10**30
        assert box.value == box.max


def _live(monkeypatch, fails_with=None):
    """A live panel on duo whose runs are watched: `seen` records, during each run, whether
    the button and the controls were disabled."""
    from coreylab.viz import widgets

    panel = live_panel("latency-ladder", HardwareParams.preset("duo"))
    (box, button), _view = panel.children[0].children, panel.children[1]
    seen = []
    real = widgets.run

    def watched(*args, **kwargs):
        seen.append((button.disabled, button.description,
                     all(c.disabled for c in box.children if hasattr(c, "disabled"))))  # fmt: skip
        if fails_with is not None:
            raise fails_with
        return real(*args, **kwargs)

    monkeypatch.setattr(widgets, "run", watched)
    return box, button, seen


def test_a_live_run_shows_it_is_busy(monkeypatch):
    box, button, seen = _live(monkeypatch)
    button.click()
    assert seen == [(True, "Running…", True)]
    assert not button.disabled and button.description == "Run"
    assert not any(getattr(c, "disabled", False) for c in box.children)


@pytest.mark.parametrize(
    "error, words",
    [
        (OutOfMemory("no free page left for chip 0"), "no free page left for chip 0"),
        (RuntimeError("a bug\nwith a second line"), "internal error"),
    ],
)
def test_an_error_in_a_live_run_is_one_line_in_the_panel(monkeypatch, error, words):
    """An OutOfMemory (or anything else) in the run stays inside the widget as one line."""
    box, button, seen = _live(monkeypatch, fails_with=error)
    button.click()  # must not raise
    message = box.children[-1].value
    assert words in message and "\n" not in message and "second line" not in message
    assert not button.disabled


def test_redraw_fills_an_output_widget_from_the_kernel_side():
    """What a draw prints, then what it displays, becomes the widget's outputs; a second
    redraw replaces them; the widget's own capture (`msg_id`) is never switched on, so a
    headless runner has nothing to send back to the kernel."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import HTML, display

    from coreylab.viz import redraw

    InteractiveShell.instance()  # displays go to its publisher, as in a kernel
    out, seen = w.Output(), []
    out.observe(lambda change: seen.append(change["new"]), "msg_id")

    def draw():
        display(HTML("<b>table</b>"))
        print("3 cycles")

    redraw(out, draw)
    assert out.outputs == (
        {"output_type": "stream", "name": "stdout", "text": "3 cycles\n"},
        {"output_type": "display_data", "data": {"text/plain": "<IPython.core.display.HTML "
         "object>", "text/html": "<b>table</b>"}, "metadata": {}},
    )  # fmt: skip
    redraw(out, lambda: print("again"))
    assert out.outputs == ({"output_type": "stream", "name": "stdout", "text": "again\n"},)
    redraw(out, lambda: None)
    assert out.outputs == ()
    assert seen == []
