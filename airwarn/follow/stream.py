"""Another airwarn's warnings, from its live stream (Server-Sent Events, `/v1/stream`).

On (re)connecting: the other server's zones and their levels (`GET /v1/zones`, whose header
`X-Last-Seq` is the newest decision they include), then its live stream from that decision on
(`GET /v1/stream?since=SEQ`): every `decision` changes one zone, every `heartbeat` (every few
seconds) says the server is alive. Only its own real decisions are relayed: drills and tests
(`status`) are not, nor what it relays itself (`source`): follow that source directly.

Its zones are matched to this server's by id when the two share a zone set (or zones with the
same ids); otherwise by shape (`GET /v1/zones.geojson`, once): a zone of the other server
alerts every zone of this one that it overlaps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec

from airwarn.contract import parse_time
from airwarn.engine.zones import ZoneSet, zones_from_geojson
from airwarn.errors import EventError
from airwarn.follow.feed import Observation
from airwarn.follow.fetch import Failed, Trouble, fetch
from airwarn.follow.spec import FollowSpec
from airwarn.follow.wants import LEVELS, Want, merge

MAX_LINE = 1024 * 1024  # an SSE line longer than this is not airwarn's
MAX_ZONES_BYTES = 256 * 1024 * 1024  # a national zone set's GeoJSON is tens of MB


class StreamFeed:
    """Follows another airwarn's live stream (see the module's docstring)."""

    def __init__(self, spec: FollowSpec, zones: ZoneSet) -> None:
        self.spec = spec
        self.zones = zones
        self.upstream: dict[str, Want] = {}  # the other server's zones not clear
        self.mapping: dict[str, tuple[str, ...]] | None = None  # its zone -> ours
        self.unmatched: set[str] = set()

    async def watch(self, http: httpx.AsyncClient) -> AsyncIterator[Observation]:
        got = await fetch(
            http,
            self.spec.url + "/v1/zones",
            what="airwarn",
            headers={"Accept": "application/json"},
        )
        try:
            listing = msgspec.json.decode(got.body or b"")
            after = int(got.headers.get("x-last-seq", ""))
        except (msgspec.DecodeError, ValueError):
            raise Failed(
                "airwarn: /v1/zones is not a list of zones with X-Last-Seq; is the "
                "URL another airwarn's?"
            ) from None
        if not isinstance(listing, list):
            raise Failed("airwarn: /v1/zones is not a list; is the URL another airwarn's?")
        if self.mapping is None:
            await self._match(http, [str(z.get("id")) for z in listing if isinstance(z, dict)])
        before = self.upstream
        self.upstream = {}
        for zone in listing:
            level = LEVELS.get(str(zone.get("level"))) if isinstance(zone, dict) else None
            if level:
                was = before.get(str(zone["id"]))
                # what the listing does not say (its kind, its alert's id) is kept, or unknown
                self.upstream[str(zone["id"])] = (
                    was if was is not None and was.level == level else Want(level)
                )
        yield Observation(self._wants(), note=self._note())
        timeout = httpx.Timeout(10.0, read=max(self.spec.stale_s, 10.0))
        try:
            async with http.stream(
                "GET",
                f"{self.spec.url}/v1/stream?since={after}",
                headers={"Accept": "text/event-stream"},
                timeout=timeout,
            ) as reply:
                if reply.status_code != 200:
                    raise Trouble(f"airwarn: the live stream answered {reply.status_code}")
                async for event, data in _events(reply):
                    if event == "heartbeat":
                        yield Observation(None)
                    elif event == "decision" and self._take(data):
                        yield Observation(self._wants(), note=self._note())
        except httpx.HTTPError as exc:
            raise Trouble(
                f"airwarn: the live stream broke off ({exc.__class__.__name__})"
            ) from None
        raise Trouble("airwarn: the live stream ended")

    def _take(self, data: str) -> bool:
        try:
            decision = msgspec.json.decode(data)
            zone, level = str(decision["zone"]), decision["level"]
            if decision.get("status", "actual") != "actual" or decision.get("source"):
                return False
            since = parse_time(decision["t"])
        except (msgspec.DecodeError, KeyError, TypeError, EventError):
            raise Failed("airwarn: a decision on the live stream is not Contract v1") from None
        if self.mapping is not None and zone not in self.mapping:
            return False  # a zone its listing did not have: nothing here to alert
        if level == "clear":
            return self.upstream.pop(zone, None) is not None
        was = self.upstream.get(zone)
        same = was is not None and was.level == LEVELS.get(level)
        self.upstream[zone] = Want(
            LEVELS.get(level, 2),
            decision.get("kind"),
            was.alert_id if same and was else str(decision["seq"]),
            was.since_ms if same and was else since,
        )
        return True

    def _wants(self) -> dict[str, Want]:
        wants: dict[str, Want] = {}
        mapping = self.mapping or {}
        for zone, want in self.upstream.items():
            for ours in mapping.get(zone, ()):
                merge(wants, ours, want)
        return wants

    async def _match(self, http: httpx.AsyncClient, theirs: list[str]) -> None:
        mapping: dict[str, tuple[str, ...]] = {z: (z,) for z in theirs if z in self.zones.index_of}
        missing = [z for z in theirs if z not in mapping]
        if missing:
            got = await fetch(
                http, self.spec.url + "/v1/zones.geojson", what="airwarn", max_bytes=MAX_ZONES_BYTES
            )
            try:
                other = zones_from_geojson(
                    msgspec.json.decode(got.body or b""), source=self.spec.url
                )
            except Exception as exc:  # noqa: BLE001 - any failure here is a format problem
                raise Failed(f"airwarn: its zones cannot be read ({exc})") from None
            for zone in other.zones:
                if zone.id in mapping:
                    continue
                shape = self.zones.projection.geometry_to_xy(zone.geometry)
                hits = [
                    self.zones.ids[int(i)]
                    for i in self.zones.query(shape)
                    if _overlaps(self.zones, int(i), shape)
                ]
                mapping[zone.id] = tuple(sorted(hits))
                if not hits:
                    self.unmatched.add(zone.id)
        self.mapping = mapping

    def _note(self) -> str | None:
        if not self.unmatched:
            return None
        shown = ", ".join(sorted(self.unmatched)[:5])
        return f"{len(self.unmatched)} of its zones overlap none here: {shown}"


def _overlaps(zones: ZoneSet, index: int, shape: Any) -> bool:
    """More than touching: the shapes share some area (a square metre or more)."""
    return bool(zones.shapes_m[index].intersection(shape).area >= 1.0)


async def _events(reply: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """Server-Sent Events as (event, data), lines bounded."""
    event, data = "message", list[str]()
    buffer = b""
    async for chunk in reply.aiter_bytes():
        buffer += chunk
        if len(buffer) > MAX_LINE and b"\n" not in buffer:
            raise Failed("airwarn: a line of the live stream is longer than 1 MiB")
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            line = raw.rstrip(b"\r").decode("utf-8", "replace")
            if not line:
                if data:
                    yield event, "\n".join(data)
                event, data = "message", list[str]()
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
                if sum(len(d) for d in data) > MAX_LINE:
                    raise Failed("airwarn: an event of the live stream is longer than 1 MiB")
