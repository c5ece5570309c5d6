"""Fan-out of committed decisions to live clients, in process.

The service calls `publish` from its writer thread after each commit; the hub hands the step
to every subscriber's queue on the event loop. A subscriber that falls `max_backlog` steps
behind is cut off rather than allowed to slow the others; it reconnects and resumes from its
last sequence number (`Last-Event-ID`), so it loses nothing.
"""

from __future__ import annotations

import asyncio

from airwarn.service import Published

CLOSED = Published([], [])  # the marker a cut-off subscriber receives


class Hub:
    def __init__(self, loop: asyncio.AbstractEventLoop, last_seq: int = 0,
                 max_backlog: int = 1000) -> None:
        self.loop = loop
        self.last_seq = last_seq
        self.max_backlog = max_backlog
        self.subscribers: set[asyncio.Queue[Published]] = set()
        self.dropped = 0

    def publish(self, published: Published) -> None:
        """Thread-safe: called by the writer after a commit."""
        if published.decisions or published.messages:
            self.loop.call_soon_threadsafe(self._deliver, published)

    def _deliver(self, published: Published) -> None:
        if published.decisions:
            self.last_seq = max(self.last_seq, published.decisions[-1][0])
        for queue in list(self.subscribers):
            if queue.qsize() >= self.max_backlog:
                self.subscribers.discard(queue)
                self.dropped += 1
                queue.put_nowait(CLOSED)
                continue
            queue.put_nowait(published)

    def subscribe(self) -> asyncio.Queue[Published]:
        queue: asyncio.Queue[Published] = asyncio.Queue()
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Published]) -> None:
        self.subscribers.discard(queue)
