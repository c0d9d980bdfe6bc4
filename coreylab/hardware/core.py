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
agree: the core first yields until `env.now == local`. Hits may run ahead only up to a horizon,
`env.peek() + lookahead`: no other core can act before the next scheduled event, and its
request then needs at least `lookahead` cycles (the fastest transaction that reaches another
core's cache) to arrive. So every access has a perform time (a hit: the core's clock when it
issues; a transaction: when its transfer starts plus `lookahead`), and for each address the
order in which accesses are performed is the order of those times: a core never sees the effect
of an access that happens later in simulated time. This is conservative parallel simulation
with lookahead, as the Wisconsin Wind Tunnel did; the random tester checks the order.

What is approximate is timing, not order: a request takes effect on the other holders when it
is processed (at its issue time), while the holder's hits that already ran ahead (up to
`lookahead` past the next event) stand. So a core keeps a line another core asks for during 0
to `lookahead` cycles more, depending on where the run-ahead windows fell; physically, the
time the probe takes to reach it. Runs stay deterministic, but an unrelated event (another
process's timer) can move those windows and so the timing of a contended line. The strict
fix is to process each transaction `lookahead` after it issues and bound hits by the next
event alone; it costs about a third of the simulator's speed (tests/test_hardware_*.py mark
the two places where the difference shows as expected failures).

Spinning is simulated, not skipped: a core that spins on a line it holds polls it in its L1 every
`spin_loop_cycles`; instead of running every poll, it sleeps until another core's transaction
changes its copy, then wakes at the first poll after that change, with the polls counted.

What it leaves out: out-of-order execution, store buffers and memory-consistency subtleties
(every core is sequentially consistent), instruction fetch, TLBs (the kernels model those).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from ..trace import CoreStats
from .caches import Cache
from .protocols import Event, State

if TYPE_CHECKING:
    from .machine import Machine

Op = Generator[Any, Any, Any]


class Core:
    """One core of a `Machine`. Programs call its generator methods with `yield from`."""

    __slots__ = (
        "machine", "env", "id", "chip", "local", "horizon", "busy", "state", "l1", "l2", "stats",
        "l1_hits", "l2_hits", "_shift", "_l1_sets", "_l1_mask", "_l1_assoc", "_l2_sets",
        "_l2_mask", "_l2_assoc", "_l1_latency", "_l2_latency", "_atomic_latency", "_lookahead",
        "_values", "_store_hits", "_access_log",
    )  # fmt: skip

    def __init__(self, machine: Machine, core_id: int) -> None:
        p = machine.params
        self.machine = machine
        self.env = machine.env
        self.id = core_id
        self.chip = p.chip_of(core_id)
        self.local = 0  # this core's clock: >= env.now while it runs a program
        self.horizon = 0  # the latest local time at which a hit may be performed
        self.busy = False
        self.state: dict[int, State] = {}  # every line in this core's caches -> its state
        self.l1 = Cache(f"core{core_id}.l1", p.l1_size, p.l1_assoc, p.line_size)
        self.l2 = Cache(f"core{core_id}.l2", p.l2_size, p.l2_assoc, p.line_size)
        self.stats = CoreStats(core_id)
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
        self.horizon = self.env.peek() + self._lookahead

    def compute(self, cycles: int) -> Op:
        """Spend `cycles` on instructions that touch no shared memory."""
        if cycles < 0:
            raise ValueError(f"compute cycles must be >= 0, not {cycles}")
        self.local += cycles
        if self.local > self.horizon:
            yield from self.sync()

    def wait(self, event: Any) -> Op:
        """Block on a simpy event (an interrupt, a queue): the core's clock jumps to its time."""
        yield from self.sync()
        value = yield event
        self.local = self.env.now
        self._refresh()
        return value

    # -- memory operations ----------------------------------------------------------------------
    # `load` and `store` are the hot path: their L1 hit is written out in full, because a call
    # costs as much as the hit itself. Everything else goes to the machine.

    def load(self, addr: int) -> Op:
        """Read the value at `addr` (0 if never written)."""
        line = addr >> self._shift
        while True:
            if self.local <= self.horizon:
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
                if line in self.state:
                    if self._access_log is not None:
                        self._log(self.local, "load", addr)
                    self._l2_hit(line)
                    return self._values.get(addr, 0)
            env = self.env
            if self.local > env.now:  # catch up before anything others can see
                yield env.timeout(self.local - env.now)
                self.horizon = env.peek() + self._lookahead
                continue
            perform = self.machine.transact(self, line, Event.LOAD, "load", addr)
            if self._access_log is not None:
                self._log(perform, "load", addr)
            return self._values.get(addr, 0)

    def store(self, addr: int, value: int) -> Op:
        """Write `value` at `addr`."""
        line = addr >> self._shift
        while True:
            if self.local <= self.horizon:
                state = self.state.get(line)
                after = self._store_hits.get(state)
                if after is not None:  # held M or E: the store stays inside the core
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
            env = self.env
            if self.local > env.now:  # catch up before anything others can see
                yield env.timeout(self.local - env.now)
                self.horizon = env.peek() + self._lookahead
                continue
            perform = self.machine.transact(self, line, Event.STORE, "store", addr)
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
        line = addr >> self._shift
        while True:
            value = yield from self.load(addr)
            if done(value):
                return value
            yield from self.sync()
            if line not in self.state or done(self._values.get(addr, 0)):
                continue  # changed while we caught up: look again
            yield from self._sleep_until_changed(line)

    # -- the paths behind the operations ---------------------------------------------------------
    def _atomic(self, addr: int, new_value: Callable[[int], int]) -> Op:
        """A locked read-modify-write: the line must be held M (silently from M or E, else by
        a transaction); then the read and the write happen with nothing in between."""
        line = addr >> self._shift
        while True:
            if self.local <= self.horizon:
                after = self._store_hits.get(self.state.get(line))
                if after is not None:
                    perform = self.local
                    self._hit(line)
                    self.state[line] = after
                    break
            env = self.env
            if self.local > env.now:  # catch up before anything others can see
                yield env.timeout(self.local - env.now)
                self.horizon = env.peek() + self._lookahead
                continue
            perform = self.machine.transact(self, line, Event.STORE, "atomic", addr)
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

    def _sleep_until_changed(self, line: int) -> Op:
        start = self.env.now
        change = self.env.event()
        self.machine.watch(line, self, change)
        yield change
        period = self.machine.params.spin_loop_cycles
        polls = -(-(self.env.now - start) // period) or 1
        self.stats.spin_polls += polls
        self.local = start + polls * period
        self.machine.record_spin(self, line, start, self.local)
        self._refresh()

    # -- bookkeeping the machine calls -----------------------------------------------------------
    def fill(self, line: int, state: State) -> int | None:
        """Take a line into L2 and L1 in `state`; return the line this pushed out of L2.
        (`Cache.insert` twice, written out: this runs on every miss.)"""
        self.state[line] = state
        victim = None
        l2_set = self._l2_sets[line & self._l2_mask]
        if len(l2_set) >= self._l2_assoc:
            victim = l2_set.pop()
            l1_of_victim = self._l1_sets[victim & self._l1_mask]
            if victim in l1_of_victim:  # inclusion: it leaves L1 too
                l1_of_victim.remove(victim)
        l2_set.insert(0, line)
        l1_set = self._l1_sets[line & self._l1_mask]
        if len(l1_set) >= self._l1_assoc:
            l1_set.pop()
        l1_set.insert(0, line)
        return victim

    def drop(self, line: int) -> None:
        """The line leaves this core, invalidated or evicted (`fill` has already taken an
        evicted line out of its sets)."""
        del self.state[line]
        for s in (self._l1_sets[line & self._l1_mask], self._l2_sets[line & self._l2_mask]):
            if line in s:
                s.remove(line)

    def __repr__(self) -> str:
        return f"Core({self.id}, chip {self.chip}, t={self.local})"
