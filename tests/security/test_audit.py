"""Every write is audited under the authenticated name, refused attempts at privileged actions
included: a manual event or a tick on the sensors' path, an end of another sensor's threat, a
sensor at the operators' door, a real alert confirmed without its blast-radius check, tokens
made and revoked. Against a running `airwarn serve` on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

from .conftest import Deployment, drone, ended, wall


def entries(deployment: Deployment, who: str) -> list[dict[str, Any]]:
    return [e for e in deployment.audit() if e["who"] == who]


def test_refused_writes_on_the_events_path_are_audited_with_the_token_name(
    deployment: Deployment,
) -> None:
    deployment.token("sensor", "radar-audit")
    manual = {
        "type": "manual",
        "action": "alert",
        "zones": ["r0c0"],
        "t": wall(),
        "by": "operator-1",
    }
    assert deployment.post("radar-audit", manual).status_code == 403
    assert deployment.post("radar-audit", {"type": "tick", "t": wall(600)}).status_code == 403
    # one batch, one entry that lists its refused lines (floods are counted, not written
    # one by one)
    refused = deployment.post("radar-audit", ended("never-seen"), drone("U-future", 120.0))
    assert refused.status_code == 422
    seen = entries(deployment, "radar-audit")
    actions = [e["action"] for e in seen]
    assert "events.manual.refused" in actions and "events.tick.refused" in actions
    refused = [e for e in seen if e["action"] == "events.refused"]
    whys = " ".join(str(line) for e in refused for line in e["detail"]["lines"])
    assert "never reported" in whys and "future" in whys
    assert all(e["role"] == "sensor" for e in seen)
    manual_entry = next(e for e in seen if e["action"] == "events.manual.refused")
    assert manual_entry["detail"]["zones"] == 1 and manual_entry["detail"]["by"] == "operator-1"


def test_a_flood_of_refusals_is_counted_in_few_entries(deployment: Deployment) -> None:
    deployment.token("sensor", "radar-flood")
    with deployment.http("radar-flood") as http:
        codes = [
            http.post(
                "/v1/actions", json={"action": "alert", "zones": ["r0c0"], "reason": "flood"}
            ).status_code
            for _ in range(30)
        ]
    assert codes == [403] * 30
    time.sleep(1.1)
    with deployment.http("radar-flood") as http:
        assert http.get("/v1/audit").status_code == 403  # another door: its own entry
        assert http.post("/v1/actions", json={}).status_code == 403
    seen = [
        e
        for e in entries(deployment, "radar-flood")
        if e["action"] == "access.refused" and e["detail"]["path"] == "/v1/actions"
    ]
    assert 2 <= len(seen) < 30
    counted = len(seen) + sum(e["detail"].get("more_since_last_entry", 0) for e in seen)
    assert counted == 31, seen


def test_a_sensor_at_the_operators_door_is_audited(deployment: Deployment) -> None:
    deployment.token("sensor", "radar-door")
    with deployment.http("radar-door") as http:
        answer = http.post(
            "/v1/actions", json={"action": "alert", "zones": ["r0c0"], "reason": "let me in"}
        )
    assert answer.status_code == 403
    (entry,) = [e for e in entries(deployment, "radar-door") if e["action"] == "access.refused"]
    assert entry["detail"]["path"] == "/v1/actions" and entry["detail"]["method"] == "POST"
    assert entry["detail"]["needs"] == "operate"


def test_operator_actions_and_their_refusals_are_audited_under_the_token(
    deployment: Deployment,
) -> None:
    deployment.token("operator", "duty-audit")
    everything = [f"r{r}c{c}" for r in range(6) for c in range(6)]
    with deployment.http("duty-audit") as http:
        held = http.post(
            "/v1/actions",
            json={
                "action": "alert",
                "zones": everything,
                "reason": "audit: too wide",
                "expect_zones": 2,
            },
        )
        assert held.json()["state"] == "pending" and held.json()["reach"]["held"], held.text
        refused = http.post(held.json()["confirm"])
        assert refused.status_code == 409, refused.text
        unknown = http.post(
            "/v1/actions",
            json={"action": "alert", "zones": ["atlantis"], "reason": "audit: no such zone"},
        )
        assert unknown.status_code == 422
        drill = http.post(
            "/v1/actions",
            json={
                "action": "alert",
                "zones": ["r0c5"],
                "status": "exercise",
                "reason": "audit: drill",
            },
        )
        assert drill.json()["state"] == "sent", drill.text
    actions = {e["action"] for e in entries(deployment, "duty-audit")}
    assert {
        "alert.request",
        "alert.send.refused",
        "alert.request.refused",
        "alert.send",
    } <= actions, actions


def test_tokens_made_and_revoked_are_audited(deployment: Deployment) -> None:
    deployment.token("reader", "reader-audit")
    deployment.cli("tokens", "revoke", "reader-audit", "--db", deployment.db)
    made = [
        e
        for e in deployment.audit()
        if e["action"] in ("token.create", "token.revoke")
        and e["detail"].get("name") == "reader-audit"
    ]
    assert [e["action"] for e in made] == ["token.create", "token.revoke"]
    assert all(e["who"].startswith("cli:") for e in made)
    assert made[0]["detail"]["role"] == "reader"
