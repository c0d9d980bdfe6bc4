"""The machine: cores, per-chip L3s, DRAM, the chip ring, and the coherence transactions.

What it models: a broadcast-style coherent multicore. Every miss or upgrade is one transaction,
processed at the simulated time the requesting core issues it (`Core` makes sure no other
agent can act before that time): the directory and the states change then, and the other
holders keep their copies until the request reaches them (`Core.lose`). The protocol table
decides each holder's next state and who supplies the data; the machine decides where the
data comes from when no cache supplies it (own chip's L3, another chip's L3, then DRAM at the
address's home chip) and what that costs.

Latency depends only on where the line comes from, all from `HardwareParams`:
own L1 or L2 (in `Core`), own chip's L3, another core's cache on the same chip, a cache
`h` hops away on the ring, local or remote DRAM. An upgrade (a write to a line held read-only)
moves no data; if it invalidates a copy it waits for the probe broadcast's answers, which
come from every chip wherever the copies are: the round trip of a transfer on the chip.

Contention is physical, from four rules and nothing else:
  * a line's home serves one request at a time: each keeps it busy for `home_occupancy`
    cycles (or its whole latency, if shorter), so requests for a hot line queue behind each
    other (`busy_until`); probes go out in parallel and data travels while the home already
    serves the next request, so transfers of one line overlap;
  * overlapping transfers keep their order: a request's data never arrives before the data of
    an earlier request that it must follow, and then only after the way back from that core
    (half the request's latency: the request itself reached it long before). An exclusive
    request (the new value) follows every earlier copy (`arrived`): their holders answer
    only once they have it; a read follows the last exclusive request (`written`), whose core
    supplies it. With `home_occupancy` at least every latency, transfers do not overlap at
    all: the limit case, each request holding the line for its whole latency;
  * each chip's memory controller moves one line per `dram_cycles_per_line`;
  * a store or atomic needs the line exclusive, which invalidates every other copy.

Invariants (the random tester checks them after every step): a line held M or E by one core is
held by no other core; the directory lists exactly the cores whose state map holds the line;
an L3 never holds a line that some core holds M or E; a core's L2 holds exactly the lines of
its state map and its leaving copies.

What it leaves out: link bandwidth and the probe broadcast's own traffic, prefetching, MSHRs
(a core has one outstanding miss), I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy

from ..trace import CoreStats, Counters, LineEvent, LineStats, Trace
from .caches import Cache
from .core import Core
from .memory import PhysicalMemory
from .params import HardwareParams, ParamError
from .protocols import Event, State, protocol
from .topology import plan_paths

I = State.I  # noqa: E741
LOAD, LOAD_ONLY, STORE, EVICT = Event.LOAD, Event.LOAD_ONLY, Event.STORE, Event.EVICT
PROBE_READ, PROBE_WRITE = Event.PROBE_READ, Event.PROBE_WRITE
# What probing finds when no other core holds the line: no supplier, nothing invalidated.
_NOBODY_ELSE: tuple = (None, None, 0, (), ())


class Entry:
    """What the machine knows of one line: the directory entry (the cores whose caches hold it,
    and the one holding it M, O or E, which answers for it), when its home is free and when
    the data of its latest transfers arrive, the chips whose L3 keeps it, the cores sleeping
    until it changes, and its counters. One record per line, so that a transaction looks the
    line up once."""

    __slots__ = ("holders", "owner", "busy_until", "arrived", "written", "l3", "watchers",
                 "stats", "held_until", "held_by")  # fmt: skip

    def __init__(self, stats: LineStats) -> None:
        self.holders: dict[int, Core] = {}
        self.owner: Core | None = None
        self.busy_until = 0  # when the home can take the next request
        # A core's store buffer holds stores to the line until then (`Machine.hold`).
        self.held_until = 0
        self.held_by: Core | None = None
        self.arrived = 0  # the latest data arrival of any request so far
        self.written = 0  # the latest data arrival of an exclusive request so far
        self.l3: set[int] | None = None  # made when an L3 first takes the line
        self.watchers: list[tuple[Core, simpy.Event]] | None = None
        self.stats = stats


class Machine:
    """A whole simulated machine on one simpy clock.

    >>> m = Machine(HardwareParams.preset("tiny"))
    >>> x = m.memory.alloc(64, label="x")
    >>> def writer(core):
    ...     yield from core.store(x, 42)
    >>> m.spawn(0, writer); m.run(); m.cores[0].local
    200
    """

    def __init__(
        self,
        params: HardwareParams | None = None,
        trace: Trace | None = None,
        log_accesses: bool = False,
    ) -> None:
        if params is not None and not isinstance(params, HardwareParams):
            raise ParamError(f"a Machine is made from HardwareParams, not {params!r:.60}")
        self.params = p = params or HardwareParams()
        self.env = simpy.Environment()
        self.protocol = protocol(p.protocol)
        self.memory = PhysicalMemory(p)
        self.trace = trace if trace is not None else Trace()
        # Every access as (perform time, core, kind, addr, value after), for ordering checks.
        self.access_log: list[tuple] | None = [] if log_accesses else None
        self.l3 = [Cache(f"chip{c}.l3", p.l3_size, p.l3_assoc, p.line_size) for c in range(p.chips)]
        self.cores = [Core(self, i) for i in range(p.cores)]
        self.entries: dict[int, Entry] = {}  # every line a core or a device has touched
        self.lines: dict[int, LineStats] = {}  # their counters (the entries' `stats`)
        self._shift = p.line_size.bit_length() - 1
        self._offset_mask = p.line_size - 1
        self._lookahead = p.lookahead
        self._lines_per_chip = p.dram_bytes_per_chip >> self._shift  # a line's home chip
        self._lines = self._lines_per_chip * p.chips  # lines of physical memory
        self._l3_latency = p.l3_latency
        self._occupancy = p.home_occupancy
        self._streams = p.prefetch_streams
        self._l1_latency = p.l1_latency
        self._ack = p.same_chip_cache_latency  # every chip answers a broadcast: see params
        # The table as a list of lists, indexed [state][event] (None where it has no cell).
        table = self.protocol.table
        self._steps = [[table.get((s, e)) for e in Event] for s in State]
        # Its two probe columns, indexed [state]: what a probed copy does.
        self._on_probe = {c: [row[c] for row in self._steps] for c in (PROBE_READ, PROBE_WRITE)}
        # What the table says of states, asked on every transaction (see `protocols.py`).
        self._dirty, self._owners = self.protocol.dirty, self.protocol.owners
        # A read asks only the owner when Shared copies ignore it and only owners supply
        # (MSI, MESI, MOESI); under MESIF the clean F copy supplies too, so a read asks all.
        shared_read = table[State.S, PROBE_READ]
        self._reads_skip_sharers = (
            shared_read.actions == ()
            and shared_read.next is State.S
            and self.protocol.suppliers <= self._owners
        )
        # Every path a line can take, and its cost (`topology.py`).
        self._paths, self._far_l3s, self._dram_paths = plan_paths(p)

    # -- running programs ---------------------------------------------------------------------
    def spawn(self, core_id: int, program: Callable[..., Generator], *args: Any) -> simpy.Process:
        """Run `program(core, *args)` on a core, starting at the current time."""
        if not 0 <= core_id < len(self.cores):
            raise ValueError(f"core {core_id} does not exist (cores 0..{len(self.cores) - 1})")
        core = self.cores[core_id]
        if core.busy:
            raise RuntimeError(f"core {core_id} is already running a program")
        core.busy = True
        return self.env.process(self._run(core, program(core, *args)))

    def _run(self, core: Core, body: Generator) -> Generator:
        core.local = max(core.local, self.env.now)
        core._refresh()
        try:
            result = yield from body
            yield from core.drain()  # its last stores land before it is done
            yield from core.sync()
        finally:
            core.busy = False
        return result

    def run(self, until: int | None = None) -> int:
        """Run until every program ends (or `until`); return the latest core clock."""
        self.env.run(until=until)
        return max(c.local for c in self.cores)

    @property
    def elapsed(self) -> int:
        """Cycles from the start to the latest core clock (the run's length so far)."""
        return max(c.local for c in self.cores)

    # -- one coherence transaction ------------------------------------------------------------
    # A transaction is a list of small steps, as a SLICC transition is a list of actions:
    # 1. probe the other holders (`_probe`), 2. choose the source, 3. order the arrival
    # (`_order`), 4. land the line, 5. record. Steps 2, 4 and 5 are written out in `transact`,
    # each a labelled block, because this is the hot path of every shared access and a call
    # costs about as much as a step (as methods too, they cost 3-5% more instructions on the
    # heavily shared benchmark); probing and ordering, the steps with rules of their own, are.

    def transact(self, core: Core, line: int, event: Event, kind: str, addr: int) -> int:
        """Serve a miss or an upgrade that `core` issues at its clock (`Core` makes sure no
        other agent can act before then); advance the core's clock past it and return the
        transaction's perform time."""
        now, me = core.local, core.id
        if line in core.grace:  # a copy still leaving: superseded by this request
            core.regain(line)
        before = core.state.get(line, I)
        entry = self.entries.get(line) or self._new_entry(line)
        start = entry.busy_until  # the home serves one request at a time
        if start < now:
            start = now
        # Another core's buffered stores to the line land first: its copy answers no sooner.
        floor = entry.held_until if entry.held_by is not core else 0
        # 1. Probe the other holders, if there are any.
        holders = entry.holders
        if not holders or (len(holders) == 1 and me in holders):
            supplier, dirty, acked, invalidated, probed = _NOBODY_ELSE
            if event is LOAD:
                event = LOAD_ONLY  # nobody else holds it: no shared signal
        else:
            supplier, dirty, acked, invalidated, probed = self._probe(
                core, entry, line, event, now, start if start > floor else floor
            )
        step = self._steps[before][event] or self.protocol.step(before, event)
        after = step.next
        # 2. Choose the source, and what it costs. An upgrade moves no data (whoever offered to
        # supply sends none); else the supplying cache sends it, or an L3 or DRAM (`_locate`).
        stats = entry.stats
        if step.upgrades:
            source, where, latency = "upgrade", -1, self._l3_latency
        elif supplier is not None:
            where = supplier.id
            source, latency = self._paths[me][where]
            stats.transfers += 1
            stats.hitm += dirty
        else:
            source, where, latency = self._locate(core, entry, line, now)
            stats.fills += 1
        if entry.l3 and step.exclusive:  # an exclusive copy is the only copy
            self._drop_l3_copies(entry, line)
        if latency < acked:  # done only when every invalidated copy has acknowledged
            latency = acked
        # 3. Order the arrival among the line's other transfers.
        end = self._order(entry, step.exclusive, start, latency)
        # 4. Land the line: the directory, then the core's state and caches.
        if after in self._owners:
            entry.owner = core
        if before is I:
            holders[me] = core
            if line in core.taken:  # another's write took this core's copy: a coherence miss
                core.taken.discard(line)
                core.stats.coherence_misses += 1
            victim = core.fill(line, after)
            if victim is not None:
                self._evict(core, victim, now)
        else:  # an upgrade: the line is already in the core's caches
            core.state[line] = after
        core.local = end
        # 5. Record: counters, and the trace if it is on.
        core.stats.misses[source] += 1
        stats.cores.add(me)
        if invalidated:
            stats.invalidations += len(invalidated)
        if self.trace.enabled:
            rec = LineEvent(now, end, me, kind, line, stats.label, source, where, before.name,
                            after.name, tuple(invalidated), start - now, tuple(probed),
                            addr & self._offset_mask)  # fmt: skip
            self.trace.append(rec)
        # The perform time (see core.py): a transaction that reached another core did so no
        # sooner than `lookahead` after it was issued, and no sooner than the home took it.
        reach = now + (latency if latency < self._lookahead else self._lookahead)
        if reach < floor:
            reach = floor
        return reach if reach > start else start

    def _probe(
        self, core: Core, entry: Entry, line: int, event: Event, now: int, start: int
    ) -> tuple[Core | None, bool | None, int, list[int], list | None]:
        """Step 1: probe the other holders, as the table says. Returns the core that supplies
        the data (or None) and whether its copy is dirty, the probe broadcast's round trip if
        it invalidated a copy (0 if not), the cores invalidated, and what each probed copy went
        through (core, before, after) when tracing. A read need not probe Shared copies when
        the table says a read leaves them alone and only owners supply: then only the owner
        (holding it M, O or E), if any, is asked."""
        if event is LOAD and self._reads_skip_sharers:
            owner = entry.owner
            others = (owner,) if owner is not None and owner is not core else ()
        else:
            others = list(entry.holders.values())
            if core.id in entry.holders:
                others.remove(core)
        supplier = dirty = None
        acked = 0
        invalidated: list[int] = []
        probed: list | None = [] if self.trace.enabled else None
        if not others:
            return supplier, dirty, acked, invalidated, probed
        # It reaches them no sooner than `lookahead` after it is issued, and no sooner than the
        # home takes it (then it was queued, waiting). Until then each changed copy stays as it
        # was (`Core.lose`, `Core.downgrade`).
        reach = now + self._lookahead
        if reach < start:
            reach = start
        column = PROBE_WRITE if event is STORE else PROBE_READ
        steps, holders = self._on_probe[column], entry.holders
        for other in others:
            state = other.state[line]
            step = steps[state] or self.protocol.step(state, column)
            next_state = step.next
            if step.supplies:
                supplier, dirty = other, state in self._dirty
            if step.writes_back:
                self.memory.write_line(line // self._lines_per_chip, now)
            if probed is not None:
                probed.append((other.id, state.name, next_state.name))
            if next_state is I:  # out of the directory
                if entry.owner is other:
                    entry.owner = None
                other.lose(line, reach)
                other_id = other.id
                del holders[other_id]
                invalidated.append(other_id)
                acked = self._ack  # the broadcast's answers, from wherever the copy is
            elif next_state is not state:
                other.downgrade(line, next_state, reach)
                if next_state not in self._owners:
                    entry.owner = None
            else:
                continue
            if entry.watchers:
                self._wake(entry, other, reach)
        return supplier, dirty, acked, invalidated, probed

    def _order(self, entry: Entry, exclusive: bool, start: int, latency: int) -> int:
        """Step 3: when the data of a request the home takes at `start` arrives, in order with
        the line's other transfers (the rules in the module docstring). The home is busy for
        `home_occupancy` (or the whole latency, if shorter); an exclusive request's data lands
        after every earlier copy's, a read's after the last exclusive one's, each plus the way
        back. Returns the arrival time."""
        entry.busy_until = start + (latency if latency < self._occupancy else self._occupancy)
        end = start + latency
        leg = (latency + 1) >> 1  # from a copy that has just arrived, back to this core
        if exclusive:  # the new value lands after every copy of the old one has
            if end < entry.arrived + leg:
                end = entry.arrived + leg
            entry.written = end
        elif end < entry.written + leg:  # a copy of a value still on its way waits for it
            end = entry.written + leg
        if end > entry.arrived:
            entry.arrived = end
        return end

    def _new_entry(self, line: int) -> Entry:
        if not 0 <= line < self._lines:  # a program's bad address: say so, not IndexError
            raise ValueError(
                f"address {line << self._shift:#x} is outside physical memory (addresses 0 to "
                f"{(self._lines << self._shift) - 1:#x}: use addresses machine.memory.alloc gave)"
            )
        stats = self.lines[line] = LineStats(label=self.memory.label_of(line))
        entry = self.entries[line] = Entry(stats)
        return entry

    def _locate(self, core: Core, entry: Entry, line: int, now: int) -> tuple[str, int, int]:
        """Where a miss's data comes from when no cache supplies it: (source name, chip,
        latency)."""
        chips = entry.l3
        if chips:
            if core.chip in chips:  # a victim cache: the line moves up into the core
                self.l3[core.chip].remove(line)
                chips.discard(core.chip)
                return "l3", core.chip, self.params.l3_latency
            for chip, source, latency in self._far_l3s[core.chip]:
                if chip in chips:
                    return source, chip, latency
        home = line // self._lines_per_chip
        source, latency = self._dram_paths[core.chip][home]
        wait = self.memory.read_line(home, now)
        if self._streams and core.prefetcher.covers(line):
            core.stats.prefetched += 1
            latency = self._l1_latency
        return source, home, wait + latency

    # -- state bookkeeping ----------------------------------------------------------------------
    def _evict(self, core: Core, line: int, now: int) -> None:
        """A line pushed out of a core's L2: write it back if dirty, keep it in the chip's L3."""
        state = core.state[line]
        step = self._steps[state][EVICT] or self.protocol.step(state, EVICT)
        if step.writes_back:
            self.memory.write_line(line // self._lines_per_chip, now)
        entry = self.entries[line]
        if entry.owner is core:
            entry.owner = None
        core.drop(line)
        del entry.holders[core.id]
        if not entry.holders:  # the last copy leaves: the chip's L3 keeps it, clean
            self._l3_insert(core.chip, entry, line)
        if self.trace.enabled:
            source = "writeback" if step.writes_back else "drop"
            rec = LineEvent(now, now, core.id, "evict", line, entry.stats.label, source,
                            core.chip, state.name, "I", (), 0)  # fmt: skip
            self.trace.append(rec)

    def _drop_l3_copies(self, entry: Entry, line: int) -> None:
        for chip in entry.l3:
            self.l3[chip].remove(line)
        entry.l3.clear()

    def _l3_insert(self, chip: int, entry: Entry, line: int) -> None:
        """Keep a line in a chip's L3; the L3's own victim is clean, so it is just dropped."""
        victim = self.l3[chip].insert(line)
        if entry.l3 is None:
            entry.l3 = set()
        entry.l3.add(chip)
        if victim is not None:
            self.entries[victim].l3.discard(chip)

    # -- streaming stores -----------------------------------------------------------------------
    def stream_line(self, core: Core, line: int) -> int:
        """A streaming (non-temporal) store of a whole line by `core` at its clock: no read for
        ownership. Every cached copy is invalidated, this core's too (a non-temporal store
        keeps nothing in the caches), and the L3s forget the line; like any write it reaches
        the other holders a lookahead after it is issued (or when the home takes it), and
        after every copy still on its way. Nothing is fetched: the line goes to its home
        chip's memory controller, and the core waits only until the controller has moved it
        (its write-combining buffer), so zeroing runs at the chip's DRAM bandwidth. The words
        read 0 from when it lands. Returns the core's clock after it."""
        now, me = core.local, core.id
        if line in core.grace:
            core.regain(line)
        entry = self.entries.get(line) or self._new_entry(line)
        start = entry.busy_until if entry.busy_until > now else now
        lands = max(now + self._lookahead, start, entry.arrived + 1)
        before = core.state.pop(line, I)
        if entry.holders.pop(me, None) is not None:  # its own copy leaves its caches now
            core._leave(line)
        # (Most lines streamed are fresh: no copy anywhere, nothing to take.)
        if entry.holders or entry.owner is not None or entry.l3:
            holders = self._take_copies(entry, line, lands)
        else:
            holders = entry.holders
        entry.busy_until = start + self._occupancy
        in_flight = holders or entry.arrived > now
        entry.arrived = entry.written = lands
        done = start + self.memory.stream_line(line // self._lines_per_chip, start)
        stats = entry.stats
        stats.invalidations += len(holders)
        clear = self.memory.clear_line
        if in_flight:  # others may still read the old words until it lands
            self.env.timeout(lands - self.env.now).callbacks.append(lambda _: clear(line))
        else:
            clear(line)
        if self.trace.enabled:
            rec = LineEvent(now, done, me, "stream", line, stats.label, "dram-write",
                            line // self._lines_per_chip, before.name, "I",
                            tuple(sorted(holders)), start - now)  # fmt: skip
            self.trace.append(rec)
        return done

    def _take_copies(self, entry: Entry, line: int, lands: int) -> dict[int, Core]:
        """A write of the whole line by a device or a streaming store: every cached copy is
        invalidated (its core keeps it until `lands`, and a core spinning on it wakes), and
        the L3s forget the line. Returns the cores that held it."""
        holders, entry.holders, entry.owner = entry.holders, {}, None
        for core in holders.values():
            core.lose(line, lands)
            if entry.watchers:
                self._wake(entry, core, lands)
        if entry.l3:
            self._drop_l3_copies(entry, line)
        return holders

    # -- devices ------------------------------------------------------------------------------
    def dma_write(self, writes: dict[int, int]) -> None:
        """A device writes words into memory: each line's cached copies are invalidated (cores
        spinning on them wake), the L3s forget it, its home controller takes the write. Like
        any transfer it reaches the cores `lookahead` after it is issued: until then they keep
        their copies and the old values (`Core.grace`), then the new values land."""
        now = self.env.now
        lands = now + self._lookahead
        for line in sorted({addr >> self._shift for addr in writes}):
            entry = self.entries.get(line) or self._new_entry(line)
            holders = self._take_copies(entry, line, lands)
            entry.busy_until = max(entry.busy_until, lands)
            entry.arrived = entry.written = max(entry.arrived, lands)
            self.memory.write_line(line // self._lines_per_chip, now)
            stats = entry.stats
            stats.invalidations += len(holders)
            if self.trace.enabled:  # core -1: no core asked
                rec = LineEvent(now, lands, -1, "dma", line, stats.label, "device", -1, "", "",
                                tuple(sorted(holders)), 0)  # fmt: skip
                self.trace.append(rec)
        self.env.timeout(self._lookahead).callbacks.append(
            lambda _: self.memory.values.update(writes)
        )

    # -- store buffers --------------------------------------------------------------------------
    def hold(self, line: int, core: Core, until: int) -> None:
        """`core` has stores to `line` in its store buffer that land at `until`. Its copy
        answers another core's request no sooner (`transact`: the request reaches it then at
        the earliest), and the data that request gets is sent after them: as if a transfer
        bringing them were still on its way (`Entry.arrived`, `Entry.written`), so every
        copy and every new value of the line comes after them."""
        entry = self.entries.get(line) or self._new_entry(line)
        if until > entry.held_until:
            entry.held_until, entry.held_by = until, core
        if until > entry.arrived:
            entry.arrived = until
        if until > entry.written:
            entry.written = until

    # -- spinning -------------------------------------------------------------------------------
    def watch(self, line: int, core: Core, event: simpy.Event) -> None:
        """Trigger `event` when another core's transaction changes `core`'s copy of `line`
        (a line it holds); its value is the time the change reaches the core."""
        entry = self.entries[line]
        if entry.watchers is None:
            entry.watchers = []
        entry.watchers.append((core, event))

    def _wake(self, entry: Entry, core: Core, changes: int) -> None:
        """Wake `core`'s watch on the line now: its copy changes at `changes` (a later time)."""
        waiting = entry.watchers
        for watch in [w for w in waiting if w[0] is core]:
            waiting.remove(watch)
            watch[1].succeed(changes)

    def record_spin(self, core: Core, line: int, start: int, end: int, held: State) -> None:
        """Trace a core's spin on a line it held in state `held`."""
        if self.trace.enabled:
            label = self.memory.label_of(line)
            rec = LineEvent(start, end, core.id, "spin", line, label, "l1", core.id, held.name,
                            "", (), 0)  # fmt: skip
            self.trace.append(rec)

    # -- reading the results ------------------------------------------------------------------
    def counters(self, final: bool = False) -> Counters:
        """A snapshot of every counter (plain data). `final`: the machine will not run again,
        so its per-line counters are handed over as they are rather than copied (a big run
        has 100k+ lines)."""
        cores = []
        for core in self.cores:
            s = core.stats
            cores.append(
                CoreStats(
                    core.id,
                    core.l1_hits,
                    core.l2_hits,
                    dict(s.misses),
                    s.spin_polls,
                    core.local,
                    s.coherence_misses,
                    s.prefetched,
                )
            )
        if final:
            lines = self.lines
        else:
            lines = {
                line: LineStats(
                    st.label, st.transfers, st.invalidations, st.hitm, st.fills, set(st.cores)
                )
                for line, st in self.lines.items()
            }
        return Counters(cores, lines, list(self.memory.reads), list(self.memory.writes))

    def close(self) -> None:
        """Let go of the directory now, for a machine that will not run again: its cores and
        it refer to each other, so without this a big run's 100k+ entries wait for the next
        collection of cyclic garbage, which must first look at each. What `counters(final=True)`
        handed over stays."""
        self.entries = {}

    def line_of(self, addr: int) -> int:
        return addr >> self._shift

    def states(self, line: int) -> dict[int, str]:
        """Each core's state letter for a line (only cores that hold it)."""
        entry = self.entries.get(line)
        holders = sorted(entry.holders.items()) if entry else []
        return {cid: c.state[line].name for cid, c in holders}

    # Views of the directory, for checks and inspection (made on each call; not the hot path).
    @property
    def holders(self) -> dict[int, dict[int, Core]]:
        """line -> {core id: core} for every line some core holds."""
        return {line: dict(e.holders) for line, e in self.entries.items() if e.holders}

    @property
    def owner(self) -> dict[int, Core]:
        """line -> the core holding it M, O or E, for lines that have one."""
        return {line: e.owner for line, e in self.entries.items() if e.owner is not None}

    @property
    def in_l3(self) -> dict[int, set[int]]:
        """line -> the chips whose L3 holds it, for lines some L3 holds."""
        return {line: set(e.l3) for line, e in self.entries.items() if e.l3}
