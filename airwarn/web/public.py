"""Public, read-only views: active alerts, history, zones and their levels, a zone for a point.

No token is needed for any of these: they are what every app, siren and person may read.
"""

from __future__ import annotations

import difflib
import json
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from airwarn.answers import ActiveAlert, DrillView, GeoJSON, HistoryPage, ZoneView
from airwarn.contract import KINDS, parse_time
from airwarn.engine.zones import ZoneSet, zones_to_geojson
from airwarn.errors import EventError, NotFoundError, RequestError
from airwarn.web import state
from airwarn.web.errors import ERRORS, MAX_SEQ

router = APIRouter(tags=["public"], responses=ERRORS)
MANUAL_KIND = "manual"  # the kind of an operator's action that names no category


def _zone_summary(
    zones: ZoneSet,
    index: int,
    levels: dict[str, str],
    drills: dict[str, tuple[str, str, str]],
    relayed: dict[str, dict[str, str]] | None = None,
) -> ZoneView:
    zone = zones.zones[index]
    drill = drills.get(zone.id)
    out = ZoneView(
        id=zone.id,
        name=zone.name,
        region=zone.region,
        shelter_s=zone.shelter_s,
        level=levels.get(zone.id, "clear"),
        drill=None if drill is None else DrillView(status=drill[0], kind=drill[1], level=drill[2]),
    )
    if relayed and zone.id in relayed:  # what relayed feeds hold here, beside its own level
        out.relayed = relayed[zone.id]
    return out


@router.get(
    "/v1/alerts/active",
    summary="The warnings in force, per CAP message",
    response_model_exclude_unset=True,
)
async def active(request: Request) -> list[ActiveAlert]:
    return await run_in_threadpool(state.view(request.app).active)


@router.get(
    "/v1/zones",
    summary="Every zone with its current level; header X-Last-Seq is "
    "the newest decision they include (start the live feed from it)",
    response_model_exclude_unset=True,
)
async def zones(request: Request, response: Response) -> list[ZoneView]:
    view = state.view(request.app)
    now = view.zone_levels()
    response.headers["X-Last-Seq"] = str(now.seq)  # read first: never ahead
    return [
        _zone_summary(view.zones, i, now.levels, now.drills, now.relayed)
        for i in range(len(view.zones))
    ]


@router.get(
    "/v1/zones.geojson",
    summary="The zone set as GeoJSON (Contract v1)",
    response_model=None,
    responses={200: {"model": GeoJSON}},
)
async def zones_geojson(request: Request) -> dict[str, Any]:
    cached = request.app.state.cache.get("zones.geojson")
    if cached is None:
        zone_set = state.view(request.app).zones
        cached = zones_to_geojson(zone_set.zones, zone_set.attribution)
        request.app.state.cache["zones.geojson"] = cached
    return dict(cached)


@router.get(
    "/v1/outline.geojson",
    summary="The outline of the whole zone set (the map's base)",
    response_model=None,
    responses={200: {"model": GeoJSON}},
)
async def outline(request: Request) -> dict[str, Any]:
    # made once, in the background from the start (see app.py): a union of every zone
    return dict(await request.app.state.outline)


def outline_of(zones: ZoneSet) -> dict[str, Any]:
    """The union of all zones, simplified to ~200 m: the map's base, with no tiles."""
    import shapely
    from shapely.geometry import mapping

    union = shapely.union_all([z.geometry for z in zones.zones])
    shape = union.simplify(0.002, preserve_topology=True)
    return {"type": "Feature", "properties": {"zones": len(zones)}, "geometry": mapping(shape)}


@router.get(
    "/v1/zones/at", summary="The zone at a point, with its level", response_model_exclude_unset=True
)
async def zone_at(
    request: Request, lat: float = Query(ge=-90, le=90), lon: float = Query(ge=-180, le=180)
) -> ZoneView:
    view = state.view(request.app)
    index = view.zones.zone_at(lon, lat)
    if index is None:
        raise NotFoundError(f"no zone covers lat {lat}, lon {lon}")
    now = view.zone_levels()
    return _zone_summary(view.zones, index, now.levels, now.drills, now.relayed)


@router.get(
    "/v1/zones/{zone_id}", summary="One zone with its level", response_model_exclude_unset=True
)
async def zone(zone_id: str, request: Request) -> ZoneView:
    view = state.view(request.app)
    index = view.zones.index_of.get(zone_id)
    if index is None:
        raise NotFoundError(f"no zone with id {zone_id!r}")
    now = view.zone_levels()
    return _zone_summary(view.zones, index, now.levels, now.drills, now.relayed)


@router.get(
    "/v1/history",
    summary="Past decisions, newest first, filtered",
    response_model_exclude_unset=True,
)
async def history(
    request: Request,
    zone: str | None = Query(None, max_length=200),
    region: str | None = Query(None, max_length=200),
    since: str | None = Query(None, max_length=40, description="RFC 3339, inclusive"),
    until: str | None = Query(None, max_length=40, description="RFC 3339, exclusive"),
    kind: str | None = Query(
        None,
        max_length=64,
        description="a threat kind (" + ", ".join(KINDS) + "); `manual` for an operator's "
        "action without a category; or an operator's or a relayed feed's own category, "
        "as written (e.g. missiles)",
    ),
    level: Literal["clear", "pre_alert", "alert"] | None = None,
    status: Literal["actual", "exercise", "test"] | None = None,
    before_seq: int | None = Query(
        None, ge=1, le=MAX_SEQ, description="page: decisions before this seq"
    ),
    limit: int = Query(200, ge=1, le=5000),
) -> HistoryPage:
    zone_set = state.view(request.app).zones
    names: list[str] | None = None
    if zone is not None:
        if zone not in zone_set.index_of:
            raise RequestError("no zone with that id", field="zone", value=zone)
        names = [zone]
    if region is not None:
        if region not in zone_set.regions:
            raise RequestError(zone_set.unknown_region(region), field="region", value=region)
        in_region = [zone_set.ids[i] for i in zone_set.regions[region]]
        names = in_region if names is None else [z for z in names if z in set(in_region)]
    bounds: dict[str, int | None] = {}
    for name, value in (("since", since), ("until", until)):
        try:
            bounds[name] = None if value is None else parse_time(value)
        except EventError as error:
            raise RequestError(
                f"{error.message} (e.g. 2026-03-01T18:00:00Z)", field=name, value=value
            ) from None
    rows = await run_in_threadpool(
        state.decision_log(request.app).history,
        zones=names,
        since_ms=bounds["since"],
        until_ms=bounds["until"],
        kind=kind,
        level=level,
        status=status,
        before_seq=before_seq,
        limit=limit,
    )
    decisions = [json.loads(row) for row in rows]
    page = HistoryPage(
        decisions=decisions,
        next_before_seq=decisions[-1]["seq"] if len(decisions) == limit else None,
    )
    hint = kind_hint(kind) if kind is not None and not decisions else None
    if hint is not None:
        page.hint = hint
    return page


def kind_hint(kind: str) -> str | None:
    """For a `kind` that matched nothing: the threat kind it is close to, if any. Only a hint:
    an operator or a relayed feed may name its own category anything (`rockets` too)."""
    if kind in KINDS or kind == MANUAL_KIND:
        return None
    close = difflib.get_close_matches(kind.lower(), KINDS, n=1, cutoff=0.75)
    if not close:
        return None
    return (
        f"nothing matched, and {kind!r} is not a threat kind: did you mean {close[0]!r}? "
        f"The threat kinds are {', '.join(KINDS)}; an operator's or a relayed feed's own "
        "category is matched as written"
    )
