"""Relayed alerts through the HTTP API as operators and the public see them: marked with their
source and kept beside the zones' own levels, an operator's override (audited, refused to a
sensor), a relayed alert cancelled by its CAP identifier, the source's health at /healthz and
/v1/relays, the live stream's `source` events, and no way to post relayed events as a sensor."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import at, open_service
from fastapi.testclient import TestClient

from airwarn.cap.chain import Cause
from airwarn.channels.mqtt import MqttChannel
from airwarn.contract import Relay, Source, parse_event
from airwarn.follow.channel import FollowChannel
from airwarn.follow.sink import ServiceSink
from airwarn.service import Service
from airwarn.store.log import Write
from airwarn.store.tokens import create_token
from airwarn.web import WebSettings, create_app

SOURCE = "alerts.in.ua"


@pytest.fixture
def app(grid, tmp_path, signing_keys) -> Iterator[tuple[TestClient, Service, dict[str, str]]]:
    service = open_service(grid, f"sqlite:///{tmp_path / 'relay.db'}", signing_keys, clock="wall")
    tokens = {
        role: create_token(service.db, role, f"{role}-1", 0)
        for role in ("operator", "sensor", "admin")
    }
    # `airwarn serve` always runs the follow channel (it mounts /v1/relays); none followed here
    with TestClient(
        create_app(service, WebSettings(heartbeat_s=0.5), channels=[FollowChannel([], grid)])
    ) as http:
        yield http, service, {role: f"Bearer {token}" for role, token in tokens.items()}
    service.db.dispose()


def relay(service: Service, *events: Any) -> None:
    ServiceSink(service).write(SOURCE, list(events), int(time.time() * 1000))


def relayed_alert(zones: list[str]) -> Relay:
    return parse_event(
        json.dumps(
            {
                "type": "relay",
                "source": SOURCE,
                "action": "alert",
                "t": at(0),
                "zones": zones,
                "category": "air_raid",
                "id": "8757",
                "since": at(-5),
            }
        )
    )  # type: ignore[return-value]


def source_state(state: str, why: str | None = None) -> Source:
    body = {"type": "source", "name": SOURCE, "state": state, "t": at(0), "url": "https://x"}
    if why:
        body["why"] = why
    return parse_event(json.dumps(body))  # type: ignore[return-value]


def test_a_relayed_alert_is_shown_beside_the_zones_own_level_marked_with_its_source(app):
    http, service, _ = app
    relay(service, source_state("live"), relayed_alert(["r0c0", "r0c1"]))
    zone = http.get("/v1/zones/r0c0").json()
    assert zone["level"] == "clear" and zone["relayed"] == {SOURCE: "alert"}
    decision = http.get("/v1/history?zone=r0c0").json()["decisions"][0]
    assert decision["source"] == {"name": SOURCE, "id": "8757", "t": at(-5).replace("Z", ".000Z")}
    active = http.get("/v1/alerts/active").json()
    assert [(a["source"], sorted(a["zones"])) for a in active] == [(SOURCE, ["r0c0", "r0c1"])]
    cap = http.get(f"/v1/cap/{active[0]['identifier']}").text
    assert "<source>relayed from alerts.in.ua</source>" in cap
    assert "<valueName>airwarn:relayed-from</valueName><value>alerts.in.ua</value>" in cap
    assert http.get("/healthz").json()["sources"] == {SOURCE: "live"}
    # the compatibility feeds show it as the level in force
    reader = create_token(service.db, "reader", "app-1", 0)
    records = http.get(
        "/v1/alerts/active.json", headers={"Authorization": f"Bearer {reader}"}
    ).json()["alerts"]
    assert {r["location_title"] for r in records} == {"Zone 0-0", "Zone 0-1"}


def test_an_operator_clears_a_relayed_alert_here_audited_and_a_sensor_may_not(app):
    http, service, tokens = app
    relay(service, relayed_alert(["r0c0", "r0c1"]))
    body = {"action": "clear", "zones": ["r0c0"], "reason": "stuck upstream, checked"}
    refused = http.post(
        f"/v1/relays/{SOURCE}/override", json=body, headers={"Authorization": tokens["sensor"]}
    )
    assert refused.status_code == 403
    answer = http.post(
        f"/v1/relays/{SOURCE}/override", json=body, headers={"Authorization": tokens["operator"]}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["zones"] == ["r0c0"]
    assert http.get("/v1/relays").json()["zones"]["r0c0"] == {SOURCE: "clear"}
    assert http.get("/v1/relays").json()["zones"]["r0c1"] == {SOURCE: "alert"}
    audit = http.get("/v1/audit", headers={"Authorization": tokens["admin"]}).json()
    assert [(a["who"], a["action"], a["reason"]) for a in audit] == [
        ("sensor-1", "access.refused", None),  # the sensor's try, above
        ("operator-1", "relay.clear", "stuck upstream, checked"),
    ]
    missing = http.post(
        "/v1/relays/nowhere/override", json=body, headers={"Authorization": tokens["operator"]}
    )
    assert missing.status_code == 404 and "GET /v1/relays" in missing.json()["error"]
    no_reason = http.post(
        f"/v1/relays/{SOURCE}/override",
        json={"action": "clear"},
        headers={"Authorization": tokens["operator"]},
    )
    assert no_reason.status_code == 422


def test_a_relayed_alert_cancelled_by_its_identifier_is_overridden_not_forgotten(app):
    http, service, tokens = app
    relay(service, relayed_alert(["r2c2"]))
    identifier = http.get("/v1/alerts/active").json()[0]["identifier"]
    answer = http.post(
        f"/v1/alerts/{identifier}/cancel",
        json={"reason": "sent in error"},
        headers={"Authorization": tokens["operator"]},
    )
    assert answer.status_code == 200, answer.text
    (message,) = answer.json()["messages"]
    assert (message["msg_type"], message["source"]) == ("Cancel", SOURCE)
    assert http.get("/v1/zones/r2c2").json()["relayed"] == {SOURCE: "clear"}
    # the source still says alert: nothing changes until it clears, and then it counts again
    relay(service, relayed_alert(["r2c2"]))
    assert http.get("/v1/zones/r2c2").json()["relayed"] == {SOURCE: "clear"}


def test_a_sensor_cannot_post_relayed_events(app):
    http, service, tokens = app
    lines = [
        json.dumps(
            {"type": "relay", "source": SOURCE, "action": "alert", "t": at(0), "zones": ["r0c0"]}
        ),
        json.dumps({"type": "source", "name": SOURCE, "state": "live", "t": at(0)}),
    ]
    answer = http.post(
        "/v1/events", content="\n".join(lines).encode(), headers={"Authorization": tokens["sensor"]}
    )
    assert answer.status_code == 403  # a lane no client may write on, refused whole
    assert answer.json()["line"] == 1
    assert "airwarn serve --follow" in answer.json()["error"]
    assert service.engine.relayed() == {}


def test_a_source_going_stale_is_a_source_event_on_the_live_stream(app):
    http, service, _ = app
    relay(service, source_state("live"))
    with http.stream("GET", "/v1/stream") as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith("retry")
        relay(service, source_state("stale", "no answer for 31 s"))
        event = None
        for line in lines:
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "source":
                data = json.loads(line[6:])
                break
    assert (data["name"], data["state"], data["why"]) == (SOURCE, "stale", "no answer for 31 s")
    health = http.get("/healthz").json()
    assert health["stale_sources"] == [SOURCE]
    assert http.get("/v1/relays").json()["not_current"] == [SOURCE]


def test_after_a_restart_the_relayed_lanes_and_the_siren_topics_are_what_they_were(
    grid, tmp_path, signing_keys
):
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    service = open_service(grid, url, signing_keys, clock="wall")
    own = parse_event(
        json.dumps(
            {"type": "manual", "action": "alert", "t": at(0), "zones": ["r3c3"], "by": "op-1"}
        )
    )
    service._step([(own, "op-1", Cause())], int(time.time() * 1000), Write())
    relay(service, source_state("live"), relayed_alert(["r3c3", "r4c4"]))
    cleared = parse_event(
        json.dumps(
            {"type": "relay", "source": SOURCE, "action": "clear", "t": at(1), "zones": ["r3c3"]}
        )
    )
    relay(service, cleared)  # the feed clears r3c3: this server's own alert still holds it
    before = (service.engine.seq, service.engine.relayed(), service.engine.levels())
    service.db.dispose()
    again = open_service(grid, url, signing_keys, clock="wall")
    assert (again.engine.seq, again.engine.relayed(), again.engine.levels()) == before
    channel = MqttChannel("mqtt://127.0.0.1:1883", prefix="t")
    channel._service = again
    assert asyncio.run(channel._load())
    held = {topic: json.loads(payload) for topic, (_, payload) in channel._state.items()}
    assert held["t/zones/r3c3"]["level"] == "alert" and "source" not in held["t/zones/r3c3"]
    assert held["t/zones/r4c4"]["source"] == SOURCE
    assert held[f"t/sources/{SOURCE}"]["state"] == "live"
    again.db.dispose()
