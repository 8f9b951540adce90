"""Which visitors' kernels of the public dashboards are in use, and releasing the others.

A visitor's kernel (170–540 MB) is in use while the service renders its page, while a browser
holds its websocket, and for a short grace around those: ``dashboards.connect_timeout`` seconds
for the browser to open its websocket once the page is sent, ``dashboards.release_after``
seconds for a browser that dropped it to come back (a reload, a phone changing networks).
Past them, the kernel is shut down: a closed tab frees its room under ``dashboards.max_kernels``
within seconds, whether its browser said goodbye or not. Voilà's page does say goodbye (a
``beforeunload`` beacon to ``voila/api/shutdown/<kernel>``), but mobile browsers often discard
a tab without that event, and a page killed or cut off never sends it.

Connections are jupyter_server's count of websockets (``kernel_model(id)["connections"]``). The
service talks to a kernel it renders over ZeroMQ, which that count does not see: the page
handler says which kernels it is rendering (:meth:`VisitorKernels.render_started`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import datetime, timezone
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from jupyter_core.utils import ensure_async
from tornado import ioloop, web
from traitlets import TraitError

log = logging.getLogger("occidata.dashboards.live")

# How often closed pages are looked for, in seconds: small beside the graces above.
SWEEP_INTERVAL = 1.0
# Voilà writes the page's kernel in its page config, which the browser reads to connect.
KERNEL_ID = re.compile(r'"kernelId"\s*:\s*"([0-9a-fA-F-]{8,})"')


def page_kernel_id(html: str) -> str | None:
    """The kernel a chunk of Voilà's page tells the browser to connect to, if it holds it."""
    found = KERNEL_ID.search(html)
    return found.group(1) if found else None


@dataclass
class Seen:
    """What the tracker knows of one visitor's kernel."""

    since: float  # first seen, or its page last rendered: the connect grace counts from here
    connected: bool = False  # a browser held its websocket at some point
    dropped: float | None = None  # when its last connection closed


class VisitorKernels:
    """The visitors' kernels (``visitor_ids()``: live kernels outside Voilà's pools), those in use
    and those to release; :meth:`start` releases the latter every ``SWEEP_INTERVAL`` seconds."""

    def __init__(self, kernel_manager, visitor_ids: Callable[[], set[str]], release_after: float,
                 connect_timeout: float, clock: Callable[[], float] = time.monotonic):
        self.kernel_manager = kernel_manager
        self.visitor_ids = visitor_ids
        self.release_after = release_after
        self.connect_timeout = connect_timeout
        self.clock = clock
        self.rendered: Counter[str] = Counter()  # kernel -> pages being rendered in it
        self.seen: dict[str, Seen] = {}
        self.releasing: set[str] = set()
        self.released = 0  # kernels shut down here since the service started

    def render_started(self, kernel_id: str) -> None:
        """The service is rendering the page of ``kernel_id``: in use, whatever its connections."""
        self.rendered[kernel_id] += 1
        self.mark_active(kernel_id)

    def mark_active(self, kernel_id: str) -> None:
        """Count handing the kernel to a visitor as activity for the idle cull: a preheated
        kernel has been idle since it ran the notebook, possibly for hours, and the cull would
        shut it down before the visitor's browser connects (the page then stays on « Loading
        widget… »)."""
        try:
            self.kernel_manager.get_kernel(kernel_id).last_activity = datetime.now(timezone.utc)
        except KeyError:
            pass  # gone meanwhile

    def render_ended(self, kernel_id: str) -> None:
        self.rendered[kernel_id] -= 1
        if self.rendered[kernel_id] <= 0:
            del self.rendered[kernel_id]
        # The browser connects once it has the whole page: its grace counts from now.
        self.seen[kernel_id] = Seen(self.clock())
        self.mark_active(kernel_id)

    def connections(self, kernel_id: str) -> int | None:
        """Browser websockets open on ``kernel_id`` (0 while it starts); None if it is gone."""
        try:
            return self.kernel_manager.kernel_model(kernel_id)["connections"]
        except (KeyError, web.HTTPError):  # shut down meanwhile (404 from _check_kernel_id)
            return None
        except TraitError:
            # Listed as soon as it starts launching, its model is whole only once launched
            # (last_activity is None until then): a kernel starting has no browser yet.
            return 0

    def survey(self) -> tuple[set[str], set[str]]:
        """The visitors' kernels in use now, and those to release."""
        now = self.clock()
        visitors = self.visitor_ids() - self.releasing
        for gone in set(self.seen) - visitors:
            del self.seen[gone]
        in_use, unused = set(), set()
        for kernel_id in visitors:
            seen = self.seen.setdefault(kernel_id, Seen(now))
            count = self.connections(kernel_id)
            if kernel_id in self.rendered:
                in_use.add(kernel_id)
            elif count is None:
                continue
            elif count > 0:
                seen.connected, seen.dropped = True, None
                in_use.add(kernel_id)
            elif seen.connected:
                if seen.dropped is None:
                    seen.dropped = now
                (in_use if now - seen.dropped < self.release_after else unused).add(kernel_id)
            else:  # a page sent, or a kernel starting, that no browser has connected to yet
                (in_use if now - seen.since < self.connect_timeout else unused).add(kernel_id)
        return in_use, unused

    def in_use(self) -> set[str]:
        return self.survey()[0]

    async def release_unused(self) -> None:
        """Shut down the visitors' kernels no page uses any more, all at once (one after the other,
        20 closed pages took 16 s on 2 cores)."""
        unused = self.survey()[1]
        self.releasing |= unused
        await asyncio.gather(*(self._release(kernel_id) for kernel_id in unused))

    async def _release(self, kernel_id: str) -> None:
        seen = self.seen.get(kernel_id)
        why = "page closed" if seen and seen.connected else "no browser ever connected"
        try:
            await ensure_async(self.kernel_manager.shutdown_kernel(kernel_id))
        except (KeyError, web.HTTPError):
            return  # gone meanwhile (Voilà's own shutdown beacon, the idle cull)
        except Exception:  # noqa: BLE001 - keep releasing the others, and try again next round
            log.exception("could not release visitor kernel %s", kernel_id)
            return
        finally:
            self.releasing.discard(kernel_id)
        self.seen.pop(kernel_id, None)
        self.released += 1
        log.info("released visitor kernel %s (%s)", kernel_id, why)

    def start(self) -> ioloop.PeriodicCallback:
        """Release unused kernels every ``SWEEP_INTERVAL`` seconds, on the current IOLoop (a round
        still shutting kernels down when the next is due makes it skip)."""
        callback = ioloop.PeriodicCallback(self.release_unused, SWEEP_INTERVAL * 1000)
        callback.start()
        return callback
