"""Every tunable of the simulated machine, with its unit, and the named presets.

What it models: the shape of the machine (chips, cores, caches), the latency of a load by where
its line comes from, and the few rates that make contention physical (DRAM bandwidth per chip).
Times are integer cycles of the core clock; sizes are bytes.

Sources: the `amd16` values follow `shared/reference/corey-notes.md` (the paper's 16-core AMD
Family 10h machine). L1 3 cycles and another core's cache on the same chip 121 cycles are the
talk's numbers; the rest are estimates from vendor measurements and are marked as such below.
They are parameters, never constants in code: a lesson can change any of them with
`HardwareParams.preset("amd16").replace(l3_latency=46)` or `--param l3_latency=46`.

Invariants (checked by `validate`, which every constructor path runs): every whole-number field
lies within its physical bounds in `BOUNDS` (positive, finite, and no larger than a machine the
simulator can hold in memory and a person would build); line and page sizes are powers of two;
a line holds the kernel's widest one-line structure and a page holds several lines; caches are
whole power-of-two numbers of sets; each chip's memory holds at least a few allocator chunks.
That farther sources are slower is not required (a lesson may invert it on purpose).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields

from .protocols import PROTOCOLS  # the registry of coherence tables names them

MAX_CORES = 256  # a sanity bound: the lab's lessons go to 16, tests to 8 x 8
KB, MB, GB = 2**10, 2**20, 2**30
MAX_CYCLES = 100_000  # any one latency or per-line cost: 50 us at 2 GHz, far past any real memory

# (smallest, largest) of each whole-number field. Why each limit:
# - line_size 32..256: the kernel's widest one-line structure (files_struct's read-mostly part,
#   four 8-byte words) needs 32 bytes; 256 is the widest line any machine shipped (POWER).
# - caches up to 1/16/256 MB (L1/L2/L3): past real parts, and each set costs the simulator about
#   60 bytes of Python, so the machine stays a few hundred MB at most.
# - page_size 4 KB..64 KB: x86's base page to ARM64/POWER's largest base page; page tables hold
#   page_size/8 entries each, so a 1 GB "page" would need gigabytes per table.
# - dram_bytes_per_chip: at least MIN_PAGES_PER_CHIP pages (checked below), at most 1 TB.
BOUNDS: dict[str, tuple[int, int]] = {
    "chips": (1, 64),
    "cores_per_chip": (1, 64),
    "clock_mhz": (100, 10_000),
    "line_size": (32, 256),
    "l1_size": (1, MB),
    "l1_assoc": (1, 256),
    "l2_size": (1, 16 * MB),
    "l2_assoc": (1, 256),
    "l3_size": (1, 256 * MB),
    "l3_assoc": (1, 256),
    "dram_bytes_per_chip": (1, 1024 * GB),
    "page_size": (4 * KB, 64 * KB),
    "prefetch_streams": (0, 64),  # 0: no prefetcher
    "store_buffer": (0, 64),  # 0: sequentially consistent; 64: past any core of the time
}
POWERS_OF_TWO = ("line_size", "page_size")
MIN_PAGES_PER_CHIP = 64  # one allocator chunk (MemoryParams.chunk_pages) per chip at least


class ParamError(ValueError):
    """A hardware parameter that names nothing, has the wrong type, or describes an impossible
    machine. The message is one line, fit to show a user as is."""


@dataclass(frozen=True)
class HardwareParams:
    """The whole machine in one immutable value. Build one from a preset and `replace`."""

    name: str = "amd16"

    # -- shape ------------------------------------------------------------------------------
    chips: int = 4  # chips (sockets), linked in a ring: four chips form the paper's square
    cores_per_chip: int = 4  # cores on each chip
    clock_mhz: int = 2000  # core clock, to turn cycles into seconds (2.0 GHz Opteron)

    # -- caches: sizes in bytes, latencies in cycles for a hit ------------------------------
    line_size: int = 64  # bytes per cache line
    l1_size: int = 64 * 1024  # per core, data cache
    l1_assoc: int = 2
    l1_latency: int = 3  # talk: "load fd_table data from L1 in 3 cycles"
    l2_size: int = 512 * 1024  # per core, private
    l2_assoc: int = 16
    l2_latency: int = 14  # estimate (vendor documents 12-15)
    l3_size: int = 2 * 1024 * 1024  # per chip, shared victim cache
    l3_assoc: int = 32
    l3_latency: int = 75  # estimate: the paper's figure; vendor measured about 46

    # -- coherence and transfers, in cycles --------------------------------------------------
    protocol: str = "MOESI"  # one of PROTOCOLS
    same_chip_cache_latency: int = 121  # talk: the contended fd_table load
    # Another chip's cache (estimate). Family 10h broadcasts every probe to every chip and the
    # requester waits for all their answers, so the 121 cycles above already pay the probes'
    # round trip across the machine; data from another chip adds only its own way back, half
    # a DRAM hop's round trip (`dram_hop_latency`) per hop: 121 + 30 = 151, 2 hops 181.
    # For the same reason an upgrade that invalidates copies waits the 121 cycles, wherever
    # they are: every chip answers the broadcast, and an answer carries no data.
    remote_cache_latency: int = 151
    hop_latency: int = 30  # each further hop on the chip ring (estimate, as above)
    atomic_latency: int = 20  # extra cycles of a locked read-modify-write (estimate)
    # Cycles a line's home (its memory controller's coherence queue) is busy with one request
    # before it takes the next one for that line (estimate: a lookup and the probes sent,
    # 5 ns). The data still takes the full latency: transfers of one line overlap. Set it to
    # the largest latency or more for the limit case, each transfer holding the line for its
    # whole latency (AMD's home waits for the requester's SrcDone), where ticket locks collapse.
    home_occupancy: int = 10
    # x86's store buffer (TSO): how many stores a core may have retired that others cannot see
    # yet (0: none, the core waits for each store's line: sequentially consistent). A store
    # retires in a hit's time and lands once its line is here and the stores before it have
    # landed; the core's own loads are forwarded; a locked instruction, a fence and a wake-up
    # wait until it is empty. Sources: x86-TSO (Sewell et al., CACM 2010) for the order; for
    # a size, AMD's Software Optimization Guide for AMD64 Processors (25112, 2005) A.15: a
    # 32-entry queue (LS2) holds the loads and stores that missed the L1. A what-if for now:
    # the lab's figures are measured with 0.
    store_buffer: int = 0

    # -- memory -------------------------------------------------------------------------------
    dram_latency: int = 200  # local DRAM (estimate: about 100 ns)
    dram_hop_latency: int = 60  # each hop to a remote chip's DRAM (estimate: 260-330 remote)
    dram_cycles_per_line: int = 12  # DRAM controller busy per line: ~10.6 GB/s a chip (estimate)
    dram_bytes_per_chip: int = 16 * 2**30  # physical memory behind each chip
    page_size: int = 4096  # bytes per page
    # The hardware prefetcher: sequential streams of DRAM misses it follows at once, per core
    # (0: none). After misses on line l and then l + 1 it fetches l + 3 and keeps ahead, so a
    # run of consecutive lines misses on its first three and costs an L1 hit from the fourth
    # (it still takes its turn at the memory controller); it stops at a page's end. Source:
    # AMD's Software Optimization Guide for AMD64 Processors (25112, 2005) 5.6 for the rule;
    # Family 10h fills the L1. How many streams: estimate (Intel's of the time follow 8).
    prefetch_streams: int = 8

    # -- how programs spin ---------------------------------------------------------------------
    spin_loop_cycles: int = 10  # one iteration of a spin loop: an L1 hit and a `pause` (estimate)

    # -------------------------------------------------------------------------------------------
    def __post_init__(self) -> None:
        self.validate()

    @property
    def cores(self) -> int:
        """Cores in the whole machine."""
        return self.chips * self.cores_per_chip

    def chip_of(self, core: int) -> int:
        """The chip a core sits on (cores are numbered chip by chip)."""
        return core // self.cores_per_chip

    def hops(self, chip_a: int, chip_b: int) -> int:
        """Links between two chips on the ring (0 for the same chip)."""
        d = abs(chip_a - chip_b)
        return min(d, self.chips - d)

    @property
    def max_hops(self) -> int:
        return self.chips // 2

    def remote_cache_cycles(self, hops: int) -> int:
        """Latency of a line supplied by a cache `hops` chips away (hops >= 1)."""
        return self.remote_cache_latency + (hops - 1) * self.hop_latency

    def dram_cycles(self, hops: int) -> int:
        """Latency of a line read from the DRAM of a chip `hops` away (0 = local)."""
        return self.dram_latency + hops * self.dram_hop_latency

    @property
    def lookahead(self) -> int:
        """How far a core may run ahead of the next scheduled event (see `core.py`): the
        fastest transaction that reaches another core's cache, so no other core's request can
        have reached this core sooner."""
        return min(self.same_chip_cache_latency, self.remote_cache_latency)

    def seconds(self, cycles: float) -> float:
        return cycles / (self.clock_mhz * 1e6)

    def describe(self) -> str:
        """A few lines a person reads: shape, caches, latencies, protocol."""
        kb = 1024
        return "\n".join(
            [
                f"{self.name}: {self.chips} chips x {self.cores_per_chip} cores = {self.cores} "
                f"cores at {self.clock_mhz / 1000:g} GHz; chips on a ring ({self.max_hops} hops "
                "at most)",
                f"per core: L1 {self.l1_size // kb} KB {self.l1_assoc}-way ({self.l1_latency} "
                f"cycles), L2 {self.l2_size // kb} KB ({self.l2_latency} cycles); per chip: L3 "
                f"{self.l3_size // kb} KB ({self.l3_latency} cycles)",
                f"another core's cache: {self.same_chip_cache_latency} cycles on the chip, "
                f"{self.remote_cache_latency} one hop away, +{self.hop_latency} a further hop; "
                f"a line's home busy {self.home_occupancy} cycles a request",
                f"DRAM: {self.dram_latency} cycles local, +{self.dram_hop_latency} a hop; "
                f"{self.line_size}-byte lines; coherence {self.protocol}",
            ]
        )

    # -- construction ---------------------------------------------------------------------------
    def replace(self, **changes: object) -> HardwareParams:
        """A copy with some fields changed; unknown names or bad values raise ParamError."""
        names = {f.name for f in fields(self)}
        for key in changes:
            if key not in names:
                raise ParamError(
                    f"unknown hardware parameter {key!r}; known: {', '.join(sorted(names))}"
                )
        return dataclasses.replace(self, **changes)

    def with_overrides(self, pairs: dict[str, str]) -> HardwareParams:
        """Apply NAME=VALUE strings (from a command line or a text box), converting each value
        to the field's type."""
        changes = {key: _parse_field(key, text) for key, text in pairs.items()}
        return self.replace(**changes)

    @classmethod
    def preset(cls, name: str) -> HardwareParams:
        try:
            return PRESETS[name]
        except (KeyError, TypeError):  # TypeError: a list or dict is no name
            raise ParamError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None

    # -- validation -----------------------------------------------------------------------------
    def validate(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("name", "protocol"):
                if not isinstance(value, str) or not value.strip():
                    raise ParamError(f"{f.name} must be some text, not {value!r}")
            else:
                check_whole(f.name, value, *BOUNDS.get(f.name, (1, MAX_CYCLES)))
        if self.cores > MAX_CORES:
            raise ParamError(
                f"at most {MAX_CORES} cores in all, not {self.chips} x {self.cores_per_chip}"
            )
        if self.protocol not in PROTOCOLS:
            raise ParamError(
                f"protocol must be one of {', '.join(PROTOCOLS)}, not {self.protocol!r}"
            )
        for name in POWERS_OF_TWO:
            value = getattr(self, name)
            if value & (value - 1):
                raise ParamError(f"{name} must be a power of two, not {value}")
        for level in ("l1", "l2", "l3"):
            self._validate_cache(level)
        if self.l1_size > self.l2_size:  # (the L3 is a victim cache: any size)
            raise ParamError(
                f"l1_size ({self.l1_size} B) must not exceed l2_size ({self.l2_size} B): "
                "the L2 holds every line the L1 does"
            )
        if self.dram_bytes_per_chip % self.page_size:
            raise ParamError("dram_bytes_per_chip must be a whole number of pages")
        if self.dram_bytes_per_chip < MIN_PAGES_PER_CHIP * self.page_size:
            raise ParamError(
                f"dram_bytes_per_chip must hold at least {MIN_PAGES_PER_CHIP} pages "
                f"({MIN_PAGES_PER_CHIP * self.page_size} B), not {self.dram_bytes_per_chip}"
            )

    def _validate_cache(self, level: str) -> None:
        size, assoc = getattr(self, f"{level}_size"), getattr(self, f"{level}_assoc")
        if size < self.line_size:
            raise ParamError(
                f"{level}_size ({size} B) is smaller than one line ({self.line_size} B)"
            )
        lines = size // self.line_size
        if size % self.line_size or lines % assoc:
            raise ParamError(f"{level}_size must hold whole sets of {level}_assoc={assoc} lines")
        sets = lines // assoc
        if sets & (sets - 1):
            raise ParamError(f"{level} must have a power-of-two number of sets, not {sets}")


def check_whole(name: str, value: object, low: int, high: int) -> int:
    """`value` as a whole number within [low, high], or ParamError naming `name`."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ParamError(f"{name} must be a whole number, not {value!r}")
    if value <= 0 < low:
        raise ParamError(f"{name} must be positive, not {value}")
    if not low <= value <= high:
        raise ParamError(f"{name} must be between {low:,} and {high:,}, not {value:,}")
    return value


def _parse_field(key: str, text: str) -> object:
    kinds = {f.name: f.type for f in fields(HardwareParams)}
    if key not in kinds:
        known = ", ".join(sorted(kinds))
        raise ParamError(f"unknown hardware parameter {key!r}; known: {known}")
    if key in ("name", "protocol"):
        return text.strip()
    try:
        return int(str(text).replace("_", ""), 0)
    except ValueError:
        raise ParamError(f"{key} must be a whole number, not {text!r}") from None


AMD16 = HardwareParams()

# One chip, two cores, caches of a few lines: every state and cycle can be worked out by hand.
TINY = HardwareParams(
    name="tiny",
    chips=1,
    cores_per_chip=2,
    l1_size=4 * 64,  # 2 sets x 2 ways
    l1_assoc=2,
    l2_size=8 * 64,  # 4 sets x 2 ways
    l2_assoc=2,
    l3_size=16 * 64,  # 4 sets x 4 ways
    l3_assoc=4,
    dram_bytes_per_chip=1 << 20,
)

# Two chips of two cores: the smallest machine with a remote chip, for hand-worked hops.
DUO = dataclasses.replace(TINY, name="duo", chips=2)

PRESETS: dict[str, HardwareParams] = {p.name: p for p in (AMD16, TINY, DUO)}
