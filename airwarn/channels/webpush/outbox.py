"""The push outbox in the store: decisions turned into owed pushes, handed out when due, and
their outcomes written back.

Everything owed is in `push_outbox` before any of it is sent, and `push_cursor` (the newest
decision already turned into rows) moves in the same transaction as the rows it covers; so a
writer that dies anywhere leaves either nothing done or a consistent outbox, and the next one
carries on from the cursor. A row stays `owed` until its outcome is written: a push may be sent
twice after a crash, never lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from airwarn.channels.webpush import payload
from airwarn.engine.zones import ZoneSet
from airwarn.store.log import CAP_MESSAGE, DECISION_LOG, EVENT_LOG
from airwarn.store.secrets import SecretBox

SUBSCRIPTION = sa.table(
    "push_subscription",
    sa.column("id"),
    sa.column("endpoint"),
    sa.column("p256dh"),
    sa.column("auth"),
    sa.column("zones"),
    sa.column("lat"),
    sa.column("lon"),
    sa.column("lang"),
    sa.column("drills"),
    sa.column("from_seq"),
    sa.column("created_ms"),
)
SUBSCRIPTION_ZONE = sa.table(
    "push_subscription_zone", sa.column("zone"), sa.column("subscription_id")
)
OUTBOX = sa.table(
    "push_outbox",
    sa.column("id"),
    sa.column("subscription_id"),
    sa.column("key"),
    sa.column("seq"),
    sa.column("payload"),
    sa.column("urgency"),
    sa.column("topic"),
    sa.column("born_ms"),
    sa.column("attempts"),
    sa.column("next_ms"),
    sa.column("state"),
    sa.column("done_ms"),
    sa.column("last_error"),
)
CURSOR = sa.table("push_cursor", sa.column("id"), sa.column("seq"))


@dataclass(frozen=True)
class Owed:
    """One push to send: where, with which keys, what."""

    id: int
    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str
    seq: int
    payload: str
    urgency: str
    topic: str
    born_ms: int
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """What became of one send: `sent`, `gone` (the subscription is dead: delete it),
    `retry` (at `next_ms`) or `failed` (the push service refused it for good)."""

    owed: Owed
    kind: str
    next_ms: int = 0
    error: str | None = None


def queue_new(db: Engine, zones: ZoneSet, *, batch: int = 500) -> int:
    """Turn every decision after the cursor into outbox rows for its zone's subscribers;
    the number of rows queued. Decisions of drills and tests go only to subscribers who
    asked for them."""
    queued = 0
    while True:
        with db.begin() as conn:
            cursor = _cursor(conn)
            decisions = _decisions_after(conn, cursor, batch)
            if not decisions:
                return queued
            rows = _rows_for(conn, decisions, zones)
            for start in range(0, len(rows), 1000):
                conn.execute(sa.insert(OUTBOX), rows[start : start + 1000])
            conn.execute(sa.update(CURSOR).where(CURSOR.c.id == 1).values(seq=decisions[-1]["seq"]))
            queued += len(rows)


def _cursor(conn: Connection) -> int:
    seq = conn.execute(sa.select(CURSOR.c.seq).where(CURSOR.c.id == 1)).scalar()
    if seq is not None:
        return int(seq)
    # first start: nothing before the oldest subscription's start is owed to anyone
    oldest = conn.execute(sa.select(sa.func.min(SUBSCRIPTION.c.from_seq))).scalar()
    if oldest is None:
        oldest = conn.execute(sa.select(sa.func.max(DECISION_LOG.c.seq))).scalar() or 0
    conn.execute(sa.insert(CURSOR).values(id=1, seq=int(oldest)))
    return int(oldest)


def _decisions_after(conn: Connection, after: int, limit: int) -> list[dict[str, Any]]:
    query = (
        sa.select(
            DECISION_LOG.c.seq,
            DECISION_LOG.c.event_seq,
            DECISION_LOG.c.zone,
            DECISION_LOG.c.level,
            DECISION_LOG.c.status,
            DECISION_LOG.c.kind,
            DECISION_LOG.c.body,
            EVENT_LOG.c.received_ms,
        )
        .select_from(DECISION_LOG.join(EVENT_LOG, EVENT_LOG.c.seq == DECISION_LOG.c.event_seq))
        .where(DECISION_LOG.c.seq > after)
        .order_by(DECISION_LOG.c.seq)
        .limit(limit)
    )
    out = []
    for row in conn.execute(query).mappings():
        body = json.loads(row["body"])
        source = body.get("source") or {}
        out.append(
            {
                "seq": int(row["seq"]),
                "event_seq": int(row["event_seq"]),
                "zone": row["zone"],
                "level": row["level"],
                "status": row["status"],
                "kind": row["kind"],
                "t": body["t"],
                "received_ms": int(row["received_ms"]),
                "source": source.get("name"),
                "since": source.get("t"),
                "in_force": body.get("in_force"),
            }
        )
    return out


def _rows_for(
    conn: Connection, decisions: list[dict[str, Any]], zones: ZoneSet
) -> list[dict[str, Any]]:
    """The outbox rows a batch of decisions owes, one per subscriber of each one's zone."""
    zone_ids = sorted({d["zone"] for d in decisions})
    subscribers: dict[str, list[dict[str, Any]]] = {}
    query = (
        sa.select(
            SUBSCRIPTION_ZONE.c.zone,
            SUBSCRIPTION.c.id,
            SUBSCRIPTION.c.lang,
            SUBSCRIPTION.c.drills,
            SUBSCRIPTION.c.from_seq,
        )
        .select_from(
            SUBSCRIPTION_ZONE.join(
                SUBSCRIPTION, SUBSCRIPTION.c.id == SUBSCRIPTION_ZONE.c.subscription_id
            )
        )
        .where(SUBSCRIPTION_ZONE.c.zone.in_(zone_ids))
    )
    for row in conn.execute(query).mappings():
        subscribers.setdefault(row["zone"], []).append(dict(row))
    if not subscribers:
        return []
    identifiers = _cap_identifiers(conn, {d["event_seq"] for d in decisions})
    rows: list[dict[str, Any]] = []
    texts: dict[tuple[int, str], str] = {}  # one payload per decision and language
    for decision in decisions:
        zone, status = decision["zone"], decision["status"]
        index = zones.index_of.get(zone)
        info = zones.zones[index] if index is not None else None
        for sub in subscribers.get(zone, ()):
            if decision["seq"] <= sub["from_seq"] or (status != "actual" and not sub["drills"]):
                continue
            lang = payload.language(sub["lang"])
            text = texts.get((decision["seq"], lang))
            if text is None:
                text = payload.build(
                    decision,
                    zone_name=info.name if info else None,
                    shelter_s=info.shelter_s if info else None,
                    lang=lang,
                    identifier=identifiers.get((decision["event_seq"], status, zone)),
                )
                texts[(decision["seq"], lang)] = text
            rows.append(
                {
                    "subscription_id": sub["id"],
                    "key": f"decision:{decision['seq']}",
                    "seq": decision["seq"],
                    "payload": text,
                    "urgency": payload.urgency(decision["level"], status),
                    "topic": payload.topic(status, zone),
                    "born_ms": decision["received_ms"],
                    "attempts": 0,
                    "next_ms": 0,
                    "state": "owed",
                    "done_ms": None,
                    "last_error": None,
                }
            )
    return rows


def _cap_identifiers(
    conn: Connection, event_seqs: Iterable[int]
) -> dict[tuple[int, str, str], str]:
    """(event seq, status, zone) -> the CAP message that said it."""
    query = (
        sa.select(
            CAP_MESSAGE.c.identifier,
            CAP_MESSAGE.c.event_seq,
            CAP_MESSAGE.c.status,
            CAP_MESSAGE.c.zones,
        )
        .where(CAP_MESSAGE.c.event_seq.in_(sorted(event_seqs)))
        .order_by(CAP_MESSAGE.c.seq)
    )
    out = {}
    for identifier, event_seq, status, zones in conn.execute(query):
        for zone in json.loads(zones):
            # CAP spells the status as CAP does (Actual, Exercise, Test); decisions in lower case
            out[(int(event_seq), str(status).lower(), str(zone))] = str(identifier)
    return out


def expire(db: Engine, now_ms: int, ttl_s: int) -> int:
    """Give up on pushes older than the TTL: a warning that late would mislead."""
    with db.begin() as conn:
        result = conn.execute(
            sa.update(OUTBOX)
            .where(OUTBOX.c.state == "owed", OUTBOX.c.born_ms < now_ms - ttl_s * 1000)
            .values(state="expired", done_ms=now_ms)
        )
    return int(result.rowcount or 0)


def owed_now(db: Engine) -> int:
    """Make every owed push due at once: a writer that takes over tries them all afresh (the
    push service may have been out of reach from its predecessor only)."""
    with db.begin() as conn:
        result = conn.execute(sa.update(OUTBOX).where(OUTBOX.c.state == "owed").values(next_ms=0))
    return int(result.rowcount or 0)


def due(db: Engine, now_ms: int, limit: int, secrets: SecretBox) -> list[Owed]:
    """Owed pushes whose time has come, oldest decision first; none to a subscriber while an
    older push to it waits for a retry, so each browser gets its pushes in order. Each with
    the browser's auth secret, opened to encrypt the push with."""
    earlier = OUTBOX.alias("earlier")
    waiting = sa.select(earlier.c.id).where(
        earlier.c.subscription_id == OUTBOX.c.subscription_id,
        earlier.c.state == "owed",
        earlier.c.seq < OUTBOX.c.seq,
        earlier.c.next_ms > now_ms,
    )
    query = (
        sa.select(
            OUTBOX.c.id,
            OUTBOX.c.subscription_id,
            SUBSCRIPTION.c.endpoint,
            SUBSCRIPTION.c.p256dh,
            SUBSCRIPTION.c.auth,
            OUTBOX.c.seq,
            OUTBOX.c.payload,
            OUTBOX.c.urgency,
            OUTBOX.c.topic,
            OUTBOX.c.born_ms,
            OUTBOX.c.attempts,
        )
        .select_from(OUTBOX.join(SUBSCRIPTION, SUBSCRIPTION.c.id == OUTBOX.c.subscription_id))
        .where(OUTBOX.c.state == "owed", OUTBOX.c.next_ms <= now_ms, ~waiting.exists())
        .order_by(OUTBOX.c.seq, OUTBOX.c.id)
        .limit(limit)
    )
    with db.connect() as conn:
        return [
            Owed(**{**row, "auth": secrets.open(row["auth"])})
            for row in conn.execute(query).mappings()
        ]


def next_due_ms(db: Engine) -> int | None:
    with db.connect() as conn:
        value = conn.execute(
            sa.select(sa.func.min(OUTBOX.c.next_ms)).where(OUTBOX.c.state == "owed")
        ).scalar()
    return None if value is None else int(value)


def record(db: Engine, outcomes: Sequence[Outcome], now_ms: int) -> None:
    """Write back what became of a round of sends; a `gone` subscription is deleted with
    everything still owed to it (the Web Push contract: 404 and 410 mean it is dead)."""
    with db.begin() as conn:
        gone = sorted({o.owed.subscription_id for o in outcomes if o.kind == "gone"})
        if gone:
            delete_subscriptions(conn, gone)
        sent = [o.owed.id for o in outcomes if o.kind == "sent"]
        for chunk in range(0, len(sent), 500):  # most of a fan-out: one statement per 500
            conn.execute(
                sa.update(OUTBOX)
                .where(OUTBOX.c.id.in_(sent[chunk : chunk + 500]), OUTBOX.c.state == "owed")
                .values(
                    state="sent", done_ms=now_ms, last_error=None, attempts=OUTBOX.c.attempts + 1
                )
            )
        retries = [
            {"b_id": o.owed.id, "b_next": o.next_ms, "b_error": o.error}
            for o in outcomes
            if o.kind == "retry"
        ]
        if retries:
            conn.execute(
                sa.update(OUTBOX)
                .where(OUTBOX.c.id == sa.bindparam("b_id"), OUTBOX.c.state == "owed")
                .values(
                    next_ms=sa.bindparam("b_next"),
                    last_error=sa.bindparam("b_error"),
                    attempts=OUTBOX.c.attempts + 1,
                ),
                retries,
            )
        failed = [{"b_id": o.owed.id, "b_error": o.error} for o in outcomes if o.kind == "failed"]
        if failed:
            conn.execute(
                sa.update(OUTBOX)
                .where(OUTBOX.c.id == sa.bindparam("b_id"), OUTBOX.c.state == "owed")
                .values(
                    state="failed",
                    done_ms=now_ms,
                    last_error=sa.bindparam("b_error"),
                    attempts=OUTBOX.c.attempts + 1,
                ),
                failed,
            )


def delete_subscriptions(conn: Connection, ids: Sequence[int]) -> None:
    """Delete subscriptions with their zones and whatever is still owed to them (by hand as
    well as by the foreign keys' cascade, which an SQLite connection may have off)."""
    conn.execute(sa.delete(OUTBOX).where(OUTBOX.c.subscription_id.in_(ids)))
    conn.execute(sa.delete(SUBSCRIPTION_ZONE).where(SUBSCRIPTION_ZONE.c.subscription_id.in_(ids)))
    conn.execute(sa.delete(SUBSCRIPTION).where(SUBSCRIPTION.c.id.in_(ids)))


def prune(db: Engine, before_ms: int) -> int:
    """Forget pushes done (sent, failed, expired) before a time."""
    with db.begin() as conn:
        result = conn.execute(
            sa.delete(OUTBOX).where(OUTBOX.c.state != "owed", OUTBOX.c.done_ms < before_ms)
        )
    return int(result.rowcount or 0)
