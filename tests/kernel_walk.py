"""What the concurrency tests read of a kernel after a run: which locks are held, what a
failed call must have left alone, and a reachability walk that finds every object and page a
kernel can still reach, to compare with what it has allocated.

`run_at_once` runs one program per core at once (simpy processes on the machine's clock), so
calls made from different cores interleave access by access.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from coreylab.kernel import KernelError
from coreylab.kernel.locks import MCSLock, MCSRWLock, RWSemaphore, TicketLock
from coreylab.kernel.pagetables import ENTRY, FANOUT, PRESENT, PT

Program = Callable[[Any], Generator]  # program(core) -> its result


def run_at_once(machine, programs: dict[int, Program]) -> dict[int, Any]:
    """Start every `programs[core]` at the same time, run to the end; each program's result,
    or the `KernelError` it raised, by core. A program that never ends is a deadlock."""
    out: dict[int, Any] = {}

    def wrap(core, program):
        try:
            out[core.id] = yield from program(core)
        except KernelError as e:
            out[core.id] = e

    procs = {c: machine.spawn(c, wrap, p) for c, p in programs.items()}
    machine.run()
    stuck = [c for c, p in procs.items() if p.is_alive]
    assert not stuck, f"programs on cores {stuck} never finished: a deadlock"
    return out


def after(cycles: int, syscall: Callable[..., Generator], *args: Any, **kwargs: Any) -> Program:
    """A program that waits `cycles` of instruction work, then makes `syscall(*args)`."""

    def program(core):
        yield from core.compute(cycles)
        return (yield from syscall(*args, **kwargs))

    return program


# -- locks ----------------------------------------------------------------------------------------
def lock_is_free(lock, values: dict[int, int]) -> bool:
    """Nobody holds `lock` and nobody waits: the Python view and its words in memory agree."""
    get = values.get
    if lock._since:
        return False
    if isinstance(lock, MCSRWLock):
        return (
            get(lock.readers, 0) == 0
            and get(lock.writer, 0) == 0
            and lock_is_free(lock.queue, values)
        )
    if isinstance(lock, MCSLock):
        return get(lock.tail, 0) == 0
    if isinstance(lock, TicketLock):
        return get(lock.next, 0) == get(lock.owner, 0)
    if isinstance(lock, RWSemaphore):
        # The sleeping rwsem: no active or waiting bias, its wait_lock free, no waiter listed.
        return (
            get(lock.count, 0) == 0
            and lock_is_free(lock.wait_lock, values)
            and get(lock.first, 0) == 0
        )
    raise TypeError(f"no check for {lock!r}")


def held_locks(kernel, extra=()) -> list[str]:
    values = kernel.machine.memory.values
    return [lock.name for lock in [*kernel.base.locks, *extra] if not lock_is_free(lock, values)]


# -- page tables ----------------------------------------------------------------------------------
def table_pages(values: dict[int, int], table: int, level: int, found: set[int]) -> None:
    """Every page a page-table tree reaches from `table` at `level`: its table pages and, from
    its PT pages, the pages they map."""
    if table in found:
        return  # a mounted subtree, reached from a second root
    found.add(table)
    for i in range(FANOUT):
        entry = values.get(table + i * ENTRY, 0)
        if entry & PRESENT:
            page = entry & ~PRESENT
            if level == PT:
                found.add(page)
            else:
                table_pages(values, page, level + 1, found)


# -- Corey ----------------------------------------------------------------------------------------
def corey_map(kernel, task) -> dict[int, int]:
    """A pcore's share map as memory holds it: share id -> share address."""
    shares = kernel.shares
    pcore, values = shares._share_maps[task.id], kernel.machine.memory.values
    ids = (values.get(pcore["slot", 2 * i], 0) for i in range(shares.pcore_shares))
    return {
        sid: values.get(pcore["slot", 2 * i + 1], 0)
        for i, sid in enumerate(ids)
        if sid  # an empty slot
    }


def corey_walk(kernel, released=()) -> dict[str, Any]:
    """From every pcore: its share map, each share's entries and the objects they point at;
    its root range, the ranges mounted in it, the segments they map and every page-table and
    data page. What the kernel can reach, to compare with what it allocated. `released`:
    objects whose last entry a successful call erased, which the lab never frees (their
    pages stay theirs)."""
    values = kernel.machine.memory.values
    held = {t.id: corey_map(kernel, t) for t in kernel.tasks}
    reached_shares = {sid for m in held.values() for sid in m}
    holders: dict[int, int] = {}  # object id -> shares whose map holds it
    for sid in reached_shares:
        for oid in kernel.share_entries(sid):
            holders[oid] = holders.get(oid, 0) + 1
    objects = kernel.memory.mem_objects  # segments and ranges (kobject_alloc's are neither)
    roots = {t.root_range for t in kernel.tasks}  # not kernel objects in the lab
    named = {oid for oid in [*holders, *released] if oid in objects}
    ranges = roots | {oid for oid in named if kernel.kobjects[oid].kind == "address_range"}
    segments = {oid for oid in named if kernel.kobjects[oid].kind == "segment"}
    pages: set[int] = set()
    todo = sorted(ranges)
    while todo:  # each range: its page tables, the segments it maps, the ranges it mounts
        r = objects[todo.pop()]
        table_pages(values, r.table, r.level, pages)
        for m in filter(None, r.slots):
            if not hasattr(m.target, "table"):
                segments.add(m.target.id)
            elif m.target.id not in ranges:
                ranges.add(m.target.id)
                todo.append(m.target.id)
    for sid in segments:
        seg = objects[sid]
        pages |= set(seg.slot_pages) | set(seg.pages.values())
    return {
        "held": held,
        "shares": reached_shares,
        "holders": holders,
        "objects": reached_shares | set(holders) | (ranges | segments) - roots,
        "ranges": ranges,
        "pages": pages,
    }


def corey_state(kernel) -> dict[str, Any]:
    """Everything a failed call must leave as it was: share maps (memory and Python), share
    entries and sizes, object headers, objects, ranges' mappings, pages, locks, id counters."""
    values, shares = kernel.machine.memory.values, kernel.shares
    pool = kernel.memory.vm.pages
    share_ids = [s for s, o in kernel.kobjects.items() if o.kind == "share"]
    return {
        "maps": {t.id: corey_map(kernel, t) for t in kernel.tasks},
        "task_shares": {t.id: sorted(t.shares) for t in kernel.tasks},
        "entries": {s: kernel.share_entries(s) for s in share_ids},
        "sizes": {s: values.get(kernel.kobjects[s].s["size"], 0) for s in share_ids},
        "refcnt": {oid: values.get(o.s["refcnt"], 0) for oid, o in kernel.kobjects.items()},
        "objects": sorted(kernel.kobjects),
        "mem_objects": sorted(kernel.memory.mem_objects),
        "slots": {
            rid: [(m.va, m.npages, m.target.id, m.offset) for m in r.slots if m]
            for rid, r in kernel.memory.mem_objects.items()
            if hasattr(r, "slots")
        },
        "pages_in_use": pool.in_use,
        "free_pages": [list(f) for f in pool.free],
        "locks": [lock.name for lock in kernel.base.locks],
        "counters": [values.get(c["next"], 0) for c in shares._kobj_ids],
    }


# -- Linux ----------------------------------------------------------------------------------------
def linux_walk(kernel) -> dict[str, Any]:
    """From every task: its fd table's open fds and the files they point at (with how many
    slots point at each); its mm's VMAs and page tables; the MAP_SHARED objects' pages."""
    values, files = kernel.machine.memory.values, kernel.files
    tables = {id(t.files): t.files for t in kernel.tasks}
    slots: dict[int, int] = {}  # file address -> fd slots pointing at it
    for table in tables.values():
        for ptr in table.snapshot(values)["fd"].values():
            slots[ptr] = slots.get(ptr, 0) + 1
    pages: set[int] = set()
    for mm in {id(t.mm): t.mm for t in kernel.tasks}.values():
        table_pages(values, mm.pgd, 0, pages)
    for obj in kernel.shared_objects:
        pages |= set(obj.slot_pages) | set(obj.pages.values())
    counts = {ptr: values.get(files._file_at[ptr].s["f_count"], 0) for ptr in slots}
    return {"slots": slots, "f_count": counts, "pages": pages}
