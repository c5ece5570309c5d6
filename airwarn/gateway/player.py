"""Plays `datagrams.jsonl` on UDP at the pace it was recorded, or `speed` times faster."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec

from airwarn.contract import parse_time
from airwarn.errors import AirwarnError
from airwarn.gateway.udp import Sender


class _Line(msgspec.Struct):
    t: str
    hex: str


@dataclass
class PlayResult:
    datagrams: int = 0
    bytes: int = 0
    span_s: float = 0.0  # of recorded time
    took_s: float = 0.0
    late_s: float = 0.0  # the most a datagram left after its planned time


def read_datagrams(path: Path) -> Iterator[tuple[int, bytes]]:
    """(send time in ms, datagram) for each line of a datagrams file."""
    decoder = msgspec.json.Decoder(_Line)
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    line = decoder.decode(raw)
                    yield parse_time(line.t), bytes.fromhex(line.hex)
                except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as error:
                    raise AirwarnError(f"{path}, line {number}: not a datagram line "
                                       f'{{"t": RFC 3339, "hex": bytes}}: {error}') from None
    except OSError as error:
        raise AirwarnError(f"{path}: {error.strerror}") from None


def play(path: Path, sender: Sender, speed: float = 1.0,
         stop: threading.Event | None = None) -> PlayResult:
    """Send every datagram at its time; `speed` 0 sends them as fast as the socket takes."""
    result = PlayResult()
    start = time.monotonic()
    first_ms: int | None = None
    for t_ms, datagram in read_datagrams(path):
        if stop is not None and stop.is_set():
            break
        first_ms = t_ms if first_ms is None else first_ms
        if speed > 0:
            due = start + (t_ms - first_ms) / 1000.0 / speed
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            else:
                result.late_s = max(result.late_s, -wait)
        sender.send(datagram)
        result.datagrams += 1
        result.bytes += len(datagram)
        result.span_s = (t_ms - first_ms) / 1000.0
    result.took_s = time.monotonic() - start
    return result
