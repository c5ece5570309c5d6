"""Operators' actions: an alert or clear proposed, held for a second confirmation (or by the
blast-radius guard), sent; and the correction path, a cancel that clears what an alert sent in
error still covers. Each is one step of the writer (`airwarn.service.writer`), audited.
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

from airwarn.answers import ActionAnswer, CancelAnswer, MessageSummary
from airwarn.cap.chain import RELAY_LANE, Cause
from airwarn.contract import Event, Manual, Relay
from airwarn.errors import AirwarnError, ConflictError, ForbiddenError, NotFoundError
from airwarn.service.blast_radius import Reach, resolve
from airwarn.service.writer import Published, _audit, _datetime, relay_targets
from airwarn.store.log import Write
from airwarn.store.tokens import Client

if TYPE_CHECKING:
    from airwarn.service.writer import Service


def propose(
    service: Service, request: dict[str, Any], client: Client, received_ms: int
) -> ActionAnswer:
    """An operator's alert or clear: resolved, checked by the blast-radius guard, and
    either sent at once (drills, tests, clears) or held for a second confirmation."""
    action = request["action"]
    status = request.get("status", "actual")
    try:
        reach = resolve(
            service.zones,
            zones=request.get("zones"),
            region=request.get("region"),
            area=request.get("area"),
            expect_zones=request.get("expect_zones"),
            limits=service.settings.blast,
        )
    except AirwarnError as error:
        service._audit_refusal(
            client,
            received_ms,
            f"{action}.request.refused",
            error,
            {"status": status, "request": request},
        )
        raise
    needs_confirmation = (action != "clear" and status == "actual") or reach.held
    with service._lock:
        service._ensure_healthy()
        action_id = "act-" + secrets.token_hex(8)
        row = {
            "id": action_id,
            "created_ms": received_ms,
            "by": client.name,
            "action": action,
            "status": status,
            "state": "pending",
            "request": json.dumps(request, sort_keys=True),
            "zones": json.dumps(reach.zones),
            "check": json.dumps(reach.to_dict()),
            "event_seq": None,
            "confirmed_by": None,
        }
        write = Write(actions_new=[row])
        write.audit.append(
            _audit(
                client,
                received_ms,
                f"{action}.request",
                request.get("reason"),
                {
                    "action_id": action_id,
                    "status": status,
                    "zones": len(reach.zones),
                    "held": reach.held,
                    "why": reach.why,
                    "request": request,
                },
            )
        )
        if needs_confirmation:
            service._commit_or_503(write)
            return _action_answer(row, reach, "pending")
        return _send_action(service, row, reach, client, received_ms, write)


def confirm(
    service: Service, action_id: str, client: Client, received_ms: int, confirm_blast_radius: bool
) -> ActionAnswer:
    with service._lock:
        service._ensure_healthy()
        row = service.log.action(action_id)
        refusal: AirwarnError | None = None
        if row is None:
            refusal = NotFoundError(f"no operator action {action_id!r}")
        elif row["state"] != "pending":
            refusal = ConflictError(
                f"action {action_id} is {row['state']}, not pending; propose a new one"
            )
        elif service.settings.confirm_by_other and row["by"] == client.name:
            refusal = ForbiddenError(
                f"action {action_id} was proposed by {client.name}: another operator confirms "
                "it (this server keeps the four-eyes rule, --confirm-by-other)"
            )
        elif json.loads(row["check"])["held"] and not confirm_blast_radius:
            refusal = ConflictError(
                "this alert reaches far more than its request implies ("
                + "; ".join(json.loads(row["check"])["why"])
                + "); confirm with "
                "`confirm_blast_radius: true` after checking the zones it lists"
            )
        if refusal is not None:
            what = "action" if row is None else row["action"]
            service._audit_refusal(
                client, received_ms, f"{what}.send.refused", refusal, {"action_id": action_id}
            )
            raise refusal
        assert row is not None
        check = json.loads(row["check"])
        reach = Reach(**{k: v for k, v in check.items() if k != "zone_count"})
        write = Write()
        return _send_action(service, row, reach, client, received_ms, write)


def _send_action(
    service: Service,
    row: dict[str, Any],
    reach: Reach,
    client: Client,
    received_ms: int,
    write: Write,
) -> ActionAnswer:
    request = json.loads(row["request"]) if isinstance(row["request"], str) else row["request"]
    event = Manual(
        action=row["action"],
        t=_datetime(service.event_time_ms(received_ms)),
        zones=list(reach.zones),
        category=request.get("category"),
        by=row["by"],
        reason=request.get("reason"),
        status=row["status"],
    )
    write.audit.append(
        _audit(
            client,
            received_ms,
            f"{row['action']}.send",
            request.get("reason"),
            {"action_id": row["id"], "status": row["status"], "zones": len(reach.zones)},
        )
    )

    def finish(w: Write) -> None:
        event_seq = w.events[-1]["seq"]  # the manual event (a pending tick may precede it)
        if w.actions_new:
            w.actions_new[0].update(state="sent", event_seq=event_seq, confirmed_by=client.name)
        else:
            w.actions_sent.append((row["id"], event_seq, client.name))

    published = service._step(
        [(event, client.name, Cause(note=request.get("reason")))], received_ms, write, finish=finish
    )
    return _action_answer(row, reach, "sent", published)


def cancel(
    service: Service, identifier: str, reason: str, client: Client, received_ms: int
) -> CancelAnswer:
    """The correction path: one action clears every zone an alert sent in error still
    covers and sends a CAP Cancel that references it, on every channel at once."""
    with service._lock:
        service._ensure_healthy()
        targets = service.chain.zones_of(identifier)
        relayed = relay_targets(targets)  # a relayed feed's alert: overridden here
        targets = [(lane, zone) for lane, zone in targets if not lane.startswith(RELAY_LANE)]
        if not targets and not relayed:
            refusal: AirwarnError = (
                NotFoundError(f"no CAP message {identifier!r}")
                if service.log.cap_warning(identifier) is None
                else ConflictError(
                    f"{identifier} no longer covers any zone (it was updated, cleared or "
                    "cancelled already)"
                )
            )
            service._audit_refusal(
                client, received_ms, "cancel.refused", refusal, {"identifier": identifier}
            )
            raise refusal
        write = Write()
        write.audit.append(
            _audit(
                client,
                received_ms,
                "cancel",
                reason,
                {
                    "identifier": identifier,
                    "zones": len(targets),
                    **({"relayed": relayed} if relayed else {}),
                },
            )
        )
        events: list[tuple[Event, str, Cause]] = []
        for status in sorted({s for s, _ in targets}):
            zones = sorted(z for s, z in targets if s == status)
            events.append(
                (
                    Manual(
                        action="clear",
                        t=_datetime(service.event_time_ms(received_ms)),
                        zones=zones,
                        by=client.name,
                        reason=reason,
                        status=status,  # type: ignore[arg-type]
                        cancels=identifier,
                    ),
                    client.name,
                    Cause(cancels=identifier, note=reason),
                )
            )
        for source, zones in relayed.items():
            events.append(
                (
                    Relay(
                        source=source,
                        action="clear",
                        override=True,
                        zones=zones,
                        t=_datetime(service.event_time_ms(received_ms)),
                        by=client.name,
                        reason=reason,
                    ),
                    client.name,
                    Cause(cancels=identifier, note=reason),
                )
            )
        published = service._step(events, received_ms, write)
        return CancelAnswer(
            cancelled=identifier,
            zones=sorted(
                {z for _, z in targets} | {z for zones in relayed.values() for z in zones}
            ),
            messages=[MessageSummary.model_validate(m) for m in published.messages],
            decisions=[seq for seq, _ in published.decisions],
        )


def _action_answer(
    row: dict[str, Any], reach: Reach, state: str, published: Published | None = None
) -> ActionAnswer:
    answer: dict[str, Any] = {
        "id": row["id"],
        "state": state,
        "action": row["action"],
        "status": row["status"],
        "reach": reach.to_dict(),
    }
    if state == "pending":
        answer["confirm"] = f"/v1/actions/{row['id']}/confirm"
        answer["why"] = (
            "an Actual alert needs a second confirmation"
            if not reach.held
            else "the blast-radius guard holds it: " + "; ".join(reach.why)
        )
    if published is not None:
        answer["messages"] = published.messages
        answer["decisions"] = [seq for seq, _ in published.decisions]
    return ActionAnswer.model_validate(answer)
