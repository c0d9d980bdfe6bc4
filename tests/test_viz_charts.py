"""The scaling chart: one line per variant, a linear reference per variant, reference points.

The Result is measured on the simulated machine: every core does atomic increments, either on
one shared counter (it bounces between caches) or on its own padded counter (it never moves).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from bokeh.models import HoverTool

from coreylab.experiments import Result
from coreylab.hardware import HardwareParams, Machine
from coreylab.viz import scaling_chart

CORES = (1, 2, 4, 8, 16)


def _throughput(cores: int, shared: bool, ops: int = 20) -> float:
    """Increments per 1000 cycles on `cores` cores of amd16."""
    m = Machine(HardwareParams.preset("amd16"))
    base = m.memory.alloc(64 * 16, label="counter")

    def bump(core):
        addr = base if shared else base + 64 * core.id
        for _ in range(ops):
            yield from core.fetch_add(addr, 1)

    for c in range(cores):
        m.spawn(c, bump)
    return 1000 * cores * ops / m.run()


@pytest.fixture(scope="module")
def result():
    rows = [
        {"variant": v, "cores": c, "ops_per_kcycle": _throughput(c, v == "shared")}
        for v in ("shared", "per-core")
        for c in CORES
    ]
    return Result("counter", {}, rows)


def _named(fig, prefix):
    return [r for r in fig.renderers if r.name and r.name.startswith(prefix)]


def test_one_line_per_variant_plus_linear_references(result):
    fig = scaling_chart(result, "ops_per_kcycle")
    assert [r.name for r in _named(fig, "variant:")] == ["variant:shared", "variant:per-core"]
    assert len(_named(fig, "linear:")) == 2
    for line in _named(fig, "variant:"):
        assert list(line.data_source.data["cores"]) == list(CORES)


def test_linear_reference_starts_at_one_core(result):
    fig = scaling_chart(result, "ops_per_kcycle")
    data = _named(fig, "linear:per-core")[0].data_source.data
    one = result.row(variant="per-core", cores=1)["ops_per_kcycle"]
    assert data["linear"] == [one * c for c in CORES]


def test_cost_metric_has_a_flat_reference(result):
    fig = scaling_chart(result, "ops_per_kcycle", higher_is_better=False)
    data = _named(fig, "linear:shared")[0].data_source.data
    assert len(set(data["linear"])) == 1


def test_reference_points_and_hover(result):
    paper = {"paper: shared": [(1, 5.0), (16, 1.0)]}
    fig = scaling_chart(result, "ops_per_kcycle", reference=paper)
    (ref,) = _named(fig, "reference:")
    assert ref.data_source.data["value"] == [5.0, 1.0]
    hover = next(t for t in fig.tools if isinstance(t, HoverTool))
    assert ref in hover.renderers and len(hover.renderers) == 3


def test_shared_counter_does_not_scale(result):
    """What the chart is for: the shared counter falls far below its linear line."""
    shared = result.column("ops_per_kcycle", variant="shared")
    private = result.column("ops_per_kcycle", variant="per-core")
    assert shared[-1] < 16 * shared[0] / 4 and private[-1] > 8 * private[0]


def test_small_values_keep_readable_ticks():
    """Seconds of about 1e-4 would all read "0" in the abbreviated format."""
    from bokeh.models import BasicTickFormatter

    from coreylab.experiments import Result
    from coreylab.viz import scaling_chart

    rows = [{"variant": "v", "cores": c, "seconds": 1e-4 / c} for c in (1, 2, 4)]
    fig = scaling_chart(Result("x", {}, rows), "seconds", higher_is_better=False)
    assert isinstance(fig.yaxis[0].formatter, BasicTickFormatter)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the tick code")
def test_big_ticks_say_k_and_m_not_milli():
    """140 million reads "140M" (the abbreviated format wrote "140m", as if milli), 2,500
    reads "2.5k", small numbers stay as they are."""
    from coreylab.viz.charts import SI_TICKS

    ticks = [140_000_000, 2500, 12.5, 0, 1_000, 3_000_000_000, -4000]
    script = f"const f = (tick) => {{{SI_TICKS}}};\nconsole.log(JSON.stringify({ticks}.map(f)));"
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["140M", "2.5k", "12.5", "0", "1k", "3G", "-4k"]


def test_a_cost_spanning_decades_gets_a_log_axis():
    """One variant's cycles per operation 800 times another's: the flat lines would lie on the
    floor of a linear axis, so the cost chart turns log (and says so); a throughput chart stays
    linear, as the paper draws it, and so does a cost with a zero in it."""
    from bokeh.models import LogScale

    from coreylab.experiments import Result
    from coreylab.viz import scaling_chart

    rows = [{"variant": v, "cores": c, "cost": base * c, "rate": 1 / (base * c), "zero": 0}
            for v, base in (("shared", 500), ("private", 1)) for c in (1, 16)]  # fmt: skip
    result = Result("x", {}, rows)
    cost = scaling_chart(result, "cost", higher_is_better=False)
    assert isinstance(cost.y_scale, LogScale) and "log" in cost.yaxis[0].axis_label
    assert not isinstance(scaling_chart(result, "rate").y_scale, LogScale)
    assert not isinstance(scaling_chart(result, "zero", higher_is_better=False).y_scale, LogScale)
    assert isinstance(scaling_chart(result, "rate", log_y=True).y_scale, LogScale)


def test_ladder_bars_are_named_in_words():
    """The ladder's bars say where the line came from in words; the key stays in the hover."""
    from coreylab.viz import ladder_chart

    ladder = (("l1", 3), ("other-chip-cache-2hop", 250), ("dram-remote", 260))
    rows = [{"variant": "measured", "cores": 16, "source": s, "cycles": c} for s, c in ladder]
    fig = ladder_chart(Result("latency-ladder", {}, rows))
    assert fig.y_range.factors == ["DRAM on another chip", "a cache 2 hops away", "its own L1"]
