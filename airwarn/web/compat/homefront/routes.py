"""The Home Front Command's alert feeds, served by airwarn, for the apps that read them.

Paths as the HFC's hosts (www.oref.org.il, alerts-history.oref.org.il) and Tzeva Adom's
(www.tzevaadom.co.il) serve them, in the spellings the clients use: point those names at
airwarn (DNS or a proxy, with airwarn's certificate; see docs/compat.md) and `oref`,
`pikudhaoref`, Home Assistant's `oref_alert` and the like read airwarn's warnings unchanged.
Public, like every read-only view: no token.

The live feed is one object, as the HFC's is: the zones under alert of one category. When zones
are under several categories at once (rockets here, a drone there), each request shows the next
category in turn, most urgent first, so that a client polling every second or two sees every
zone; the history lists carry all of them at once. With no zone under alert the body is empty,
as the HFC's is, which every client reads as "no alert".
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from airwarn.errors import RequestError
from airwarn.web import state
from airwarn.web.compat.board import AlertBoard, Snapshot, board_of
from airwarn.web.compat.homefront import shapes as hfc
from airwarn.web.errors import ERRORS

router = APIRouter(tags=["compatibility: Home Front Command"], responses=ERRORS)
JSON = "application/json; charset=utf-8"
DAY_MS = 86_400_000
HISTORY_LIMIT = 5000  # entries in one history answer, newest first
MODES_DAYS = {1: 1, 2: 7, 3: 30}  # GetAlarmsHistory.aspx: last day, week, month
_turns = itertools.count()  # which category the live feed shows next, when several are on


def _routes(paths: list[str], summary: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """One endpoint under every spelling clients use (the HFC's server ignores case; ours does
    not); the first is the one documented."""

    def add(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        for n, path in enumerate(paths):
            router.add_api_route(
                path,
                endpoint,
                methods=["GET"],
                summary=summary,
                response_class=Response,
                include_in_schema=n == 0,
                responses={200: {"content": {"application/json": {}}}},
            )
        return endpoint

    return add


@_routes(
    [
        "/WarningMessages/alert/alerts.json",
        "/warningMessages/alert/Alerts.json",
        "/WarningMessages/Alert/alerts.json",
        "/WarningMessages/alert/Alerts.json",
        "/warningMessages/alert/alerts.json",
    ],
    "The live alert: the zones under alert of one category, or an empty body",
)
async def live(request: Request) -> Response:
    board = board_of(request)
    snapshot, now = await _snapshot(board)
    groups = snapshot.once("hfc.groups", lambda: hfc.live_groups(snapshot.alerts))
    headers = snapshot.headers(now)
    if len(groups) <= 1 and snapshot.not_modified(request, now):
        return Response(status_code=304, headers=headers)
    if not groups:
        return Response(b"", media_type=JSON, headers=headers)
    category, members = groups[next(_turns) % len(groups)]
    if len(groups) > 1:
        headers["ETag"] = f'"{snapshot.seq}-{category.cat}"'  # one body of several in turn
    service = board.service
    body = snapshot.once(
        ("hfc.live", category.cat),
        lambda: _json(
            hfc.live_alert(
                category, members, hfc.places_of(service.zones), service.settings.engine.hold_s
            )
        ),
    )
    return Response(body, media_type=JSON, headers=headers)


@_routes(
    [
        "/warningMessages/alert/History/AlertsHistory.json",
        "/WarningMessages/alert/History/AlertsHistory.json",
        "/WarningMessages/History/AlertsHistory.json",
    ],
    "The last day's alerts, per zone, newest first, with each all-clear",
)
async def alerts_history(request: Request) -> Response:
    board = board_of(request)
    snapshot, now = await _snapshot(board)
    headers = snapshot.headers(now)
    if snapshot.not_modified(request, now):
        return Response(status_code=304, headers=headers)
    until_ms = board.service.event_time_ms(int(now * 1000))
    body = await _built(
        snapshot,
        "hfc.history",
        until_ms // 60_000,
        lambda: _history(board, until_ms - DAY_MS, None, hfc.history_entry),
    )
    return Response(body, media_type=JSON, headers=headers)


@_routes(
    ["/Shared/Ajax/GetAlarmsHistory.aspx", "//Shared/Ajax/GetAlarmsHistory.aspx"],
    "Past alarms: mode 1 the last day, 2 week, 3 month; 0 from fromDate to toDate",
)
async def alarms_history(
    request: Request,
    mode: int = Query(1, ge=0, le=3),
    from_date: str | None = Query(
        None, alias="fromDate", max_length=10, description="dd.mm.yyyy, Israel's local date"
    ),
    to_date: str | None = Query(
        None, alias="toDate", max_length=10, description="dd.mm.yyyy, inclusive"
    ),
    lang: str = Query("he", max_length=5),
) -> Response:
    board = board_of(request)
    snapshot, now = await _snapshot(board)
    headers = snapshot.headers(now)
    if snapshot.not_modified(request, now):
        return Response(status_code=304, headers=headers)
    if mode == 0:  # any range: made for each request, not kept
        since_ms = _local_day_ms(from_date, "fromDate")
        until_ms = _local_day_ms(to_date, "toDate") + DAY_MS
        body = await run_in_threadpool(_history, board, since_ms, until_ms, hfc.alarm_entry, True)
        return Response(body, media_type=JSON, headers=headers)
    now_ms = board.service.event_time_ms(int(now * 1000))
    body = await _built(
        snapshot,
        ("hfc.alarms", mode),
        now_ms // 60_000,
        lambda: _history(board, now_ms - MODES_DAYS[mode] * DAY_MS, None, hfc.alarm_entry, True),
    )
    return Response(body, media_type=JSON, headers=headers)


@_routes(
    ["/Shared/Ajax/GetDistricts.aspx"],
    "Every alert area: its label, number, area and time to shelter",
)
async def get_districts(request: Request, lang: str = Query("he", max_length=5)) -> Response:
    zones = state.view(request.app).zones
    cache: dict[Any, Any] = request.app.state.cache
    lang = lang if lang in hfc.LANGUAGES else "he"
    key = ("compat.hfc.districts", lang)
    if key not in cache:
        cache[key] = await run_in_threadpool(lambda: _json(hfc.districts(zones, lang)))
    return Response(cache[key], media_type=JSON)


@_routes(
    ["/Shared/Ajax/GetAlarmInstructions.aspx"],
    "Per-area instructions: none (airwarn's are in each alert's desc)",
)
async def get_instructions() -> Response:
    return Response(_json({"notes": []}), media_type=JSON)


@_routes(["/alerts/alertsTranslation.json"], "The alert categories' titles and instructions")
async def get_translations() -> Response:
    return Response(_json(hfc.translations()), media_type=JSON)


@_routes(["/static/cities.json"], "Tzeva Adom's city list: every zone with its countdown")
async def get_cities(request: Request) -> Response:
    zones = state.view(request.app).zones
    cache: dict[Any, Any] = request.app.state.cache
    if "compat.hfc.cities" not in cache:
        cache["compat.hfc.cities"] = await run_in_threadpool(lambda: _json(hfc.cities(zones)))
    return Response(cache["compat.hfc.cities"], media_type=JSON)


async def _snapshot(board: AlertBoard) -> tuple[Snapshot, float]:
    snapshot = await run_in_threadpool(board.snapshot)
    return snapshot, board.clock()


async def _built(snapshot: Snapshot, key: Any, version: Any, build: Callable[[], bytes]) -> bytes:
    """`Snapshot.once`, with the store read off the event loop."""
    body: bytes = await run_in_threadpool(snapshot.once, key, build, version)
    return body


def _history(
    board: AlertBoard,
    since_ms: int,
    until_ms: int | None,
    entry: Callable[[Any, hfc.Places], dict[str, Any]],
    alarms_only: bool = False,
) -> bytes:
    rows = board.rows(since_ms=since_ms, until_ms=until_ms, limit=HISTORY_LIMIT)
    if alarms_only:
        rows = [row for row in rows if row.level != "clear"]
    places = hfc.places_of(board.service.zones)
    return _json([entry(row, places) for row in rows])


def _local_day_ms(text: str | None, field: str) -> int:
    """The start of an Israeli local day given as dd.mm.yyyy, in ms since the epoch."""
    if text is None:
        raise RequestError(
            "mode 0 needs fromDate and toDate, e.g. fromDate=01.03.2026", field=field
        )
    try:
        day = datetime.strptime(text, "%d.%m.%Y").replace(tzinfo=hfc.ISRAEL)
    except ValueError:
        raise RequestError(
            "a date is dd.mm.yyyy, e.g. 01.03.2026", field=field, value=text
        ) from None
    return int(day.timestamp() * 1000)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
