"""The page-table picture: a plain-data snapshot of the kernel's page tables after a run, and
the view drawn from it. The runs are tiny (2-3 cores, a few pages), so every count can be worked
out by hand: a tree is a PML4, a PDPT, a PD and a PT page when its pages fit in one PT."""

import json

import pytest
from bokeh.models import Div, GlyphRenderer, Rect, Segment, VBar

from coreylab.exercises import memory_run
from coreylab.viz import page_table_snapshot, page_table_view
from coreylab.viz.pagetables import snapshot_summary


def snap(experiment, variant, cores, pages=4):
    return page_table_snapshot(memory_run(experiment, variant, cores, pages).kernel)


def levels(s):
    return [t["level_name"] for t in s["tables"]]


def test_threads_walk_one_tree_that_every_core_shares():
    """memclone, threads: one mm, so one PML4, PDPT and PD; each thread's region has its own
    PT page (regions are 2 MB apart); every table is reachable by all three cores."""
    s = snap("memclone", "linux-threads", 3)
    assert levels(s) == ["pml4", "pdpt", "pd", "pt", "pt", "pt"]
    assert [sp["cores"] for sp in s["spaces"]] == [[0, 1, 2]]
    assert all(t["kind"] == "cores" and t["cores"] == [0, 1, 2] for t in s["tables"])
    assert [t["entries"] for t in s["tables"] if t["level_name"] == "pt"] == [4, 4, 4]
    assert (s["hard"], s["soft"], s["ptes"], s["pages"]) == (12, 0, 12, 12)


def test_processes_sharing_a_buffer_each_hold_every_pte():
    """mempass, processes: two trees, nothing shared; both PTs map the same 4 pages, and the
    second process's 4 entries were soft faults."""
    s = snap("mempass", "linux-procs", 2)
    assert levels(s) == ["pml4"] * 2 + ["pdpt"] * 2 + ["pd"] * 2 + ["pt"] * 2
    assert all(t["kind"] == "private" for t in s["tables"])
    assert (s["ptes"], s["pages"], s["hard"], s["soft"]) == (8, 4, 4, 4)
    assert [(c["core"], c["hard"], c["soft"]) for c in s["cores"]] == [(0, 4, 0), (1, 0, 4)]


def test_a_corey_range_mounted_in_three_trees_is_one_subtree():
    """mempass, Corey: three root ranges (PML4 + PDPT each) and one range's PD and PT, drawn
    once, reached from all three trees; the PD has three parents."""
    s = snap("mempass", "corey-ar", 3)
    assert levels(s) == ["pml4"] * 3 + ["pdpt"] * 3 + ["pd", "pt"]
    pd, pt = s["tables"][-2:]
    assert pd["kind"] == pt["kind"] == "trees"
    assert len(pd["parents"]) == 3 and len(pd["spaces"]) == 3
    assert pd["owner"] == pt["owner"] and pd["owner"].startswith("ar[")
    assert (s["ptes"], s["hard"], s["soft"]) == (4, 4, 0)
    assert "1 shared" not in snapshot_summary(s) and "2 shared by several trees" in (
        snapshot_summary(s)
    )


def test_a_snapshot_is_plain_data():
    s = snap("memclone", "corey-ar", 2)
    assert json.loads(json.dumps(s)) == s


def renderers(layout, glyph):
    tree = layout.children[1]
    return [
        r for r in tree.renderers if isinstance(r, GlyphRenderer) and isinstance(r.glyph, glyph)
    ]


@pytest.mark.parametrize("variant", ["linux-threads", "linux-procs", "corey-ar"])
def test_the_view_draws_every_table_once_and_every_edge(variant):
    """Built from the JSON copy of a snapshot (no kernel needed): a box per table, a segment
    per core->root and per parent->child edge, a bar pair per core."""
    s = json.loads(json.dumps(snap("mempass", variant, 3)))
    layout = page_table_view(s, title=variant)
    boxes = sum(len(r.data_source.data["x"]) for r in renderers(layout, Rect))
    assert boxes == len(s["tables"])
    edges = sum(len(r.data_source.data["x0"]) for r in renderers(layout, Segment))
    assert edges == len(s["cores"]) + sum(len(t["parents"]) for t in s["tables"])
    faults = layout.children[2]
    bars = [r for r in faults.renderers if isinstance(r.glyph, VBar)]
    assert bars and list(bars[0].data_source.data["hard"]) == [c["hard"] for c in s["cores"]]
    assert list(bars[0].data_source.data["soft"]) == [c["soft"] for c in s["cores"]]
    caption = layout.children[0]
    assert isinstance(caption, Div) and caption.text == snapshot_summary(s)


def test_the_shared_subtree_is_its_own_legend_entry_with_words_in_the_boxes():
    layout = page_table_view(snap("mempass", "corey-ar", 2))
    tree = layout.children[1]
    labels = [item.label["value"] for legend in tree.legend for item in legend.items]
    assert labels == ["walked by one core", "walked by several trees: a shared subtree"]
    words = [w for r in renderers(layout, Rect) for w in r.data_source.data["words"]]
    assert any("2 trees" in w for w in words)


def test_rows_are_ordered_so_each_tree_stays_in_its_column():
    """Each process's tables sit under its core: same x on every level."""
    from coreylab.viz.pagetables import _positions

    s = snap("memclone", "linux-procs", 3)
    pos = _positions(s)
    for c in s["cores"]:
        xs = {pos["table"][t["page"]] for t in s["tables"] if t["cores"] == [c["core"]]}
        assert xs == {pos["core"][c["core"]]}
