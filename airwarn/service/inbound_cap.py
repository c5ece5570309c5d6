"""The service's side of CAP from other agencies: who may speak for which sender, whether its
signature is trusted, and what is applied at once, held for an operator, or only kept.

A message is taken in four checks, before anything is written:

1. **binding**: the token that posts it must be bound to the message's `<sender>`
   (`airwarn trust bind TOKEN SENDER`), else 403. A sensor speaks for its own agency only.
2. **signature** (`airwarn.cap.trust`): *verified* when a certificate trusted for that sender
   (`airwarn trust add`) verifies its XML signature; then only what the signature covers is
   read. Otherwise *unsigned* or *untrusted*.
3. **references**: an `Update` or `Cancel` must come from the sender of every message it
   references that this server holds, else 403. One agency cannot cancel another's alert.
4. **policy** (`serve --inbound-cap`): `held` (the default) keeps an unverified message for an
   operator; `refuse` answers 403 and keeps nothing.

Then the message's state: *applied* (its zones alerted, or for a Cancel cleared), *held* (for
an operator: unverified, or larger than the blast-radius guard allows), *kept* (nothing to
do here: a status that warns no one, an area outside the zone set), later *rejected* or
*cancelled* (a held message its own sender cancelled). An operator approves or rejects a held
message (`POST /v1/inbound-cap/{id}/approve|reject`); both are audited under their name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from airwarn.answers import InboundAnswer, InboundMessage
from airwarn.cap.chain import Cause
from airwarn.cap.inbound import InboundAlert, parse_inbound
from airwarn.cap.trust import Verdict, judge
from airwarn.contract import Manual, format_time
from airwarn.errors import ConflictError, ForbiddenError, NotFoundError, RequestError
from airwarn.service.writer import _audit, _datetime
from airwarn.store.log import Write
from airwarn.store.tokens import Client
from airwarn.store.trust import bound_senders, trusted_keys

if TYPE_CHECKING:
    from airwarn.service.writer import Service

POLICIES = ("held", "refuse")
INBOUND_STATUS = {"Actual": "actual", "Exercise": "exercise", "Test": "test"}
STATES = ("applied", "held", "kept", "rejected", "cancelled")


@dataclass
class Plan:
    """What one message would do now: its state, its zones, and why."""

    state: str
    zones: list[str]
    why: list[str] = field(default_factory=list)
    cancels_held: list[int] = field(default_factory=list)  # held messages it withdraws


def take(
    service: Service, alert: InboundAlert, body: bytes, client: Client, received_ms: int
) -> InboundAnswer:
    """Take one CAP message posted by `client` (see the module's docstring)."""
    if alert.sender not in bound_senders(service.db, client.name):
        refusal = ForbiddenError(
            f"the token {client.name!r} may not post CAP as {alert.sender!r}: a token speaks "
            "only for the senders bound to it. If it relays that agency, an administrator "
            f"binds it with `airwarn trust bind {client.name} {alert.sender}`"
        )
        service._audit_refusal(
            client,
            received_ms,
            "cap.refused",
            refusal,
            {"identifier": alert.identifier, "sender": alert.sender},
        )
        raise refusal
    verdict = judge(
        body,
        alert.sender,
        [(key.fingerprint, key.certificate) for key in trusted_keys(service.db, alert.sender)],
    )
    if verdict.verified and verdict.signed is not None:
        signed = parse_inbound(verdict.signed)  # only what the signature covers
        if signed.sender == alert.sender:
            alert = signed
        else:
            verdict = Verdict(
                "untrusted",
                "the signed part of the message names another "
                f"sender ({signed.sender}) than the message ({alert.sender})",
            )
    try:
        _check_references(service, alert)
    except ForbiddenError as error:  # another sender's message referenced
        service._audit_refusal(
            client,
            received_ms,
            "cap.refused",
            error,
            {"identifier": alert.identifier, "sender": alert.sender},
        )
        raise
    if not verdict.verified and service.settings.inbound_cap == "refuse":
        refused = ForbiddenError(
            f"this server refuses CAP it cannot verify (--inbound-cap "
            f"refuse), and this message is {verdict.trust}: {verdict.why}"
        )
        service._audit_refusal(
            client,
            received_ms,
            "cap.refused",
            refused,
            {"identifier": alert.identifier, "sender": alert.sender},
        )
        raise refused
    with service._lock:
        service._ensure_healthy()
        seen = service.log.inbound_seen(alert.sender, alert.identifier)
        replaces = None
        if seen is not None:
            if not (verdict.verified and seen["state"] == "held" and seen["trust"] != "verified"):
                return InboundAnswer.model_validate({**_summary(seen), "duplicate": True})
            # the sender's own signed message, after a forgery held under its identifier:
            # the real one takes the forgery's place
            replaces = seen["id"]
        plan = _plan(service, alert, trusted=verdict.verified, force_blast=False)
        if not verdict.verified:
            plan.why.append(str(verdict.why))
        row = {
            "received_ms": received_ms,
            "sender": alert.sender,
            "identifier": alert.identifier,
            "status": alert.status,
            "msg_type": alert.msg_type,
            "zones": json.dumps(plan.zones),
            "event_seq": None,
            "body": body,
            "state": plan.state,
            "trust": verdict.trust,
            "why": "; ".join(plan.why) or None,
            "posted_by": client.name,
            "decided_by": None,
            "decided_ms": None,
        }
        write = Write()
        if replaces is None:
            write.inbound.append(row)
        else:
            write.inbound_updates.append((replaces, row))
        answer = _act(
            service, alert, plan, row, client, received_ms, write, verdict, by=alert.sender
        )
        stored = service.log.inbound_seen(alert.sender, alert.identifier)
        if stored is not None:
            answer["id"] = stored["id"]
        return InboundAnswer.model_validate(answer)


def decide(
    service: Service,
    inbound_id: int,
    decision: Literal["approve", "reject"],
    client: Client,
    received_ms: int,
    reason: str,
    confirm_blast_radius: bool = False,
) -> InboundAnswer:
    """An operator approves (applies) or rejects a held message; audited under their name."""
    with service._lock:
        service._ensure_healthy()
        row = service.log.inbound_row(inbound_id)
        if row is None:
            raise NotFoundError(f"no inbound CAP message {inbound_id}")
        if row["state"] != "held":
            raise ConflictError(
                f"inbound CAP message {inbound_id} is {row['state']}, not held; "
                "only a held message is approved or rejected"
            )
        detail = {
            "inbound_id": inbound_id,
            "identifier": row["identifier"],
            "sender": row["sender"],
            "trust": row["trust"],
            "status": row["status"],
            "msg_type": row["msg_type"],
        }
        write = Write()
        update: dict[str, Any] = {"decided_by": client.name, "decided_ms": received_ms}
        if decision == "reject":
            update["state"] = "rejected"
            write.inbound_updates.append((inbound_id, update))
            write.audit.append(_audit(client, received_ms, "cap.reject", reason, detail))
            service._commit_or_503(write)
            return InboundAnswer.model_validate({**_summary({**row, **update}), "applied": False})
        alert = parse_inbound(bytes(row["body"]))
        plan = _plan(service, alert, trusted=True, force_blast=confirm_blast_radius)
        if plan.state == "held":
            raise ConflictError(
                "this message reaches far more than an alert of its kind "
                "should (" + "; ".join(plan.why) + "); approve it with "
                "`confirm_blast_radius: true` after checking its zones"
            )
        update.update(
            state=plan.state, zones=json.dumps(plan.zones), why="; ".join(plan.why) or None
        )
        write.inbound_updates.append((inbound_id, update))
        write.audit.append(
            _audit(client, received_ms, "cap.approve", reason, {**detail, "zones": len(plan.zones)})
        )
        answer = _act(
            service,
            alert,
            plan,
            update,
            client,
            received_ms,
            write,
            None,
            by=client.name,
            reason=reason,
        )
        return InboundAnswer.model_validate(
            {**_summary({**row, **update}), **answer, "id": inbound_id}
        )


def listing(
    service: Service, state: str | None, before_id: int | None, limit: int
) -> list[InboundAnswer]:
    if state is not None and state not in STATES:
        raise RequestError(f"state is one of {', '.join(STATES)}", field="state", value=state)
    return [
        InboundAnswer.model_validate(_summary(row))
        for row in service.log.inbound_list(state=state, before_id=before_id, limit=limit)
    ]


def one(service: Service, inbound_id: int) -> InboundMessage:
    row = service.log.inbound_row(inbound_id)
    if row is None:
        raise NotFoundError(f"no inbound CAP message {inbound_id}")
    return InboundMessage.model_validate(
        {**_summary(row), "xml": bytes(row["body"]).decode("utf-8", "replace")}
    )


# -- inside ---------------------------------------------------------------------------------


def _check_references(service: Service, alert: InboundAlert) -> None:
    """An Update or Cancel may not reference a message another sender sent here. (A reference
    to a message this server never had acts on nothing; real feeds have such references, e.g.
    the tsunami centre's, which name a station code as the earlier sender.)"""
    if alert.msg_type not in ("Update", "Cancel"):
        return
    others = sorted(
        {
            sender
            for sender, identifier, _ in alert.references
            if sender != alert.sender and service.log.inbound_seen(sender, identifier) is not None
        }
    )
    if others:
        raise ForbiddenError(
            f"an {alert.msg_type} must come from the sender of the message it references: "
            f"this one comes from {alert.sender} and references messages of " + ", ".join(others)
        )


def _plan(service: Service, alert: InboundAlert, *, trusted: bool, force_blast: bool) -> Plan:
    if alert.msg_type == "Cancel":
        referenced = [
            service.log.inbound_seen(sender, identifier)
            for sender, identifier, _ in alert.references
        ]
        plan = Plan(
            "applied",
            sorted(
                {
                    zone
                    for row in referenced
                    if row and _applied(row)
                    for zone in json.loads(row["zones"])
                }
            ),
        )
        if trusted:
            plan.cancels_held = [row["id"] for row in referenced if row and row["state"] == "held"]
    else:
        plan = Plan("applied", zones_in(service, alert))
    blast = service.settings.blast
    if alert.status not in INBOUND_STATUS:
        plan.state = "kept"
        plan.why.append(
            f"status {alert.status} carries no warning for the public; kept, not applied"
        )
    elif not plan.zones:
        plan.state = "kept"
        plan.why.append(
            "it cancels no message applied here; kept"
            if alert.msg_type == "Cancel"
            else "its area covers no zone of this zone set; kept, not applied"
        )
    elif not trusted:
        plan.state = "held"
    elif (
        alert.msg_type != "Cancel"
        and not force_blast
        and len(plan.zones) > max(blast.max_zones, blast.max_share * len(service.zones))
    ):
        plan.state = "held"
        plan.why.append(
            f"it covers {len(plan.zones)} zones; the blast-radius guard holds it for an operator"
        )
    return plan


def _act(
    service: Service,
    alert: InboundAlert,
    plan: Plan,
    row: dict[str, Any],
    client: Client,
    received_ms: int,
    write: Write,
    verdict: Verdict | None,
    *,
    by: str,
    reason: str | None = None,
) -> dict[str, Any]:
    """Commit the plan: apply it (one manual event through the engine) or only record it."""
    for held_id in plan.cancels_held if plan.state in ("applied", "kept") else ():
        write.inbound_updates.append(
            (
                held_id,
                {
                    "state": "cancelled",
                    "decided_by": client.name,
                    "decided_ms": received_ms,
                    "why": f"cancelled by its sender's {alert.identifier}",
                },
            )
        )
    answer: dict[str, Any] = {
        "identifier": alert.identifier,
        "sender": alert.sender,
        "status": alert.status,
        "msg_type": alert.msg_type,
        "zones": plan.zones,
        "state": plan.state,
        "applied": plan.state == "applied",
    }
    if verdict is not None:
        answer["trust"] = verdict.trust
    if plan.why:
        answer["why"] = "; ".join(plan.why)
    if plan.state != "applied":
        if reason is None:  # posted, not decided: audited under the token that posted it
            write.audit.append(
                _audit(
                    client,
                    received_ms,
                    f"cap.{plan.state}",
                    answer.get("why"),
                    {
                        "identifier": alert.identifier,
                        "sender": alert.sender,
                        "status": alert.status,
                        "zones": len(plan.zones),
                        "trust": answer.get("trust"),
                    },
                )
            )
        service._commit_or_503(write)
        return answer
    info = alert.infos[0] if alert.infos else None
    action: Literal["alert", "clear"] = "clear" if alert.msg_type == "Cancel" else "alert"
    note = (
        reason
        or (info.headline if info and info.headline else None)
        or (f"CAP {alert.msg_type} {alert.identifier} from {alert.sender}")
    )
    event = Manual(
        action=action,
        t=_datetime(service.event_time_ms(received_ms)),
        zones=plan.zones,
        by=by[:128],
        reason=note[:500],
        category=(info.event[:64] if info else None),
        status=INBOUND_STATUS[alert.status],  # type: ignore[arg-type]
        cancels=alert.identifier if action == "clear" else None,
    )
    if reason is None:  # applied at once: audited under the token that posted it
        write.audit.append(
            _audit(
                client,
                received_ms,
                f"cap.{action}",
                note,
                {
                    "identifier": alert.identifier,
                    "sender": alert.sender,
                    "zones": len(plan.zones),
                    "trust": "verified",
                },
            )
        )
    published = service._step(
        [(event, client.name, Cause(cancels=event.cancels, note=note))],
        received_ms,
        write,
        finish=lambda w: row.update(event_seq=w.events[-1]["seq"]),
    )
    answer["messages"] = published.messages
    return answer


def _applied(row: dict[str, Any]) -> bool:
    return row["event_seq"] is not None


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    """An inbound message as the API shows it."""
    state = row.get("state") or ("applied" if row["event_seq"] is not None else "kept")
    out = {
        "id": row.get("id"),
        "identifier": row["identifier"],
        "sender": row["sender"],
        "status": row["status"],
        "msg_type": row["msg_type"],
        "zones": json.loads(row["zones"]) if isinstance(row["zones"], str) else row["zones"],
        "state": state,
        "applied": state == "applied",
        "trust": row.get("trust"),
        "why": row.get("why"),
        "posted_by": row.get("posted_by"),
        "decided_by": row.get("decided_by"),
    }
    if row.get("received_ms") is not None:
        out["received"] = format_time(int(row["received_ms"]))
    if row.get("decided_ms") is not None:
        out["decided"] = format_time(int(row["decided_ms"]))
    return out


def zones_in(service: Service, alert: InboundAlert) -> list[str]:
    """The zones a CAP alert's areas cover: shapes that overlap them, and our own zone
    geocodes (`airwarn:zone`) when the sender used them."""
    found: set[int] = set()
    for info in alert.infos:
        for area in info.areas:
            shape = area.geometry
            if not shape.is_empty:
                projected = service.zones.projection.geometry_to_xy(shape)
                found.update(int(i) for i in service.zones.query(projected))
            for name, value in area.geocodes:
                if name == "airwarn:zone" and value in service.zones.index_of:
                    found.add(service.zones.index_of[value])
    return [service.zones.ids[i] for i in sorted(found)]
