"""Simulated raids: deterministic, valid Contract v1 events, truth that scoring can trust, and
physics and sensors that behave like the real thing on Israel's and Ukraine's zones."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import pytest
import shapely
from conftest import DATA_MISSING, grid_zones
from typer.testing import CliRunner

from airwarn.contract import Track, parse_event, parse_time
from airwarn.engine.zones import Zone, ZoneSet, write_zones, zones_from_geojson
from airwarn.errors import AirwarnError
from airwarn.sim import SCENARIOS, plan, simulate, write_simulation
from airwarn.sim.scenarios import (
    ISRAEL,
    START,
    UKRAINE,
    BallisticPath,
    RoutePath,
    theater_for,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
GEOD = pyproj.Geod(ellps="WGS84")
START_MS = parse_time(START)


def _zone_set_from_raw(path: Path, id_field: str, shelter_field: str | None) -> ZoneSet:
    """A zone set straight from a raw layer, for when the importers are not importable."""
    import json

    from shapely.geometry import shape

    document = json.loads(path.read_text())
    zones = []
    for feature in document["features"]:
        props = feature["properties"]
        zone_id = props.get(id_field)
        if not zone_id or not feature.get("geometry"):
            continue
        geometry = shapely.make_valid(shape(feature["geometry"]))
        shelter = int(props.get(shelter_field) or 0) if shelter_field else 120
        zones.append(Zone(id=str(zone_id), shelter_s=shelter, geometry=geometry))
    return ZoneSet(zones)


@pytest.fixture(scope="module")
def israel() -> ZoneSet:
    path = DATA / "israel" / "israel_alert_areas.geojson"
    if not path.is_file():
        pytest.skip(DATA_MISSING)
    try:
        from airwarn.layers.israel import import_israel
    except ImportError:
        return _zone_set_from_raw(path, "segment_id", "migun_time_s")
    return ZoneSet(import_israel(path).zones)


@pytest.fixture(scope="module")
def ukraine() -> ZoneSet:
    path = DATA / "ukraine" / "ua_hromadas.geojson"
    if not path.is_file():
        pytest.skip(DATA_MISSING)
    try:
        from airwarn.layers.ukraine import import_ukraine
    except ImportError:
        return _zone_set_from_raw(path, "hromada_id", None)
    return ZoneSet(import_ukraine(path, "hromada", 120).zones)


@pytest.fixture(scope="module")
def elsewhere() -> ZoneSet:
    """A 10 x 10 grid of 0.1-degree cells in central Europe: no known theater."""
    return zones_from_geojson(grid_zones(rows=10, cols=10, lon0=10.0, lat0=50.0, step=0.1))


def seconds(text: str) -> float:
    return (parse_time(text) - START_MS) / 1000.0


def surface_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def reports_by_threat(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        if event["type"] == "track":
            out[event["threat"]].append(event)
    return out


# --- determinism and the contract -----------------------------------------------------------


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(israel, tmp_path):
    outputs = []
    for folder, seed in (("a", 7), ("b", 7), ("c", 8)):
        events, truth = simulate(israel, "mixed", seed, count=8)
        write_simulation(events, truth, tmp_path / folder)
        outputs.append(
            (
                (tmp_path / folder / "events.jsonl").read_bytes(),
                (tmp_path / folder / "truth.json").read_bytes(),
            )
        )
    assert outputs[0] == outputs[1]
    assert outputs[0][0] != outputs[2][0] and outputs[0][1] != outputs[2][1]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_event_line_is_valid_contract_v1(israel, ukraine, scenario, tmp_path):
    for name, zones in (("israel", israel), ("ukraine", ukraine)):
        count = 4 if scenario in ("drones", "mixed") else 6
        events, truth = simulate(zones, scenario, 3, count=count)
        assert truth["country"] == name and truth["scenario"] == scenario
        write_simulation(events, truth, tmp_path / name)
        lines = (tmp_path / name / "events.jsonl").read_bytes().splitlines()
        assert len(lines) == len(events) > 0
        for number, line in enumerate(lines, start=1):
            assert b" " not in line  # compact
            event = parse_event(line, line=number)
            text = line.split(b'"t":"')[1].split(b'"')[0].decode()
            assert len(text) == 24 and text.endswith("Z") and text[19] == "."  # ...SS.mmmZ
            if isinstance(event, Track):
                assert event.sigma_m is not None and event.sigma_m > 0


def test_unknown_scenario_and_empty_raid_are_clear_errors(israel):
    with pytest.raises(AirwarnError, match="unknown scenario 'artillery'"):
        simulate(israel, "artillery", 1)
    with pytest.raises(AirwarnError, match="at least one threat"):
        simulate(israel, "rockets", 1, count=0)


# --- the truth ----------------------------------------------------------------------------


@pytest.mark.parametrize("country", ["israel", "ukraine"])
def test_truth_agrees_with_the_events(request, country):
    zones = request.getfixturevalue(country)
    events, truth = simulate(zones, "mixed", 11, count=24)
    threats = truth["threats"]
    assert len(threats) == 24
    assert len({t["threat"] for t in threats}) == 24
    assert Counter(t["kind"] for t in threats) == {
        "rocket": 8,
        "drone": 8,
        "cruise": 4,
        "ballistic": 4,
    }
    reports = reports_by_threat(events)
    ends = {e["threat"]: e for e in events if e["type"] == "end"}
    delivered = {id(e): i for i, e in enumerate(events)}
    impacting = inside = 0
    for threat in threats:
        name = threat["threat"]
        launch_s, first_s, end_s = (
            seconds(threat["launch"]["t"]),
            seconds(threat["first_report_t"]),
            seconds(threat["end_t"]),
        )
        assert 0.0 <= launch_s < first_s < end_s, threat
        mine = reports[name]
        assert mine and min(seconds(r["t"]) for r in mine) == pytest.approx(first_s, abs=1e-3)
        # Each threat ends once, as the truth says, and after its last report is delivered.
        end = ends[name]
        assert end["reason"] == threat["end_reason"] and end["t"] == threat["end_t"]
        assert all(delivered[id(r)] < delivered[id(end)] for r in mine)
        assert all(seconds(r["t"]) < end_s for r in mine)
        if threat["end_reason"] == "intercepted":
            assert threat["impact"] is None
            continue
        impact = threat["impact"]
        assert impact is not None
        impact_s = seconds(impact["t"])
        assert impact_s > first_s
        if threat["end_reason"] == "impact":
            assert impact_s <= end_s <= impact_s + 1.0
        else:  # lost: the sensors gave up before it came down
            assert threat["end_reason"] == "lost" and end_s < impact_s
        impacting += 1
        inside += zones.zone_at(impact["lon"], impact["lat"]) is not None
    assert impacting > 0
    assert inside >= 0.6 * impacting


def test_ukrainian_targets_are_on_the_defended_side(ukraine):
    occupied = UKRAINE.untargeted
    _, threats = plan(ukraine, "mixed", 5, count=30)
    landing = [t for t in threats]
    held = sum(shapely.contains_xy(occupied, t.impact[1], t.impact[0]) for t in landing)
    assert held <= 0.1 * len(landing)


def test_zone_sets_elsewhere_are_attacked_from_just_outside_them(elsewhere):
    minx, miny, maxx, maxy = 10.0, 50.0, 11.0, 51.0
    _, threats = plan(elsewhere, "mixed", 2, count=12)
    assert theater_for((minx, miny, maxx, maxy)).name == "generic"
    for threat in threats:
        assert not (minx <= threat.launch_lon <= maxx and miny <= threat.launch_lat <= maxy)
        assert (
            elsewhere.zone_at(threat.impact[1], threat.impact[0]) is not None
            or threat.kind == "rocket"
        )
    rockets = [t for t in threats if t.kind == "rocket"]
    assert rockets and all(
        surface_m(t.launch_lat, t.launch_lon, *t.impact[:2]) < 100_000.0 for t in rockets
    )


def test_theaters_are_told_apart_by_the_zone_sets_bounds():
    assert theater_for((34.27, 29.49, 35.90, 33.33)) is ISRAEL
    assert theater_for((22.14, 44.39, 40.23, 52.38)) is UKRAINE
    assert theater_for((-80.0, 25.0, -79.0, 26.0)).name == "generic"


# --- the physics of each kind ---------------------------------------------------------------


def test_ballistic_missiles_fly_realistic_arcs(israel, ukraine):
    _, on_israel = plan(israel, "ballistic", 4, count=6)
    _, on_ukraine = plan(ukraine, "ballistic", 4, count=6)
    for threat in on_israel:
        path = threat.path
        assert isinstance(path, BallisticPath)
        range_km = surface_m(threat.launch_lat, threat.launch_lon, *threat.impact[:2]) / 1000
        assert 1_000 <= range_km <= 2_200  # Iran and Yemen
        assert 250_000 <= path.apogee_m() <= 700_000
        assert 2_800 <= path.max_speed_mps() <= 4_500
        assert 7 * 60 <= threat.impact[2] - threat.launch_s <= 16 * 60
        assert 5_000 <= threat.beta_kg_m2 <= 60_000
    for threat in on_ukraine:
        path = threat.path
        assert isinstance(path, BallisticPath)
        range_km = surface_m(threat.launch_lat, threat.launch_lon, *threat.impact[:2]) / 1000
        assert 90 <= range_km <= 520  # Iskander-class
        assert 35_000 <= path.apogee_m() <= 120_000
        assert 900 <= path.max_speed_mps() <= 2_500
        assert 2 * 60 <= threat.impact[2] - threat.launch_s <= 7 * 60


def test_rocket_salvos_are_short_range_and_minutes_long(israel, ukraine):
    for zones, low_km, high_km in ((israel, 2.0, 102.0), (ukraine, 12.0, 95.0)):
        _, rockets = plan(zones, "rockets", 6, count=30)
        assert len(rockets) == 30
        ranges = [surface_m(t.launch_lat, t.launch_lon, *t.impact[:2]) / 1000 for t in rockets]
        assert low_km <= min(ranges) and max(ranges) <= high_km
        flights = [t.impact[2] - t.launch_s for t in rockets]
        assert min(flights) >= 15 and max(flights) <= 200
        launches = [t.launch_s for t in rockets]
        assert max(launches) - min(launches) <= 6 * 60
        assert all(4_000 <= t.beta_kg_m2 <= 20_000 for t in rockets)


def _route_kinematics(path: RoutePath) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Speed (m/s, 3-D) and turn rate (deg/s) between successive true positions, and heights."""
    lat, lon, alt = np.array(path.lat), np.array(path.lon), np.array(path.alt)
    azimuth, _, dist = GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    dt = np.array([path.time_of(i + 1) - path.time_of(i) for i in range(len(lat) - 1)])
    speed = np.hypot(dist, np.diff(alt)) / dt
    # A heading holds for a whole step: the turn between two steps is over the first one.
    turn = np.abs((np.diff(azimuth) + 180.0) % 360.0 - 180.0) / dt[:-1]
    return speed, turn, alt


@pytest.mark.parametrize(
    ("scenario", "speeds", "turn_dps", "ceiling_m"),
    [
        ("drones", (45.0, 55.0), 3.0, 2_000.0),
        ("cruise", (220.0, 250.0), 2.0, 200.0),
    ],
)
def test_drones_and_cruise_missiles_keep_their_speed_and_turn_rate(
    israel, ukraine, scenario, speeds, turn_dps, ceiling_m
):
    for zones in (israel, ukraine):
        _, threats = plan(zones, scenario, 9, count=4)
        for threat in threats:
            path = threat.path
            assert isinstance(path, RoutePath)
            speed, turn, alt = _route_kinematics(path)
            assert speeds[0] <= threat.speed_mps <= speeds[1]
            assert np.all(speed <= threat.speed_mps * (1 + 1e-5))
            assert np.all(speed >= threat.speed_mps * (1 - 1e-5))
            assert turn.max() <= turn_dps + 0.01
            assert turn.max() > 0.5 * turn_dps  # they do turn: waypoints, the final turn
            assert alt.max() <= ceiling_m + 1.0 and alt[-1] == 0.0
            # Hours for drones from afar, minutes from next door; they end on their target.
            zone = zones.zone_at(threat.impact[1], threat.impact[0])
            assert zone is not None


def test_drone_waves_last_hours_and_some_go_deep(ukraine):
    _, drones = plan(ukraine, "drones", 12, count=12)
    flights = [(t.impact[2] - t.launch_s) / 3600 for t in drones]
    assert max(flights) > 3.0
    deep = [t for t in drones if surface_m(t.launch_lat, t.launch_lon, *t.impact[:2]) > 500_000.0]
    assert deep


# --- the sensors ------------------------------------------------------------------------------


def _errors(zones: ZoneSet, scenario: str, seed: int, count: int):
    """Reported minus true position, in sigmas: east, north, up (where the true height is
    three vertical sigmas clear of the ground, which clamps reports)."""
    raid, threats = plan(zones, scenario, seed, count=count)
    events, _ = simulate(zones, scenario, seed, count=count)
    by_id = {t.threat: t for t in threats}
    east, north, up, vel = [], [], [], []
    for event in events:
        if event["type"] != "track":
            continue
        threat = by_id[event["threat"]]
        truth = threat.path.at(seconds(event["t"]))
        azimuth, _, dist = GEOD.inv(truth.lon, truth.lat, event["lon"], event["lat"])
        sigma = event["sigma_m"]
        east.append(dist * math.sin(math.radians(azimuth)) / sigma)
        north.append(dist * math.cos(math.radians(azimuth)) / sigma)
        if truth.alt_m > 4.5 * sigma:
            up.append((event["alt_m"] - truth.alt_m) / sigma)
        if "vel_mps" in event:
            vel.append(event["vel_mps"][0] - truth.east)
    return east, north, up, vel


@pytest.mark.parametrize(
    ("scenario", "sigma_range", "vel_sigma"),
    [
        ("rockets", (30, 80), 10.0),
        ("ballistic", (100, 300), 30.0),
        ("drones", (200, 800), 5.0),
    ],
)
def test_report_errors_match_their_declared_sigma(israel, scenario, sigma_range, vel_sigma):
    count = {"rockets": 10, "ballistic": 4, "drones": 6}[scenario]
    east, north, up, vel = _errors(israel, scenario, 2, count)
    assert len(east) > 300
    for axis in (east, north):
        assert abs(statistics.fmean(axis)) < 0.15
        assert 0.85 < statistics.pstdev(axis) < 1.15
    if len(up) > 50:  # drones fly too low for this: reports never go below the ground
        assert 1.25 < statistics.pstdev(up) < 1.75  # vertical errors are 1.5 sigma
    assert 0.8 * vel_sigma < statistics.pstdev(vel) < 1.2 * vel_sigma
    events, _ = simulate(israel, scenario, 2, count=count)
    sigmas = {e["sigma_m"] for e in events if e["type"] == "track"}
    assert sigma_range[0] <= min(sigmas) and max(sigmas) <= sigma_range[1]


@pytest.mark.parametrize(
    ("scenario", "interval", "with_velocity"),
    [
        ("rockets", (1.0, 1.0), (1.0, 1.0)),
        ("ballistic", (2.0, 5.0), (1.0, 1.0)),
        ("cruise", (5.0, 10.0), (1.0, 1.0)),
        ("drones", (10.0, 20.0), (0.35, 0.65)),
    ],
)
def test_report_cadence_by_kind(ukraine, scenario, interval, with_velocity):
    events, _ = simulate(ukraine, scenario, 4, count=4)
    for reports in reports_by_threat(events).values():
        times = sorted({seconds(r["t"]) for r in reports})
        if len(times) < 3:
            continue
        step = statistics.median(b - a for a, b in zip(times, times[1:], strict=False))
        assert interval[0] - 0.06 <= step <= interval[1] + 0.06
    tracks = [e for e in events if e["type"] == "track"]
    share = sum("vel_mps" in e for e in tracks) / len(tracks)
    assert with_velocity[0] <= share <= with_velocity[1]


def test_a_few_reports_come_twice_or_late(ukraine):
    events, _ = simulate(ukraine, "rockets", 8, count=60)
    tracks = [e for e in events if e["type"] == "track"]
    assert len(tracks) > 3_000
    keys = Counter((e["threat"], e["t"]) for e in tracks)
    duplicates = sum(n - 1 for n in keys.values())
    assert 0.003 * len(tracks) < duplicates < 0.03 * len(tracks)
    latest: dict[str, float] = {}
    late = 0
    for event in tracks:
        t = seconds(event["t"])
        if t < latest.get(event["threat"], -math.inf):
            late += 1
            assert latest[event["threat"]] - t <= 3.0 + 1e-3
        latest[event["threat"]] = max(t, latest.get(event["threat"], -math.inf))
    assert 0.005 * len(tracks) < late < 0.04 * len(tracks)


def test_interception_shares_by_kind(israel):
    _, truth = simulate(israel, "mixed", 21, count=80)
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for threat in truth["threats"]:
        by_kind[threat["kind"]][threat["end_reason"]] += 1
    for kind, (low, high) in {
        "drone": (0.35, 0.95),
        "ballistic": (0.1, 0.9),
        "cruise": (0.15, 0.95),
    }.items():
        counts = by_kind[kind]
        assert low <= counts["intercepted"] / sum(counts.values()) <= high, (kind, counts)
    rockets = by_kind["rocket"]
    assert rockets["intercepted"] <= 0.5 * sum(rockets.values())


def test_cli_writes_a_simulation(tmp_path):
    from airwarn.cli import app

    zones_path = tmp_path / "zones.geojson"
    write_zones(zones_from_geojson(grid_zones()).zones, zones_path)
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--zones",
            str(zones_path),
            "--scenario",
            "rockets",
            "--seed",
            "2",
            "--count",
            "5",
            "--out",
            str(tmp_path / "sim"),
        ],
    )
    assert result.exit_code == 0, result.output
    truth = (tmp_path / "sim" / "truth.json").read_text()
    assert '"scenario": "rockets"' in truth and '"country": "israel"' in truth
