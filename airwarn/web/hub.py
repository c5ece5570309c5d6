"""Fan-out of committed decisions to live clients, in process.

The service calls `publish` from its writer thread after each commit; the hub encodes the step
once (as Server-Sent Events bytes and as WebSocket texts) and hands that frame to every
subscriber's queue on the event loop, so a thousand clients cost a thousand writes, not a
thousand encodings. A subscriber that falls `max_backlog` frames behind is cut off rather than
allowed to slow the others; it reconnects and resumes from its last sequence number
(`Last-Event-ID`), so it loses nothing.

With thousands of clients, pauses of the cyclic garbage collector came to dominate the latency;
see `spare_live_clients_from_gc`.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from airwarn.service import Published


def sse_event(event: str, data: str, ident: int | None = None) -> bytes:
    head = f"id: {ident}\n" if ident is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n".encode()


def ws_text(event: str, data: str, ident: int | None = None) -> str:
    head = f'"id":{ident},' if ident is not None else ""
    return f'{{{head}"event":"{event}","data":{data}}}'


@dataclass(frozen=True)
class Frame:
    """One committed step, encoded once for every live client."""

    decisions: list[tuple[int, bytes, str]]  # (seq, SSE bytes, WebSocket text)
    messages: list[tuple[bytes, str]]  # CAP notices: (SSE bytes, WebSocket text)
    sse: bytes = b""  # everything above in one chunk
    ws: list[str] = field(default_factory=list)

    @property
    def first_seq(self) -> int | None:
        return self.decisions[0][0] if self.decisions else None

    def sse_after(self, last: int) -> bytes:
        """The frame as SSE bytes without the decisions a client already has."""
        first = self.first_seq
        if first is None or first > last:
            return self.sse
        return b"".join(
            [*(b for seq, b, _ in self.decisions if seq > last), *(b for b, _ in self.messages)]
        )

    def ws_after(self, last: int) -> list[str]:
        first = self.first_seq
        if first is None or first > last:
            return self.ws
        return [*(t for seq, _, t in self.decisions if seq > last), *(t for _, t in self.messages)]


def encode(published: Published) -> Frame:
    decisions = [
        (seq, sse_event("decision", body, seq), ws_text("decision", body, seq))
        for seq, body in published.decisions
    ]
    messages = []
    for message in published.messages:
        data = json.dumps(message)
        messages.append((sse_event("cap", data), ws_text("cap", data)))
    for _, body in published.events:  # a relayed feed's health changed (airwarn.follow)
        if body.startswith(SOURCE_EVENT):
            messages.append((sse_event("source", body), ws_text("source", body)))
    return Frame(
        decisions,
        messages,
        sse=b"".join([*(b for _, b, _ in decisions), *(b for b, _ in messages)]),
        ws=[*(t for _, _, t in decisions), *(t for _, t in messages)],
    )


BEAT_SLICES = 10  # heartbeats go to a tenth of the feeds at a time
SOURCE_EVENT = '{"type":"source"'
CLOSED = Frame([], [])  # the marker a cut-off subscriber receives (and every one at a stop)
BEAT = Frame([], [])  # the marker of a heartbeat (each feed writes its own, with the time)


# CPython's defaults are (700, 10, 10)
GC_THRESHOLDS = (100_000, 50, 10)


def spare_live_clients_from_gc() -> None:
    """Collect young objects every 100,000 allocations instead of every 700.

    A live client holds some 180 objects (its connection, request, response task, queue,
    generators), so 10,000 clients make about two million long-lived objects. Waking them all
    for one decision allocates a few objects each; at the default thresholds the young
    collections during that burst promote the wake-ups still in flight, so often that a full
    collection, which walks all two million objects and stops the event loop for a second or
    two, came every few decisions (bench/bench_fanout.py). Rarer young collections let the
    wake-ups finish first. Garbage in cycles is still collected, a little later. Thresholds
    are only raised, so a process that set higher ones keeps them.
    """
    current = gc.get_threshold()
    gc.set_threshold(
        *(max(now, wanted) for now, wanted in zip(current, GC_THRESHOLDS, strict=True))
    )


class Hub:
    def __init__(
        self, loop: asyncio.AbstractEventLoop, last_seq: int = 0, max_backlog: int = 1000
    ) -> None:
        spare_live_clients_from_gc()
        self.loop = loop
        self.last_seq = last_seq
        self.max_backlog = max_backlog
        # every feed's queue, with the number it joined as (its slot among the heartbeats)
        self.subscribers: dict[asyncio.Queue[Frame], int] = {}
        self._joined = 0
        self.closed = False  # the process is stopping: every feed ends, and any new one at once
        # whether what this process serves is current: on a bus, while it hears the leader
        # (`BusRuntime.following`); heartbeats stop while it is not, so that its clients
        # know the feed is dead rather than the sky quiet
        self.fresh: Callable[[], bool] = lambda: True

    def publish(self, published: Published) -> None:
        """Thread-safe: called by the writer after a commit."""
        if (
            published.decisions
            or published.messages
            or any(body.startswith(SOURCE_EVENT) for _, body in published.events)
        ):
            frame = encode(published)  # in the writer's thread, off the event loop
            self.loop.call_soon_threadsafe(self._deliver, frame)

    def _deliver(self, frame: Frame) -> None:
        if frame.decisions:
            self.last_seq = max(self.last_seq, frame.decisions[-1][0])
        for queue in list(self.subscribers):
            if queue.qsize() >= self.max_backlog:
                self.subscribers.pop(queue, None)
                queue.put_nowait(CLOSED)
                continue
            queue.put_nowait(frame)

    async def beat(self, every_s: float, slices: int = BEAT_SLICES) -> None:
        """Wake every feed for a heartbeat every `every_s` seconds: one timer for all of them
        (a timeout per feed would cost a task per feed and wake-up). The feeds are beaten a
        slice at a time, spread over the interval: a heartbeat to 10,000 clients at once
        takes as long as a decision does, and a decision committed meanwhile waited behind
        it (bench/bench_fanout.py). Each feed keeps its slot, so its beats stay `every_s`
        apart."""
        tick = 0
        while True:
            await asyncio.sleep(every_s / slices)
            slot = tick % slices
            tick += 1
            if not self.fresh():
                continue
            for queue, joined in list(self.subscribers.items()):
                if joined % slices == slot and queue.empty():
                    queue.put_nowait(BEAT)

    def subscribe(self) -> asyncio.Queue[Frame]:
        queue: asyncio.Queue[Frame] = asyncio.Queue()
        if self.closed:
            queue.put_nowait(CLOSED)
            return queue
        self.subscribers[queue] = self._joined
        self._joined += 1
        return queue

    def close(self) -> None:
        """End every feed (the process is stopping): each gets CLOSED after what it was
        already sent, and its client reconnects, to another process, with its last id."""
        self.closed = True
        for queue in list(self.subscribers):
            self.subscribers.pop(queue, None)
            queue.put_nowait(CLOSED)

    def unsubscribe(self, queue: asyncio.Queue[Frame]) -> None:
        self.subscribers.pop(queue, None)
