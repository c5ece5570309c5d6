"""Batch replay: events in (JSON Lines file), decisions out (JSON Lines file), streaming.

Memory stays flat in the number of events: lines are read, applied and written one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from airwarn.contract import Decision, Event, encode_decision, parse_event
from airwarn.engine import Engine, EngineConfig, EngineStats
from airwarn.engine.policy import Policy
from airwarn.engine.zones import ZoneSet
from airwarn.errors import EventError


@dataclass
class ReplayResult:
    lines: int
    skipped: int
    decisions: int
    stats: EngineStats


def replay_lines(
    zones: ZoneSet,
    lines: Iterable[bytes],
    out: BinaryIO,
    *,
    config: EngineConfig | None = None,
    policy: Policy | None = None,
    skip_invalid: bool = False,
    on_skip: Callable[[EventError], None] | None = None,
    on_line: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Apply every event line to a fresh engine and write each decision as a JSON line.

    Without `skip_invalid`, the first invalid line raises EventError (decisions already
    written stay written: they are what the valid prefix of the input decided).
    """
    engine = Engine(zones, config, policy)
    count = skipped = 0
    for number, raw in enumerate(lines, start=1):
        count = number
        if on_line is not None:
            on_line(len(raw))
        if not raw.strip():
            continue
        try:
            event = parse_event(raw, line=number)
            decisions = engine.apply(event)
        except EventError as error:
            error.line = number
            if not skip_invalid:
                raise
            skipped += 1
            if on_skip is not None:
                on_skip(error)
            continue
        for decision in decisions:
            out.write(encode_decision(decision) + b"\n")
    for decision in engine.flush():
        out.write(encode_decision(decision) + b"\n")
    return ReplayResult(lines=count, skipped=skipped, decisions=engine.seq, stats=engine.stats)


def run_policy(
    zones: ZoneSet, events: Path, policy_name: str, config: EngineConfig | None = None
) -> list[Decision]:
    """All decisions of one policy over an event file (for comparisons between policies)."""
    from airwarn.engine import run
    from airwarn.engine.policy import POLICIES

    return list(run(zones, iter_events(events), config, POLICIES[policy_name](zones)))


def iter_events(path: Path) -> Iterator[Event]:
    """Valid events of a file (for tools that trust their input, e.g. the evaluator)."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield parse_event(raw, line=number)
