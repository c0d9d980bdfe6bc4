"""A snapshot of the page tables after a run, as plain data: which page-table pages each core's
address space (a Linux `mm`) or address tree (a Corey root range) walks, which of them several
cores or several trees share, and how many hard and soft page faults each core took.

`page_table_snapshot(kernel)` walks every task's page tables in the simulated memory's values (a
Python-side read: no simulated time, nothing changes) and returns dicts, lists, ints and strings,
which serialize to JSON as they are. `pagetables.py` draws it.

Invariants: every table in a snapshot is reachable from a root of some core; `cores` of a
table is the set of cores whose root reaches it, `spaces` the set of roots; a table's `kind`
says who walks it: "private" (one core), "cores" (several cores of one tree), "trees" (several
trees: a shared subtree).

What it leaves out: the data pages themselves (counted), the kernel's own mappings, TLB
contents, table pages made but never installed (a race's loser gives its page back).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..kernel.pagetables import ENTRY, FANOUT, LEVEL_NAMES, PRESENT, PT

Snapshot = dict[str, Any]


def page_table_snapshot(kernel, title: str = "") -> Snapshot:
    """Walk the page tables of every task of `kernel` (a LinuxKernel or CoreyKernel, after
    its run) and return them as plain data (see the module's docstring)."""
    memory = kernel.machine.memory
    roots = _roots(kernel)
    tables: dict[int, dict[str, Any]] = {}
    leaves: set[int] = set()
    for core, (space, root) in sorted(roots.items()):
        _walk(memory, root, 0, None, core, space, tables, leaves)
    faults = kernel.faults
    cores = [
        {
            "core": core,
            "space": space,
            "root": root,
            "hard": faults.hard.get(core, 0),
            "soft": faults.soft.get(core, 0),
        }
        for core, (space, root) in sorted(roots.items())
    ]
    spaces: dict[str, dict[str, Any]] = {}
    for c in cores:
        spaces.setdefault(c["space"], {"name": c["space"], "root": c["root"], "cores": []})
        spaces[c["space"]]["cores"].append(c["core"])
    rows = sorted(tables.values(), key=lambda t: (t["level"], min(t["cores"]), t["page"]))
    for t in rows:
        t["cores"], t["spaces"] = sorted(t["cores"]), sorted(t["spaces"])
        t["kind"] = _kind(t)
    return {
        "kernel": kernel.name,
        "title": title,
        "cores": cores,
        "spaces": list(spaces.values()),
        "tables": rows,
        "ptes": sum(t["entries"] for t in rows if t["level"] == PT),
        "pages": len(leaves),
        "hard": faults.hard_total,
        "soft": faults.soft_total,
    }


def _roots(kernel) -> dict[int, tuple[str, int]]:
    """core -> (name of its address space, its PML4 page), for every task with one."""
    out: dict[int, tuple[str, int]] = {}
    ranges = getattr(kernel, "mem_objects", None)
    for task in kernel.tasks:
        if ranges is not None and task.root_range is not None:  # Corey: the pcore's root range
            root = ranges[task.root_range]
            out[task.core.id] = (root.name, root.table)
        elif getattr(task, "mm", None) is not None:  # Linux: the task's mm
            out[task.core.id] = (task.mm.name, task.mm.pgd)
    return out


def _walk(
    memory,
    table: int,
    level: int,
    parent: int | None,
    core: int,
    space: str,
    tables: dict,
    leaves: set,
) -> None:
    """Note `table` (at `level`) as reached by `core` through `space`, then its children."""
    known = table in tables
    t = tables.get(table)
    if t is None:
        label = memory.label_of(table // memory.params.line_size)
        t = tables[table] = {
            "page": table,
            "level": level,
            "level_name": LEVEL_NAMES[level],
            "label": label,
            "owner": label.rsplit(".", 1)[0] if "." in label else label,
            "chip": memory.home_chip(table),
            "entries": 0,
            "parents": [],
            "cores": set(),
            "spaces": set(),
        }
    if parent is not None and parent not in t["parents"]:
        t["parents"].append(parent)
    t["cores"].add(core)
    t["spaces"].add(space)
    children = _present(memory.values, table)
    if not known:
        t["entries"] = len(children)
    if level == PT:
        leaves.update(children)
        return
    for child in children:
        _walk(memory, child, level + 1, table, core, space, tables, leaves)


def _present(values: Mapping[int, int], table: int) -> list[int]:
    """The addresses the table's present entries point to, in entry order."""
    found = []
    for i in range(FANOUT):
        entry = values.get(table + i * ENTRY, 0)
        if entry & PRESENT:
            found.append(entry - PRESENT)
    return found


def _kind(t: dict[str, Any]) -> str:
    if len(t["spaces"]) > 1:
        return "trees"
    return "cores" if len(t["cores"]) > 1 else "private"


def snapshot_summary(snap: Snapshot) -> str:
    """One line: trees, table pages, what is shared, PTEs and pages, faults."""
    tables = snap["tables"]
    mounted = [t for t in tables if t["kind"] == "trees"]
    by_cores = [t for t in tables if t["kind"] == "cores"]
    n_spaces = len(snap["spaces"])
    shared = (
        f"{len(mounted)} shared by several trees"
        if mounted
        else f"{len(by_cores)} shared by the cores of one tree"
        if by_cores
        else "none shared"
    )
    return (
        f"{len(snap['cores'])} cores in {n_spaces} tree{'s' * (n_spaces != 1)}: "
        f"{len(tables)} page-table pages ({shared}); {snap['ptes']} PTEs map "
        f"{snap['pages']} pages; faults: {snap['hard']} hard, {snap['soft']} soft"
    )
