"""The HTTP service as sensors, operators and the public use it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import act, as_action, at, end, manual, open_service, tick, track
from fastapi.testclient import TestClient

from airwarn.contract import encode_event
from airwarn.service import Service
from airwarn.store.tokens import ROLES, create_token, revoke_token
from airwarn.web import WebSettings, create_app
from airwarn.web.csrf import COOKIE


@dataclass
class Api:
    http: TestClient
    service: Service
    tokens: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def post_events(self, events: list[Any], role: str = "sensor", **headers: str) -> Any:
        body = b"\n".join(encode_event(e) for e in events)
        return self.http.post(
            "/v1/events",
            content=body,
            headers={**self.auth(role), **headers, "Content-Type": "application/x-ndjson"},
        )

    def act(self, body: dict[str, Any], role: str = "operator") -> Any:
        return self.http.post("/v1/actions", json=body, headers=self.auth(role))


@pytest.fixture
def api(grid, store_url, signing_keys) -> Iterator[Api]:
    service = open_service(grid, store_url, signing_keys)
    tokens = {role: create_token(service.db, role, f"{role}-1", 0) for role in ROLES}
    app = create_app(service, WebSettings(heartbeat_s=0.5, rate_burst=10_000))
    with TestClient(app) as http:
        yield Api(http, service, tokens)
    service.db.dispose()


def logged_events(service: Service) -> list[dict[str, Any]]:
    with service.db.connect() as db:
        rows = db.execute(sa.text("SELECT body FROM event_log ORDER BY seq")).all()
    return [json.loads(body) for (body,) in rows]


def test_ingest_accepts_good_lines_and_says_why_each_bad_line_was_rejected(api: Api) -> None:
    good = track("T1", 0, 31.45, 34.7, kind="drone")
    body = b"\n".join(
        [
            encode_event(good),
            b'{"type":"track","threat":"T2","kind":"zeppelin","t":"2026-03-01T18:00:01Z",'
            b'"lat":31.4,"lon":34.6}',
            b"not json",
            encode_event(track("T1", 2, 31.45, 34.71, kind="drone")),
        ]
    )
    answer = api.http.post("/v1/events", content=body, headers=api.auth("sensor"))
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["accepted"] == 2
    assert [(r["line"], r["field"]) for r in result["rejected"]] == [(2, "$.kind"), (3, None)]
    assert result["rejected"][0]["value"] == "zeppelin"
    assert "kind" in result["rejected"][0]["error"]
    # what was acknowledged is in the log, read back over a connection of its own
    # scoped by the sensor that sent them (airwarn.lanes)
    assert [e["threat"] for e in logged_events(api.service)] == ["sensor-1/T1", "sensor-1/T1"]


def test_a_manual_action_naming_an_unknown_zone_is_rejected_and_changes_nothing(api: Api) -> None:
    answer = api.act(
        {**as_action(manual("alert", 0, zones=["r0c0", "atlantis"])), "status": "exercise"}
    )
    assert answer.status_code == 422
    assert answer.json()["value"] == "atlantis"
    assert api.service.engine.levels() == {} and api.service.engine.drills() == {}
    assert logged_events(api.service) == []


def test_a_manual_event_on_the_sensors_path_is_refused_with_where_to_go(api: Api) -> None:
    answer = api.post_events([manual("alert", 0, zones=["r0c0"])], role="admin")
    assert answer.status_code == 403 and "/v1/actions" in answer.json()["error"]
    assert logged_events(api.service) == []


def test_a_retried_batch_with_the_same_idempotency_key_is_applied_once(api: Api) -> None:
    events = [track("K1", 0, 31.42, 34.62, kind="drone")]
    first = api.post_events(events, **{"Idempotency-Key": "batch-1"})
    again = api.post_events(events, **{"Idempotency-Key": "batch-1"})
    assert first.json()["accepted"] == 1 and first.json()["decisions"] > 0
    assert again.json()["replayed"] is True
    assert again.json()["accepted"] == first.json()["accepted"]
    assert len(logged_events(api.service)) == 1


def test_nothing_changes_without_a_token_or_with_the_wrong_role(api: Api) -> None:
    event = encode_event(track("T1", 0, 31.45, 34.7))
    anonymous = api.http.post("/v1/events", content=event)
    assert anonymous.status_code == 401
    # the hint names the least trusted role that may: a sensor's, not an admin's
    assert "tokens create --role sensor" in anonymous.json()["error"]
    assert "--role operator" in api.http.post("/v1/actions", json={}).json()["error"]
    bad = {"Authorization": "Bearer aw_not-a-token"}
    assert api.http.post("/v1/events", content=event, headers=bad).status_code == 401
    for role in ("reader", "operator"):
        answer = api.http.post("/v1/events", content=event, headers=api.auth(role))
        assert answer.status_code == 403, role
        assert "sensor" in answer.json()["error"]
        assert answer.json()["error"].startswith(("a reader token", "an operator token"))
    alert = {"action": "alert", "zones": ["r0c0"], "reason": "test of roles", "status": "exercise"}
    assert api.act(alert, role="sensor").status_code == 403
    assert api.act(alert, role="reader").status_code == 403
    assert api.http.get("/v1/audit", headers=api.auth("operator")).status_code == 403
    assert logged_events(api.service) == []


def test_an_actual_alert_takes_two_steps_and_says_exactly_where_it_goes(api: Api) -> None:
    proposed = api.act(
        {
            "action": "alert",
            "zones": ["r0c0", "r0c1"],
            "reason": "rocket fire",
            "category": "missiles",
        }
    )
    assert proposed.status_code == 200, proposed.text
    body = proposed.json()
    assert body["state"] == "pending"
    assert body["reach"]["zones"] == ["r0c0", "r0c1"] and body["reach"]["zone_count"] == 2
    assert api.service.engine.levels() == {}
    sent = api.http.post(body["confirm"], headers=api.auth("operator"))
    assert sent.status_code == 200, sent.text
    assert sent.json()["state"] == "sent"
    assert api.service.engine.levels() == {"r0c0": "alert", "r0c1": "alert"}
    (message,) = sent.json()["messages"]
    assert message["status"] == "Actual" and message["msg_type"] == "Alert"
    again = api.http.post(body["confirm"], headers=api.auth("operator"))
    assert again.status_code == 409


def test_under_the_four_eyes_rule_another_operator_confirms_an_alert(
    grid, store_url, signing_keys
) -> None:
    service = open_service(grid, store_url, signing_keys, confirm_by_other=True)
    tokens = {name: create_token(service.db, "operator", name, 0) for name in ("op-a", "op-b")}
    auth = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
    try:
        with TestClient(create_app(service, WebSettings(rate_burst=10_000))) as http:
            request = {"action": "alert", "zones": ["r0c0"], "reason": "rocket fire"}
            proposed = http.post("/v1/actions", json=request, headers=auth["op-a"]).json()
            own = http.post(proposed["confirm"], headers=auth["op-a"])
            assert own.status_code == 403
            assert "proposed by op-a: another operator confirms it" in own.json()["error"]
            assert service.engine.levels() == {}  # refused: nothing sent
            sent = http.post(proposed["confirm"], headers=auth["op-b"])
            assert sent.status_code == 200 and sent.json()["state"] == "sent"
            assert service.engine.levels() == {"r0c0": "alert"}
            with service.db.connect() as db:
                audit = db.execute(sa.text("SELECT who, action FROM audit_log")).all()
            assert ("op-a", "alert.send.refused") in audit and ("op-b", "alert.send") in audit
    finally:
        service.db.dispose()


def test_an_operator_pre_alert_is_a_message_of_its_own_and_takes_two_steps(api: Api) -> None:
    proposed = api.act(
        {
            "action": "pre_alert",
            "zones": ["r4c4", "r4c5"],
            "reason": "launches expected",
            "category": "missiles",
        }
    ).json()
    assert proposed["state"] == "pending"
    sent = api.http.post(proposed["confirm"], headers=api.auth("operator")).json()
    assert sent["state"] == "sent"
    (message,) = sent["messages"]
    assert message["level"] == "pre_alert" and message["msg_type"] == "Alert"
    cap = api.http.get(f"/v1/cap/{message['identifier']}").content
    assert b"<responseType>Prepare</responseType>" in cap
    assert api.service.engine.levels() == {"r4c4": "pre_alert", "r4c5": "pre_alert"}


def test_a_drill_goes_at_once_and_is_marked_a_drill_everywhere(api: Api) -> None:
    sent = api.act(
        {"action": "alert", "zones": ["r2c2"], "reason": "monthly drill", "status": "exercise"}
    )
    assert sent.json()["state"] == "sent"
    assert api.service.engine.levels() == {}
    zone = api.http.get("/v1/zones/r2c2").json()
    assert zone["level"] == "clear" and zone["drill"] == {
        "status": "exercise",
        "kind": "manual",
        "level": "alert",
    }
    history = api.http.get("/v1/history", params={"zone": "r2c2"}).json()["decisions"]
    assert history[0]["status"] == "exercise"
    (message,) = sent.json()["messages"]
    cap = api.http.get(f"/v1/cap/{message['identifier']}")
    assert cap.status_code == 200
    assert b"<status>Exercise</status>" in cap.content
    assert b"EXERCISE" in cap.content


def test_the_blast_radius_guard_holds_an_alert_far_larger_than_its_request(api: Api) -> None:
    # a small drawn area whose zones are many times larger: held even for a drill
    small = {
        "type": "Polygon",
        "coordinates": [
            [
                [34.601, 31.401],
                [34.603, 31.401],
                [34.603, 31.403],
                [34.601, 31.403],
                [34.601, 31.401],
            ]
        ],
    }
    held = api.act(
        {"action": "alert", "area": small, "reason": "two towns", "status": "exercise"}
    ).json()
    assert held["state"] == "pending"
    assert "times the" in held["why"]
    refused = api.http.post(held["confirm"], headers=api.auth("operator"))
    assert refused.status_code == 409 and "confirm_blast_radius" in refused.json()["error"]
    assert api.service.engine.drills() == {}
    ok = api.http.post(
        held["confirm"], json={"confirm_blast_radius": True}, headers=api.auth("operator")
    )
    assert ok.status_code == 200 and ok.json()["state"] == "sent"
    # an empty area is an error, never "everywhere"
    empty = api.act(
        {
            "action": "alert",
            "area": {"type": "Polygon", "coordinates": []},
            "reason": "missing polygon",
        }
    )
    assert empty.status_code == 422 and empty.json()["field"] == "$.area"
    # more zones than the operator expected is held too
    region = api.act(
        {"action": "alert", "region": "band0", "reason": "north", "expect_zones": 2}
    ).json()
    assert region["state"] == "pending" and "more than the 2 expected" in region["why"]


def test_an_alert_sent_in_error_is_cancelled_with_one_call_on_every_channel(api: Api) -> None:
    proposed = api.act({"action": "alert", "zones": ["r3c3", "r3c4"], "reason": "test"})
    sent = api.http.post(proposed.json()["confirm"], headers=api.auth("operator")).json()
    identifier = sent["messages"][0]["identifier"]
    with api.http.websocket_connect("/v1/ws") as socket:
        assert socket.receive_json()["event"] == "heartbeat"
        cancelled = api.http.post(
            f"/v1/alerts/{identifier}/cancel",
            json={"reason": "sent in error"},
            headers=api.auth("operator"),
        )
        assert cancelled.status_code == 200, cancelled.text
        seen: list[dict] = []
        for _ in range(20):  # heartbeats (every 0.5 s here) may come between, on a busy machine
            message = socket.receive_json()
            if message["event"] != "heartbeat":
                seen.append(message)
            if len(seen) == 3:
                break
    decisions = [m["data"] for m in seen if m["event"] == "decision"]
    assert [(d["zone"], d["level"]) for d in decisions] == [("r3c3", "clear"), ("r3c4", "clear")]
    (cap,) = [m["data"] for m in seen if m["event"] == "cap"]
    assert cap["msg_type"] == "Cancel" and cap["references"] == [identifier]
    body = api.http.get(f"/v1/cap/{cap['identifier']}").content
    assert b"<msgType>Cancel</msgType>" in body and identifier.encode() in body
    assert api.service.engine.levels() == {}
    assert api.http.get("/v1/alerts/active").json() == []
    audit = api.http.get("/v1/audit", headers=api.auth("admin")).json()
    cancel = [a for a in audit if a["action"] == "cancel"]
    assert cancel and cancel[0]["who"] == "operator-1" and cancel[0]["reason"] == "sent in error"


def test_every_manual_action_is_in_the_audit_log_with_who_when_what_and_why(api: Api) -> None:
    api.act({"action": "alert", "zones": ["r0c0"], "reason": "drill at noon", "status": "exercise"})
    api.act({"action": "clear", "zones": ["r0c0"], "reason": "drill over", "status": "exercise"})
    audit = api.http.get("/v1/audit", headers=api.auth("admin")).json()
    newest = api.http.get(
        "/v1/audit", params={"before_id": 10**9, "limit": 2}, headers=api.auth("admin")
    ).json()
    assert [a["id"] for a in newest] == [audit[-1]["id"], audit[-2]["id"]]
    assert [(a["action"], a["who"], a["reason"]) for a in audit] == [
        ("alert.request", "operator-1", "drill at noon"),
        ("alert.send", "operator-1", "drill at noon"),
        ("clear.request", "operator-1", "drill over"),
        ("clear.send", "operator-1", "drill over"),
    ]
    assert all(a["t_ms"] > 0 for a in audit)
    assert audit[0]["detail"]["request"]["zones"] == ["r0c0"]


def test_pre_alert_alert_and_all_clear_are_distinct_messages(api: Api) -> None:
    # a drone flying at the grid from the west: pre-alert ahead of it, then alert, then clear
    events = [
        track("D1", s, 31.5, 34.2 + 0.0015 * s, kind="drone", vel_mps=[140.0, 0.0, 0.0])
        for s in range(0, 400, 4)
    ]
    events.append(end("D1", 400, "intercepted"))
    answer = api.post_events(events)
    assert answer.json()["accepted"] == len(events)
    feed = api.http.get("/v1/cap/feed.atom")
    assert feed.status_code == 200 and b"<feed" in feed.content
    levels = {json.loads(line)["level"] for line in api.service.log.history(limit=10_000)}
    assert {"pre_alert", "alert"} <= levels
    # the hold ends with the next clock movement: an all-clear for every alerted zone
    api.post_events([track("X9", 400 + 700, 29.0, 30.0, kind="unknown")])
    kinds = {(row["level"], row["msg_type"]) for row in api.service.log.cap_rows()}
    assert ("pre_alert", "Alert") in kinds
    assert any(level == "alert" for level, _ in kinds)
    assert any(level == "clear" and msg == "Update" for level, msg in kinds)


def test_operators_see_each_threat_in_flight_with_its_predicted_region(api: Api) -> None:
    api.post_events(
        [
            track("D1", s, 31.5, 34.2 + 0.0015 * s, kind="drone", vel_mps=[140.0, 0.0, 0.0])
            for s in range(0, 60, 4)
        ]
    )
    assert api.http.get("/v1/threats").status_code == 401
    assert api.http.get("/v1/threats", headers=api.auth("reader")).status_code == 403
    (threat,) = api.http.get("/v1/threats", headers=api.auth("operator")).json()
    assert threat["id"] == "sensor-1/D1" and threat["kind"] == "drone"
    assert threat["sensor"] == "sensor-1" and threat["threat"] == "D1"
    assert threat["lon"] == pytest.approx(34.2 + 0.0015 * 56)
    assert threat["region"]["type"] in ("Polygon", "MultiPolygon")
    lon, lat = (
        threat["region"]["coordinates"][0][0]
        if threat["region"]["type"] == "Polygon"
        else threat["region"]["coordinates"][0][0][0]
    )
    assert 33.5 < lon < 36.0 and 30.5 < lat < 32.5  # in degrees, near the track, not metres
    api.post_events([end("D1", 60, "intercepted")])
    assert api.http.get("/v1/threats", headers=api.auth("operator")).json() == []


def test_the_public_reads_zones_levels_history_and_the_zone_for_a_point(api: Api) -> None:
    api.post_events([tick(0)])  # the event clock's time, at which the operator acts
    act(
        api.http,
        api.auth("operator"),
        as_action(manual("alert", 0, zones=["r0c0"], category="missiles")),
    )
    zone = api.http.get("/v1/zones/at", params={"lat": 31.425, "lon": 34.625}).json()
    assert zone["id"] == "r0c0" and zone["level"] == "alert" and zone["shelter_s"] == 60
    assert api.http.get("/v1/zones/at", params={"lat": 0, "lon": 0}).status_code == 404
    assert api.http.get("/v1/zones/at", params={"lat": 95, "lon": 0}).status_code == 422
    listing = api.http.get("/v1/zones")
    assert listing.headers["X-Last-Seq"] == "1"
    levels = {z["id"]: z["level"] for z in listing.json()}
    assert levels["r0c0"] == "alert" and levels["r5c5"] == "clear"
    history = api.http.get(
        "/v1/history",
        params={"region": "band0", "since": at(-10), "until": at(10), "kind": "missiles"},
    ).json()
    assert [(d["zone"], d["level"]) for d in history["decisions"]] == [("r0c0", "alert")]
    assert api.http.get("/v1/history", params={"since": at(10)}).json()["decisions"] == []
    bad = api.http.get("/v1/history", params={"zone": "nowhere"})
    assert bad.status_code == 422 and bad.json()["field"] == "zone"
    active = api.http.get("/v1/alerts/active").json()
    assert [a["zones"] for a in active] == [["r0c0"]]


def test_a_body_over_the_limit_is_refused_before_it_is_read(grid, tmp_path, signing_keys) -> None:
    service = open_service(grid, f"sqlite:///{tmp_path / 'a.db'}", signing_keys)
    token = create_token(service.db, "sensor", "s", 0)
    app = create_app(service, WebSettings(max_body_bytes=1000, rate_per_s=1, rate_burst=3))
    with TestClient(app) as http:
        big = http.post(
            "/v1/events", content=b" " * 5000, headers={"Authorization": f"Bearer {token}"}
        )
        assert big.status_code == 413
        codes = [
            http.get("/v1/zones/r0c0", headers={"Authorization": f"Bearer {token}"}).status_code
            for _ in range(6)
        ]
    assert codes[:2] == [200, 200] and 429 in codes
    assert logged_events(service) == []


def test_a_batch_of_exactly_the_most_lines_is_taken_and_one_more_is_refused(api: Api) -> None:
    most = api.http.app.state.settings.max_batch_lines
    event = encode_event(track("T1", 0, 31.45, 34.7))
    headers = {**api.auth("sensor"), "Content-Type": "application/x-ndjson"}
    # `most` lines, the last ended by a newline: taken (the blank ones are skipped)
    body = b"\n" * (most - 1) + event + b"\n"
    assert api.http.post("/v1/events", content=body, headers=headers).json()["accepted"] == 1
    # one line more, with or without the newline that ends it: refused whole
    for tail in (b"", b"\n"):
        body = b"\n" * most + event + tail
        answer = api.http.post("/v1/events", content=body, headers=headers)
        assert answer.status_code == 422, answer.text
        assert answer.json()["value"] == most + 1
        assert f"at most {most} lines" in answer.json()["error"]


def test_a_json_array_and_a_word_out_of_its_list_are_named(api: Api) -> None:
    headers = {**api.auth("sensor"), "Content-Type": "application/x-ndjson"}
    array = b"[" + encode_event(track("T1", 0, 31.45, 34.7)) + b"]"
    answer = api.http.post("/v1/events", content=array, headers=headers).json()
    assert "not an array: send JSON Lines" in answer["rejected"][0]["error"]
    bad_end = b'{"type":"end","threat":"T1","t":"2026-03-01T18:00:06Z","reason":"destroyed"}'
    answer = api.http.post("/v1/events", content=bad_end, headers=headers).json()
    assert "`reason` is one of impact, intercepted, lost" in answer["rejected"][0]["error"]


def test_a_query_parameter_out_of_range_is_named_as_the_servers_own_checks_name_it(
    api: Api,
) -> None:
    # `limit` is checked by FastAPI, `zone` by the server: an app reads both the same way
    ours = api.http.get("/v1/history", params={"zone": "nowhere"}).json()
    theirs = api.http.get("/v1/history", params={"limit": 9999})
    assert theirs.status_code == 422
    error = theirs.json()
    assert ours["field"] == "zone" and error["field"] == "limit" and error["value"] == "9999"
    assert error["error"] == "limit: should be less than or equal to 5000"
    assert error["errors"] == [
        {
            "field": "limit",
            "error": "should be less than or equal to 5000",
            "location": "query",
            "value": "9999",
        }
    ]
    # several at once: the first above, all in `errors`
    both = api.http.get("/v1/history", params={"level": "red", "limit": 0}).json()
    assert both["field"] == "level" and both["value"] == "red"
    assert both["error"].startswith("level: should be 'clear', 'pre_alert' or 'alert'")
    assert "1 more" in both["error"]
    assert [e["field"] for e in both["errors"]] == ["level", "limit"]


def test_a_body_field_of_the_wrong_shape_is_named_by_its_json_path(api: Api) -> None:
    answer = api.act({"action": "alert", "reason": "test", "zones": ["r0c0", "x" * 200]})
    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert error["field"] == "$.zones[1]" and error["value"] == "x" * 200
    assert error["error"] == "$.zones[1]: should have at most 128 characters"
    unknown = api.act({"action": "alert", "reason": "test", "zones": ["r0c0"], "zone": "r0c1"})
    assert unknown.json()["field"] == "$.zone" and "leave it out" in unknown.json()["error"]
    missing = api.act({"action": "alert", "zones": ["r0c0"]}).json()
    assert missing["field"] == "$.reason" and missing["error"] == "$.reason: required: add it"
    assert missing["value"] is None  # not the body it is missing from
    not_json = api.http.post(
        "/v1/actions",
        content=b'{"action": ',
        headers={**api.auth("operator"), "Content-Type": "application/json"},
    ).json()
    assert not_json["field"] == "$" and "not JSON" in not_json["error"]


def test_a_refused_token_is_never_sent_back_in_the_error(api: Api) -> None:
    secret = "s3cret-" + "x" * 300
    answer = api.http.post("/v1/session", json={"token": secret})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "$.token" and secret[:20] not in answer.text


def test_a_history_kind_close_to_a_threat_kind_gets_a_hint_and_an_own_category_is_found(
    api: Api,
) -> None:
    # kinds are open: an operator's own category is a kind too, even one that looks mistyped
    api.post_events([tick(0)])
    act(api.http, api.auth("operator"), as_action(manual("alert", 0, zones=["r0c0"])))
    act(
        api.http,
        api.auth("operator"),
        as_action(manual("alert", 0, zones=["r0c1"], category="rockets")),
    )

    def zones_of(kind: str) -> list[str]:
        page = api.http.get("/v1/history", params={"kind": kind}).json()
        assert "hint" not in page, page  # something matched: no guess
        return [d["zone"] for d in page["decisions"]]

    assert zones_of("rockets") == ["r0c1"] and zones_of("manual") == ["r0c0"]
    # a plural of a threat kind that matched nothing: still answered, with what it may mean
    drones = api.http.get("/v1/history", params={"kind": "drones"})
    assert drones.status_code == 200 and drones.json()["decisions"] == []
    assert "did you mean 'drone'?" in drones.json()["hint"]
    # a word of its own, or a threat kind, that matched nothing: no guess
    assert "hint" not in api.http.get("/v1/history", params={"kind": "missiles"}).json()
    assert "hint" not in api.http.get("/v1/history", params={"kind": "drone"}).json()


def test_a_wrong_token_on_a_public_read_is_refused_as_on_the_live_feed(api: Api) -> None:
    # a public read needs no token; one that is presented must stand, as the stream's must
    garbage = {"Authorization": "Bearer xyz"}
    for path in ("/v1/zones", "/v1/history", "/v1/alerts/active", "/healthz", "/v1/stream"):
        answer = api.http.get(path, headers=garbage)
        assert answer.status_code == 401, (path, answer.text)
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert "airwarn tokens list" in answer.json()["error"]
        assert "a public read takes no token" in answer.json()["error"]
    # the same reads with no token, or with one that stands
    assert api.http.get("/v1/zones").status_code == 200
    assert api.http.get("/v1/zones", headers=api.auth("reader")).status_code == 200
    # the console's session cookie is not a token presented for a read: a browser sends it to
    # the public page's reads too, which go on when the token behind the session is revoked
    api.http.cookies.set(COOKIE, api.tokens["operator"])
    assert api.http.get("/v1/session").status_code == 200  # the session stands
    revoke_token(api.service.db, "operator-1", 0)
    deadline = time.monotonic() + 5
    while api.http.get("/v1/session").status_code != 401:  # within a second, says security.md
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert api.http.get("/v1/zones").status_code == 200
    api.http.cookies.clear()
    # and the OpenAPI document says a public read may answer 401
    document = api.http.get("/openapi.json").json()
    assert "401" in document["paths"]["/v1/zones"]["get"]["responses"]
    assert "401" in document["paths"]["/healthz"]["get"]["responses"]


def test_an_operators_category_of_the_longest_allowed_is_stored_and_read_back(api: Api) -> None:
    # the contract lets an operator's category run to 64 characters (an inbound CAP message's
    # event is cut there too): both stores keep it whole in the decision and the CAP message
    category = "Hostile aircraft intrusion: take cover in the nearest shelter now"[:64]
    assert len(category) == 64
    api.post_events([tick(0)])
    act(
        api.http,
        api.auth("operator"),
        as_action(manual("alert", 0, zones=["r0c1"], category=category)),
    )
    page = api.http.get("/v1/history", params={"kind": category}).json()
    assert [d["zone"] for d in page["decisions"]] == ["r0c1"]
    with api.service.db.connect() as db:
        kinds = db.execute(sa.text("SELECT kind FROM cap_message")).scalars().all()
    assert category in kinds


def test_an_unknown_region_says_where_region_names_are_and_the_closest_one(api: Api) -> None:
    # a region is named as the zone set names it (Hebrew in Israel's: `דן`, not `Dan`)
    far = api.act(as_action(manual("alert", 0, region="Dan")))
    near = api.act(as_action(manual("alert", 0, region="band 1")))
    read = api.http.get("/v1/history", params={"region": "Band1"})
    for answer in (far, near, read):
        assert answer.status_code == 422, answer.text
        assert "GET /v1/zones lists every zone with its region" in answer.json()["error"]
    assert "did you mean" not in far.json()["error"]
    assert near.json()["error"].endswith("did you mean 'band1'?")
    assert read.json()["error"].endswith("did you mean 'band1'?")
    assert logged_events(api.service) == []


def test_israels_regions_are_suggested_in_their_own_script() -> None:
    from airwarn.layers.packaged import resolve_zones

    israel = resolve_zones(None)
    assert "did you mean" not in israel.unknown_region("Dan")
    assert israel.unknown_region("שרוו").endswith("did you mean 'שרון'?")
