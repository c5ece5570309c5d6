"""The harder simulator: sensor cells that do what they say, honest physics that is not the
engine's, and threats that manoeuvre within their airframes' limits."""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter, defaultdict
from typing import Any

import numpy as np
import pyproj
import pytest
from conftest import grid_zones, require_data
from typer.testing import CliRunner

from airwarn.contract import parse_time
from airwarn.engine import physics
from airwarn.engine.threat_kinds import PROFILES
from airwarn.engine.zones import ZoneSet, load_zones, write_zones, zones_from_geojson
from airwarn.sim.conditions import CELLS, Conditions, ConditionsError, cells_for, with_shelter
from airwarn.sim.hardraid import plan_under, simulate_under
from airwarn.sim.maneuvers import hard_turn_rate_dps
from airwarn.sim.scenarios import START, RoutePath, simulate
from airwarn.sim.truth_flight import STILL, TrueBallisticPath, Weather, drag_ratio, fly

GEOD = pyproj.Geod(ellps="WGS84")
START_MS = parse_time(START)


@pytest.fixture(scope="module")
def israel() -> ZoneSet:
    from airwarn.layers.israel import import_israel

    return ZoneSet(import_israel(require_data("israel", "israel_alert_areas.geojson")).zones)


@pytest.fixture(scope="module")
def ukraine() -> ZoneSet:
    from airwarn.layers.ukraine import import_ukraine

    path = require_data("ukraine", "ua_hromadas.geojson")
    return ZoneSet(import_ukraine(path, "hromada", 90).zones)


def seconds(text: str) -> float:
    return (parse_time(text) - START_MS) / 1000.0


def reports(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        if event["type"] == "track":
            out[event["threat"]].append(event)
    return out


# --- the sensors --------------------------------------------------------------------------------


def test_a_sparse_sensor_reports_at_the_stated_interval(israel):
    events, truth = simulate_under(israel, "ballistic", 2, Conditions(interval_s=15.0), count=4)
    assert truth["conditions"]["interval_s"] == 15.0
    for threat, mine in reports(events).items():
        times = sorted({seconds(r["t"]) for r in mine})
        steps = np.diff(times)
        assert len(steps) >= 10, threat
        assert statistics.median(steps) == pytest.approx(15.0, abs=0.5)
        assert steps.min() >= 15.0 * 0.97 - 1e-3  # a dropped report makes a longer gap only


def test_every_report_declares_the_cells_noise_and_the_true_error_is_no_smaller(israel):
    conditions = Conditions(noise_m=100.0, interval_s=1.0)
    events, _ = simulate_under(israel, "ballistic", 3, conditions, count=3)
    raid, threats = plan_under(israel, "ballistic", 3, conditions, count=3)
    by_id = {t.threat: t for t in threats}
    east: dict[str, list[float]] = defaultdict(list)
    for event in events:
        if event["type"] != "track":
            continue
        assert event["sigma_m"] == 100
        truth = by_id[event["threat"]].path.at(seconds(event["t"]))
        azimuth, _, dist = GEOD.inv(truth.lon, truth.lat, event["lon"], event["lat"])
        east[event["threat"]].append(dist * math.sin(math.radians(azimuth)))
    pooled = [e for errors in east.values() for e in errors]
    assert len(pooled) > 300
    # Scale 0.9-1.25 and a bias of 0.3 sigma: the spread about the truth exceeds the declared.
    assert 90.0 < math.sqrt(statistics.fmean(e * e for e in pooled)) < 150.0
    # Errors of reports a second apart are correlated (a 5 s Gauss-Markov process).
    lagged = [(a, b) for errors in east.values() for a, b in zip(errors, errors[1:], strict=False)]
    assert np.corrcoef(np.array(lagged).T)[0, 1] > 0.5


def test_an_understating_sensor_errs_that_many_times_what_it_declares(israel):
    conditions = Conditions(noise_m=100.0, interval_s=1.0, error_scale=3.0)
    events, truth = simulate_under(israel, "ballistic", 3, conditions, count=3)
    assert truth["conditions"]["error_scale"] == 3.0
    raid, threats = plan_under(israel, "ballistic", 3, conditions, count=3)
    by_id = {t.threat: t for t in threats}
    east = []
    for event in events:
        if event["type"] == "track":
            assert event["sigma_m"] == 100  # it still declares 100 m
            truth_at = by_id[event["threat"]].path.at(seconds(event["t"]))
            azimuth, _, dist = GEOD.inv(truth_at.lon, truth_at.lat, event["lon"], event["lat"])
            east.append(dist * math.sin(math.radians(azimuth)))
    assert len(east) > 300
    # three times 100 m, and the bias of 0.3 of that: an RMS of about 310 m
    assert 250.0 < math.sqrt(statistics.fmean(e * e for e in east)) < 400.0


def test_reports_are_dropped_doubled_and_late(ukraine):
    conditions = Conditions(interval_s=1.0)
    events, truth = simulate_under(ukraine, "ballistic", 4, conditions, count=12)
    tracks = [e for e in events if e["type"] == "track"]
    keys = Counter((e["threat"], e["t"]) for e in tracks)
    doubled = sum(n - 1 for n in keys.values())
    assert 0.01 * len(tracks) < doubled < 0.04 * len(tracks)
    slots = 0
    for row in truth["threats"]:
        last = (
            seconds(row["end_t"]) if row["end_reason"] != "impact" else seconds(row["impact"]["t"])
        )
        slots += math.ceil(last - seconds(row["first_report_t"]))
    dropped = 1.0 - len(keys) / slots
    assert 0.02 < dropped < 0.08
    latest: dict[str, float] = {}
    late = 0
    for event in tracks:
        t = seconds(event["t"])
        if t < latest.get(event["threat"], -math.inf):
            late += 1
            assert latest[event["threat"]] - t <= 8.0 + 1e-3
        latest[event["threat"]] = max(t, latest.get(event["threat"], -math.inf))
    assert 0.01 * len(tracks) < late < 0.06 * len(tracks)


@pytest.mark.parametrize("acquire", ["launch", "mid", "late"])
def test_acquisition_from_launch_halfway_or_late_in_flight(israel, acquire):
    _, truth = simulate_under(israel, "ballistic", 5, Conditions(acquire=acquire), count=5)
    for row in truth["threats"]:
        launch, first = seconds(row["launch"]["t"]), seconds(row["first_report_t"])
        flight = row["flight_s"]
        seen = first - launch
        if acquire == "launch":
            assert 0.5 <= seen <= 2.0 + 1e-3
        elif acquire == "mid":
            assert 0.5 * flight <= seen <= 0.5 * flight + 2.0 + 1e-3
        else:
            left = flight - seen
            assert left == pytest.approx(min(max(0.2 * flight, 10.0), 120.0), abs=1e-2)


def test_a_cell_changes_the_sensors_not_the_raid(ukraine):
    _, honest = simulate_under(ukraine, "rockets", 6, CELLS["honest"], count=4)
    events, noisy = simulate_under(ukraine, "rockets", 6, CELLS["noise-300"], count=4)
    assert simulate_under(ukraine, "rockets", 6, CELLS["noise-300"], count=4) == (events, noisy)
    for a, b in zip(honest["threats"], noisy["threats"], strict=True):
        assert (a["impact"], a.get("would_impact")) == (b["impact"], b.get("would_impact"))
        assert a["end_reason"] == b["end_reason"]
        assert a["path"] == b["path"]


# --- honest physics --------------------------------------------------------------------------


def test_the_truth_is_not_flown_with_the_engines_physics(ukraine):
    _, threats = plan_under(ukraine, "rockets", 2, Conditions(), count=6)
    for threat in threats:
        path = threat.path
        assert isinstance(path, TrueBallisticPath)
        r0, v0 = path.flight.positions[0], path.flight.velocities[0]
        engine = physics.fly(r0, v0, path.flight.times_s[0], threat.beta_kg_m2, max_s=3600.0)
        assert engine.impact is not None
        _, _, miss = GEOD.inv(
            engine.impact.lon, engine.impact.lat, threat.impact[1], threat.impact[0]
        )
        assert miss > 100.0  # Mach-dependent drag, wind and the day's air move the impact
    # The drag law: a transonic peak, less drag subsonic and at high Mach than at Mach 2.
    assert drag_ratio(2.0) == pytest.approx(1.0)
    assert drag_ratio(1.05) == pytest.approx(1.3)
    assert drag_ratio(0.5) < 0.7 and drag_ratio(6.0) < 0.8


def test_wind_carries_a_falling_body_downwind():
    r0 = physics.geodetic_to_ecef(31.5, 34.6, 10_000.0)
    v0 = physics.enu_to_ecef_vector(31.5, 34.6, 0.0, 0.0, -50.0)
    still = fly(r0, v0, 0.0, 2_000.0, STILL).impact
    east = fly(r0, v0, 0.0, 2_000.0, Weather(1.0, math.pi / 2, 10.0, 40.0, 0.0)).impact
    assert still is not None and east is not None
    azimuth, _, drift = GEOD.inv(still[1], still[0], east[1], east[0])
    assert drift > 200.0 and abs(azimuth - 90.0) < 5.0


@pytest.mark.parametrize("body", ["sleek", "draggy"])
def test_sleek_and_draggy_bodies_lie_at_the_ends_of_the_kinds_range(israel, body):
    _, truth = simulate_under(israel, "rockets", 7, Conditions(body=body), count=5)
    profile = PROFILES["rocket"]
    lo, hi = math.log(profile.beta_low_kg_m2), math.log(profile.beta_high_kg_m2)
    for row in truth["threats"]:
        if row["flown"] != "honest":
            continue
        x = (math.log(row["beta_kg_m2"]) - lo) / (hi - lo)
        assert (0.9 - 1e-3 <= x <= 1.0 + 1e-3) if body == "sleek" else (-1e-3 <= x <= 0.1 + 1e-3)
    assert sum(row["flown"] == "honest" for row in truth["threats"]) >= 4


def test_a_uniform_shelter_time_leaves_rockets_flights_shorter_than_it(ukraine):
    zones = with_shelter(ukraine, 180)
    assert set(zones.shelter_s.tolist()) == {180}
    _, truth = simulate_under(zones, "rockets", 1, CELLS["shelter-180"], count=5)
    assert truth["shelter_s"] == 180
    assert all(row["flight_s"] < 180.0 for row in truth["threats"])


# --- manoeuvres ------------------------------------------------------------------------------


def _turn_rates(path: RoutePath, after_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Turn rates (deg/s) from the true headings, before and after a time."""
    headings = np.degrees(np.arctan2(np.array(path.east), np.array(path.north)))
    times = np.array([path.time_of(i) for i in range(len(path.lat))])
    turn = np.abs((np.diff(headings) + 180.0) % 360.0 - 180.0) / np.diff(times)
    return turn[times[1:] < after_s - 0.01], turn[times[:-1] >= after_s - 0.01]


def test_a_hard_turn_drone_turns_at_the_stated_rate(ukraine):
    _, threats = plan_under(ukraine, "drones", 3, Conditions(maneuver="turn"), count=4)
    turned = [t for t in threats if t.maneuver["kind"] == "turn"]  # type: ignore[attr-defined]
    assert len(turned) >= 3
    for threat in turned:
        info = threat.maneuver  # type: ignore[attr-defined]
        path = threat.path
        assert isinstance(path, RoutePath)
        stated = info["turn_rate_dps"]
        assert stated == pytest.approx(hard_turn_rate_dps("drone", threat.speed_mps), abs=0.01)
        assert 10.0 <= stated <= 12.5  # 45 degrees of bank at 45-55 m/s
        before, after = _turn_rates(path, info["t_s"])
        assert before.max() <= 3.0 + 0.01  # the cruise turn rate until then
        # It turns at the hard rate, never faster, by 40 degrees or more within seconds.
        assert after.max() == pytest.approx(stated, abs=0.01)
        assert after[: round(10.0 / path.dt_s)].sum() * path.dt_s >= 40.0
        assert threat.impact == (path.lat[-1], path.lon[-1], path.t_end_s)
        assert ukraine.zone_at(threat.impact[1], threat.impact[0]) is not None


def test_a_reversing_cruise_missile_comes_down_behind_where_it_turned(ukraine):
    _, threats = plan_under(ukraine, "cruise", 3, Conditions(maneuver="reverse"), count=5)
    reversed_ = [t for t in threats if t.maneuver["kind"] == "reverse"]  # type: ignore
    assert reversed_
    for threat in reversed_:
        path = threat.path
        assert isinstance(path, RoutePath)
        t_turn = threat.maneuver["t_s"]  # type: ignore[attr-defined]
        i = round((t_turn - path.t0_s) / path.dt_s)
        heading = math.degrees(math.atan2(path.east[i], path.north[i]))
        azimuth, _, _ = GEOD.inv(path.lon[i], path.lat[i], threat.impact[1], threat.impact[0])
        assert abs((azimuth - heading + 180.0) % 360.0 - 180.0) > 110.0


def test_loitering_and_dashing_threats(ukraine):
    _, loiter = plan_under(ukraine, "drones", 2, Conditions(maneuver="loiter"), count=3)
    for threat in loiter:
        info = threat.maneuver  # type: ignore[attr-defined]
        assert info["kind"] == "loiter" and 120.0 <= info["loiter_s"] <= 480.0
        path = threat.path
        assert isinstance(path, RoutePath)
        # It circles at its cruise turn rate (3 deg/s) for the stated time: whole turns.
        _, after = _turn_rates(path, info["t_s"])
        circling = after[: round(info["loiter_s"] / path.dt_s)]
        assert circling.sum() * path.dt_s == pytest.approx(3.0 * info["loiter_s"], rel=0.02)
    _, dash = plan_under(ukraine, "cruise", 2, Conditions(maneuver="speedup"), count=3)
    for threat in dash:
        path = threat.path
        assert isinstance(path, RoutePath)
        speeds = np.hypot(np.hypot(path.east, path.north), path.up)
        top = threat.maneuver["top_speed_mps"]  # type: ignore[attr-defined]
        assert top == pytest.approx(1.15 * threat.speed_mps, abs=0.1)
        assert speeds.max() == pytest.approx(top, rel=1e-3)


# --- knobs, cells and the command line -------------------------------------------------------


def test_out_of_range_knobs_name_the_flag():
    with pytest.raises(ConditionsError, match="--noise-m"):
        Conditions(noise_m=5.0)
    with pytest.raises(ConditionsError, match="--acquire must be one of launch"):
        Conditions(acquire="early")
    with pytest.raises(ConditionsError, match="--shelter-s"):
        Conditions(shelter_s=5)
    with pytest.raises(ConditionsError, match="--error-scale must be between 0.25 and 10"):
        Conditions(error_scale=20.0)
    assert "maneuver-turn" in cells_for("drone") and "maneuver-turn" not in cells_for("rocket")
    assert "body-sleek" in cells_for("ballistic") and "body-sleek" not in cells_for("cruise")


def test_simulate_with_knobs_writes_the_zones_with_their_shelter_time(tmp_path):
    from airwarn.cli import app

    zones_path = tmp_path / "zones.geojson"
    write_zones(zones_from_geojson(grid_zones()).zones, zones_path)
    runner = CliRunner()
    out = tmp_path / "sim"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--zones",
            str(zones_path),
            "--scenario",
            "rockets",
            "--count",
            "4",
            "--noise-m",
            "150",
            "--interval-s",
            "2",
            "--shelter-s",
            "180",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "zones.geojson" in result.output
    assert set(load_zones(out / "zones.geojson").shelter_s.tolist()) == {180}
    truth = json.loads((out / "truth.json").read_text())
    assert truth["conditions"]["noise_m"] == 150.0 and truth["shelter_s"] == 180
    assert all("path" in row for row in truth["threats"])
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--zones",
            str(out / "zones.geojson"),
            "--truth",
            str(out / "truth.json"),
            "--decisions",
            str(out / "events.jsonl"),
            "--policy",
            "path-oracle",
        ],
    )
    # events are not decisions: the point is that a bad input is a clear error, not a crash
    assert result.exit_code == 2
    result = runner.invoke(
        app,
        [
            "simulate",
            "--zones",
            str(zones_path),
            "--scenario",
            "rockets",
            "--noise-m",
            "5",
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert result.exit_code == 2 and "--noise-m must be between 10 and 2000" in result.output
    assert not (tmp_path / "x").exists()


def test_without_knobs_the_default_raid_is_made(israel):
    assert simulate(israel, "rockets", 1, count=3)[0] == simulate(israel, "rockets", 1, count=3)[0]
    assert CELLS["nominal"] is None
