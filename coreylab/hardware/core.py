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
request then needs at least `lookahead` cycles (the fastest transaction that leaves a core) to
reach this core. So every access has a perform time (a hit: the core's clock when it issues; a
transaction: when its transfer starts plus `lookahead`), and for each address the order in which
accesses are performed is the order of those times. A core never sees the effect of an access
that happens later in simulated time. This is conservative parallel simulation with lookahead,
the same bound the Wisconsin Wind Tunnel used; it is exact, not a quantum approximation.

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
        self._l1_sets, self._l1_mask = self.l1.sets, self.l1.mask
        self._l1_latency, self._l2_latency = p.l1_latency, p.l2_latency
        self._atomic_latency = p.atomic_latency
        self._lookahead = p.lookahead
        self._values = machine.memory.values
        self._store_hits = machine.protocol.store_hits
        self._perform = 0  # perform time of the last write, for the access log

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
    def load(self, addr: int) -> Op:
        """Read the value at `addr` (0 if never written)."""
        line = addr >> self._shift
        while True:
            if line in self.state and self.local <= self.horizon:
                if self.machine.access_log is not None:
                    self._log(self.local, "load", addr)
                self._hit(line)
                return self._values.get(addr, 0)
            if self.local > self.env.now:
                yield from self.sync()
                continue
            perform = self.machine.transact(self, line, Event.LOAD, "load")
            self._log(perform, "load", addr)
            return self._values.get(addr, 0)

    def store(self, addr: int, value: int) -> Op:
        """Write `value` at `addr`."""
        yield from self._own(addr, "store")
        self._write(addr, value, "store")

    def fetch_add(self, addr: int, delta: int) -> Op:
        """Atomically add `delta` at `addr`; return the old value (x86 `lock xadd`)."""
        old = yield from self._own(addr, "atomic")
        self._write(addr, old + delta, "atomic")
        return old

    def swap(self, addr: int, value: int) -> Op:
        """Atomically write `value` at `addr`; return the old value (x86 `xchg`)."""
        old = yield from self._own(addr, "atomic")
        self._write(addr, value, "atomic")
        return old

    def cas(self, addr: int, expected: int, new: int) -> Op:
        """Compare-and-swap: write `new` if `addr` holds `expected`; return the old value."""
        old = yield from self._own(addr, "atomic")
        self._write(addr, new if old == expected else old, "atomic")
        return old

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
    def _own(self, addr: int, kind: str) -> Op:
        """Make the line writable in this core (silently if held M or E, else by a transaction);
        return the value at `addr` just before the write."""
        line = addr >> self._shift
        while True:
            state = self.state.get(line)
            if state is not None and self.local <= self.horizon:
                after = self._store_hits.get(state)
                if after is not None:
                    self._perform = self.local
                    self._hit(line)
                    self.state[line] = after
                    if kind == "atomic":
                        self.local += self._atomic_latency
                    return self._values.get(addr, 0)
            if self.local > self.env.now:
                yield from self.sync()
                continue
            self._perform = self.machine.transact(self, line, Event.STORE, kind)
            if kind == "atomic":
                self.local += self._atomic_latency
            return self._values.get(addr, 0)

    def _write(self, addr: int, value: int, kind: str) -> None:
        self._values[addr] = value
        if self.machine.access_log is not None:
            self._log(self._perform, kind, addr)

    def _hit(self, line: int) -> None:
        s = self._l1_sets[line & self._l1_mask]
        if line in s:
            del s[line]
            s[line] = None
            self.local += self._l1_latency
            self.stats.l1_hits += 1
        else:  # in L2 (inclusive): move up to L1; the L1 victim stays in L2
            self.l2.touch(line)
            self.l1.insert(line)
            self.local += self._l2_latency
            self.stats.l2_hits += 1

    def _log(self, perform: int, kind: str, addr: int) -> None:
        log = self.machine.access_log
        if log is not None:
            log.append((perform, self.id, kind, addr, self._values.get(addr, 0)))

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
    def fill(self, line: int, state: State) -> list[int]:
        """Take a line into L2 and L1 in `state`; return lines evicted from this core."""
        self.state[line] = state
        self.l1.insert(line)
        victim = self.l2.insert(line)
        if victim is None:
            return []
        self.l1.remove(victim)
        return [victim]

    def drop(self, line: int) -> None:
        del self.state[line]
        self.l1.remove(line)
        self.l2.remove(line)

    def __repr__(self) -> str:
        return f"Core({self.id}, chip {self.chip}, t={self.local})"
