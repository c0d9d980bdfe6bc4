"""An application's own network interface under its user-level TCP stack: Corey's
lib/jnicreal.c, the buffers lwIP hands the card through a kernel core.

What it models
  JNic   one application pcore's receive and transmit buffers for one card, one line each
         (word 0 the header's `actual_count`, then the packet), in the application's memory,
         and its two indices on a line of its own. Receiving: the card DMAs a packet into the
         buffer, the kernel core's driver sets DONE in its header; the application's stack
         polls the header of its next buffer, reads the packet, and feeds the buffer back
         (a `device_buf` call posted to its ring). Sending: the stack writes the packet into
         its next transmit buffer (waiting for DONE if the card still has it) and posts a
         `device_buf` call; the kernel core queues it on the card. Posted calls are not waited
         for (as jnicreal.c posts them with `jsm_call_device_buf`); the kernel core frees the
         slot when it has run the call.

It offers the stack what a driver does (`rx_poll`, `xmit`, `watch`), so the same stack code
runs over a kernel's driver or over these buffers.

Per packet it also pays lwIP's jif netif work on the buffer (`NetParams.netbuf_cycles`:
pbuf_alloc and the copy between the pbuf and the card's buffer, jif.c), the part of a driver's
work that Linux's e1000 does in the kernel and Corey's application does itself.

What it leaves out: packet sizes and payload beyond the header words; the fallback to a trap
(`sys_device_buf`) when the ring is full: here the application waits for a free slot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..hardware.core import Core, Op
from .nic import NB_DONE, CoreyDriver, Packet
from .objects import WORD, Struct

IN, OUT = 0, 1  # devio_in, devio_out


class JNic:
    """`task`'s buffers for the card `driver` drives; `post(core, *call)` posts a call to the
    task's ring without waiting for it."""

    def __init__(self, task: Any, driver: CoreyDriver, post: Callable[..., Op]) -> None:
        machine, n = task.core.machine, driver.params.ring_size
        self.driver, self.post, self.params = driver, post, driver.params
        words = machine.params.line_size // WORD
        groups = {"jn": ["rx_head", "tx_next"], "rx": [("rx", n * words)],
                  "tx": [("tx", n * words)]}  # fmt: skip
        self.s = Struct(machine, f"{task.name}.jnic", groups, task.core.chip)
        self.rx = [self.s["rx", i * words] for i in range(n)]
        self.tx = [self.s["tx", i * words] for i in range(n)]
        for buf in self.tx:  # every transmit buffer starts free
            machine.memory.values[buf] = NB_DONE
        for buf in self.rx:  # jdev_real_init: every receive buffer fed to the card
            driver.arm(buf)

    def watch(self, core: Core) -> list[int]:
        """The header of the next receive buffer: the kernel core's write there is news (the
        index as `core`, which polls, sees it)."""
        return [self.rx[core.peek(self.s["rx_head"])]]

    def rx_poll(self, core: Core, budget: int) -> Op:
        """jdev_real_rxbuf_next/_done: up to `budget` received packets, each buffer fed back."""
        n, packets = len(self.rx), []
        i = yield from core.load(self.s["rx_head"])
        while len(packets) < budget and (yield from core.load(self.rx[i])) & NB_DONE:
            header = []
            for w in range(len(Packet._fields)):
                header.append((yield from core.load(self.rx[i] + (w + 1) * WORD)))
            packets.append(Packet(*header))
            yield from core.compute(self.params.netbuf_cycles)  # jif: pbuf_alloc, copy in
            yield from core.store(self.rx[i], 0)
            yield from self.post(core, IN, i)
            i = (i + 1) % n
        if packets:
            yield from core.store(self.s["rx_head"], i)
        return packets

    def xmit(self, core: Core, packet: Packet) -> Op:
        """jdev_real_txbuf_next/_done: the packet into the next free buffer, posted to send."""
        i = yield from core.load(self.s["tx_next"])
        buf = self.tx[i]
        if not (yield from core.load(buf)) & NB_DONE:  # the card still has it: wait
            yield from core.spin_until(buf, lambda v: v & NB_DONE)
        yield from core.compute(self.params.netbuf_cycles)  # jif: copy the pbuf out
        for w, value in enumerate(packet):
            yield from core.store(buf + (w + 1) * WORD, value)
        yield from core.store(buf, 0)
        yield from core.store(self.s["tx_next"], (i + 1) % len(self.tx))
        yield from self.post(core, OUT, i)

    def buffer(self, direction: Any, index: Any) -> int:
        """The address of buffer `index` (a `device_buf` call's arguments); ValueError if none."""
        bufs = {IN: self.rx, OUT: self.tx}.get(direction)
        if bufs is None or isinstance(index, bool) or not isinstance(index, int):
            raise ValueError(f"no buffer {direction!r}/{index!r}")
        if not 0 <= index < len(bufs):
            raise ValueError(f"no buffer {direction!r}/{index!r}")
        return bufs[index]
