"""Ingest: sensors post Contract v1 events, one JSON object or a JSON Lines batch.

The answer says how many were accepted and, for each rejected line, why (line, field, value).
Accepted events are in the log before the answer is sent; a line taken but of no use (a
duplicate, a report after its threat ended) is listed in `ignored` with why, and a batch of
which nothing was taken answers 422. An `Idempotency-Key` header makes a retried batch safe:
the same body posted again gets the first answer and changes nothing; another body under a key
already used is refused (422). What a sensor may send, and how its threat ids are scoped, is
`airwarn.lanes`: manual actions and (on a wall clock) ticks are refused with 403.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from airwarn.answers import IngestAnswer, Queued
from airwarn.contract import Event, parse_event
from airwarn.errors import EventError, RequestError
from airwarn.store.tokens import Client
from airwarn.web import state
from airwarn.web.auth import require
from airwarn.web.errors import ERRORS, QUEUED

router = APIRouter(tags=["ingest"], responses=ERRORS)

_EVENTS_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Event"}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
}


@router.post(
    "/v1/events",
    summary="Post tracks and ends, one JSON event or a JSON Lines batch (role: sensor)",
    openapi_extra={"requestBody": _EVENTS_BODY},
    response_model=IngestAnswer,
    response_model_exclude_unset=True,
    responses={
        200: {
            "description": "what was accepted, what was taken but ignored "
            "and why, and why each rejected line was "
            "rejected"
        },
        **QUEUED,
    },
)
async def post_events(
    request: Request,
    client: Client = Depends(require("ingest")),
    idempotency_key: str | None = Header(
        None,
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="printable ASCII; a retried batch with the same key is applied once",
    ),
) -> Any:
    body = await request.body()
    max_lines: int = request.app.state.settings.max_batch_lines
    if not body.strip():
        raise RequestError(
            "the body is empty: send one JSON event, or JSON Lines, one event "
            "per line (Contract v1)"
        )
    lines = body.split(b"\n")
    if not lines[-1]:
        lines.pop()  # the newline that ends the last line starts none
    if len(lines) > max_lines:
        raise RequestError(f"a batch holds at most {max_lines} lines; split it", value=len(lines))
    items: list[tuple[int, Event]] = []
    rejected: list[dict[str, Any]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            event = parse_event(raw, line=number)
            items.append((number, event))
        except EventError as error:
            rejected.append(
                {
                    "line": number,
                    "error": error.message,
                    "field": error.field,
                    "value": _plain(error.value),
                }
            )
    received_ms = state.now_ms(request)
    answer = await run_in_threadpool(
        state.writer(request).ingest,
        items,
        rejected,
        client=client,
        received_ms=received_ms,
        batch_key=idempotency_key,
        batch_digest=hashlib.sha256(body).hexdigest(),
    )
    if isinstance(answer, Queued):
        return state.written(answer)
    if not answer.accepted and answer.rejected:
        # nothing of it was taken: not a success, whatever else the answer says
        return JSONResponse(
            {
                "error": "no line of this batch was accepted; `rejected` says why for each",
                **answer.to_wire(),
            },
            status_code=422,
        )
    return answer


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)[:200]
