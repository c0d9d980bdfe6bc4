"""The claims themselves: each experiment's statements from the talk, the abstract, Corey's
source or a later measurement, with how to read the model's figure and whether it agrees."""

from __future__ import annotations

from ..base import Result
from .reading import Claim, ladder, most, ratio, threads_vs, value

# MOSBENCH's memclone, the same benchmark on Linux 2.6.35 (48-core AMD Family 10h, 2.4 GHz):
# cycles per page by cores, (processes, threads), from micro/data/memclone.data of
# github.com/KunZheng/mosbench (commit ce9d78e), the harness of Boyd-Wickizer et al., "An
# Analysis of Linux Scalability to Many Cores", OSDI 2010.
MOSBENCH = {1: (5_560, 5_802), 16: (12_690, 18_314)}
MOSBENCH_SOURCE = "MOSBENCH memclone, Linux 2.6.35 on 48-core Family 10h (OSDI 2010)"
# "About" is within 20% either way, and "clearly more" is beyond it: MOSBENCH's threads at 16
# cores pay 1.44x processes, which a claim that the real machine fails could not call "clearly".
ABOUT = 1.2


def _about(model: float, measured: float) -> bool:
    return 1 / ABOUT <= model / measured <= ABOUT


def _mosbench_per() -> float:
    return MOSBENCH[16][1] / MOSBENCH[16][0]


def _mosbench_growth(i: int) -> float:
    """16 cores over 1: i = 0 processes, 1 threads."""
    return MOSBENCH[16][i] / MOSBENCH[1][i]


def _growth(r: Result, variant: str) -> float:
    return ratio(r, variant, "cycles_per_page", 16, 1)


# -- the claims -----------------------------------------------------------------------------
CLAIMS: tuple[Claim, ...] = (
    *(
        Claim(
            "latency-ladder",
            says,
            "talk, 'Why throughput drops?'",
            lambda r, source=source: f"{ladder(r, source)} cycles",
            lambda r, source=source, cycles=cycles: ladder(r, source) == cycles,
            calibrated=True,
        )
        for says, source, cycles in (
            ("Loading the fd table from L1 takes 3 cycles.", "l1", 3),
            (
                "The same load takes 121 cycles when another core (on the same chip) has the line.",
                "same-chip-cache",
                121,
            ),
        )
    ),
    Claim(
        "fd-dup-close",
        "Threads sharing one fd table: throughput drops from 1 core to 2.",
        "talk, 'Actual FD performance'",
        lambda r: f"2 cores give {ratio(r, 'linux-threads', 'ops_per_sec', 2, 1):.2f}x of 1 core",
        lambda r: ratio(r, "linux-threads", "ops_per_sec", 2, 1) < 1,
    ),
    Claim(
        "fd-dup-close",
        "Threads sharing one fd table: no improvement with more cores (a plateau, not a rise "
        "and not a collapse).",
        "talk, 'Actual FD performance'",
        lambda r: (
            f"{most(r, 'linux-threads')} cores give {threads_vs(r, 2):.2f}x of 2 cores "
            f"({threads_vs(r, 4):.2f}x of 4)"
        ),
        lambda r: 0.5 <= threads_vs(r, 2) <= 1.5,
        why=(
            "In the model throughput falls from 2 cores to 4 and then only slowly. At 2 cores "
            "the lock passes between two cores of one chip and about two acquisitions in three "
            "find it free; from 4 cores on nearly every one waits (/proc/lock_stat's "
            "contentions), so the curve is nearly flat from there. "
            "What still grows: from 8 cores on the next "
            "holder's re-read of the lock's line mostly comes from another chip (151-181 cycles "
            "instead of 121; invalidations cost 121 anywhere, the broadcast's round trip); and "
            "every waiter of the ticket lock re-reads its line after each release, each read "
            "keeping the line's home "
            "busy for `home_occupancy` (10 cycles, an estimate), so a hand-off still costs more "
            "as waiters are added. The talk's flat line says the real Opteron served those "
            "re-reads more cheaply than this model does. Nor is it the cores' missing store "
            "buffer: with one (--param store_buffer=32, off by default) a holder's stores no "
            "longer stall it, 2 to 16 cores gain 16-36% (3.31M ops/s at 2 cores, 1.58M at 16), "
            "and 16 cores still give less than half of 2. With `home_occupancy` as long as a "
            "transfer the curve collapses instead, as 'Non-scalable locks are dangerous' "
            "(Boyd-Wickizer et al., 2012) measured on larger machines."
        ),
    ),
    Claim(
        "fd-dup-close",
        "With FD shares (a table per thread): no drop, and throughput scales linearly.",
        "talk, 'Performance is now ideal'",
        lambda r: (
            f"{most(r, 'linux-fdshares')} cores give "
            f"{ratio(r, 'linux-fdshares', 'ops_per_sec', most(r, 'linux-fdshares'), 1):.1f}x "
            "of 1 core"
        ),
        lambda r: (
            ratio(r, "linux-fdshares", "ops_per_sec", most(r, "linux-fdshares"), 1)
            >= 0.75 * most(r, "linux-fdshares")
        ),
    ),
    Claim(
        "shares",
        "One global share stops scaling; a share per core scales with the cores.",
        "paper, shares microbenchmark (corey-notes: 'Shares')",
        lambda r: (
            f"16 cores vs 1: global {ratio(r, 'corey-global-share', 'ops_per_sec', 16, 1):.1f}x,"
            f" per-core {ratio(r, 'corey-percore-shares', 'ops_per_sec', 16, 1):.1f}x"
        ),
        lambda r: (
            ratio(r, "corey-percore-shares", "ops_per_sec", 16, 1) >= 12
            and ratio(r, "corey-global-share", "ops_per_sec", 16, 1) < 4
        ),
    ),
    Claim(
        "object-naming",
        "A global table of kernel objects makes cores contend for shared data; Corey's "
        "per-core tables and per-core id counters (core number in the top bits) do not.",
        "talk, 'Object naming in an OS'; corey-notes, 'Corey mechanisms' (per-core ids)",
        lambda r: (
            f"{most(r, 'corey-percore')} cores vs 1: global table "
            f"{_scaling(r, 'global-table'):.2f}x, per core {_scaling(r, 'corey-percore'):.1f}x;"
            f" line transfers per op {value(r, 'global-table', 'line_transfers_per_op'):.1f} vs "
            f"{value(r, 'corey-percore', 'line_transfers_per_op'):.1f}"
        ),
        lambda r: (
            _scaling(r, "global-table") < 1
            and _scaling(r, "corey-percore") >= 0.75 * most(r, "corey-percore")
            and value(r, "corey-percore", "line_transfers_per_op") == 0
        ),
    ),
    Claim(
        "memclone",
        "At 16 cores threads (one mm_struct) pay clearly more per page than separate processes; "
        "Corey's private address ranges cost about what processes do.",
        "talk, 'Cost of two options'; paper, memclone",
        lambda r: (
            "16 cores, cycles per page: threads "
            + ", processes ".join(
                f"{value(r, v, 'cycles_per_page', 16):,.0f}"
                for v in ("linux-threads", "linux-procs")
            )
            + f", Corey {value(r, 'corey-ar', 'cycles_per_page', 16):,.0f} "
            f"(threads {_per(r, 'linux-threads', 'linux-procs'):.2f}x processes)"
        ),
        lambda r: (
            _per(r, "linux-threads", "linux-procs") > ABOUT
            and _per(r, "corey-ar", "linux-procs") < ABOUT
        ),
    ),
    Claim(
        "memclone",
        f"One core: a zero-fill page fault, zeroing included, costs about "
        f"{MOSBENCH[1][0]:,} cycles a page (a process; a thread {MOSBENCH[1][1]:,}).",
        MOSBENCH_SOURCE,
        lambda r: f"1 core: {value(r, 'linux-procs', 'cycles_per_page', 1):,.0f} cycles per page",
        # fault_work_cycles is set so 1,024 pages land within 2% (test_calibration); at fewer
        # pages a run's one-off costs (the mmap, the first page-table pages) weigh a little more
        lambda r: abs(value(r, "linux-procs", "cycles_per_page", 1) / MOSBENCH[1][0] - 1) <= 0.05,
        calibrated=True,
    ),
    Claim(
        "memclone",
        f"At 16 cores threads pay about {_mosbench_per():.2f}x what processes pay per page "
        f"({MOSBENCH[16][1]:,} vs {MOSBENCH[16][0]:,} cycles).",
        MOSBENCH_SOURCE,
        lambda r: (
            f"16 cores: threads {_per(r, 'linux-threads', 'linux-procs'):.2f}x processes "
            f"({value(r, 'linux-threads', 'cycles_per_page', 16):,.0f} vs "
            f"{value(r, 'linux-procs', 'cycles_per_page', 16):,.0f} cycles)"
        ),
        lambda r: _about(_per(r, "linux-threads", "linux-procs"), _mosbench_per()),
    ),
    Claim(
        "memclone",
        f"From 1 core to 16 the cost per page grows {_mosbench_growth(0):.1f}x for processes "
        f"and {_mosbench_growth(1):.1f}x for threads: even private address spaces share "
        "something.",
        MOSBENCH_SOURCE,
        lambda r: (
            f"16 cores vs 1: processes {_growth(r, 'linux-procs'):.2f}x, "
            f"threads {_growth(r, 'linux-threads'):.2f}x"
        ),
        lambda r: (
            _about(_growth(r, "linux-procs"), _mosbench_growth(0))
            and _about(_growth(r, "linux-threads"), _mosbench_growth(1))
        ),
        why=(
            "In the model a process pays more only while the cores of one chip come to share "
            "its memory controller (1 to 4 cores: zeroing a page is 64 streaming stores, at "
            "`dram_cycles_per_line`, an estimate); from 4 cores on each chip brings its own and "
            "the cost stays flat. MOSBENCH's processes also rise within one chip (to 13,762 "
            "cycles at 6 cores, its chip's six) and then stay near 13,000-15,000, which "
            "suggests (an inference: the data do not say which) that what they share is per "
            "chip: besides the controller, Linux refills its per-CPU page lists under the "
            "zone lock and adds pages to the LRU under the LRU lock, both of the chip's NUMA "
            "node, which the model leaves out (its per-CPU page lists touch no shared line). "
            "Threads pay that too, on top of the mm_struct, so their growth falls short as "
            "well; the ratio of threads to processes (the row before) cancels much of what "
            "both miss and comes out close."
        ),
    ),
    Claim(
        "mempass",
        "Private address spaces: each core soft-faults on every page another core already "
        "touched; a shared address space or a shared address range takes no soft fault (one "
        "page table).",
        "talk, 'More costs: soft page faults'",
        lambda r: (
            f"16 cores, soft faults: processes {value(r, 'linux-procs', 'soft_faults', 16)}, "
            f"threads {value(r, 'linux-threads', 'soft_faults', 16)}, "
            f"Corey {value(r, 'corey-ar', 'soft_faults', 16)} "
            f"({r.params['pages']} pages)"
        ),
        lambda r: (
            value(r, "linux-procs", "soft_faults", 16)
            >= 15 * value(r, "linux-threads", "soft_faults", 16)
            and value(r, "corey-ar", "soft_faults", 16)
            == value(r, "linux-threads", "soft_faults", 16)
        ),
    ),
    Claim(
        "tlb-shootdown",
        "munmap in a shared address space interrupts every core that ran it; unmapping in an "
        "address range interrupts only the cores that mount that range.",
        "paper, address ranges (corey-notes: 'Corey mechanisms'); Linux 2.6.27 flush_tlb_others",
        lambda r: (
            f"{most(r, 'linux-threads', 2)} cores, cores interrupted per unmap: threads "
            f"{value(r, 'linux-threads', 'ipis_per_unmap'):g}, shared range "
            f"{value(r, 'corey-shared-range', 'ipis_per_unmap'):g} "
            f"({r.params['sharers']} cores mount each), private range "
            f"{value(r, 'corey-private-range', 'ipis_per_unmap'):g}"
        ),
        lambda r: (
            value(r, "linux-threads", "ipis_per_unmap") == most(r, "linux-threads", 2) - 1
            and value(r, "corey-shared-range", "ipis_per_unmap")
            == min(r.params["sharers"], most(r, "corey-shared-range", 2)) - 1
            and value(r, "corey-private-range", "ipis_per_unmap") == 0
        ),
    ),
    Claim(
        "tlb-shootdown",
        "So an unmap costs threads more with every core added, and a range's users only as "
        "many interrupts as it has users.",
        "follows from the claim above; the cost of one interrupt is an estimate (ipi_cycles)",
        lambda r: (
            f"cycles per unmap, {most(r, 'linux-threads')} cores vs 1: threads "
            f"{_unmap_growth(r, 'linux-threads'):.0f}x, shared range "
            f"{_unmap_growth(r, 'corey-shared-range'):.0f}x, private range "
            f"{_unmap_growth(r, 'corey-private-range'):.1f}x"
        ),
        lambda r: (
            _unmap_growth(r, "linux-threads") > 2 * _unmap_growth(r, "corey-shared-range")
            and _unmap_growth(r, "corey-private-range") < 1.5
        ),
    ),
    Claim(
        "mapreduce",
        "On Linux a shared address space (threads) is faster than private ones (processes): "
        "fewer soft page faults.",
        "talk, 'MapReduce application'",
        lambda r: (
            f"16 cores: threads {value(r, 'linux-threads', 'seconds', 16) * 1e6:,.1f} us, "
            f"processes {value(r, 'linux-procs', 'seconds', 16) * 1e6:,.1f} us "
            f"(processes {_procs_over_threads(r):+.1%})"
        ),
        lambda r: _procs_over_threads(r) >= MAPREDUCE_TIE,
        why=(
            "A tie, not a ranking: at the paper's scale the seed decides (threads 0.6% ahead at "
            "seed 0, processes 0.6% ahead at seed 1), and the order swaps back and forth as the "
            "input grows (the lesson's size sweep). The two costs the talk names balance. "
            "Measured per core at 16 cores: processes take 98 soft faults more (their input, and "
            "in reduce every other heap's blocks of their partition) at about 5,400 cycles each, "
            "0.53M cycles (a soft fault pays the trap and the fault's work as a zero-fill one "
            "does: an estimate); threads wait for the mm_struct, about 2,400 cycles more on each "
            "of their 72 map faults and 3,800 on each of their 65 reduce faults than a private "
            "mm's, and spend 0.1M cycles more in mmap/brk: 0.51M. The talk measured the soft "
            "faults as the larger cost."
        ),
    ),
    Claim(
        "mapreduce",
        "On 16 cores 30% of the execution time goes to growing the address space.",
        "talk, 'Many applications spend time in the kernel'",
        lambda r: (
            f"threads at 16 cores: vm_fraction {value(r, 'linux-threads', 'vm_fraction', 16):.2f}"
            f" (processes {value(r, 'linux-procs', 'vm_fraction', 16):.2f}, Corey "
            f"{value(r, 'corey', 'vm_fraction', 16):.2f})"
        ),
        lambda r: 0.2 <= value(r, "linux-threads", "vm_fraction", 16) <= 0.4,
        why=(
            "vm_fraction is the cores' cycles in faults and in mmap/brk over all core time, "
            "measured. Most of it is the faults' own work: a zero-fill fault costs about 5,900 "
            "cycles where nothing contends (the fault's work is calibrated on MOSBENCH's "
            "memclone, 5,560 cycles a page on one core), so Corey's share is 0.21 at the "
            "paper's scale; the threads' waits on the mm_struct add the rest. What it is a "
            "share of rests on an estimate, the map's 40 cycles a word. glibc grows a thread's "
            "arena a page at a time (grow_heap -> mprotect); modelled so, threads' vm_fraction "
            "is 0.83 and Corey 5x faster, far beyond the paper's 25%, so the model keeps "
            "128 KB steps (see the experiment's header)."
        ),
    ),
    Claim(
        "mapreduce",
        "On Linux, contention on the address space makes the reduce phase's share of the run "
        "grow from 5% at 7 cores to almost 30% at 16.",
        "paper, introduction (on its section 8.5.1)",
        lambda r: (
            f"threads, reduce's share: {_reduce_share(r, 8):.0%} at 8 cores, "
            f"{_reduce_share(r, 16):.0%} at 16"
        ),
        lambda r: _reduce_share(r, 8) < 0.15 and _reduce_share(r, 16) > 2 * _reduce_share(r, 8),
        why=(
            "In the model reduce is heavy whatever the contention: 37% of the threads' run at "
            "8 cores and 36% at 16 (the paper's scale), and a third of Corey's, which contends "
            "on nothing. Measured in the threads' reduce at 16 cores, per core: 40% is "
            "zero-fill faults on its output (65 at 9,900 cycles: a reducer copies every entry "
            "into fresh pages, as many as the map filled), 38% loads of the entries, each a "
            "miss to the cache of the core that wrote it (147 cycles: at 1:512 the heaps still "
            "sit in their writers' caches, and the prefetcher follows DRAM misses only), 15% "
            "the copies' instruction work. The paper's reducers take a few per cent of the run "
            "until contention sets in."
        ),
    ),
    Claim(
        "mapreduce",
        "With address ranges Corey is about 25% faster than Linux at 16 cores.",
        "paper, abstract",
        lambda r: (
            f"Corey is {_corey_gain(r):+.0%} faster than the faster Linux variant "
            f"({_corey_gain(r, ('linux-threads',)):+.0%} than threads, the layout Metis runs "
            "on Linux)"
        ),
        lambda r: 0.15 <= _corey_gain(r) <= 0.35,  # about 25%: within 10 points, as the 30%
        why=(
            "Corey gains what address ranges remove, and no more. Measured at 16 cores: a "
            "thread's fault costs 8,300 cycles in map and 9,900 in reduce against Corey's "
            "5,900 and 6,000 (the difference is the wait for mmap_sem and the mm's lines), and "
            "threads spend 0.1M cycles a core more in mmap/brk: 0.5M cycles a core of a "
            "4.5M-cycle run, so Corey is about 12% ahead, not 25%. Over processes it saves "
            "their soft faults, about as much. How large a share of the run that contention "
            "is rests on estimates: the map's instruction work (40 cycles a word) and the "
            "fault path's costs (kernel/params.py)."
        ),
    ),
    Claim(
        "tcp-connections",
        "Corey with a dedicated kernel core scales nearly linearly with application cores.",
        "paper, TCP microbenchmark (corey-notes: 'Kernel cores, TCP')",
        lambda r: (
            f"16 cores (15 application cores) vs 2 (1): "
            f"{ratio(r, 'corey-dedicated', 'conns_per_sec', 16, 2):.1f}x"
        ),
        lambda r: ratio(r, "corey-dedicated", "conns_per_sec", 16, 2) >= 8,
        why=(
            "The line bends where one kernel core fills: its own work per connection "
            "(kernel_core_cycles; at the default, 6.8k cycles at 16 cores: ring slots, "
            "device_buf calls with five card-register writes, card polling, Corey's steps in "
            "kern/sysmon.c and kern/dev/e1000.c) against an application core's stack (69.5k "
            "alone, from the calibrated stack costs): at the default about ten application "
            "cores per kernel core. With lighter stacks (the model's first estimates, "
            "NetParams.scale_stack(1/8): 154k 355k 334k 288k at 2/4/8/16) or more application "
            "cores (a 64-core machine) one kernel core fills earlier; a store buffer "
            "(--param store_buffer=32 gives 416k at 16 cores) or more kernel cores "
            "(--param kernel_cores=2) move the point where it fills."
        ),
    ),
    Claim(
        "tcp-connections",
        "Linux's throughput stops scaling after about 4 cores.",
        "paper, TCP microbenchmark (corey-notes: 'Kernel cores, TCP')",
        lambda r: f"16 cores vs 4: {ratio(r, 'linux', 'conns_per_sec', 16, 4):.2f}x",
        lambda r: ratio(r, "linux", "conns_per_sec", 16, 4) < 2,
    ),
    Claim(
        "tcp-connections",
        "L3 misses per connection grow with cores on Linux and stay about flat with a "
        "dedicated kernel core.",
        "paper, TCP microbenchmark",
        lambda r: (
            f"16 cores vs 2: Linux {ratio(r, 'linux', 'l3_misses_per_conn', 16, 2):.2f}x, "
            f"dedicated {ratio(r, 'corey-dedicated', 'l3_misses_per_conn', 16, 2):.2f}x"
        ),
        lambda r: (
            ratio(r, "linux", "l3_misses_per_conn", 16, 2) > 1.5
            and ratio(r, "corey-dedicated", "l3_misses_per_conn", 16, 2) < 1.5
        ),
    ),
    Claim(
        "webserver",
        "Dedicating cores to the network stack lets the web server serve more than Linux.",
        "paper, web server application (corey-notes: 'Web server')",
        lambda r: (
            f"{most(r, 'linux')} cores: Corey "
            f"{value(r, 'corey-dedicated', 'requests_per_sec'):,.0f}, "
            f"Linux {value(r, 'linux', 'requests_per_sec'):,.0f} requests/s"
        ),
        lambda r: (
            value(r, "corey-dedicated", "requests_per_sec") > value(r, "linux", "requests_per_sec")
        ),
    ),
)


def _per(r: Result, variant: str, base: str) -> float:
    """cycles_per_page of `variant` over `base`'s, at 16 cores."""
    return value(r, variant, "cycles_per_page", 16) / value(r, base, "cycles_per_page", 16)


MAPREDUCE_TIE = 0.01  # seeds 0-2 move the 16-core times of the default run by under 1%


def _procs_over_threads(r: Result) -> float:
    """How much longer processes take than threads at 16 cores (negative: processes faster)."""
    return value(r, "linux-procs", "seconds", 16) / value(r, "linux-threads", "seconds", 16) - 1


def _reduce_share(r: Result, cores: int) -> float:
    row = {m: value(r, "linux-threads", m, cores) for m in ("reduce_seconds", "seconds")}
    return row["reduce_seconds"] / row["seconds"]


def _corey_gain(r: Result, linux_variants=("linux-threads", "linux-procs")) -> float:
    linux = min(value(r, v, "seconds", 16) for v in linux_variants)
    return linux / value(r, "corey", "seconds", 16) - 1


def _scaling(r: Result, variant: str) -> float:
    """Throughput on the most cores the variant ran, over its throughput on one."""
    return ratio(r, variant, "ops_per_sec", most(r, variant), 1)


def _unmap_growth(r: Result, variant: str) -> float:
    return ratio(r, variant, "cycles_per_unmap", most(r, variant), 1)
