"""A core's store buffer, as x86 has one (TSO): stores retire into it and become visible later,
in program order.

What it models: the stores a core has retired but others cannot see yet, in groups that become
visible together: each group has the time its stores land (`commit`), a simpy event at that
time, and its (address, value) writes in program order. A group's time is the later of when
its line is here, writable (a store miss: when the line arrives; a store to a line held M or
E: at once) and the time of the group before it, so groups land in order; a store that would
land when the newest group does joins it. While a line has stores in the buffer, another
core's request for it reaches this core no sooner than they land, and the data it gets follows
them (`Machine.hold`): a core answers a probe once its stores have landed, so nobody reads the
line without them.

Who uses it: `Core` puts stores in (`add`), forwards its own loads from it (`forward`), waits
on its events (`Core.drain`), and asks which lines are in it (`lines`, read on the load path).
Values land in the machine's memory when each event fires (`_land`), logged, if the machine
logs accesses, at the group's time.

Invariants: groups' times never decrease; `count` is the number of writes in all groups;
`lines[line]` is the number of writes to `line` still in the buffer (absent at 0).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import simpy


class Group:
    """Stores that land together: when, the event that lands them, and the writes in order."""

    __slots__ = ("commit", "event", "writes")

    def __init__(self, commit: int, event: simpy.Event) -> None:
        self.commit = commit
        self.event = event
        self.writes: list[tuple[int, int, int]] = []  # (line, address, value)


class StoreBuffer:
    """The store buffer of `core`, holding at most `size` stores."""

    def __init__(self, core: Any, size: int) -> None:
        self.core, self.env, self.size = core, core.env, size
        self.groups: deque[Group] = deque()
        self.lines: dict[int, int] = {}
        self.count = 0
        self._values = core.machine.memory.values
        self._log = core.machine.access_log
        self._hold = core.machine.hold

    @property
    def full(self) -> bool:
        return self.count >= self.size

    def tail_commit(self) -> int:
        """When the newest group lands (0 if the buffer is empty)."""
        return self.groups[-1].commit if self.groups else 0

    def add(self, line: int, addr: int, value: int, ready: int) -> None:
        """Retire a store whose line is here, writable, at `ready`: it lands then, or when
        the stores before it have, if later."""
        commit = max(ready, self.tail_commit())
        groups = self.groups
        if groups and groups[-1].commit == commit:
            group = groups[-1]
        else:
            env = self.env
            group = Group(commit, env.timeout(commit - env.now))
            group.event.callbacks.append(self._land)
            groups.append(group)
        group.writes.append((line, addr, value))
        self.count += 1
        self.lines[line] = self.lines.get(line, 0) + 1
        self._hold(line, self.core, commit)

    def forward(self, addr: int) -> tuple[int] | None:
        """(value,) of the newest buffered store to `addr`, or None if there is none."""
        found = self._newest(addr)
        return None if found is None else (found[0][found[1]][2],)

    def replace(self, addr: int, value: int) -> bool:
        """Make the newest buffered store to `addr` write `value` instead; False if there is
        none."""
        found = self._newest(addr)
        if found is None:
            return False
        writes, k = found
        writes[k] = (writes[k][0], addr, value)
        return True

    def _newest(self, addr: int) -> tuple[list[tuple[int, int, int]], int] | None:
        """(writes, index) of the newest buffered store to `addr`, or None."""
        for group in reversed(self.groups):
            writes = group.writes
            for k in range(len(writes) - 1, -1, -1):
                if writes[k][1] == addr:
                    return writes, k
        return None

    def landing_of(self, line: int) -> simpy.Event:
        """The event at which the last buffered store to `line` lands."""
        for group in reversed(self.groups):
            if any(written == line for written, _at, _value in group.writes):
                return group.event
        raise KeyError(line)

    def _land(self, event: simpy.Event) -> None:
        """The oldest group's time has come: its stores land, in program order."""
        group = self.groups.popleft()
        assert group.event is event, "store buffer groups land out of order"
        values, log, lines, core_id = self._values, self._log, self.lines, self.core.id
        for line, addr, value in group.writes:
            values[addr] = value
            if log is not None:
                log.append((group.commit, core_id, "store", addr, value))
            left = lines[line] - 1
            if left:
                lines[line] = left
            else:
                del lines[line]
        self.count -= len(group.writes)
