"""The webhook endpoints: subscribe, list, unsubscribe, the dead letters, replay (role: admin).

They read and write the shared store, so they work on any process that serves HTTP; on the
engine's own process they also wake the channel, elsewhere it notices within a second. Each
change is written with its audit-log entry in the same transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import httpx
import yarl
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from airwarn.answers import (
    DeadLetter,
    WebhookCreated,
    WebhookDeleted,
    WebhookReplay,
    WebhookSubscriber,
)
from airwarn.channels import webhook_store as store
from airwarn.channels.targets import check_resolved, check_url
from airwarn.channels.webhook_outbox import replay_rows
from airwarn.errors import NotFoundError, RequestError
from airwarn.ports import WALL_CLOCK
from airwarn.store.tokens import Client
from airwarn.web.auth import require
from airwarn.web.errors import ERRORS, MAX_SEQ

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Status = Literal["actual", "exercise", "test"]
_ACTUAL_ONLY: list[Status] = ["actual"]  # what a subscriber gets unless it asks for drills
MAX_REPLAY = 20_000  # decisions one replay may resend; more is several replays
# managing webhooks is an administrator's job, as reading the audit log is
MANAGE = "audit"


class Subscription(BaseModel):
    """A new webhook subscriber."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1,
        max_length=128,
        pattern=PRINTABLE,
        description="who receives it, for the list and the audit log",
    )
    url: str = Field(
        min_length=1,
        max_length=2048,
        description="where deliveries are POSTed: http:// or https://",
    )
    zones: list[str] | None = Field(
        None,
        min_length=1,
        max_length=100_000,
        description="the zone ids it wants decisions for; omit for every zone",
    )
    statuses: list[Status] = Field(
        default_factory=lambda: _ACTUAL_ONLY.copy(),
        min_length=1,
        description="which lanes it wants: real warnings (actual), drills (exercise), tests",
    )


class Replay(BaseModel):
    """Send again: decisions from a sequence number, or the dead letters."""

    model_config = ConfigDict(extra="forbid")

    from_seq: int | None = Field(
        None, ge=1, le=MAX_SEQ, description="resend this subscriber's decisions from this seq"
    )
    until_seq: int | None = Field(
        None,
        ge=1,
        le=MAX_SEQ,
        description="with from_seq: up to this seq (default: the newest already queued for it)",
    )
    dead: bool | None = Field(None, description="true: retry every dead letter")


def _now_ms() -> int:
    return WALL_CLOCK.now_ms()


def _check(body: Subscription, zone_ids: dict[str, int], allow_private: bool) -> None:
    """Refuse what would never deliver, or must not, naming the field and the fix; nothing is
    stored. An address inside is named as such, whatever else is wrong with the url."""
    try:
        parts = urlsplit(body.url)
        if parts.scheme in ("http", "https"):
            check_url(body.url, "$.url", allow_private=allow_private)
        httpx.URL(body.url)
        yarl.URL(body.url)  # what the sender (aiohttp) will make of it
    except (ValueError, TypeError, httpx.InvalidURL) as exc:
        raise RequestError(
            f"the url cannot be read ({exc}); give e.g. https://example.org/airwarn-hook",
            field="$.url",
            value=body.url,
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RequestError(
            "the url must be http:// or https:// with a host, e.g. "
            "https://example.org/airwarn-hook",
            field="$.url",
            value=body.url,
        )
    if parts.fragment:
        raise RequestError(
            "the url must not have a #fragment (it is never sent); drop it",
            field="$.url",
            value=body.url,
        )
    for index, zone in enumerate(body.zones or []):
        if zone not in zone_ids:
            raise RequestError(
                f"zone {zone!r} is not in this zone set; GET /v1/zones lists "
                "the ids, or omit `zones` for every zone",
                field=f"$.zones[{index}]",
                value=zone,
            )


# ids are 64-bit in both stores: a larger one is refused as input (422), not sent to SQLite
SubscriberId = Annotated[int, Path(ge=1, le=MAX_SEQ, description="the subscriber's id")]


def _subscriber_or_404(request: Request, subscriber_id: int) -> store.Subscriber:
    found = store.subscriber(request.app.state.service.db, subscriber_id)
    if found is None:
        raise NotFoundError(f"no webhook subscriber {subscriber_id}; GET /v1/webhooks lists them")
    return found


def webhook_router(nudge: Callable[[], None], allow_private_targets: bool = False) -> APIRouter:
    """The endpoints; `nudge` tells the channel (when it runs here) to look at once. A url
    whose host is or resolves to an address that is not public is refused unless
    `allow_private_targets` (see `airwarn.channels.targets`)."""
    router = APIRouter(tags=["webhooks"], responses=ERRORS)

    @router.post(
        "/v1/webhooks",
        status_code=201,
        response_model=WebhookCreated,
        summary="Subscribe a URL to decisions (role: admin); the secret is shown once",
    )
    async def subscribe(
        body: Subscription, request: Request, client: Client = Depends(require(MANAGE))
    ) -> dict[str, Any]:
        service = request.app.state.service
        _check(body, service.zones.index_of, allow_private_targets)
        # the name is looked up (off the event loop): one that points inside is refused now,
        # and every delivery checks it again
        await check_resolved(body.url, "$.url", allow_private=allow_private_targets)
        zones = None if body.zones is None else sorted(set(body.zones))
        statuses = sorted(set(body.statuses))
        secret = "whsec_" + secrets.token_urlsafe(32)
        now_ms = _now_ms()

        def create() -> tuple[int, int]:
            with service.db.connect() as conn:
                # deliveries begin after the newest decision stored now: a subscriber gets
                # what happens from here on (and can replay the past with from_seq)
                after = store.last_decision_seq(conn)
            row = {
                "name": body.name,
                "url": body.url,
                "zones": zones,
                "statuses": statuses,
                "secret": secret,
                "created_ms": now_ms,
                "created_by": client.name,
                "seen_seq": after,
            }
            audit = store.audit_entry(
                client.name,
                client.role,
                now_ms,
                "webhook.create",
                {
                    "name": body.name,
                    "url": body.url,
                    "statuses": statuses,
                    "zones": None if zones is None else len(zones),
                },
            )
            return store.create_subscriber(service.db, row, audit, service.secrets), after

        new_id, after = await run_in_threadpool(create)
        nudge()
        return {
            "id": new_id,
            "name": body.name,
            "url": body.url,
            "zones": zones,
            "statuses": statuses,
            "after_seq": after,
            "secret": secret,
            "signature": "Airwarn-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "
            "f'{t}.{body}')>; see docs/webhooks.md",
        }

    @router.get(
        "/v1/webhooks",
        summary="The webhook subscribers and their deliveries (role: admin)",
        response_model=list[WebhookSubscriber],
    )
    async def subscribers(
        request: Request, client: Client = Depends(require(MANAGE))
    ) -> list[dict[str, Any]]:
        return await run_in_threadpool(store.list_subscribers, request.app.state.service.db)

    @router.delete(
        "/v1/webhooks/{subscriber_id}",
        summary="Unsubscribe (role: admin)",
        response_model=WebhookDeleted,
    )
    async def unsubscribe(
        subscriber_id: SubscriberId, request: Request, client: Client = Depends(require(MANAGE))
    ) -> dict[str, Any]:
        now_ms = _now_ms()
        audit = store.audit_entry(
            client.name, client.role, now_ms, "webhook.delete", {"id": subscriber_id}
        )
        done = await run_in_threadpool(
            store.deactivate, request.app.state.service.db, subscriber_id, now_ms, audit
        )
        if not done:
            raise NotFoundError(
                f"no webhook subscriber {subscriber_id}; GET /v1/webhooks lists them"
            )
        nudge()
        return {"id": subscriber_id, "deleted": True}

    @router.get(
        "/v1/webhooks/{subscriber_id}/dead",
        summary="The dead letters: deliveries given up on, oldest first (role: admin)",
        response_model=list[DeadLetter],
    )
    async def dead(
        subscriber_id: SubscriberId,
        request: Request,
        client: Client = Depends(require(MANAGE)),
        limit: int = Query(500, ge=1, le=5000),
    ) -> list[dict[str, Any]]:
        await run_in_threadpool(_subscriber_or_404, request, subscriber_id)
        return await run_in_threadpool(
            store.dead_letters, request.app.state.service.db, subscriber_id, limit
        )

    @router.post(
        "/v1/webhooks/{subscriber_id}/replay",
        summary="Send again: decisions from a seq, or the dead letters (role: admin)",
        response_model=WebhookReplay,
    )
    async def replay(
        subscriber_id: SubscriberId,
        body: Replay,
        request: Request,
        client: Client = Depends(require(MANAGE)),
    ) -> dict[str, Any]:
        if (body.from_seq is None) == (not body.dead):
            raise RequestError(
                "give either `from_seq` (resend decisions from that seq) or "
                "`dead: true` (retry the dead letters), not both or neither",
                field="$",
                value=body.model_dump(exclude_none=True),
            )
        if body.until_seq is not None and (body.from_seq is None or body.until_seq < body.from_seq):
            raise RequestError(
                "`until_seq` goes with `from_seq` and is not before it",
                field="$.until_seq",
                value=body.until_seq,
            )
        db = request.app.state.service.db
        sub = await run_in_threadpool(_subscriber_or_404, request, subscriber_id)
        now_ms = _now_ms()
        what = {"id": subscriber_id, **body.model_dump(exclude_none=True)}
        audit = store.audit_entry(client.name, client.role, now_ms, "webhook.replay", what)
        if body.dead:
            queued = await run_in_threadpool(store.requeue_dead, db, subscriber_id, now_ms, audit)
        else:
            assert body.from_seq is not None
            # later decisions are queued for it already (or will be): never beyond its mark
            until = min(sub.seen_seq, body.until_seq or sub.seen_seq)
            if until - body.from_seq + 1 > MAX_REPLAY:
                raise RequestError(
                    f"that would resend {until - body.from_seq + 1} decisions; replay at most "
                    f"{MAX_REPLAY} at a time: give until_seq ≤ {body.from_seq + MAX_REPLAY - 1}"
                    ", then the next range",
                    field="$.from_seq",
                    value=body.from_seq,
                )
            tag = "-replay-" + secrets.token_hex(4)
            rows = await run_in_threadpool(replay_rows, db, sub, body.from_seq, until, now_ms, tag)
            queued = await run_in_threadpool(store.queue_replay, db, rows, audit)
        nudge()
        return {"id": subscriber_id, "queued": queued}

    return router
