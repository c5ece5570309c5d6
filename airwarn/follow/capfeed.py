"""Another agency's CAP messages, from its Atom feed, relayed when their signatures are trusted.

The feed (Atom 1.0, as CAP aggregators and airwarn's own `/v1/cap/feed.atom` publish it) lists
recent messages, one entry each, linking to the CAP XML (`<link type="application/cap+xml">`,
else the entry's first link). Each new entry's message is fetched, once, and checked against
the trust store exactly as a CAP message posted to `/v1/cap` is (`airwarn.cap.trust.judge`:
verified only by a certificate trusted for its `<sender>` with `airwarn trust add`; then only
what the signature covers is read; its zones: see `zones_in`). A message that is not verified
is not relayed: it is counted, and the source's note says which and why, so an operator can
trust the sender or not.

What is in force: every verified `Actual` Alert or Update, less what a Cancel or an all-clear
(`responseType` AllClear, urgency Past) references, less what has expired. An Update, Cancel
or all-clear that names areas supersedes the messages it references in the zones it covers;
one without areas supersedes them whole. Zone by zone rather than whole: airwarn's own CAP
chains reference per zone (a clear of one zone references the alert that also covers others),
and a strict reading would end alerts still in force elsewhere. So an Update that shrinks an
area leaves the dropped zones alerted until the earlier message expires: an over-alert, never
a missed one. Its zones are those its areas' polygons and circles cover,
and those its `airwarn:zone` geocodes name. An alert is `alert` unless its urgency is Expected
or Future (then `pre_alert`); its category is its `<event>`, its time its `onset`, else
`effective`, else `sent`.

Links are followed only to the feed's own host, over http or https: a feed must not make this
server fetch addresses of someone else's choosing.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from lxml import etree

from airwarn.cap.inbound import CapError, InboundAlert, parse_inbound
from airwarn.cap.trust import judge
from airwarn.engine.zones import ZoneSet
from airwarn.follow.feed import Observation, every
from airwarn.follow.fetch import Failed, Trouble, Validators, fetch
from airwarn.follow.spec import FollowError, FollowSpec, check_url
from airwarn.follow.wants import Want, merge

ATOM = "{http://www.w3.org/2005/Atom}"
CAP_TYPE = "application/cap+xml"
MAX_ENTRIES = 200  # entries read per answer, newest first
MAX_MESSAGES = 10_000  # messages remembered (in force, or seen)
MAX_CAP_BYTES = 1024 * 1024
OVERLAP = 0.1  # the share of a zone a CAP area must cover to alert it (by shape)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True)
class Entry:
    id: str
    updated: str
    link: str


def parse_feed(body: bytes, base: str) -> list[Entry]:
    """The feed's entries (at most MAX_ENTRIES), or Failed naming what is not Atom."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise Failed(f"CAP feed: not XML ({exc}); the URL is not an Atom feed") from None
    if root.tag != f"{ATOM}feed":
        raise Failed(
            f"CAP feed: the document is <{etree.QName(root).localname}>, not an Atom <feed>"
        )
    entries = []
    for element in root.findall(f"{ATOM}entry")[:MAX_ENTRIES]:
        ident = (element.findtext(f"{ATOM}id") or "").strip()
        updated = (element.findtext(f"{ATOM}updated") or "").strip()
        links = element.findall(f"{ATOM}link")
        chosen = next((lk for lk in links if lk.get("type") == CAP_TYPE), None)
        if chosen is None and links:
            chosen = links[0]
        href = None if chosen is None else chosen.get("href")
        if not ident or not href:
            continue
        entries.append(Entry(ident, updated, urljoin(base, href.strip())))
    return entries


def level_of(alert: InboundAlert) -> int:
    """0 for an all-clear, 1 for a pre-alert, 2 for an alert (see the module's docstring)."""
    infos = alert.infos
    if not infos:
        return 2
    if all("AllClear" in i.response_types or i.urgency == "Past" for i in infos):
        return 0
    if all(i.urgency in ("Expected", "Future") for i in infos):
        return 1
    return 2


def zones_in(zones: ZoneSet, alert: InboundAlert) -> list[str]:
    """The zones a CAP message's areas cover: an area's `airwarn:zone` geocodes when it names
    zones of this set (another airwarn's messages do: exact); else the zones its shapes
    overlap by at least a tenth of the zone, or by half of the shape (a small area inside a
    large zone). A mere sliver does not count: senders grow their polygons a little so that
    nobody inside falls outside, which touches every neighbour."""
    found: set[int] = set()
    for info in alert.infos:
        for area in info.areas:
            named = {
                zones.index_of[value]
                for name, value in area.geocodes
                if name == "airwarn:zone" and value in zones.index_of
            }
            if named:
                found |= named
                continue
            shape = area.geometry
            if shape.is_empty:
                continue
            projected = zones.projection.geometry_to_xy(shape)
            for index in zones.query(projected):
                zone = zones.shapes_m[int(index)]
                shared = zone.intersection(projected).area
                if shared >= OVERLAP * zone.area or shared >= 0.5 * projected.area > 0:
                    found.add(int(index))
    return [zones.ids[i] for i in sorted(found)]


@dataclass
class InForce:
    zones: tuple[str, ...]
    want: Want
    expires_ms: int | None


class CapFeed:
    """Polls an Atom feed of CAP messages; relays those whose signature is trusted."""

    def __init__(
        self, spec: FollowSpec, zones: ZoneSet, db: Any, clock: Callable[[], float] = time.time
    ) -> None:
        self.spec = spec
        self.zones = zones
        self.db = db  # the trust store; None: nothing can be verified (`airwarn follow`)
        self.clock = clock
        self.host = urlsplit(spec.url).netloc
        self.validators = Validators()
        self.seen: OrderedDict[tuple[str, str], None] = OrderedDict()  # (entry id, updated)
        self.in_force: OrderedDict[tuple[str, str], InForce] = OrderedDict()  # sender, id
        self.refused: OrderedDict[str, str] = OrderedDict()  # identifier -> why

    async def watch(self, http: httpx.AsyncClient) -> AsyncIterator[Observation]:
        while True:
            got = await fetch(
                http,
                self.spec.url,
                what="CAP feed",
                validators=self.validators,
                headers={"Accept": "application/atom+xml, application/xml"},
            )
            if got.body is not None:
                entries = parse_feed(got.body, self.spec.url)
                for entry in reversed(entries):  # oldest first: an Update after its Alert
                    if (entry.id, entry.updated) not in self.seen:
                        await self._take(http, entry)
            yield Observation(self._wants(), note=self._note())
            await every(self.spec.every_s)

    async def _take(self, http: httpx.AsyncClient, entry: Entry) -> None:
        try:
            check_url(entry.link, "CAP feed entry")
        except FollowError as error:
            self._refuse(entry.id, error.args[0] if error.args else str(error))
            self._remember(entry)
            return
        if urlsplit(entry.link).netloc != self.host:
            self._refuse(entry.id, f"its link leaves the feed's host ({entry.link}); not fetched")
            self._remember(entry)
            return
        try:
            got = await fetch(
                http,
                entry.link,
                what="CAP message",
                max_bytes=MAX_CAP_BYTES,
                headers={"Accept": CAP_TYPE + ", application/xml"},
            )
        except Failed as failed:
            self._refuse(entry.id, failed.message)
            self._remember(entry)
            return
        except Trouble:
            raise  # not remembered: asked again on the next answer
        self._remember(entry)
        body = got.body or b""
        try:
            alert = parse_inbound(body, source=entry.link)
        except CapError as error:
            self._refuse(entry.id, f"not a valid CAP message: {error}")
            return
        keys = []
        if self.db is not None:
            from airwarn.store.trust import trusted_keys

            keys = [(k.fingerprint, k.certificate) for k in trusted_keys(self.db, alert.sender)]
        verdict = judge(body, alert.sender, keys)
        if not verdict.verified or verdict.signed is None:
            self._refuse(alert.identifier, f"{alert.sender}: {verdict.trust}: {verdict.why}")
            return
        signed = parse_inbound(verdict.signed)
        if signed.sender != alert.sender:
            self._refuse(alert.identifier, "the signed part names another sender")
            return
        self._apply(signed)

    def _apply(self, alert: InboundAlert) -> None:
        if alert.status != "Actual":
            return  # exercises, tests, system messages: nothing for the public here
        level = level_of(alert)
        zones = tuple(zones_in(self.zones, alert))
        if alert.msg_type in ("Update", "Cancel") or level == 0:
            for sender, identifier, _sent in alert.references:
                earlier = self.in_force.get((sender, identifier))
                if earlier is None:
                    continue
                left = tuple(z for z in earlier.zones if z not in zones) if zones else ()
                if left:
                    earlier.zones = left
                else:
                    del self.in_force[(sender, identifier)]
        if alert.msg_type == "Cancel" or level == 0:
            return
        info = alert.infos[0] if alert.infos else None
        since = None if info is None else (info.onset_ms or info.effective_ms)
        expires = min((i.expires_ms for i in alert.infos if i.expires_ms), default=None)
        want = Want(
            level, None if info is None else info.event, alert.identifier, since or alert.sent_ms
        )
        self.in_force[(alert.sender, alert.identifier)] = InForce(zones, want, expires)
        while len(self.in_force) > MAX_MESSAGES:
            self.in_force.popitem(last=False)

    def _wants(self) -> dict[str, Want]:
        now_ms = int(self.clock() * 1000)
        wants: dict[str, Want] = {}
        for key, message in list(self.in_force.items()):
            if message.expires_ms is not None and message.expires_ms <= now_ms:
                del self.in_force[key]
                continue
            for zone in message.zones:
                merge(wants, zone, message.want)
        return wants

    def _remember(self, entry: Entry) -> None:
        self.seen[(entry.id, entry.updated)] = None
        while len(self.seen) > MAX_MESSAGES:
            self.seen.popitem(last=False)

    def _refuse(self, identifier: str, why: str) -> None:
        self.refused[identifier] = why
        while len(self.refused) > 100:
            self.refused.popitem(last=False)

    def _note(self) -> str | None:
        if not self.refused:
            return None
        last = next(reversed(self.refused.items()))
        return (f"{len(self.refused)} messages not relayed; the latest, {last[0]}: {last[1]}")[:500]
