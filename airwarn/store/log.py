"""The service's log: accepted events, the decisions they caused and the CAP messages built
from them, written together in one transaction, and read back for replay, history and feeds.

One writer (the engine's) assigns every sequence number, so a replay of `event_log` through a
fresh engine gives the same decisions with the same numbers: what is in `decision_log` is what
was dispatched, and a crash between two commits leaves nothing half-written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from airwarn.contract import (
    Decision,
    RelayedFrom,
    decode_decision,
    encode_decision,
    parse_time,
)
from airwarn.store.integrity import Step

SERVICE_META = sa.table("service_meta", sa.column("key"), sa.column("value"))
EVENT_LOG = sa.table(
    "event_log",
    sa.column("seq"),
    sa.column("received_ms"),
    sa.column("source"),
    sa.column("body"),
    sa.column("hash"),
)
DECISION_LOG = sa.table(
    "decision_log",
    sa.column("seq"),
    sa.column("event_seq"),
    sa.column("t_ms"),
    sa.column("zone"),
    sa.column("level"),
    sa.column("status"),
    sa.column("kind"),
    sa.column("body"),
    sa.column("source"),
)
INGEST_BATCH = sa.table(
    "ingest_batch",
    sa.column("key"),
    sa.column("received_ms"),
    sa.column("answer"),
    sa.column("body_sha256"),
)
CAP_MESSAGE = sa.table(
    "cap_message",
    sa.column("seq"),
    sa.column("identifier"),
    sa.column("event_seq"),
    sa.column("sent_ms"),
    sa.column("status"),
    sa.column("msg_type"),
    sa.column("level"),
    sa.column("kind"),
    sa.column("zones"),
    sa.column("refs"),
    sa.column("warning"),
    sa.column("source"),
)
OPERATOR_ACTION = sa.table(
    "operator_action",
    sa.column("id"),
    sa.column("created_ms"),
    sa.column("by"),
    sa.column("action"),
    sa.column("status"),
    sa.column("state"),
    sa.column("request"),
    sa.column("zones"),
    sa.column("check"),
    sa.column("event_seq"),
    sa.column("confirmed_by"),
)
AUDIT_LOG = sa.table(
    "audit_log",
    sa.column("id"),
    sa.column("t_ms"),
    sa.column("who"),
    sa.column("role"),
    sa.column("action"),
    sa.column("reason"),
    sa.column("detail"),
)
INBOUND_CAP = sa.table(
    "inbound_cap",
    sa.column("id"),
    sa.column("received_ms"),
    sa.column("sender"),
    sa.column("identifier"),
    sa.column("status"),
    sa.column("msg_type"),
    sa.column("zones"),
    sa.column("event_seq"),
    sa.column("body"),
    sa.column("state"),
    sa.column("trust"),
    sa.column("why"),
    sa.column("posted_by"),
    sa.column("decided_by"),
    sa.column("decided_ms"),
)
INBOUND_FIELDS = (
    "id",
    "received_ms",
    "sender",
    "identifier",
    "status",
    "msg_type",
    "zones",
    "event_seq",
    "state",
    "trust",
    "why",
    "posted_by",
    "decided_by",
    "decided_ms",
)


@dataclass
class Write:
    """Everything one step of the service writes, committed at once or not at all."""

    events: list[dict[str, Any]] = field(default_factory=list)  # rows, each with its seal
    decisions: list[tuple[int, Decision]] = field(default_factory=list)  # (event seq, decision)
    decision_rows: list[dict[str, Any]] = field(default_factory=list)  # the same, as rows
    cap: list[dict[str, Any]] = field(default_factory=list)
    # (idempotency key, received_ms, answer JSON, SHA-256 of the body)
    batch: tuple[str, int, str, str | None] | None = None
    audit: list[dict[str, Any]] = field(default_factory=list)
    actions_new: list[dict[str, Any]] = field(default_factory=list)
    actions_sent: list[tuple[str, int, str]] = field(default_factory=list)  # id, seq, by
    inbound: list[dict[str, Any]] = field(default_factory=list)
    inbound_updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # id, values

    def __bool__(self) -> bool:
        return bool(
            self.events
            or self.decisions
            or self.cap
            or self.batch
            or self.audit
            or self.actions_new
            or self.actions_sent
            or self.inbound
            or self.inbound_updates
        )


def decision_row(event_seq: int, decision: Decision) -> dict[str, Any]:
    status = decision.status if isinstance(decision.status, str) else "actual"
    source = decision.source.name if isinstance(decision.source, RelayedFrom) else None
    return {
        "seq": decision.seq,
        "event_seq": event_seq,
        "t_ms": parse_time(decision.t),
        "zone": decision.zone,
        "level": decision.level,
        "status": status,
        "kind": decision.kind,
        "body": encode_decision(decision).decode(),
        "source": source,
    }


def cancelled(references: Sequence[str]) -> str:
    """The message a CAP Cancel cancels, from its references (oldest first): one when an
    operator cancels an alert (`POST /v1/alerts/{identifier}/cancel`), the first of several
    when it cancelled zones held under more than one."""
    return references[0] if references else ""


class ServiceLog:
    """Reads and writes the service's tables in a migrated store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- writing ---------------------------------------------------------------------------

    def commit(self, write: Write) -> None:
        """Write one step in one transaction; on any error nothing of it is kept."""
        if not write:
            return
        with self.engine.begin() as db:
            if write.events:
                db.execute(sa.insert(EVENT_LOG), write.events)
            if write.decisions:
                rows = write.decision_rows or [decision_row(seq, d) for seq, d in write.decisions]
                db.execute(sa.insert(DECISION_LOG), rows)
            if write.cap:
                db.execute(sa.insert(CAP_MESSAGE), write.cap)
            if write.batch is not None:
                key, received_ms, answer, digest = write.batch
                db.execute(
                    sa.insert(INGEST_BATCH),
                    [
                        {
                            "key": key,
                            "received_ms": received_ms,
                            "answer": answer,
                            "body_sha256": digest,
                        }
                    ],
                )
            if write.actions_new:
                db.execute(sa.insert(OPERATOR_ACTION), write.actions_new)
            for action_id, event_seq, by in write.actions_sent:
                db.execute(
                    sa.update(OPERATOR_ACTION)
                    .where(OPERATOR_ACTION.c.id == action_id)
                    .values(state="sent", event_seq=event_seq, confirmed_by=by)
                )
            if write.audit:
                db.execute(sa.insert(AUDIT_LOG), write.audit)
            if write.inbound:
                db.execute(sa.insert(INBOUND_CAP), write.inbound)
            for inbound_id, values in write.inbound_updates:
                db.execute(
                    sa.update(INBOUND_CAP).where(INBOUND_CAP.c.id == inbound_id).values(**values)
                )

    # -- reading ---------------------------------------------------------------------------

    def last_decision_seq(self, upto_event: int | None = None) -> int:
        """The newest decision's number; with `upto_event`, the newest one that event or an
        earlier one caused (what a replay up to it must reach, while a writer goes on)."""
        query = sa.select(sa.func.max(DECISION_LOG.c.seq))
        if upto_event is not None:
            query = query.where(DECISION_LOG.c.event_seq <= upto_event)
        with self.engine.connect() as db:
            return int(db.execute(query).scalar() or 0)

    def lanes_in_force(self, upto_event: int) -> dict[tuple[str, str, str], str]:
        """Each lane's level at each zone as the last decision up to an event left it, where
        that is not clear: (zone, status, relayed source or "") -> level."""
        lane = (
            DECISION_LOG.c.zone,
            DECISION_LOG.c.status,
            sa.func.coalesce(DECISION_LOG.c.source, ""),
        )
        last = (
            sa.select(sa.func.max(DECISION_LOG.c.seq).label("seq"))
            .where(DECISION_LOG.c.event_seq <= upto_event)
            .group_by(*lane)
            .subquery()
        )
        query = sa.select(*lane, DECISION_LOG.c.level).where(
            DECISION_LOG.c.seq.in_(sa.select(last.c.seq)), DECISION_LOG.c.level != "clear"
        )
        with self.engine.connect() as db:
            return {(z, st, src): level for z, st, src, level in db.execute(query)}

    def events(self, after: int = 0, page: int = 5000) -> Iterator[tuple[int, str]]:
        """Every logged event after a sequence number, in order: (seq, JSON body)."""
        while True:
            with self.engine.connect() as db:
                rows = db.execute(
                    sa.select(EVENT_LOG.c.seq, EVENT_LOG.c.body)
                    .where(EVENT_LOG.c.seq > after)
                    .order_by(EVENT_LOG.c.seq)
                    .limit(page)
                ).all()
            if not rows:
                return
            for seq, body in rows:
                yield int(seq), str(body)
            after = int(rows[-1][0])

    def decisions(self, after: int = 0, limit: int = 1000) -> list[tuple[int, str]]:
        """Decisions after a sequence number, in order: (seq, Contract v1 JSON line)."""
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(DECISION_LOG.c.seq, DECISION_LOG.c.body)
                .where(DECISION_LOG.c.seq > after)
                .order_by(DECISION_LOG.c.seq)
                .limit(limit)
            ).all()
        return [(int(seq), str(body)) for seq, body in rows]

    def history(
        self,
        *,
        zones: Sequence[str] | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        kind: str | None = None,
        level: str | None = None,
        status: str | None = None,
        before_seq: int | None = None,
        limit: int = 500,
    ) -> list[str]:
        """Past decisions, newest first, filtered; each a Contract v1 JSON line."""
        query = sa.select(DECISION_LOG.c.body).order_by(DECISION_LOG.c.seq.desc()).limit(limit)
        if zones is not None:
            query = query.where(DECISION_LOG.c.zone.in_(list(zones)))
        if since_ms is not None:
            query = query.where(DECISION_LOG.c.t_ms >= since_ms)
        if until_ms is not None:
            query = query.where(DECISION_LOG.c.t_ms < until_ms)
        if kind is not None:
            query = query.where(DECISION_LOG.c.kind == kind)
        if level is not None:
            query = query.where(DECISION_LOG.c.level == level)
        if status is not None:
            query = query.where(DECISION_LOG.c.status == status)
        if before_seq is not None:
            query = query.where(DECISION_LOG.c.seq < before_seq)
        with self.engine.connect() as db:
            return [str(body) for (body,) in db.execute(query)]

    def latest_per_zone(self) -> tuple[int, list[str]]:
        """The log's last decision seq and, per zone and lane, the newest decision at or
        before it (oldest first): what every zone's retained state should say (MQTT)."""
        d = DECISION_LOG.c
        with self.engine.connect() as connection:
            last = int(connection.execute(sa.select(sa.func.max(d.seq))).scalar() or 0)
            newest: list[int] = []
            for lane, per in (
                (d.status == "actual", (d.zone, d.source)),
                (d.status != "actual", (d.zone, d.status)),  # a drill and a test: two lanes
            ):
                newest += [
                    int(seq)
                    for (seq,) in connection.execute(
                        sa.select(sa.func.max(d.seq)).where(lane, d.seq <= last).group_by(*per)
                    )
                ]
            bodies: list[str] = []
            for start in range(0, len(newest), 500):
                chunk = newest[start : start + 500]
                bodies += [
                    str(body)
                    for (body,) in connection.execute(
                        sa.select(d.body).where(d.seq.in_(chunk)).order_by(d.seq)
                    )
                ]
        bodies.sort(key=lambda body: decode_decision(body).seq)
        return last, bodies

    def cancellations(self, seqs: Iterable[int]) -> dict[int, str]:
        """Of these decisions, the clears a CAP Cancel said (an alert sent in error, corrected),
        each with the identifier of the message it cancels: what tells them from all-clears."""
        d, c = DECISION_LOG.c, CAP_MESSAGE.c
        wanted = sorted(set(seqs))
        out: dict[int, str] = {}
        with self.engine.connect() as db:
            for start in range(0, len(wanted), 500):
                clears = db.execute(
                    sa.select(d.seq, d.event_seq, d.zone, d.status, d.source).where(
                        d.seq.in_(wanted[start : start + 500]), d.level == "clear"
                    )
                ).all()
                if not clears:
                    continue
                said: dict[tuple[int, str, str, str | None], str] = {}
                for event_seq, status, source, zones, refs in db.execute(
                    sa.select(c.event_seq, c.status, c.source, c.zones, c.refs).where(
                        c.msg_type == "Cancel", c.event_seq.in_({row[1] for row in clears})
                    )
                ):
                    identifier = cancelled(json.loads(refs))
                    for zone in json.loads(zones):
                        said[(event_seq, zone, status.lower(), source)] = identifier
                for seq, event_seq, zone, status, source in clears:
                    found = said.get((event_seq, zone, status, source))
                    if found:
                        out[int(seq)] = found
        return out

    def level_changes(
        self, after: int = 0, limit: int = 10_000
    ) -> list[tuple[int, str, str, str, str | None, int, str | None]]:
        """Decisions after a seq, in order, as (seq, zone, level, status, kind, t_ms, source):
        what the compatibility feeds fold into the zones under alert now."""
        d = DECISION_LOG.c
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(d.seq, d.zone, d.level, d.status, d.kind, d.t_ms, d.source)
                .where(d.seq > after)
                .order_by(d.seq)
                .limit(limit)
            ).all()
        return [
            (int(seq), str(zone), str(level), str(status), kind, int(t_ms), source)
            for seq, zone, level, status, kind, t_ms, source in rows
        ]

    def real_changes(
        self,
        *,
        since_ms: int | None = None,
        until_ms: int | None = None,
        zones: Sequence[str] | None = None,
        zone: str | None = None,
        before_seq: int | None = None,
        limit: int = 5000,
    ) -> list[tuple[int, str, str, str | None, int]]:
        """Real (actual) decisions that changed a zone's level in force, newest first, as
        (seq, zone, level, kind, t_ms); a clear that left the zone held by another lane is
        left out (its body says so in `in_force`)."""
        d = DECISION_LOG.c
        query = (
            sa.select(d.seq, d.zone, d.level, d.kind, d.t_ms)
            .where(d.status == "actual", ~d.body.contains('"in_force":'))
            .order_by(d.seq.desc())
            .limit(limit)
        )
        if since_ms is not None:
            query = query.where(d.t_ms >= since_ms)
        if until_ms is not None:
            query = query.where(d.t_ms < until_ms)
        if zones is not None:
            query = query.where(d.zone.in_(list(zones)))
        if zone is not None:
            query = query.where(d.zone == zone)
        if before_seq is not None:
            query = query.where(d.seq < before_seq)
        with self.engine.connect() as db:
            return [
                (int(seq), str(zone_id), str(level), kind, int(t_ms))
                for seq, zone_id, level, kind, t_ms in db.execute(query)
            ]

    def batch_answer(self, key: str) -> tuple[str, str | None] | None:
        """The answer a batch got under this key, and the hash of its body (None for one kept
        before bodies were hashed)."""
        with self.engine.connect() as db:
            row = db.execute(
                sa.select(INGEST_BATCH.c.answer, INGEST_BATCH.c.body_sha256).where(
                    INGEST_BATCH.c.key == key
                )
            ).first()
        return None if row is None else (str(row[0]), None if row[1] is None else str(row[1]))

    # -- the seal (airwarn.store.integrity) -------------------------------------------------

    def steps(self, after: int = 0, upto: int | None = None, page: int = 2000) -> Iterator[Step]:
        """Every logged event after `after` (to `upto`), with the decisions and CAP messages
        it caused, in order: what its seal covers."""
        while True:
            query = (
                sa.select(EVENT_LOG)
                .where(EVENT_LOG.c.seq > after)
                .order_by(EVENT_LOG.c.seq)
                .limit(page)
            )
            if upto is not None:
                query = query.where(EVENT_LOG.c.seq <= upto)
            with self.engine.connect() as db:
                events = [dict(row) for row in db.execute(query).mappings()]
                if not events:
                    return
                first, last = int(events[0]["seq"]), int(events[-1]["seq"])
                decisions: dict[int, list[dict[str, Any]]] = {}
                for row in db.execute(
                    sa.select(DECISION_LOG)
                    .where(DECISION_LOG.c.event_seq.between(first, last))
                    .order_by(DECISION_LOG.c.seq)
                ).mappings():
                    decisions.setdefault(int(row["event_seq"]), []).append(dict(row))
                cap: dict[int, list[dict[str, Any]]] = {}
                for row in db.execute(
                    sa.select(CAP_MESSAGE)
                    .where(CAP_MESSAGE.c.event_seq.between(first, last))
                    .order_by(CAP_MESSAGE.c.seq)
                ).mappings():
                    cap.setdefault(int(row["event_seq"]), []).append(dict(row))
            for event in events:
                seq = int(event["seq"])
                yield Step(event, decisions.get(seq, []), cap.get(seq, []))
            after = last

    def event_hash(self, seq: int) -> str | None:
        with self.engine.connect() as db:
            value = db.execute(sa.select(EVENT_LOG.c.hash).where(EVENT_LOG.c.seq == seq)).scalar()
        return None if value is None else str(value)

    def last_event_seq(self) -> int:
        with self.engine.connect() as db:
            return int(db.execute(sa.select(sa.func.max(EVENT_LOG.c.seq))).scalar() or 0)

    def cap_rows(
        self, after_seq: int = 0, upto_event: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """CAP messages after a sequence number (and caused by `upto_event` or earlier),
        oldest first, without their bodies."""
        query = (
            sa.select(
                CAP_MESSAGE.c.seq,
                CAP_MESSAGE.c.identifier,
                CAP_MESSAGE.c.event_seq,
                CAP_MESSAGE.c.sent_ms,
                CAP_MESSAGE.c.status,
                CAP_MESSAGE.c.msg_type,
                CAP_MESSAGE.c.level,
                CAP_MESSAGE.c.kind,
                CAP_MESSAGE.c.zones,
                CAP_MESSAGE.c.refs,
                CAP_MESSAGE.c.source,
            )
            .where(CAP_MESSAGE.c.seq > after_seq)
            .order_by(CAP_MESSAGE.c.seq)
        )
        if upto_event is not None:
            query = query.where(CAP_MESSAGE.c.event_seq <= upto_event)
        with self.engine.connect() as db:
            for row in db.execute(query).mappings():
                item = dict(row)
                item["zones"] = json.loads(item["zones"])
                item["refs"] = json.loads(item["refs"])
                yield item

    def cap_recent(self, limit: int = 100) -> list[str]:
        """The newest CAP messages' warning records (JSON), newest first."""
        query = sa.select(CAP_MESSAGE.c.warning).order_by(CAP_MESSAGE.c.seq.desc()).limit(limit)
        with self.engine.connect() as db:
            return [str(warning) for (warning,) in db.execute(query)]

    def cap_warning(self, identifier: str) -> str | None:
        """One CAP message's warning record (JSON), or None."""
        with self.engine.connect() as db:
            row = db.execute(
                sa.select(CAP_MESSAGE.c.warning).where(CAP_MESSAGE.c.identifier == identifier)
            ).first()
        return None if row is None else str(row[0])

    def action(self, action_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as db:
            row = (
                db.execute(sa.select(OPERATOR_ACTION).where(OPERATOR_ACTION.c.id == action_id))
                .mappings()
                .first()
            )
        return None if row is None else dict(row)

    def audit(
        self, *, after_id: int = 0, before_id: int | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Audit entries oldest first after `after_id`, or newest first before `before_id`."""
        query = sa.select(AUDIT_LOG).where(AUDIT_LOG.c.id > after_id).limit(limit)
        if before_id is None:
            query = query.order_by(AUDIT_LOG.c.id)
        else:
            query = query.where(AUDIT_LOG.c.id < before_id).order_by(AUDIT_LOG.c.id.desc())
        with self.engine.connect() as db:
            rows = [dict(row) for row in db.execute(query).mappings()]
        for row in rows:
            row["detail"] = json.loads(row["detail"])
        return rows

    def inbound_seen(self, sender: str, identifier: str) -> dict[str, Any] | None:
        """An inbound CAP message by its sender and identifier, without its body."""
        with self.engine.connect() as db:
            row = (
                db.execute(
                    sa.select(*(INBOUND_CAP.c[f] for f in INBOUND_FIELDS)).where(
                        INBOUND_CAP.c.sender == sender, INBOUND_CAP.c.identifier == identifier
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else dict(row)

    def inbound_row(self, inbound_id: int) -> dict[str, Any] | None:
        """An inbound CAP message by its id, with its body (the XML as received)."""
        with self.engine.connect() as db:
            row = (
                db.execute(
                    sa.select(
                        *(INBOUND_CAP.c[f] for f in INBOUND_FIELDS), INBOUND_CAP.c.body
                    ).where(INBOUND_CAP.c.id == inbound_id)
                )
                .mappings()
                .first()
            )
        return None if row is None else dict(row)

    def inbound_list(
        self, *, state: str | None = None, before_id: int | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Inbound CAP messages, newest first, without their bodies."""
        query = (
            sa.select(*(INBOUND_CAP.c[f] for f in INBOUND_FIELDS))
            .order_by(INBOUND_CAP.c.id.desc())
            .limit(limit)
        )
        if state is not None:
            query = query.where(INBOUND_CAP.c.state == state)
        if before_id is not None:
            query = query.where(INBOUND_CAP.c.id < before_id)
        with self.engine.connect() as db:
            return [dict(row) for row in db.execute(query).mappings()]
