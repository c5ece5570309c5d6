"""The zone lifecycle as operators and the public see it."""

from __future__ import annotations

import math
from collections import Counter

import msgspec
import numpy as np
import pytest
from conftest import end, grid_zones, manual, tick, track
from hypothesis import given, settings
from hypothesis import strategies as st

from airwarn.contract import Decision, encode_decision
from airwarn.engine import Engine, EngineConfig, physics
from airwarn.engine.zones import ZoneSet, zones_from_geojson
from airwarn.errors import EventError


def run(engine: Engine, events) -> list:
    out = []
    for event in events:
        out.extend(engine.apply(event))
    return out


def levels(decisions, zone: str) -> list[tuple[str, str]]:
    return [(d.t, d.level) for d in decisions if d.zone == zone]


def test_manual_alert_holds_zone_until_manual_clear(grid):
    engine = Engine(grid)
    out = run(engine, [manual("alert", 0, zones=["r0c0"], category="missiles"), tick(3600)])
    assert [(d.zone, d.level, d.kind) for d in out] == [("r0c0", "alert", "missiles")]
    assert engine.level_of("r0c0") == "alert"
    out = run(engine, [manual("clear", 3700, zones=["r0c0"])])
    assert [(d.zone, d.level) for d in out] == [("r0c0", "clear")]
    assert out[0].t == "2026-03-01T19:01:40.000Z"


def test_manual_alert_of_a_region_alerts_every_zone_in_it(grid):
    out = run(Engine(grid), [manual("alert", 0, region="band0")])
    alerted = {d.zone for d in out if d.level == "alert"}
    assert alerted == set(grid.regions and [grid.ids[i] for i in grid.regions["band0"]])
    assert len(alerted) == 18


def test_a_drill_never_touches_the_real_levels_and_says_it_is_a_drill(grid):
    engine = Engine(grid)
    out = run(
        engine, [manual("alert", 0, zones=["r0c0", "r0c1"], status="exercise", category="missiles")]
    )
    assert [(d.zone, d.level, d.status) for d in out] == [
        ("r0c0", "alert", "exercise"),
        ("r0c1", "alert", "exercise"),
    ]
    assert engine.levels() == {}
    assert engine.drills() == {
        "r0c0": ("exercise", "missiles", "alert"),
        "r0c1": ("exercise", "missiles", "alert"),
    }
    # a real clear does not end a drill, and a real alert beside it stays real
    out = run(engine, [manual("alert", 5, zones=["r0c0"]), manual("clear", 6, zones=["r0c1"])])
    assert [(d.zone, d.level, d.status) for d in out] == [("r0c0", "alert", msgspec.UNSET)]
    out = run(engine, [manual("clear", 10, zones=["r0c0", "r0c1"], status="exercise")])
    assert [(d.zone, d.level, d.status) for d in out] == [
        ("r0c0", "clear", "exercise"),
        ("r0c1", "clear", "exercise"),
    ]
    assert engine.levels() == {"r0c0": "alert"} and engine.drills() == {}
    assert b'"status":"exercise"' in encode_decision(out[0])
    assert b"status" not in encode_decision(
        Decision(seq=1, t="x", zone="z", level="alert", threats=[], kind=None)
    )


def test_an_operator_pre_alert_warns_ahead_and_steps_up_to_alert_then_clears(grid):
    engine = Engine(grid)
    out = run(
        engine,
        [
            manual("pre_alert", 0, zones=["r0c0"], category="missiles"),
            tick(300),
            manual("alert", 310, zones=["r0c0"], category="missiles"),
            manual("clear", 400, zones=["r0c0"]),
        ],
    )
    assert [(d.level, d.kind, d.threats) for d in out] == [
        ("pre_alert", "missiles", []),
        ("alert", "missiles", []),
        ("clear", "missiles", []),
    ]
    drill = run(engine, [manual("pre_alert", 500, zones=["r1c1"], status="exercise")])
    assert [(d.level, d.status) for d in drill] == [("pre_alert", "exercise")]
    assert engine.drills() == {"r1c1": ("exercise", "manual", "pre_alert")}
    assert engine.levels() == {}


def test_unknown_zone_in_a_manual_action_is_rejected_and_changes_nothing(grid):
    engine = Engine(grid)
    run(engine, [manual("alert", 0, zones=["r0c0"])])
    with pytest.raises(EventError, match="no zone with that id.*'nowhere'"):
        engine.apply(manual("alert", 10, zones=["r1c1", "nowhere"]))
    assert engine.levels() == {"r0c0": "alert"}
    assert engine.clock_ms is not None and engine.clock_ms % 1000 == 0
    with pytest.raises(EventError, match="no region of that name"):
        engine.apply(manual("alert", 10, region="atlantis"))


def drone_pass(threat: str = "D1", t0: float = 0.0, lat: float = 31.55):
    """A drone flying east at 50 m/s across the grid's middle row, reporting every 10 s."""
    events = []
    for i in range(0, 150):
        t = t0 + 10 * i
        lon = 34.50 + (50 * 10 * i) / 95_000
        events.append(
            track(threat, t, lat, lon, kind="drone", sigma_m=100, vel_mps=[50.0, 0.0, 0.0])
        )
    return events


def test_drone_alerts_zones_ahead_of_it_and_releases_them_after_it_passes(grid):
    engine = Engine(grid, EngineConfig(hold_s=600))
    out = run(engine, drone_pass())
    first_alert = {}
    for d in out:
        if d.level == "alert":
            first_alert.setdefault(d.zone, d.t)
    # it flies along row 3 (31.55-31.60): zones there go to alert in order of longitude
    row = [f"r3c{c}" for c in range(6)]
    assert all(z in first_alert for z in row)
    assert [first_alert[z] for z in row] == sorted(first_alert[z] for z in row)
    # far rows are never alerted by a drone that cannot reach them within shelter time
    assert not any(z.startswith("r0") for z in first_alert)
    # the first zone steps down from alert once the drone has moved on (+ hold), while it still
    # flies (it may stay pre-alerted: a drone can turn back within the pre-alert horizon)
    stepped_down = [d for d in out if d.zone == "r3c0" and d.level != "alert"]
    assert stepped_down and stepped_down[0].t < "2026-03-01T18:20:00.000Z"
    assert engine.active_threats == ["D1"]


def test_zone_stays_alerted_for_the_hold_time_after_the_threat_ends(grid):
    engine = Engine(grid, EngineConfig(hold_s=600))
    events = [
        track("D1", 0, 31.575, 34.725, sigma_m=50),
        track("D1", 10, 31.575, 34.726, sigma_m=50),
    ]
    out = run(engine, events)
    assert ("2026-03-01T18:00:00.000Z", "alert") in levels(out, "r3c2")
    out = run(engine, [end("D1", 100), tick(699)])
    assert engine.level_of("r3c2") == "alert"
    out = run(engine, [tick(700)])
    assert ("2026-03-01T18:11:40.000Z", "clear") in levels(out, "r3c2")


def drone_then_end(grid, reason, pass_hold_s=60, end_s=331, reports=34):
    """A drone flying east along the border of rows 2 and 3 that ends at 331 s, its last fix
    (330 s) at 34.674 E, in zones r2c1 and r3c1, while its corridor still covers the zones of
    rows 1 to 4 around it."""
    config = EngineConfig(hold_s=600, pass_hold_s=pass_hold_s, down_elsewhere_hold_s=10)
    engine = Engine(grid, config)
    for event in drone_pass()[:reports]:
        engine.apply(event)
    held = {z for z, level in engine.levels().items() if level == "alert"}
    out = run(engine, [end("D1", end_s, reason)])
    return engine, held, out


def alerted(engine):
    return {z for z, level in engine.levels().items() if level == "alert"}


NEAR_LAST_FIX = {"r2c0", "r2c1", "r2c2", "r3c0", "r3c1", "r3c2"}  # within 3 km of 34.674 E


@pytest.mark.parametrize("reason", ["impact", "intercepted"])
def test_a_drone_that_came_down_keeps_only_the_zones_near_its_last_fix_alerted(grid, reason):
    # with a 20 s pass hold, rows 1 and 4 (5.5 km from the last fix) are beyond the drone's
    # debris radius and beyond where it could have flown in 20 s had its end been wrong
    engine, held, out = drone_then_end(grid, reason, pass_hold_s=20)
    assert {"r1c1", "r2c1", "r3c1", "r4c1"} <= held
    run(engine, [tick(331 + 9)])
    assert alerted(engine) == held
    out = run(engine, [tick(331 + 10)])
    assert ("2026-03-01T18:05:41.000Z", "clear") in levels(out, "r1c1")
    # within the drone's 3 km debris radius of the last fix: the full hold (debris, a second
    # look); rows 1 and 4 step down 10 s after the end (down_elsewhere_hold_s), not after the
    # pass hold of a drone that flew on
    assert alerted(engine) == NEAR_LAST_FIX
    run(engine, [tick(331 + 599)])
    assert engine.level_of("r3c1") == "alert" and engine.level_of("r2c1") == "alert"
    run(engine, [tick(331 + 601)])
    assert engine.level_of("r3c1") == "clear"


_M_PER_DEG_LAT = 111_320.0
# ~1 km squares: a hit's zone is easily missed by a radius a kilometre short
KM_GRID = zones_from_geojson(grid_zones(rows=50, cols=50, lon0=34.55, lat0=31.35, step=0.01))


@pytest.mark.parametrize("stamped_s", [190, 192, 198])
def test_a_cruise_missile_whose_hit_is_stamped_at_its_last_contact_keeps_the_zone_it_hit(
    stamped_s,
):
    # north at 220 m/s, seen every 10 s, last at 190 s; it hits 1.76 km on at 198 s, and the
    # sensor stamps the end at its last contact, 2 s after, or at the hit: the zone it hit is
    # at alert for the full hold after the end (a radius of the hit's effects alone, 500 m
    # plus 3 sigma, let it go a minute after an end stamped at the last contact)
    lat0, lon0 = 31.605, 34.805
    engine = Engine(KM_GRID, EngineConfig(hold_s=600))
    for t in range(0, 191, 10):
        y = -220.0 * (198 - t)
        engine.apply(
            track(
                "C1",
                t,
                lat0 + y / _M_PER_DEG_LAT,
                lon0,
                kind="cruise",
                sigma_m=100,
                vel_mps=[0.0, 220.0, 0.0],
            )
        )
    hit = KM_GRID.ids[KM_GRID.zone_at(lon0, lat0)]
    run(engine, [end("C1", stamped_s, "impact"), tick(stamped_s + 599)])
    assert engine.level_of(hit) == "alert"


@pytest.mark.parametrize("bias_m", [1000.0, 1500.0, 2000.0])
@pytest.mark.parametrize("zones", [KM_GRID, zones_from_geojson(grid_zones(rows=10, cols=10))])
def test_a_drone_whose_last_reports_strayed_keeps_the_zone_it_hit(zones, bias_m):
    # north at 45 m/s, seen every 5 s with 100 m stated; its last three reports are pulled
    # west by a bias its track cannot see yet, and it hits where it truly is: the zone it hit
    # keeps the full hold (the debris radius covers the bias; 500 m plus 3 sigma did not)
    lat0, lon0 = 31.605, 34.802
    m_lon = _M_PER_DEG_LAT * math.cos(math.radians(lat0))
    engine = Engine(zones, EngineConfig(hold_s=600))
    for t in range(0, 600, 5):
        x, y = (-bias_m if t >= 585 else 0.0), -45.0 * (600 - t)
        engine.apply(
            track(
                "D1",
                t,
                lat0 + y / _M_PER_DEG_LAT,
                lon0 + x / m_lon,
                kind="drone",
                sigma_m=100,
                vel_mps=[0.0, 45.0, 0.0],
            )
        )
    hit = zones.ids[zones.zone_at(lon0, lat0)]
    run(engine, [end("D1", 600, "impact"), tick(600 + 599)])
    assert engine.level_of(hit) == "alert"


@settings(max_examples=60, deadline=None)
@given(
    kind_speed=st.sampled_from([("drone", 45.0), ("drone", 60.0), ("cruise", 220.0)]),
    heading_deg=st.floats(0.0, 360.0),
    every_s=st.sampled_from([1.0, 5.0, 10.0, 20.0]),
    sigma_m=st.sampled_from([30.0, 100.0, 300.0]),
    hit_after=st.floats(0.0, 1.0),  # of a report interval after the last report
    stamped_at_hit=st.booleans(),  # or at the sensor's last contact
    seed=st.integers(0, 2**16),
)
def test_the_zone_a_drone_or_cruise_missile_hits_keeps_the_full_hold(
    grid, kind_speed, heading_deg, every_s, sigma_m, hit_after, stamped_at_hit, seed
):
    # it flies straight at the grid's centre from 30 km out, seen with noise, and hits where
    # it is some time after its last report, the end stamped then or at its last report: the
    # zone it hit is at alert for the full hold after the end
    kind, speed = kind_speed
    rng = np.random.default_rng(seed)
    lat0, lon0 = 31.55, 34.75
    m_lon = _M_PER_DEG_LAT * math.cos(math.radians(lat0))
    east, north = math.sin(math.radians(heading_deg)), math.cos(math.radians(heading_deg))
    start_x, start_y = -30_000.0 * east, -30_000.0 * north
    hit_t = (30_000.0 + float(rng.uniform(-5_000.0, 5_000.0))) / speed
    reports = int(hit_t // every_s)
    if reports < 3:
        return
    events = []
    for i in range(reports + 1):
        t = i * every_s
        dx, dy = (float(v) for v in rng.normal(0.0, sigma_m, 2))
        x, y = start_x + speed * t * east + dx, start_y + speed * t * north + dy
        lat, lon = lat0 + y / _M_PER_DEG_LAT, lon0 + x / m_lon
        vel = [speed * east, speed * north, 0.0]
        events.append(track("T1", t, lat, lon, kind=kind, sigma_m=sigma_m, vel_mps=vel))
    hit_t = reports * every_s + hit_after * every_s
    x, y = start_x + speed * hit_t * east, start_y + speed * hit_t * north
    zone = grid.zone_at(lon0 + x / m_lon, lat0 + y / _M_PER_DEG_LAT)
    assert zone is not None
    end_t = hit_t if stamped_at_hit else reports * every_s
    engine = Engine(grid, EngineConfig(hold_s=600))
    run(engine, [*events, end("T1", end_t, "impact")])
    run(engine, [tick(end_t + 599)])
    assert engine.level_of(grid.ids[zone]) == "alert"


def test_zones_a_downed_drone_could_have_flown_to_within_the_pass_hold_keep_it(grid):
    # Had the end been wrong (a kill claimed that missed), the drone could be over rows 1 and
    # 4 within the minute's pass hold: they keep it, until a new track of it takes them again.
    engine, held, out = drone_then_end(grid, "intercepted", pass_hold_s=60)
    run(engine, [tick(331 + 59)])
    assert alerted(engine) == held
    out = run(engine, [tick(331 + 60)])
    assert ("2026-03-01T18:06:31.000Z", "clear") in levels(out, "r4c1")
    assert alerted(engine) == NEAR_LAST_FIX


def test_an_end_that_comes_in_late_keeps_the_zones_where_the_drone_was_then(grid):
    # Stamped 250 s but come in after the fix of 400 s (34.711 E, zone c2): at 250 s the drone
    # was over 34.632 E, in zones r2c0 and r3c0, 5.7 km behind that fix, beyond its debris
    # radius of it. The zones around where it was when it ended keep the full hold as well.
    engine, held, out = drone_then_end(grid, "impact", pass_hold_s=20, end_s=250, reports=41)
    assert {"r2c0", "r3c0"} <= held
    run(engine, [tick(400 + 30)])
    assert {"r2c0", "r3c0", "r2c2", "r3c2"} <= alerted(engine)
    run(engine, [tick(400 + 599)])  # the clock was at the last fix when the end came
    assert {"r2c0", "r3c0", "r2c2", "r3c2"} <= alerted(engine)


WIDE = zones_from_geojson(grid_zones(rows=10, cols=16, lon0=34.5, lat0=31.3))
_LAT0, _LON0 = 31.55, 34.75
_M_LAT = 111_000.0
_M_LON = _M_LAT * math.cos(math.radians(_LAT0))


def _circling_then_leaving(speed=150.0, radius=2000.0, every=30, reports=11):
    """A "drone" flying 150 m/s (faster than its kind) round a 2 km circle, seen every 30 s
    (its quiet filter cuts the corner and reads it slow), that flies off along the tangent
    after its last report."""
    events = []
    for i in range(reports):
        angle = speed * every * i / radius
        lat = _LAT0 + radius * math.sin(angle) / _M_LAT
        events.append(
            track("D1", every * i, lat, _LON0 + radius * math.cos(angle) / _M_LON, sigma_m=100)
        )
    t_last = every * (reports - 1)
    angle = speed * t_last / radius

    def truth(t):
        d = speed * (t - t_last)
        x = radius * math.cos(angle) - math.sin(angle) * d
        y = radius * math.sin(angle) + math.cos(angle) * d
        return _LAT0 + y / _M_LAT, _LON0 + x / _M_LON

    return events, t_last, truth


def _straight(speed, every, reports, kind, lon0):
    """A threat flying east at `speed` from `lon0`, seen every `every` s."""
    events = [
        track("C1", every * i, _LAT0, lon0 + speed * every * i / _M_LON, kind=kind)
        for i in range(reports)
    ]
    return events, every * (reports - 1), lambda t: (_LAT0, lon0 + speed * t / _M_LON)


@pytest.mark.parametrize(
    ("flight", "end_after", "clock_after"),
    [
        (_circling_then_leaving(), 30, 0),  # the corridor's speed, not the quiet filter's
        (_straight(300.0, 30, 6, "cruise", 34.3), 25, 40),  # faster than its kind; clock ahead
        (_straight(70.0, 60, 5, "drone", 34.45), 50, 55),  # a report a minute; the end late
    ],
)
def test_a_threat_whose_end_was_wrong_finds_the_zones_ahead_of_it_still_alerted(
    flight, end_after, clock_after
):
    # An `intercepted` that was not: the threat flies on, its later reports ignored. Every
    # zone it held and crosses within the pass hold is still at alert when it gets there.
    events, t_last, truth = flight
    engine = Engine(WIDE, EngineConfig(pass_hold_s=60, down_elsewhere_hold_s=10))
    for event in events:
        engine.apply(event)
    now = t_last + max(end_after, clock_after)
    run(engine, [tick(t_last + clock_after)] if clock_after else [])
    held = alerted(engine)
    threat = events[0].threat
    run(engine, [end(threat, t_last + end_after, "intercepted")])
    crossed = set()
    for t in range(now + 1, now + 60):
        run(engine, [tick(t)])
        lat, lon = truth(t)
        zone = WIDE.zone_at(lon, lat)
        if zone is not None and WIDE.ids[zone] in held:
            crossed.add(WIDE.ids[zone])
            assert engine.level_of(WIDE.ids[zone]) == "alert", (t - now, WIDE.ids[zone])
    assert crossed  # the flight does cross zones it held


def test_a_lost_drone_keeps_every_zone_of_its_corridor_for_the_full_hold(grid):
    engine, held, out = drone_then_end(grid, "lost")
    run(engine, [tick(331 + 599)])
    assert {z for z, level in engine.levels().items() if level == "alert"} == held


def test_manual_clear_wins_over_a_threat_that_still_holds_the_zone(grid):
    engine = Engine(grid)
    run(engine, [track("D1", 0, 31.575, 34.725, sigma_m=50)])
    assert engine.level_of("r3c2") == "alert"
    out = run(engine, [manual("clear", 5, zones=["r3c2"])])
    assert levels(out, "r3c2") == [("2026-03-01T18:00:05.000Z", "clear")]
    out = run(engine, [track("D1", 10, 31.575, 34.7251, sigma_m=50)])
    assert engine.level_of("r3c2") == "clear"  # the operator overruled this threat here
    run(engine, [track("D2", 20, 31.575, 34.725, sigma_m=50)])
    assert engine.level_of("r3c2") == "alert"  # a new threat may alert it again


def test_duplicate_reports_change_nothing(grid):
    events = drone_pass()
    doubled = [e for event in events for e in (event, event)]
    once = [(d.t, d.zone, d.level) for d in run(Engine(grid), events)]
    engine = Engine(grid)
    twice = [(d.t, d.zone, d.level) for d in run(engine, doubled)]
    assert once == twice
    assert engine.stats.duplicates == len(events)


def test_out_of_order_reports_within_the_window_are_used_and_older_ones_ignored(grid):
    engine = Engine(grid, EngineConfig(reorder_window_s=30))
    run(
        engine,
        [
            track("D1", 0, 31.575, 34.60),
            track("D1", 20, 31.575, 34.61),
            track("D1", 10, 31.575, 34.605),
        ],
    )
    assert engine.stats.reordered == 1
    run(engine, [track("D1", 100, 31.575, 34.65), track("D1", 40, 31.575, 34.62)])
    assert engine.stats.stale == 1


def test_a_silent_track_times_out_and_its_zones_clear_after_the_hold(grid):
    engine = Engine(grid, EngineConfig(hold_s=60))
    run(engine, [track("D1", 0, 31.575, 34.725, sigma_m=50)])
    assert engine.active_threats == ["D1"]
    out = engine.flush()
    assert engine.active_threats == []
    assert engine.levels() == {}
    timeout = engine.config.profiles["drone"].timeout_s
    clear_t = {d.t for d in out if d.level == "clear" and d.zone == "r3c2"}
    assert clear_t == {f"2026-03-01T18:0{(timeout + 60) // 60}:{(timeout + 60) % 60:02d}.000Z"}


def test_reports_after_a_threat_ended_are_ignored(grid):
    engine = Engine(grid)
    run(
        engine,
        [
            track("D1", 0, 31.575, 34.725),
            end("D1", 5, "intercepted"),
            track("D1", 6, 31.575, 34.725),
        ],
    )
    assert engine.stats.after_end == 1
    assert engine.active_threats == []


def rocket_reports(launch, target, t_launch=0.0, every_s=1.0, start_s=3.0, threat="R1"):
    """Noise-free reports of a rocket flown with the physics model, with velocity."""
    beta = 8000.0
    v0 = physics.aim(*launch, *target, beta_kg_m2=beta, loft_deg=45.0)
    flight = physics.fly(physics.geodetic_to_ecef(*launch, 0.0), v0, 0.0, beta, record=True)
    assert flight.impact is not None
    events = []
    for ts, (r, v) in zip(flight.times_s, flight.states, strict=True):
        if ts < start_s:
            continue
        if events and ts - events[-1][0] < every_s:
            continue
        lat, lon, h = physics.ecef_to_geodetic(*r)
        east, north, up = physics.ecef_to_enu_vector(lat, lon, v)
        events.append(
            (
                ts,
                track(
                    threat,
                    t_launch + ts,
                    lat,
                    lon,
                    kind="rocket",
                    alt_m=h,
                    sigma_m=30,
                    vel_mps=[east, north, up],
                ),
            )
        )
    return [e for _, e in events], flight.impact


def test_rocket_alerts_its_impact_zone_at_least_its_shelter_time_before_impact(grid):
    launch, target = (31.20, 34.50), (31.575, 34.725)  # ~45 km, lands in zone r3c2
    events, impact = rocket_reports(launch, target)
    engine = Engine(grid)
    out = run(engine, events)
    zone = grid.ids[grid.zone_at(impact.lon, impact.lat)]
    assert zone == "r3c2"
    alerts = [d for d in out if d.zone == zone and d.level == "alert"]
    assert alerts, "the impact zone was never alerted"
    from conftest import at

    from airwarn.contract import parse_time

    warning_s = (parse_time(at(impact.t_s)) - parse_time(alerts[0].t)) / 1000
    assert warning_s >= 60  # the grid's shelter time
    # and the alert is local: a few zones around the impact, not the whole grid
    alerted = {d.zone for d in out if d.level == "alert"}
    assert len(alerted) <= 9
    assert alerts[0].kind == "rocket" and alerts[0].threats == ["R1"]


def test_ballistic_impact_zone_is_not_cleared_while_the_missile_still_flies(grid):
    events, impact = rocket_reports((31.20, 34.50), (31.575, 34.725))
    engine = Engine(grid, EngineConfig(hold_s=0))
    out = run(engine, events)
    # zones the shrinking impact region let go may clear in flight; the impact zone may not
    assert "r3c2" not in {d.zone for d in out if d.level == "clear"}
    assert engine.level_of("r3c2") == "alert"
    out = run(engine, [end("R1", impact.t_s + 1)])
    assert {d.level for d in out} == {"clear"}
    assert "r3c2" in {d.zone for d in out}


def small_zone_row(count: int = 30, shelter_s: int = 90) -> ZoneSet:
    """A row of small zones (2 x 2 km) along 31.5 N from 34.0 E, as Israel's alert areas are."""
    return zones_from_geojson(
        grid_zones(rows=1, cols=count, lon0=34.0, lat0=31.49, step=0.02, shelter_s=shelter_s)
    )


def cruise_past_and_turning(turn_deg: float, back_s: float = 0.0) -> list:
    """A cruise missile at 230 m/s flying east 2 km north of the row, from 40 km before it to
    15 km past its end, then turning left as hard as it can (4 deg/s) by `turn_deg` and coming
    down there; a report (with velocity) every 5 s."""
    speed, turn_dps, step_s = 230.0, 4.0, 5.0
    m_per_deg_lon = 111_320 * math.cos(math.radians(31.5))
    lat, lon, heading = 31.53, 34.0 - 40_000 / m_per_deg_lon, 90.0
    events, t = [], 0.0
    straight_s = (0.6 * m_per_deg_lon + 55_000) / speed
    while True:
        h = math.radians(heading)
        events.append(
            track(
                "C1",
                t,
                lat,
                lon,
                kind="cruise",
                sigma_m=100,
                vel_mps=[speed * math.sin(h), speed * math.cos(h), 0.0],
            )
        )
        if t >= straight_s + turn_deg / turn_dps + back_s:
            break
        for _ in range(50):  # fly the next 5 s in small steps
            dt = step_s / 50
            if straight_s <= t < straight_s + turn_deg / turn_dps:
                heading -= turn_dps * dt
            h = math.radians(heading)
            lon += speed * math.sin(h) * dt / m_per_deg_lon
            lat += speed * math.cos(h) * dt / 110_570
            t += dt
    return [*events, end("C1", t + 1, "impact")]


@pytest.mark.parametrize(("turn_deg", "back_s"), [(0, 0), (90, 0), (180, 0), (180, 30)])
def test_a_cruise_missile_flying_past_a_row_of_small_zones_alerts_each_once(turn_deg, back_s):
    # Past the row it turns back towards the zones it passed (and flies 7 km back): a zone it
    # let go was beyond its reach in any direction, so neither the turn nor that much of a
    # return takes it again (docs/engine.md, "Policy and lifecycle"). Before this rule the
    # U-turn with 30 s back alerted 3 zones twice.
    zones = small_zone_row()
    engine = Engine(zones)
    out = run(engine, cruise_past_and_turning(turn_deg, back_s)) + engine.flush()
    alerts = Counter(d.zone for d in out if d.level == "alert")
    assert set(alerts) == set(zones.ids)
    assert max(alerts.values()) == 1
    assert engine.stats.flaps == 0


def test_a_cruise_missile_that_really_comes_back_alerts_the_zones_again(grid):
    # Two minutes back along the row (28 km) brings the zones it let go within its reach again:
    # they are alerted again, in time, and the engine counts each as a flap.
    zones = small_zone_row()
    engine = Engine(zones)
    out = run(engine, cruise_past_and_turning(180, 120)) + engine.flush()
    again = [z for z, n in Counter(d.zone for d in out if d.level == "alert").items() if n > 1]
    assert len(again) == engine.stats.flaps > 0
