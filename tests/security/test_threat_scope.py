"""Threat ids are scoped per sensor: a sensor's `T1` is stored and shown as `<sensor>/T1`, so
one sensor can neither end nor feed another's track, and an `end` for a threat that sensor
never reported is refused instead of blocking the real reports to come. Attacked on a running
`airwarn serve`, and through an edge on the bus (finding 5 of issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from conftest import postgres_schema
from hypothesis import given
from hypothesis import strategies as st
from kits.serverkit import Launcher

from .conftest import Deployment, drone, ended, store_at


def threats(deployment: Deployment) -> dict[str, dict[str, object]]:
    deployment.token("operator", "duty-scope")
    with deployment.http("duty-scope") as http:
        return {t["id"]: t for t in http.get("/v1/threats").json()}


def test_a_sensor_cannot_end_another_sensors_track(deployment: Deployment) -> None:
    deployment.token("sensor", "radar-a")
    deployment.token("sensor", "radar-b")
    first = deployment.post("radar-a", drone("T1", lat=31.45, lon=34.65))
    assert first.status_code == 200 and first.json()["accepted"] == 1, first.text
    assert "radar-a/T1" in threats(deployment)
    for forged in ("T1", "radar-a/T1"):
        answer = deployment.post("radar-b", ended(forged))
        assert answer.status_code == 422, answer.text
        (rejected,) = answer.json()["rejected"]
        assert "never reported" in rejected["error"], rejected
    # the real track is still in flight, and its sensor can still feed and end it
    assert "radar-a/T1" in threats(deployment)
    assert deployment.post("radar-a", drone("T1", 0.2, lat=31.451, lon=34.651)).status_code == 200
    done = deployment.post("radar-a", ended("T1", 0.3))
    assert done.status_code == 200 and done.json()["accepted"] == 1, done.text
    assert "radar-a/T1" not in threats(deployment)


def test_an_end_sent_before_any_report_does_not_block_the_real_threat(
    deployment: Deployment,
) -> None:
    deployment.token("sensor", "radar-b")
    deployment.token("sensor", "radar-c")
    blocked = deployment.post("radar-b", ended("T7"))
    assert blocked.status_code == 422, blocked.text
    assert "never reported" in blocked.json()["rejected"][0]["error"]
    real = deployment.post("radar-c", drone("T7", lat=31.66, lon=34.66))
    assert real.status_code == 200, real.text
    assert real.json()["accepted"] == 1 and not real.json().get("ignored"), real.text
    assert real.json()["decisions"] > 0, "the real threat's report must act"
    assert "radar-c/T7" in threats(deployment)


def test_the_same_id_from_two_sensors_is_two_threats(deployment: Deployment) -> None:
    deployment.token("sensor", "radar-a")
    deployment.token("sensor", "radar-b")
    for name in ("radar-a", "radar-b"):
        assert deployment.post(name, drone("T-shared", lat=31.6, lon=34.8)).status_code == 200
    seen = threats(deployment)
    assert {"radar-a/T-shared", "radar-b/T-shared"} <= set(seen)
    assert seen["radar-a/T-shared"]["sensor"] == "radar-a"
    assert seen["radar-a/T-shared"]["threat"] == "T-shared"
    stored = {
        json.loads(b)["threat"]
        for (b,) in deployment.rows("SELECT body FROM event_log WHERE body LIKE '%T-shared%'")
    }
    assert stored == {"radar-a/T-shared", "radar-b/T-shared"}


def test_decisions_name_the_scoped_threat(launcher: Launcher, tmp_path: Path) -> None:
    with store_at("sqlite", tmp_path) as db:
        fresh = Deployment(launcher, tmp_path, db)  # no other threat holds its zones
        fresh.token("sensor", "radar-d")
        fresh.server.start()
        try:
            answer = fresh.post("radar-d", drone("T-dec"))
            assert answer.json()["decisions"] > 0, answer.text
            with fresh.http() as http:
                recent = http.get("/v1/history", params={"limit": 200}).json()["decisions"]
        finally:
            fresh.server.stop()
    assert recent and all(
        d["threats"] == ["radar-d/T-dec"] for d in recent if d["level"] == "alert"
    )


@pytest.mark.slow  # about 15 s: two engines and an edge on the bus
def test_an_edge_forwards_the_identity_so_scoping_and_refusals_hold_on_the_engine(
    launcher: Launcher, tmp_path: Path
) -> None:
    import nats  # noqa: F401 - the bus client is installed with airwarn
    from kits.buskit import Cluster

    with postgres_schema() as db:
        zones = Deployment(launcher, tmp_path, db).zones  # writes the grid's zone file
        cluster = Cluster(launcher, tmp_path, zones, db)
        token_a = launcher.run(
            ["tokens", "create", "--role", "sensor", "--name", "edge-a", "--db", db], tmp_path
        ).strip()
        token_b = launcher.run(
            ["tokens", "create", "--role", "sensor", "--name", "edge-b", "--db", db], tmp_path
        ).strip()
        admin = launcher.run(
            ["tokens", "create", "--role", "admin", "--name", "edge-admin", "--db", db], tmp_path
        ).strip()
        try:
            cluster.start()
        except Exception:
            cluster.stop()
            raise
        try:

            def post(token: str, *events: dict[str, object]) -> httpx.Response:
                body = "\n".join(json.dumps(e) for e in events)
                return httpx.post(
                    cluster.edge.url + "/v1/events",
                    content=body,
                    timeout=30,
                    headers={"Authorization": f"Bearer {token}"},
                )

            # the cluster runs on the event clock (a lab mode): times are the raid's own
            report = {**drone("T1"), "t": "2026-03-01T18:00:00Z"}
            assert post(token_a, report).json()["accepted"] == 1
            forged = {**ended("T1"), "t": "2026-03-01T18:00:01Z"}
            assert post(token_b, forged).status_code == 422
            manual = {
                "type": "manual",
                "action": "alert",
                "zones": ["r0c0"],
                "t": "2026-03-01T18:00:01Z",
                "by": "edge-a",
            }
            assert post(token_b, manual).status_code == 403
            stored = [
                json.loads(b)
                for (b,) in Deployment(launcher, tmp_path, db).rows(
                    "SELECT body FROM event_log ORDER BY seq"
                )
            ]
            assert [e.get("threat") for e in stored if e["type"] == "track"] == ["edge-a/T1"]
            audit = httpx.get(
                cluster.edge.url + "/v1/audit",
                timeout=30,
                headers={"Authorization": f"Bearer {admin}"},
            ).json()
            refused = {(a["who"], a["action"]) for a in audit}
            assert ("edge-b", "events.manual.refused") in refused
            assert ("edge-b", "events.refused") in refused
        finally:
            cluster.stop()


@given(
    st.text(min_size=1, max_size=40),
    st.text(min_size=1, max_size=40),
    st.text(min_size=1, max_size=40),
    st.text(min_size=1, max_size=40),
)
def test_two_sensors_never_make_the_same_scoped_id(
    sensor_a: str, threat_a: str, sensor_b: str, threat_b: str
) -> None:
    # a sensor named "a/b" reporting "c" and one named "a" reporting "b/c" stay apart
    from airwarn.lanes import scoped_threat, threat_owner

    one, other = scoped_threat(sensor_a, threat_a), scoped_threat(sensor_b, threat_b)
    assert (one == other) == ((sensor_a, threat_a) == (sensor_b, threat_b))
    assert threat_owner(one) == (sensor_a, threat_a)


def test_a_sensor_that_floods_new_threats_is_refused_past_its_share_and_others_are_not(
    launcher: Launcher, tmp_path: Path
) -> None:
    # a stolen sensor token that keeps starting threats would make the engine hold every one
    # of them (about 80 kB a drone): past --max-threats-per-sensor its new ones are refused,
    # what it holds still flies, and another sensor's threats are taken as before
    with store_at("sqlite", tmp_path) as db:
        served = Deployment(launcher, tmp_path, db, "--max-threats-per-sensor", "3")
        served.token("sensor", "radar-flood")
        served.token("sensor", "radar-calm")
        served.server.start()
        try:
            for i in range(3):
                taken = served.post("radar-flood", drone(f"F{i}", lat=31.45 + 0.05 * i))
                assert taken.status_code == 200 and taken.json()["accepted"] == 1, taken.text
            refused = served.post("radar-flood", drone("F3", lat=31.6))
            assert refused.status_code == 422, refused.text
            (why,) = refused.json()["rejected"]
            assert why["field"] == "$.threat" and "--max-threats-per-sensor" in why["error"]
            # a threat it holds is still fed; another sensor is not held back
            fed = served.post("radar-flood", drone("F0", 0.2, lat=31.451))
            assert fed.status_code == 200 and fed.json()["accepted"] == 1, fed.text
            other = served.post("radar-calm", drone("C1", lat=31.7))
            assert other.status_code == 200 and other.json()["accepted"] == 1, other.text
            # ending one makes room for one more
            assert served.post("radar-flood", ended("F1", 0.3)).status_code == 200
            again = served.post("radar-flood", drone("F3", 0.4, lat=31.6))
            assert again.status_code == 200 and again.json()["accepted"] == 1, again.text
            # at the bound again: a report for the ended one is taken and ignored as before,
            # and a lost one still holds its place (its sensor may take it up again)
            late = served.post("radar-flood", drone("F1", 0.5, lat=31.5))
            assert late.status_code == 200 and late.json()["ignored"], late.text
            assert served.post("radar-flood", ended("F2", 0.6, reason="lost")).status_code == 200
            still = served.post("radar-flood", drone("F4", 0.7, lat=31.65))
            assert still.status_code == 422 and "impact or intercepted" in still.text
            stored = {
                json.loads(b)["threat"]
                for (b,) in served.rows("SELECT body FROM event_log WHERE body LIKE '%flood%'")
            }
            assert stored == {f"radar-flood/F{i}" for i in range(4)}  # the refused: not
            refusals = [a for a in served.audit() if a["who"] == "radar-flood"]
        finally:
            served.server.stop()
    assert refusals, "the refusal is an attempt the audit log keeps"
