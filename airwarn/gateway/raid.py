"""A simulated raid (`airwarn simulate`'s events.jsonl) as the ASTERIX a tracker or a radar
would send: `datagrams.jsonl`, one datagram a line with the time it is sent, for `player.py`.

Each threat gets a track number from its kind's block (rockets 1000-1999, ballistic 2000-2999,
cruise 3000-3999, drones 4000-4999, aircraft 5000-5999, unknown 6000-6999), as some trackers
number tracks by class; `kinds.toml` beside the datagrams holds the rules that give the kinds
back, and `threats.json` maps each simulated threat to the threat id the gateway will give it.
Reports are gathered into datagrams in the order a sensor network delivered them, one datagram
each `period_s` of sending time (or sooner when one datablock is full); a datagram is sent
once its last report is in hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from airwarn.contract import format_time, parse_time
from airwarn.errors import AirwarnError
from airwarn.gateway.encode import MAX_DATABLOCK, Cat048Encoder, Cat062Encoder, time_of_day_s

KIND_BLOCKS: dict[str, int] = {
    "rocket": 1000,
    "ballistic": 2000,
    "cruise": 3000,
    "drone": 4000,
    "aircraft": 5000,
    "unknown": 6000,
}
BLOCK_SIZE = 1000


@dataclass
class RaidEncoding:
    datagrams: int = 0
    records: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    threats: dict[str, str] = field(default_factory=dict)  # simulated id -> gateway id
    first_t: str | None = None
    last_t: str | None = None


def kinds_toml() -> str:
    lines = [
        "# Kinds by track number block, as `airwarn asterix encode` numbers tracks.",
        'default = "unknown"',
        "",
    ]
    for kind, start in KIND_BLOCKS.items():
        lines += [
            "[[rule]]",
            f'kind = "{kind}"',
            f"track_numbers = [{start}, {start + BLOCK_SIZE - 1}]",
            "",
        ]
    return "\n".join(lines)


def encode_raid(
    events: Iterable[dict[str, Any]],
    encoder: Cat062Encoder | Cat048Encoder,
    out: Path,
    period_s: float = 1.0,
) -> RaidEncoding:
    """Write `datagrams.jsonl`, `kinds.toml` and `threats.json` into the folder `out`."""
    out.mkdir(parents=True, exist_ok=True)
    result = RaidEncoding()
    numbers: dict[str, int] = {}  # live threats' track numbers
    next_in_block = dict.fromkeys(KIND_BLOCKS, 0)
    kind_of: dict[str, str] = {}
    ended: dict[str, int] = {}  # per gateway key, how often it ended (as the gateway counts)
    sent_ms = None  # the latest report time seen: when a sensor has it in hand
    group: list[Any] = []
    group_bytes = 3
    group_start = group_sent_ms = 0
    encode = msgspec.json.Encoder().encode
    source = encoder.source
    with (out / "datagrams.jsonl").open("wb") as sink:

        def flush() -> None:
            nonlocal group, group_bytes
            if group:
                sink.write(
                    encode({"t": format_time(group_sent_ms), "hex": encoder.datablock(group).hex()})
                    + b"\n"
                )
                result.datagrams += 1
                group, group_bytes = [], 3

        for event in events:
            kind = event.get("type")
            if kind not in ("track", "end"):
                result.skipped[f"{kind} events"] = result.skipped.get(f"{kind} events", 0) + 1
                continue
            threat = event["threat"]
            if (
                kind == "track"
                and isinstance(encoder, Cat048Encoder)
                and not encoder.in_range(event)
            ):
                result.skipped["reports beyond the radar's range"] = (
                    result.skipped.get("reports beyond the radar's range", 0) + 1
                )
                continue
            if threat not in numbers:
                if kind == "end":
                    result.skipped["ends of unseen threats"] = (
                        result.skipped.get("ends of unseen threats", 0) + 1
                    )
                    continue
                block = event["kind"] if event["kind"] in KIND_BLOCKS else "unknown"
                numbers[threat] = KIND_BLOCKS[block] + next_in_block[block] % BLOCK_SIZE
                next_in_block[block] += 1
                kind_of[threat] = block
                key = f"{encoder.category:03d}-{source.sac}-{source.sic}-{numbers[threat]}"
                n = ended.get(key, 0)
                result.threats[threat] = key if n == 0 else f"{key}.{n + 1}"
            t_ms = parse_time(event["t"])
            sent_ms = t_ms if sent_ms is None else max(sent_ms, t_ms)
            if not group:
                group_start = sent_ms
            elif sent_ms - group_start >= period_s * 1000:
                flush()
                group_start = sent_ms
            record = encoder.record(event, numbers[threat], time_of_day_s(t_ms))
            size = len(record.unparse()) // 8
            if group_bytes + size > MAX_DATABLOCK:
                flush()
                group_start = sent_ms
            group.append(record)
            group_bytes += size
            group_sent_ms = sent_ms
            result.records += 1
            result.first_t = result.first_t or event["t"]
            result.last_t = event["t"]
            if kind == "end":
                key = f"{encoder.category:03d}-{source.sac}-{source.sic}-{numbers.pop(threat)}"
                ended[key] = ended.get(key, 0) + 1
        flush()
    if result.records == 0:
        raise AirwarnError(
            "no track or end event to encode: is this an events.jsonl from `airwarn simulate`?"
        )
    (out / "kinds.toml").write_text(kinds_toml())
    (out / "threats.json").write_bytes(msgspec.json.format(encode(result.threats)) + b"\n")
    return result
