"""The simulated multicore: parameters, coherence protocols, caches, cores and the machine.

Read in this order: `params` (every tunable), `protocols` (the coherence tables), `caches`
(tags and LRU), `memory` (DRAM, values, labels), `topology` (every path a line can take and its
cost), `prefetcher` (which DRAM misses a core's prefetcher fetched ahead), `core` (a core's
clock and its operations), `machine` (coherence transactions, latency, contention, counters).
"""

from .machine import Machine
from .memory import OutOfMemory, PhysicalMemory
from .params import PRESETS, HardwareParams, ParamError
from .protocols import (
    PROTOCOL_TABLES,
    PROTOCOLS,
    STATE_FACTS,
    Action,
    Event,
    Protocol,
    ProtocolError,
    State,
)

__all__ = [
    "PRESETS",
    "PROTOCOLS",
    "PROTOCOL_TABLES",
    "STATE_FACTS",
    "Action",
    "Event",
    "HardwareParams",
    "Machine",
    "OutOfMemory",
    "ParamError",
    "PhysicalMemory",
    "Protocol",
    "ProtocolError",
    "State",
]
