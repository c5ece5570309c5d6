"""`/v1/relays`: the followed sources and what they hold here, and the operators' override.

`GET /v1/relays` is public, like every view of the warnings: which sources this server relays,
whether each is live, stale or failed (and since when, and why), and per zone what each source
holds. `POST /v1/relays/{source}/override` lets an operator clear a relayed alert here (until
the source clears it) or follow the source again, audited with a reason.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from airwarn.answers import Queued, RelayOverride, Relays
from airwarn.contract import format_time
from airwarn.store.tokens import Client
from airwarn.web import state
from airwarn.web.auth import require
from airwarn.web.errors import ERRORS, QUEUED

router = APIRouter(tags=["relayed feeds"], responses=ERRORS)
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
ZoneId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=PRINTABLE)]
NOT_LIVE = ("starting", "stale", "failed")


class Override(BaseModel):
    """Clear a relayed alert here, or follow the source again; name zones or all of them."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["clear", "follow"] = Field(
        description="clear: silence the source's alert here until it clears it itself; "
        "follow: take what the source says again"
    )
    reason: str = Field(min_length=3, max_length=500, pattern=PRINTABLE)
    zones: list[ZoneId] | None = Field(
        None,
        min_length=1,
        max_length=5000,
        description=("the zones to act on; all the source holds if absent"),
    )


def sources_view(service: Any) -> dict[str, Any]:
    """The sources, their health, and per zone what each holds (as /v1/relays shows it)."""
    with service._lock:
        engine = service.engine
        states = engine.relays.states()
        relayed = engine.relayed()
    health = getattr(service, "relay_health", {})
    sources = []
    for name, status in states.items():
        entry: dict[str, Any] = {
            "name": name,
            "state": status.state,
            "since": format_time(status.since_ms),
            "why": status.why,
            "url": status.url,
            "current": status.state == "live",
            "zones": sum(1 for lanes in relayed.values() if lanes.get(name, "clear") != "clear"),
        }
        follower = health.get(name)
        if follower is not None:
            h = follower.health
            entry["here"] = {
                "polls": h.polls,
                "not_modified": h.not_modified,
                "errors": h.errors,
                "last_error": h.last_error,
                "note": h.note,
                "last_answer": None if h.last_ok_ms is None else format_time(h.last_ok_ms),
            }
        sources.append(entry)
    return {
        "sources": sources,
        "not_current": sorted(s["name"] for s in sources if s["state"] in NOT_LIVE),
        "zones": relayed,
    }


@router.get(
    "/v1/relays",
    summary="Relayed official feeds: their health and what they hold",
    response_model=Relays,
    response_model_exclude_unset=True,
)
async def relays(request: Request) -> dict[str, Any]:
    return await run_in_threadpool(sources_view, request.app.state.service)


@router.post(
    "/v1/relays/{source}/override",
    summary="Clear a relayed alert here, or follow the source again (role: operator)",
    response_model=RelayOverride,
    response_model_exclude_unset=True,
    responses=QUEUED,
)
async def override_relay(
    source: str, body: Override, request: Request, client: Client = Depends(require("operate"))
) -> Any:
    from airwarn.follow.override import override

    writer = request.app.state.writer
    service = request.app.state.service
    if writer is not service:  # on a bus: the leading engine does it
        answer = await run_in_threadpool(
            writer.relay_override,
            source,
            body.action,
            body.zones,
            body.reason,
            client,
            state.now_ms(request),
        )
        return state.written(answer) if isinstance(answer, Queued) else answer
    return await run_in_threadpool(
        override,
        service,
        source,
        body.action,
        body.zones,
        body.reason,
        client,
        state.now_ms(request),
    )
