"""Physical memory: where each address lives, what it holds, and what its lines are called.

What it models: DRAM behind each chip (addresses are split into one contiguous range per chip,
so an address's home chip is `addr // dram_bytes_per_chip`), a memory controller per chip that
moves one line at a time (its bandwidth is physical: requests queue behind each other), and the
values stored at each address.

Values are functional: one dictionary from address to value, read and written when an access
is performed. Caches model only which lines they hold, in which state, and what moving them
costs (the split gem5 calls functional vs timing). Accesses are performed in simulated-time
order (see `core.py`), so a load returns the last value stored before it.

Zeroing a line (`clear_line`, a streaming store landing) removes its words from the dictionary.
Most lines zeroed never held a value, and asking the dictionary about each of a line's 64 byte
addresses costs more than the rest of the streaming store: so the memory keeps the lines that
hold a value (a superset: `_holding`), learning of new keys from the dictionary's insertion
order (the newest keys are the last ones), which is exact because keys are removed only by
`clear_line`. Code may write `values` directly; it must not delete from it.

Labels name the object and field that own each line (`files.file_lock`): allocators pass them,
and traces and counters are read by them. The memory knows nothing of what a label means.

What it leaves out: DRAM banks, rows and refresh; freeing memory (kernels manage their own page
pools on top of `alloc`).
"""

from __future__ import annotations

from itertools import islice

from .params import HardwareParams


class OutOfMemory(MemoryError):
    """A chip's DRAM cannot hold the allocation."""


class PhysicalMemory:
    def __init__(self, params: HardwareParams) -> None:
        self.params = params
        self.values: dict[int, int] = {}
        # The lines holding a value (or that did: a superset), for `clear_line`, complete up to
        # the first `_indexed` keys of `values` in insertion order.
        self._holding: set[int] = set()
        self._indexed = 0
        self._shift = params.line_size.bit_length() - 1
        self.labels: dict[int, str] = {}  # line -> owner label
        self._next = [chip * params.dram_bytes_per_chip for chip in range(params.chips)]
        self.free_at = [0] * params.chips  # when each chip's controller can start a line
        self.reads = [0] * params.chips
        self.writes = [0] * params.chips

    # -- placement ----------------------------------------------------------------------------
    def home_chip(self, addr: int) -> int:
        return addr // self.params.dram_bytes_per_chip

    def alloc(self, size: int, chip: int = 0, label: str = "", align: int | None = None) -> int:
        """Reserve `size` bytes on `chip`'s DRAM, aligned to a line (or `align`), and label its
        lines. Returns the physical address."""
        p = self.params
        if not 0 <= chip < p.chips:
            raise ValueError(f"chip {chip} does not exist (chips 0..{p.chips - 1})")
        if size <= 0:
            raise ValueError(f"allocation size must be positive, not {size}")
        align = align or p.line_size
        addr = -(-self._next[chip] // align) * align
        end = (chip + 1) * p.dram_bytes_per_chip
        if addr + size > end:
            raise OutOfMemory(f"chip {chip} has no room for {size} more bytes")
        self._next[chip] = addr + size
        if label:
            self.label(addr, size, label)
        return addr

    def label(self, addr: int, size: int, label: str) -> None:
        """Name the lines covering [addr, addr + size)."""
        shift = self.params.line_size.bit_length() - 1
        lines = range(addr >> shift, ((addr + size - 1) >> shift) + 1)
        self.labels.update(dict.fromkeys(lines, label))  # (a fresh page's 64 at once)

    def label_of(self, line: int) -> str:
        return self.labels.get(line, "")

    # -- zeroing ----------------------------------------------------------------------------------
    def clear_line(self, line: int) -> None:
        """The words of `line` read 0 (the default value) from now on."""
        values = self.values
        new = len(values) - self._indexed  # keys added since the last call, the newest last
        if new > 0:
            shift = self._shift
            self._holding.update(addr >> shift for addr in islice(reversed(values), new))
        elif new < 0:  # a key was deleted behind our back: learn every line again
            self._holding = {addr >> self._shift for addr in values}
        if line in self._holding:
            self._holding.discard(line)
            base = line << self._shift
            for addr in range(base, base + self.params.line_size):
                values.pop(addr, None)
        self._indexed = len(values)

    # -- the controller: one line at a time per chip -------------------------------------------
    def read_line(self, chip: int, now: int) -> int:
        """Start a line read at `chip`'s controller no earlier than `now`; return the cycles
        spent waiting for the controller (bandwidth contention)."""
        self.reads[chip] += 1
        return self._occupy(chip, now)

    def write_line(self, chip: int, now: int) -> None:
        """A write-back: it occupies the controller but nobody waits for it (posted write)."""
        self.writes[chip] += 1
        self._occupy(chip, now)

    def stream_line(self, chip: int, now: int) -> int:
        """A streaming store's line: the writer's buffer waits until the controller takes it;
        return the cycles from `now` until the controller has moved it."""
        self.writes[chip] += 1
        return self._occupy(chip, now) + self.params.dram_cycles_per_line

    def _occupy(self, chip: int, now: int) -> int:
        free = self.free_at[chip]
        start = now if now > free else free  # (not max(): this runs on every DRAM access)
        self.free_at[chip] = start + self.params.dram_cycles_per_line
        return start - now
