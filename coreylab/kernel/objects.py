"""Kernel structures laid out on named cache lines in simulated memory.

What it models: a C struct in a kernel's memory. Fields are 8-byte words (an array field is
several words), grouped as the source groups them, and each group is a named run of lines:
`files.file_lock` is the line that holds `file_lock`, `next_fd` and the bitmaps, exactly as
Linux 2.6's `files_struct` packs them. Kernel code reads and writes fields only through a
core's loads, stores and atomics, so a field that another core touched costs a transfer.

Padding is a visible choice: `pad=True` starts every group on a fresh line (Corey's padded
per-core fields); `pad=False` packs groups one after the other, so two groups may share a line
(false sharing) exactly where their words fall.

Invariants: a structure's words never overlap another allocation's; every line a structure
covers carries the label of the group that owns it (the first group to touch a packed line).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..hardware import Machine

WORD = 8  # bytes per field word

FieldSpec = str | tuple[str, int]  # "name" (one word) or ("name", words)


def capacity(minimum: int, cores: int) -> int:
    """Entries in a fixed-size kernel table on a machine of `cores` cores (a share, a share
    map, an address range's mappings): two per core, and at least `minimum`. Corey grows these
    tables; sizing them for the machine lets a 64-core job give every core room for every
    other core's entry, and leaves smaller machines exactly as they were."""
    return max(minimum, 2 * cores)


class Struct:
    """One kernel structure: fields (8-byte words) in named groups, placed on a chip."""

    def __init__(
        self,
        machine: Machine,
        name: str,
        groups: Mapping[str, Sequence[FieldSpec]],
        chip: int = 0,
        pad: bool = True,
    ) -> None:
        self.name = name
        self.chip = chip
        self.pad = pad
        line = machine.params.line_size
        self._line_size = line
        offsets, group_spans, size = _layout(groups, line, pad)
        self.size = size
        self.base = machine.memory.alloc(size, chip=chip, align=line)
        self._offsets = offsets
        self._words = {f: n for fields in groups.values() for f, n in map(_spec, fields)}
        self.group_of = {f: g for g, fields in groups.items() for f, _ in map(_spec, fields)}
        shift = line.bit_length() - 1
        self.lines: dict[str, list[int]] = {}
        for group, (start, end) in group_spans.items():
            first, last = (self.base + start) >> shift, (self.base + end - 1) >> shift
            self.lines[group] = list(range(first, last + 1))
            for ln in self.lines[group]:
                machine.memory.labels.setdefault(ln, f"{name}.{group}")

    def addr(self, field: str, index: int = 0) -> int:
        """Address of a field (or of word `index` of an array field)."""
        try:
            words = self._words[field]
        except KeyError:
            raise KeyError(f"{self.name} has no field {field!r}") from None
        if not 0 <= index < words:
            raise IndexError(f"{self.name}.{field} has {words} words, not index {index}")
        return self.base + self._offsets[field] + index * WORD

    def __getitem__(self, key: str | tuple[str, int]) -> int:
        """`s["next_fd"]` or `s["fd", 3]`: the address of a field or of one of its words."""
        return self.addr(*key) if isinstance(key, tuple) else self.addr(key)

    def words(self, field: str) -> int:
        return self._words[field]

    def describe(self) -> str:
        """Which fields sit on which line, as a reader of the C struct would draw it."""
        by_line: dict[int, list[str]] = {}
        for field, offset in self._offsets.items():
            if field.startswith("_"):
                continue  # alignment filler
            words = self._words[field]
            for first in range(words):
                line = (offset + first * WORD) // self._line_size
                last = first
                while last + 1 < words and (offset + (last + 1) * WORD) // self._line_size == line:
                    last += 1
                if first and (offset + (first - 1) * WORD) // self._line_size == line:
                    continue  # already named from an earlier word on this line
                name = field if words == 1 else f"{field}[{first}..{last}]"
                by_line.setdefault(line, []).append(name)
        rows = [f"line {line}: {', '.join(names)}" for line, names in sorted(by_line.items())]
        return f"{self.name} ({self.size} bytes on chip {self.chip}):\n  " + "\n  ".join(rows)

    def __repr__(self) -> str:
        return f"Struct({self.name}, chip {self.chip}, {self.size} B at {self.base:#x})"


def _spec(field: FieldSpec) -> tuple[str, int]:
    return (field, 1) if isinstance(field, str) else field


def _layout(groups: Mapping[str, Sequence[FieldSpec]], line: int, pad: bool):
    """Byte offsets of every field, each group's [start, end), and the total size."""
    offsets: dict[str, int] = {}
    spans: dict[str, tuple[int, int]] = {}
    at = 0
    for group, fields in groups.items():
        if pad:
            at = -(-at // line) * line
        start = at
        for name, words in map(_spec, fields):
            if words < 1:
                raise ValueError(f"field {name!r} needs at least one word")
            offsets[name] = at
            at += words * WORD
        spans[group] = (start, at)
    size = -(-at // line) * line if pad else at
    return offsets, spans, max(size, WORD)


def per_core(machine: Machine, name: str, fields: Sequence[FieldSpec]) -> list[Struct]:
    """One padded copy of a structure for each core, on that core's chip (Corey's per-core
    data: nothing in it is ever shared)."""
    p = machine.params
    return [
        Struct(machine, f"{name}[{c}]", {"fields": fields}, chip=p.chip_of(c), pad=True)
        for c in range(p.cores)
    ]
