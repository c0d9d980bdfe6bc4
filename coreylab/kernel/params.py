"""Every kernel tunable in one place: the instruction work of kernel code paths, in cycles, and
the sizes of kernel structures. These are the only kernel costs that are not simulated memory
accesses; memory traffic is never written in as a number. Each value says its unit and its
source, or "estimate". Change them with `KernelParams().replace(...)`, or the groups with
`KernelParams(memory=MemoryParams(...).replace(...))`.

Every value is checked when a params object is made (ParamError naming the field): a cost in
cycles is a whole number from 0 to MAX_CYCLES; a size lies within its entry in SIZE_BOUNDS.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..hardware.params import MAX_CYCLES, ParamError, check_whole

# (smallest, largest) of each size, by field name; every other whole number is a cost in cycles.
SIZE_BOUNDS: dict[str, tuple[int, int]] = {
    "tlb_entries": (1, 65_536),
    "chunk_pages": (1, 4096),
    "ar_slots": (1, 4096),
    "ring_size": (1, 4096),
    "fifo_packets": (1, 65_536),
    "syn_backlog": (1, 65_536),
    "napi_budget": (1, 4096),
    "ehash_buckets": (1, 1 << 20),
    "ehash_locks": (1, 1 << 20),
}


def validate(params: Any) -> None:
    """Check every field of a kernel params dataclass; ParamError names the first bad one."""
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        if f.name == "split_ptlock":
            if not isinstance(value, bool):
                raise ParamError(f"split_ptlock must be True or False, not {value!r}")
        elif f.name in ("memory", "net"):
            kind = MemoryParams if f.name == "memory" else NetParams
            if not isinstance(value, kind):
                raise ParamError(f"{f.name} must be a {kind.__name__}, not {value!r}")
        elif f.name in SIZE_BOUNDS:
            check_whole(f.name, value, *SIZE_BOUNDS[f.name])
        else:  # a cost may be zero: "what if this were free?"
            check_whole(f.name, value, 0, MAX_CYCLES)


@dataclass(frozen=True)
class MemoryParams:
    """Instruction work of the memory paths, in cycles, and the sizes of the structures. The
    memory traffic of these paths is simulated, never written in here. (A lesson can also
    replace `kernel.mparams` after making the kernel: all but `tlb_entries` and `chunk_pages`,
    which are read when it is made, take effect.)"""

    fault_trap_cycles: int = 400  # page-fault exception entry and iret: estimate
    # Fault handler instructions besides its accesses (handle_mm_fault, the page's rmap, LRU
    # and accounting), calibrated: with it one core's memclone costs about 5,560 cycles a page
    # (1,024 pages), as MOSBENCH measured it on Family 10h under Linux 2.6.35 (processes 5,560,
    # threads 5,802: micro/data/memclone.data, Boyd-Wickizer et al., OSDI 2010). How the total
    # splits between this work and the page's zeroing, and that a soft fault pays the same
    # work, are estimates: no source here times either part.
    fault_work_cycles: int = 3880
    page_alloc_cycles: int = 100  # take a page off a per-CPU free list: estimate
    map_work_cycles: int = 600  # mmap/munmap/ar_* instructions beyond their accesses: estimate
    ipi_cycles: int = 2000  # per core a TLB shootdown interrupts, until it acks: estimate
    tlb_entries: int = 512  # per core: Family 10h L2 DTLB, 4 KB pages (vendor)
    chunk_pages: int = 64  # pages the allocator takes from a chip's DRAM at a time
    ar_slots: int = 64  # Corey: mappings an address range holds (its object page), at least
    # two per core on machines of more than 32 cores

    # Linux: a PTE lock per page-table page and atomic rss counters, as 2.6.27 builds for
    # NR_CPUS >= 4 (SPLIT_PTLOCK_CPUS); False: one mm->page_table_lock for every fault.
    split_ptlock: bool = True

    def __post_init__(self) -> None:
        validate(self)

    def replace(self, **changes: Any) -> MemoryParams:
        return _replace(self, changes)


@dataclass(frozen=True)
class NetParams:
    """The network's instruction work and sizes. Cycles unless marked; all estimates except the
    TCP stack's costs (`STACK_FIELDS`), calibrated together (below). One set for every variant:
    the driver's per-packet work and register writes are paid by whoever runs the driver
    (Linux's softirq, a polling pcore, a Corey kernel core), the stack's per-connection work
    by whoever runs the stack (a Linux core, a kernel core, or an application's own lwIP).

    A packet's driver work is two descriptor steps (hand the card a descriptor; take it back
    when the card is done) and one buffer step (Linux: allocate and DMA-map the skb, unmap it
    and hand it up, in e1000_clean_rx_irq / e1000_xmit_frame; Corey: lwIP's jif netif on the
    application core, pbuf_alloc and the copy between the pbuf and the card's buffer, jif.c
    low_level_input/_output). Linux's e1000 does all three on the core that runs it; Corey's
    kernel core only the descriptor steps (e1000.c e1000_add_rxbuf/_txbuf and
    e1000_intr_rx/_tx, run by e1000_poll). 2 x 50 + 150 = 250 a packet: the one estimate the
    model had for a whole packet's driver work before the split.

    The stack's costs (`STACK_FIELDS`) are calibrated as a whole to measured rates for a short
    connection (the comment above them; docs/calibration.md)."""

    ring_size: int = 64  # descriptors per receive and per transmit ring
    fifo_packets: int = 64  # packets a card holds while its receive ring is full; more: dropped
    syn_backlog: int = 128  # tcp_max_syn_backlog: SYNs beyond this many pending are dropped
    napi_budget: int = 64  # packets one interrupt or poll pass takes at most (NAPI weight)
    wire_cycles: int = 2000  # one way between a card and a client, with the client's stack
    mmio_write_cycles: int = 300  # a posted write to a card register
    irq_entry_cycles: int = 600  # interrupt entry, EOI and return
    driver_desc_cycles: int = 50  # a descriptor handed to the card, or taken back (e1000.c)
    netbuf_cycles: int = 150  # a packet's buffer: skb (Linux's e1000), pbuf + copy (lwIP's jif.c)
    # ip_rcv + tcp_v4_rcv: headers, checksums, demultiplexing. With the six costs below, the
    # TCP stack's costs are calibrated together to measured rates: with them one Linux core
    # spends about 78k cycles on a short connection (tcp-connections, linux, 1 core: 25.6k a
    # second at 2 GHz), near the middle of 59k-102k. Fastsocket's README (fastos/fastsocket,
    # "Evaluation"): 470k connections a second on 24 cores at 83% efficiency, nginx serving a
    # 64-byte file, keep-alive off, Linux 2.6.32: about 23.6k a core alone; one core's rate is
    # "very close" across its kernels (said of HAProxy; taken to hold for nginx too). mTCP
    # (Jeong et al., NSDI 2014, abstract): 70-80% of the cycles in the kernel's handling of
    # such connections. At the README's unstated clock of 2-3 GHz: 0.70 x 2e9 / 23.6k = 59k
    # to 0.80 x 3e9 / 23.6k = 102k. The split among the seven steps keeps the proportions of
    # the model's first guesses (each is 8 times its first value), and Corey's lwIP is charged
    # what Linux's steps cost: no source times either.
    rx_proto_cycles: int = 8000
    conn_request_cycles: int = 9600  # tcp_v4_conn_request: request sock, build the SYN-ACK
    # (calibrated with rx_proto_cycles to measured rates)
    create_child_cycles: int = 16000  # tcp_v4_syn_recv_sock: clone and set up the socket
    # (calibrated with rx_proto_cycles to measured rates)
    accept_cycles: int = 6400  # inet_csk_accept and the new socket's file (not modelled)
    # (calibrated with rx_proto_cycles to measured rates)
    recvmsg_cycles: int = 4800  # tcp_recvmsg of a small request (calibrated with rx_proto_cycles
    # to measured rates)
    sendmsg_cycles: int = 9600  # tcp_sendmsg + tcp_transmit_skb + ip_queue_xmit (calibrated
    # with rx_proto_cycles to measured rates)
    close_cycles: int = 12000  # tcp_close, and the teardown done when the exchange ends
    # (calibrated with rx_proto_cycles to measured rates)
    copy_cycles_per_line: int = 16  # copy one 64-byte line from the caller
    ipi_cycles: int = 500  # send a wake-up IPI
    wakeup_cycles: int = 1500  # try_to_wake_up and the switch into the woken task
    slot_dispatch_cycles: int = 60  # kernel core: decode a ring slot and call (sysmon_poll)
    ehash_buckets: int = 512  # established hash buckets (8 to a line)
    ehash_locks: int = 128  # their locks (ticket locks, 4 to a line)

    def __post_init__(self) -> None:
        validate(self)
        if self.ehash_locks > self.ehash_buckets:
            raise ParamError(
                f"ehash_locks ({self.ehash_locks}) must not exceed ehash_buckets "
                f"({self.ehash_buckets}): each lock guards at least one bucket"
            )

    # The TCP stack's own instruction work per connection (not the driver's, the rings' or the
    # card's): calibrated together, and what `scale_stack` scales.
    STACK_FIELDS = (
        "rx_proto_cycles",
        "conn_request_cycles",
        "create_child_cycles",
        "accept_cycles",
        "recvmsg_cycles",
        "sendmsg_cycles",
        "close_cycles",
    )

    def scale_stack(self, factor: float) -> NetParams:
        """A what-if: every stack cost (`STACK_FIELDS`) `factor` times as large (rounded), for
        every variant alike; driver, ring, register and wake-up costs unchanged. 1/8 gives the
        model's first estimates, before the calibration; 0.75 and 1.3 the ends of the range the
        calibration allows (about 59k and 102k cycles a connection on one Linux core)."""
        number = isinstance(factor, int | float) and not isinstance(factor, bool)
        if not (number and 0 < factor < float("inf")):  # (nan and inf fail the comparison)
            raise ParamError(f"factor must be a number above 0, not {factor!r}")
        return self.replace(**{f: round(getattr(self, f) * factor) for f in self.STACK_FIELDS})

    @property
    def packet_driver_cycles(self) -> int:
        """One packet's whole driver work, where one core runs all of it (Linux's e1000)."""
        return 2 * self.driver_desc_cycles + self.netbuf_cycles

    def replace(self, **changes: Any) -> NetParams:
        return _replace(self, changes)


@dataclass(frozen=True)
class KernelParams:
    """The instruction work of kernel code paths, in cycles: the only kernel costs that are
    not simulated memory accesses. Each subsystem adds the fields its paths need here, with
    units and a source or "estimate"; memory traffic is never written in as a number."""

    syscall_cycles: int = 100  # trap into the kernel and return (sysenter/sysexit): estimate

    # -- sleeping and waking (locks.RWSemaphore) -------------------------------------------------
    wakeup_cycles: int = 1000  # try_to_wake_up on the waker: lock the sleeper's runqueue,
    # enqueue it, send the reschedule IPI: estimate
    switch_cycles: int = 1500  # the woken core: take the IPI, schedule() into the task:
    # estimate (lmbench-era context switches on 2 GHz cores are 1-3 us with cache refills)

    # -- descriptors: Linux files (descriptors.py) ----------------------------------------------
    fd_lookup_cycles: int = 10  # fcheck_files: bounds check, index the fd array: estimate
    fd_alloc_cycles: int = 30  # locate_fd: find_next_zero_bit over a bitmap word: estimate
    fd_expand_cycles: int = (
        2000  # alloc_fdtable: kmalloc the table, its fd array, bitmaps: estimate
    )
    file_open_cycles: int = 1500  # open(): path walk, set up a struct file: estimate
    file_close_cycles: int = 60  # filp_close: flush, dnotify, POSIX locks: estimate
    copy_cycles_per_line: int = 16  # copy_to_user/copy_from_user of one 64-byte line: estimate

    # -- descriptors: Corey shares (shares.py) ---------------------------------------------------
    share_hash_cycles: int = 10  # hash an object id and compare one map slot: estimate
    kobj_alloc_cycles: int = 200  # set up a kernel object's header on its page: estimate

    # -- address spaces and the network, grouped (address_space.py and its parts, devices.py) --
    memory: MemoryParams = field(default_factory=lambda: MemoryParams())
    net: NetParams = field(default_factory=lambda: NetParams())

    def __post_init__(self) -> None:
        validate(self)

    def replace(self, **changes: Any) -> KernelParams:
        return _replace(self, changes)


def _replace(params: Any, changes: dict[str, Any]) -> Any:
    """A copy with some fields changed; an unknown name is a ParamError listing the known."""
    names = {f.name for f in dataclasses.fields(params)}
    for key in changes:
        if key not in names:
            known = ", ".join(sorted(names))
            raise ParamError(f"unknown {type(params).__name__} field {key!r}; known: {known}")
    return dataclasses.replace(params, **changes)
