"""Oracle floors and flap counts: what no policy can beat, scored like every policy.

The path oracle knows each threat's true path, the impact oracle where and when it comes down;
both run through the engine's own lifecycle. Real raids on Israel's and Ukraine's zones, kept
small so that the file runs in seconds.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
import numpy as np
import pytest
import shapely
from conftest import grid_zones, require_data
from typer.testing import CliRunner

from airwarn.contract import Track, format_time, parse_event, parse_time
from airwarn.engine import EngineConfig, run
from airwarn.engine.zones import ZoneSet, write_zones, zones_from_geojson
from airwarn.errors import AirwarnError
from airwarn.sim.evaluate import score
from airwarn.sim.oracles import ImpactOracle, PathOracle, run_oracle, true_state
from airwarn.sim.paths import TruePath, read_path, zone_visits
from airwarn.sim.scenarios import simulate, write_simulation

KIND = {"rockets": "rocket", "ballistic": "ballistic", "drones": "drone", "cruise": "cruise"}


@pytest.fixture(scope="module")
def israel() -> ZoneSet:
    from airwarn.layers.israel import import_israel

    return ZoneSet(import_israel(require_data("israel", "israel_alert_areas.geojson")).zones)


@pytest.fixture(scope="module")
def ukraine() -> ZoneSet:
    from airwarn.layers.ukraine import import_ukraine

    path = require_data("ukraine", "ua_hromadas.geojson")
    return ZoneSet(import_ukraine(path, "hromada", 90).zones)


def _parsed(events: list[dict[str, Any]]) -> list[Any]:
    return [parse_event(msgspec.json.encode(e)) for e in events]


def test_the_impact_oracle_scores_an_over_alert_factor_of_one(israel):
    # Ballistic missiles on Israel are seen minutes before they come down, longer than any
    # shelter time: the oracle's alert is exactly the ideal, but for the second at most that
    # the `end` comes after the impact.
    events, truth = simulate(israel, "ballistic", 8, count=6)
    assert "lost" not in {t["end_reason"] for t in truth["threats"]}
    decisions = run_oracle(israel, truth, _parsed(events), "impact-oracle")
    mine = score(israel, truth, decisions).per_kind["ballistic"]
    assert mine.in_zones >= 2
    assert mine.missed == 0 and mine.late == 0
    assert mine.over_alert is not None and 1.0 <= mine.over_alert <= 1.003
    assert mine.warning_s_min is not None and mine.warning_s_min == pytest.approx(
        min(
            israel.shelter_s[israel.zone_at(t["impact"]["lon"], t["impact"]["lat"])]
            for t in truth["threats"]
            if t["impact"] and israel.zone_at(t["impact"]["lon"], t["impact"]["lat"]) is not None
        )
    )
    assert mine.flaps == 0


@pytest.mark.parametrize(
    ("country", "scenario", "count"),
    [
        ("israel", "rockets", 12),
        ("ukraine", "drones", 4),
        ("ukraine", "cruise", 5),
        ("ukraine", "ballistic", 5),
    ],
)
def test_the_path_oracle_never_misses_nor_is_late(request, country, scenario, count):
    zones = request.getfixturevalue(country)
    events, truth = simulate(zones, scenario, 5, count=count, paths=True)
    decisions = run_oracle(zones, truth, _parsed(events), "path-oracle")
    result = score(zones, truth, decisions)
    lost = {t["threat"] for t in truth["threats"] if t["end_reason"] == "lost"}
    scored = [t for t in result.threats if t.zone is not None and t.threat not in lost]
    assert scored
    assert not [t.threat for t in scored if t.missed or t.late]
    # It is a corridor's floor: never more alerted area x time than the engine's corridors on
    # the same raid. A rocket's impact region can do better than the zones under its last
    # stretch of path (each of its zones falls due by the earliest impact on it, and those the
    # sharpened region leaves are let go); the impact oracle, which knows where, is its floor.
    engine = score(zones, truth, list(run(zones, _parsed(events), EngineConfig())))
    kind = KIND[scenario]
    if kind in ("drone", "cruise"):
        assert result.per_kind[kind].alert_km2h <= engine.per_kind[kind].alert_km2h
    elif kind == "rocket":
        impact = score(zones, truth, run_oracle(zones, truth, _parsed(events), "impact-oracle"))
        assert impact.per_kind[kind].alert_km2h <= engine.per_kind[kind].alert_km2h


def test_a_straight_path_visits_the_zones_it_crosses_in_order(grid):
    # The grid's squares are 0.05 degrees; a path along the middle of row 2, west to east.
    lat = 31.4 + 2.5 * 0.05
    lons = [34.6 + 0.01 * i for i in range(31)]
    truth = {
        "start": "2026-03-01T18:00:00.000Z",
        "threats": [
            {
                "threat": "D1",
                "kind": "drone",
                "impact": None,
                "path": {
                    "t_s": [10.0 * i for i in range(31)],
                    "lat": [lat] * 31,
                    "lon": lons,
                    "alt_m": [500.0] * 31,
                },
            }
        ],
    }
    path = read_path(grid, truth, truth["threats"][0])
    assert path is not None
    visits = zone_visits(grid, path)
    names = [grid.ids[z] for z in visits.zone[np.argsort(visits.enter_ms)]]
    assert names == [f"r2c{c}" for c in range(6)]
    start = parse_time(truth["start"])
    first = int(np.argmin(visits.enter_ms))
    assert visits.enter_ms[first] == start
    # Column c spans lon 34.6 + 0.05 c to + 0.05 (c + 1): 50 s of flight each, to a sample.
    for z, enter, leave in zip(visits.zone, visits.enter_ms, visits.exit_ms, strict=True):
        c = int(grid.ids[z][-1])
        assert start + (50_000 * c - 10_000) <= enter <= start + 50_000 * c
        assert start + 50_000 * (c + 1) <= leave <= start + 50_000 * (c + 1) + 10_000


def test_the_path_oracle_says_how_to_get_paths_when_the_truth_has_none(israel):
    _, truth = simulate(israel, "rockets", 1, count=3)
    with pytest.raises(AirwarnError, match="--truth-paths"):
        PathOracle(israel, truth)
    ImpactOracle(israel, truth)  # needs only the impacts


def _decision(seq: int, t_s: float, zone: str, level: str, threats: list[str]) -> dict[str, Any]:
    return {
        "seq": seq,
        "t": format_time(parse_time("2026-03-01T18:00:00.000Z") + 1000 * t_s),
        "zone": zone,
        "level": level,
        "threats": threats,
        "kind": "drone",
    }


def test_a_zone_alerted_again_by_the_same_threat_is_a_flap_and_by_another_is_not(grid):
    truth = {"threats": []}
    decisions = [
        _decision(1, 0, "r0c0", "alert", ["D1"]),
        _decision(2, 100, "r0c0", "clear", ["D1"]),
        _decision(3, 200, "r0c0", "alert", ["D1"]),  # D1 again: a flap
        _decision(4, 300, "r0c0", "pre_alert", ["D1"]),
        _decision(5, 400, "r0c0", "alert", ["D2"]),  # another threat: a new alerted zone
        _decision(6, 410, "r0c0", "alert", ["D2"]),  # no change of level: nothing
        _decision(7, 420, "r0c1", "alert", ["D1", "D2"]),
        _decision(8, 900, "r0c1", "clear", ["D1", "D2"]),
        _decision(9, 990, "r0c0", "clear", ["D2"]),
    ]
    result = score(grid, truth, decisions)
    drone = result.per_kind["drone"]
    assert (drone.alerted_zones, drone.flaps) == (4, 1)
    assert drone.flaps_per_100 == pytest.approx(25.0)
    assert result.total.flaps == 1


def test_evaluate_scores_the_oracles_beside_the_references(tmp_path):
    from airwarn.cli import app

    zones_path = tmp_path / "zones.geojson"
    zones = zones_from_geojson(grid_zones())
    write_zones(zones.zones, zones_path)
    events, truth = simulate(zones, "rockets", 2, count=4, paths=True)
    write_simulation(events, truth, tmp_path / "sim")
    decisions = tmp_path / "d.jsonl"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "replay",
            "--zones",
            str(zones_path),
            "--events",
            str(tmp_path / "sim" / "events.jsonl"),
            "--out",
            str(decisions),
        ],
    )
    assert result.exit_code == 0, result.output
    args = [
        "evaluate",
        "--zones",
        str(zones_path),
        "--truth",
        str(tmp_path / "sim" / "truth.json"),
        "--decisions",
        str(decisions),
        "--policy",
        "reach",
        "--policy",
        "path-oracle",
        "--policy",
        "impact-oracle",
        "--policy",
        "state-oracle",
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert list(document) == ["engine", "reach", "path-oracle", "impact-oracle", "state-oracle"]
    for policy in document.values():
        assert {"flaps", "flaps_per_100", "alerted_zones", "warning_s_median"} <= set(
            policy["total"]
        )
    assert document["impact-oracle"]["total"]["missed"] == 0
    # a rocket's state fixes its path: the state oracle answers as the path oracle does
    assert document["state-oracle"]["total"] == document["path-oracle"]["total"]
    result = runner.invoke(app, [*args[:-1], "--policy", "oracle"])
    assert result.exit_code == 2
    assert "path-oracle" in result.output and "'oracle'" in result.output


def test_simulate_writes_true_paths_only_when_asked(tmp_path):
    from airwarn.cli import app

    zones_path = tmp_path / "zones.geojson"
    write_zones(zones_from_geojson(grid_zones()).zones, zones_path)
    runner = CliRunner()
    for folder, extra in (("plain", []), ("paths", ["--truth-paths"])):
        result = runner.invoke(
            app,
            [
                "simulate",
                "--zones",
                str(zones_path),
                "--scenario",
                "rockets",
                "--count",
                "3",
                "--out",
                str(tmp_path / folder),
                *extra,
            ],
        )
        assert result.exit_code == 0, result.output
    plain = json.loads((tmp_path / "plain" / "truth.json").read_text())
    with_paths = json.loads((tmp_path / "paths" / "truth.json").read_text())
    assert all("path" not in t for t in plain["threats"])
    assert (tmp_path / "plain" / "events.jsonl").read_bytes() == (
        tmp_path / "paths" / "events.jsonl"
    ).read_bytes()
    for row, bare in zip(with_paths["threats"], plain["threats"], strict=True):
        path = row.pop("path")
        assert row == bare
        times = path["t_s"]
        assert times == sorted(times) and len(times) == len(path["lat"]) == len(path["lon"])
        assert (
            path["lat"][-1] == pytest.approx(bare["impact"]["lat"], abs=1e-5)
            if bare["impact"]
            else True
        )


@pytest.mark.parametrize(
    ("country", "scenario", "count"), [("ukraine", "drones", 4), ("israel", "cruise", 3)]
)
def test_the_state_oracle_sits_between_the_path_oracle_and_the_engine(
    request, country, scenario, count
):
    # It knows where each threat is and how it flies, not where it will turn: never late, more
    # than the path (any turn the kind can make), less than the engine, whose sensors say less
    zones = request.getfixturevalue(country)
    events, truth = simulate(zones, scenario, 5, count=count, paths=True)
    lost = {t["threat"] for t in truth["threats"] if t["end_reason"] == "lost"}
    kind = KIND[scenario]
    area = {}
    for name in ("path-oracle", "state-oracle"):
        result = score(zones, truth, run_oracle(zones, truth, _parsed(events), name))
        scored = [t for t in result.threats if t.zone is not None and t.threat not in lost]
        assert scored
        assert not [t.threat for t in scored if t.missed or t.late]
        area[name] = result.per_kind[kind].alert_km2h
    engine = score(zones, truth, list(run(zones, _parsed(events), EngineConfig())))
    assert area["path-oracle"] < area["state-oracle"] < engine.per_kind[kind].alert_km2h


def _straight_east(
    kind: str, lon0: float, speed_mps: float, every_s: int, duration_s: int, comes_down: bool
) -> tuple[list[Any], dict[str, Any]]:
    """A threat flying due east along the middle of the grid's row 2 from `lon0`, reported
    every `every_s` on its true path for `duration_s`; down where its path ends (an `end`
    half a second after), or lost."""
    lat = 31.4 + 2.5 * 0.05
    metres_per_degree = 111_320.0 * float(np.cos(np.radians(lat)))
    times = range(0, duration_s + 1, every_s)
    lons = [lon0 + speed_mps * t / metres_per_degree for t in times]
    start = "2026-03-01T18:00:00.000Z"
    start_ms = parse_time(start)
    impact = {"lat": lat, "lon": lons[-1], "t": format_time(start_ms + 1000 * duration_s)}
    row = {
        "threat": "T1",
        "kind": kind,
        "first_report_t": start,
        "impact": impact if comes_down else None,
        "end_reason": "impact" if comes_down else "lost",
        "path": {
            "t_s": [float(t) for t in times],
            "lat": [lat] * len(lons),
            "lon": lons,
            "alt_m": [300.0] * len(lons),
        },
    }
    events: list[dict[str, Any]] = [
        {"type": "track", "threat": "T1", "kind": kind, "lat": lat, "lon": lon, "t": at}
        for lon, at in zip(lons, (format_time(start_ms + 1000 * t) for t in times), strict=True)
    ]
    if comes_down:
        end_t = format_time(start_ms + 1000 * duration_s + 500)
        events.append({"type": "end", "threat": "T1", "reason": "impact", "t": end_t})
    return _parsed(events), {"start": start, "threats": [row]}


def _straight_drone() -> tuple[list[Any], dict[str, Any]]:
    """A drone at 50 m/s for 600 s from just west of the grid, seen every 10 s, down at the
    end of its path."""
    return _straight_east("drone", 34.55, 50.0, 10, 600, comes_down=True)


def test_the_state_oracle_alerts_what_a_turn_can_reach_and_holds_only_the_zone_hit(grid):
    events, truth = _straight_drone()
    decisions = run_oracle(grid, truth, events, "state-oracle")
    path = read_path(grid, truth, truth["threats"][0])
    assert path is not None
    crossed = {grid.ids[z] for z in zone_visits(grid, path).zone}
    alerted = {d.zone for d in decisions if d.level == "alert"}
    assert crossed == {f"r2c{c}" for c in range(6)}
    # a 12.5 deg/s turn at 50 m/s has a radius of 230 m: within 77 s (60 s of shelter, the
    # lead and a step) it reaches the rows either side of its own, not the ones beyond
    assert crossed < alerted
    assert {z[:2] for z in alerted} == {"r1", "r2", "r3"}
    # each alert within its reach of where the drone was then: 50 m/s over 77 s (and the
    # outline's rays, drawn 1 / cos 5 degrees long so that their chords hold the curve)
    start = parse_time(truth["start"])
    for d in decisions:
        if d.level != "alert":
            continue
        t_ms = parse_time(d.t) - start
        x = float(np.interp(t_ms, path.t_ms - start, path.x_m))
        y = float(np.interp(t_ms, path.t_ms - start, path.y_m))
        zone = grid.shapes_m[grid.index_of[d.zone]]
        assert zone.distance(shapely.Point(x, y)) <= 50.0 * 77 / math.cos(math.radians(5)) + 1.0


@pytest.mark.parametrize("name", ["path-oracle", "state-oracle"])
def test_an_oracle_holds_only_the_zone_a_drone_came_down_in(grid, name):
    # it knows the path, so where it ends: that zone keeps the hold, the others go
    events, truth = _straight_drone()
    decisions = run_oracle(grid, truth, events, name)
    ended = parse_time(truth["threats"][0]["impact"]["t"])
    cleared = {d.zone: parse_time(d.t) - ended for d in decisions if d.level == "clear"}
    assert cleared.pop("r2c5") >= 600_000
    assert cleared and max(cleared.values()) <= 60_000


def test_the_state_oracle_never_alerts_what_the_kind_cannot_turn_to(grid):
    # A cruise missile at 220 m/s turns on a circle of 2.8 km at 4.5 deg/s: within 32 s
    # (15 s of shelter, the lead and a step) it flies 7 km and cannot turn back. Flying east
    # from the middle of column 1, it never alerts column 0 (all of it 2.4 km or more behind
    # it), which a disc of its reach would; the rows either side, within a turn, it does.
    zones = zones_from_geojson(grid_zones(shelter_s=15))
    events, truth = _straight_east("cruise", 34.675, 220.0, 5, 100, comes_down=False)
    decisions = run_oracle(zones, truth, events, "state-oracle")
    alerted = {d.zone for d in decisions if d.level == "alert"}
    assert {"r1c2", "r2c2", "r3c2"} <= alerted
    assert not {z for z in alerted if z.endswith("c0")}
    assert {z[:2] for z in alerted} == {"r1", "r2", "r3"}


def test_a_true_state_is_read_between_the_samples_of_a_path():
    path = TruePath(
        np.array([0, 10_000, 20_000], dtype=np.int64),
        np.array([0.0, 1000.0, 1000.0]),
        np.array([0.0, 0.0, 500.0]),
    )
    assert true_state(path, 5_000) == pytest.approx((500.0, 0.0, 100.0, 0.0))
    assert true_state(path, 15_000) == pytest.approx((1000.0, 250.0, 0.0, 50.0))
    assert true_state(path, 20_000) == pytest.approx((1000.0, 500.0, 0.0, 50.0))
    assert true_state(path, -1) is None and true_state(path, 20_001) is None
    # a last step of 2 ms: its velocity over the second before it, not its rounding
    cut = TruePath(
        np.array([0, 1_000, 2_000, 2_002], dtype=np.int64),
        np.array([0.0, 100.0, 200.0, 200.3]),
        np.zeros(4),
    )
    assert true_state(cut, 2_001) == pytest.approx((200.15, 0.0, 100.3 / 1.002, 0.0))


def _strayed(events: list[Any], by_m: float) -> list[Any]:
    """The same reports at the same times, each moved by up to `by_m` (a fixed pattern that
    no filter can average out in a few reports), with that error stated."""
    out = []
    for k, event in enumerate(events):
        body = msgspec.to_builtins(event)
        if body.get("type") == "track":
            angle = 2.399963 * k  # the golden angle: every way in turn
            share = 0.4 + 0.6 * ((k * 7) % 5) / 4
            body["lat"] += share * by_m * math.cos(angle) / 111_320.0
            body["lon"] += share * by_m * math.sin(angle) / 96_000.0
            body["sigma_m"] = by_m / 2
        out.append(parse_event(msgspec.json.encode(body)))
    return out


def test_the_sensor_oracle_does_not_hear_what_its_sensor_got_wrong(grid):
    # It reads each report's time, and the truth's state then: moving every report by up to
    # 800 m changes the engine's alerts, not the sensor oracle's
    events, truth = _straight_drone()
    strayed = _strayed(events, 800.0)
    honest = run_oracle(grid, truth, events, "sensor-oracle")
    assert honest == run_oracle(grid, truth, strayed, "sensor-oracle")
    assert list(run(grid, events, EngineConfig())) != list(run(grid, strayed, EngineConfig()))
    alerted = {d.zone for d in honest if d.level == "alert"}
    path = read_path(grid, truth, truth["threats"][0])
    assert path is not None
    assert {grid.ids[z] for z in zone_visits(grid, path).zone} < alerted


def test_where_a_drone_came_down_the_sensor_oracle_knows_from_its_true_path(grid):
    # The last three reports strayed 4 km north (a sensor that lost it low): the engine keeps
    # the debris radius around the last fix it read, the sensor oracle around the true one
    events, truth = _straight_drone()
    tracks = [k for k, e in enumerate(events) if isinstance(e, Track)]
    strayed = list(events)
    for k in tracks[-3:]:
        body = msgspec.to_builtins(events[k])
        body["lat"] += 4000.0 / 111_320.0
        body["sigma_m"] = 50.0
        strayed[k] = parse_event(msgspec.json.encode(body))

    def kept_full_hold(decisions: list[Any]) -> set[str]:
        ended = parse_time(truth["threats"][0]["impact"]["t"])
        return {
            d.zone for d in decisions if d.level == "clear" and parse_time(d.t) - ended > 60_000
        }

    oracle = kept_full_hold(run_oracle(grid, truth, events, "sensor-oracle"))
    assert oracle == kept_full_hold(run_oracle(grid, truth, strayed, "sensor-oracle"))
    assert "r2c5" in oracle
    engine = kept_full_hold(list(run(grid, strayed, EngineConfig())))
    assert engine != oracle


def test_the_sensor_oracle_sits_between_the_state_oracle_and_the_engine(israel):
    # The engine's margins (a dash, the minimum radius, the keep disc) cost more than the state
    # oracle's bare corridor; a sensor 300 m off costs the engine more still; none is late
    from airwarn.sim.conditions import CELLS
    from airwarn.sim.hardraid import simulate_under

    conditions = CELLS["noise-300"]
    assert conditions is not None
    raw, truth = simulate_under(israel, "drones", 2, conditions, count=3)
    events = _parsed(raw)
    lost = {t["threat"] for t in truth["threats"] if t["end_reason"] == "lost"}
    area = {}
    for name in ("state-oracle", "sensor-oracle", "engine"):
        decisions = (
            list(run(israel, events, EngineConfig()))
            if name == "engine"
            else run_oracle(israel, truth, events, name)
        )
        result = score(israel, truth, decisions)
        scored = [t for t in result.threats if t.zone is not None and t.threat not in lost]
        assert scored
        assert not [t.threat for t in scored if t.missed or t.late]
        area[name] = result.per_kind["drone"].alert_km2h
    assert area["state-oracle"] < area["sensor-oracle"] < area["engine"]


def test_for_a_rocket_the_sensor_oracle_is_the_engine(israel):
    events, truth = simulate(israel, "rockets", 3, count=4, paths=True)
    parsed = _parsed(events)
    assert run_oracle(israel, truth, parsed, "sensor-oracle") == list(
        run(israel, parsed, EngineConfig())
    )


@pytest.mark.parametrize("name", ["path-oracle", "state-oracle", "sensor-oracle"])
def test_an_oracle_asked_of_a_truth_with_no_paths_says_it_needs_them(grid, name):
    events, truth = simulate(grid, "drones", 1, count=2)
    with pytest.raises(
        AirwarnError, match=rf"\(D001, D002\): the {name} needs them.*--truth-paths"
    ):
        run_oracle(grid, truth, _parsed(events), name)
