"""Each zone of a long impact region falls due by the earliest impact on its own stretch of it:
bodies of every plausible drag land along the region at different times, so one end of a
rocket's first region cannot be hit until well after the other, and a later report may narrow
the region before that end falls due."""

from __future__ import annotations

import pytest
from conftest import at, grid_zones, tick
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ballistic_release import launch_from, noisy_rocket, replay

from airwarn.contract import parse_time
from airwarn.engine import Engine, EngineConfig
from airwarn.engine.predict import ballistic
from airwarn.engine.zones import ZoneSet, zones_from_geojson

# ~2 km squares over ~100 x 110 km: a rocket's first region from two reports 30 s apart fits
WIDE = zones_from_geojson(
    grid_zones(rows=50, cols=50, lon0=34.2, lat0=30.9, step=0.02, shelter_s=60)
)


def sensed_rocket(launch, target, *, beta, every_s, seed):
    """Reports of a rocket every `every_s` from 3 s after launch, each with its velocity (as a
    radar's track gives it): 100 m of position noise (1.5x vertical), 5 m/s per axis."""
    return noisy_rocket(
        launch, target, sigma_m=100.0, every_s=every_s, seed=seed, beta=beta, velocity_sigma=5.0
    )


def alerts(zones: ZoneSet, events: list, until_s: float) -> dict[str, int]:
    """When each zone was first alerted (ms), replaying `events` and the clock to `until_s`
    (zones that fall due after the last report, at the time the policy asked to be asked)."""
    engine = Engine(zones, EngineConfig())
    first: dict[str, int] = {}
    for d in replay(engine, [*events, tick(until_s)]):
        if d.level == "alert":
            first.setdefault(d.zone, parse_time(d.t))
    return first


def region_wide(monkeypatch) -> None:
    """The rule before: every zone of a region falls due by the region's earliest impact."""
    monkeypatch.setattr(ballistic, "_locus", lambda *args: ())


def test_the_far_end_of_a_sparse_rockets_first_region_waits_for_the_next_report(monkeypatch):
    # a rocket seen every 30 s from 3 s after launch, ~75 km: its region at the second report
    # spans the drag range, bodies land along it over half a minute, and zones needing 60 s
    events, impact = sensed_rocket(
        (30.95, 34.3), (31.49, 34.775), every_s=30.0, seed=3, beta=15000.0
    )
    third_ms = round(events[2].t.timestamp() * 1000)
    impact_ms = parse_time(at(impact.t_s))
    impact_zone = WIDE.ids[WIDE.zone_at(impact.lon, impact.lat)]
    own = alerts(WIDE, events, impact.t_s)
    with monkeypatch.context() as m:
        region_wide(m)
        wide = alerts(WIDE, events, impact.t_s)
    early_own = {z for z, t in own.items() if t < third_ms}
    early_wide = {z for z, t in wide.items() if t < third_ms}
    # the region-wide rule alerts the whole first region at once; the zone's own, a part of it
    assert len(early_wide) >= 40
    assert len(early_own) <= 0.8 * len(early_wide)
    assert early_own <= early_wide
    # and the zone the rocket comes down in is warned in time by both
    lead_s = EngineConfig().profiles["rocket"].lead_s
    for first in (own, wide):
        assert impact_ms - first[impact_zone] >= 1000 * (60 + lead_s)


flights = st.tuples(
    st.floats(31.2, 31.8),
    st.floats(34.4, 35.0),  # where it comes down, inside the grid
    st.floats(0, 360),
    st.floats(20_000, 80_000),  # from which bearing and how far
    st.sampled_from([4_000.0, 6_000.0, 10_000.0, 15_000.0, 20_000.0]),  # the kind's drags
    st.sampled_from([15.0, 30.0, 60.0]),
    st.integers(0, 2**16),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flights)
def test_the_zone_a_rocket_comes_down_in_is_never_warned_later_than_it_needs(flight):
    # whatever its drag and however sparse its reports: warned its shelter time and the lead
    # before impact, or no later than the region-wide rule warned it
    lat, lon, bearing, range_m, beta, every_s, seed = flight
    launch = launch_from(lat, lon, bearing, range_m)
    events, impact = sensed_rocket(launch, (lat, lon), every_s=every_s, seed=seed, beta=beta)
    zone = WIDE.zone_at(impact.lon, impact.lat)
    if zone is None or len(events) < 2:
        return
    impact_zone = WIDE.ids[zone]
    own = alerts(WIDE, events, impact.t_s)
    with pytest.MonkeyPatch.context() as m:
        region_wide(m)
        wide = alerts(WIDE, events, impact.t_s)
    impact_ms = parse_time(at(impact.t_s))
    needed_ms = impact_ms - 1000 * (60 + EngineConfig().profiles["rocket"].lead_s)
    assert impact_zone in wide and impact_zone in own
    assert own[impact_zone] <= max(needed_ms, wide[impact_zone])
