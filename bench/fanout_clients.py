"""Thousands of live SSE clients in one process, for `bench_fanout.py`.

A client is an asyncio protocol on a raw socket (uvloop when present): it sends
`GET /v1/stream`, reads the HTTP head, undoes the chunked transfer encoding and parses the
Server-Sent Events as the spec says (`id:`, `event:`, `data:` lines, a blank line ends an
event). For every `decision` it notes `time.time()` when the bytes arrived; a decision counts
only if its data is the Contract v1 line of that very seq. httpx streams would measure httpx:
this costs a few microseconds per event.

Each client binds its own loopback source address (127.0.x.y, a few dozen clients each),
as clients on the Internet come from many addresses: airwarn's rate limit is per address,
and 10,000 streams from one address would be refused as the flood they would be.

The process is driven over a `multiprocessing` pipe by the bench (see `serve_clients`).
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from multiprocessing.connection import Connection
from typing import Any

CLIENTS_PER_ADDRESS = 40
CONNECT_WAVE = 100  # connections opened at once per process: the listen backlog is finite


def source_address(client: int) -> str:
    """The loopback address client number `client` (over all processes) connects from."""
    block = client // CLIENTS_PER_ADDRESS
    return f"127.0.{2 + block // 250}.{1 + block % 250}"


class Tally:
    """What one process's clients received: per decision seq, when each client had it."""

    def __init__(self, clients: int, conn: Connection) -> None:
        self.clients = clients
        self.conn = conn
        self.times: dict[int, list[float]] = {}

    def add(self, seq: int, now: float) -> None:
        times = self.times.setdefault(seq, [])
        times.append(now)
        if len(times) == self.clients:
            self.conn.send(("done", seq))  # the bench waits for this before the next post


class Feed(asyncio.Protocol):
    """One SSE client: HTTP head, chunked body, SSE events."""

    def __init__(self, request: bytes, tally: Tally) -> None:
        self.request = request
        self.tally = tally
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.raw = b""  # bytes not yet decoded from the chunked encoding
        self.head_done = False
        self.chunk_left = 0  # bytes of the current chunk still to come
        self.text = b""  # decoded SSE text not yet parsed into whole lines
        self.event: dict[bytes, bytes] = {}
        self.seqs: list[int] = []  # the decision seqs this client received, in order
        self.bad = 0  # decisions whose data was not their seq's decision
        self.lost: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.raw += data
        if not self.head_done:
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.raw = self.raw[:end].lower(), self.raw[end + 4 :]
            if not head.startswith(b"http/1.1 200") or b"transfer-encoding: chunked" not in head:
                self._fail(f"unexpected answer: {head[:200]!r}")
                return
            self.head_done = True
        self._unchunk()
        self._parse(now)

    def _unchunk(self) -> None:
        raw, out = self.raw, []
        while raw:
            if self.chunk_left:
                piece = raw[: self.chunk_left]
                out.append(piece)
                self.chunk_left -= len(piece)
                raw = raw[len(piece) :]
                continue
            # between chunks: the CRLF ending the last one, then "size\r\n"
            if raw.startswith(b"\r\n"):
                raw = raw[2:]
                continue
            end = raw.find(b"\r\n")
            if end < 0:
                break
            size = int(raw[:end].split(b";")[0], 16)
            if size == 0:
                self._fail("the server ended the stream")
                raw = b""
                break
            self.chunk_left = size
            raw = raw[end + 2 :]
        self.raw = raw
        self.text += b"".join(out)

    def _parse(self, now: float) -> None:
        text = self.text
        end = text.rfind(b"\n")
        if end < 0:
            return
        self.text = text[end + 1 :]
        for line in text[:end].split(b"\n"):
            line = line.rstrip(b"\r")
            if line:
                name, _, value = line.partition(b":")
                self.event[name] = value[1:] if value.startswith(b" ") else value
                continue
            event, self.event = self.event, {}  # a blank line: dispatch
            kind = event.get(b"event")
            if kind == b"decision":
                seq = int(event[b"id"])
                if event.get(b"data", b"").startswith(b'{"seq":%d,' % seq):
                    self.seqs.append(seq)
                    self.tally.add(seq, now)
                else:
                    self.bad += 1
            elif kind == b"heartbeat" and not self.ready.done():
                self.ready.set_result(None)

    def _fail(self, why: str) -> None:
        self.lost = why
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(why))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.lost is None:
            self.lost = f"closed: {exc}"
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(self.lost))


async def _run(
    conn: Connection, edges: list[tuple[str, int]], first: int, count: int, connect_timeout_s: float
) -> None:
    loop = asyncio.get_running_loop()
    tally = Tally(count, conn)
    feeds: list[Feed] = []

    async def open_one(client: int) -> Feed:
        host, port = edges[client % len(edges)]
        request = (
            f"GET /v1/stream HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
        _, feed = await loop.create_connection(
            lambda: Feed(request, tally), host, port, local_addr=(source_address(client), 0)
        )
        return feed

    started = time.monotonic()
    try:
        for wave in range(first, first + count, CONNECT_WAVE):
            feeds += await asyncio.gather(
                *(open_one(c) for c in range(wave, min(first + count, wave + CONNECT_WAVE)))
            )
        await asyncio.wait_for(asyncio.gather(*(f.ready for f in feeds)), timeout=connect_timeout_s)
    except (OSError, TimeoutError) as exc:
        conn.send(("failed", f"{len(feeds)} of {count} connected: {exc!r}"))
        return
    # the clients' own cyclic GC would stop this loop for a while now and then, with
    # 200-odd objects per client, and the pause would count as airwarn's latency: the
    # clients' objects are frozen out of it, and the few cycles of a short run are left
    gc.freeze()
    gc.disable()
    conn.send(("ready", time.monotonic() - started))

    commands: asyncio.Queue[Any] = asyncio.Queue()
    loop.add_reader(conn.fileno(), lambda: commands.put_nowait(conn.recv()))
    os.set_blocking(conn.fileno(), True)  # the loop made it non-blocking; `send` expects not
    cpu0 = 0.0
    while True:
        command = await commands.get()
        if command[0] == "go":
            cpu0 = time.process_time()
        elif command[0] == "finish":
            posted: set[int] = set(command[1])
            cpu = time.process_time() - cpu0
            complete = sum(1 for f in feeds if sorted(f.seqs) == sorted(posted))
            report = {
                "times": {seq: tally.times.get(seq, []) for seq in posted},
                "complete": complete,
                "duplicates": sum(len(f.seqs) - len(set(f.seqs)) for f in feeds),
                "strays": sum(1 for f in feeds for s in f.seqs if s not in posted),
                "bad": sum(f.bad for f in feeds),
                "lost": [f.lost for f in feeds if f.lost is not None][:5],
                "lost_count": sum(1 for f in feeds if f.lost is not None),
                "cpu_s": cpu,
            }
            loop.remove_reader(conn.fileno())
            for feed in feeds:
                if feed.transport is not None:
                    feed.transport.close()
            conn.send(("report", report))
            return


def serve_clients(
    conn: Connection,
    edges: list[tuple[str, int]],
    first: int,
    count: int,
    connect_timeout_s: float = 180.0,
) -> None:
    """A client process: open clients `first`..`first + count - 1` spread over `edges` (client
    k on edge k mod E), say ("ready", seconds) once each has had its first heartbeat, then
    note every decision; on ("finish", posted seqs) answer ("report", {...}) and end."""
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        runner = asyncio.Runner()
    with runner:
        runner.run(_run(conn, edges, first, count, connect_timeout_s))
