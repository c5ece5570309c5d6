"""alerts.in.ua's API (`GET /v1/alerts/active.json`, with the user's token) → wants per zone.

The answer, as the API serves it (and airwarn's own compatibility feed, docs/compat.md):

    {"alerts": [{"id": 8757, "location_title": "Луганська область", "location_type": "oblast",
                 "started_at": "2022-04-04T16:45:39.000Z", "finished_at": null,
                 "updated_at": "...", "alert_type": "air_raid", "location_uid": "16",
                 "location_oblast": "Луганська область", "location_oblast_uid": 16,
                 "location_raion": null, "notes": null, "calculated": null,
                 "alert_level": "red"}, ...],
     "meta": {"last_updated_at": "2026/03/01 18:00:00 +0000", "type": "full"},
     "disclaimer": "..."}

Every record of the list is an alert in force for the place `location_uid` names (an oblast,
a raion, a city or a hromada); a record with `finished_at` set is over. `alert_level` red is an
alert, yellow a pre-alert (no level: red). `alert_type` (air_raid, artillery_shelling,
urban_fights, chemical, nuclear) is kept as the category, `id` as the alert's id, `started_at`
as its official time. A place that leaves the list is clear. Conditional requests
(`If-Modified-Since`, `If-None-Match`) are answered 304 while nothing changed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from airwarn.contract import parse_time
from airwarn.engine.zones import ZoneSet
from airwarn.errors import EventError
from airwarn.follow.feed import Observation, every
from airwarn.follow.fetch import Failed, Validators, fetch
from airwarn.follow.spec import FollowSpec
from airwarn.follow.ukraine import UkraineMap
from airwarn.follow.wants import Want, merge

PATH = "/v1/alerts/active.json"
MAX_RECORDS = 20_000  # alerts.in.ua lists a few hundred at the most


@dataclass(frozen=True)
class Record:
    """One alert in force, as the source describes it."""

    uid: int | None
    level: int  # 1 yellow (pre-alert), 2 red (alert)
    alert_type: str | None
    alert_id: str | None
    started_ms: int | None
    title: str | None


def parse_active(body: bytes) -> tuple[list[Record], int | None]:
    """The alerts in force and the list's own update time (ms), or Failed naming the field
    that is not what alerts.in.ua sends (the format changed, or this is not its API)."""
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise Failed(
            f"alerts.in.ua: the answer is not JSON ({exc}); the format changed, or "
            "the URL is not an alerts.in.ua-style API"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("alerts"), list):
        raise Failed(
            "alerts.in.ua: the answer has no `alerts` list (got "
            f"{_shape(document)}); the format changed, or the URL is not an "
            "alerts.in.ua-style API"
        )
    if len(document["alerts"]) > MAX_RECORDS:
        raise Failed(
            f"alerts.in.ua: {len(document['alerts'])} records, more than {MAX_RECORDS:,}; refused"
        )
    records = []
    for index, raw in enumerate(document["alerts"]):
        if not isinstance(raw, dict):
            raise Failed(f"alerts.in.ua: alerts[{index}] is {_shape(raw)}, not an object")
        if raw.get("finished_at"):
            continue
        uid = raw.get("location_uid")
        if isinstance(uid, str) and uid.strip().isdigit():
            uid = int(uid.strip())
        elif not isinstance(uid, int) or isinstance(uid, bool):
            if uid is not None:
                raise Failed(f"alerts.in.ua: alerts[{index}].location_uid is {uid!r}, not a number")
            uid = None
        level = raw.get("alert_level")
        if level not in (None, "red", "yellow"):
            raise Failed(
                f"alerts.in.ua: alerts[{index}].alert_level is {level!r}; expected red or yellow"
            )
        records.append(
            Record(
                uid=uid,
                level=1 if level == "yellow" else 2,
                alert_type=_str(raw.get("alert_type")),
                alert_id=None if raw.get("id") is None else str(raw.get("id")),
                started_ms=_time(raw.get("started_at"), f"alerts[{index}].started_at"),
                title=_str(raw.get("location_title")),
            )
        )
    return records, _meta_time(document.get("meta"))


def wants_of(records: list[Record], ua: UkraineMap) -> tuple[dict[str, Want], list[str]]:
    """Per zone, the strongest alert covering it; and the places no zone here lies in."""
    wants: dict[str, Want] = {}
    unknown: list[str] = []
    for record in records:
        zones = () if record.uid is None else ua.zones_of(record.uid)
        if not zones:
            unknown.append(f"{record.title or '?'} ({record.uid})")
            continue
        want = Want(record.level, record.alert_type, record.alert_id, record.started_ms)
        for zone in zones:
            merge(wants, zone, want)
    return wants, unknown


class AlertsInUaFeed:
    """Polls the active alerts at the spec's cadence, conditionally."""

    def __init__(self, spec: FollowSpec, zones: ZoneSet) -> None:
        self.spec = spec
        self.map = UkraineMap(zones)
        if not self.map.usable:
            raise Failed(
                "alerts.in.ua: no zone of this zone set carries a KATOTTG code or an "
                "`alerts_in_ua_uid`, so none of its places can be found here; serve "
                "a Ukrainian layer (--zones ukraine, ukraine-raions or "
                "ukraine-oblasts)"
            )
        self.validators = Validators()

    async def watch(self, http: httpx.AsyncClient) -> AsyncIterator[Observation]:
        headers = {"Authorization": f"Bearer {self.spec.token}", "Accept": "application/json"}
        while True:
            got = await fetch(
                http,
                self.spec.url + PATH,
                what="alerts.in.ua",
                validators=self.validators,
                headers=headers,
            )
            if got.body is None:
                yield Observation(None)
            else:
                records, updated_ms = parse_active(got.body)
                wants, unknown = wants_of(records, self.map)
                yield Observation(wants, clear_since_ms=updated_ms, note=_unknown_note(unknown))
            await every(self.spec.every_s)


def _unknown_note(unknown: list[str]) -> str | None:
    if not unknown:
        return None
    shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
    return f"{len(unknown)} places lie in no zone here: {shown}"


def _time(value: Any, where: str) -> int | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Failed(f"alerts.in.ua: {where} is {value!r}, not a time")
    try:
        return parse_time(value)
    except EventError:
        raise Failed(f"alerts.in.ua: {where} is {value!r}, not an RFC 3339 time") from None


def _meta_time(meta: Any) -> int | None:
    """`meta.last_updated_at` ("2026/03/01 18:00:00 +0000"), if present and readable."""
    from datetime import datetime

    text = meta.get("last_updated_at") if isinstance(meta, dict) else None
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.strptime(text, "%Y/%m/%d %H:%M:%S %z")
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _shape(value: Any) -> str:
    return (
        type(value).__name__
        if not isinstance(value, dict)
        else "an object with " + ", ".join(sorted(map(str, value))[:6])
    )
