"""The system-call ring: how a Corey application pcore hands calls to a kernel core through
shared memory, with no trap (Corey's inc/jsysmon.h, lib/jsysmon.c, kern/sysmon.c).

What it models
  Ring   51 slots of 10 words (sc_num, a1..a7, ret, flag), packed as Corey packs them (a slot
         is 80 bytes, so slots straddle lines), in a page on the application's chip; the
         application's `jsm.next_slot` on a line of that chip and the kernel core's
         `sysmon.next_slot` on a line of the kernel core's chip.
  Both sides of the protocol: the application's `ring_submit` / `ring_wait` (`ring_call`),
  and `ring_post` for a call nobody waits for; the kernel core's `serve` (sysmon_poll) and
  `answer`. What a call does once served is the kernel core's business (`kernel_core.py`).

A slot's flag, in the order the two sides write it (an application spins on its flag while it
waits; a kernel core polls the next slot's flag):

  writer       flag before                 flag after                  meaning
  application  0                           INUSE                       slot taken
  application  INUSE                       INUSE|KERN_CALL|KERN_RET    sc_num, args written
  kernel core  INUSE|KERN_CALL|KERN_RET    INUSE|KERN_RET              call seen, args read
  kernel core  INUSE|KERN_RET              INUSE                       `ret` written
  application  INUSE                       0                           `ret` read, slot free
  a posted call (`ring_post`, nobody waits for it):
  application  0                           INUSE|KERN_CALL             sc_num, args written
  kernel core  INUSE|KERN_CALL             0                           args copied; then it runs

A call that fails leaves a negative errno in `ret`; the error itself waits in `Ring.errors`
for the application to raise. An accept with nothing queued is parked (`PARKED`): its slot
keeps KERN_RET until the kernel core answers it.

What it leaves out: the fallback to a trap when the ring is full (a full ring is EBUSY for
`ring_submit`; `ring_post` waits for its slot), and more than one ring per application pcore.

Invariants: the kernel core runs slots in ring order and never skips one; each side writes its
own `next_slot` only; a slot is reused only once its flag is 0.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from ..hardware.core import Core, Op
from .base import Errno, KernelError, Task
from .jnic import JNic
from .objects import Struct

SLOTS, SLOT_WORDS = 51, 10  # Corey's SM_NUM_SLOTS and sizeof(struct jsm_slot) / 8
RET, FLAG = 8, 9  # word offsets of ret and flag in a slot
INUSE, KERN_CALL, KERN_RET = 0x10, 0x20, 0x40  # SYSMON_USER_INUSE, _KERN_CALL, _KERN_RET
SYS_NULL, SYS_ACCEPT, SYS_RECV, SYS_WRITE, SYS_CLOSE, SYS_DEVICE_BUF = 1, 2, 3, 4, 5, 6
NARGS = {SYS_NULL: 0, SYS_ACCEPT: 1, SYS_RECV: 1, SYS_WRITE: 2, SYS_CLOSE: 1, SYS_DEVICE_BUF: 2}
PARKED = object()  # a call the kernel core answers later
POSTED = object()  # a device_buf call: it returns nothing (0 if the caller waits)


class Ring:
    """A system-call ring: 51 packed slots in a page of the application's chip; the
    application's `jsm.next_slot` and the kernel core's `sysmon.next_slot`, each on its line.
    (`kcore` is the `kernel_core.KernelCore` that serves it, named here, not imported.)"""

    def __init__(self, machine, name: str, app: Task, kcore: Any) -> None:
        self.name, self.app, self.kcore = name, app, kcore
        chip = app.core.chip
        self.s = Struct(machine, name, {"slots": [("w", SLOTS * SLOT_WORDS)]}, chip)
        self.user = Struct(machine, f"{name}.jsm", {"jsm": ["next_slot"]}, chip)
        self.kern = Struct(machine, f"{name}.sysmon", {"sysmon": ["next_slot"]},
                           kcore.task.core.chip)  # fmt: skip
        self.errors: dict[int, KernelError] = {}  # slot -> the error its call returned
        self.jnic: JNic | None = None  # the application's buffers its device_buf calls name

    def word(self, slot: int, w: int) -> int:
        return self.s["w", slot * SLOT_WORDS + w]


# -- the application's side (Corey's lib/jsysmon.c) -----------------------------------------------
def ring_call(task: Task, sysno: int, *args: int) -> Op:
    """A system call through the task's ring: submit, then wait for the result."""
    slot = yield from ring_submit(task, sysno, *args)
    return (yield from ring_wait(task, slot))


def ring_submit(task: Task, sysno: int, *args: int) -> Op:
    """jsm_next_slot + jsm_call_*: take the next slot (EBUSY if it is still in use), write
    the call, raise KERN_CALL|KERN_RET. Returns the slot."""
    ring = task.ring
    if ring is None or len(args) > RET - 1:
        raise KernelError(Errno.EINVAL, f"{task.name} has no ring, or too many arguments")
    core = task.core
    slot = yield from core.load(ring.user["next_slot"])
    flag = yield from core.load(ring.word(slot, FLAG))
    if flag & INUSE:
        raise KernelError(Errno.EBUSY, f"{ring.name}: all {SLOTS} slots are in use")
    yield from core.store(ring.word(slot, FLAG), INUSE)
    yield from core.store(ring.user["next_slot"], (slot + 1) % SLOTS)
    for w, value in enumerate((sysno, *args)):
        yield from core.store(ring.word(slot, w), value)
    yield from core.store(ring.word(slot, FLAG), INUSE | KERN_CALL | KERN_RET)
    return slot


def ring_post(task: Task, sysno: int, *args: int) -> Op:
    """A call nobody waits for (jsm_call_* without a wait): flag INUSE|KERN_CALL; the
    kernel core frees the slot when it has run it. With the next slot still in use, the
    application waits for it."""
    ring, core = task.ring, task.core
    slot = yield from core.load(ring.user["next_slot"])
    if (yield from core.load(ring.word(slot, FLAG))) & INUSE:
        yield from core.spin_until(ring.word(slot, FLAG), lambda v: not v & INUSE)
    yield from core.store(ring.user["next_slot"], (slot + 1) % SLOTS)
    for w, value in enumerate((sysno, *args)):
        yield from core.store(ring.word(slot, w), value)
    yield from core.store(ring.word(slot, FLAG), INUSE | KERN_CALL)


def ring_wait(task: Task, slot: int) -> Op:
    """Spin on the slot's flag until the kernel core clears KERN_RET; free the slot; return
    `ret`, or raise the call's error."""
    ring, core = task.ring, task.core
    flag = yield from core.spin_until(ring.word(slot, FLAG), lambda v: not v & KERN_RET)
    ret = yield from core.load(ring.word(slot, RET))
    yield from core.store(ring.word(slot, FLAG), flag & ~INUSE)
    if ret < 0:
        raise ring.errors.pop(slot)
    return ret


# -- the kernel core's side (Corey's kern/sysmon.c) -----------------------------------------------
Run = Callable[[Ring, int, list], Op]  # (ring, sysno, args) -> its result, PARKED, POSTED


def serve(core: Core, ring: Ring, run: Run, dispatch_cycles: int, parked: deque) -> Op:
    """sysmon_poll: run slots in ring order while the next one has KERN_CALL; a parked call's
    (ring, slot) goes on `parked`. Returns whether it served any. As sysmon.c does, a call
    nobody waits for (no KERN_RET) has its slot freed as soon as its arguments are copied,
    before it runs: the flag's line is written while the kernel core holds it, not again
    after the call (when the application may be writing the next slot on the same line)."""
    served = False
    slot = yield from core.load(ring.kern["next_slot"])
    while (flag := (yield from core.load(ring.word(slot, FLAG)))) & KERN_CALL:
        sysno, args = yield from _take(core, ring, slot, flag)
        waited = flag & KERN_RET
        yield from core.compute(dispatch_cycles)
        try:
            ret = yield from run(ring, sysno, args)
        except KernelError as e:
            ring.errors[slot], ret = e, -int(e.errno)
        if ret is PARKED:
            parked.append((ring, slot))
        elif waited:
            yield from answer(core, ring, slot, 0 if ret is POSTED else ret)
        else:
            ring.errors.pop(slot, None)  # nobody reads a posted call's result
        slot = (slot + 1) % SLOTS
        yield from core.store(ring.kern["next_slot"], slot)
        served = True
    return served


def _take(core: Core, ring: Ring, slot: int, flag: int) -> Op:
    """Clear the slot's KERN_CALL, read sc_num and its arguments; free the slot at once if
    nobody waits for the call. Returns (sysno, args)."""
    yield from core.store(ring.word(slot, FLAG), flag & ~KERN_CALL)
    sysno = yield from core.load(ring.word(slot, 0))
    args = []
    for w in range(1, 1 + NARGS.get(sysno, 0)):
        args.append((yield from core.load(ring.word(slot, w))))
    if not flag & KERN_RET:
        yield from core.store(ring.word(slot, FLAG), flag & ~(KERN_CALL | INUSE))
    return sysno, args


def answer(core: Core, ring: Ring, slot: int, ret: int) -> Op:
    """Write a waited-for call's `ret` and clear its KERN_RET: the application may read it."""
    yield from core.store(ring.word(slot, RET), ret)
    flag = yield from core.load(ring.word(slot, FLAG))
    yield from core.store(ring.word(slot, FLAG), flag & ~KERN_RET)
