"""Devices by hand: DMA writes, interrupts, the NIC's rings, one connection through Linux's shared
stack, and one system call through a Corey ring with every line transfer accounted for."""

import random

import pytest

from coreylab.hardware import HardwareParams, Machine
from coreylab.kernel import CoreyKernel, Errno, KernelError, LinuxKernel
from coreylab.kernel.devices import (
    FLAG,
    INUSE,
    SLOTS,
    SYS_DEVICE_BUF,
    SYS_NULL,
    ConnRef,
    NetParams,
)
from coreylab.kernel.jnic import IN, OUT
from coreylab.kernel.nic import DD, NB_DONE, SYN, Driver, Packet
from coreylab.trace import Trace
from coreylab.workloads import run_call
from coreylab.workloads.network import closed_loop, open_loop


def machine(preset="tiny", **changes):
    hw = HardwareParams.preset(preset).replace(**changes) if changes else None
    return Machine(hw or HardwareParams.preset(preset), trace=Trace())


def run(m, programs):
    """Spawn {core: program(core)} and run until nothing is left to happen."""
    procs = {c: m.spawn(c, p) for c, p in programs.items()}
    m.run()
    return {c: p.value for c, p in procs.items() if not p.is_alive}


# -- the hardware hook and the card --------------------------------------------------------------
def test_dma_write_invalidates_cached_copies_and_wakes_a_spinner():
    """A card's DMA write reaches memory, not a cache: every cached copy of the line is
    invalidated, so a core spinning on it wakes and reads the new value from DRAM."""
    m = machine()
    addr = m.memory.alloc(64, 0, "ring")
    line = m.line_of(addr)

    def spinner(core):
        value = yield from core.spin_until(addr, lambda v: v == 7)
        return value, core.local

    def card():
        yield m.env.timeout(500)
        m.dma_write({addr: 7})

    m.env.process(card())
    value, when = run(m, {0: spinner})[0]
    assert value == 7
    assert when >= 500 + m.params.dram_latency  # woken at 500, then a miss to DRAM
    assert m.counters().lines[line].invalidations == 1
    dma = [r for r in m.trace if r.kind == "dma"]
    assert [(r.line, r.invalidated) for r in dma] == [(line, (0,))]


def test_a_dma_write_reaches_cached_copies_a_lookahead_after_it_is_issued():
    """The card writes at 1,000; a core holding the line keeps reading its copy (the old
    value) until the write reaches it at 1,000 + lookahead, then misses and reads the new one
    from DRAM, whatever else is scheduled meanwhile (a 7-cycle timer changes nothing)."""

    def reads(timer: bool) -> list[tuple[int, int]]:
        m = machine()
        addr = m.memory.alloc(64, 0, "ring")
        seen = []

        def reader(core):
            yield from core.load(addr)  # cached from here on
            yield from core.compute(1000 - core.local)
            for _ in range(60):
                before = core.local
                seen.append((before, (yield from core.load(addr))))
                yield from core.compute(5)

        def card():
            yield m.env.timeout(1000)
            m.dma_write({addr: 7})

        def ticks(env):
            for _ in range(300):
                yield env.timeout(7)

        m.env.process(card())
        if timer:
            m.env.process(ticks(m.env))
        run(m, {0: reader})
        return seen

    seen = reads(timer=False)
    lands = 1000 + machine().params.lookahead
    assert all(v == 0 for t, v in seen if t < lands) and seen[0][0] < lands
    assert all(v == 7 for t, v in seen if t >= lands) and seen[-1][0] >= lands
    assert reads(timer=True) == seen


def test_full_receive_ring_keeps_packets_on_the_card_in_order():
    """With 4 descriptors and 10 packets, the card holds 6 in its FIFO; each time the driver
    hands descriptors back (an MMIO write), the card fills them: nothing is lost or reordered."""
    m = machine()
    params = NetParams(ring_size=4)
    k = CoreyKernel(m)
    k.net_params(params)
    nic = k.nic_attach(0)
    driver = Driver(nic, 0, shared=False)
    flows = [nic.new_flow() for _ in range(10)]
    for flow in flows:
        nic.receive(Packet(SYN, flow))
    assert (nic.rx_free, len(nic.fifo)) == (0, 6)

    def drain(core):
        got = []
        while len(got) < 10:
            got += yield from driver.rx_poll(core, 64)
            yield from core.compute(1000)  # let the card act on the MMIO write
        return got

    got = run(m, {0: drain})[0]
    assert [p.flow for p in got] == flows
    assert (nic.rx_free, len(nic.fifo), nic.received) == (4, 0, 10)


def test_open_loop_arrivals_come_at_the_asked_rate():
    """Open loop: connection requests arrive at a rate (Poisson), whatever the server does."""
    m = machine()
    k = CoreyKernel(m)
    nic = k.nic_attach(0)
    open_loop(nic, rate=2_000_000, hw=m.params, rng=random.Random(5))
    m.env.run(until=1_000_000)  # half a millisecond: about 1000 connections
    syns = nic.received + len(nic.fifo) + nic.dropped  # nobody serves: the card drops most
    assert 850 < syns < 1150 and nic.dropped == syns - nic.params.ring_size - len(nic.fifo)


# -- Linux: interrupts and one connection through the shared stack -------------------------------
def test_interrupt_reaches_the_chosen_core():
    """A card routed to core 3 interrupts core 3 only; core 3's kernel handles the SYN there
    (a request in the listener's SYN queue, a SYN-ACK sent), its rings on core 3's chip."""
    m = machine("duo")
    k = LinuxKernel(m)
    tasks = [k.create_process(c) for c in range(4)]
    nic = k.nic_attach(irq_core=3)
    assert nic.chip == m.params.chip_of(3) == 1
    flow = nic.new_flow()
    nic.receive(Packet(SYN, flow))
    assert [bool(p) for p in k.irqs.pending] == [False, False, False, True]
    m.spawn(3, lambda core: k.irq_loop(tasks[3]))
    m.run()
    assert k.irqs.taken == [0, 0, 0, 1]
    assert flow in k.stack.listener.requests and nic.sent == 1
    assert not nic.irq_masked  # NAPI unmasked it again after polling


def test_interrupt_entry_cost_is_paid_once_per_interrupt():
    """The interrupt-entry parameter is instruction work on the interrupted core: raising it by
    1000 cycles makes handling one packet end exactly 1000 cycles later."""

    def handled_by(irq_entry_cycles):
        m = machine("duo")
        k = LinuxKernel(m)
        k.net_params(NetParams(irq_entry_cycles=irq_entry_cycles))
        task = k.create_process(1)
        nic = k.nic_attach(1)
        nic.receive(Packet(SYN, nic.new_flow()))
        m.spawn(1, lambda core: k.irq_loop(task))
        m.run()
        return m.cores[1].local

    assert handled_by(1600) - handled_by(600) == 1000


def one_linux_connection():
    m = machine()
    k = LinuxKernel(m)
    task = k.create_process(0)
    nic = k.nic_attach(0)
    closed_loop(nic, 1, random.Random(1), count=1)
    listener = k.net_listener(task)

    def server(core):
        conn = yield from k.accept(task, listener)
        before = dict(m.memory.values)
        with pytest.raises(KernelError) as bad:
            yield from k.write(task, conn, 0)
        assert bad.value.errno == Errno.EINVAL and m.memory.values == before
        yield from k.write(task, conn, 128)
        yield from k.close(task, conn)
        return conn

    conn = run(m, {0: server})[0]
    return m, k, task, nic, conn


def test_one_linux_connection_takes_the_listen_lock_six_times_and_cleans_up():
    """The process sleeps in accept before the SYN arrives, so the listener's lock is taken 6
    times: accept (lock_sock, release_sock) before sleeping; the SYN and the ACK softirqs
    (bh_lock_sock) on this core while it sleeps; accept again after the wake-up (2). After close
    every shared counter is back to zero."""
    m, k, task, nic, conn = one_linux_connection()
    stats = {s["name"]: s for s in k.lock_stats()}
    assert stats["tcp.listen.slock"]["acquisitions"] == 6
    assert stats["tcp.listen.slock"]["contentions"] == 0
    values, stack = m.memory.values, k.stack
    for addr in (stack.globals["sockets_allocated"], stack.globals["orphan_count"],
                 stack.globals["memory_allocated"], stack.bind["count"], stack.route["refcnt"],
                 stack.listener.s["refcnt"], stack.listener.s["qlen"],
                 stack.listener.s["ack_backlog"], stack.listener.s["sleepers"]):  # fmt: skip
        assert values.get(addr, 0) == 0
    assert not stack.conns and not stack.listener.queue and not stack.listener.requests
    assert (nic.received, nic.sent) == (2, 3)  # SYN, ACK in; SYN-ACK, data, FIN out
    assert k.irqs.taken[0] >= 1


def test_linux_errors_change_nothing():
    """A closed connection is EBADF for write and close; a socket that is not the listener is
    EINVAL for accept; none of them writes a word of memory."""
    m, k, task, nic, conn = one_linux_connection()
    before = dict(m.memory.values)
    for call, args in ((k.write, (conn, 128)), (k.close, (conn,)), (k.recv, (conn,))):
        with pytest.raises(KernelError) as e:
            run_call(task, call, *args)
        assert e.value.errno == Errno.EBADF
    with pytest.raises(KernelError) as e:
        run_call(task, k.accept, object())
    assert e.value.errno == Errno.EINVAL
    with pytest.raises(KernelError) as e:
        run_call(task, k.recv, ConnRef(0, 999))
    assert e.value.errno == Errno.EBADF
    assert m.memory.values == before


def test_linux_write_of_a_file_descriptor_still_reaches_the_file_layer():
    """`write`/`close` given an fd, not a connection, are the file layer's calls."""
    m = machine()
    k = LinuxKernel(m)
    task = k.create_process(0)
    fd = run_call(task, k.open, "/tmp/a")
    assert run_call(task, k.write, fd, 64) == 64
    run_call(task, k.close, fd)


# -- Corey: rings and kernel cores -------------------------------------------------------------
def ring_machine(preset="tiny"):
    m = machine(preset)
    k = CoreyKernel(m)
    kt, app = k.create_pcore(0), k.create_pcore(1)
    kcore = run_call(kt, k.kcore_start, [])
    ring = k.sysmon_attach(app, kcore)
    return m, k, kt, app, kcore, ring


def test_network_parameters_are_fixed_once_a_card_or_a_kernel_core_exists():
    """Cards and kernel cores are made with the parameters of the moment: changing them later
    is refused (EINVAL) and leaves the old ones in place."""
    first, second = NetParams(ring_size=4), NetParams(ring_size=8)
    linux = LinuxKernel(machine())
    linux.net_params(first)
    linux.nic_attach(0)
    with pytest.raises(KernelError) as err:
        linux.net_params(second)
    assert err.value.errno == Errno.EINVAL and linux.net.nparams is first
    m, k, kt, app, kcore, ring = ring_machine()
    with pytest.raises(KernelError) as err:
        k.net_params(second)
    assert err.value.errno == Errno.EINVAL and k.devices.nparams is kcore.nparams


def ring_traffic(m, ring):
    """(transfers, upgrades) on the ring's lines so far, from the trace."""
    lines = set(ring.s.lines["slots"])
    recs = [r for r in m.trace if r.line in lines and r.kind in ("load", "store", "atomic")]
    return (
        [(r.core, r.line - ring.s.lines["slots"][0]) for r in recs if "cache" in r.source],
        [(r.core, r.line - ring.s.lines["slots"][0]) for r in recs if r.source == "upgrade"],
    )


def test_one_call_through_a_ring_moves_three_lines():
    """Slot 0 is 80 bytes: its sc_num and arguments on ring line 0, its ret and flag on line 1.
    1. The application (core 1) takes slot 0 and writes the call: lines 0 and 1 come from DRAM
       into its cache, Modified; no transfer.
    2. The kernel core (core 0) reads the flag (line 1 moves to it: transfer 1), clears
       KERN_CALL (an upgrade: the application's copy is invalidated), reads sc_num (line 0:
       transfer 2), runs the call and writes ret and the flag (hits: it holds line 1).
    3. The application reads the flag (line 1 back: transfer 3), then ret (a hit) and frees
       the slot (an upgrade: the kernel core's copy is invalidated).
    Three transfers and two upgrades in all, every one explained."""
    m, k, kt, app, kcore, ring = ring_machine()
    slot = run_call(app, k.ring_submit, SYS_NULL)
    assert slot == 0 and ring_traffic(m, ring) == ([], [])
    m.spawn(0, lambda core: k.monitor(kt))
    m.run()  # the kernel core serves slot 0, then spins on slot 1's flag
    assert ring_traffic(m, ring) == ([(0, 1), (0, 0)], [(0, 1)])
    assert run_call(app, k.ring_wait, slot) == 0  # SYS_NULL: the kernel core's core id
    assert ring_traffic(m, ring) == ([(0, 1), (0, 0), (1, 1)], [(0, 1), (1, 1)])
    assert m.memory.values[ring.word(0, FLAG)] == 0 and m.memory.values[ring.kern["next_slot"]] == 1


def test_the_kernel_core_runs_slots_in_ring_order_and_reports_errors():
    """Three calls queued before the kernel core looks: it runs them in order; the unknown one
    comes back as EINVAL to the caller, and the others are unaffected."""
    m, k, kt, app, kcore, ring = ring_machine()
    slots = [run_call(app, k.ring_submit, n) for n in (SYS_NULL, 99, SYS_NULL)]
    assert slots == [0, 1, 2]
    m.spawn(0, lambda core: k.monitor(kt))
    m.run()
    assert run_call(app, k.ring_wait, 0) == 0
    with pytest.raises(KernelError) as e:
        run_call(app, k.ring_wait, 1)
    assert e.value.errno == Errno.EINVAL and "99" in str(e.value)
    assert run_call(app, k.ring_wait, 2) == 0
    assert m.memory.values[ring.kern["next_slot"]] == 3


def test_a_full_ring_is_ebusy_and_changes_nothing():
    """With no kernel core serving it, the 52nd call finds slot 0 still in use: EBUSY."""
    m, k, kt, app, kcore, ring = ring_machine()
    for _ in range(SLOTS):
        run_call(app, k.ring_submit, SYS_NULL)
    assert m.memory.values[ring.word(0, FLAG)] & INUSE
    before = dict(m.memory.values)
    with pytest.raises(KernelError) as e:
        run_call(app, k.ring_submit, SYS_NULL)
    assert e.value.errno == Errno.EBUSY
    assert m.memory.values == before


def test_corey_access_errors_change_nothing():
    """Devices are kernel objects reached through shares: a pcore cannot drive a card in
    another pcore's share (EACCES), nor one its share lacks (ENOENT); unknown cards are ENOENT,
    non-devices EINVAL; a pcore with no kernel core cannot accept."""
    m = machine("duo")
    k = CoreyKernel(m)
    a, b = k.create_pcore(0), k.create_pcore(1)
    nic = k.nic_attach(0)
    dev = run_call(a, k.device_alloc, nic.id)
    seg = run_call(a, k.kobject_alloc, None, "segment")
    objects, before = dict(k.kobjects), dict(m.memory.values)
    cases = [
        (Errno.ENOENT, a, k.device_alloc, (7,)),
        (Errno.EEXIST, a, k.device_alloc, (nic.id,)),
        (Errno.EACCES, b, k.kcore_start, ([(k.root_share(a), dev)],)),
        (Errno.ENOENT, b, k.kcore_start, ([(k.root_share(b), dev)],)),
        (Errno.EINVAL, a, k.kcore_start, ([(k.root_share(a), seg)],)),
    ]
    for errno, task, call, args in cases:
        with pytest.raises(KernelError) as e:
            run_call(task, call, *args)
        assert e.value.errno == errno, (call.__name__, e.value)
    assert k.kobjects == objects and not k.kcores
    assert all(m.memory.values.get(a_, 0) == v for a_, v in before.items())
    with pytest.raises(KernelError) as e:
        k.net_listener(b)
    assert e.value.errno == Errno.EINVAL
    with pytest.raises(KernelError):
        k.sysmon_attach(b, object())


def test_a_dedicated_kernel_core_serves_a_connection_and_refuses_a_second_close():
    """Dedicated: the application's accept, write and close go through its ring to core 0,
    which runs the whole stack; no interrupt is ever taken. Closing twice is EBADF, from the
    kernel core through the ring."""
    m = machine()
    k = CoreyKernel(m)
    kt, app = k.create_pcore(0), k.create_pcore(1)
    nic = k.nic_attach(0)
    dev = run_call(kt, k.device_alloc, nic.id)
    kcore = run_call(kt, k.kcore_start, [(k.root_share(kt), dev)])
    k.sysmon_attach(app, kcore)
    closed_loop(nic, 1, random.Random(2), count=1)

    def server(core):
        conn = yield from k.accept(app, k.net_listener(app))
        yield from k.write(app, conn, 128)
        yield from k.close(app, conn)
        with pytest.raises(KernelError) as e:
            yield from k.close(app, conn)
        assert e.value.errno == Errno.EBADF
        return conn

    m.spawn(0, lambda core: k.monitor(kt))
    conn = run(m, {1: server})[1]
    assert conn.stack == kt.id and not kcore.stack.conns
    assert (nic.received, nic.sent) == (2, 3) and not any(k.irqs.taken)


def corey_pair(nparams=None):
    """Core 0 a kernel core with no stack driving card 0; core 1 an application with a ring
    to it and its own stack over its buffers for that card (Corey's TCP layout on tiny)."""
    m = machine()
    k = CoreyKernel(m)
    if nparams is not None:
        k.net_params(nparams)
    kt, app = k.create_pcore(0), k.create_pcore(1)
    nic = k.nic_attach(0)
    dev = run_call(kt, k.device_alloc, nic.id)
    kcore = run_call(kt, k.kcore_start, [(k.root_share(kt), dev)], False)
    ring = k.sysmon_attach(app, kcore)
    host = k.jnic_attach(app, nic)
    return m, k, kt, app, kcore, ring, host, nic


def corey_layout(conns, nparams=None):
    """Corey's TCP layout on tiny (`corey_pair`); one client, `conns` connections served."""
    m, k, kt, app, kcore, ring, host, nic = corey_pair(nparams)
    closed_loop(nic, 1, random.Random(2), count=conns)

    def server(core):
        for _ in range(conns):
            conn = yield from k.accept(app, k.net_listener(app))
            yield from k.write(app, conn, 128)
            yield from k.close(app, conn)

    m.spawn(0, lambda core: k.monitor(kt))
    run(m, {1: server})
    return m, k, kcore, ring, host, nic


def test_corey_layout_one_connection_is_five_posted_slots_and_the_stack_stays_home():
    """One connection through Corey's layout, counted by hand: the card receives 2 packets
    (SYN, ACK) and sends 3 (SYN-ACK, data, FIN); each received buffer is fed back and each sent
    one handed over by one posted device_buf call, so the kernel core runs exactly 5 ring slots
    (2 in, 3 out) and frees each (flag 0). Every buffer is back where it started (64 receive
    buffers with the card, every transmit buffer done). The kernel core never touches a line of
    the application's stack; the application never touches the card's descriptors or the
    driver's lines."""
    m, k, kcore, ring, host, nic = corey_layout(1)
    values = m.memory.values
    assert (nic.received, nic.sent) == (2, 3)
    assert values[ring.kern["next_slot"]] == values[ring.user["next_slot"]] == 5
    ops = [(values[ring.word(s, 0)], values[ring.word(s, 1)]) for s in range(5)]
    assert sorted(ops) == [(SYS_DEVICE_BUF, IN)] * 2 + [(SYS_DEVICE_BUF, OUT)] * 3
    assert all(values.get(ring.word(s, FLAG), 0) == 0 for s in range(SLOTS))
    driver, jnic = kcore.drivers[0], ring.jnic
    assert (driver.rx_pending, driver.tx_pending, nic.rx_free) == (64, 0, 64)
    assert all(values[b] & NB_DONE for b in jnic.tx[:3]) and not host.stack.conns
    assert kcore.stack is None and not any(k.irqs.taken)
    kernel_lines = {r.label for r in m.trace if r.core == 0 and r.kind != "dma"}
    app_lines = {r.label for r in m.trace if r.core == 1 and r.kind != "dma"}
    assert not any(".lwip." in lbl for lbl in kernel_lines)
    assert not any(lbl.startswith(("nic0.", "e1000_0.")) for lbl in app_lines)


def kernel_core_traffic(m, groups):
    """The kernel core's (core 0's) transactions on the lines of `groups` (name -> that
    group's lines), in order: (name, line index in the group, kind, source)."""
    where = {ln: (name, i) for name, lines in groups.items() for i, ln in enumerate(lines)}
    kinds = ("load", "store", "atomic")
    return [(*where[r.line], r.kind, r.source) for r in m.trace
            if r.core == 0 and r.line in where and r.kind in kinds]  # fmt: skip


def test_one_sent_packet_costs_the_kernel_core_three_transfers_an_upgrade_and_two_misses():
    """One packet the application sends through Corey's layout, every kernel-core
    transaction on the shared lines derived by hand (tiny: one chip, so a line another core
    holds comes from "same-chip-cache"; a line nobody holds from DRAM).
    1. The application (core 1) writes the packet into its transmit buffer 0 (one line: the
       header word, then the packet) and posts `device_buf(OUT, 0)` in ring slot 0. Slot 0 is
       80 bytes: sc_num and arguments on ring line 0, ret and flag on line 1. All of these
       lines are Modified in core 1's cache.
    2. The kernel core (core 0) reads slot 0's flag (ring line 1 comes over: transfer 1),
       clears KERN_CALL (an upgrade: core 1's copy is invalidated), reads sc_num and the two
       arguments (ring line 0: transfer 2), and frees the slot at once (flag 0: a hit), as
       sysmon.c does for a call nobody waits for. Then it looks at slot 1's flag (word 19:
       ring line 2, never written, so from DRAM; its later polls of it are hits until the
       application writes there).
    3. e1000_add_txbuf writes transmit descriptor 0 (the ring's line 0, never cached: from
       DRAM) and the card's tail register; the card sends and DMA-writes the descriptor's done
       bit, which invalidates the kernel core's copy of that line.
    4. The next poll reads the descriptor's status (from DRAM again: miss 2 on that line) and
       marks the buffer done in its header (the buffer's line is in core 1's cache:
       transfer 3).
    So per sent packet: three lines move between the two cores, one upgrade, two misses on the
    descriptor's line; nothing else of the application's is touched."""
    m, k, kt, app, kcore, ring, host, nic = corey_pair()
    jnic = ring.jnic
    run_call(app, lambda t: jnic.xmit(t.core, Packet(SYN, 7)))
    m.spawn(0, lambda core: k.monitor(kt))
    m.run()
    assert (nic.sent, m.memory.values[jnic.tx[0]]) == (1, NB_DONE)
    groups = {"slots": ring.s.lines["slots"], "desc": nic.tx.lines["desc"],
              "txbuf": jnic.s.lines["tx"]}  # fmt: skip
    traffic = kernel_core_traffic(m, groups)
    cache, dram = "same-chip-cache", "dram-local"
    assert traffic == [
        ("slots", 1, "load", cache),
        ("slots", 1, "store", "upgrade"),
        ("slots", 0, "load", cache),
        ("desc", 0, "store", dram),
        ("slots", 2, "load", dram),
        ("desc", 0, "load", dram),
        ("txbuf", 0, "store", cache),
    ]


def test_a_posted_call_finds_its_slot_already_free_when_it_runs():
    """sysmon.c frees the slot of a call nobody waits for (clears KERN_CALL and INUSE) once
    it has copied the arguments, before running it: by the time e1000_add_txbuf runs, the
    application may already reuse the slot, and the kernel core writes the flag's line no
    more after the call."""
    m, k, kt, app, kcore, ring, host, nic = corey_pair()
    driver, seen = kcore.drivers[0], []
    add_txbuf = driver.add_txbuf

    def watching(core, buf):
        seen.append(m.memory.values[ring.word(0, FLAG)])
        yield from add_txbuf(core, buf)

    driver.add_txbuf = watching
    run_call(app, lambda t: ring.jnic.xmit(t.core, Packet(SYN, 7)))
    m.spawn(0, lambda core: k.monitor(kt))
    m.run()
    assert seen == [0]


def test_the_kernel_core_pays_descriptor_steps_and_the_application_its_buffers():
    """One connection (2 packets in, 3 out), every driver step counted by hand. The kernel
    core runs Corey's e1000: per packet two descriptor steps, one when it hands the card a
    descriptor (2 receive buffers fed back, 3 transmit buffers handed over) and one when it
    takes it back (2 received, 3 sent): 10 steps. The buffer work (lwIP's jif: pbuf_alloc and
    the copy) is the application's, once per packet: 5. Linux's e1000 does all three steps
    per packet on the core that runs it (`packet_driver_cycles`). Distinct costs make each
    step recognisable in the cores' compute calls."""
    from coreylab.hardware.core import Core

    calls, compute = [], Core.compute

    def counting(self, cycles):
        calls.append((self.id, cycles))
        return compute(self, cycles)

    nparams = NetParams(driver_desc_cycles=37, netbuf_cycles=151)
    Core.compute = counting
    try:
        corey_layout(1, nparams)
    finally:
        Core.compute = compute
    assert [calls.count((c, 37)) for c in (0, 1)] == [10, 0]
    assert [calls.count((c, 151)) for c in (0, 1)] == [0, 5]
    assert nparams.packet_driver_cycles == 2 * 37 + 151


def test_the_kernel_core_s_loop_accounts_for_every_cycle_once():
    """`KernelCore.cycles` splits the monitor loop's time into polling the cards, serving the
    rings, running the calls the slots ask for, and spinning idle: over a run the four add up
    to the kernel core's clock exactly (its last spin, which never ends, is not counted and
    does not move the clock). One connection: 5 calls (2 buffers fed back, 3 handed over)."""
    m, k, kt, app, kcore, ring, host, nic = corey_pair()
    closed_loop(nic, 1, random.Random(2), count=1)

    def server(core):
        conn = yield from k.accept(app, k.net_listener(app))
        yield from k.write(app, conn, 128)
        yield from k.close(app, conn)

    start = m.cores[0].local  # after the set-up calls core 0 made
    m.spawn(0, lambda core: k.monitor(kt))
    run(m, {1: server})
    spent = kcore.cycles
    assert set(spent) == {"cards", "rings", "calls", "idle"}
    assert sum(spent.values()) == m.cores[0].local - start
    assert all(spent[p] > 0 for p in ("cards", "rings", "calls"))


def test_corey_layout_serves_connection_after_connection():
    """Ten connections: 50 slots, one lap of the 51-slot ring less one; every buffer returns."""
    m, k, kcore, ring, host, nic = corey_layout(10)
    assert (nic.received, nic.sent) == (20, 30)
    assert m.memory.values[ring.kern["next_slot"]] == 50
    assert (kcore.drivers[0].rx_pending, kcore.drivers[0].tx_pending) == (64, 0)


def test_corey_layout_errors_change_nothing():
    """A stack-less kernel core runs no TCP call; a device_buf call naming no buffer is
    EINVAL; a second jnic_attach, or one without a ring, is refused."""
    m = machine()
    k = CoreyKernel(m)
    kt, app, other = k.create_pcore(0), k.create_pcore(1), k.create_pcore(0)
    nic = k.nic_attach(0)
    dev = run_call(kt, k.device_alloc, nic.id)
    kcore = run_call(kt, k.kcore_start, [(k.root_share(kt), dev)], False)
    with pytest.raises(KernelError):
        k.jnic_attach(app, nic)  # no ring yet
    ring = k.sysmon_attach(app, kcore)
    k.jnic_attach(app, nic)
    with pytest.raises(KernelError):
        k.jnic_attach(app, nic)
    k.sysmon_attach(other, kcore)
    with pytest.raises(KernelError) as e:
        k.net_listener(other)
    assert e.value.errno == Errno.EINVAL

    def calls(core):
        out = []
        for sysno, args in ((SYS_DEVICE_BUF, (OUT, 64)), (SYS_DEVICE_BUF, (7, 0))):
            slot = yield from k.ring_submit(app, sysno, *args)
            try:
                yield from k.ring_wait(app, slot)
            except KernelError as err:
                out.append(err.errno)
        return out

    m.spawn(0, lambda core: k.monitor(kt))
    before = (kcore.drivers[0].tx_pending, nic.sent)
    assert run(m, {1: calls})[1] == [Errno.EINVAL, Errno.EINVAL]
    assert (kcore.drivers[0].tx_pending, nic.sent) == before
    assert ring.jnic is not None


def test_a_polling_pcore_serves_its_own_card_inline():
    """Polling: the pcore is its own kernel core; accept polls the card itself."""
    m = machine()
    k = CoreyKernel(m)
    task = k.create_pcore(1)
    nic = k.nic_attach(0)
    dev = run_call(task, k.device_alloc, nic.id)
    run_call(task, k.kcore_start, [(k.root_share(task), dev)])
    closed_loop(nic, 2, random.Random(3), count=2)

    def server(core):
        for _ in range(4):
            conn = yield from k.accept(task, k.net_listener(task))
            yield from k.write(task, conn, 128)
            yield from k.close(task, conn)

    run(m, {1: server})
    assert (nic.received, nic.sent) == (8, 12)
    assert m.memory.values[nic.tx["d", 0]] & DD  # the card wrote its done bit back


def test_a_full_syn_queue_drops_syns():
    """With room for 2 pending handshakes, the third SYN is dropped: no request, no SYN-ACK."""
    m = machine()
    k = LinuxKernel(m)
    k.net_params(NetParams(syn_backlog=2))
    task = k.create_process(0)
    nic = k.nic_attach(0)
    for _ in range(3):
        nic.receive(Packet(SYN, nic.new_flow()))
    m.spawn(0, lambda core: k.irq_loop(task))
    m.run()
    assert len(k.stack.listener.requests) == 2 and k.stack.syn_dropped == 1
    assert nic.sent == 2
