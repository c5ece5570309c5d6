"""CAP 1.2 over HTTP: each message signed, the Atom feed of them, and the public key.

Receivers verify every message's XML signature with the certificate at `/v1/cap/key.pem`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from airwarn.answers import InboundAnswer, Queued
from airwarn.cap.atom import atom_feed
from airwarn.cap.inbound import parse_inbound
from airwarn.errors import NotFoundError
from airwarn.store.tokens import Client
from airwarn.web import state
from airwarn.web.auth import require
from airwarn.web.errors import ERRORS

router = APIRouter(tags=["cap"], responses=ERRORS)
CAP_TYPE = "application/cap+xml"


@router.get(
    "/v1/cap/key.pem",
    summary="The certificate that verifies airwarn's CAP signatures",
    response_class=Response,
    responses={200: {"content": {"application/x-pem-file": {}}}},
)
async def key(request: Request) -> Response:
    return Response(state.view(request.app).cap_certificate(), media_type="application/x-pem-file")


@router.get(
    "/v1/cap/feed.atom",
    summary="The newest CAP messages as an Atom feed",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}}},
)
async def feed(request: Request, limit: int = Query(100, ge=1, le=1000)) -> Response:
    view = state.view(request.app)
    warnings = await run_in_threadpool(view.recent_warnings, limit)
    base = str(request.base_url).rstrip("/")
    updated_ms = max((w.sent_ms for w in warnings), default=0)
    body = atom_feed(
        [(w, f"{base}/v1/cap/{w.identifier}") for w in warnings],
        feed_id=view.cap_feed_id(),
        title="airwarn CAP messages",
        updated_ms=updated_ms,
        self_url=f"{base}/v1/cap/feed.atom",
    )
    return Response(body, media_type="application/atom+xml")


@router.get(
    "/v1/cap/{identifier}",
    summary="One signed CAP message",
    response_class=Response,
    responses={200: {"content": {CAP_TYPE: {}}}},
)
async def message(identifier: str, request: Request) -> Response:
    body = await run_in_threadpool(
        state.view(request.app).signed_cap, identifier.removesuffix(".xml")
    )
    if body is None:
        raise NotFoundError(f"no CAP message {identifier!r}")
    return Response(body, media_type=CAP_TYPE)


@router.post(
    "/v1/cap",
    summary="Take a CAP alert from another agency (role: sensor)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                CAP_TYPE: {"schema": {"type": "string"}},
                "application/xml": {"schema": {"type": "string"}},
            },
        }
    },
    responses={
        200: {"model": InboundAnswer, "description": "applied, kept, or a duplicate (see `state`)"},
        202: {
            "model": InboundAnswer,
            "description": "held for an operator: not verified, or larger "
            "than the blast-radius guard allows (on a bus, "
            "also: stored, no engine answered yet, as in "
            "Queued)",
        },
    },
)
async def inbound(request: Request, client: Client = Depends(require("ingest"))) -> JSONResponse:
    """The alert is checked against the CAP 1.2 schema (broken ones are refused with the line
    and element at fault). The token must be bound to its sender (403 otherwise), and an
    Update or Cancel must come from the sender of what it references. Signed by a
    certificate trusted for its sender, its area becomes an alert of the zones it covers, on
    the lane its status names, and a Cancel clears the zones of the alert it references;
    unsigned or unverified, it is held for an operator (202), or refused (403) when the
    server runs with `--inbound-cap refuse`."""
    body = await request.body()
    alert = await run_in_threadpool(parse_inbound, body)
    answer = await run_in_threadpool(
        state.writer(request).inbound, alert, body, client, state.now_ms(request)
    )
    if isinstance(answer, Queued):
        return state.written(answer)
    return JSONResponse(answer.to_wire(), status_code=202 if answer.state == "held" else 200)
