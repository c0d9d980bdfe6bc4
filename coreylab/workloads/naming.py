"""The object-naming loop: a core makes a kernel object, looks it up by its id, and drops it.

What it models (the talk's first Shares slide, "Object naming in an OS"): an application names
kernel objects by ids the kernel hands out, and the kernel maps an id back to its object through
a table. Making an object draws an id and enters it in a table; looking it up reads the table;
dropping it erases the entry. Written against Corey's share calls, whose table (a share) and id
counter the experiment places per core or for the whole machine (`experiments/naming.py`):

  create_lookup_drop   kobject_alloc (an id, an object page, an entry), share_lookup (the id to
                       the object, under the table's read lock), share_delobj (the entry erased)

Left out: what the application does with the object (nothing here), freeing the object's page
(Corey keeps an object with no references; so does the lab).
"""

from __future__ import annotations

from ..hardware.core import Op
from ..kernel import CoreyKernel, Task


def create_lookup_drop(kernel: CoreyKernel, task: Task, share: int) -> Op:
    """One operation: a new object named in `share`, found again by its id, then dropped."""
    obj = yield from kernel.kobject_alloc(task, share)
    yield from kernel.share_lookup(task, share, obj)
    yield from kernel.share_delobj(task, share, obj)
