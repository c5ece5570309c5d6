"""Only the server's clock ticks: a client's `tick` is refused, and a report from the future
(beyond a small skew) or older than the reorder window is refused with its reason, never
taken and silently dropped. The event clock (`--clock events`) is a lab mode and says so.
Attacked on a running `airwarn serve` (finding 4 of issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kits.serverkit import Launcher

from .conftest import Deployment, drone, ended, store_at, wall


def test_a_client_tick_to_2099_is_refused_and_the_alerts_stand(deployment: Deployment) -> None:
    deployment.token("sensor", "radar-clock")
    taken = deployment.post(
        "radar-clock", drone("C-1", lat=31.42, lon=34.62, vel_mps=[0.0, 40.0, 0.0])
    )
    assert taken.status_code == 200 and taken.json()["accepted"] == 1, taken.text
    alerted = {z for z, level in deployment.levels().items() if level == "alert"}
    assert {"r0c0", "r1c1"} <= alerted
    before = deployment.health()["event_seq"]
    answer = deployment.post("radar-clock", {"type": "tick", "t": "2099-01-01T00:00:00Z"})
    assert answer.status_code == 403, answer.text
    assert "clock" in answer.json()["error"]
    assert deployment.health()["event_seq"] == before
    assert alerted <= {z for z, level in deployment.levels().items() if level == "alert"}
    # later reports still count: the clock was not moved on
    later = deployment.post(
        "radar-clock", drone("C-1", 0.5, lat=31.421, lon=34.62, vel_mps=[0.0, 40.0, 0.0])
    )
    assert later.status_code == 200 and later.json()["accepted"] == 1, later.text
    assert not later.json().get("ignored"), later.text
    # and nothing in the log but the server's own ticks
    sources = {
        source
        for (source,) in deployment.rows(
            'SELECT source FROM event_log WHERE body LIKE \'%"type":"tick"%\''
        )
    }
    assert sources <= {"airwarn"}


def test_a_report_from_the_future_is_refused_with_the_reason(deployment: Deployment) -> None:
    deployment.token("sensor", "radar-clock")
    answer = deployment.post("radar-clock", drone("C-future", 60.0))
    assert answer.status_code == 422, answer.text
    (rejected,) = answer.json()["rejected"]
    assert rejected["line"] == 1 and rejected["field"] == "$.t"
    assert "future" in rejected["error"] and "5 s" in rejected["error"]
    # an end from the future is no better
    assert deployment.post("radar-clock", ended("C-future", 3600.0)).status_code == 422


def test_a_report_within_the_skew_is_taken(deployment: Deployment) -> None:
    deployment.token("sensor", "radar-clock")
    answer = deployment.post("radar-clock", drone("C-skew", 2.0, lat=31.68, lon=34.88))
    assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text


def test_a_report_older_than_the_reorder_window_is_refused_not_dropped(
    deployment: Deployment,
) -> None:
    deployment.token("sensor", "radar-clock")
    answer = deployment.post("radar-clock", drone("C-old", -45.0, lat=31.68, lon=34.88))
    assert answer.status_code == 422, answer.text
    (rejected,) = answer.json()["rejected"]
    assert "reorder window" in rejected["error"] and "30 s" in rejected["error"]
    # on the wall clock, the way to replay a recorded raid is named
    assert "run the server with --clock events" in rejected["error"]


def test_the_skew_is_a_setting(launcher: Launcher, tmp_path: Path) -> None:
    with store_at("sqlite", tmp_path) as db:
        strict = Deployment(launcher, tmp_path, db, "--max-skew-s", "1")
        strict.token("sensor", "radar")
        strict.server.start()
        try:
            answer = strict.post("radar", drone("S-1", 3.0))
            assert answer.status_code == 422, answer.text
            assert "1 s" in answer.json()["rejected"][0]["error"]
            assert strict.post("radar", drone("S-1", 0.0)).status_code == 200
        finally:
            strict.server.stop()


def test_the_event_clock_is_a_lab_mode_and_says_so(launcher: Launcher, tmp_path: Path) -> None:
    with store_at("sqlite", tmp_path) as db:
        lab = Deployment(launcher, tmp_path, db, clock="events")
        lab.token("sensor", "replayer")
        lab.server.start()
        try:
            health = lab.health()
            assert health["clock"] == "events" and health["lab"] is True
            # recorded raids: old times are fine, and ticks from the replaying client move
            # the clock; manual events still go through the operators' path only
            old = {**drone("E-1"), "t": "2026-03-01T18:00:00Z"}
            assert lab.post("replayer", old).json()["accepted"] == 1
            tick = lab.post("replayer", {"type": "tick", "t": "2026-03-01T18:20:00Z"})
            assert tick.status_code == 200 and tick.json()["accepted"] == 1, tick.text
            manual = {
                "type": "manual",
                "action": "alert",
                "zones": ["r0c0"],
                "t": "2026-03-01T18:20:00Z",
            }
            assert lab.post("replayer", manual).status_code == 403
        finally:
            lab.server.stop()
        log = (tmp_path / "serve.log").read_text()
        assert "lab" in log and "not for production" in log


@pytest.mark.parametrize("offset_s", [-31.0, 6.0])
def test_a_wall_clock_server_restarted_after_refusals_holds_the_same_state(
    launcher: Launcher, tmp_path: Path, offset_s: float
) -> None:
    with store_at("sqlite", tmp_path) as db:
        served = Deployment(launcher, tmp_path, db)
        served.token("sensor", "radar")
        served.server.start()
        try:
            assert served.post("radar", drone("R-1")).status_code == 200
            assert served.post("radar", drone("R-1", offset_s)).status_code == 422
            assert served.post("radar", {"type": "tick", "t": wall(3600)}).status_code == 403
            levels = served.levels()
            assert levels
            served.server.stop()
            served.server.start()
            assert served.levels() == levels
            bodies = [json.loads(b) for (b,) in served.rows("SELECT body FROM event_log")]
            assert [b["type"] for b in bodies if b["type"] != "tick"] == ["track"]
        finally:
            served.server.stop()
