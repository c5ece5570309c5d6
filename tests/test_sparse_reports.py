"""Sensors and threats beyond the usual: a track silent for a while is not given up for good, a
drone or cruise missile reported once a minute, or flying faster than its kind, is still warned
of a shelter time before it arrives, and a ballistic missile its sensor lost still alerts where
it comes down."""

from __future__ import annotations

import math

import pytest
import shapely
from conftest import at, end, tick, track
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engine import rocket_reports, run

from airwarn.contract import parse_time
from airwarn.engine import Engine
from airwarn.engine import policy as policy_module
from airwarn.engine.policy import SmartPolicy, ThreatView
from airwarn.engine.threat_kinds import PROFILES
from airwarn.engine.tracks import CorridorTrack, Report

SHELTER_S = 60  # every zone of the grid's
M_PER_DEG = 95_000.0  # metres per degree of longitude there, near enough


def _first_alert_s(out, zone: str) -> float | None:
    for d in out:
        if d.zone == zone and d.level == "alert":
            return parse_time(d.t) / 1000
    return None


def _row_entry_s(col: int, start_lon: float, speed: float) -> float:
    """When a threat flying east along the grid's row 3 from `start_lon` at t = 0 enters the
    zone of column `col` (0.05 deg wide from 34.6 E)."""
    return ((34.6 + 0.05 * col) - start_lon) * M_PER_DEG / speed


def _assert_warned_in_time(out, entries: dict[str, float]) -> None:
    """Each zone (with the second the threat enters it) alerted a shelter time before."""
    start = parse_time(at(0)) / 1000
    for zone, enters_s in entries.items():
        first = _first_alert_s(out, zone)
        assert first is not None, f"{zone} was never alerted"
        assert enters_s - (first - start) >= SHELTER_S, f"{zone} alerted late"


def _missile(every_s, kind=lambda i: "ballistic", velocity=True, seen_share=1.0):
    """A ballistic missile of some 330 km (five minutes of flight) into the grid's zone r3c2,
    reported every `every_s` from 30 s (the i-th report naming it `kind(i)`, with its velocity
    or not, up to `seen_share` of its flight): the reports and the impact."""
    flown, impact = rocket_reports((28.6, 34.5), (31.575, 34.725), every_s=every_s, start_s=30.0)
    assert 31.55 < impact.lat < 31.60 and 34.70 < impact.lon < 34.75  # in r3c2
    start_s = parse_time(at(0)) / 1000
    events = []
    for i, e in enumerate(flown):
        t = parse_time(e.t) / 1000 - start_s
        if t < seen_share * impact.t_s:
            extra = {"vel_mps": list(e.vel_mps)} if velocity else {}
            events.append(
                track(e.threat, t, e.lat, e.lon, kind=kind(i), alt_m=e.alt_m, sigma_m=100, **extra)
            )
    return events, impact


def test_a_ballistic_missile_reported_once_a_minute_alerts_its_impact_zone_in_time(grid):
    # about 330 km: some five minutes of flight, a report every 61 s (its kind's timeout is 60 s)
    events, impact = _missile(every_s=61.0)
    assert len(events) >= 4
    engine = Engine(grid)
    out = run(engine, events)
    assert engine.threat_state("R1") == "active"  # never lost between two reports
    assert engine.stats.after_end == 0  # no report was thrown away
    out += engine.flush()  # and the time after the last report
    _assert_warned_in_time(out, {"r3c2": impact.t_s})


def test_a_track_lost_by_silence_is_taken_up_again_by_a_later_report(grid):
    engine = Engine(grid)
    timeout = engine.config.profiles["drone"].timeout_s
    run(engine, [track("D1", 0, 31.575, 34.725, sigma_m=50)])
    assert engine.level_of("r3c2") == "alert"
    run(engine, [track("X", timeout + 1, 31.40, 34.60, sigma_m=50)])  # the clock moves on
    assert engine.threat_state("D1") == "lost"
    assert engine.stats.lost == 1
    # it comes back, a zone further on: taken up, the same track, and it holds that zone
    run(engine, [track("D1", timeout + 60, 31.575, 34.825, sigma_m=50)])
    assert engine.threat_state("D1") == "active"
    assert engine.stats.resumed == 1 and engine.stats.after_end == 0
    assert "D1" in engine.holders("r3c4")


def test_a_report_long_after_a_track_was_lost_starts_a_new_track(grid):
    engine = Engine(grid)
    resume_s = engine.config.resume_s
    run(engine, [track("D1", 0, 31.575, 34.725, sigma_m=50)])
    run(engine, [track("D1", resume_s + 60, 31.575, 34.825, sigma_m=50)])
    assert engine.threat_state("D1") == "active"
    assert engine.stats.resumed == 0 and engine.stats.after_end == 0
    assert "D1" in engine.holders("r3c4")


def test_an_end_for_a_lost_track_ends_it_and_later_reports_are_ignored(grid):
    engine = Engine(grid)
    timeout = engine.config.profiles["drone"].timeout_s
    run(engine, [track("D1", 0, 31.575, 34.725, sigma_m=50), end("D1", timeout + 10, "impact")])
    assert engine.threat_state("D1") == "ended"
    assert engine.ignored is not None and "lost already" in engine.ignored
    run(engine, [track("D1", timeout + 20, 31.575, 34.725, sigma_m=50)])
    assert engine.stats.after_end == 1 and engine.active_threats == []


@pytest.mark.parametrize(("kind", "speed", "every_s"), [("cruise", 220.0, 60), ("drone", 50.0, 90)])
def test_a_threat_reported_once_a_minute_or_less_is_warned_of_a_shelter_time_ahead(
    grid, kind, speed, every_s
):
    # east along the grid's row 3 (31.55-31.60 N); the grid's zones are 0.05 deg wide from
    # 34.6 E, with 60 s of shelter time. Before a silent track was assessed again, these were
    # alerted 12 s (cruise) and 25 s (drone) late.
    events = [
        track(
            "T1",
            t,
            31.575,
            34.40 + speed * t / M_PER_DEG,
            kind=kind,
            sigma_m=100,
            vel_mps=[speed, 0.0, 0.0],
        )
        for t in range(0, round(0.6 * M_PER_DEG / speed) + 200, every_s)
    ]
    engine = Engine(grid)
    out = run(engine, events) + engine.flush()  # and the time after the last report
    _assert_warned_in_time(out, {f"r3c{c}": _row_entry_s(c, 34.40, speed) for c in range(1, 6)})


@settings(max_examples=40, deadline=None)
@given(
    kind_speed=st.sampled_from(
        [("drone", 25.0), ("drone", 55.0), ("cruise", 160.0), ("cruise", 260.0)]
    ),
    gaps=st.lists(st.floats(1.0, 150.0), min_size=60, max_size=60),
    with_velocity=st.booleans(),
)
def test_however_far_apart_the_reports_every_zone_ahead_is_warned_in_time(
    grid, kind_speed, gaps, with_velocity
):
    kind, speed = kind_speed
    start_lon = 34.30  # at least 28 km, 108 s, short of the first zone it enters

    events, t = [], 0.0
    for gap in gaps:
        lon = start_lon + speed * t / M_PER_DEG
        if lon > 35.0:
            break
        extra = {"vel_mps": [speed, 0.0, 0.0]} if with_velocity else {}
        events.append(track("T1", round(t, 3), 31.575, lon, kind=kind, sigma_m=100, **extra))
        t += gap
    engine = Engine(grid)
    out = run(engine, events) + engine.flush()  # and the time after the last report
    entries = {f"r3c{c}": _row_entry_s(c, start_lon, speed) for c in range(6)}
    # not those it reached after its reports stopped
    _assert_warned_in_time(out, {z: s for z, s in entries.items() if s <= t})


@settings(max_examples=150, deadline=None)
@given(
    kind_speed=st.sampled_from(
        [("drone", 25.0), ("drone", 55.0), ("cruise", 160.0), ("cruise", 260.0)]
    ),
    gaps=st.lists(st.floats(1.0, 90.0), min_size=80, max_size=80),
    turns=st.lists(
        st.tuples(st.floats(-1.0, 1.0), st.floats(10.0, 200.0)), min_size=1, max_size=12
    ),
)
def test_a_threat_turning_within_its_limits_between_sparse_reports_is_warned_in_time(
    grid, kind_speed, gaps, turns
):
    """Turns of up to the kind's hardest rate, anywhere between reports up to 90 s apart: every
    zone it enters is alerted a shelter time before (the grid's 60 s)."""
    kind, speed = kind_speed
    rate = math.radians(PROFILES[kind].turn_rate_dps)
    m_per_deg_lon, m_per_deg_lat = M_PER_DEG, 111_000.0
    # flown second by second from 110 s of flight west of the grid's row 3, heading east
    x, y, heading = -110.0 * speed, 0.0, math.pi / 2
    path = []
    for share, length_s in turns:
        for _ in range(round(length_s)):
            path.append((x, y))
            heading += share * rate
            x += speed * math.sin(heading)
            y += speed * math.cos(heading)
    report_at, t = [], 0.0
    for gap in gaps:
        if t >= len(path):
            break
        report_at.append(t)
        t += gap
    events = []
    for t in report_at:
        px, py = path[int(t)]
        events.append(
            track(
                "T1",
                t,
                31.575 + py / m_per_deg_lat,
                34.6 + px / m_per_deg_lon,
                kind=kind,
                sigma_m=100,
            )
        )
    engine = Engine(grid)
    out = run(engine, events) + engine.flush()  # and the time after the last report
    last_report = report_at[-1]
    entered: dict[str, float] = {}
    for second, (px, py) in enumerate(path[: int(last_report) + 1]):
        z = grid.zone_at(34.6 + px / m_per_deg_lon, 31.575 + py / m_per_deg_lat)
        if z is not None:
            entered.setdefault(grid.ids[z], float(second))
    _assert_warned_in_time(out, entered)


@pytest.mark.parametrize("told", [True, False])
def test_a_ballistic_missile_its_sensor_loses_early_still_alerts_its_impact_zone(grid, told):
    """The sensor's cover ends at 40 % of the flight, with an `end: lost` or in silence: the
    missile flies on, and its last impact estimate still alerts the zone a shelter time before
    it comes down."""
    seen, impact = _missile(every_s=5.0, seen_share=0.4)
    lost_s = (parse_time(seen[-1].t) - parse_time(at(0))) / 1000 + 10
    engine = Engine(grid)
    out = run(engine, seen + ([end("R1", lost_s, "lost")] if told else []))
    out += engine.flush()
    _assert_warned_in_time(out, {"r3c2": impact.t_s})
    clear = [parse_time(d.t) / 1000 for d in out if d.zone == "r3c2" and d.level == "clear"]
    assert clear and clear[0] - parse_time(at(impact.t_s)) / 1000 >= engine.config.hold_s


@pytest.mark.parametrize(
    ("kind", "speed", "with_velocity"),
    [("drone", 150.0, True), ("drone", 150.0, False), ("cruise", 700.0, True)],
)
def test_a_threat_faster_than_its_kind_is_warned_of_a_shelter_time_ahead(
    grid, kind, speed, with_velocity
):
    """A jet drone reported as a drone (150 m/s; the kind's top is 60), a Kh-22- or Oniks-like
    missile as a cruise missile (700 m/s; the kind's top is 280). Capped at the kind's top
    speed, the corridor fell short and every zone was alerted 32-40 s before it arrived."""
    start_lon = 34.6 - speed * 200 / M_PER_DEG
    extra = {"vel_mps": [speed, 0.0, 0.0]} if with_velocity else {}
    events = [
        track("T1", t, 31.575, start_lon + speed * t / M_PER_DEG, kind=kind, sigma_m=100, **extra)
        for t in range(0, 400, 5)
    ]
    engine = Engine(grid)
    out = run(engine, events) + engine.flush()
    _assert_warned_in_time(out, {f"r3c{c}": _row_entry_s(c, start_lon, speed) for c in range(6)})


def test_a_track_first_reported_as_unknown_is_predicted_as_the_kind_it_is_later_named(grid):
    """A radar first calls a track `unknown`, then `ballistic`: from then on it is a ballistic
    missile, its earlier reports filtered again as one, and its impact zone is alerted in time
    and as a ballistic missile's (before, the first kind stuck: an `unknown` track's corridor,
    at its speed some 150 km long, instead of an impact region, and every alert said
    `unknown`)."""
    named, impact = _missile(
        every_s=5.0, kind=lambda i: "unknown" if i < 3 or i == 6 else "ballistic", velocity=False
    )
    engine = Engine(grid)
    out = run(engine, named) + engine.flush()
    _assert_warned_in_time(out, {"r3c2": impact.t_s})
    assert {d.kind for d in out if d.zone == "r3c2" and d.level == "alert"} == {"ballistic"}
    assert engine.stats.reclassified == 1  # the `unknown` of its seventh report changed nothing


def test_a_sensor_that_flips_a_tracks_kind_on_every_report_pays_for_a_rename_rarely(grid):
    """Renaming re-filters every report of the track (20 times a report's work for a rocket
    or ballistic missile): a threat renamed twice in 10 s keeps its kind a while, so a sensor
    that alternates `rocket` and `ballistic` on every report renames it twice per 10 s, not on
    every report, and its impact is still warned in time."""
    kinds = ("drone", "cruise")
    flipping = [
        track("T1", i, 31.575, 34.62 + 0.0005 * i, kind=kinds[i % 2], sigma_m=50)
        for i in range(120)
    ]
    engine = Engine(grid)
    run(engine, flipping)
    assert 1 <= engine.stats.reclassified <= 2 * (1 + 120 / 10)  # not 119
    missile, impact = _missile(every_s=1.0, kind=lambda i: ("rocket", "ballistic")[i % 2])
    engine = Engine(grid)
    _assert_warned_in_time(run(engine, missile) + engine.flush(), {"r3c2": impact.t_s})


def test_a_kind_named_by_mistake_is_taken_back_at_once(grid):
    """A ballistic missile a classifier calls a drone for one report, then a ballistic missile
    again: both renames are taken at once (a rule that held a kind it had just left would
    have kept a ballistic missile a drone for 10 s); so are unknown, drone, cruise."""
    missile, _ = _missile(every_s=1.0, kind=lambda i: "drone" if i == 5 else "ballistic")
    engine = Engine(grid)
    run(engine, missile[:7])
    assert engine.stats.reclassified == 2 and engine.threats()[0].kind == "ballistic"
    engine = Engine(grid)
    kinds = ["unknown", "drone", "cruise"]
    run(engine, [track("T9", i, 31.575, 34.70 + 0.002 * i, kind=k) for i, k in enumerate(kinds)])
    assert engine.stats.reclassified == 2 and engine.threats()[0].kind == "cruise"


def test_a_track_its_sensor_said_it_lost_is_taken_up_again_by_a_newer_report(grid):
    engine = Engine(grid)
    run(engine, [track("D1", 0, 31.575, 34.725, sigma_m=50), end("D1", 10, "lost")])
    assert engine.threat_state("D1") == "lost"
    # a report from before the loss, sent again, takes nothing up
    run(engine, [track("D1", 0, 31.575, 34.725, sigma_m=50)])
    assert engine.threat_state("D1") == "lost" and engine.stats.after_end == 1
    run(engine, [track("D1", 60, 31.575, 34.825, sigma_m=50)])
    assert engine.threat_state("D1") == "active" and engine.stats.resumed == 1
    assert "D1" in engine.holders("r3c4")


def test_a_late_report_naming_another_kind_changes_nothing_and_the_track_still_times_out(grid):
    """The newest report names a threat: a late one that calls it another kind (with a longer
    timeout) leaves it as it was, and it is lost in the end (when a late report could rename
    it, the track was left with no timeout timer, and a flush never finished)."""
    engine = Engine(grid)
    run(
        engine,
        [
            track("T1", 10, 31.575, 34.725, kind="rocket", sigma_m=50, vel_mps=[300.0, 0, 50.0]),
            track("T1", 5, 31.575, 34.720, kind="drone", sigma_m=50),
        ],
    )
    assert engine.stats.reclassified == 0
    engine.flush()
    assert engine.threat_state("T1") == "lost"


def test_a_late_report_is_never_taken_for_silence(grid):
    """The silent look returns the last assessment unchanged only while the track has taken no
    report since; a late report re-filters a full window to the same report count, and must
    still be assessed anew."""
    window = CorridorTrack.WINDOW
    corridor = CorridorTrack(PROFILES["drone"], grid.projection)
    for i in range(window):
        corridor.add(Report(10_000 * i, 31.575, 34.40 + 0.005 * i, 100.0, 100.0, None))
    view = ThreatView("D", "drone", PROFILES["drone"], corridor)
    policy = SmartPolicy(grid)
    policy.assess(view, corridor.t_ms)
    count = corridor.count
    late = Report(
        10_000 * (window - 1) - 5_000, 31.575, 34.40 + 0.005 * (window - 1.5), 100.0, 100.0, None
    )
    assert corridor.add(late) == "insert"
    assert corridor.count == count  # the window was full: the same count after the late one
    assert not policy.assess(view, corridor.t_ms + 20_000).unchanged


def test_what_its_corridor_would_take_again_before_the_next_report_is_kept(grid, monkeypatch):
    """A drone reported once a minute: at a report its corridor is drawn over the shelter time
    and the lead, and in the minute of silence that follows it grows by a minute of flight
    (the silent recheck) and would take again a zone let go now. The zones it holds are kept
    over that silence too (`KEEP_SILENCE_S`): more than over the silence so far alone, and none
    beyond its reach over the minute to come."""
    corridor = CorridorTrack(PROFILES["drone"], grid.projection)
    for t in range(0, 240, 60):
        corridor.add(Report(1000 * t, 31.575, 34.62 + 50.0 * t / M_PER_DEG, 300.0, 100.0, None))

    def kept(silence_s: float) -> set[int]:
        monkeypatch.setattr(policy_module, "KEEP_SILENCE_S", silence_s)
        view = ThreatView("D", "drone", PROFILES["drone"], corridor)
        view.held = dict.fromkeys(range(len(grid)), 0)  # as if it held every zone
        return set(SmartPolicy(grid).assess(view, corridor.t_ms).alert.tolist())

    over_silence, at_report = kept(policy_module.KEEP_SILENCE_S), kept(0.0)
    assert at_report < over_silence
    # every zone kept is within (1 + margin) x the reach over shelter + lead + 60 s, and a buffer
    x, y, _, _ = corridor.state()
    speed_cap = PROFILES["drone"].dash_factor * PROFILES["drone"].speed_max_mps
    reach_m = (
        (1 + policy_module.KEEP_MARGIN) * speed_cap * (SHELTER_S + PROFILES["drone"].lead_s + 60)
        + 3 * corridor.position_sigma_m
        + PROFILES["drone"].min_radius_m
    )
    centre = shapely.Point(x, y)
    for zone in over_silence:
        assert grid.shapes_m[zone].distance(centre) <= reach_m


def _cruise_east(speed: float, start_lon: float, times) -> list:
    """A cruise missile's reports flying east along row 3 at `speed` from `start_lon`."""
    return [
        track(
            "C1",
            float(t),
            31.575,
            start_lon + speed * t / M_PER_DEG,
            kind="cruise",
            sigma_m=100,
            vel_mps=[speed, 0.0, 0.0],
        )
        for t in times
    ]


def _surge_entry_s(col: int, start_lon: float, speed: float, silent_from_s: float) -> float:
    """When a threat flying east along row 3 from `start_lon` at `speed`, that speeds up at
    2 m/s2 to 322 m/s from `silent_from_s` on, enters the zone of column `col`."""
    x = ((34.6 + 0.05 * col) - start_lon) * M_PER_DEG  # metres from the start
    x0 = speed * silent_from_s
    if x <= x0:
        return x / speed
    top, accel = 322.0, 2.0
    ramp_s = (top - speed) / accel
    ramp_m = speed * ramp_s + 0.5 * accel * ramp_s**2
    if x - x0 <= ramp_m:  # speed * t + t^2 = x - x0
        return silent_from_s + (-speed + math.sqrt(speed**2 + 4.0 * (x - x0))) / 2.0
    return silent_from_s + ramp_s + (x - x0 - ramp_m) / top


def _assert_a_surge_warned_in_time(grid, times, start_lon: float, speed: float = 155.0) -> None:
    """A cruise missile reported at `times` flying east at `speed` from `start_lon`, that speeds
    up from its last report on (`_surge_entry_s`): each zone it enters before its track times
    out is alerted a shelter time ahead."""
    engine = Engine(grid)
    out = run(engine, _cruise_east(speed, start_lon, times)) + engine.flush()
    silent_from_s = float(max(times))
    timeout_s = PROFILES["cruise"].timeout_s
    entries = {
        f"r3c{c}": s
        for c in range(6)
        if silent_from_s
        < (s := _surge_entry_s(c, start_lon, speed, silent_from_s))
        < silent_from_s + timeout_s
    }
    assert len(entries) >= 3
    _assert_warned_in_time(out, entries)


def test_a_cruise_missile_seen_slow_that_speeds_up_to_its_kinds_top_in_a_silence_is_warned_in_time(
    grid,
):
    # seen every second for 40 s at 155 m/s, its kind's slowest, then silent while it speeds
    # up at 2 m/s2 to 322 m/s, the fastest its kind flies: beyond the dash the engine allows
    # from the speed seen (1.15 x), so once its next report is overdue its corridor may speed
    # up as far as its kind can, and the zones it enters are still alerted a shelter time ahead
    _assert_a_surge_warned_in_time(grid, range(41), 34.45)


def test_a_silent_threat_is_looked_at_again_once_its_next_report_is_overdue(grid, monkeypatch):
    # seen every 2 s until 10 s: its next report is overdue 2 x 2 s + 5 s after its last, at
    # 19 s, and the engine looks at it then (its corridor may grow faster from then on), with
    # its kind's fastest flight as its top speed
    looks = []
    corridor = policy_module.SmartPolicy._corridor

    def spy(self, threat, now_ms):
        found = corridor(self, threat, now_ms)
        looks.append((now_ms - parse_time(at(0)), found.unchanged, threat.top_mps))
        return found

    monkeypatch.setattr(policy_module.SmartPolicy, "_corridor", spy)
    events = [
        track(
            "C1",
            2.0 * i,
            31.575,
            34.30 + 220.0 * 2 * i / M_PER_DEG,
            kind="cruise",
            sigma_m=100,
            vel_mps=[220.0, 0.0, 0.0],
        )
        for i in range(6)
    ]
    engine = Engine(grid)
    run(engine, [*events, tick(40.0)])
    due_ms = 1000 * (10 + policy_module.OVERDUE_GAPS * 2 + policy_module.OVERDUE_S)
    full = [(t, top) for t, unchanged, top in looks if not unchanged]
    assert due_ms in [t for t, _ in full]
    top_then = dict(full)[due_ms]
    assert top_then == PROFILES["cruise"].dash_factor * PROFILES["cruise"].speed_max_mps


def test_a_cruise_missile_seen_every_second_then_once_late_that_speeds_up_is_warned_in_time(
    grid,
):
    # seen every second for 20 s, once more at 60 s (a long gap after a run does not make
    # the next silence its usual: the median gap does), then silent while it speeds up from
    # 155 m/s to 322 m/s: the zones it enters are alerted a shelter time ahead
    _assert_a_surge_warned_in_time(grid, [*range(21), 60], 34.30)
