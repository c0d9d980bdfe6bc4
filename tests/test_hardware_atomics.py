"""Atomics and spinning on the simulated amd16: the cost of sharing a cache line.

These are the lab's central facts, measured on the machine rather than assumed: a shared
counter loses no update, but from three cores on every increment moves the line to another
core (N transfers per round of N cores), so N cores take longer than one core alone; counters
on separate (padded) lines scale perfectly, and packing them into one line (false sharing)
brings the bouncing back.
A spinning core costs nothing until the line it watches changes, then sees the new value
one spin period and one miss later.
"""

from __future__ import annotations

import pytest

from coreylab.hardware import HardwareParams

ROUNDS = 40


def increment(core, addr, rounds):
    """`rounds` atomic increments of `addr`; the core's clock when done."""
    for _ in range(rounds):
        yield from core.fetch_add(addr, 1)
    return core.local


@pytest.mark.parametrize("n", [2, 3, 4, 8, 16])
def test_shared_counter_loses_no_update_and_moves_once_per_increment(amd16, run_programs, n):
    """N cores increment one counter R times each: the counter ends at N * R (the line is held
    exclusive for each read-modify-write). From three cores on, the line moves between caches
    once per increment, N times per round: while one core's copy is on its way, the others'
    requests are already queued behind it, so each copy stays for one increment. Exactly:
    the first increment fills the line from DRAM, and every later one finds it in another
    core's cache, unless that core still held it from its own previous increment; so
    transfers lie between N * R - N and N * R - 1. Two cores alone take turns in batches:
    each asks for the line back only once it has lost it, and its request reaches the holder
    a lookahead (121 cycles) later; a holder that got the line just before keeps it at most
    that long plus one increment (3 + 20 cycles), so at most 1 + (121 + 23) // 23 = 7
    increments a stay: at least 2 * R / 7 transfers."""
    m = amd16
    counter = m.memory.alloc(64, chip=0, label="counter")
    run_programs(m, {c: (increment, counter, ROUNDS) for c in range(n)})

    assert m.memory.values[counter] == n * ROUNDS
    stats = m.counters().lines[m.line_of(counter)]
    assert stats.fills == 1
    assert stats.hitm == stats.transfers  # the line is always dirty (M) when it moves
    fewest = n * ROUNDS - n if n > 2 else -(-2 * ROUNDS // 7)
    assert fewest <= stats.transfers <= n * ROUNDS - 1, (
        f"{stats.transfers} transfers for {n * ROUNDS} increments by {n} cores "
        f"({stats.transfers / ROUNDS:.2f} per round)"
    )


def run_counters(make_machine, run_programs, cores: int, packed: bool) -> int:
    """Cycles for `cores` cores to do R increments each, each on its own counter: a line per
    counter, homed on the core's own chip (padded), or all counters 4 bytes apart in one line
    (packed: 16 of them fill a 64-byte line)."""
    m = make_machine("amd16", log=False)
    if packed:
        line = m.memory.alloc(64, label="packed")
        addrs = [line + 4 * c for c in range(cores)]
    else:
        chip_of = m.params.chip_of
        addrs = [m.memory.alloc(64, chip=chip_of(c), label=f"padded[{c}]") for c in range(cores)]
    run_programs(m, {c: (increment, addrs[c], ROUNDS * 5) for c in range(cores)})
    assert all(m.memory.values[a] == ROUNDS * 5 for a in addrs)
    assert len({m.line_of(a) for a in addrs}) == (1 if packed else cores)
    run_counters.last_transfers = m.counters().total("transfers")
    return m.elapsed


@pytest.mark.parametrize("n", [2, 4, 8, 16])
def test_padded_counters_scale_and_packed_ones_do_not(make_machine, run_programs, n):
    """Each core increments its own counter. Padded to a line each, N cores finish in the time
    one core takes (within 3 %: only the first miss per core differs, which may queue at its
    chip's memory controller): N times the work per cycle. Packed into one line (false
    sharing), N cores do at most 1.2 times one core's increments per cycle, whatever N. Each
    transfer of the line is a new value that must follow the copy before it by the way back
    from that core (half a transfer, at least (121 + 1) // 2 = 61 cycles on one chip), so the
    run takes at least that long per transfer the machine counted."""
    one = run_counters(make_machine, run_programs, 1, packed=False)
    padded = run_counters(make_machine, run_programs, n, packed=False)
    packed = run_counters(make_machine, run_programs, n, packed=True)
    increments = n * ROUNDS * 5
    report = (
        f"{n} cores x {ROUNDS * 5} increments: one core {one} cycles, padded {padded} "
        f"({n * one / padded:.2f}x one core's throughput), packed {packed} "
        f"({n * one / packed:.2f}x)"
    )
    assert one <= padded <= one * 1.03, report
    assert n * one / packed <= 1.2, report
    transfers = run_counters.last_transfers
    if n > 2:
        assert transfers >= increments - n, report  # every increment moves the line
    shortest_leg = (HardwareParams.preset("amd16").same_chip_cache_latency + 1) // 2
    assert packed >= transfers * shortest_leg, report


# -- spinning -------------------------------------------------------------------------------------
@pytest.mark.parametrize("store_buffer", [0, 32])
@pytest.mark.parametrize("waiter", [1, 4, 8], ids=["same-chip", "1hop", "2hop"])
def test_spinning_core_sees_the_flag_one_poll_and_one_miss_after_it_is_set(
    make_machine, run_programs, waiter, store_buffer
):
    """Core `waiter` spins on a flag that core 0 sets after 2,000 cycles of work. The waiter
    does not run each poll; it sleeps until core 0's store invalidates its copy, then its
    next poll misses and fetches the line from core 0. So it finishes after the store has
    landed (its transfer ended; with a store buffer, when core 0's fence returns), by at most
    one spin period plus one miss from core 0's cache (same chip, one or two hops away); the
    polls it would have made are counted, one per spin period."""
    m = make_machine("amd16", store_buffer=store_buffer)
    p = m.params
    flag = m.memory.alloc(64, chip=0, label="flag")
    work = 2000

    def setter(core):
        yield from core.compute(work)
        yield from core.store(flag, 1)
        yield from core.fence()  # (free without a store buffer: the store has landed)
        return core.local

    def spinner(core):
        value = yield from core.spin_until(flag, lambda v: v != 0)
        return value, core.local

    done = run_programs(m, {0: setter, waiter: spinner})
    store_end = done[0]
    value, finished = done[waiter]
    hops = p.hops(p.chip_of(0), p.chip_of(waiter))
    miss = p.same_chip_cache_latency if hops == 0 else p.remote_cache_cycles(hops)
    assert value == 1
    assert store_end < finished <= store_end + p.spin_loop_cycles + miss, (
        f"store ended at {store_end}, the waiter finished at {finished}"
    )

    # The spinner's first load filled the line from DRAM; from then it polled until the store's
    # invalidation reached it, a lookahead after the store was issued.
    spin = [r for r in m.trace.records if r.kind == "spin"]
    assert len(spin) == 1 and spin[0].core == waiter
    polls = m.counters().cores[waiter].spin_polls
    assert polls == -(-(spin[0].t_end - spin[0].t_start) // p.spin_loop_cycles)
    first_load_end = next(r.t_end for r in m.trace.records if r.core == waiter)
    reached = work + p.lookahead
    assert polls == pytest.approx((reached - first_load_end) / p.spin_loop_cycles, abs=1)


@pytest.mark.parametrize("store_buffer", [0, 32])
def test_many_spinners_wake_together_and_take_the_line_one_at_a_time(
    make_machine, run_programs, store_buffer
):
    """Seven cores of two chips spin on one flag; core 0 sets it at cycle 3,000. The store
    invalidates every copy at once, reaching them a lookahead (121 cycles) later, so each
    spinner's wait ends at its first poll after that (within one spin period), its counted
    polls cover exactly its wait, and all then miss on the same line: their loads queue at
    the line's home, which takes one per `home_occupancy` (10 cycles), from the last poll
    (with a store buffer, not before core 0's store has landed: its home holds the line
    until then), and each is then a transfer from core 0 (121 cycles on its chip, 151 from
    the other): so all have seen the flag by then plus six occupancies plus 151."""
    m = make_machine("amd16", store_buffer=store_buffer)
    p = m.params
    flag = m.memory.alloc(64, chip=0, label="flag")
    release = 3000

    def setter(core):
        yield from core.compute(release)
        yield from core.store(flag, 1)
        yield from core.fence()
        return core.local

    def spinner(core):
        value = yield from core.spin_until(flag, lambda v: v == 1)
        return value, core.local

    spinners = [1, 2, 3, 4, 5, 6, 7]
    done = run_programs(m, {0: setter, **{c: spinner for c in spinners}})
    period, reached = p.spin_loop_cycles, release + p.lookahead
    spins = {r.core: r for r in m.trace.records if r.kind == "spin"}
    assert sorted(spins) == spinners
    for c in spinners:
        assert done[c][0] == 1
        assert reached <= spins[c].t_end < reached + period, spins[c]
        waited = spins[c].t_end - spins[c].t_start
        assert m.counters().cores[c].spin_polls == -(-waited // period)
    loads = [r for r in m.trace.records if r.kind == "load" and r.t_start >= release]
    starts = sorted(r.t_start + r.queued for r in loads)
    assert len(loads) == len(spinners)
    assert all(b - a >= p.home_occupancy for a, b in zip(starts, starts[1:], strict=False)), starts
    finished = sorted(end for _, end in (done[c] for c in spinners))
    first_start = max(spins[c].t_end for c in spinners)
    if store_buffer:
        first_start = max(first_start, done[0])
    latest = first_start + (len(spinners) - 1) * p.home_occupancy + p.remote_cache_cycles(1)
    assert done[0] < finished[0] and finished[-1] <= latest, (finished, latest)
    assert m.memory.values[flag] == 1
