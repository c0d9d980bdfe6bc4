"""A core: its private caches, its own clock, and the memory operations programs call.

What it models: one in-order core that runs one program (a generator) at a time and issues
loads, stores and atomic read-modify-writes to physical addresses, plus plain computation.
Programs use it like this::

    def program(core):
        value = yield from core.load(addr)
        yield from core.store(addr, value + 1)
        old = yield from core.fetch_add(counter, 1)
        yield from core.compute(50)

How it is fast and still ordered. A simpy event costs about a microsecond, so an access must not
be an event. Each core keeps its own clock `local`, which may run ahead of the machine's clock
`env.now`. An access that completes inside the core (a hit that changes nothing others can see:
a load of a held line, a store to a line held M or E) just advances `local`. Anything another
core could observe (a miss, an upgrade) is done only when the core's clock and the machine's
agree: the core first yields until `env.now == local`. Hits may run ahead only below a horizon,
`env.peek() + lookahead`: no other core can act before the next scheduled event, and its
request then needs at least `lookahead` cycles (the fastest transaction that reaches another
core's cache) to arrive. This is conservative parallel simulation with lookahead, as the
Wisconsin Wind Tunnel did.

When a request takes effect. The machine processes a request when it is issued (`transact`),
but it reaches the other holders only at its perform time: `lookahead` after it is issued, or
when the line's previous transfer ends if it queued behind one. Until then each holder keeps
its copy, in its caches and in the old state (`grace`): its hits before that time stand,
whether the core ran them before the request was processed or after, and cost what they
would have. The core's horizon stops at the earliest such time, where it lets the copy go.
The requester's value is read or written when its data arrives (the core yields until then),
after every such hit. So for each address the values follow the order of perform times (the
random tester replays the log in that order), and the timing does not depend on where the
run-ahead windows fell: an unrelated event (another process's timer) changes nothing.

Spinning is simulated, not skipped: a core that spins on a line it holds polls it in its L1 every
`spin_loop_cycles`; instead of running every poll, it sleeps until another core's request for
the line is processed, then wakes at its first poll after that request reaches it, with the
polls counted.

The store buffer (x86-TSO), when `HardwareParams.store_buffer` is above 0 (its size, in
stores; `store_buffer.py`). A store does not stall the core: a miss is issued as any miss is
and retires in an L1 hit's time; a store to a line held M or E retires as a hit. Its value
lands when its line is here and every store before it has landed (a simpy event); another
core's request for the line reaches this core no sooner, and its data follows (`Machine.hold`),
so every other core's access falls before or after it as the directory ordered them. The
core's own loads of a buffered word are forwarded; a load of another word of a buffered line
waits until the line's stores have landed; a full buffer, an atomic, a fence, a wake-up and
the program's end wait for it to drain (`drain`). So stores become visible in program order
and only a load may pass an earlier store: TSO. With 0 every store waits for its line:
sequentially consistent.

What it leaves out: out-of-order execution, instruction fetch, TLBs (the kernels model those).
"""

from __future__ import annotations

import typing
from collections import defaultdict
from collections.abc import Callable, Generator
from typing import Any

import simpy

from ..trace import CoreStats
from .caches import Cache
from .memory import PhysicalMemory
from .params import HardwareParams
from .prefetcher import Prefetcher
from .protocols import Event, Protocol, State
from .store_buffer import StoreBuffer

Op = Generator[Any, Any, Any]
NEVER = float("inf")
LOAD, STORE = Event.LOAD, Event.STORE
POSTED = -1  # `_miss`: the store went into the store buffer (perform times are >= 0)


class Host(typing.Protocol):
    """What a core needs of the machine it belongs to (`Machine` is one). Named here, not
    imported, so that the machine, which builds its cores, is the only one of the two that
    imports the other."""

    params: HardwareParams
    env: simpy.Environment
    memory: PhysicalMemory
    protocol: Protocol
    access_log: list[tuple] | None

    def transact(self, core: Core, line: int, event: Event, kind: str, addr: int) -> int: ...
    def stream_line(self, core: Core, line: int) -> int: ...
    def watch(self, line: int, core: Core, event: simpy.Event) -> None: ...
    def record_spin(self, core: Core, line: int, start: int, end: int, held: State) -> None: ...
    def hold(self, line: int, core: Core, until: int) -> None: ...


class Core:
    """One core of a `Machine`. Programs call its generator methods with `yield from`."""

    __slots__ = (
        "machine", "env", "id", "chip", "local", "window", "horizon", "busy", "state", "grace",
        "grace_ends", "l1", "l2", "stats", "l1_hits", "l2_hits", "_shift", "_l1_sets", "_l1_mask",
        "_l1_assoc", "_l2_sets", "_l2_mask", "_l2_assoc", "_l1_latency", "_l2_latency",
        "_atomic_latency", "_lookahead", "_values", "_store_hits", "_access_log", "_transact",
        "taken", "prefetcher", "sb", "_posting", "_sb_groups", "_sb_lines",
    )  # fmt: skip

    def __init__(self, machine: Host, core_id: int) -> None:
        p = machine.params
        self.machine = machine
        self.env = machine.env
        self.id = core_id
        self.chip = p.chip_of(core_id)
        self.local = 0  # this core's clock: >= env.now while it runs a program
        self.window = 0  # run-ahead bound: the next event plus the lookahead
        self.horizon = 0  # hits are performed below it: min(window, grace_ends)
        self.busy = False
        self.state: dict[int, State] = {}  # the lines the directory lists here -> state
        # Lines another core's request has taken or downgraded, processed but not yet
        # performed: line -> [(perform time, state held until then)], oldest first. An
        # invalidated line stays in the caches until its last time has passed.
        self.grace: dict[int, list[tuple[int, State]]] = {}
        self.grace_ends: float = NEVER  # the earliest of those times
        # Lines another agent's write took from this core, until it misses on them again:
        # that miss is a coherence miss (`CoreStats.coherence_misses`).
        self.taken: set[int] = set()
        self.prefetcher = Prefetcher(p)  # asked by the machine on each miss DRAM serves
        self.l1 = Cache(f"core{core_id}.l1", p.l1_size, p.l1_assoc, p.line_size)
        self.l2 = Cache(f"core{core_id}.l2", p.l2_size, p.l2_assoc, p.line_size)
        self.stats = CoreStats(core_id, misses=defaultdict(int))  # counted by `transact`
        # Copied into attributes once: the hit path below reads nothing else.
        self._shift = p.line_size.bit_length() - 1
        self._l1_sets, self._l1_mask, self._l1_assoc = self.l1.sets, self.l1.mask, p.l1_assoc
        self._l2_sets, self._l2_mask, self._l2_assoc = self.l2.sets, self.l2.mask, p.l2_assoc
        self._l1_latency, self._l2_latency = p.l1_latency, p.l2_latency
        self._atomic_latency = p.atomic_latency
        self._lookahead = p.lookahead
        self._values = machine.memory.values
        self._store_hits = machine.protocol.store_hits
        self._access_log = machine.access_log
        self._transact = machine.transact
        # The store buffer (empty for ever if its size is 0); its groups and lines are read
        # on the hot path, so they are copied into attributes.
        self.sb = StoreBuffer(self, p.store_buffer)
        self._posting = p.store_buffer > 0
        self._sb_groups, self._sb_lines = self.sb.groups, self.sb.lines
        self.l1_hits = 0  # counted here, not in `stats`: one attribute on the hit path
        self.l2_hits = 0

    # -- clock --------------------------------------------------------------------------------
    def sync(self) -> Op:
        """Wait until the machine's clock reaches this core's clock."""
        env = self.env
        if self.local > env.now:
            yield env.timeout(self.local - env.now)
        self._refresh()

    def _refresh(self) -> None:
        """Set the run-ahead window from the next scheduled event (call at `env.now`)."""
        window = self.window = self.env.peek() + self._lookahead
        self.horizon = window if window < self.grace_ends else self.grace_ends

    def compute(self, cycles: int) -> Op:
        """Spend `cycles` on instructions that touch no shared memory."""
        if cycles < 0:
            raise ValueError(f"compute cycles must be >= 0, not {cycles}")
        self.local += cycles
        if self.local > self.window:
            yield from self.sync()

    def wait(self, event: Any) -> Op:
        """Block on a simpy event (an interrupt, a queue): the core's clock jumps to its time."""
        yield from self.sync()
        value = yield event
        self.local = self.env.now
        self._refresh()
        return value

    def signal(self, event: Any, value: Any = None) -> Op:
        """Trigger a simpy event (wake a sleeping task) at this core's clock, once the stores
        before it are visible (a wake-up takes the runqueue's lock)."""
        yield from self.drain()
        yield from self.sync()
        event.succeed(value)
        self._refresh()  # whoever it wakes acts now: run ahead no further than that allows

    # -- memory operations ----------------------------------------------------------------------
    # `load` and `store` are the hot path: their L1 hit is written out in full, because a call
    # costs as much as the hit itself. A miss costs far more than a call (a transaction, often
    # a simpy event), so the three operations share one slow path, `_miss`. Below the horizon
    # every line in the L1 is readable (a leaving one too: see `grace`). A transaction is issued
    # at the core's clock once no other agent can act before it (the next event is later, or
    # the machine has caught up); its value is read or written when its data arrives, after
    # the other cores' last hits on their leaving copies (again: no wait if nothing else can
    # happen before).

    def load(self, addr: int) -> Op:
        """Read the value at `addr` (0 if never written)."""
        line = addr >> self._shift
        if self._sb_lines and line in self._sb_lines:
            forwarded = yield from self._load_buffered(line, addr)
            if forwarded is not None:
                return forwarded[0]
        while True:
            if self.local < self.horizon:
                s = self._l1_sets[line & self._l1_mask]
                if line in s:
                    if self._access_log is not None:
                        self._log(self.local, "load", addr)
                    if s[0] != line:  # LRU: most recent first
                        s.remove(line)
                        s.insert(0, line)
                    self.local += self._l1_latency
                    self.l1_hits += 1
                    return self._values.get(addr, 0)
                if line in self.state or line in self.grace:
                    if self._access_log is not None:
                        self._log(self.local, "load", addr)
                    self._l2_hit(line)
                    return self._values.get(addr, 0)
            perform = yield from self._miss(line, LOAD, "load", addr)
            if perform is None:
                continue
            if self._access_log is not None:
                self._log(perform, "load", addr)
            return self._values.get(addr, 0)

    def store(self, addr: int, value: int) -> Op:
        """Write `value` at `addr`."""
        line = addr >> self._shift
        while True:
            if self.local < self.horizon:
                state = self.state.get(line)
                after = self._store_hits.get(state)
                if after is not None:  # held M or E: the store stays inside the core
                    if self._sb_groups:  # behind stores in flight: it lands after them
                        if not self.sb.full:
                            self._buffer_hit(line, addr, value, state, after)
                            return
                        yield from self._wait_for(self._sb_groups[0].event)
                        continue
                    perform = self.local
                    s = self._l1_sets[line & self._l1_mask]
                    if line in s:
                        if s[0] != line:
                            s.remove(line)
                            s.insert(0, line)
                        self.local += self._l1_latency
                        self.l1_hits += 1
                    else:
                        self._l2_hit(line)
                    if after is not state:
                        self.state[line] = after
                    break
            if self._posting:
                if self.sb.full:
                    yield from self._wait_for(self._sb_groups[0].event)
                    continue
                perform = yield from self._miss(line, STORE, "store", addr, value)
                if perform == POSTED:
                    return
            else:
                perform = yield from self._miss(line, STORE, "store", addr)
            if perform is not None:
                break
        self._values[addr] = value
        if self._access_log is not None:
            self._log(perform, "store", addr)

    def fetch_add(self, addr: int, delta: int) -> Op:
        """Atomically add `delta` at `addr`; return the old value (x86 `lock xadd`)."""
        return (yield from self._atomic(addr, lambda old: old + delta))

    def swap(self, addr: int, value: int) -> Op:
        """Atomically write `value` at `addr`; return the old value (x86 `xchg`)."""
        return (yield from self._atomic(addr, lambda old: value))

    def cas(self, addr: int, expected: int, new: int) -> Op:
        """Compare-and-swap: write `new` if `addr` holds `expected`; return the old value."""
        return (yield from self._atomic(addr, lambda old: new if old == expected else old))

    def spin_until(self, addr: int, done: Callable[[int], bool]) -> Op:
        """Load `addr` until `done(value)`, as a spin loop does; return that value."""
        lines = [addr >> self._shift]
        while True:
            value = yield from self.load(addr)
            if done(value):
                return value
            yield from self.sleep_until_changed(lines)

    def sleep_until_changed(self, lines: list[int]) -> Op:
        """Spin on `lines` (a polling loop) until another agent changes this core's copy of
        one of them, counting the polls without running them. Returns at once if one of them
        is not cached (it may have changed: the caller looks again); if one is leaving, polls
        until it has left."""
        yield from self.sync()
        if self.local >= self.grace_ends:
            self._let_go()
        missing = [line for line in lines if line not in self.state]
        if missing:
            leaving = [self.grace[line][-1][0] for line in missing if line in self.grace]
            if len(leaving) == len(missing):  # each still here for a while
                self._poll_until(lines[0], self.local, min(leaving))
            return
        env, start = self.env, self.env.now
        events = [env.event() for _ in lines]
        for line, event in zip(lines, events, strict=True):
            self.machine.watch(line, self, event)
        woken = yield (env.any_of(events) if events else env.event())  # none: forever
        self._poll_until(lines[0], start, min(woken.values()))
        self._refresh()

    def stream_zero(self, addr: int, size: int) -> Op:
        """Zero `size` bytes from `addr` (whole lines) with streaming stores, as a kernel's
        clear_page of 2008 could (`movnti`, or `rep stos` fast strings): no line is read for
        ownership or kept in the caches; each goes to its home's memory controller
        (`Machine.stream_line`). Each line is issued, as a miss is, once no other agent can
        act before it."""
        mask = self.machine.params.line_size - 1
        if addr & mask or size & mask or size <= 0:
            raise ValueError(f"stream_zero takes whole lines, not {size} bytes at {addr:#x}")
        yield from self.drain()  # they follow the core's earlier stores
        env, stream = self.env, self.machine.stream_line
        line, end = addr >> self._shift, (addr + size) >> self._shift
        while line < end:
            if self.local >= self.grace_ends:
                self._let_go()
                continue
            if self.local > env.now and self.local >= env.peek():  # another may act first
                yield env.timeout(self.local - env.now)
                self._refresh()
                continue
            self.local = stream(self, line)
            line += 1
        yield from self.sync()

    # -- the paths behind the operations ---------------------------------------------------------
    def _miss(self, line: int, event: Event, kind: str, addr: int, post: int | None = None) -> Op:
        """The slow path of a load, store or atomic that did not hit below the horizon.
        A store (or atomic) may still take a copy on its way out that was held M or E: then
        it is a hit, performed now. Return None if the core must look in its caches again
        first (a leaving copy went, or its clock waited for the machine's); else issue the
        transaction once no other agent can act before it, wait until its data arrives if
        another may act before that, and return its perform time. With `post`, the value of a
        store to put in the store buffer: do not wait for the data; return POSTED."""
        if (
            event is STORE
            and not self._sb_groups  # (behind buffered stores it is not a hit: it must wait)
            and self.local < self.horizon
            and line in self.grace
            and self._writable_in_grace(line)
        ):
            perform = self.local
            self._hit(line)
            return perform
        env = self.env
        while True:
            if self.local >= self.grace_ends:
                self._let_go()
            elif self.local > env.now and self.local >= env.peek():  # another may act first
                yield env.timeout(self.local - env.now)
                self._refresh()
            else:
                break
            # The caller would look in its caches again only below the horizon, and could hit
            # only on a line listed here or leaving (the L1 and L2 hold nothing else): else it
            # would call this again at once, so go on here instead.
            if self.local < self.horizon and (line in self.state or line in self.grace):
                return None
        issued = self.local
        perform = self._transact(self, line, event, kind, addr)
        if post is not None:  # into the store buffer: it lands when the line is here
            self.sb.add(line, addr, post, self.local)
            self.local = issued + self._l1_latency
            self._refresh()
            return POSTED
        next_event = env.peek()
        if self.local >= next_event:  # the data (for a store, the line, exclusive) arrives
            yield env.timeout(self.local - env.now)
            next_event = env.peek()
        window = self.window = next_event + self._lookahead  # as `_refresh` does
        self.horizon = window if window < self.grace_ends else self.grace_ends
        return perform

    # -- the store buffer ------------------------------------------------------------------------
    def peek(self, addr: int) -> int:
        """The value a load by this core would return now, read in no simulated time (for
        bookkeeping outside the clock, such as choosing the lines to spin on): its own newest
        buffered store to `addr`, else memory."""
        if self._sb_lines and addr >> self._shift in self._sb_lines:
            forwarded = self.sb.forward(addr)
            if forwarded is not None:
                return forwarded[0]
        return self._values.get(addr, 0)

    def poke(self, addr: int, value: int) -> None:
        """Write `value` at `addr` in no simulated time, in this core's program order (for
        bookkeeping outside the clock): over its own newest buffered store to `addr` if it
        has one, so that store does not land later over it; else straight into memory."""
        if not (self._sb_lines and self.sb.replace(addr, value)):
            self._values[addr] = value

    def fence(self) -> Op:
        """x86 `mfence`: later loads wait until the core's earlier stores are visible. (It
        costs only that wait here: an estimate, a fence with nothing to drain is cheap.)"""
        yield from self.drain()

    def drain(self) -> Op:
        """Wait until the store buffer is empty: every store in it has landed."""
        if self._sb_groups:
            yield from self._wait_for(self._sb_groups[-1].event)

    def _wait_for(self, landed: simpy.Event) -> Op:
        """Wait until a store buffer group has landed (groups land in order: so have all
        before it)."""
        if not landed.processed:
            yield from self.sync()
            if not landed.processed:  # it lands later, or now but has not been run yet
                yield landed
        if self.local < self.env.now:
            self.local = self.env.now
        self._refresh()

    def _buffer_hit(self, line: int, addr: int, value: int, state: State, after: State) -> None:
        """A store to a line held M or E, behind stores still in flight: it costs a hit now
        and lands after them."""
        self._hit(line)
        if after is not state:
            self.state[line] = after
        self.sb.add(line, addr, value, self.local)

    def _load_buffered(self, line: int, addr: int) -> Op:
        """A load of a line with stores in the buffer: (value,) forwarded from the newest
        buffered store to `addr`, or None once the line's stores have landed (the word is
        not among them: the line must be here first)."""
        forwarded = self.sb.forward(addr)
        if forwarded is not None:
            self.local += self._l1_latency
            self.l1_hits += 1
            if self._access_log is not None:
                self._access_log.append((self.local, self.id, "forwarded", addr, forwarded[0]))
            return forwarded
        yield from self._wait_for(self.sb.landing_of(line))
        return None

    def _atomic(self, addr: int, new_value: Callable[[int], int]) -> Op:
        """A locked read-modify-write: the line must be held M (silently from M or E, else by
        a transaction); then the read and the write happen with nothing in between. Like
        x86's locked instructions it first drains the store buffer."""
        if self._sb_groups:
            yield from self.drain()
        line = addr >> self._shift
        while True:
            if self.local < self.horizon:
                after = self._store_hits.get(self.state.get(line))
                if after is not None:
                    perform = self.local
                    self._hit(line)
                    self.state[line] = after
                    break
            perform = yield from self._miss(line, STORE, "atomic", addr)
            if perform is not None:
                break
        self.local += self._atomic_latency
        old = self._values.get(addr, 0)
        self._values[addr] = new_value(old)
        if self._access_log is not None:
            self._log(perform, "atomic", addr)
        return old

    def _hit(self, line: int) -> None:
        if self.l1.touch(line):
            self.local += self._l1_latency
            self.l1_hits += 1
        else:
            self._l2_hit(line)

    def _l2_hit(self, line: int) -> None:
        """In L2 (inclusive of L1): move up to L1; the L1 victim stays in L2."""
        self.l2.touch(line)
        self.l1.insert(line)
        self.local += self._l2_latency
        self.l2_hits += 1

    def _log(self, perform: int, kind: str, addr: int) -> None:
        """Record an access with its perform time (for ordering checks; off unless asked)."""
        self._access_log.append((perform, self.id, kind, addr, self._values.get(addr, 0)))

    # -- grace: a copy taken by another core's request, until the request gets here --------
    def lose(self, line: int, until: int) -> None:
        """A request processed now takes `line` from this core: the directory no longer lists
        it here. The request reaches the core at `until`: if the core may act before then,
        its copy stays in its caches, as it was, until then."""
        self.taken.add(line)
        if self.local < until:
            self._give_up(line, until)
            del self.state[line]
            return
        # The core waits for something of its own past `until`: the copy goes now.
        del self.state[line]
        if line in self.grace:  # left over from an earlier downgrade, over by then too
            del self.grace[line]
        self._leave(line)

    def downgrade(self, line: int, state: State, until: int) -> None:
        """A request processed now leaves this core's copy of `line` in `state` (from a
        writable or owning one); until it arrives at `until`, the copy is as it was."""
        if self.local < until:
            self._give_up(line, until)
        self.state[line] = state

    def _give_up(self, line: int, until: int) -> None:
        steps = self.grace.get(line)
        if steps is None:
            self.grace[line] = [(until, self.state[line])]
        else:
            steps.append((until, self.state[line]))
        if until < self.grace_ends:
            self.grace_ends = until
            if until < self.horizon:
                self.horizon = until

    def _writable_in_grace(self, line: int) -> bool:
        """Whether the leaving copy may still take a store: it was held M or E. (A store to
        an E copy in this window is not seen by the request already on its way: the model
        counts that line clean.)"""
        return self._store_hits.get(self.grace[line][0][1]) is not None

    def _let_go(self) -> None:
        """The core's clock has passed the earliest grace time: drop what has ended (a copy
        the directory no longer lists leaves the caches) and move the horizon on."""
        ends, local, grace = NEVER, self.local, self.grace
        for line, steps in list(grace.items()):
            if steps[0][0] > local:
                if steps[0][0] < ends:
                    ends = steps[0][0]
                continue
            while steps and steps[0][0] <= local:
                del steps[0]
            if steps:
                if steps[0][0] < ends:
                    ends = steps[0][0]
                continue
            del grace[line]
            if line not in self.state:
                self._leave(line)
        self.grace_ends = ends
        self.horizon = self.window if self.window < ends else ends

    def _leave(self, line: int) -> None:
        """A copy the directory no longer lists leaves the caches."""
        s = self._l1_sets[line & self._l1_mask]
        if line in s:
            s.remove(line)
        self._l2_sets[line & self._l2_mask].remove(line)

    def regain(self, line: int) -> None:
        """The core's own request for `line` is processed: any leaving copy is superseded."""
        del self.grace[line]
        if line not in self.state:
            self._leave(line)

    def _poll_until(self, line: int, start: int, changed: int) -> None:
        """Spin from `start` to the first poll that sees the change made at `changed`."""
        period = self.machine.params.spin_loop_cycles
        polls = -(-(changed - start) // period) or 1
        self.stats.spin_polls += polls
        self.local = start + polls * period
        held = self.state.get(line) or (self.grace[line][-1][1] if line in self.grace else None)
        self.machine.record_spin(self, line, start, self.local, held or State.I)

    # -- bookkeeping the machine calls -----------------------------------------------------------
    def fill(self, line: int, state: State) -> int | None:
        """Take a line into L2 and L1 in `state`; return the line this pushed out of L2 that
        the directory lists here (a leaving copy pushed out just goes).
        (`Cache.insert` twice, written out: this runs on every miss.)"""
        self.state[line] = state
        victim = None
        l2_set = self._l2_sets[line & self._l2_mask]
        if len(l2_set) >= self._l2_assoc:
            victim = l2_set.pop()
            l1_of_victim = self._l1_sets[victim & self._l1_mask]
            if victim in l1_of_victim:  # inclusion: it leaves L1 too
                l1_of_victim.remove(victim)
            if victim in self.grace:  # a copy on its way out is gone now
                del self.grace[victim]
            if victim not in self.state:
                victim = None
        l2_set.insert(0, line)
        l1_set = self._l1_sets[line & self._l1_mask]
        if len(l1_set) >= self._l1_assoc:
            l1_set.pop()
        l1_set.insert(0, line)
        return victim

    def drop(self, line: int) -> None:
        """An evicted line leaves the directory's list (`fill` has already taken it out of the
        caches)."""
        del self.state[line]

    def __repr__(self) -> str:
        return f"Core({self.id}, chip {self.chip}, t={self.local})"
