"""The webhook tables in SQL: subscribers, the outbox of deliveries, the dead letters.

Plain SQLAlchemy Core over the tables of migration 0003, the same on SQLite and PostgreSQL.
Every change an administrator makes is written with its audit-log entry in one transaction.
A subscriber's signing secret is kept encrypted with the store key (`airwarn.store.secrets`),
sealed as it is written and opened only for the sender that signs with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from airwarn.contract import format_time
from airwarn.store.log import AUDIT_LOG, CAP_MESSAGE, DECISION_LOG
from airwarn.store.secrets import SecretBox

SUBSCRIBER = sa.table(
    "webhook_subscriber",
    sa.column("id"),
    sa.column("name"),
    sa.column("url"),
    sa.column("secret"),
    sa.column("zones"),
    sa.column("statuses"),
    sa.column("created_ms"),
    sa.column("created_by"),
    sa.column("active"),
    sa.column("deleted_ms"),
    sa.column("seen_seq"),
)
DELIVERY = sa.table(
    "webhook_delivery",
    sa.column("id"),
    sa.column("subscriber_id"),
    sa.column("key"),
    sa.column("first_seq"),
    sa.column("last_seq"),
    sa.column("payload"),
    sa.column("attempts"),
    sa.column("next_ms"),
    sa.column("state"),
    sa.column("last_error"),
    sa.column("created_ms"),
    sa.column("done_ms"),
)


@dataclass(frozen=True)
class Subscriber:
    """One active subscription: where to send, how to sign, what it wants."""

    id: int
    url: str
    secret: str
    zones: frozenset[str] | None  # None: every zone
    statuses: frozenset[str]  # actual, exercise, test
    seen_seq: int  # the newest decision the outbox has considered for it

    def wants(self, zone: str, status: str) -> bool:
        return status in self.statuses and (self.zones is None or zone in self.zones)

    def wants_message(self, message: dict[str, Any]) -> bool:
        """A CAP message summary (its status is CAP's: Actual, Exercise, Test)."""
        return str(message["status"]).lower() in self.statuses and (
            self.zones is None or not self.zones.isdisjoint(message["zones"])
        )


@dataclass(frozen=True)
class LoggedDecision:
    seq: int
    event_seq: int
    zone: str
    status: str
    line: str  # the Contract v1 JSON line


@dataclass(frozen=True)
class Due:
    """The oldest delivery still pending for a subscriber, with where it goes."""

    id: int
    key: str
    payload: str
    attempts: int
    next_ms: int
    url: str
    secret: str
    active: bool


def _subscriber(row: Any) -> Subscriber:
    zones = None if row.zones is None else frozenset(json.loads(row.zones))
    return Subscriber(
        id=int(row.id),
        url=str(row.url),
        secret=str(row.secret),
        zones=zones,
        statuses=frozenset(json.loads(row.statuses)),
        seen_seq=int(row.seen_seq),
    )


def audit_entry(
    who: str, role: str, t_ms: int, action: str, detail: dict[str, Any]
) -> dict[str, Any]:
    """An audit-log row, shaped as the service writes its own."""
    return {
        "t_ms": t_ms,
        "who": who,
        "role": role,
        "action": action,
        "reason": None,
        "detail": json.dumps(detail, sort_keys=True, default=str),
    }


# -- subscribers -------------------------------------------------------------------------------


def create_subscriber(
    db: Engine, row: dict[str, Any], audit: dict[str, Any], secrets: SecretBox
) -> int:
    """Insert a subscriber (zones and statuses as lists, its secret sealed with `secrets`) and
    its audit entry; its id."""
    values = {
        **row,
        "zones": None if row["zones"] is None else json.dumps(row["zones"]),
        "statuses": json.dumps(row["statuses"]),
        "active": True,
        "secret": secrets.seal(row["secret"]),
    }
    with db.begin() as conn:
        new_id = int(
            conn.execute(
                sa.insert(SUBSCRIBER).values(**values).returning(SUBSCRIBER.c.id)
            ).scalar_one()
        )
        detail = json.loads(audit["detail"])
        conn.execute(
            sa.insert(AUDIT_LOG).values(
                **{**audit, "detail": json.dumps({**detail, "id": new_id}, sort_keys=True)}
            )
        )
    return new_id


def active_subscribers(conn: Connection) -> list[Subscriber]:
    rows = conn.execute(
        sa.select(SUBSCRIBER).where(SUBSCRIBER.c.active.is_(True)).order_by(SUBSCRIBER.c.id)
    )
    return [_subscriber(row) for row in rows]


def subscriber(db: Engine, subscriber_id: int) -> Subscriber | None:
    """An active subscriber by id."""
    with db.connect() as conn:
        row = conn.execute(
            sa.select(SUBSCRIBER).where(
                SUBSCRIBER.c.id == subscriber_id, SUBSCRIBER.c.active.is_(True)
            )
        ).first()
    return None if row is None else _subscriber(row)


def list_subscribers(db: Engine) -> list[dict[str, Any]]:
    """Active subscribers without their secrets, with how many deliveries are in each state."""
    counts = sa.select(DELIVERY.c.subscriber_id, DELIVERY.c.state, sa.func.count()).group_by(
        DELIVERY.c.subscriber_id, DELIVERY.c.state
    )
    with db.connect() as conn:
        rows = (
            conn.execute(
                sa.select(
                    SUBSCRIBER.c.id,
                    SUBSCRIBER.c.name,
                    SUBSCRIBER.c.url,
                    SUBSCRIBER.c.zones,
                    SUBSCRIBER.c.statuses,
                    SUBSCRIBER.c.created_ms,
                    SUBSCRIBER.c.created_by,
                    SUBSCRIBER.c.seen_seq,
                )
                .where(SUBSCRIBER.c.active.is_(True))
                .order_by(SUBSCRIBER.c.id)
            )
            .mappings()
            .all()
        )
        tally: dict[int, dict[str, int]] = {}
        for sub_id, state, count in conn.execute(counts):
            tally.setdefault(int(sub_id), {})[str(state)] = int(count)
    out = []
    for row in rows:
        states = tally.get(int(row["id"]), {})
        out.append(
            {
                "id": int(row["id"]),
                "name": row["name"],
                "url": row["url"],
                "zones": None if row["zones"] is None else json.loads(row["zones"]),
                "statuses": json.loads(row["statuses"]),
                "created": format_time(row["created_ms"]),
                "created_by": row["created_by"],
                "seen_seq": int(row["seen_seq"]),
                "deliveries": {
                    state: states.get(state, 0) for state in ("pending", "delivered", "dead")
                },
            }
        )
    return out


def deactivate(db: Engine, subscriber_id: int, now_ms: int, audit: dict[str, Any]) -> bool:
    """Stop a subscription (kept, with its deliveries, for the record); False if none."""
    with db.begin() as conn:
        done = conn.execute(
            sa.update(SUBSCRIBER)
            .where(SUBSCRIBER.c.id == subscriber_id, SUBSCRIBER.c.active.is_(True))
            .values(active=False, deleted_ms=now_ms)
        ).rowcount
        if done:
            conn.execute(sa.insert(AUDIT_LOG).values(**audit))
    return bool(done)


# -- the outbox --------------------------------------------------------------------------------


def last_decision_seq(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.max(DECISION_LOG.c.seq))).scalar() or 0)


def logged_decisions(conn: Connection, after: int, until: int) -> list[LoggedDecision]:
    """Decisions with `after < seq <= until`, in order, from the service's log."""
    rows = conn.execute(
        sa.select(
            DECISION_LOG.c.seq,
            DECISION_LOG.c.event_seq,
            DECISION_LOG.c.zone,
            DECISION_LOG.c.status,
            DECISION_LOG.c.body,
        )
        .where(DECISION_LOG.c.seq > after, DECISION_LOG.c.seq <= until)
        .order_by(DECISION_LOG.c.seq)
    )
    return [
        LoggedDecision(int(seq), int(event_seq), str(zone), str(status), str(body))
        for seq, event_seq, zone, status, body in rows
    ]


def cap_summaries(
    conn: Connection, first_event: int, last_event: int
) -> dict[int, list[dict[str, Any]]]:
    """The CAP messages of events `first_event..last_event`, per event, shaped as the service
    publishes them (`Published.messages`)."""
    rows = conn.execute(
        sa.select(
            CAP_MESSAGE.c.event_seq,
            CAP_MESSAGE.c.identifier,
            CAP_MESSAGE.c.msg_type,
            CAP_MESSAGE.c.level,
            CAP_MESSAGE.c.status,
            CAP_MESSAGE.c.kind,
            CAP_MESSAGE.c.sent_ms,
            CAP_MESSAGE.c.zones,
            CAP_MESSAGE.c.refs,
        )
        .where(CAP_MESSAGE.c.event_seq >= first_event, CAP_MESSAGE.c.event_seq <= last_event)
        .order_by(CAP_MESSAGE.c.seq)
    ).mappings()
    out: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(int(row["event_seq"]), []).append(
            {
                "identifier": row["identifier"],
                "msg_type": row["msg_type"],
                "level": row["level"],
                "status": row["status"],
                "kind": row["kind"],
                "sent": format_time(int(row["sent_ms"])),
                "zones": json.loads(row["zones"]),
                "references": json.loads(row["refs"]),
            }
        )
    return out


def add_deliveries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Queue deliveries; one already queued under the same (subscriber, key) is left alone."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(DELIVERY).on_conflict_do_nothing(), rows)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(DELIVERY).on_conflict_do_nothing(), rows)


def advance(conn: Connection, subscriber_ids: list[int], seen_seq: int) -> None:
    """Move subscribers' watermark forward to `seen_seq` (never back)."""
    if subscriber_ids:
        conn.execute(
            sa.update(SUBSCRIBER)
            .where(SUBSCRIBER.c.id.in_(subscriber_ids), SUBSCRIBER.c.seen_seq < seen_seq)
            .values(seen_seq=seen_seq)
        )


def relaxed(conn: Connection) -> None:
    """Let this transaction commit without waiting for the disk (PostgreSQL).

    The channel's own writes can be lost in a power cut without harm: a lost outbox write
    takes its watermark with it, so the steps are read back from the log; a lost "delivered"
    sends the delivery again under the same Webhook-Id. (SQLite gets the same from the
    channel's own connection pool, see `channel_engine`.)"""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def channel_engine(service_db: Engine) -> Engine:
    """The engine the channel writes through: for a SQLite file, one of its own without
    `synchronous=FULL` (a pragma per connection, so not the service's durable pool); else the
    service's."""
    url = service_db.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return service_db
    from airwarn.store import connect

    return connect(url.render_as_string(hide_password=False))


def due_subscribers(conn: Connection, now_ms: int) -> set[int]:
    """Subscribers with a delivery pending and due (a replay asked of another process, a
    retry whose time has come)."""
    rows = conn.execute(
        sa.select(DELIVERY.c.subscriber_id)
        .distinct()
        .where(DELIVERY.c.state == "pending", DELIVERY.c.next_ms <= now_ms)
    )
    return {int(sub_id) for (sub_id,) in rows}


def pending(db: Engine, subscriber_id: int, secrets: SecretBox, limit: int = 32) -> list[Due]:
    """A subscriber's oldest pending deliveries: they leave in the order queued (each with
    the subscriber's secret, opened to sign with)."""
    query = (
        sa.select(
            DELIVERY.c.id,
            DELIVERY.c.key,
            DELIVERY.c.payload,
            DELIVERY.c.attempts,
            DELIVERY.c.next_ms,
            SUBSCRIBER.c.url,
            SUBSCRIBER.c.secret,
            SUBSCRIBER.c.active,
        )
        .select_from(DELIVERY.join(SUBSCRIBER, SUBSCRIBER.c.id == DELIVERY.c.subscriber_id))
        .where(DELIVERY.c.subscriber_id == subscriber_id, DELIVERY.c.state == "pending")
        .order_by(DELIVERY.c.id)
        .limit(limit)
    )
    with db.connect() as conn:
        rows = conn.execute(query).all()
    return [
        Due(
            id=int(row.id),
            key=str(row.key),
            payload=str(row.payload),
            attempts=int(row.attempts),
            next_ms=int(row.next_ms),
            url=str(row.url),
            secret=secrets.open(str(row.secret)),
            active=bool(row.active),
        )
        for row in rows
    ]


def record_attempt(
    db: Engine,
    delivery_id: int,
    *,
    state: str,
    attempts: int,
    next_ms: int,
    error: str | None,
    done_ms: int | None,
) -> None:
    with db.begin() as conn:
        relaxed(conn)
        conn.execute(
            sa.update(DELIVERY)
            .where(DELIVERY.c.id == delivery_id)
            .values(
                state=state, attempts=attempts, next_ms=next_ms, last_error=error, done_ms=done_ms
            )
        )


# -- dead letters and replay -------------------------------------------------------------------


def dead_letters(db: Engine, subscriber_id: int, limit: int) -> list[dict[str, Any]]:
    """Deliveries given up on, oldest first, with what was in them."""
    query = (
        sa.select(
            DELIVERY.c.key,
            DELIVERY.c.first_seq,
            DELIVERY.c.last_seq,
            DELIVERY.c.attempts,
            DELIVERY.c.last_error,
            DELIVERY.c.created_ms,
            DELIVERY.c.done_ms,
            DELIVERY.c.payload,
        )
        .where(DELIVERY.c.subscriber_id == subscriber_id, DELIVERY.c.state == "dead")
        .order_by(DELIVERY.c.id)
        .limit(limit)
    )
    with db.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        {
            "webhook_id": f"{subscriber_id}-{row['key']}",
            "first_seq": int(row["first_seq"]),
            "last_seq": int(row["last_seq"]),
            "attempts": int(row["attempts"]),
            "last_error": row["last_error"],
            "queued": format_time(int(row["created_ms"])),
            "given_up": None if row["done_ms"] is None else format_time(int(row["done_ms"])),
            "payload": json.loads(row["payload"]),
        }
        for row in rows
    ]


def requeue_dead(db: Engine, subscriber_id: int, now_ms: int, audit: dict[str, Any]) -> int:
    """Send the dead letters again, as they were (same id, attempts from zero)."""
    with db.begin() as conn:
        count = conn.execute(
            sa.update(DELIVERY)
            .where(DELIVERY.c.subscriber_id == subscriber_id, DELIVERY.c.state == "dead")
            .values(state="pending", attempts=0, next_ms=now_ms, done_ms=None)
        ).rowcount
        detail = json.loads(audit["detail"])
        conn.execute(
            sa.insert(AUDIT_LOG).values(
                **{**audit, "detail": json.dumps({**detail, "queued": count}, sort_keys=True)}
            )
        )
    return int(count)


def queue_replay(db: Engine, rows: Iterable[dict[str, Any]], audit: dict[str, Any]) -> int:
    rows = list(rows)
    with db.begin() as conn:
        add_deliveries(conn, rows)
        detail = json.loads(audit["detail"])
        conn.execute(
            sa.insert(AUDIT_LOG).values(
                **{**audit, "detail": json.dumps({**detail, "queued": len(rows)}, sort_keys=True)}
            )
        )
    return len(rows)
