"""The ASTERIX gateway's loop: datagrams in, batches of events to the spool, a status line.

One thread receives, decodes and maps (the CPU work); the poster thread posts. A batch closes
at `batch_events` events or `batch_s` after its first, whichever comes first, so that a quiet
feed is not held back; it is then on disk. Batches that wait while the server answers earlier
ones are posted together, up to `post_events`, so that a busy feed goes in few requests.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import msgspec

from airwarn.gateway.decode import Decoder
from airwarn.gateway.mapping import Mapper, MappingSettings
from airwarn.gateway.poster import Poster
from airwarn.gateway.spool import Batch, Spool
from airwarn.gateway.udp import Endpoint, Listener

BATCH_BYTES = 1024 * 1024  # a post stays well under the server's body limit (8 MiB)


@dataclass(frozen=True)
class GatewaySettings:
    listen: Endpoint
    url: str
    token: str
    buffer_dir: Path
    mapping: MappingSettings
    interface: str | None = None
    buffer_bytes: int = 256 * 1024 * 1024
    rcvbuf_bytes: int = 4 * 1024 * 1024
    cat048: str = "1.32"
    cat062: str = "1.21"
    batch_events: int = 500
    batch_s: float = 0.05
    post_events: int = 5000  # batches waiting for the server go together up to this
    status_s: float = 10.0
    duration_s: float | None = None
    drain_s: float = 10.0  # on stopping, how long to wait for the buffer to empty


class Gateway:
    def __init__(self, settings: GatewaySettings, log: Callable[[str], None]) -> None:
        self.settings = settings
        self.log = log
        self.decoder = Decoder(settings.cat048, settings.cat062)
        generations = (
            settings.mapping.generations_file or settings.buffer_dir / "track-generations.json"
        )
        self.mapper = Mapper(replace(settings.mapping, generations_file=generations))
        self.spool = Spool(settings.buffer_dir, settings.buffer_bytes)
        self._received: dict[int, list[float]] = {}
        self._lock = threading.Lock()
        self.poster = Poster(
            self.spool,
            settings.url,
            settings.token,
            post_events=settings.post_events,
            received=self._received_times,
            log=log,
        )
        self.listener: Listener | None = None
        self._full_reported = 0.0
        self.unread_at_stop = 0
        self.started = time.monotonic()
        # per datagram: from its arrival to its events' batch on disk (the gateway's own part
        # of the added latency; the rest is the queue to the server and its answer)
        self.spooled_s: deque[float] = deque(maxlen=200_000)
        self.receive_cpu_s = 0.0  # the receiving thread's CPU time, when it has stopped

    def _received_times(self, batch: Batch) -> list[float]:
        with self._lock:
            return self._received.pop(batch.seq, [])

    def run(self, stop: threading.Event) -> None:
        s = self.settings
        self.listener = listener = Listener(s.listen, s.interface, s.rcvbuf_bytes)
        if self.spool.recovered:
            self.log(
                f"{self.spool.recovered} batches ({self.spool.events} events) left in "
                f"{s.buffer_dir} by an earlier run: posting them first"
            )
        self.log(
            f"listening on {s.listen} (receive buffer {listener.rcvbuf_bytes} bytes), "
            f"posting to {s.url}"
        )
        # the decoder allocates many short-lived objects: collect the young generation less
        # often, and keep libasterix's thousands of classes out of full collections
        gc.freeze()
        old_threshold = gc.get_threshold()
        gc.set_threshold(100_000, 50, 100)
        self.poster.start()
        encode = msgspec.json.Encoder().encode
        decoder, mapper = self.decoder, self.mapper
        lines: list[bytes] = []
        times: list[float] = []
        size = 0
        first = 0.0
        next_status = time.monotonic() + s.status_s
        deadline = None if s.duration_s is None else time.monotonic() + s.duration_s
        closing_by = None  # once told to stop: take what the socket holds, then end
        try:
            while True:
                if closing_by is None and (
                    stop.is_set() or (deadline is not None and time.monotonic() >= deadline)
                ):
                    closing_by = time.monotonic() + s.drain_s
                    listener.sock.settimeout(0.05)
                data = listener.receive()
                now = time.monotonic()
                if closing_by is not None and (data is None or now >= closing_by):
                    break
                if data is not None:
                    wall_ms = int(time.time() * 1000)
                    produced = False
                    for record in decoder.datagram(data):
                        for event in mapper.events(record, wall_ms):
                            line = encode(event)
                            lines.append(line)
                            size += len(line)
                            produced = True
                    if produced:
                        if not times:
                            first = now
                        times.append(now)
                if lines and (
                    len(lines) >= s.batch_events or now - first >= s.batch_s or size >= BATCH_BYTES
                ):
                    self._flush(lines, times)
                    lines, times, size = [], [], 0
                if now >= next_status:
                    self.log(self.status_line())
                    next_status = now + s.status_s
        finally:
            if lines:
                self._flush(lines, times)
            self.unread_at_stop = listener.discard_pending()
            if self.unread_at_stop:
                self.log(
                    f"{self.unread_at_stop} datagrams were still waiting in the socket "
                    f"after {s.drain_s:g} s of reading at the stop: NOT DECODED"
                )
            listener.close()
            if not self.spool.wait_empty(s.drain_s):
                self.log(
                    f"stopping with {len(self.spool)} batches ({self.spool.events} "
                    f"events) still in {s.buffer_dir}: the next run posts them first"
                )
            self.receive_cpu_s = time.thread_time()
            self.poster.stop()
            self.poster.join(timeout=35)
            gc.set_threshold(*old_threshold)
            gc.unfreeze()

    def _flush(self, lines: list[bytes], times: list[float]) -> None:
        batch = self.spool.put(lines)
        if batch is None:
            now = time.monotonic()
            if now - self._full_reported > 10:
                self._full_reported = now
                if self.spool.write_error is not None:
                    self.log(
                        f"BUFFER NOT WRITABLE ({self.spool.write_error}); "
                        f"{self.spool.refused_events} events dropped so far. Free the "
                        "disk or give another --buffer."
                    )
                else:
                    self.log(
                        f"BUFFER FULL: {self.spool.bytes} of {self.spool.max_bytes} bytes "
                        f"in {self.settings.buffer_dir}, the server is not taking batches "
                        f"({self.poster.counts.last_error}); {self.spool.refused_events} "
                        "events dropped so far. Bring the server back or give a larger "
                        "--buffer-mb."
                    )
            return
        with self._lock:
            self._received[batch.seq] = times
        now = time.monotonic()
        self.spooled_s.extend(now - t for t in times)

    def status_line(self) -> str:
        d, m, p = self.decoder.counts, self.mapper.counts, self.poster.counts
        records = sum(d.records.values())
        if self.listener is not None:
            self.listener.refresh_drops()
        drops = (
            f"{self.listener.kernel_drops} dropped by the kernel"
            if self.listener is not None and self.listener.drops_visible
            else "kernel drops not visible here"
        )
        bad = d.malformed_datagrams + d.malformed_blocks + d.malformed_records
        unknown = sum(d.unknown_blocks.values())
        server = (
            "server ok"
            if p.down_since is None
            else f"server DOWN {time.monotonic() - p.down_since:.0f} s ({p.last_error})"
        )
        line = (
            f"{d.datagrams} datagrams ({drops}), {records} records -> {m.tracks} tracks, "
            f"{m.ends} ends, {m.skipped} skipped; {bad} malformed, {unknown} blocks of "
            f"other categories; {p.events} events accepted, {p.rejected_lines} rejected; "
            f"buffer {len(self.spool)} batches ({self.spool.bytes / 1e6:.1f} MB); {server}"
        )
        if self.spool.refused_events:
            line += f"; {self.spool.refused_events} EVENTS DROPPED (buffer full)"
        if m.at_ceiling:
            line += (
                f"; {m.at_ceiling} CAT062 reports AT THE FORMAT'S HEIGHT OR CLIMB LIMIT "
                "(62.4 km, 1,040 m/s): their predictions are wrong"
            )
        return line

    def figures(self) -> dict[str, object]:
        """The counts as one JSON-ready object (`--summary-json`)."""
        d, m, p = self.decoder.counts, self.mapper.counts, self.poster.counts

        def quantiles(values: deque[float]) -> dict[str, float | int | None]:
            ordered = sorted(values)

            def pick(q: float) -> float | None:
                return (
                    round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)
                    if ordered
                    else None
                )

            return {"p50": pick(0.5), "p99": pick(0.99), "max": pick(1.0), "n": len(ordered)}

        return {
            "datagrams": d.datagrams,
            "bytes": d.bytes,
            "records": {f"{c:03d}": n for c, n in d.records.items()},
            "malformed_datagrams": d.malformed_datagrams,
            "malformed_blocks": d.malformed_blocks,
            "malformed_records": d.malformed_records,
            "other_categories": {f"{c:03d}": n for c, n in d.unknown_blocks.items()},
            "kernel_drops": self.listener.kernel_drops if self.listener else None,
            "unread_at_stop": self.unread_at_stop,
            "tracks": m.tracks,
            "ends": m.ends,
            "skipped": m.skipped,
            "kinds": m.kinds,
            "at_ceiling": m.at_ceiling,
            "accepted": p.events,
            "rejected": p.rejected_lines,
            "batches": p.batches,
            "posts": p.posts,
            "retries": p.retries,
            "replayed": p.replayed,
            "set_aside": p.refused_batches,
            "buffered_batches": len(self.spool),
            "dropped_buffer_full": self.spool.refused_events,
            "latency_ms": quantiles(p.latencies_s),  # datagram to the server's answer
            "spooled_ms": quantiles(self.spooled_s),  # datagram to its batch on disk
            "post_ms": quantiles(p.post_s),  # each answered post, request to answer
            "cpu_s": {"receive": round(self.receive_cpu_s, 3), "post": round(p.cpu_s, 3)},
            "fast_blocks": self.decoder.fast_blocks,
        }

    def summary(self) -> list[str]:
        d, m, p = self.decoder.counts, self.mapper.counts, self.poster.counts
        lines = [self.status_line()]
        if d.first_error:
            lines.append(f"first malformed input: {d.first_error}")
        if d.unknown_blocks:
            lines.append(
                "other categories (ignored): "
                + ", ".join(f"CAT{c:03d} x{n}" for c, n in sorted(d.unknown_blocks.items()))
            )
        skipped = {
            "no track number (plots need a tracker)": m.no_track_number,
            "no time of day": m.no_time,
            "no position": m.no_position,
            "marked simulated (see --accept-simulated)": m.simulated,
        }
        skipped.update(
            {f"CAT048 from radar {k} (no --radar for it)": v for k, v in m.unknown_radar.items()}
        )
        if m.skipped:
            lines.append(
                "skipped records: " + ", ".join(f"{k} x{v}" for k, v in skipped.items() if v)
            )
        if m.kinds:
            lines.append(
                "new tracks by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(m.kinds.items()))
            )
        if p.first_rejection:
            lines.append(f"first line the server rejected: {p.first_rejection}")
        lines.append(
            f"{p.batches} batches posted in {p.posts} requests, {p.retries} retries, "
            f"{p.replayed} answered from an earlier post, {p.refused_batches} set "
            "aside"
        )
        if p.latencies_s:
            ordered = sorted(p.latencies_s)
            p50, p99 = (ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in (0.5, 0.99))
            lines.append(
                f"added latency, datagram received to the server's answer: p50 "
                f"{p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max "
                f"{ordered[-1] * 1000:.0f} ms ({len(ordered)} datagrams)"
            )
        return lines
