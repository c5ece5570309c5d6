"""airwarn's state in alerts.in.ua's shapes: its alert records and its status letters.

Zones are hromadas (the finest unit Ukraine's layers have); alerts.in.ua reports an alert at the
coarsest unit it covers whole. So do these feeds: when every zone of an oblast is under the same
alert, one oblast record; else one per raion covered whole; else one per zone. A record made
from several zones is marked `calculated`. An `alert` is a red alert, a `pre_alert`
a yellow one. airwarn's kinds of threat are all air raids; an operator's alert whose category
is one of alerts.in.ua's other types (`artillery_shelling`, `urban_fights`, `chemical`,
`nuclear`) keeps that type. Pure functions: the HTTP side is
`airwarn.web.compat.alertsinua.routes`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from airwarn.contract import format_time
from airwarn.engine.zones import ZoneSet
from airwarn.web.compat.alertsinua.places import (
    LOCATION_TO_UID,
    OBLAST_ORDER,
    UID_TO_LOCATION,
    Place,
    is_city,
    place_of,
)
from airwarn.web.compat.board import Row, ZoneAlert

ALERT_TYPES = ("air_raid", "artillery_shelling", "urban_fights", "chemical", "nuclear")
LEVELS = {"alert": "red", "pre_alert": "yellow"}
DISCLAIMER = (
    "Served by airwarn, a localized early-warning system, in the shape of the "
    "alerts.in.ua API; it is not alerts.in.ua. Follow the official alerts."
)
UID_STRING_LENGTH = max(UID_TO_LOCATION) + 1


@dataclass(frozen=True)
class UaZones:
    """A zone set as alerts.in.ua's places: each zone's place, and the zones of each unit."""

    places: dict[str, Place]
    oblasts: dict[str, list[str]]  # oblast title -> zone ids
    raions: dict[tuple[str, str], list[str]]  # (oblast, raion) -> zone ids
    by_uid: dict[int, list[str]]  # a published number -> the zones it covers


@functools.lru_cache(maxsize=4)
def ua_zones(zones: ZoneSet) -> UaZones:
    places = {z.id: place_of(z.id, z.name, z.region, z.properties) for z in zones.zones}
    oblasts: dict[str, list[str]] = {}
    raions: dict[tuple[str, str], list[str]] = {}
    by_uid: dict[int, list[str]] = {}
    for zone_id, place in places.items():
        if place.oblast is not None:
            oblasts.setdefault(place.oblast, []).append(zone_id)
            if place.raion is not None:
                raions.setdefault((place.oblast, place.raion), []).append(zone_id)
        for uid in (place.oblast_uid, place.raion_uid):
            if uid is not None:
                by_uid.setdefault(uid, []).append(zone_id)
        if (
            place.uid is not None
            and place.uid.isdigit()
            and int(place.uid) not in (place.oblast_uid, place.raion_uid)
        ):
            by_uid.setdefault(int(place.uid), []).append(zone_id)
    return UaZones(places, oblasts, raions, by_uid)


def alert_type(kind: str | None) -> str:
    return kind if kind in ALERT_TYPES else "air_raid"


def active_records(alerts: Mapping[str, ZoneAlert], ua: UaZones) -> list[dict[str, Any]]:
    """The alerts in force, each at the coarsest unit it covers whole."""
    by_key: dict[tuple[str, str], set[str]] = {}
    for alert in alerts.values():
        by_key.setdefault((alert_type(alert.kind), alert.level), set()).add(alert.zone)
    records = []
    for (kind, level), zone_ids in sorted(by_key.items()):
        left = set(zone_ids)
        for oblast, members in ua.oblasts.items():
            if left.issuperset(members):
                records.append(
                    _record(
                        [alerts[z] for z in members],
                        kind,
                        level,
                        _oblast_place(oblast, ua.places[members[0]]),
                    )
                )
                left.difference_update(members)
        for (_oblast, _raion), members in ua.raions.items():
            if len(members) > 1 and left.issuperset(members):
                records.append(
                    _record(
                        [alerts[z] for z in members],
                        kind,
                        level,
                        _raion_place(ua.places[members[0]]),
                    )
                )
                left.difference_update(members)
        for zone_id in sorted(left):
            records.append(_record([alerts[zone_id]], kind, level, ua.places[zone_id]))
    return sorted(records, key=lambda r: (r["started_at"], r["location_title"]))


def _record(
    members: list[ZoneAlert], kind: str, level: str, place: Place, finished_ms: int | None = None
) -> dict[str, Any]:
    kinds = sorted({a.kind or "unknown" for a in members})
    return {
        "id": max(a.first_seq for a in members),
        "location_title": place.title,
        "location_title_en": place.title_en,
        "location_type": place.kind,
        "started_at": format_time(max(a.started_ms for a in members)),
        "finished_at": None if finished_ms is None else format_time(finished_ms),
        "updated_at": format_time(max(a.updated_ms for a in members)),
        "alert_type": kind,
        "location_uid": place.uid,
        "location_oblast": place.oblast,
        "location_oblast_uid": place.oblast_uid,
        "location_raion": place.raion,
        "notes": "airwarn: " + ", ".join(kinds),
        "country": None,
        "calculated": len(members) > 1,
        "alert_level": LEVELS.get(level, "red"),
    }


def _oblast_place(oblast: str, member: Place) -> Place:
    uid = LOCATION_TO_UID.get(oblast)
    return Place(
        oblast,
        member.oblast_en,
        "city" if is_city(oblast) else "oblast",
        None if uid is None else str(uid),
        oblast,
        uid,
        None,
        None,
        member.oblast_en,
    )


def _raion_place(member: Place) -> Place:
    assert member.raion is not None
    uid = member.raion_uid
    return Place(
        member.raion,
        member.raion_en,
        "raion",
        None if uid is None else str(uid),
        member.oblast,
        member.oblast_uid,
        member.raion,
        uid,
        member.oblast_en,
        member.raion_en,
    )


def letter(zone_ids: Iterable[str], alerts: Mapping[str, ZoneAlert], levels: bool) -> str:
    """One place's air-raid status: A (v2: R red, Y yellow) when every zone of it is under an
    air-raid alert, P when some are, N when none; a space when airwarn has no zone there."""
    zone_ids = list(zone_ids)
    if not zone_ids:
        return " "
    on = [alerts[z] for z in zone_ids if z in alerts and alert_type(alerts[z].kind) == "air_raid"]
    if not on:
        return "N"
    if len(on) < len(zone_ids):
        return "P"
    if not levels:
        return "A"
    return "R" if all(a.level == "alert" for a in on) else "Y"


def oblast_letters(alerts: Mapping[str, ZoneAlert], ua: UaZones, levels: bool) -> str:
    """The 27 letters in alerts.in.ua's oblast order; N where airwarn has no zones (the
    string has no letter for "unknown", and its clients read a space as N anyway)."""
    return "".join(
        letter(ua.oblasts.get(oblast, []), alerts, levels).replace(" ", "N")
        for oblast in OBLAST_ORDER
    )


def uid_letters(alerts: Mapping[str, ZoneAlert], ua: UaZones, levels: bool) -> str:
    """One letter per published number (the string's index is the number): a space for
    numbers no place has, or where airwarn has no zones."""
    out = [" "] * UID_STRING_LENGTH
    for uid in UID_TO_LOCATION:
        out[uid] = letter(ua.by_uid.get(uid, []), alerts, levels)
    return "".join(out)


def history_records(
    rows: list[Row],
    ua: UaZones,
    alerts: Mapping[str, ZoneAlert],
    zone_ids: list[str],
    since_ms: int,
    raised_before: Any,
) -> list[dict[str, Any]]:
    """Per zone, each alert that was on at some time since `since_ms`: when it began (even
    before that), when it ended (or not yet), at which type and level it was last.

    `rows` are the zones' decisions since then, newest first; `raised_before(zone, seq)` finds
    the decision that began an alert already on before `seq`."""
    by_zone: dict[str, list[Row]] = {}
    for row in reversed(rows):
        by_zone.setdefault(row.zone, []).append(row)
    records = []
    for zone_id in zone_ids:
        place = ua.places[zone_id]
        zone_rows = by_zone.get(zone_id, [])
        if not zone_rows:
            if zone_id in alerts:  # on for the whole period, unchanged
                alert = alerts[zone_id]
                records.append(_record([alert], alert_type(alert.kind), alert.level, place))
            continue
        start: Row | None = raised_before(zone_id, zone_rows[0].seq)
        last = start
        for row in zone_rows:
            if row.level == "clear":
                if start is not None and last is not None:
                    records.append(_interval(start, last, row.t_ms, place))
                start = last = None
            else:
                start = start or row
                last = row
        if start is not None and last is not None:
            records.append(_interval(start, last, None, place))
    return sorted(records, key=lambda r: (r["started_at"], r["location_title"]), reverse=True)


def _interval(start: Row, last: Row, finished_ms: int | None, place: Place) -> dict[str, Any]:
    alert = ZoneAlert(start.zone, last.level, last.kind, start.t_ms, last.t_ms, start.seq)
    return _record([alert], alert_type(last.kind), last.level, place, finished_ms)


def document(records: list[dict[str, Any]], updated_ms: int) -> dict[str, Any]:
    """The envelope every alert list comes in; `last_updated_at` in the client's format."""
    updated = datetime.fromtimestamp(updated_ms / 1000, tz=UTC)
    return {
        "alerts": records,
        "meta": {"last_updated_at": updated.strftime("%Y/%m/%d %H:%M:%S +0000"), "type": "full"},
        "disclaimer": DISCLAIMER,
    }
