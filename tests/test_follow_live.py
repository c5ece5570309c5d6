"""`airwarn serve --follow` against a second airwarn, as a hromada council or a town would run
it: every alert and clear of the upstream server's alerts.in.ua-style API and Home Front Command
feed mirrored onto this server's zones within 2 s, driving retained MQTT siren topics (this
machine's Mosquitto, read by a paho subscriber) and Web Push (to the stand-in push service of
tests/test_webpush.py, decrypted as a browser does); and a stopped upstream shown as stale on
every channel within the configured time, its alerts kept, never taken for a quiet sky.

Both servers are real `airwarn serve` processes on real zones (parts of the packaged Ukrainian
and Israeli layers); the upstream's compatibility feeds speak the sources' wire formats.
Takes about 40 s here; marked slow.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from kits.serverkit import Launcher, Server
from test_mqtt import Subscriber, reachable
from test_webpush import Browser, PushService, push_service  # noqa: F401 - a fixture

from airwarn.layers.packaged import layer_document

pytestmark = pytest.mark.slow
EVERY_S = 0.5  # the polling cadence used here
STALE_S = 3.0
WITHIN_S = 2.0


class TimedSubscriber(Subscriber):
    """A siren's view that notes when each message arrived."""

    def __init__(self, topics: list[str]) -> None:
        self.arrived: list[tuple[float, str, dict[str, Any]]] = []
        super().__init__(topics)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        payload = json.loads(message.payload) if message.payload else {}
        with self._changed:
            self.arrived.append((time.monotonic(), message.topic, payload))
        super()._on_message(client, userdata, message)

    def first(
        self, topic: str, after: float, level: str, timeout: float = 10.0, key: str = "level"
    ) -> tuple[float, dict[str, Any]]:
        """The first message on `topic` since `after` whose `key` says `level`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for at, got_topic, payload in self.arrived:
                    if at >= after and got_topic == topic and payload.get(key) == level:
                        return at, payload
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(t, p) for _, t, p in self.arrived[-8:]]
                    raise AssertionError(
                        f"{topic} did not say {level} within {timeout} s; last: {seen}"
                    )
                self._changed.wait(left)

    def __enter__(self) -> TimedSubscriber:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def latest(self, topic: str) -> dict[str, Any] | None:
        with self._changed:
            found = [p for _, t, p in self.arrived if t == topic]
        return found[-1] if found else None


def subset(layer: str, keep: Any, path: Path) -> Path:
    document = layer_document(layer)
    document["features"] = [f for f in document["features"] if keep(f["properties"])]
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def launcher() -> Iterator[Launcher]:
    launcher = Launcher()
    yield launcher
    launcher.close()


@contextmanager
def servers(
    launcher: Launcher, tmp: Path, zones: Path, follow: list[str]
) -> Iterator[tuple[Server, Server, str, dict[str, str]]]:
    """The upstream airwarn (A) and the follower (B, with MQTT and Web Push)."""
    for folder in ("a", "b"):
        (tmp / folder).mkdir()
    a_db, b_db = f"sqlite:///{tmp / 'a' / 'a.db'}", f"sqlite:///{tmp / 'b' / 'b.db'}"
    operator = launcher.run(
        ["tokens", "create", "--role", "operator", "--name", "op-a", "--db", a_db], tmp / "a"
    ).strip()
    reader = launcher.run(
        ["tokens", "create", "--role", "reader", "--name", "relay-b", "--db", a_db], tmp / "a"
    ).strip()
    (tmp / "b" / "token").write_text(reader + "\n")
    upstream = Server(
        launcher,
        [
            "--zones",
            str(zones),
            "--db",
            a_db,
            "--keys",
            str(tmp / "a" / "keys"),
            "--no-webhooks",
            "--no-push",
        ],
        tmp / "a" / "serve.log",
    )
    upstream.start()
    prefix = f"airwarn-test/{uuid.uuid4().hex[:12]}"
    follow_args = [arg for spec in follow for arg in ("--follow", spec.format(a=upstream.url))]
    follower = Server(
        launcher,
        [
            "--zones",
            str(zones),
            "--db",
            b_db,
            "--keys",
            str(tmp / "b" / "keys"),
            "--mqtt",
            "mqtt://127.0.0.1:1883",
            "--mqtt-prefix",
            prefix,
            "--no-webhooks",
            "--push-subject",
            "mailto:ops@airwarn.test",
            "--allow-private-targets",  # local push
            *follow_args,
            "--alerts-in-ua-token-file",
            str(tmp / "b" / "token"),
            "--follow-every-s",
            str(EVERY_S),
            "--follow-stale-s",
            str(STALE_S),
            "--follow-hold-s",
            "0",
            "--heartbeat-s",
            "1",
        ],
        tmp / "b" / "serve.log",
    )
    follower.start()
    try:
        yield upstream, follower, prefix, {"Authorization": f"Bearer {operator}"}
    finally:
        follower.stop()
        upstream.stop()


def act(http: httpx.Client, server: Server, operator: dict[str, str], **request: Any) -> float:
    """An operator's action on the upstream server, confirmed; when it was committed."""
    answer = http.post(
        server.url + "/v1/actions",
        headers=operator,
        json={"reason": "upstream drill of the relay", **request},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    if body["state"] == "pending":
        answer = http.post(
            server.url + f"/v1/actions/{body['id']}/confirm",
            headers=operator,
            json={"confirm_blast_radius": True},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == "sent", answer.text
    return time.monotonic()


def upstream_levels(http: httpx.Client, server: Server) -> dict[str, str]:
    return {
        z["id"]: z["level"]
        for z in http.get(server.url + "/v1/zones").json()
        if z["level"] != "clear"
    }


def relayed_levels(http: httpx.Client, server: Server, source: str) -> dict[str, str]:
    zones = http.get(server.url + "/v1/relays").json()["zones"]
    return {
        zone: lanes[source]
        for zone, lanes in zones.items()
        if lanes.get(source, "clear") != "clear"
    }


def wait_mirrored(
    http: httpx.Client, upstream: Server, follower: Server, source: str, timeout: float = 10.0
) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        want, got = upstream_levels(http, upstream), relayed_levels(http, follower, source)
        if want == got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"not mirrored within {timeout} s: upstream {want}, relayed {got}")
        time.sleep(0.05)


def check_stale(
    http: httpx.Client,
    upstream: Server,
    follower: Server,
    sub: TimedSubscriber,
    prefix: str,
    source: str,
    still_alerted: str,
) -> float:
    """Stop the upstream; the source is stale on every channel within STALE_S (plus a
    poll's timeout), and what it said stands. How long it took."""
    held_before = sub.latest(f"{prefix}/zones/{still_alerted}")
    stream = LiveStream(follower)
    upstream.kill()
    killed = time.monotonic()
    upstream.reap()
    seen, status = sub.first(f"{prefix}/status", killed, "stale", key="state", timeout=15)
    took = seen - killed
    assert status["stale"] == [source]
    assert took <= STALE_S + 1.5, took
    _, source_topic = sub.first(f"{prefix}/sources/{source}", killed, "stale", key="state")
    assert source_topic["source"] == source and "no answer" in source_topic["why"]
    health = http.get(follower.url + "/healthz").json()
    assert health["stale_sources"] == [source] and health["sources"] == {source: "stale"}
    relays = http.get(follower.url + "/v1/relays").json()
    assert relays["not_current"] == [source]
    assert stream.wait("source", "stale")["name"] == source  # SSE (and WebSocket) say it too
    # silence is not safety: the relayed alert still stands on the siren's topic
    assert sub.latest(f"{prefix}/zones/{still_alerted}") == held_before
    assert held_before is not None and held_before["level"] == "alert"
    assert relayed_levels(http, follower, source)[still_alerted] == "alert"
    return took


class LiveStream:
    """The follower's SSE stream, read on a thread: every event it sends."""

    def __init__(self, server: Server) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._open = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(server.url,), daemon=True)
        self._thread.start()
        assert self._open.wait(10), "the live stream did not open"

    def _read(self, url: str) -> None:
        try:
            with httpx.stream("GET", url + "/v1/stream", timeout=None) as reply:  # noqa: S113 (a live stream)
                self._open.set()
                event = None
                for line in reply.iter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event is not None:
                        self.events.append((event, json.loads(line[6:])))
        except httpx.HTTPError:
            return  # the server stopped at the end of the test

    def wait(self, kind: str, state: str, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event, data in list(self.events):
                if event == kind and data.get("state") == state:
                    return data
            time.sleep(0.05)
        raise AssertionError(f"no {kind} event saying {state}: {self.events[-5:]}")


@pytest.mark.alone
def test_alerts_in_ua_relayed_to_sirens_and_phones_within_2_s_and_stale_when_it_stops(
    launcher: Launcher,
    tmp_path: Path,
    push_service: PushService,  # noqa: F811
) -> None:
    if not reachable("127.0.0.1", 1883):
        pytest.skip("no MQTT broker at 127.0.0.1:1883")
    zones = subset("ukraine", lambda p: p["oblast_id"] in ("UA05", "UA80"), tmp_path / "ua.geojson")
    hromada = "UA05040010000022470"  # one hromada, alone: a record numbered by the crosswalk
    raion = "UA0502"  # Vinnytskyi raion whole: one raion record (number 36)
    kyiv = "UA80000000000093317"  # Kyiv: a city that is an oblast (number 31)
    with (
        servers(launcher, tmp_path, zones, ["alerts.in.ua:{a}"]) as (
            upstream,
            follower,
            prefix,
            operator,
        ),
        TimedSubscriber([f"{prefix}/zones/+", f"{prefix}/status", f"{prefix}/sources/+"]) as sub,
        httpx.Client(timeout=10) as http,
    ):
        browser = Browser(push_service.endpoint("phone"))
        answer = http.post(
            follower.url + "/v1/push/subscriptions", json=browser.subscription(zones=[hromada])
        )
        assert answer.status_code == 201, answer.text
        sub.wait_for(
            lambda m: (
                m.topic == f"{prefix}/status" and json.loads(m.payload).get("state") == "online"
            )
        )
        raion_zones = sorted(z for z in upstream_levels_all(http, upstream) if z.startswith(raion))
        delays = []
        # alerts: a hromada, a whole raion at pre-alert, Kyiv
        at = act(http, upstream, operator, action="alert", zones=[hromada], category="air_raid")
        seen, payload = sub.first(f"{prefix}/zones/{hromada}", at, "alert")
        delays.append(seen - at)
        assert payload["source"] == "alerts.in.ua" and payload["kind"] == "air_raid"
        assert payload["since"].endswith("Z")  # the official time, kept
        at = act(http, upstream, operator, action="pre_alert", zones=raion_zones)
        delays.append(sub.first(f"{prefix}/zones/{raion_zones[-1]}", at, "pre_alert")[0] - at)
        at = act(http, upstream, operator, action="alert", zones=[kyiv])
        delays.append(sub.first(f"{prefix}/zones/{kyiv}", at, "alert")[0] - at)
        mirrored = wait_mirrored(http, upstream, follower, "alerts.in.ua")
        assert len(mirrored) == 2 + len(raion_zones) == 18
        # Web Push: the phone in the hromada is told, and told where it comes from
        alert_push = browser.read(push_service.wait("phone", 1)[0])
        assert alert_push["level"] == "alert" and alert_push["source"] == "alerts.in.ua"
        assert alert_push["text"].startswith("alerts.in.ua: Air threat")
        # this server's own levels are untouched: the relayed alerts have their own lane
        assert upstream_levels(http, follower) == {}
        # clears
        at = act(http, upstream, operator, action="clear", zones=[hromada])
        delays.append(sub.first(f"{prefix}/zones/{hromada}", at, "clear")[0] - at)
        at = act(http, upstream, operator, action="clear", zones=raion_zones)
        delays.append(sub.first(f"{prefix}/zones/{raion_zones[0]}", at, "clear")[0] - at)
        assert wait_mirrored(http, upstream, follower, "alerts.in.ua") == {kyiv: "alert"}
        clear_push = browser.read(push_service.wait("phone", 2)[1])
        assert clear_push["level"] == "clear" and "All clear" in clear_push["text"]
        assert max(delays) <= WITHIN_S, delays
        print(f"\nalerts.in.ua relay delays (s): {[round(d, 2) for d in delays]}")
        # the upstream stops: stale on every channel, Kyiv's relayed alert kept
        took = check_stale(http, upstream, follower, sub, prefix, "alerts.in.ua", kyiv)
        print(f"stale after {took:.2f} s (limit {STALE_S} s)")


def upstream_levels_all(http: httpx.Client, server: Server) -> list[str]:
    return [z["id"] for z in http.get(server.url + "/v1/zones").json()]


def test_home_front_command_feed_relayed_in_turn_by_category_and_stale_when_it_stops(
    launcher: Launcher,
    tmp_path: Path,
    push_service: PushService,  # noqa: F811
) -> None:
    if not reachable("127.0.0.1", 1883):
        pytest.skip("no MQTT broker at 127.0.0.1:1883")
    regions = {"ים המלח", "חיפה", "ירושלים", "אילת"}
    zones = subset("israel", lambda p: p["region"] in regions, tmp_path / "il.geojson")
    with (
        servers(launcher, tmp_path, zones, ["oref:{a}"]) as (upstream, follower, prefix, operator),
        TimedSubscriber([f"{prefix}/zones/+", f"{prefix}/status", f"{prefix}/sources/+"]) as sub,
        httpx.Client(timeout=10) as http,
    ):
        ids = upstream_levels_all(http, upstream)
        haifa = [
            z["id"] for z in http.get(upstream.url + "/v1/zones").json() if z["region"] == "חיפה"
        ]
        eilat = [
            z["id"] for z in http.get(upstream.url + "/v1/zones").json() if z["region"] == "אילת"
        ]
        browser = Browser(push_service.endpoint("phone"))
        assert (
            http.post(
                follower.url + "/v1/push/subscriptions", json=browser.subscription(zones=[eilat[0]])
            ).status_code
            == 201
        )
        sub.wait_for(
            lambda m: (
                m.topic == f"{prefix}/status" and json.loads(m.payload).get("state") == "online"
            )
        )
        delays = []
        # rockets on Haifa, a hostile aircraft over Eilat: two categories the feed shows in
        # turn; a pre-alert beside them is a third
        at = act(http, upstream, operator, action="alert", zones=haifa, category="missiles")
        delays.append(sub.first(f"{prefix}/zones/{haifa[0]}", at, "alert")[0] - at)
        at = act(http, upstream, operator, action="alert", zones=eilat, category="drone")
        seen, payload = sub.first(f"{prefix}/zones/{eilat[0]}", at, "alert")
        delays.append(seen - at)
        assert payload["source"] == "oref.org.il"
        assert payload["kind"] == "hostileAircraftIntrusion"
        jerusalem = [z for z in ids if z not in haifa and z not in eilat][:3]
        at = act(http, upstream, operator, action="pre_alert", zones=jerusalem)
        delays.append(sub.first(f"{prefix}/zones/{jerusalem[0]}", at, "pre_alert")[0] - at)
        assert wait_mirrored(http, upstream, follower, "oref.org.il") == upstream_levels(
            http, upstream
        )
        # several categories shown in turn never flap a zone: each zone said alert once
        time.sleep(3.0)
        haifa_messages = [p for _, t, p in sub.arrived if t == f"{prefix}/zones/{haifa[0]}"]
        assert [p["level"] for p in haifa_messages] == ["alert"], haifa_messages
        assert browser.read(push_service.wait("phone", 1)[0])["source"] == "oref.org.il"
        at = act(http, upstream, operator, action="clear", zones=haifa)
        delays.append(sub.first(f"{prefix}/zones/{haifa[0]}", at, "clear")[0] - at)
        at = act(http, upstream, operator, action="clear", zones=jerusalem)
        delays.append(sub.first(f"{prefix}/zones/{jerusalem[0]}", at, "clear")[0] - at)
        assert wait_mirrored(http, upstream, follower, "oref.org.il") == {z: "alert" for z in eilat}
        assert max(delays) <= WITHIN_S, delays
        print(f"\nHome Front Command relay delays (s): {[round(d, 2) for d in delays]}")
        took = check_stale(http, upstream, follower, sub, prefix, "oref.org.il", eilat[0])
        print(f"stale after {took:.2f} s (limit {STALE_S} s)")
