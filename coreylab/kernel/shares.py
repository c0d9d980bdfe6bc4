"""Corey's kernel objects and shares: the Corey half of the descriptor subsystem.

(The Linux half, files_struct and FD shares, is `descriptors.py`, which re-exports this class
and compares the two designs in its header.)

What it models (Corey's kern/share.c, kern/map.c, lib/hashtable.c, kern/processor.c):

  <kind>[id]        a kernel object: its own page on the chip the caller names, its id from the
                    creating core's own counter (core number in the top bits: no shared counter)
    .hdr            id, type, refcnt (how many share entries point at it)
  share[id]         a kernel object that maps object ids to objects:
    .lock           an MCS reader-writer lock: tail, readers, writer (write-locked to add or
                    remove, read-locked to look up)
    .map            size: entries in use
    .slots          `capacity(SHARE_SLOTS)` entries (id, ptr, count), two to a line: open
                    addressing with linear probing and tombstones, as Corey's hashtable
  pcore[i]          a pcore's share map on its chip:
    .lock           an MCS lock, taken by every call that writes the map (share_alloc,
                    share_grant, share_drop), so two grants to one pcore cannot both take
                    the same free slot; the pcore itself reads its map without it (an entry
                    becomes visible by its id, stored last)
    .share_map      `capacity(PCORE_SHARES)` (share id, share ptr) slots

A pcore holds shares in its share map, never through another share (Corey also entered a new
share in a share; the lab does not, so no share is ever an object of a share). Every call
names an object by (share id, object id) and finds the share in the caller's own share map
first, so a pcore reaches only objects in shares it holds: a share it does not hold
is EACCES (or ENOENT if no such share exists), an object not in the named share is ENOENT.

Adding and removing follow Corey's share_addref/share_unref: an entry has a count. Adding an
object the share already holds bumps its count; adding a new one inserts an entry and takes a
reference on the object; removing drops the count and erases the entry at zero. Corey's own
shares benchmark added, in its per-core run, the object to the share that already held it (a
count bump); the lab's workloads add to a second share so both runs insert and erase.

What it leaves out: growing the map (Corey's hashtable grows; here a share and a share map are
sized for the machine, two entries per core and at least 32, and a full one is ENOMEM), share
type masks, Corey's lookup
"checkout" counts (si_co) and its per-core deferred-release lists, freeing objects (one with no
references stays allocated), names, and the pcore's own object id. Object pages are page-sized
but only line-aligned (`Struct` aligns to a line).

Invariants: an id appears at most once in a share; `size` counts live entries; an object's
refcnt is the number of shares holding it; a pcore's share map and its `task.shares` name the
same shares. A call given bad input raises `KernelError` and changes nothing a share or pcore
holds; a failure found under a lock (a share that filled up, a share map another core filled
meanwhile) releases the lock and undoes what the call took before it. A task of another
kernel is EINVAL.
Setup outside the clock (`init_pcore_shares`) writes memory values directly, as boot code would.
"""

from __future__ import annotations

from ..hardware.core import Core, Op
from .base import Errno, KernelBase, KernelError, Task
from .locks import MCSLock, MCSRWLock
from .objects import WORD, Struct, capacity, per_core

ID_CORE_SHIFT = 48  # object id = creating core << 48 | that core's counter
ID_COUNT_MASK = (1 << ID_CORE_SHIFT) - 1  # an id's low bits: the creating core's counter
GLOBAL_IDS = 1 << 62  # set in ids from the one global counter (`use_global_ids`): no core's id
SHARE_SLOTS = 32  # entries in a share's map (16 lines), on machines of up to 16 cores
ENTRY_WORDS = 4  # id, ptr, count, unused: two entries to a 64-byte line
ID, PTR, COUNT = 0, 1, 2  # word offsets in an entry
TOMB = -1  # an erased entry: lookups probe past it, inserts reuse it
PCORE_SHARES = 32  # shares a pcore can hold: its own, and one from each core of a 16-core job
KINDS = {"segment": 1, "address_range": 2, "pcore": 3, "share": 4, "device": 5}


class KObject:
    """A Corey kernel object: a header line, the rest of its page for its own fields."""

    def __init__(self, machine, obj_id: int, kind: str, chip: int, groups: dict | None = None):
        p = machine.params
        groups = {"hdr": ["id", "type", "refcnt"], **(groups or {})}
        used = sum(-(-_words(g) * WORD // p.line_size) for g in groups.values())
        rest = p.page_size // p.line_size - used
        if rest > 0:  # fill the page: no other object shares its lines
            groups["page"] = [("rest", rest * p.line_size // WORD)]
        self.id, self.kind, self.chip = obj_id, kind, chip
        self.name = f"{kind}[{obj_id:#x}]"
        self.s = Struct(machine, self.name, groups, chip=chip, pad=True)
        self.addr = self.s.base

    def __repr__(self) -> str:
        return f"KObject({self.name}, chip {self.chip})"


class Share(KObject):
    """A share: an MCS rw lock and a small open-addressing map from object id to object."""

    def __init__(self, machine, obj_id: int, chip: int) -> None:
        self.slots = capacity(SHARE_SLOTS, machine.params.cores)
        groups = {
            "lock": ["tail", "readers", "writer"],
            "map": ["size"],
            "slots": [("slot", self.slots * ENTRY_WORDS)],
        }
        super().__init__(machine, obj_id, "share", chip, groups)
        s = self.s
        self.lock = MCSRWLock(f"{self.name}.lock", machine, s["tail"], s["readers"], s["writer"])

    def word(self, slot: int, field: int) -> int:
        return self.s["slot", slot * ENTRY_WORDS + field]

    def entries(self, values: dict[int, int]) -> dict[int, int]:
        """Object id -> count, read straight from memory (for tests and notebooks)."""
        out = {}
        for i in range(self.slots):
            key = values.get(self.word(i, ID), 0)
            if key not in (0, TOMB):
                out[key] = values.get(self.word(i, COUNT), 0)
        return out


class CoreyShares:
    """System calls on kernel objects and shares: every kernel object of one Corey kernel, the
    shares that name them and each pcore's share map. It touches nothing of the kernel's but
    `base` (the machine, its parameters, its tasks and lock list, the cost of entering it);
    the other subsystems name their objects through it (`share_check`, `kobject_enter`)."""

    def __init__(self, base: KernelBase) -> None:
        self.machine, self.kparams, self.tasks = base.machine, base.kparams, base.tasks
        self.enter, self.register, self.chip_for = base.enter, base.register, base.chip_for
        self.own = base.own
        self.kobjects: dict[int, KObject] = {}  # id -> object (the kernel's own index)
        self._kobj_at: dict[int, KObject] = {}  # address -> object
        self._kobj_ids = per_core(self.machine, "kobj_ids", ["next"])  # each core's id counter
        self._global_ids: int | None = None  # the one id counter's address, if ids are global
        self._share_maps: dict[int, Struct] = {}  # task id -> its pcore structure (share map)
        self._map_locks: dict[int, MCSLock] = {}  # task id -> the lock on its share map
        # A call holds one share-map lock at a time: one MCS queue node per core serves them all.
        self._map_qnodes = per_core(self.machine, "pcore_map.qnode", ["locked", "next"])
        self.pcore_shares = capacity(PCORE_SHARES, self.machine.params.cores)

    def init_pcore_shares(self, task: Task) -> None:
        """Give a new pcore its share map and its own private share, both on its chip."""
        chip = task.core.chip
        pcore = Struct(
            self.machine,
            f"pcore[{task.id}]",
            {"lock": ["tail"], "share_map": [("slot", 2 * self.pcore_shares)]},
            chip,
        )
        self._share_maps[task.id] = pcore
        lock = MCSLock(f"pcore[{task.id}].lock", self.machine, pcore["tail"], self._map_qnodes)
        self._map_locks[task.id] = self.register(lock)
        values = self.machine.memory.values
        counter = self._kobj_ids[task.core_id]["next"]
        values[counter] = values.get(counter, 0) + 1
        share = self._share_new(task.core_id << ID_CORE_SHIFT | values[counter], chip)
        values[share.s["id"]], values[share.s["type"]] = share.id, KINDS["share"]
        values[pcore["slot", 0]], values[pcore["slot", 1]] = share.id, share.addr
        task.shares[share.id] = share
        task.root_share = share.id

    def share_entries(self, share_id: int) -> dict[int, int]:
        """Object id -> count in a share, read straight from memory (tests and notebooks)."""
        return self.kobjects[share_id].entries(self.machine.memory.values)

    def root_share(self, task: Task) -> int:
        """The id of the pcore's own private share."""
        return task.root_share

    # -- system calls ---------------------------------------------------------------------------
    def share_alloc(self, task: Task, chip: int | None = None) -> Op:
        """A new, empty share on `chip` (default: the caller's), held by the caller; its id."""
        chip = self.chip_for(self.own(task), chip)
        yield from self.enter(task)
        core, lock = task.core, self._map_locks[task.id]
        yield from lock.acquire(core)
        slot = yield from self._pcore_map_slot(core, self._share_maps[task.id], 0)
        if slot is None:
            yield from lock.release(core)
            raise KernelError(Errno.ENOMEM, f"{task.name} already holds {self.pcore_shares} shares")
        share = self._share_new((yield from self._kobj_next_id(core)), chip)
        yield from self._kobj_init_header(core, share, refcnt=0)
        yield from self._pcore_map_put(core, self._share_maps[task.id], slot, share)
        task.shares[share.id] = share
        yield from lock.release(core)
        return share.id

    def kobject_alloc(
        self,
        task: Task,
        share_id: int | None = None,
        kind: str = "segment",
        chip: int | None = None,
    ) -> Op:
        """A new kernel object of `kind` on `chip` (default: the caller's), entered in the share
        `share_id` (default: the caller's own); its id."""
        if kind not in KINDS or kind in ("share", "pcore"):
            raise KernelError(Errno.EINVAL, f"kobject_alloc cannot make a {kind!r}")
        chip = self.chip_for(self.own(task), chip)
        yield from self.enter(task)
        core = task.core
        share = yield from self._share_held(task, self._share_or_root(task, share_id))
        yield from share.lock.write_acquire(core)
        if (yield from core.load(share.s["size"])) >= share.slots:
            yield from share.lock.write_release(core)
            raise KernelError(Errno.ENOMEM, f"{share.name} is full")
        obj_id = yield from self._kobj_next_id(core)
        obj = self._kobj_register(KObject(self.machine, obj_id, kind, chip))
        yield from core.compute(self.kparams.kobj_alloc_cycles)
        yield from self._kobj_init_header(core, obj, refcnt=0)
        _, free = yield from self._share_probe(core, share, obj_id)
        yield from self._share_insert(core, share, free, obj)
        yield from share.lock.write_release(core)
        return obj_id

    def share_addobj(
        self, task: Task, share_id: int, obj_id: int, src_share: int | None = None
    ) -> Op:
        """Corey's share_addref: add the object (share `src_share`, default the caller's own,
        object `obj_id`) to share `share_id`: a new entry, or one more count on its entry."""
        self.own(task)
        yield from self.enter(task)
        core = task.core
        dst = yield from self._share_held(task, share_id)
        obj = yield from self.share_find(task, self._share_or_root(task, src_share), obj_id)
        yield from dst.lock.write_acquire(core)
        found, free = yield from self._share_probe(core, dst, obj_id)
        if found is not None:
            count = yield from core.load(dst.word(found, COUNT))
            yield from core.store(dst.word(found, COUNT), count + 1)
        elif (yield from core.load(dst.s["size"])) >= dst.slots:
            yield from dst.lock.write_release(core)
            raise KernelError(Errno.ENOMEM, f"{dst.name} is full")
        else:
            yield from self._share_insert(core, dst, free, obj)
        yield from dst.lock.write_release(core)

    def share_delobj(self, task: Task, share_id: int, obj_id: int) -> Op:
        """Corey's share_unref: one count less on the object's entry; erase it at zero and drop
        the share's reference on the object."""
        self.own(task)
        yield from self.enter(task)
        core = task.core
        share = yield from self._share_held(task, share_id)
        yield from share.lock.write_acquire(core)
        found, _ = yield from self._share_probe(core, share, obj_id)
        if found is None:
            yield from share.lock.write_release(core)
            raise KernelError(Errno.ENOENT, f"no object {obj_id!r} in {share.name}")
        count = yield from core.load(share.word(found, COUNT))
        erased = count == 1
        if erased:
            ptr = yield from core.load(share.word(found, PTR))
            yield from core.store(share.word(found, ID), TOMB)
            size = yield from core.load(share.s["size"])
            yield from core.store(share.s["size"], size - 1)
        yield from core.store(share.word(found, COUNT), count - 1)
        yield from share.lock.write_release(core)
        if erased:
            yield from core.fetch_add(self._kobj_at[ptr].s["refcnt"], -1)

    def share_lookup(self, task: Task, share_id: int, obj_id: int) -> Op:
        """The object `obj_id` in share `share_id`, found under the share's read lock."""
        self.own(task)
        yield from self.enter(task)
        return (yield from self.share_find(task, share_id, obj_id))

    def share_grant(self, task: Task, other: Task, share_id: int) -> Op:
        """Give a share the caller holds to another pcore (as Corey's pfork passes shares):
        under the lock on the other's share map, so that two grants to one pcore take two
        slots, and a share is entered once."""
        self.own(task)
        self.own(other)
        yield from self.enter(task)
        core = task.core
        share = yield from self._share_held(task, share_id)
        theirs, lock = self._share_maps[other.id], self._map_locks[other.id]
        yield from lock.acquire(core)
        if (yield from self._pcore_map_slot(core, theirs, share_id)) is not None:
            yield from lock.release(core)
            raise KernelError(Errno.EEXIST, f"{other.name} already holds {share.name}")
        slot = yield from self._pcore_map_slot(core, theirs, 0)
        if slot is None:
            yield from lock.release(core)
            raise KernelError(
                Errno.ENOMEM, f"{other.name} already holds {self.pcore_shares} shares"
            )
        yield from self._pcore_map_put(core, theirs, slot, share)
        other.shares[share_id] = share
        yield from lock.release(core)

    def share_drop(self, task: Task, share_id: int) -> Op:
        """Stop holding a share (Corey's self_drop_share): its objects are out of reach."""
        self.own(task)
        yield from self.enter(task)
        core, mine, lock = task.core, self._share_maps[task.id], self._map_locks[task.id]
        share = yield from self._share_held(task, share_id)
        yield from lock.acquire(core)
        slot = yield from self._pcore_map_slot(core, mine, share_id)
        yield from core.store(mine["slot", 2 * slot], 0)
        yield from core.store(mine["slot", 2 * slot + 1], 0)
        del task.shares[share.id]
        yield from lock.release(core)

    # -- naming objects other subsystems make (segments, address ranges) ----------------------
    def share_check(self, task: Task, share_id: int | None, obj_id: int | None = None) -> int:
        """In no simulated time, before a call changes anything: the share (default: the
        caller's own) exists and the caller holds it (else ENOENT, EACCES), and `obj_id`, if
        given, is in it (ENOENT) or the share has room for a new one (ENOMEM). Its id."""
        share_id = self._share_or_root(self.own(task), share_id)
        share = task.shares.get(share_id) if _is_id(share_id) else None
        if share is None:
            known = self.kobjects.get(share_id) if _is_id(share_id) else None
            if known is not None and known.kind == "share":
                raise KernelError(Errno.EACCES, f"{task.name} does not hold {known.name}")
            raise KernelError(Errno.ENOENT, f"no share {share_id!r}")
        if obj_id is not None and obj_id not in self.share_entries(share_id):
            raise KernelError(Errno.ENOENT, f"no object {obj_id!r} in {share.name}")
        if obj_id is None and self.machine.memory.values.get(share.s["size"], 0) >= share.slots:
            raise KernelError(Errno.ENOMEM, f"{share.name} is full")
        return share_id

    def kobject_enter(self, task: Task, share_id: int, kind: str, chip: int, obj_id: int) -> Op:
        """Enter a new object of `kind`, whose id the caller's core drew, in a share the caller
        holds (checked by `share_check`): its header page, then the entry, write-locked. The
        share may have filled up since the check: then ENOMEM, the lock released and the
        object forgotten (the caller gives back what it took for it, `kobject_id_unuse`)."""
        core = task.core
        share = yield from self._share_held(task, share_id)
        obj = self._kobj_register(KObject(self.machine, obj_id, kind, chip))
        yield from core.compute(self.kparams.kobj_alloc_cycles)
        yield from self._kobj_init_header(core, obj, refcnt=0)
        yield from share.lock.write_acquire(core)
        if (yield from core.load(share.s["size"])) >= share.slots:
            yield from share.lock.write_release(core)
            del self.kobjects[obj.id], self._kobj_at[obj.addr]
            raise KernelError(Errno.ENOMEM, f"{share.name} is full")
        _, free = yield from self._share_probe(core, share, obj_id)
        yield from self._share_insert(core, share, free, obj)
        yield from share.lock.write_release(core)

    def kobject_id(self, task: Task) -> int:
        """The next id the caller's core would give (its counter, read in no time, as the core
        sees it: its last store may still be in its store buffer)."""
        if self._global_ids is not None:
            return GLOBAL_IDS | self.machine.memory.values.get(self._global_ids, 0) + 1
        counter = self._kobj_ids[task.core_id]["next"]
        return task.core_id << ID_CORE_SHIFT | task.core.peek(counter) + 1

    def kobject_id_use(self, obj_id: int) -> None:
        """Use up the id `kobject_id` gave, once its object exists. The counter is the core's
        own line; its value moves on with no traffic to model."""
        if obj_id & GLOBAL_IDS:  # (only atomics write it: never in a store buffer)
            self.machine.memory.values[self._global_ids] = obj_id & ID_COUNT_MASK
            return
        core_id = obj_id >> ID_CORE_SHIFT
        self.machine.cores[core_id].poke(self._kobj_ids[core_id]["next"], obj_id & ID_COUNT_MASK)

    def kobject_id_unuse(self, obj_id: int) -> None:
        """Give back the id of an object a failed call made and forgot, if it is still its
        core's latest (a core runs one call at a time, so it is), or the global counter's."""
        if obj_id & GLOBAL_IDS:
            values = self.machine.memory.values
            if values.get(self._global_ids) == obj_id & ID_COUNT_MASK:
                values[self._global_ids] -= 1
            return
        core_id = obj_id >> ID_CORE_SHIFT
        core, counter = self.machine.cores[core_id], self._kobj_ids[core_id]["next"]
        latest = obj_id & ID_COUNT_MASK
        if core.peek(counter) == latest:
            core.poke(counter, latest - 1)

    def use_global_ids(self) -> None:
        """From now on, draw every new object's id from one counter for the whole machine (a
        word on chip 0 that whichever core makes an object bumps with an atomic), as a global
        id allocator does (Linux's idr, `last_ino`), instead of from each core's own counter.
        Corey never does this: it is the object-naming experiment's point of comparison."""
        self._global_ids = Struct(self.machine, "kobj_ids.global", {"next": ["next"]})["next"]

    # -- the kernel interface (see kernel/__init__.py) ------------------------------------------
    def ref_new(self, task: Task, share: int | None = None) -> Op:
        """A new object in `share` (default: the pcore's own): its id."""
        return (yield from self.kobject_alloc(task, share))

    def ref_dup(self, task: Task, name: int, share: int | None = None) -> Op:
        """One more reference: add the object (from the pcore's own share) to `share`."""
        yield from self.share_addobj(task, self._share_or_root(task, share), name)
        return name

    def ref_drop(self, task: Task, name: int, share: int | None = None) -> Op:
        """Drop a reference: remove the object from `share`."""
        yield from self.share_delobj(task, self._share_or_root(task, share), name)

    # -- the paths behind the calls --------------------------------------------------------------
    def _share_or_root(self, task: Task, share_id: int | None) -> int:
        return self.root_share(task) if share_id is None else share_id

    def _share_held(self, task: Task, share_id: int) -> Op:
        """The share `share_id` from the caller's share map (loads of its own lines), or an
        error: EACCES for a share that exists but is not held, ENOENT for none."""
        pcore = self._share_maps[task.id]
        slot = None
        if _is_id(share_id):
            slot = yield from self._pcore_map_slot(task.core, pcore, share_id)
        if slot is None:
            known = self.kobjects.get(share_id) if _is_id(share_id) else None
            if known is not None and known.kind == "share":
                raise KernelError(Errno.EACCES, f"{task.name} does not hold {known.name}")
            raise KernelError(Errno.ENOENT, f"no share {share_id!r}")
        ptr = yield from task.core.load(pcore["slot", 2 * slot + 1])
        return self._kobj_at[ptr]

    def share_find(self, task: Task, share_id: int, obj_id: int) -> Op:
        """share_co_obj: the object `obj_id` in a share the caller holds, under its read lock."""
        core = task.core
        share = yield from self._share_held(task, share_id)
        yield from share.lock.read_acquire(core)
        found, _ = yield from self._share_probe(core, share, obj_id)
        ptr = 0 if found is None else (yield from core.load(share.word(found, PTR)))
        yield from share.lock.read_release(core)
        if not ptr:
            raise KernelError(Errno.ENOENT, f"no object {obj_id!r} in {share.name}")
        return self._kobj_at[ptr]

    def _share_probe(self, core: Core, share: Share, obj_id: int) -> Op:
        """Linear probing from the id's hash: (slot holding obj_id or None, first free slot or
        None). Stops at a never-used slot; probes past tombstones."""
        if not _is_id(obj_id):
            return None, None  # never in a map: ids are positive
        yield from core.compute(self.kparams.share_hash_cycles)
        start, free = _hash(obj_id) % share.slots, None
        for step in range(share.slots):
            slot = (start + step) % share.slots
            key = yield from core.load(share.word(slot, ID))
            if key == obj_id:
                return slot, free
            if key in (0, TOMB) and free is None:
                free = slot
            if key == 0:
                break
        return None, free

    def _share_insert(self, core: Core, share: Share, slot: int, obj: KObject) -> Op:
        """A new entry (write lock held): pointer and count first, then the id that makes the
        entry visible; the map grows by one and the object gains a reference."""
        yield from core.store(share.word(slot, PTR), obj.addr)
        yield from core.store(share.word(slot, COUNT), 1)
        yield from core.store(share.word(slot, ID), obj.id)
        size = yield from core.load(share.s["size"])
        yield from core.store(share.s["size"], size + 1)
        yield from core.fetch_add(obj.s["refcnt"], 1)

    def _kobj_next_id(self, core: Core) -> Op:
        """A fresh id from this core's own counter: a load and a store of a private line (or,
        with `use_global_ids`, an atomic on the one shared counter's line)."""
        if self._global_ids is not None:
            return GLOBAL_IDS | (yield from core.fetch_add(self._global_ids, 1)) + 1
        counter = self._kobj_ids[core.id]["next"]
        n = (yield from core.load(counter)) + 1
        yield from core.store(counter, n)
        return core.id << ID_CORE_SHIFT | n

    def _share_new(self, share_id: int, chip: int) -> Share:
        share = self._kobj_register(Share(self.machine, share_id, chip))
        self.register(share.lock)
        return share

    def _kobj_register(self, obj: KObject) -> KObject:
        self.kobjects[obj.id] = obj
        self._kobj_at[obj.addr] = obj
        return obj

    def _kobj_init_header(self, core: Core, obj: KObject, refcnt: int) -> Op:
        yield from core.store(obj.s["id"], obj.id)
        yield from core.store(obj.s["type"], KINDS[obj.kind])
        yield from core.store(obj.s["refcnt"], refcnt)

    def _pcore_map_slot(self, core: Core, pcore: Struct, share_id: int) -> Op:
        """The first slot of a pcore's share map holding `share_id` (0: a free slot), or None."""
        for slot in range(self.pcore_shares):
            if (yield from core.load(pcore["slot", 2 * slot])) == share_id:
                return slot
        return None

    def _pcore_map_put(self, core: Core, pcore: Struct, slot: int, share: Share) -> Op:
        yield from core.store(pcore["slot", 2 * slot + 1], share.addr)
        yield from core.store(pcore["slot", 2 * slot], share.id)


def _is_id(value) -> bool:
    """Ids are positive whole numbers: not True (which Python would take for id 1)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _hash(obj_id: int) -> int:
    """A multiplicative (Fibonacci) hash: ids from one core differ only in low bits."""
    return (obj_id * 0x9E3779B97F4A7C15 & (1 << 64) - 1) >> 32


def _words(fields) -> int:
    return sum(1 if isinstance(f, str) else f[1] for f in fields)
