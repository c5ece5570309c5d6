"""Plays `datagrams.jsonl` on UDP at the pace it was recorded, or `speed` times faster.

A recorded raid carries its own times of day. Played into a gateway whose server runs on the
wall clock, `retime` moves every record's time of day (I062/070, I048/140) by the same offset,
so that the first datagram is stamped with the moment it leaves; at speed 1 the raid then
happens now, as a live feed would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
from asterix.base import Bits, RawDatablock

from airwarn.contract import parse_time
from airwarn.errors import AirwarnError
from airwarn.gateway.decode import CAT048_EDITIONS, CAT062_EDITIONS, DEFAULT_CAT048, DEFAULT_CAT062
from airwarn.gateway.udp import Sender

DAY_S = 86_400.0


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
                    raise AirwarnError(
                        f"{path}, line {number}: not a datagram line "
                        f'{{"t": RFC 3339, "hex": bytes}}: {error}'
                    ) from None
    except OSError as error:
        raise AirwarnError(f"{path}: {error.strerror}") from None


def retimed(datagram: bytes, offset_s: float) -> bytes:
    """The datagram with each record's time of day moved by `offset_s` (modulo a day);
    datablocks of other categories pass as they are."""
    specs = {
        48: (CAT048_EDITIONS[DEFAULT_CAT048], "140"),
        62: (CAT062_EDITIONS[DEFAULT_CAT062], "070"),
    }
    blocks = RawDatablock.parse(Bits.from_bytes(datagram))
    if isinstance(blocks, ValueError):
        return datagram
    out = []
    for block in blocks:
        spec, item = specs.get(block.get_category(), (None, ""))
        records = [] if spec is None else spec.cv_uap.parse(block.get_raw_records())
        if spec is None or isinstance(records, ValueError):
            out.append(bytes(block.unparse().to_bytes()))
            continue
        moved = []
        for record in records:
            tod = record.get_item(item)
            if tod is not None:
                seconds = (tod.variation.content.as_quantity("s") + offset_s) % DAY_S
                record = record.set_item(item, (round(seconds * 128) % (128 * 86_400) / 128, "s"))
            moved.append(record)
        out.append(bytes(spec.create(moved).unparse().to_bytes()))
    return b"".join(out)


def play(
    path: Path,
    sender: Sender,
    speed: float = 1.0,
    stop: threading.Event | None = None,
    retime: bool = False,
) -> PlayResult:
    """Send every datagram at its time; `speed` 0 sends them as fast as the socket takes;
    `retime` restamps the records so that the raid starts now (wall clock, UTC)."""
    result = PlayResult()
    start = time.monotonic()
    first_ms: int | None = None
    offset_s = 0.0
    for t_ms, datagram in read_datagrams(path):
        if stop is not None and stop.is_set():
            break
        if first_ms is None:
            first_ms = t_ms
            offset_s = (time.time() * 1000 - t_ms) / 1000.0
        if retime:
            datagram = retimed(datagram, offset_s)
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
