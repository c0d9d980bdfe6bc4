"""Locks on simulated lines: mutual exclusion, FIFO order, statistics, and why ticket locks
collapse while MCS locks do not."""

import pytest

from coreylab.hardware import HardwareParams, Machine
from coreylab.kernel import MCSLock, MCSRWLock, RWSemaphore, Struct, TicketLock


def setup(kind, preset="amd16", **changes):
    m = Machine(HardwareParams.preset(preset).replace(**changes))
    s = Struct(m, "obj", {"lock": [("lock", 3)], "data": ["counter"]})
    if kind == "ticket":
        lock = TicketLock("obj.lock", s["lock", 0], s["lock", 1])
    else:
        lock = MCSLock("obj.lock", m, s["lock", 0])
    return m, s, lock


def counting(lock, s, inside, order):
    """A program: take the lock, do a non-atomic increment, note who was inside when."""

    def program(core, rounds):
        for _ in range(rounds):
            yield from lock.acquire(core)
            start = core.local
            value = yield from core.load(s["counter"])
            yield from core.compute(30)
            yield from core.store(s["counter"], value + 1)
            inside.append((start, core.local, core.id))
            order.append(core.id)
            yield from lock.release(core)
            yield from core.compute(60)

    return program


@pytest.mark.parametrize("store_buffer", [0, 1])
@pytest.mark.parametrize("kind", ["ticket", "mcs"])
@pytest.mark.parametrize("cores", [2, 5, 16])
def test_mutual_exclusion_and_no_lost_updates(kind, cores, store_buffer):
    m, s, lock = setup(kind, store_buffer=store_buffer)
    inside, order = [], []
    program = counting(lock, s, inside, order)
    for c in range(cores):
        m.spawn(c, program, 30)
    m.run()
    assert m.memory.values[s["counter"]] == 30 * cores
    spans = sorted(inside)
    for (_, end, _), (start, _, _) in zip(spans, spans[1:], strict=False):
        assert end <= start, "two cores inside the critical section at once"
    assert lock.stats.acquisitions == 30 * cores
    assert not lock._since  # everyone released


@pytest.mark.parametrize("kind", ["ticket", "mcs"])
def test_fifo_hand_off(kind):
    """Both locks are fair: once every core queues, the lock goes round in a fixed order."""
    m, s, lock = setup(kind)
    inside, order = [], []
    program = counting(lock, s, inside, order)
    for c in range(4):
        m.spawn(c, program, 12)
    m.run()
    steady = order[8:40]
    assert all(steady[i] != steady[i + 1] for i in range(len(steady) - 1))
    assert sorted(steady[:4]) == [0, 1, 2, 3] and steady[4:8] == steady[:4]


def test_uncontended_ticket_lock_by_hand():
    """One core on tiny: fetch_add misses to DRAM (200 + 20 atomic), the load of `owner` hits
    (3); release loads (3) and stores (3). No contention; waited 223 cycles (the cost of taking
    it), held 0 (release follows at once: hold time runs from acquired to release called)."""
    m, s, lock = setup("ticket", "tiny")
    times = []

    def program(core):
        yield from lock.acquire(core)
        times.append(core.local)
        yield from lock.release(core)
        times.append(core.local)

    m.spawn(0, program)
    m.run()
    assert times == [223, 229]
    assert lock.stats.as_dict() == {
        "name": "obj.lock",
        "acquisitions": 1,
        "contentions": 0,
        "wait_cycles": 223,
        "hold_cycles": 0,
    }


def throughput(kind, cores, rounds=40, **changes):
    m, s, lock = setup(kind, **changes)
    program = counting(lock, s, [], [])
    for c in range(cores):
        m.spawn(c, program, rounds)
    end = m.run()
    return cores * rounds / end, m.counters().total("transfers") / (cores * rounds)


def test_ticket_hand_offs_reach_every_waiter_and_mcs_ones_do_not():
    """With the lock and its data on one line, every ticket hand-off invalidates every waiter;
    MCS waiters spin on their own lines. Line transfers per acquisition: ticket's grow with
    the waiters (each hand-off reaches every one of them), MCS's stay flat. At the default
    `home_occupancy` the waiters' re-reads overlap (the home takes one per occupancy, not per
    transfer), so ticket's throughput at 16 cores stays within 1.5x of 2 cores', MCS's too."""
    t2, t16 = throughput("ticket", 2), throughput("ticket", 16)
    m2, m16 = throughput("mcs", 2), throughput("mcs", 16)
    assert t16[1] > 6 * t2[1] and t16[1] > 2 * m16[1], (t2, t16, m16)
    assert m16[1] < 1.5 * m2[1], (m2, m16)
    assert t16[0] > t2[0] / 1.5 and m16[0] > m2[0] / 1.5, (t2, t16, m2, m16)


def test_ticket_lock_collapses_in_the_limit_case_and_mcs_does_not():
    """The what-if where each transfer holds the line's home for its whole latency (AMD's home
    waiting for SrcDone; "Non-scalable locks are dangerous", 2012, saw the collapse on real
    machines): the waiters' re-reads then queue one whole transfer after another, ahead of the
    next owner's, so ticket's throughput at 16 cores falls far below 2 cores'; MCS's does not."""
    limit = {"home_occupancy": 100_000}  # the largest a latency may be (params.MAX_CYCLES)
    t2, t16 = throughput("ticket", 2, **limit), throughput("ticket", 16, **limit)
    m2, m16 = throughput("mcs", 2, **limit), throughput("mcs", 16, **limit)
    assert t16[0] < t2[0] / 3, (t2, t16)
    assert m16[0] > m2[0] * 0.5, (m2, m16)
    assert t16[1] > 8 * t2[1] and t16[1] > 3 * m16[1], (t2, t16, m16)


def test_rwsem_readers_share_and_writers_exclude():
    m = Machine(HardwareParams.preset("amd16"))
    s = Struct(m, "mm", {"mmap_sem": ["count", ("wait_list", 2)], "data": ["value"]})
    sem = RWSemaphore("mm.mmap_sem", m, s["count"], s["wait_list", 0], 1000, 1500)
    log = []

    def reader(core):
        for _ in range(10):
            yield from sem.down_read(core)
            log.append(("r", core.local, (yield from core.load(s["value"]))))
            yield from core.compute(40)
            yield from sem.up_read(core)

    def writer(core):
        for i in range(5):
            yield from sem.down_write(core)
            yield from core.store(s["value"], -1)
            yield from core.compute(40)
            yield from core.store(s["value"], i)
            yield from sem.up_write(core)
            yield from core.compute(200)

    for c in range(1, 8):
        m.spawn(c, reader)
    m.spawn(0, writer)
    m.run()
    assert all(v != -1 for kind, _, v in log), "a reader saw a write half done"
    assert m.memory.values[s["count"]] == 0
    assert m.memory.values[s["wait_list", 0]] == m.memory.values[s["wait_list", 1]] == 0
    assert sem.stats.acquisitions == 75
    assert sem.stats.contentions > 0 and not sem._woken  # some slept, every one was woken


@pytest.mark.parametrize("store_buffer", [0, 1])
@pytest.mark.parametrize("layout", ["one line", "three lines"])
def test_mcs_rw_lock_excludes_writers_from_readers(layout, store_buffer):
    """Readers never see a writer's half-done update, with the lock's words on one line or
    apart, and with store buffers: a writer raises `writer` and then reads `readers`, a
    reader the other way round, so under TSO the writer must fence between the two (else
    its load passes its store and both sides get in)."""
    m = Machine(HardwareParams.preset("amd16").replace(store_buffer=store_buffer))
    words = ["tail", "readers", "writer"]
    lines = {"lock": words} if layout == "one line" else {f"l{w}": [w] for w in words}
    s = Struct(m, "share", {**lines, "map": ["value"]})
    lock = MCSRWLock("share.lock", m, s["tail"], s["readers"], s["writer"])
    seen = []

    def reader(core):
        for _ in range(8):
            yield from lock.read_acquire(core)
            seen.append((yield from core.load(s["value"])))
            yield from lock.read_release(core)

    def writer(core):
        for _ in range(8):
            yield from lock.write_acquire(core)
            yield from core.store(s["value"], -1)
            yield from core.compute(30)
            yield from core.store(s["value"], core.id)
            yield from lock.write_release(core)

    for c in range(4):
        m.spawn(c, writer if c % 2 else reader)
    m.run()
    assert -1 not in seen
    assert [m.memory.values[s[f]] for f in ("readers", "writer", "tail")] == [0, 0, 0]


def test_mcs_rw_lock_needs_its_fence_under_tso():
    """The race the fence closes, set up on purpose: the lock's words on lines of their own,
    each already cached by both cores, then a writer and a reader arrive together (the
    reader later by 0 to 300 cycles). With store buffers and no fence, some skew lets the
    writer read `readers` = 0 from its copy while its raised `writer` is still in flight,
    and the reader read `writer` = 0 from its own copy: both inside. With the fence, never."""
    assert [skew for skew in range(0, 300, 7) if both_get_in(skew)] == []


def both_get_in(skew):
    """One writer and one reader race for an MCS rw lock whose words both cores hold: were
    they ever inside together?"""
    m = Machine(HardwareParams.preset("amd16").replace(store_buffer=1))
    s = Struct(m, "share", {"t": ["tail"], "r": ["readers"], "w": ["writer"]})
    lock = MCSRWLock("share.lock", m, s["tail"], s["readers"], s["writer"])
    inside = {}

    def warm(core):
        for word in ("tail", "readers", "writer"):
            yield from core.load(s[word])

    def enter(core, acquire, release, wait):
        yield from core.compute(wait)
        yield from acquire(core)
        inside[core.id] = core.local
        yield from core.compute(500)
        yield from release(core)

    m.spawn(0, warm)
    m.spawn(1, warm)
    m.run()
    m.spawn(0, enter, lock.write_acquire, lock.write_release, 0)
    m.spawn(1, enter, lock.read_acquire, lock.read_release, skew)
    m.run()
    return abs(inside[0] - inside[1]) < 500


def test_releasing_a_lock_not_held_is_a_kernel_bug():
    m, s, lock = setup("ticket", "tiny")

    def program(core):
        yield from lock.release(core)

    m.spawn(0, program)
    with pytest.raises(RuntimeError, match="does not hold"):
        m.run()


def test_a_stream_of_readers_does_not_starve_a_writer():
    """Eight cores take mmap_sem for reading over and over; one writer asks early. Linux's
    rwsem lets the writer in once the readers already inside leave (its bias stops new ones),
    long before the readers are done."""
    m = Machine(HardwareParams.preset("amd16"))
    s = Struct(m, "mm", {"mmap_sem": ["count", ("wait_list", 2)]})
    sem = RWSemaphore("mm.mmap_sem", m, s["count"], s["wait_list", 0], 1000, 1500)
    got_in, readers_done = [], []

    def reader(core):
        for _ in range(60):
            yield from sem.down_read(core)
            yield from core.compute(100)
            yield from sem.up_read(core)
        readers_done.append(core.local)

    def writer(core):
        yield from core.compute(500)
        yield from sem.down_write(core)
        got_in.append(core.local)
        yield from sem.up_write(core)

    for c in range(1, 9):
        m.spawn(c, reader)
    m.spawn(0, writer)
    m.run()
    assert got_in and got_in[0] < min(readers_done) / 4, (got_in, min(readers_done))


def sleeping_rwsem(preset):
    m = Machine(HardwareParams.preset(preset))
    s = Struct(m, "mm", {"mmap_sem": ["count", ("wait_list", 2)]})
    return m, s, RWSemaphore("mm.mmap_sem", m, s["count"], s["wait_list", 0], 1000, 1500)


def test_a_reader_sleeps_behind_a_writer_by_hand():
    """tiny (121 a transfer, 200 DRAM, +20 an atomic, 3 an L1 hit); wake-up 1000 cycles on the
    waker, 1500 on the woken core. Core 0 writes from 0; core 1 asks to read at 500.
      core 0: down_write: one atomic, a DRAM miss: in at 220 (uncontended); holds 1000.
      core 1: atomic, line from core 0: 500+121+20 = 641, count < 0: the slow path. Its
        waiter (a new line) from DRAM: 841, two more stores 847; wait_lock: atomic hit 23 and
        a load: 873; link at the tail (load last, store first, store last): 882; count:
        active -> waiting, atomic 905 (someone is still active: no wake); unlock (load,
        store) 911; load its waiter's task (3): 914, not cleared: it sleeps.
      core 0 at 1220: up_write, atomic with the line from core 1: 1361; the count shows a
        waiter: rwsem_wake. wait_lock (23 + 3): 1387; load first 1390; claim an active slot
        (atomic) 1413; load first 1416; the waiter's flags from core 1's cache 1537 (a
        reader); its next (hit) 1540: none, so one reader; its waiting bias -> active
        (atomic) 1563; unlink: load next, store first, store last 1572; clear its task, an
        upgrade that invalidates core 1's copy: 1693; wake_up_process 1000: 2693, the wake;
        unlock (load, store): out at 2699.
      core 1 wakes at 2693, switches in (1500) 4193, loads its task from core 0: 4314: in.
        up_read: atomic from core 0 (4455); count 1 -> 0, no waiter: no wake.
    lock_stat: waited 220 + (4314 - 500); held 1000 (core 0); wait_lock taken twice, never
    contended, held 905-873 by core 1 and 2693-1387 by core 0."""
    m, s, sem = sleeping_rwsem("tiny")
    times = {}

    def writer(core):
        yield from sem.down_write(core)
        times["w_in"] = core.local
        yield from core.compute(1000)
        yield from sem.up_write(core)
        times["w_out"] = core.local

    def reader(core):
        yield from core.compute(500)
        yield from sem.down_read(core)
        times["r_in"] = core.local
        yield from sem.up_read(core)
        times["r_out"] = core.local

    m.spawn(0, writer)
    m.spawn(1, reader)
    m.run()
    assert times == {"w_in": 220, "w_out": 2699, "r_in": 4314, "r_out": 4455}
    assert sem.stats.as_dict() == {
        "name": "mm.mmap_sem",
        "acquisitions": 2,
        "contentions": 1,
        "wait_cycles": 220 + 4314 - 500,
        "hold_cycles": 1000,
    }
    assert (sem.wait_lock.stats.contentions, sem.wait_lock.stats.wait_cycles) == (0, 26 + 26)
    assert sem.wait_lock.stats.hold_cycles == (905 - 873) + (2693 - 1387)
    assert m.memory.values[s["count"]] == 0


def test_waiters_are_granted_in_order_readers_at_the_head_together():
    """Core 0 writes; while it holds the semaphore, cores 1 and 2 ask to read and then core 3
    to write. Linux's FIFO grant: when core 0 leaves, the two readers at the head get it
    together (one wake-up pass); the writer next, alone, once both have left."""
    m, s, sem = sleeping_rwsem("duo")
    spans = {}

    def user(core, start, write):
        yield from core.compute(start)
        yield from (sem.down_write if write else sem.down_read)(core)
        begin = core.local
        yield from core.compute(3000)
        spans[core.id] = (begin, core.local)
        yield from (sem.up_write if write else sem.up_read)(core)

    for core, start, write in ((0, 0, True), (1, 1000, False), (2, 2000, False), (3, 3000, True)):
        m.spawn(core, user, start, write)
    m.run()
    assert spans[0][1] < min(spans[1][0], spans[2][0])
    assert max(spans[1][0], spans[2][0]) < min(spans[1][1], spans[2][1])  # inside together
    assert spans[3][0] > max(spans[1][1], spans[2][1])
    assert sem.stats.contentions == 3 and m.memory.values[s["count"]] == 0
