"""Following official feeds, source by source: the parsers pinned by the sources' documented
answers (written here by hand from docs/compat.md and the sources' published clients: there is
no network here), the mapping of their places onto zones, and a follower's health as operators
see it against a local server that answers as told: live, not modified, stale, failed for a bad
token or a changed format, and live again."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from airwarn.cli.follow import MemorySink
from airwarn.engine import Engine
from airwarn.engine.relay import Lane
from airwarn.follow.alertsinua import parse_active, wants_of
from airwarn.follow.capfeed import level_of, parse_feed
from airwarn.follow.fetch import Failed, client
from airwarn.follow.follower import Follower
from airwarn.follow.israel import IsraelNames
from airwarn.follow.oref import LiveState, parse_live
from airwarn.follow.spec import FollowError, parse_spec
from airwarn.follow.ukraine import UkraineMap
from airwarn.follow.wants import Want, changes
from airwarn.layers.packaged import load_layer

# -- recorded shapes (by hand, from the documented answers) -----------------------------------

ACTIVE = {
    "alerts": [
        {
            "id": 8757,
            "location_title": "Луганська область",
            "location_type": "oblast",
            "started_at": "2022-04-04T16:45:39.000Z",
            "finished_at": None,
            "updated_at": "2023-10-29T18:22:37.357Z",
            "alert_type": "air_raid",
            "location_uid": "16",
            "location_oblast": "Луганська область",
            "location_oblast_uid": 16,
            "location_raion": None,
            "notes": None,
            "calculated": None,
        },
        {
            "id": 9001,
            "location_title": "Агрономічна територіальна громада",
            "location_type": "hromada",
            "started_at": "2026-03-01T18:00:00.000Z",
            "finished_at": None,
            "updated_at": "2026-03-01T18:00:00.000Z",
            "alert_type": "air_raid",
            "location_uid": "154",
            "location_oblast": "Вінницька область",
            "location_oblast_uid": 4,
            "location_raion": "Вінницький район",
            "notes": None,
            "calculated": False,
            "alert_level": "yellow",
        },
        {
            "id": 9002,
            "location_title": "м. Київ",
            "location_type": "city",
            "started_at": "2026-03-01T17:00:00.000Z",
            "finished_at": "2026-03-01T17:30:00.000Z",
            "updated_at": "2026-03-01T17:30:00.000Z",
            "alert_type": "air_raid",
            "location_uid": "31",
            "location_oblast": "м. Київ",
            "location_oblast_uid": 31,
            "location_raion": None,
            "notes": None,
            "calculated": False,
            "alert_level": "red",
        },
        {
            "id": 9003,
            "location_title": "Somewhere new",
            "location_type": "hromada",
            "started_at": "2026-03-01T18:01:00.000Z",
            "finished_at": None,
            "updated_at": "2026-03-01T18:01:00.000Z",
            "alert_type": "artillery_shelling",
            "location_uid": 99999,
            "location_oblast": None,
            "location_oblast_uid": None,
            "location_raion": None,
            "notes": None,
            "calculated": False,
        },
    ],
    "meta": {"last_updated_at": "2026/03/01 18:01:05 +0000", "type": "full"},
    "disclaimer": "...",
}
HFC_LIVE = {
    "id": "133872012345670001",
    "cat": "1",
    "title": "ירי רקטות וטילים",
    "data": ["אבו גוש", "שדה אברהם", "Абу Снан"],
    "desc": "היכנסו למרחב המוגן",
}


@pytest.fixture(scope="module")
def ukraine():
    return load_layer("ukraine")


@pytest.fixture(scope="module")
def israel():
    return load_layer("israel")


def test_alerts_in_ua_records_become_zones_through_the_crosswalk(ukraine):
    records, updated_ms = parse_active(json.dumps(ACTIVE).encode())
    assert [r.alert_id for r in records] == ["8757", "9001", "9003"]  # the finished one gone
    assert updated_ms == 1772388065000
    wants, unknown = wants_of(records, UkraineMap(ukraine))
    luhansk = {z.id for z in ukraine.zones if z.properties.get("oblast_id") == "UA44"}
    assert luhansk and luhansk < set(wants)
    assert wants["UA05020010000053508"] == Want(1, "air_raid", "9001", 1772388000000)
    assert {wants[z].level for z in luhansk} == {2}
    assert unknown == ["Somewhere new (99999)"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<html>login</html>", "not JSON"),
        (b'{"data": []}', "no `alerts` list"),
        (b'{"alerts": [{"location_uid": "x1"}]}', "location_uid"),
        (b'{"alerts": [{"location_uid": 4, "alert_level": "purple"}]}', "alert_level"),
        (b'{"alerts": [{"location_uid": 4, "started_at": "yesterday"}]}', "started_at"),
    ],
)
def test_a_changed_alerts_in_ua_format_fails_naming_the_field(body, says):
    with pytest.raises(Failed, match=says):
        parse_active(body)


def test_home_front_command_names_match_in_four_languages_and_the_aliases(israel):
    names = IsraelNames(israel)
    assert names.zones_of("אבו גוש") == names.zones_of("Abu Gosh") == ("5000511",)
    assert names.zones_of("Абу Гош") == names.zones_of("آبو غوش") == ("5000511",)
    assert names.zones_of("שדה אברהם") == names.zones_of("שדי אברהם")  # the alias table
    assert names.zones_of("בת-ים") == names.zones_of("בת ים")
    assert names.zones_of("no such place") == ()


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-8"),
        lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),  # with a byte-order mark
        lambda text: text.encode("utf-16"),  # UTF-16 with its mark
    ],
)
def test_the_live_feed_is_read_in_every_encoding_the_hfc_has_sent(encode):
    alert = parse_live(encode(json.dumps(HFC_LIVE, ensure_ascii=False)))
    assert alert is not None and alert.cat == 1 and alert.areas[0] == "אבו גוש"
    assert parse_live(b"") is None and parse_live(b"\xef\xbb\xbf\r\n") is None


def test_the_live_feed_id_gives_the_official_time():
    now_ms = 1772388000000
    ticks = (now_ms + 11_644_473_600_000) * 10_000 + 1
    alert = parse_live(json.dumps({**HFC_LIVE, "id": str(ticks)}).encode())
    assert alert is not None and alert.since_ms(now_ms + 5000) == now_ms
    assert alert.since_ms(now_ms + 3 * 86_400_000) is None  # implausible: not used


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<!DOCTYPE html><html></html>", "not JSON"),
        (b'{"cat": "1", "title": "x"}', "no `data` list"),
        (b'{"cat": "x", "data": []}', "`cat`"),
        (b"[1, 2]", "not one alert object"),
    ],
)
def test_a_changed_live_feed_fails_naming_what_changed(body, says):
    with pytest.raises(Failed, match=says):
        parse_live(body)


def test_categories_shown_in_turn_hold_and_an_ended_clears_at_once(israel):
    names = IsraelNames(israel)
    state = LiveState(hold_s=0)
    rockets = parse_live(json.dumps(HFC_LIVE).encode())
    aircraft = parse_live(json.dumps({**HFC_LIVE, "cat": "6", "data": ["אילת"]}).encode())
    state.take(rockets, names, 0)
    state.take(aircraft, names, 1)
    state.take(rockets, names, 2)
    wants = state.wants(2)
    assert wants["5000511"].category == "missiles"
    assert {w.category for w in wants.values()} == {"missiles", "hostileAircraftIntrusion"}
    for t in range(3, 6):  # rockets only, three answers in a row: the aircraft is over
        state.take(rockets, names, t)
    assert {w.category for w in state.wants(6).values()} == {"missiles"}
    ended = parse_live(
        json.dumps(
            {**HFC_LIVE, "cat": "10", "title": "האירוע הסתיים", "data": ["אבו גוש"]}
        ).encode()
    )
    state.take(ended, names, 7)
    assert "5000511" not in state.wants(7)
    state.take(None, names, 8)  # an empty body: nothing on
    assert state.wants(8) == {}


def test_an_area_that_leaves_the_real_feed_is_held_until_the_hold_ends(israel):
    names = IsraelNames(israel)
    state = LiveState(hold_s=600)
    state.take(parse_live(json.dumps(HFC_LIVE).encode()), names, 0)
    state.take(None, names, 60)
    assert "5000511" in state.wants(300)
    assert "5000511" not in state.wants(661)


ATOM = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:x:feed</id><title>t</title>
<updated>2026-03-01T18:00:05Z</updated>
<entry><id>urn:x:2</id><title>b</title><updated>2026-03-01T18:00:05Z</updated>
<link rel="alternate" type="application/cap+xml" href="/v1/cap/urn:x:2"/></entry>
<entry><id>urn:x:1</id><updated>2026-03-01T18:00:00Z</updated>
<link href="https://elsewhere.example/1.xml"/></entry>
<entry><id>no-link</id></entry></feed>"""


def test_an_atom_feed_gives_its_entries_and_their_links():
    entries = parse_feed(ATOM, "http://127.0.0.1:9/v1/cap/feed.atom")
    assert [(e.id, e.link) for e in entries] == [
        ("urn:x:2", "http://127.0.0.1:9/v1/cap/urn:x:2"),
        ("urn:x:1", "https://elsewhere.example/1.xml"),
    ]
    with pytest.raises(Failed, match="not an Atom"):
        parse_feed(b"<rss/>", "http://x/")
    with pytest.raises(Failed, match="not XML"):
        parse_feed(b"{}", "http://x/")


def test_what_a_cap_message_asks_of_people():
    from airwarn.cap.inbound import parse_inbound

    def cap(urgency: str, response: str) -> Any:
        return parse_inbound(
            f"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
<identifier>x</identifier><sender>s@x</sender><sent>2026-03-01T18:00:00-00:00</sent>
<status>Actual</status><msgType>Alert</msgType><scope>Public</scope><info>
<category>Safety</category><event>Air threat</event><responseType>{response}</responseType>
<urgency>{urgency}</urgency><severity>Extreme</severity><certainty>Observed</certainty>
</info></alert>""".encode()
        )

    assert level_of(cap("Immediate", "Shelter")) == 2
    assert level_of(cap("Expected", "Prepare")) == 1
    assert level_of(cap("Past", "AllClear")) == 0


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("oref:file:///etc/passwd", "only http:// and https://"),
        ("cap:gopher://x/feed", "only http:// and https://"),
        ("airwarn:http://user:pw@x.example", "user name or password"),
        ("cap", "needs the source's URL"),
        ("rss:http://x", "one of alerts.in.ua, oref, cap, airwarn"),
        ("alerts.in.ua", "API token"),
    ],
)
def test_a_source_that_cannot_be_followed_is_refused_at_start_saying_why(spec, says):
    with pytest.raises(FollowError, match=says):
        parse_spec(spec)


def test_sources_are_named_and_timed_by_kind():
    assert parse_spec("oref").url == "https://www.oref.org.il"
    assert (parse_spec("oref").name, parse_spec("oref").every_s) == ("oref.org.il", 2.0)
    spec = parse_spec("alerts.in.ua", token="t")
    assert (spec.name, spec.every_s, spec.stale_s) == ("alerts.in.ua", 15.0, 60.0)
    assert parse_spec("cap:https://a.example:8443/x.atom").name == "cap:a.example:8443"
    with pytest.raises(FollowError, match="longer than the polling interval"):
        parse_spec("oref", every_s=5, stale_s=5)


def test_only_what_changed_is_relayed_and_unsaid_categories_are_kept():
    lanes = {
        "a": Lane(2, "air_raid", "1", None),
        "b": Lane(2, "air_raid", "1", None),
        "c": Lane(1, None, None, None),
    }
    wants = {"a": Want(2, "air_raid", "1"), "b": Want(2), "d": Want(2, "air_raid", "7", 5)}
    events = changes("s", wants, lanes, 10_000)
    assert [(e.action, e.zones, e.category, e.id) for e in events] == [
        ("clear", ["c"], None, None),
        ("alert", ["d"], "air_raid", "7"),
    ]


# -- a follower against a local server --------------------------------------------------------


@dataclass
class Upstream:
    """A local HTTP server answering each path as scripted (the last answer repeats)."""

    server: ThreadingHTTPServer
    script: dict[str, list[tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, *answers: tuple[int, dict[str, str], bytes]) -> None:
        self.script[path] = list(answers)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    holder: dict[str, Upstream] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            up = holder["it"]
            up.requests.append((self.path, dict(self.headers.items())))
            queue = up.script.get(self.path) or [(404, {}, b"")]
            status, headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
            if (
                status == 200
                and headers.get("ETag")
                and self.headers.get("If-None-Match") == headers["ETag"]
            ):
                status, body = 304, b""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder["it"] = Upstream(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield holder["it"]
    server.shutdown()
    server.server_close()


def follow_for(spec: Any, zones: Any, seconds: float, during: Any = None) -> MemorySink:
    """Run a follower for a while on a pure engine; `during(sink)` runs half-way."""
    from airwarn.follow.channel import make_feed

    sink = MemorySink(Engine(zones))

    async def main() -> None:
        async with client(min(2.0, spec.stale_s / 3)) as http:
            task = asyncio.create_task(Follower(spec, make_feed(spec, zones), sink).run(http))
            await asyncio.sleep(seconds / 2)
            if during is not None:
                await asyncio.to_thread(during, sink)
            await asyncio.sleep(seconds / 2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    return sink


def states(sink: MemorySink, name: str) -> Any:
    return sink.engine.relays.states()[name]


def test_a_follower_asks_conditionally_and_relays_what_the_source_holds(upstream, ukraine, capsys):
    body = json.dumps(ACTIVE).encode()
    upstream.answer("/v1/alerts/active.json", (200, {"ETag": '"7"'}, body))
    spec = parse_spec(f"alerts.in.ua:{upstream.url}", token="secret", every_s=0.2, stale_s=2.0)
    sink = follow_for(spec, ukraine, 1.5)
    assert states(sink, "alerts.in.ua").state == "live"
    assert "1 places lie in no zone here" in (states(sink, "alerts.in.ua").why or "")
    held = sink.engine.relayed()
    assert held["UA05020010000053508"] == {"alerts.in.ua": "pre_alert"}
    sent = [headers for path, headers in upstream.requests]
    assert all(h["Authorization"] == "Bearer secret" for h in sent)
    assert any(h.get("If-None-Match") == '"7"' for h in sent[1:])  # conditional after the first
    decisions = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(decisions) == len(held)  # each zone once: 304s and repeats relay nothing


def test_a_refused_token_fails_at_once_saying_so_and_a_later_answer_makes_it_live(
    upstream, ukraine
):
    upstream.answer("/v1/alerts/active.json", (401, {}, b'{"message":"bad token"}'))
    spec = parse_spec(f"alerts.in.ua:{upstream.url}", token="wrong", every_s=0.2, stale_s=5.0)
    sink = follow_for(spec, ukraine, 1.0)
    state = states(sink, "alerts.in.ua")
    assert state.state == "failed" and "token is wrong or revoked" in (state.why or "")


def test_a_changed_format_fails_and_a_silent_source_turns_stale_in_its_time(upstream, israel):
    upstream.answer("/WarningMessages/alert/alerts.json", (200, {}, b"<html>maintenance"))
    spec = parse_spec(f"oref:{upstream.url}", every_s=0.2, stale_s=1.0, hold_s=0)
    sink = follow_for(spec, israel, 1.0)
    state = states(sink, "oref.org.il")
    assert state.state == "failed" and "the format changed" in (state.why or "")
    # a source that answers 503 for longer than stale_s: stale, with the last error
    upstream.answer(
        "/WarningMessages/alert/alerts.json",
        (200, {}, json.dumps(HFC_LIVE, ensure_ascii=False).encode()),
    )
    started = time.monotonic()

    def outage(_sink: MemorySink) -> None:
        upstream.answer("/WarningMessages/alert/alerts.json", (503, {}, b""))

    sink = follow_for(spec, israel, 4.0, during=outage)
    state = states(sink, "oref.org.il")
    assert state.state == "stale" and "503" in (state.why or "")
    assert time.monotonic() - started < 6
    # what it said stands: silence is not safety
    assert sink.engine.relayed()["5000511"] == {"oref.org.il": "alert"}
