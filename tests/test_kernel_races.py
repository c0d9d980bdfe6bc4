"""The Corey kernel under concurrent system calls: the five defects issue 13 found, each as a
small interleaving on two or three simulated cores, run at several offsets so that one of them
hits the race window whatever the exact cycle costs. Every call either succeeds with its whole
effect, or fails and leaves the kernel exactly as it was (maps, entries, objects, pages, locks,
id counters), and no lock stays held."""

from __future__ import annotations

import pytest
from kernel_walk import (
    after,
    corey_map,
    corey_state,
    corey_walk,
    held_locks,
    run_at_once,
    table_pages,
)

from coreylab.hardware import HardwareParams, Machine
from coreylab.kernel import CoreyKernel, Errno, KernelError, LinuxKernel
from coreylab.workloads import run_call

OFFSETS = range(0, 400, 10)  # cycles one core waits before its call: sweeps the race window


def corey(preset: str = "tiny", pcores=(0, 1)):
    m = Machine(HardwareParams.preset(preset))
    k = CoreyKernel(m)
    return m, k, [k.create_pcore(c) for c in pcores]


def assert_consistent(k: CoreyKernel, released=()) -> None:
    """No lock held; every pcore's map in memory names the shares its task holds; every object
    and page the kernel allocated is reachable, but the objects whose last entry a call erased
    (`released`: the lab never frees an object)."""
    assert held_locks(k) == []
    for t in k.tasks:
        assert sorted(corey_map(k, t)) == sorted(t.shares), t.name
    walk = corey_walk(k, released)
    assert len(walk["pages"]) == k.pages.in_use
    assert set(k.kobjects) == walk["objects"] | set(released)


# -- 1. two grants to one pcore at once ----------------------------------------------------------
def test_two_grants_to_one_pcore_at_once_both_land():
    """Pcores a and b each give pcore c a share at the same moment. Both grants succeed, and
    c holds both: in its map in memory, not only in the Python view, so it can name an object
    through either share. (Before: both took c's first free slot; one grant was lost.)"""
    hit = 0
    for offset in OFFSETS:
        m, k, (a, b, c) = corey("duo", pcores=(0, 1, 2))
        sa, sb = run_call(a, k.share_alloc), run_call(b, k.share_alloc)
        oa, ob = run_call(a, k.kobject_alloc, sa), run_call(b, k.kobject_alloc, sb)
        out = run_at_once(
            m,
            {
                0: after(0, k.share_grant, a, c, sa),
                1: after(offset, k.share_grant, b, c, sb),
            },
        )
        assert out == {0: None, 1: None}
        assert sorted(corey_map(k, c)) == sorted([k.root_share(c), sa, sb])
        assert run_call(c, k.share_lookup, sa, oa) is k.kobjects[oa]
        assert run_call(c, k.share_lookup, sb, ob) is k.kobjects[ob]
        assert_consistent(k)
        hit += k.shares._map_locks[c.id].stats.contentions
    assert hit, "no offset made the two grants overlap"


def test_the_same_share_granted_twice_at_once_is_entered_once():
    """Two pcores holding one share both give it to a third at once: one grant succeeds, the
    other is EEXIST, and the share sits in one slot of the third's map."""
    for offset in OFFSETS:
        m, k, (a, b, c) = corey("duo", pcores=(0, 1, 2))
        s = run_call(a, k.share_alloc)
        run_call(a, k.share_grant, b, s)
        out = run_at_once(
            m,
            {
                0: after(0, k.share_grant, a, c, s),
                1: after(offset, k.share_grant, b, c, s),
            },
        )
        errors = [r.errno for r in out.values() if isinstance(r, KernelError)]
        assert errors == [Errno.EEXIST]
        assert list(corey_map(k, c)).count(s) == 1
        assert_consistent(k)


# -- 2. a race on the last slot of a share ---------------------------------------------------------
@pytest.mark.parametrize("call", ["segment_alloc", "ar_alloc"])
def test_two_allocations_racing_for_the_last_slot_of_a_share(call):
    """A share with one free slot, held by two pcores; both allocate into it at once. Both
    pass the check made before the call runs; under the share's write lock one inserts and
    the other finds the share full: ENOMEM, its lock released, its object, id and pages given
    back. (Before: a TypeError with the write lock held, a deadlock, and an orphan object.)"""
    raced = 0
    for offset in OFFSETS:
        m, k, (a, b) = corey("tiny")
        s = run_call(a, k.share_alloc)
        run_call(a, k.share_grant, b, s)
        for _ in range(k.kobjects[s].slots - 1):
            run_call(a, k.kobject_alloc, s)
        args = (1,) if call == "segment_alloc" else ()
        counters = corey_state(k)["counters"]
        out = run_at_once(
            m,
            {
                0: after(0, getattr(k, call), a, *args, share=s),
                1: after(offset, getattr(k, call), b, *args, share=s),
            },
        )
        failed = [c for c, r in out.items() if isinstance(r, KernelError)]
        assert len(failed) <= 1 and all(out[c].errno == Errno.ENOMEM for c in failed)
        assert len(k.share_entries(s)) == k.kobjects[s].slots
        if failed:  # the loser's id counter is back where it was
            raced += 1
            assert corey_state(k)["counters"][failed[0]] == counters[failed[0]]
        assert_consistent(k)
    assert raced, "no offset made the two allocations race"


# -- 3. share=True ---------------------------------------------------------------------------------
@pytest.mark.parametrize("call", ["segment_alloc", "ar_alloc", "kobject_alloc"])
def test_a_share_named_true_is_no_share_and_changes_nothing(call):
    """`share=True` is not share 1 (Python's True == 1): ENOENT, and no page or id taken.
    (Before: for the pcore whose root share is 1, the call took a page and an id and then
    failed EACCES; for the others, a misleading EACCES.)"""
    m, k, (a, b) = corey("tiny")
    assert k.root_share(a) == 1
    args, kwargs = {"segment_alloc": ((1,), {"share": True}), "ar_alloc": ((), {"share": True}),
                    "kobject_alloc": ((True,), {})}[call]  # fmt: skip
    for task in (a, b):
        before = corey_state(k)
        with pytest.raises(KernelError) as e:
            run_call(task, getattr(k, call), *args, **kwargs)
        assert e.value.errno == Errno.ENOENT and "True" in str(e.value)
        assert corey_state(k) == before


# -- 4. ar_set_ar losing an ENOENT race ----------------------------------------------------------
def test_a_mount_racing_the_removal_of_its_range_gives_its_page_back():
    """Pcore b mounts a range named in a share while a removes the range from that share.
    Whichever wins, b's call either mounts it or fails ENOENT having given back the page-table
    page it reserved. (Before: the page leaked on ENOENT.)"""
    lost = 0
    for offset in OFFSETS:
        m, k, (a, b) = corey("tiny")
        s = run_call(a, k.share_alloc)
        run_call(a, k.share_grant, b, s)
        ar = run_call(a, k.ar_alloc, share=s)
        before = corey_state(k)
        out = run_at_once(
            m,
            {
                0: after(0, k.share_delobj, a, s, ar),
                1: after(offset, k.ar_set_ar, b, k.root_range(b), 1 << 30, (s, ar)),
            },
        )
        assert out[0] is None
        if isinstance(out[1], KernelError):
            lost += 1
            assert out[1].errno == Errno.ENOENT
            assert corey_state(k)["pages_in_use"] == before["pages_in_use"]
        assert_consistent(k, released=[ar])
    assert lost, "no offset made the mount lose the race"


# -- 5. a task of another kernel ------------------------------------------------------------------
def foreign_calls(k: CoreyKernel, mine, theirs) -> list:
    """Each call, given a pcore of another kernel (as the caller or as the one granted to)."""
    root = k.root_share(mine)
    return [
        ("share_alloc", lambda: k.share_alloc(theirs)),
        ("kobject_alloc", lambda: k.kobject_alloc(theirs)),
        ("share_lookup", lambda: k.share_lookup(theirs, root, 2)),
        ("share_addobj", lambda: k.share_addobj(theirs, root, 2)),
        ("share_delobj", lambda: k.share_delobj(theirs, root, 2)),
        ("share_drop", lambda: k.share_drop(theirs, root)),
        ("share_grant by", lambda: k.share_grant(theirs, mine, root)),
        ("share_grant to", lambda: k.share_grant(mine, theirs, root)),
        ("segment_alloc", lambda: k.segment_alloc(theirs, 1)),
        ("ar_alloc", lambda: k.ar_alloc(theirs)),
        ("ar_set_ar", lambda: k.ar_set_ar(theirs, k.root_range(mine), 1 << 30, 2)),
        ("touch", lambda: k.touch(theirs, 0)),
    ]


FOREIGN = ["share_alloc", "kobject_alloc", "share_lookup", "share_addobj", "share_delobj",
           "share_drop", "share_grant by", "share_grant to", "segment_alloc", "ar_alloc",
           "ar_set_ar", "touch"]  # fmt: skip


@pytest.mark.parametrize("name", FOREIGN)
def test_a_pcore_of_another_kernel_is_einval(name):
    """A pcore made by another Corey kernel (same ids, same cores) or a Linux task: EINVAL and
    nothing changes. (Before: a KeyError, or the other kernel's pcore used this one's maps.)"""
    m, k, (mine, _) = corey("tiny")
    other_corey = CoreyKernel(Machine(HardwareParams.preset("tiny")))
    linux = LinuxKernel(Machine(HardwareParams.preset("tiny")))
    for theirs in (other_corey.create_pcore(0), linux.create_process(0)):
        call = dict(foreign_calls(k, mine, theirs))[name]
        before = corey_state(k)
        error = run_at_once(m, {0: lambda core, call=call: call()})[0]
        assert isinstance(error, KernelError), error
        assert error.errno == Errno.EINVAL and "not a task of this kernel" in str(error)
        assert corey_state(k) == before


# -- 6. (found by test_kernel_concurrent.py) two first faults under one missing table -------------
def test_two_first_faults_at_once_leave_no_table_page_behind():
    """Two threads of a Linux process touch two pages of one fresh mapping at once: both find
    the page-table pages missing, both make them, one installs them; the other's go back to
    the pool. Both kernels fill tables with the same code (`descend`), Corey too. (Before:
    the loser's table pages stayed in use, reachable from nowhere.)"""
    for offset in OFFSETS:
        m = Machine(HardwareParams.preset("tiny"))
        k = LinuxKernel(m)
        p = k.create_process(0)
        t = k.create_thread(p, 1)
        ps = m.params.page_size
        addr = run_call(p, k.mmap, 2 * ps)
        run_at_once(m, {0: after(0, k.touch, p, addr), 1: after(offset, k.touch, t, addr + ps)})
        assert run_call(p, k.touch, addr + ps, False) == 1 and run_call(t, k.touch, addr, False)
        reachable: set[int] = set()
        table_pages(m.memory.values, p.mm.pgd, 0, reachable)
        assert len(reachable) == k.pages.in_use == 1 + 3 + 2  # PML4, PDPT/PD/PT, two pages
