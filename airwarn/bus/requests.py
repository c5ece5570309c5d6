"""The leader's side of a write request: the service call it names, and its answer."""

from __future__ import annotations

import logging
from typing import Any

from airwarn.answers import Answer
from airwarn.bus.codec import error_answer, ingest_items, unblob
from airwarn.errors import AirwarnError
from airwarn.service import Service
from airwarn.store.tokens import Client

log = logging.getLogger(__name__)


def execute(service: Service, request: dict[str, Any]) -> dict[str, Any]:
    """Run one request against the service: `{"ok": answer}` or `{"error": ...}`."""
    try:
        answer = _run(service, request)
        return {"ok": answer.to_wire() if isinstance(answer, Answer) else answer}
    except AirwarnError as error:
        return error_answer(error)
    except Exception:  # a bug must not stop the engine taking requests; it is logged
        log.exception("bus: request %s failed", request.get("op"))
        return error_answer(AirwarnError("the engine failed on this request; see its log"))


def _run(service: Service, request: dict[str, Any]) -> Answer | dict[str, Any]:
    op = request.get("op")
    client = Client(*request["client"])
    received_ms = int(request["received_ms"])
    if op == "ingest":
        return service.ingest(
            ingest_items(request),
            request["rejected"],
            client=client,
            received_ms=received_ms,
            batch_key=request["batch_key"],
            batch_digest=request.get("digest"),
        )
    if op == "propose":
        return service.propose(request["request"], client, received_ms)
    if op == "confirm":
        return service.confirm(request["action_id"], client, received_ms, bool(request["blast"]))
    if op == "cancel":
        return service.cancel(request["identifier"], request["reason"], client, received_ms)
    if op == "inbound":
        from airwarn.cap.inbound import parse_inbound

        body = unblob(request["body"])
        return service.inbound(parse_inbound(body), body, client, received_ms)
    if op == "inbound_decide":
        return service.decide_inbound(
            int(request["inbound_id"]),
            request["decision"],
            client,
            received_ms,
            request["reason"],
            bool(request["blast"]),
        )
    if op == "relay_override":  # an operator acts on a relayed feed's alert (airwarn.follow)
        from airwarn.follow.override import override

        return override(
            service,
            request["source"],
            request["action"],
            request["zones"],
            request["reason"],
            client,
            received_ms,
        )
    raise AirwarnError(f"unknown request {op!r}")
