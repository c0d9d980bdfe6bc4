"""Small runs on the simulated machine for lessons and exercises: one idea each, a few lines.

Each function builds a fresh machine from `hw` (a HardwareParams; amd16 by default), runs a
tiny program on it and returns the machine (its trace, counters and memory hold the outcome),
or a small dict when one number is the point. Nothing here computes an answer itself: the
numbers come from the run.
"""

from __future__ import annotations

from .hardware import HardwareParams, Machine
from .workloads.harness import run_program

MAX_ROUNDS = 100_000  # a lesson's loop: seconds of simulation at most


def _machine(hw: HardwareParams | None) -> Machine:
    return Machine(hw or HardwareParams.preset("amd16"))  # a bad hw: ParamError


def _whole(name: str, value: object, low: int, high: int) -> int:
    """A whole-number argument within [low, high], or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, not {value!r:.40}")
    return value


def _steps(ops: object, cores: int) -> list[tuple[int, str]]:
    """`ops` checked: a list of (core, "load" or "store") on this machine's cores."""
    if isinstance(ops, str | bytes) or not isinstance(ops, list | tuple) or not ops:
        raise ValueError(f"ops must be a list of (core, 'load' or 'store'), not {ops!r:.40}")
    for step in ops:
        if not isinstance(step, tuple | list) or len(step) != 2 or step[1] not in ("load", "store"):
            raise ValueError(f"each step is (core, 'load' or 'store'), not {step!r:.40}")
        _whole("a step's core", step[0], 0, cores - 1)
    return [tuple(step) for step in ops]


def run_ops(hw: HardwareParams | None, ops: list[tuple[int, str]]) -> tuple[Machine, int]:
    """Loads and stores of one line `x` by the given cores, one after another, in order.
    Returns the machine and x's line number."""
    m = _machine(hw)
    ops = _steps(ops, m.params.cores)
    x = m.memory.alloc(m.params.line_size, chip=0, label="x")
    for core_id, op in ops:
        core = m.cores[core_id]
        run_program(core, core.load(x) if op == "load" else core.store(x, core.id))
    return m, m.line_of(x)


def parse_ops(text: str, cores: int = 2) -> list[tuple[int, str]]:
    """'0w 1r 0w' -> [(0, "store"), (1, "load"), (0, "store")]; a clear ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"steps are text such as '0w 1r 0w', not {text!r:.40}")
    ops = []
    for word in text.replace(",", " ").split():
        core, kind = word[:-1], word[-1:].lower()
        if not core.isdigit() or kind not in ("r", "w") or not 0 <= int(core) < cores:
            raise ValueError(
                f"{word!r} is not a step: write core number then r or w, e.g. '0w 1r' "
                f"(cores 0..{cores - 1})"
            )
        ops.append((int(core), "load" if kind == "r" else "store"))
    if not ops:
        raise ValueError("no steps: write e.g. '0w 1r 0w'")
    return ops


def coherence_walk(ops: list[tuple[int, str]], hw: HardwareParams | None = None) -> list[dict]:
    """Run the steps one at a time on one line and report, after each, what the access cost,
    where the data came from and every core's state for the line."""
    rows = []
    m = _machine(hw)
    ops = _steps(ops, m.params.cores)
    x = m.memory.alloc(m.params.line_size, chip=0, label="x")
    line = m.line_of(x)
    for step, (core_id, op) in enumerate(ops, 1):
        core = m.cores[core_id]
        before = max(core.local, m.env.now)
        run_program(core, core.load(x) if op == "load" else core.store(x, step))
        held = m.states(line)
        recs = [r for r in m.trace.records if r.t_start >= before and r.kind != "evict"]
        rows.append(
            {
                "step": step,
                "access": f"core {core_id} {op}s x",
                "cycles": m.cores[core_id].local - before,
                "source": recs[-1].source if recs else "hit",
                "states": " ".join(held.get(c, "I") for c in range(m.params.cores)),
            }
        )
    return rows


def load_after_write(writer: int, reader: int = 0, hw: HardwareParams | None = None) -> dict:
    """Core `writer` stores to x, then core `reader` loads it: what did the load cost?"""
    m, _ = run_ops(hw, [(writer, "store"), (reader, "load")])
    rec = m.trace.records[-1]
    p = m.params
    return {
        "writer": writer,
        "reader": reader,
        "hops": p.hops(p.chip_of(writer), p.chip_of(reader)),
        "source": rec.source,
        "cycles": rec.t_end - rec.t_start,
    }


def pass_the_counter(cores: int = 4, rounds: int = 3, hw: HardwareParams | None = None) -> Machine:
    """`cores` cores each atomically increment one shared counter `rounds` times, all at once:
    the counter's line travels from cache to cache."""
    m = _machine(hw)
    _whole("cores", cores, 1, m.params.cores)
    _whole("rounds", rounds, 0, MAX_ROUNDS)
    x = m.memory.alloc(m.params.line_size, chip=0, label="counter")

    def program(core):
        for _ in range(rounds):
            yield from core.fetch_add(x, 1)
            yield from core.compute(50)

    for c in range(cores):
        m.spawn(c, program)
    m.run()
    return m


def private_counters(
    cores: int = 4, rounds: int = 50, padded: bool = True, hw: HardwareParams | None = None
) -> Machine:
    """Each core increments its own counter (load, add, store) `rounds` times. Padded, each
    counter has a line of its own; packed, they share lines: false sharing."""
    m = _machine(hw)
    _whole("cores", cores, 1, m.params.cores)
    _whole("rounds", rounds, 0, MAX_ROUNDS)
    stride = m.params.line_size if padded else 8
    base = m.memory.alloc(stride * cores, chip=0)
    for c in range(cores):
        m.memory.label(base + c * stride, 8, "counters" if not padded else f"counter[{c}]")

    def program(core):
        addr = base + core.id * stride
        for _ in range(rounds):
            value = yield from core.load(addr)
            yield from core.compute(20)
            yield from core.store(addr, value + 1)

    for c in range(cores):
        m.spawn(c, program)
    m.run()
    return m


def measure(
    designs: dict,
    cores: list[int] | tuple[int, ...] = (1, 2, 4, 8, 16),
    ops: int = 50,
    hw: HardwareParams | None = None,
):
    """Measure your own designs on the simulated machine, as the experiments do.

    `designs` maps a name to `(setup, work)`: `setup(machine, cores)` allocates what the
    design needs (with `machine.memory.alloc(size, chip=..., label=...)`) and returns any
    object; `work(core, state, i)` is a generator that does operation `i` on `core` with
    loads, stores, atomics and compute (`yield from core.fetch_add(addr, 1)`, ...). Each core
    runs `ops` operations. Returns a Result with, per design and core count, ops_per_sec (all
    cores together), cycles_per_op and line_transfers_per_op, ready for `viz.scaling_chart`.
    """
    from .experiments import Result

    hw = _machine(hw).params
    _whole("ops", ops, 1, MAX_ROUNDS)
    if not isinstance(designs, dict) or not all(
        isinstance(d, tuple | list) and len(d) == 2 and all(map(callable, d))
        for d in designs.values()
    ):
        raise ValueError("designs maps a name to (setup, work), two functions")
    if isinstance(cores, str | bytes) or not isinstance(cores, list | tuple | range):
        raise ValueError(f"cores must be a list of core counts, not {cores!r:.40}")
    rows = []
    for name, (setup, work) in designs.items():
        for n in cores:
            _whole("core counts", n, 1, hw.cores)
            m = Machine(hw)
            state = setup(m, n)

            done = [0] * n  # operations each core finished

            def program(core, state=state, work=work, done=done):
                for i in range(ops):
                    yield from work(core, state, i)
                    done[core.id] += 1

            for c in range(n):
                m.spawn(c, program)
            cycles = m.run()
            _check_finished(name, done, ops)
            transfers = m.counters().total("transfers")
            rows.append(
                {
                    "variant": name,
                    "cores": n,
                    "ops_per_sec": round(n * ops / hw.seconds(cycles), 1),
                    "cycles_per_op": round(cycles / ops, 2),
                    "line_transfers_per_op": round(transfers / (n * ops), 3),
                }
            )
    return Result("your-designs", {"ops": ops, "hardware": hw.name}, rows)


def _check_finished(name: str, done: list[int], ops: int) -> None:
    """Every core finished its operations, or a ValueError: the run ended because every core
    left was waiting for something no one would do (a lock never released), and its clock
    would give a throughput for work that never happened."""
    stuck = [(c, k) for c, k in enumerate(done) if k < ops]
    if stuck:
        where = ", ".join(f"core {c} after {k}" for c, k in stuck[:4])
        more = f" and {len(stuck) - 4} more" if len(stuck) > 4 else ""
        n = len(done)
        raise ValueError(
            f"{name!r} on {n} core{'s' * (n > 1)} never finished: {len(stuck)} stopped, "
            f"waiting for something no other core will do (a lock never released?): "
            f"{where}{more} of {ops} operations"
        )
