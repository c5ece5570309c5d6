"""The Home Front Command's (Pikud HaOref's) alert vocabulary, and airwarn's state in its shapes.

What the HFC's site and the apps built on it read: the live alert object (`{id, cat, title, data,
desc}`), two history lists, the list of alert areas (districts) and the category translations;
and Tzeva Adom's list of cities, which some clients load first. Pure functions: the HTTP side
is `airwarn.web.compat.homefront.routes`.

Categories. The live feed and the history lists number them differently (the same alert is
`cat` 1 live and `category` 1 in the history; a hostile aircraft is `cat` 6 live, `category` 2
in the history: the history's `matrix_id` is the live number, see the HFC history in
`../shared/data/israel/alerts`). airwarn's kinds map as the HFC alerts them: rockets and
ballistic missiles are "rocket and missile fire"; drones, cruise missiles and aircraft are
"hostile aircraft intrusion"; a pre-alert is "alerts are expected in your area in the coming
minutes" (`cat` 10); a zone's all-clear is "the event has ended" (history only). A kind airwarn
cannot place (an operator's alert with a free-text category, `unknown`) is sent as rocket and
missile fire: the category every client treats as "take shelter now".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from airwarn.engine.zones import Zone, ZoneSet
from airwarn.web.compat.board import Row, ZoneAlert

ISRAEL = ZoneInfo("Asia/Jerusalem")  # the HFC's times are local, without an offset
_FILETIME_EPOCH_MS = 11_644_473_600_000  # 1601-01-01 to 1970-01-01: the live ids' clock


@dataclass(frozen=True)
class Category:
    """One HFC alert category: its numbers live and in the history, and its words."""

    cat: int  # the live feed's `cat` (and the history's `matrix_id`)
    history: int  # the history lists' `category`
    title: str
    desc: str  # `{minutes}` is the time to stay in the shelter
    title_en: str
    desc_en: str
    urgency: int  # which the live feed shows first when several are on at once


_STAY = "היכנסו למרחב המוגן ושהו בו {minutes} דקות"
_STAY_EN = "Enter the protected space and stay in it for {minutes} minutes"
MISSILES = Category(1, 1, "ירי רקטות וטילים", _STAY, "Rocket and missile fire", _STAY_EN, 0)
AIRCRAFT = Category(6, 2, "חדירת כלי טיס עוין", _STAY, "Hostile aircraft intrusion", _STAY_EN, 1)
PRE_ALERT = Category(
    10,
    14,
    "בדקות הקרובות צפויות להתקבל התרעות באזורך",
    "עליך לשפר את מיקומך למיגון המיטבי בקרבתך. במקרה של קבלת התרעה, יש להיכנס למרחב המוגן "
    "ולשהות בו {minutes} דקות.",
    "Alerts are expected in your area in the coming minutes",
    "Improve your position to the best protection near you. If an alert comes, enter the "
    "protected space and stay in it for {minutes} minutes.",
    2,
)
ENDED = Category(
    10,
    13,
    "האירוע הסתיים",
    "השוהים במרחב המוגן יכולים לצאת.",
    "The event has ended",
    "Those in the protected space may leave.",
    3,
)
CATEGORIES = (MISSILES, AIRCRAFT, PRE_ALERT, ENDED)
_BY_KIND = {
    "rocket": MISSILES,
    "ballistic": MISSILES,
    "drone": AIRCRAFT,
    "cruise": AIRCRAFT,
    "aircraft": AIRCRAFT,
}
LANGUAGES = ("he", "en", "ru", "ar")
# the countdowns Tzeva Adom's city list may carry (its clients know no others)
COUNTDOWNS_S = (0, 15, 30, 45, 60, 90, 180)


def category_of(level: str, kind: str | None) -> Category:
    if level == "clear":
        return ENDED
    if level == "pre_alert":
        return PRE_ALERT
    return _BY_KIND.get(kind or "", MISSILES)


def stay_minutes(hold_s: int) -> int:
    """The HFC's "stay in the shelter N minutes" is airwarn's hold after a threat ends."""
    return max(1, math.ceil(hold_s / 60))


@dataclass(frozen=True)
class Places:
    """A zone set as the HFC names it: per zone its Hebrew name, a number and its area."""

    names: dict[str, str]  # zone id -> name in the feeds (Hebrew when the zone has one)
    numbers: dict[str, int]  # zone id -> the number clients key cities by
    areas: dict[str, int]  # zone id -> area number
    area_names: dict[int, dict[str, str]]  # area number -> its name per language


@functools.lru_cache(maxsize=4)
def places_of(zones: ZoneSet) -> Places:
    """The HFC's names: `area_he` (the Israeli importer keeps it) or the zone's name or id;
    numbers from the HFC's own (`pikud_haoref_api_id`), else the zone ids when all are
    numeric, else their order; areas from `zone_he`/`zone_en`, else the zone's region."""
    names = {z.id: _text(z.properties.get("area_he")) or z.name or z.id for z in zones.zones}
    numbers = _numbers(zones.zones)
    area_keys: dict[tuple[str, str], int] = {}
    areas: dict[str, int] = {}
    area_names: dict[int, dict[str, str]] = {}
    for zone in zones.zones:
        he = _text(zone.properties.get("zone_he")) or zone.region or ""
        en = _text(zone.properties.get("zone_en")) or zone.region or he
        number = area_keys.setdefault((he, en), len(area_keys) + 1)
        areas[zone.id] = number
        area_names[number] = {"he": he, "en": en, "ru": en, "ar": en, "es": en}
    return Places(names, numbers, areas, area_names)


def _numbers(zones: Iterable[Zone]) -> dict[str, int]:
    zones = list(zones)
    given = [z.properties.get("pikud_haoref_api_id") for z in zones]
    if all(isinstance(n, int) and not isinstance(n, bool) for n in given) and len(
        set(given)
    ) == len(given):
        return {z.id: int(n) for z, n in zip(zones, given, strict=True)}  # type: ignore[arg-type]
    if all(z.id.isdigit() for z in zones):
        return {z.id: int(z.id) for z in zones}
    return {z.id: i + 1 for i, z in enumerate(zones)}


def live_groups(alerts: Mapping[str, ZoneAlert]) -> list[tuple[Category, list[ZoneAlert]]]:
    """The zones not clear, one group per category, most urgent first."""
    groups: dict[Category, list[ZoneAlert]] = {}
    for alert in alerts.values():
        groups.setdefault(category_of(alert.level, alert.kind), []).append(alert)
    return sorted(groups.items(), key=lambda item: item[0].urgency)


def live_alert(
    category: Category, members: list[ZoneAlert], places: Places, hold_s: int
) -> dict[str, Any]:
    """The live feed's object for one category. Its id is the HFC's kind of number (the time of
    its newest change, in 100 ns ticks since 1601) plus the category, so it changes whenever a
    zone joins the group: clients that act once per id act again for the new zones."""
    newest_ms = max(a.updated_ms for a in members)
    ordered = sorted(members, key=lambda a: (a.started_ms, places.names[a.zone]))
    return {
        "id": str((newest_ms + _FILETIME_EPOCH_MS) * 10_000 + category.cat),
        "cat": str(category.cat),
        "title": category.title,
        "data": [places.names[a.zone] for a in ordered],
        "desc": category.desc.format(minutes=stay_minutes(hold_s)),
    }


def history_entry(row: Row, places: Places) -> dict[str, Any]:
    """One entry of `AlertsHistory.json`: local time, title, one area, history category."""
    category = category_of(row.level, row.kind)
    return {
        "alertDate": _local(row.t_ms).strftime("%Y-%m-%d %H:%M:%S"),
        "title": category.title,
        "data": places.names[row.zone],
        "category": category.history,
    }


def alarm_entry(row: Row, places: Places) -> dict[str, Any]:
    """One entry of `GetAlarmsHistory.aspx`, with `datetime` too (older clients read it)."""
    category = category_of(row.level, row.kind)
    local = _local(row.t_ms)
    stamp = local.strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "data": places.names[row.zone],
        "date": local.strftime("%d.%m.%Y"),
        "time": local.strftime("%H:%M:%S"),
        "alertDate": stamp,
        "datetime": stamp,
        "category": category.history,
        "category_desc": category.title,
        "matrix_id": category.cat,
        "rid": row.seq,
    }


def districts(zones: ZoneSet, lang: str) -> list[dict[str, Any]]:
    """`GetDistricts.aspx`: every alert area with its label, area and time to shelter."""
    places = places_of(zones)
    suffix = lang if lang in LANGUAGES else "he"
    out = []
    for zone in zones.zones:
        he = places.names[zone.id]
        label = (
            he
            if suffix == "he"
            else (_text(zone.properties.get(f"area_{suffix}")) or zone.name or he)
        )
        area = places.areas[zone.id]
        out.append(
            {
                "label": label,
                "label_he": he,
                "value": zone.id,
                "id": str(places.numbers[zone.id]),
                "areaid": area,
                "areaname": places.area_names[area][suffix],
                "migun_time": zone.shelter_s,
            }
        )
    return out


def translations() -> list[dict[str, Any]]:
    """`alertsTranslation.json` for the categories airwarn sends (Hebrew and English; the
    Russian and Arabic fields carry the English until someone who writes them adds them)."""
    minutes = "10"
    return [
        {
            "heb": c.desc.format(minutes=minutes),
            "eng": c.desc_en.format(minutes=minutes),
            "rus": c.desc_en.format(minutes=minutes),
            "arb": c.desc_en.format(minutes=minutes),
            "catId": c.history,
            "matrixCatId": c.cat,
            "hebTitle": c.title,
            "engTitle": c.title_en,
            "rusTitle": None,
            "arbTitle": None,
            "updateType": "0",
        }
        for c in CATEGORIES
    ]


def cities(zones: ZoneSet) -> dict[str, Any]:
    """Tzeva Adom's `cities.json`: per area name its number, names, area, countdown and
    place. The key order of each city is what clients unpack by position."""
    places = places_of(zones)
    out: dict[str, Any] = {}
    for zone in zones.zones:
        he = places.names[zone.id]
        en = _text(zone.properties.get("area_en")) or zone.name or he
        lat, lon = _point(zone)
        out[he] = {
            "id": places.numbers[zone.id],
            "he": he,
            "en": en,
            "ru": _text(zone.properties.get("area_ru")) or en,
            "ar": _text(zone.properties.get("area_ar")) or en,
            "es": en,
            "area": places.areas[zone.id],
            "countdown": max(s for s in COUNTDOWNS_S if s <= zone.shelter_s),
            "lat": lat,
            "lng": lon,
        }
    return {
        "cities": out,
        "areas": {str(n): names for n, names in sorted(places.area_names.items())},
    }


def _point(zone: Zone) -> tuple[float, float]:
    lat, lon = zone.properties.get("lat"), zone.properties.get("lon")
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        return float(lat), float(lon)
    point = zone.geometry.representative_point()
    return round(point.y, 6), round(point.x, 6)


def _local(t_ms: int) -> datetime:
    return datetime.fromtimestamp(t_ms / 1000, tz=UTC).astimezone(ISRAEL)


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
