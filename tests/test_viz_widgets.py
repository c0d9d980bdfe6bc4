"""Control panels: every control is a real parameter, and bad input gives a message.

A made-up experiment declares the parameters (the panel is built from the declaration, not
from a list in the panel); the live panel is tried on the real latency-ladder experiment.
"""

from __future__ import annotations

import inspect
from dataclasses import fields

import ipywidgets as w
import pytest

from coreylab.experiments import Experiment, Param, Point, run
from coreylab.hardware import HardwareParams, ParamError
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
FIELDS = ("protocol", "chips", "cores_per_chip", "l1_size")


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
        ("chips", 0, "chips must be positive"),
        ("cores_per_chip", 500, "at most 256 cores"),
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
