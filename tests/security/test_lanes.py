"""Roles by lane: a sensor token sends tracks and ends, nothing else; manual alerts and clears
go only through the operators' path (two steps, the blast-radius guard, the audit log), and
the `by` of an action is the token that sent it. Attacked on a running `airwarn serve`, on
SQLite and on PostgreSQL (finding 1 of issue 11)."""

from __future__ import annotations

import json

from .conftest import Deployment, drone, wall

EVERY_ZONE = [f"r{r}c{c}" for r in range(6) for c in range(6)]


def manual(action: str, **extra: object) -> dict[str, object]:
    return {
        "type": "manual",
        "action": action,
        "zones": EVERY_ZONE,
        "t": wall(),
        "category": "missiles",
        "by": "operator-1",
        **extra,
    }


def test_a_sensor_cannot_alert_the_whole_country_on_the_events_path(deployment: Deployment) -> None:
    deployment.token("sensor", "radar-lanes")
    before_levels, before_seq = deployment.levels(), deployment.health()["event_seq"]
    answer = deployment.post("radar-lanes", manual("alert"))
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert "/v1/actions" in error and "manual" in error
    # nothing moved: no zone, no logged event
    assert deployment.levels() == before_levels
    assert deployment.health()["event_seq"] == before_seq


def test_a_manual_clear_and_a_drill_from_a_sensor_are_refused_too(deployment: Deployment) -> None:
    deployment.token("sensor", "radar-lanes")
    before = deployment.health()["event_seq"]
    for event in (
        manual("clear"),
        manual("alert", status="exercise"),
        manual("pre_alert", status="test"),
    ):
        answer = deployment.post("radar-lanes", event)
        assert answer.status_code == 403, (event, answer.text)
    assert deployment.health()["event_seq"] == before


def test_a_manual_line_hidden_in_a_batch_of_tracks_refuses_the_whole_batch(
    deployment: Deployment,
) -> None:
    deployment.token("sensor", "radar-lanes")
    before = deployment.health()["event_seq"]
    answer = deployment.post("radar-lanes", drone("L-batch-1"), manual("alert"), drone("L-batch-2"))
    assert answer.status_code == 403, answer.text
    assert answer.json()["line"] == 2
    assert deployment.health()["event_seq"] == before, "part of a refused batch was kept"


def test_no_role_may_post_a_manual_event(deployment: Deployment) -> None:
    deployment.token("admin", "root-lanes")
    deployment.token("operator", "duty-lanes")
    for name in ("root-lanes", "duty-lanes"):
        answer = deployment.post(name, manual("alert"))
        assert answer.status_code == 403, (name, answer.text)
    # an admin is told where manual actions go, not only that it may not
    assert "/v1/actions" in deployment.post("root-lanes", manual("alert")).json()["error"]


def test_the_operators_path_takes_two_steps_and_signs_with_the_token(
    deployment: Deployment,
) -> None:
    deployment.token("operator", "duty-lanes")
    request = {
        "action": "alert",
        "zones": ["r5c0", "r5c1"],
        "reason": "lanes: two zones",
        "category": "missiles",
    }
    with deployment.http("duty-lanes") as http:
        spoofed = http.post("/v1/actions", json={**request, "by": "someone-else"})
        assert spoofed.status_code == 422, "a client-written `by` must not be taken"
        proposed = http.post("/v1/actions", json=request)
        assert proposed.status_code == 200, proposed.text
        assert proposed.json()["state"] == "pending", "a real alert takes a second step"
        sent = http.post(proposed.json()["confirm"])
        assert sent.status_code == 200, sent.text
        assert sent.json()["decisions"]
        cleared = http.post(
            "/v1/actions",
            json={"action": "clear", "zones": ["r5c0", "r5c1"], "reason": "lanes: done"},
        )
        assert cleared.json()["state"] == "sent", cleared.text
    (body,) = deployment.rows(
        "SELECT body FROM event_log WHERE body LIKE :reason", reason="%lanes: two zones%"
    )
    assert json.loads(body[0])["by"] == "duty-lanes"


def test_a_sensor_knocking_on_the_operators_door_is_refused(deployment: Deployment) -> None:
    deployment.token("sensor", "radar-lanes")
    with deployment.http("radar-lanes") as http:
        answer = http.post(
            "/v1/actions",
            json={
                "action": "alert",
                "zones": ["r0c0"],
                "reason": "sensor tries",
                "status": "exercise",
            },
        )
    assert answer.status_code == 403


def test_a_sensors_drill_moves_no_real_zone_and_its_end_must_say_it_is_a_drill(
    deployment: Deployment,
) -> None:
    """A sensor may drill (its threats marked `exercise`): the zones around the drone show a
    drill and no real level, the warning in force says Exercise, and an end that does not
    say `exercise` ends nothing (the real lane never saw that threat)."""
    deployment.token("sensor", "radar-drill")
    real_before = deployment.levels()
    answer = deployment.post("radar-drill", drone("L-drill-1", status="exercise"))
    assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text

    def drilled() -> dict[str, str]:
        with deployment.http() as http:
            zones = http.get("/v1/zones").json()
        return {z["id"]: z["drill"]["level"] for z in zones if z.get("drill")}

    under = deployment.wait_for(lambda: drilled() or None)
    assert "alert" in under.values()
    assert deployment.levels() == real_before  # nothing real moved
    with deployment.http() as http:
        active = http.get("/v1/alerts/active").json()
    statuses = {a["status"] for a in active if set(a["zones"]) & set(under)}
    assert statuses == {"exercise"}
    unmarked = {"type": "end", "threat": "L-drill-1", "t": wall(), "reason": "intercepted"}
    answer = deployment.post("radar-drill", unmarked)
    assert answer.json()["accepted"] == 0, answer.text
    assert "status" in answer.json()["rejected"][0]["error"]
    assert set(under) <= set(drilled())  # the drill goes on
    # an operator ends it at once: cancelling the drill's message clears its zones, and the
    # drone, still reporting, takes none of them again
    deployment.token("operator", "duty-drill")
    identifiers = {a["identifier"] for a in active if set(a["zones"]) & set(under)}
    with deployment.http("duty-drill") as http:
        for identifier in identifiers:
            answer = http.post(
                f"/v1/alerts/{identifier}/cancel", json={"reason": "the drill is over"}
            )
            assert answer.status_code == 200, answer.text
    gone = deployment.wait_for(lambda: not set(under) & set(drilled()) or None)
    assert gone
    deployment.post("radar-drill", drone("L-drill-1", 1.0, status="exercise"))
    assert not set(under) & set(drilled())
    assert deployment.levels() == real_before
