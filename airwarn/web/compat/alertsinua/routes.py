"""An alerts.in.ua-style REST API, served by airwarn, for the apps and devices that read it.

Paths and shapes as `api.alerts.in.ua` serves them to its published client (`alerts-in-ua`):
the active alerts, the IoT status strings (v1: A/P/N; v2 splits A into red R and yellow Y) and
an oblast's recent history. Point `api.alerts.in.ua` at airwarn (DNS or a proxy, with airwarn's
certificate; see docs/compat.md) and give the client an airwarn token: any token with the read
role (`airwarn tokens create --role reader`) is accepted as its `Authorization: Bearer`.

Every answer carries `Last-Modified` (and an `ETag`); a request whose `If-Modified-Since` (or
`If-None-Match`) names the current state gets 304 and no body, which the client answers from
its cache. See `airwarn.web.compat.board` for why a date never hides a change.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from airwarn.errors import NotFoundError
from airwarn.store.tokens import Client
from airwarn.web import state
from airwarn.web.auth import require
from airwarn.web.compat.alertsinua import shapes as ua_alerts
from airwarn.web.compat.alertsinua.places import UID_TO_LOCATION
from airwarn.web.compat.board import AlertBoard, Snapshot, board_of
from airwarn.web.errors import ERRORS

router = APIRouter(tags=["compatibility: alerts.in.ua"], responses=ERRORS)
JSON = "application/json; charset=utf-8"
PERIOD_DAYS = {"day_ago": 1, "week_ago": 7, "month_ago": 30}
DAY_MS = 86_400_000
HISTORY_LIMIT = 20_000  # decisions read for one history answer
_JSON_200: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}}},
    304: {"description": "not modified"},
}
Uid = Path(ge=0, le=1_000_000_000, description="alerts.in.ua's number of the place")
Version = Literal["v1", "v2"]


@router.get(
    "/v1/alerts/active.json",
    summary="The alerts in force (role: any)",
    response_class=Response,
    responses=_JSON_200,
)
async def active(request: Request, _client: Client = Depends(require("read"))) -> Response:
    return await _answer(
        request,
        "ua.active",
        lambda board, snapshot: ua_alerts.document(
            ua_alerts.active_records(snapshot.alerts, ua_alerts.ua_zones(board.service.zones)),
            snapshot.updated_ms,
        ),
    )


@router.get(
    "/{version}/iot/active_air_raid_alerts_by_oblast.json",
    summary="27 letters, one per oblast in alerts.in.ua's order (role: any)",
    response_class=Response,
    responses=_JSON_200,
)
async def by_oblast(
    request: Request, version: Version, _client: Client = Depends(require("read"))
) -> Response:
    return await _answer(
        request,
        ("ua.oblasts", version),
        lambda board, snapshot: ua_alerts.oblast_letters(
            snapshot.alerts, _ua(board), version == "v2"
        ),
    )


@router.get(
    "/{version}/iot/active_air_raid_alerts.json",
    summary="One letter per place, at the index of its number (role: any)",
    response_class=Response,
    responses=_JSON_200,
)
async def by_uid(
    request: Request, version: Version, _client: Client = Depends(require("read"))
) -> Response:
    return await _answer(
        request,
        ("ua.uids", version),
        lambda board, snapshot: ua_alerts.uid_letters(snapshot.alerts, _ua(board), version == "v2"),
    )


@router.get(
    "/{version}/iot/active_air_raid_alerts/{uid}.json",
    summary="One place's letter (role: any)",
    response_class=Response,
    responses=_JSON_200,
)
async def one_place(
    request: Request, version: Version, uid: int = Uid, _client: Client = Depends(require("read"))
) -> Response:
    zone_ids = _zones_of(request, uid)
    return await _answer(
        request,
        ("ua.place", version, uid),
        lambda _board, snapshot: ua_alerts.letter(zone_ids, snapshot.alerts, version == "v2"),
    )


@router.get(
    "/v1/regions/{uid}/alerts/{period}.json",
    summary="A place's alerts that were on in the period, newest first (role: any)",
    response_class=Response,
    responses=_JSON_200,
)
async def history(
    request: Request,
    period: Literal["day_ago", "week_ago", "month_ago"],
    uid: int = Uid,
    _client: Client = Depends(require("read")),
) -> Response:
    zone_ids = _zones_of(request, uid)

    def build(board: AlertBoard, snapshot: Snapshot) -> Any:
        since_ms = (
            board.service.event_time_ms(int(board.clock() * 1000)) - PERIOD_DAYS[period] * DAY_MS
        )
        rows = board.rows(since_ms=since_ms, zones=zone_ids, limit=HISTORY_LIMIT)
        records = ua_alerts.history_records(
            rows, _ua(board), snapshot.alerts, zone_ids, since_ms, board.raised_before
        )
        return ua_alerts.document(records, snapshot.updated_ms)

    return await _answer(
        request, ("ua.history", uid, period), build, version=int(time.time() // 60)
    )


def _ua(board: AlertBoard) -> ua_alerts.UaZones:
    return ua_alerts.ua_zones(board.service.zones)


def _zones_of(request: Request, uid: int) -> list[str]:
    zones = ua_alerts.ua_zones(state.view(request.app).zones).by_uid.get(uid)
    if zones is None and uid not in UID_TO_LOCATION:
        raise NotFoundError(
            f"no place has number {uid}: use alerts.in.ua's numbers, e.g. 31 "
            "for Kyiv or 14 for Kyiv oblast"
        )
    return zones or []


async def _answer(
    request: Request, key: Any, build: Callable[[AlertBoard, Snapshot], Any], version: Any = None
) -> Response:
    """The body for the board's current state (made once per state and `version`), or 304
    if the client holds it already."""
    board = board_of(request)
    snapshot = await run_in_threadpool(board.snapshot)
    now = board.clock()
    headers = snapshot.headers(now)
    if snapshot.not_modified(request, now):
        return Response(status_code=304, headers=headers)
    body = await run_in_threadpool(
        snapshot.once,
        key,
        lambda: json.dumps(
            build(board, snapshot), ensure_ascii=False, separators=(",", ":")
        ).encode(),
        version,
    )
    return Response(body, media_type=JSON, headers=headers)
