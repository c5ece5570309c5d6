"""The HTTP side of Web Push: the server's public key, and subscribing and unsubscribing.

No token: a browser subscribes for itself. So besides the app-wide rate limit, subscribing is
limited per client address (`PushLimits.per_address_hour`, a 429 with Retry-After beyond it)
and per zone (`PushLimits.per_zone` subscriptions, a 422 naming the zone beyond it), and the
endpoint must be a known push service's (`--push-hosts` adds others) on a public address.
Mounted on every process that serves HTTP; it reads and writes the shared store only; the
per-address counts are this process's own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from airwarn.answers import PushKey, PushSubscribed
from airwarn.channels.targets import check_resolved
from airwarn.channels.webpush import subscriptions
from airwarn.errors import TooManyRequestsError
from airwarn.web.errors import ERRORS
from airwarn.web.limits import Buckets, client_address

if TYPE_CHECKING:
    from airwarn.channels.webpush.vapid import VapidKey

B64URL = r"^[A-Za-z0-9_-]+={0,2}$"
ZoneId = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class PushKeys(BaseModel):
    """`subscription.toJSON().keys`: the browser's key and auth secret, base64url."""

    model_config = ConfigDict(extra="forbid")

    p256dh: str = Field(max_length=100, pattern=B64URL)
    auth: str = Field(max_length=40, pattern=B64URL)


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class SubscriptionRequest(BaseModel):
    """The browser's `PushSubscription` JSON, and what it wants pushed."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    endpoint: str = Field(min_length=10, max_length=2048)
    expiration_time: float | None = Field(
        None, alias="expirationTime", description="as the browser sends it; not used"
    )
    keys: PushKeys
    zones: list[ZoneId] | None = Field(
        None, min_length=1, max_length=100, description="zone ids (GET /v1/zones); or `point`"
    )
    point: Point | None = Field(
        None, description="subscribe to the zone holding this place (resolved now, once)"
    )
    lang: str = Field(
        "en",
        max_length=35,
        pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
        description="BCP 47 tag; texts exist in en, he, uk (others get en)",
    )
    drills: bool = Field(False, description="also push drills and tests (marked as such)")


class AuthOnly(BaseModel):
    model_config = ConfigDict(extra="ignore")

    auth: str = Field(max_length=40, pattern=B64URL)


class Unsubscription(BaseModel):
    """The endpoint, and the auth secret as the proof that the browser asks."""

    model_config = ConfigDict(extra="ignore")  # subscription.toJSON() may be sent whole

    endpoint: str = Field(min_length=10, max_length=2048)
    keys: AuthOnly


@dataclass(frozen=True)
class PushLimits:
    """Who may subscribe to what: the push services' hosts, whether private addresses are
    allowed (closed networks), subscribe requests per client address per hour, and
    subscriptions per zone."""

    endpoint_hosts: tuple[str, ...] = subscriptions.KNOWN_PUSH_HOSTS
    allow_private: bool = False
    per_address_hour: int = 60
    per_zone: int = 20_000
    max_addresses: int = 50_000  # addresses whose counts are kept (the oldest are forgotten)


def router_for(key: VapidKey, limits: PushLimits) -> APIRouter:
    router = APIRouter(tags=["web push"], responses=ERRORS)
    per_address = Buckets(
        limits.per_address_hour / 3600.0, float(limits.per_address_hour), limits.max_addresses
    )

    @router.get(
        "/v1/push/key",
        summary="The server's VAPID public key (applicationServerKey for pushManager.subscribe)",
        response_model=PushKey,
    )
    async def public_key() -> dict[str, str]:
        return {"key": key.application_server_key}

    @router.post(
        "/v1/push/subscriptions",
        status_code=201,
        summary="Subscribe a browser to its zones' warnings (no token); 200 when "
        "the same browser changes what it asked for",
        response_model=PushSubscribed,
    )
    async def subscribe(
        body: SubscriptionRequest, request: Request, response: Response
    ) -> dict[str, Any]:
        service = request.app.state.service
        wait_s = per_address.take(client_address(request.scope), time.monotonic())
        if wait_s > 0:
            raise TooManyRequestsError(
                f"this address has subscribed {limits.per_address_hour} times in the last hour, "
                "the most this server takes; retry after the time in Retry-After",
                wait_s,
            )
        sub = subscriptions.check(
            body.model_dump(), service.zones, limits.endpoint_hosts, limits.allow_private
        )
        await check_resolved(sub.endpoint, "$.endpoint", allow_private=limits.allow_private)
        created = await run_in_threadpool(
            subscriptions.add, service.db, sub, service.secrets, limits.per_zone
        )
        if not created:
            response.status_code = 200
        return {**sub.answer(), "created": created}

    @router.delete(
        "/v1/push/subscriptions",
        status_code=204,
        summary="Unsubscribe: the endpoint and its auth secret (no token)",
    )
    async def unsubscribe(body: Unsubscription, request: Request) -> Response:
        service = request.app.state.service
        await run_in_threadpool(
            subscriptions.remove, service.db, body.endpoint, body.keys.auth, service.secrets
        )
        return Response(status_code=204)

    return router
