"""Operators and the CAP other agencies sent: what was held, and approving or rejecting it.

`POST /v1/cap` holds a message it cannot verify (or one larger than the blast-radius guard
allows) instead of applying it. Operators list what is held, read each message as it came,
and approve it (its zones are alerted, or for a Cancel cleared, as if it had been verified)
or reject it. Both are in the audit log under the operator's name, with their reason.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from airwarn.answers import InboundAnswer, InboundMessage
from airwarn.service import inbound_cap
from airwarn.store.tokens import Client
from airwarn.web import state
from airwarn.web.auth import require
from airwarn.web.errors import ERRORS, MAX_SEQ, QUEUED
from airwarn.web.operators import PRINTABLE
from airwarn.web.state import view as view_of

router = APIRouter(tags=["operators"], responses=ERRORS)
InboundId = Path(ge=1, le=MAX_SEQ, description="the id `POST /v1/cap` answered with")


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=3, max_length=500, pattern=PRINTABLE, description="why: kept in the audit log"
    )
    confirm_blast_radius: bool = Field(
        False,
        description="approving: required when the message covers more zones than the "
        "blast-radius guard allows",
    )


@router.get(
    "/v1/inbound-cap",
    summary="CAP from other agencies, newest first; "
    "`?state=held` for what waits for an operator (role: operator)",
    response_model_exclude_unset=True,
)
async def listing(
    request: Request,
    client: Client = Depends(require("watch")),
    state: str | None = Query(None, description="one of: " + ", ".join(inbound_cap.STATES)),
    before_id: int | None = Query(None, ge=1, le=MAX_SEQ),
    limit: int = Query(100, ge=1, le=1000),
) -> list[InboundAnswer]:
    return await run_in_threadpool(view_of(request.app).inbound_listing, state, before_id, limit)


@router.get(
    "/v1/inbound-cap/{inbound_id}",
    summary="One inbound CAP message with its XML as received (role: operator)",
    response_model_exclude_unset=True,
)
async def one(
    request: Request, inbound_id: int = InboundId, client: Client = Depends(require("watch"))
) -> InboundMessage:
    return await run_in_threadpool(view_of(request.app).inbound_message, inbound_id)


@router.post(
    "/v1/inbound-cap/{inbound_id}/approve",
    summary="Apply a held inbound CAP message (role: operator)",
    response_model=InboundAnswer,
    response_model_exclude_unset=True,
    responses=QUEUED,
)
async def approve(
    body: Decision,
    request: Request,
    inbound_id: int = InboundId,
    client: Client = Depends(require("operate")),
) -> Any:
    return state.written(
        await run_in_threadpool(
            state.writer(request).decide_inbound,
            inbound_id,
            "approve",
            client,
            state.now_ms(request),
            body.reason,
            body.confirm_blast_radius,
        )
    )


@router.post(
    "/v1/inbound-cap/{inbound_id}/reject",
    summary="Reject a held inbound CAP message (role: operator)",
    response_model=InboundAnswer,
    response_model_exclude_unset=True,
    responses=QUEUED,
)
async def reject(
    body: Decision,
    request: Request,
    inbound_id: int = InboundId,
    client: Client = Depends(require("operate")),
) -> Any:
    return state.written(
        await run_in_threadpool(
            state.writer(request).decide_inbound,
            inbound_id,
            "reject",
            client,
            state.now_ms(request),
            body.reason,
        )
    )
