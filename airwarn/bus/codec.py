"""What crosses the bus, as bytes: committed steps, write requests and their answers."""

from __future__ import annotations

import base64
from typing import Any

import msgspec

from airwarn.contract import encode_event, parse_event
from airwarn.errors import (
    AirwarnError,
    ConflictError,
    ContractError,
    EventError,
    ForbiddenError,
    NotFoundError,
    RequestError,
    UnauthorizedError,
    UnavailableError,
)
from airwarn.service import Published
from airwarn.store.tokens import Client

MAX_STEP_BYTES = 900_000  # NATS refuses messages over 1 MB by default


def encode_step(step: Published) -> bytes:
    """A step with what a follower needs to apply it; one too large for the bus goes as a
    bare reference, and followers read it from the store."""
    data = msgspec.json.encode(
        {"d": step.decisions, "m": step.messages, "e": step.events, "c": step.cap}
    )
    return data if len(data) <= MAX_STEP_BYTES else b'{"ref":true}'


def decode_step(data: bytes) -> Published:
    raw = msgspec.json.decode(data)
    if raw.get("ref"):
        return Published([], [])
    return Published([tuple(d) for d in raw["d"]], raw["m"], [tuple(e) for e in raw["e"]], raw["c"])


def ingest_request(
    items: list[tuple[int, Any]],
    rejected: list[dict[str, Any]],
    client: Client,
    received_ms: int,
    batch_key: str,
    batch_digest: str | None = None,
) -> dict[str, Any]:
    """A sensor's batch as the edge took it: the events as sent (the engine scopes and checks
    them against the sender's lane), and who sent them, authenticated by the edge."""
    return {
        "op": "ingest",
        "items": [[line, encode_event(event).decode()] for line, event in items],
        "rejected": rejected,
        "client": [client.name, client.role],
        "received_ms": received_ms,
        "batch_key": batch_key,
        "digest": batch_digest,
    }


def ingest_items(request: dict[str, Any]) -> list[tuple[int, Any]]:
    return [(line, parse_event(body.encode(), line=line)) for line, body in request["items"]]


def blob(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unblob(text: str) -> bytes:
    return base64.b64decode(text)


_ERRORS: dict[str, type[AirwarnError]] = {
    cls.__name__: cls
    for cls in (
        AirwarnError,
        ConflictError,
        ContractError,
        EventError,
        ForbiddenError,
        NotFoundError,
        RequestError,
        UnauthorizedError,
        UnavailableError,
    )
}


def error_answer(error: AirwarnError) -> dict[str, Any]:
    """An error the engine raised, so that the edge can raise the same one."""
    kind = next((c.__name__ for c in type(error).__mro__ if c.__name__ in _ERRORS), "AirwarnError")
    out: dict[str, Any] = {"type": kind, "message": getattr(error, "message", None) or str(error)}
    if isinstance(error, ContractError):
        value = (
            error.value
            if isinstance(error.value, str | int | float | bool | None)
            else repr(error.value)
        )
        out.update(line=error.line, field=error.field, value=value)
    elif isinstance(error, ForbiddenError):
        out["line"] = error.line
    return {"error": out}


def raise_error(answer: dict[str, Any]) -> None:
    error = answer["error"]
    cls = _ERRORS.get(error["type"], AirwarnError)
    if issubclass(cls, ContractError):
        raise cls(
            error["message"],
            line=error.get("line"),
            field=error.get("field"),
            value=error.get("value"),
        )
    if issubclass(cls, ForbiddenError):
        raise cls(error["message"], line=error.get("line"))
    raise cls(error["message"])
