"""The Home Front Command's live feed (`/WarningMessages/alert/alerts.json`) → wants per zone.

The feed, as www.oref.org.il serves it (and airwarn's own compatibility feed, docs/compat.md):
an empty body (no alert; sometimes only a byte-order mark or whitespace), or one object

    {"id": "133872012345670001", "cat": "1", "title": "ירי רקטות וטילים",
     "data": ["אבו גוש", "שדרות, איבים"], "desc": "היכנסו למרחב המוגן ..."}

naming the areas under the alert of one category. When several categories are on at once
(rockets here, a hostile aircraft there), successive answers show them in turn. So each
category's areas are those of its latest answer; a category not shown for `ROTATION` answers in
a row is over, and an empty body ends them all. `cat` 10 is news: "alerts are expected in the
coming minutes" (a pre-alert), or "the event has ended" (a title with הסתיים), which clears
the areas it names at once.

An area that leaves the feed any other way stays alerted for the spec's `hold_s` (600 s by
default for the real feed, whose alerts show for a minute or two while people stay in the
shelter for ten; 0 for another airwarn's feed, which keeps a zone in it through its own hold).

`id` is a Windows FILETIME (100 ns since 1601) plus the category, for the HFC and airwarn
alike: it gives the alert's official time when it is a plausible one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

from airwarn.engine.zones import ZoneSet
from airwarn.follow.feed import Observation, every
from airwarn.follow.fetch import Failed, Validators, fetch
from airwarn.follow.israel import IsraelNames
from airwarn.follow.spec import FollowSpec
from airwarn.follow.wants import Want, merge

PATH = "/WarningMessages/alert/alerts.json"
ROTATION = 3  # answers in a row a category may be missing from before it counts as over
# (airwarn shows at most three in turn: rockets, aircraft, pre-alerts; each comes back within
# two answers while it is on)
MAX_AREAS = 5000
NEWS = 10  # the category of pre-alerts and of "the event has ended"
ENDED_WORDS = ("הסתיים", "ended", "закончилось", "انتهى")
# the live feed's categories, by the words clients and the HFC's own translations use
CATEGORIES = {
    1: "missiles",
    2: "general",
    3: "earthQuake",
    4: "radiologicalEvent",
    5: "tsunami",
    6: "hostileAircraftIntrusion",
    7: "hazardousMaterials",
    10: "newsFlash",
    13: "terroristInfiltration",
}
_FILETIME_EPOCH_MS = 11_644_473_600_000


@dataclass(frozen=True)
class LiveAlert:
    """One answer of the live feed."""

    alert_id: str | None
    cat: int
    title: str
    areas: tuple[str, ...]

    @property
    def ended(self) -> bool:
        return self.cat == NEWS and any(word in self.title for word in ENDED_WORDS)

    @property
    def level(self) -> int:
        return 1 if self.cat == NEWS else 2

    def since_ms(self, now_ms: int) -> int | None:
        """The official time in the id, if it is within a day of now."""
        if not self.alert_id or not self.alert_id.isdigit():
            return None
        t_ms = (int(self.alert_id) - self.cat) // 10_000 - _FILETIME_EPOCH_MS
        return t_ms if abs(t_ms - now_ms) <= 86_400_000 else None


def parse_live(body: bytes) -> LiveAlert | None:
    """One answer of the live feed: None for no alert, or Failed naming what is not as the
    HFC sends it."""
    text = _text(body).strip()
    if not text:
        return None
    try:
        document = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise Failed(
            f"Home Front Command: the live feed is not JSON ({exc}); the format "
            "changed, or the URL is not the HFC's (a web page?)"
        ) from None
    if not isinstance(document, dict):
        raise Failed(
            f"Home Front Command: the live feed is {type(document).__name__}, not one alert object"
        )
    data = document.get("data")
    if not isinstance(data, list) or not all(isinstance(a, str) for a in data):
        raise Failed(
            "Home Front Command: the live alert has no `data` list of area names; "
            "the format changed"
        )
    if len(data) > MAX_AREAS:
        raise Failed(
            f"Home Front Command: {len(data)} areas in one alert, more than {MAX_AREAS}; refused"
        )
    try:
        cat = int(str(document.get("cat", "1")).strip() or "1")
    except ValueError:
        raise Failed(
            f"Home Front Command: `cat` is {document.get('cat')!r}, not a number"
        ) from None
    alert_id = document.get("id")
    return LiveAlert(
        None if alert_id is None else str(alert_id).strip(),
        cat,
        str(document.get("title") or ""),
        tuple(a.strip() for a in data),
    )


def _text(body: bytes) -> str:
    """The body as text: UTF-8 with or without a byte-order mark, or UTF-16 with one (the
    HFC's servers have sent both)."""
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body.decode("utf-16")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Failed("Home Front Command: the live feed is neither UTF-8 nor UTF-16") from None


@dataclass
class _Shown:
    """A category's latest answer, and how many answers since then showed another."""

    alert: LiveAlert
    zones: dict[str, Want]
    missed: int = 0


@dataclass
class LiveState:
    """What the live feed holds, folded from its answers (see the module's docstring)."""

    hold_s: float
    shown: dict[int, _Shown] = field(default_factory=dict)
    holding: dict[str, tuple[Want, float]] = field(default_factory=dict)  # zone -> want, until
    unknown: set[str] = field(default_factory=set)

    def take(self, alert: LiveAlert | None, names: IsraelNames, now_s: float) -> None:
        before = self.wants(now_s)
        if alert is None:
            self.shown.clear()
        elif alert.ended:
            ended = {zone for area in alert.areas for zone in self._zones(area, names)}
            for shown in self.shown.values():
                for zone in ended:
                    shown.zones.pop(zone, None)
            for zone in ended:
                self.holding.pop(zone, None)
                before.pop(zone, None)  # an all-clear is not held
        else:
            for cat, shown in list(self.shown.items()):
                if cat != alert.cat:
                    shown.missed += 1
                    if shown.missed >= ROTATION:
                        del self.shown[cat]
            zones: dict[str, Want] = {}
            since = alert.since_ms(int(now_s * 1000))
            want = Want(
                alert.level, CATEGORIES.get(alert.cat, f"cat{alert.cat}"), alert.alert_id, since
            )
            for area in alert.areas:
                for zone in self._zones(area, names):
                    merge(zones, zone, want)
            self.shown[alert.cat] = _Shown(alert, zones)
        after = self._current()
        for zone, want in before.items():  # what left the feed is held a while
            if zone not in after and self.hold_s > 0 and zone not in self.holding:
                self.holding[zone] = (want, now_s + self.hold_s)

    def wants(self, now_s: float) -> dict[str, Want]:
        out = self._current()
        for zone, (want, until) in list(self.holding.items()):
            if until <= now_s or zone in out:
                del self.holding[zone]
            else:
                merge(out, zone, want)
        return out

    def _current(self) -> dict[str, Want]:
        out: dict[str, Want] = {}
        for shown in self.shown.values():
            for zone, want in shown.zones.items():
                merge(out, zone, want)
        return out

    def _zones(self, area: str, names: IsraelNames) -> tuple[str, ...]:
        zones = names.zones_of(area)
        if not zones and len(self.unknown) < 1000:
            self.unknown.add(area)
        return zones


class OrefFeed:
    """Polls the live feed at the spec's cadence (1-2 s is what the HFC's apps do)."""

    def __init__(self, spec: FollowSpec, zones: ZoneSet, clock: Any = time.time) -> None:
        self.spec = spec
        self.names = IsraelNames(zones)
        self.state = LiveState(spec.hold_s)
        self.validators = Validators()
        self.clock = clock
        self._last: LiveAlert | None = None

    async def watch(self, http: httpx.AsyncClient) -> AsyncIterator[Observation]:
        headers = {
            "Referer": "https://www.oref.org.il/",
            "X-Requested-With": "XMLHttpRequest",
            "Accept": "application/json",
        }
        while True:
            got = await fetch(
                http,
                self.spec.url + PATH,
                what="Home Front Command",
                validators=self.validators,
                headers=headers,
            )
            if got.body is not None:
                self._last = parse_live(got.body)
            # a 304 is the last answer again: it too shows only its category
            self.state.take(self._last, self.names, self.clock())
            yield Observation(self.state.wants(self.clock()), note=self._note())
            await every(self.spec.every_s)

    def _note(self) -> str | None:
        unknown = sorted(self.state.unknown)
        if not unknown:
            return None
        return (
            f"{len(unknown)} area names match no zone here: "
            + ", ".join(unknown[:5])
            + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        )
