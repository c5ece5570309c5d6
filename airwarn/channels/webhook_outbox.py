"""The webhook outbox: which committed decisions each subscriber is owed, as queued deliveries.

The service commits a step and only then tells its listeners, so a crash between the two would
lose the step for webhooks if the channel trusted only what it was told. It does not: each
subscriber's `seen_seq` says how far the outbox has looked, and whatever lies between it and
what the channel holds (or, when idle or starting, the end of the decision log) is read back
from the log. A step the channel was told of becomes one delivery per subscriber it concerns;
decisions read back from the log are grouped by the event that caused them. Either way the
delivery key is `seq-<first decision seq>`, the watermark moves in the same transaction as the
rows, and nothing is queued twice or forgotten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Engine

from airwarn.channels import webhook_store as store
from airwarn.channels.webhook_store import Subscriber


@dataclass(frozen=True)
class Step:
    """Decisions committed together, with the CAP messages they became."""

    decisions: list[tuple[int, str, str, str]]  # (seq, zone, status, Contract v1 line)
    messages: list[dict[str, Any]]

    @property
    def first(self) -> int:
        return self.decisions[0][0]

    @property
    def last(self) -> int:
        return self.decisions[-1][0]


def step_of(decisions: list[tuple[int, str]], messages: list[dict[str, Any]]) -> Step | None:
    """A published step (`Published.decisions`, `.messages`) as the outbox reads it."""
    if not decisions:
        return None
    parsed = []
    for seq, line in decisions:
        body = json.loads(line)
        parsed.append((seq, str(body["zone"]), str(body.get("status", "actual")), line))
    return Step(parsed, list(messages))


def delivery(sub: Subscriber, step: Step, now_ms: int, tag: str = "") -> dict[str, Any] | None:
    """The row a step queues for a subscriber: its decisions for the subscriber's zones and
    statuses and the CAP messages about them; None when none of it concerns the subscriber."""
    mine = [(seq, line) for seq, zone, status, line in step.decisions if sub.wants(zone, status)]
    if not mine:
        return None
    key = f"seq-{mine[0][0]}{tag}"
    messages = [m for m in step.messages if sub.wants_message(m)]
    # the decision lines go in as they are: byte for byte what the other feeds carry
    body = (
        '{"id":'
        + json.dumps(f"{sub.id}-{key}")
        + ',"decisions":['
        + ",".join(line for _, line in mine)
        + '],"messages":'
        + json.dumps(messages, separators=(",", ":"))
        + "}"
    )
    return {
        "subscriber_id": sub.id,
        "key": key,
        "first_seq": mine[0][0],
        "last_seq": mine[-1][0],
        "payload": body,
        "attempts": 0,
        "next_ms": now_ms,
        "state": "pending",
        "last_error": None,
        "created_ms": now_ms,
        "done_ms": None,
    }


def logged_steps(conn: Connection, after: int, until: int) -> list[Step]:
    """Decisions `after < seq <= until` from the log, one step per causing event."""
    decisions = store.logged_decisions(conn, after, until)
    if not decisions:
        return []
    messages = store.cap_summaries(conn, decisions[0].event_seq, decisions[-1].event_seq)
    steps: list[Step] = []
    group: list[store.LoggedDecision] = []
    for decision in [*decisions, None]:
        if group and (decision is None or decision.event_seq != group[0].event_seq):
            steps.append(
                Step(
                    [(d.seq, d.zone, d.status, d.line) for d in group],
                    messages.get(group[0].event_seq, []),
                )
            )
            group = []
        if decision is not None:
            group.append(decision)
    return steps


class _LogReader:
    """Reads of the log shared by the subscribers of one fill (they mostly want the same)."""

    def __init__(self, conn: Connection, page: int) -> None:
        self.conn, self.page = conn, page
        self.cache: dict[tuple[int, int], tuple[list[Step], int]] = {}

    def read(self, after: int, until: int) -> tuple[list[Step], int]:
        """Steps after `after`, at most a page of decisions, up to `until`; and how far that
        reached. Decision seqs have no gaps, so the range read is the range covered."""
        until = min(until, after + self.page)
        if (after, until) not in self.cache:
            self.cache[(after, until)] = (logged_steps(self.conn, after, until), until)
        return self.cache[(after, until)]


def _owed(
    sub: Subscriber, steps: list[Step], target: int, log: _LogReader
) -> tuple[list[Step], int]:
    """The steps after the subscriber's watermark up to `target`, from those in hand where
    they follow on, from the log where they do not; and how far that got."""
    out: list[Step] = []
    cursor = sub.seen_seq
    for step in steps:
        if step.last <= cursor:
            continue
        if step.first > cursor + 1:  # a gap: told of later steps, not of these
            read, cursor_to = log.read(cursor, step.first - 1)
            out.extend(read)
            cursor = cursor_to
            if cursor < step.first - 1:
                return out, cursor  # a page was read; the rest next time
        if step.first <= cursor:  # partly seen already; only the rest is owed
            step = Step([d for d in step.decisions if d[0] > cursor], step.messages)
        out.append(step)
        cursor = step.last
    if cursor < target:
        read, cursor = log.read(cursor, target)
        out.extend(read)
    return out, cursor


def fill(
    db: Engine, steps: list[Step], now_ms: int, *, to_log_end: bool, page: int = 5000
) -> tuple[list[Subscriber], set[int], bool]:
    """Queue what the active subscribers are owed, up to the last step in hand (and to the end
    of the log when `to_log_end`). Returns the subscribers, the ids with deliveries to send
    (new ones; when `to_log_end`, any due), and whether more than a page is still owed."""
    with db.begin() as conn:
        store.relaxed(conn)
        subscribers = store.active_subscribers(conn)
        if not subscribers:
            return [], set(), False
        target = steps[-1].last if steps else 0
        if to_log_end:
            target = max(target, store.last_decision_seq(conn))
        log = _LogReader(conn, page)
        rows: list[dict[str, Any]] = []
        fresh: set[int] = set()
        more = False
        reached_by: dict[int, list[int]] = {}  # watermark -> subscribers (mostly just one)
        for sub in subscribers:
            if sub.seen_seq >= target:
                continue
            owed, reached = _owed(sub, steps, target, log)
            more = more or reached < target
            for step in owed:
                row = delivery(sub, step, now_ms)
                if row is not None:
                    rows.append(row)
                    fresh.add(sub.id)
            reached_by.setdefault(reached, []).append(sub.id)
        for reached, ids in reached_by.items():
            store.advance(conn, ids, reached)
        store.add_deliveries(conn, rows)
        if to_log_end:
            fresh |= store.due_subscribers(conn, now_ms)
    return subscribers, fresh, more


def replay_rows(
    db: Engine, sub: Subscriber, from_seq: int, until: int, now_ms: int, tag: str
) -> list[dict[str, Any]]:
    """Deliveries that resend the subscriber's decisions `from_seq..until`, as new deliveries
    with ids of their own (`tag` makes them unique)."""
    rows: list[dict[str, Any]] = []
    with db.connect() as conn:
        log = _LogReader(conn, page=5000)
        cursor = from_seq - 1
        while cursor < until:
            steps, cursor = log.read(cursor, until)
            for step in steps:
                row = delivery(sub, step, now_ms, tag)
                if row is not None:
                    rows.append(row)
    return rows
