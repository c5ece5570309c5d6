"""Operators: manual alerts and clears, their confirmation, the correction path, the audit log.

An `Actual` alert takes two steps: `POST /v1/actions` answers with exactly which zones it will
reach and an id; `POST /v1/actions/{id}/confirm` sends it. Drills (`Exercise`), tests and
clears go at once, unless the blast-radius guard holds them (see
`airwarn.service.blast_radius`). An alert sent in error is cancelled with one call,
`POST /v1/alerts/{identifier}/cancel`, which clears its zones and issues a CAP `Cancel` on
every channel.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from airwarn.answers import ActionAnswer, AuditEntry, CancelAnswer, ThreatView
from airwarn.contract import Action, Status
from airwarn.store.tokens import Client
from airwarn.web import state
from airwarn.web.auth import require
from airwarn.web.errors import ERRORS, MAX_SEQ, QUEUED

router = APIRouter(tags=["operators"], responses=ERRORS)
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # no control characters: they go to CAP
ZoneId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=PRINTABLE)]


class ActionRequest(BaseModel):
    """A manual alert or clear. Name exactly one of `zones`, `region` or `area`."""

    model_config = ConfigDict(extra="forbid")

    action: Action = Field(
        description='pre_alert: "alerts are expected in your area in the coming minutes"'
    )
    status: Status = Field(
        "actual", description="`exercise` (a drill) and `test` never touch the real levels"
    )
    reason: str = Field(
        min_length=3,
        max_length=500,
        pattern=PRINTABLE,
        description="why: kept in the audit log and sent as the CAP note",
    )
    zones: list[ZoneId] | None = Field(None, min_length=1, max_length=5000)
    region: str | None = Field(None, min_length=1, max_length=200, pattern=PRINTABLE)
    area: dict[str, Any] | None = Field(
        None, description="a GeoJSON Polygon or MultiPolygon (WGS84) drawn by the operator"
    )
    category: str | None = Field(
        None, max_length=64, pattern=PRINTABLE, description="e.g. missiles, drones"
    )
    expect_zones: int | None = Field(
        None, ge=1, description="how many zones the operator means to reach; more is held"
    )


class Confirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm_blast_radius: bool = Field(
        False, description="required when the guard held the action for its size"
    )


class Cancellation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=500, pattern=PRINTABLE)


@router.post(
    "/v1/actions",
    summary="Propose a manual alert or clear (role: operator)",
    response_model=ActionAnswer,
    response_model_exclude_unset=True,
    responses=QUEUED,
)
async def propose(
    body: ActionRequest, request: Request, client: Client = Depends(require("operate"))
) -> Any:
    return state.written(
        await run_in_threadpool(
            state.writer(request).propose,
            body.model_dump(exclude_none=True),
            client,
            state.now_ms(request),
        )
    )


@router.post(
    "/v1/actions/{action_id}/confirm",
    summary="Confirm a held action: the second step of an Actual alert",
    response_model=ActionAnswer,
    response_model_exclude_unset=True,
    responses=QUEUED,
)
async def confirm(
    action_id: str,
    request: Request,
    body: Confirmation | None = None,
    client: Client = Depends(require("operate")),
) -> Any:
    blast = body.confirm_blast_radius if body is not None else False
    return state.written(
        await run_in_threadpool(
            state.writer(request).confirm, action_id, client, state.now_ms(request), blast
        )
    )


@router.post(
    "/v1/alerts/{identifier}/cancel",
    summary="Cancel an alert sent in error: clear its zones, send CAP Cancel",
    response_model=CancelAnswer,
    response_model_exclude_unset=True,
    responses=QUEUED,
)
async def cancel(
    identifier: str,
    body: Cancellation,
    request: Request,
    client: Client = Depends(require("operate")),
) -> Any:
    return state.written(
        await run_in_threadpool(
            state.writer(request).cancel, identifier, body.reason, client, state.now_ms(request)
        )
    )


@router.get(
    "/v1/threats",
    summary="Threats in flight with their predicted regions (role: operator)",
    response_model_exclude_unset=True,
)
async def threats(request: Request, client: Client = Depends(require("watch"))) -> list[ThreatView]:
    return await run_in_threadpool(state.view(request.app).threats)


@router.get(
    "/v1/audit",
    summary="The audit log of manual actions (role: admin)",
    response_model=list[AuditEntry],
    response_model_exclude_unset=True,
)
async def audit(
    request: Request,
    client: Client = Depends(require("audit")),
    after_id: int = Query(0, ge=0, le=MAX_SEQ),
    before_id: int | None = Query(
        None,
        ge=1,
        le=MAX_SEQ,
        description=("newest first: entries before this id (give a large number for the newest)"),
    ),
    limit: int = Query(500, ge=1, le=5000),
) -> list[dict[str, Any]]:
    return await run_in_threadpool(
        state.decision_log(request.app).audit, after_id=after_id, before_id=before_id, limit=limit
    )
