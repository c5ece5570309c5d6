"""After a rocket or ballistic missile is intercepted, the zones under its falling parts stay at
alert until the parts are down; the others it held are let go. A lost track keeps everything."""

from __future__ import annotations

import math

import numpy as np
from conftest import at, end, grid_zones, track
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airwarn.contract import parse_time
from airwarn.engine import Engine, EngineConfig, physics
from airwarn.engine.lifecycle import COAST_MARGIN_S
from airwarn.engine.predict.debris import FRAGMENT_DRAG_FACTOR, debris_footprint
from airwarn.engine.zones import zones_from_geojson

# ~2 km squares over ~45 x 53 km
FINE = zones_from_geojson(
    grid_zones(rows=24, cols=24, lon0=34.4, lat0=31.15, step=0.02, shelter_s=90)
)
CONFIG = EngineConfig(hold_s=600, ballistic_release_s=30, debris_margin_s=60)
ROCKET = CONFIG.profiles["rocket"]


def rocket_flight(launch, target, beta=8000.0):
    v0 = physics.aim(*launch, *target, beta_kg_m2=beta, loft_deg=45.0)
    flight = physics.fly(physics.geodetic_to_ecef(*launch, 0.0), v0, 0.0, beta, record=True)
    assert flight.impact is not None
    return flight


def reports(flight, until_s, *, sigma_m, every_s, seed, start_s=3.0):
    """Noisy reports of the flight (no velocity) every `every_s` up to `until_s`."""
    rng = np.random.default_rng(seed)
    events = []
    t = start_s
    while t <= until_s:
        lat, lon, h = physics.ecef_to_geodetic(*flight.state_at(t)[0])
        de, dn = (float(x) for x in rng.normal(0.0, sigma_m, 2))
        dh = float(rng.normal(0.0, 1.5 * sigma_m))
        lat += dn / 111_320.0
        lon += de / (111_320.0 * math.cos(math.radians(lat)))
        events.append(track("R1", t, lat, lon, kind="rocket", alt_m=h + dh, sigma_m=sigma_m))
        t += every_s
    return events


def flown_until(end_share, *, sigma_m=30.0, seed=4):
    """A ~50 km rocket reported every second up to `end_share` of its flight: the engine, the
    zones the rocket holds, and the time its end comes (half a second after the last report)."""
    flight = rocket_flight((31.12, 34.45), (31.47, 34.72))
    end_s = round(end_share * flight.impact.t_s, 3)
    engine = Engine(FINE, CONFIG)
    for event in reports(flight, end_s - 0.5, sigma_m=sigma_m, every_s=1.0, seed=seed):
        engine.apply(event)
    held = {z for z in engine.levels() if "R1" in engine.holders(z)}
    assert held
    return engine, held, end_s


def clears_after(engine, event):
    return {
        d.zone: parse_time(d.t) for d in engine.apply(event) + engine.flush() if d.level == "clear"
    }


def test_an_intercepted_rocket_keeps_only_the_zones_under_its_debris_at_alert_until_it_is_down():
    engine, held, end_s = flown_until(0.75)
    end_ms = parse_time(at(end_s))
    footprint = debris_footprint(
        engine._threats["R1"].view.track, FINE.projection, end_ms, ROCKET.debris_radius_m
    )
    assert footprint is not None
    clears = clears_after(engine, end("R1", end_s, "intercepted"))
    assert held <= set(clears)
    for zone in held:
        shape = FINE.shapes_m[FINE.index_of[zone]]
        falls = [fall for band, fall in footprint.bands if band.intersects(shape)]
        if falls:  # under the debris: at alert until the last part that can land there is down
            assert clears[zone] >= end_ms + 1000 * max(falls)
            assert clears[zone] == end_ms + 1000 * min(
                CONFIG.hold_s, math.ceil(max(falls)) + CONFIG.debris_margin_s
            )
        else:  # the threat is down elsewhere
            assert clears[zone] == end_ms + 1000 * CONFIG.ballistic_release_s
    # a rocket broken up some 8 km up: even its draggiest parts are down in about five
    # minutes, and every zone is clear well before the full hold
    assert footprint.fall_s < 400
    assert max(clears[z] for z in held) < end_ms + 1000 * CONFIG.hold_s


def test_a_lost_ballistic_track_flies_on_and_keeps_all_its_zones_for_the_full_hold_after():
    """Its sensor lost it, not the sky: it flies on on its last impact estimate until it is
    surely down, and then every zone it holds keeps the full hold."""
    engine, held, end_s = flown_until(0.75)
    estimate = engine._threats["R1"].view.prediction
    assert estimate is not None
    landed_ms = estimate.t_ms + (estimate.t_ms - estimate.t_earliest_ms) + 1000 * COAST_MARGIN_S
    assert landed_ms > parse_time(at(end_s))
    clears = clears_after(engine, end("R1", end_s, "lost"))
    assert held <= set(clears)
    assert {clears[z] for z in held} == {landed_ms + 1000 * CONFIG.hold_s}


def test_a_rocket_that_comes_down_keeps_its_zones_for_the_full_hold():
    engine, held, end_s = flown_until(0.995)
    clears = clears_after(engine, end("R1", end_s, "impact"))
    assert held <= set(clears)
    assert {clears[z] for z in held} == {parse_time(at(end_s)) + 1000 * CONFIG.hold_s}


interceptions = st.tuples(
    st.floats(31.22, 31.55),
    st.floats(34.50, 34.80),  # where it would come down
    st.floats(0, 360),
    st.floats(20_000, 60_000),  # from which bearing and how far
    st.floats(0.55, 0.95),  # when it is intercepted, as a share of its flight
    st.sampled_from([30.0, 100.0]),
    st.integers(0, 2**16),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interceptions)
def test_no_zone_under_an_intercepted_rockets_falling_parts_clears_before_they_are_down(plan):
    """Parts of every drag from the intact body's to the draggiest fragment's, with a kick of
    up to 30 m/s from the break-up: each lands, in a zone the rocket held, while that zone is
    still at alert."""
    lat, lon, bearing, range_m, share, sigma_m, seed = plan
    b = math.radians(bearing)
    launch = (
        lat - range_m * math.cos(b) / 111_320.0,
        lon - range_m * math.sin(b) / (111_320.0 * math.cos(math.radians(lat))),
    )
    flight = rocket_flight(launch, (lat, lon))
    end_s = round(share * flight.impact.t_s, 3)
    events = reports(flight, end_s - 0.5, sigma_m=sigma_m, every_s=1.0, seed=seed)
    if len(events) < 3:
        return
    engine = Engine(FINE, CONFIG)
    for event in events:
        engine.apply(event)
    held = {z for z in engine.levels() if "R1" in engine.holders(z)}
    clears = clears_after(engine, end("R1", end_s, "intercepted"))
    r, v = flight.state_at(end_s)
    lat0, lon0, _ = physics.ecef_to_geodetic(*r)
    east, north, _ = physics.enu_axes(lat0, lon0)
    rng = np.random.default_rng(seed)
    beta_draggiest = ROCKET.beta_low_kg_m2 / FRAGMENT_DRAG_FACTOR
    for _ in range(8):
        beta = float(np.exp(rng.uniform(math.log(beta_draggiest), math.log(8000.0))))
        kick = rng.uniform(-30.0, 30.0, 2)
        v_part = tuple(v[k] + kick[0] * east[k] + kick[1] * north[k] for k in range(3))
        impact = physics.fly(r, v_part, end_s, beta).impact
        assert impact is not None
        zone = FINE.zone_at(impact.lon, impact.lat)
        if zone is None or FINE.ids[zone] not in held:
            continue
        assert clears[FINE.ids[zone]] >= parse_time(at(impact.t_s)), (beta, kick)
