"""The shortcuts that make assessment fast never change which zones a threat alerts.

A corridor is worked with as an outline (centre and vertices), its zones found by bounding
boxes (only those near its last outline), the zones it missed remembered with their distance,
and the zones it holds with their distance from a place it was, so that geometry is built and
tested only when the answer could differ. These tests hold every shortcut to the exact
computation: the polygon tested against every zone.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from conftest import grid_zones
from hypothesis import example, given, settings
from hypothesis import strategies as st

from airwarn.engine.policy import SmartPolicy, ThreatView
from airwarn.engine.predict.corridor import _OFFSETS, _OUTSIDE, _TAUS, _table, reach_outline
from airwarn.engine.projection import Outline
from airwarn.engine.threat_kinds import PROFILES
from airwarn.engine.tracks import CorridorTrack, Report
from airwarn.engine.zones import Clearance, ZoneSet, zones_from_geojson

# a 20 x 20 grid of 1.1 km x 0.95 km zones: corridors meet many of them at once
FINE = zones_from_geojson(grid_zones(rows=20, cols=20, step=0.01, shelter_s=60))
SHELTER_S = 60


def exact_zones(zones: ZoneSet, outline: Outline) -> list[int]:
    """Every zone the corridor's polygon intersects: the answer with no shortcut."""
    region = outline.polygon()
    return sorted(np.flatnonzero(shapely.intersects(region, zones.shapes_m)).tolist())


flight_step = st.tuples(
    st.floats(-1500, 1500),  # move east (m)
    st.floats(-1500, 1500),  # move north (m)
    st.floats(-0.5, 0.5),  # turn (rad)
    st.floats(0.7, 1.3),  # speed factor
    st.floats(0.0, 0.3),  # heading sigma (rad)
    st.floats(0.0, 800.0),  # buffer (m)
)


@settings(max_examples=150, deadline=None)
@given(
    start_heading=st.floats(-math.pi, math.pi),
    speed=st.floats(20, 120),
    steps=st.lists(flight_step, min_size=2, max_size=25),
    known_heading=st.booleans(),
)
def test_a_remembered_clearance_finds_exactly_the_zones_the_polygon_meets(
    start_heading, speed, steps, known_heading
):
    x, y = 0.0, 0.0
    heading = start_heading
    clearance = Clearance()
    for dx, dy, turn, speed_factor, heading_sigma, buffer_m in steps:
        x, y = x + dx, y + dy
        heading += turn
        outline = reach_outline(
            x,
            y,
            heading if known_heading else None,
            heading_sigma,
            speed * speed_factor,
            math.radians(4),
            105.0,
            buffer_m,
        )
        found = FINE.query_class_known(SHELTER_S, outline, {}, clearance)
        assert found.tolist() == exact_zones(FINE, outline)
        assert_gap_is_a_lower_bound(outline, found, clearance)


def assert_gap_is_a_lower_bound(outline: Outline, found: np.ndarray, clearance: Clearance):
    """No zone the query did not return is nearer the corridor than `Clearance.gap_m` (a silent
    threat is assessed again only once its corridor can have grown that far)."""
    left = np.setdiff1d(np.arange(len(FINE)), found)
    if len(left):
        distances = shapely.distance(outline.polygon(), FINE.shapes_m[left])
        assert distances.min() >= clearance.gap_m() - 1e-6


@settings(max_examples=100, deadline=None)
@given(
    start_heading=st.floats(-math.pi, math.pi),
    steps=st.lists(flight_step, min_size=2, max_size=15),
    held=st.sets(st.integers(0, 399), max_size=40),
)
def test_held_zones_are_kept_only_while_their_box_meets_the_corridor_and_none_is_lost(
    start_heading, steps, held
):
    x, y, heading = 0.0, 0.0, start_heading
    clearance = Clearance()
    for dx, dy, turn, speed_factor, heading_sigma, buffer_m in steps:
        x, y, heading = x + dx, y + dy, heading + turn
        outline = reach_outline(
            x, y, heading, heading_sigma, 60.0 * speed_factor, math.radians(4), 105.0, buffer_m
        )
        returned = FINE.query_class_known(SHELTER_S, outline, held, clearance)
        assert_gap_is_a_lower_bound(outline, returned, clearance)
        found = set(returned.tolist())
        exact = set(exact_zones(FINE, outline))
        boxes = set(sorted(FINE.tree.query(outline.polygon()).tolist()))
        assert exact <= found  # never fewer zones than the exact test alerts
        assert found == exact | (boxes & held)


@settings(max_examples=150, deadline=None)
@given(
    x=st.floats(-15000, 15000),
    y=st.floats(-15000, 15000),
    heading=st.one_of(st.none(), st.floats(-math.pi, math.pi)),
    speed=st.floats(5, 150),
    horizon=st.floats(0, 900),
    # the policy's buffer is never under a kind's min_radius_m (400 m and more); with none at
    # all and no horizon, the region is a polygon some 1e-309 m across, on which the two exact
    # tests (prepared and not) may disagree at a border, as floating point may
    buffer_m=st.floats(1, 2000),
)
def test_the_wide_query_finds_exactly_the_zones_a_region_meets(
    x, y, heading, speed, horizon, buffer_m
):
    region = reach_outline(x, y, heading, 0.1, speed, math.radians(4), horizon, buffer_m).polygon()
    assert FINE.query_wide(region).tolist() == FINE.query(region).tolist()


@settings(max_examples=150, deadline=None)
@given(
    walk=st.lists(
        st.tuples(st.floats(-3000, 3000), st.floats(-3000, 3000), st.floats(0, 8000)),
        min_size=1,
        max_size=25,
    ),
    held=st.sets(st.integers(0, 399), min_size=1, max_size=40),
)
def test_a_remembered_distance_keeps_exactly_the_zones_within_reach(walk, held):
    policy = SmartPolicy(FINE)
    distances: dict[int, tuple[float, float, float]] = {}
    zones = np.array(sorted(held), dtype=np.int64)
    x, y = 0.0, 0.0
    for dx, dy, radius_m in walk:
        x, y = x + dx, y + dy
        within = policy._within(distances, x, y, radius_m, zones.tolist())
        exact = shapely.distance(FINE.shapes_m[zones], shapely.Point(x, y)) <= radius_m
        assert within == zones[exact].tolist()


@settings(max_examples=200, deadline=None)
@given(
    before=st.tuples(
        st.floats(-math.pi, math.pi), st.floats(10, 300), st.floats(0, 0.4), st.floats(0, 1000)
    ),
    after=st.tuples(
        st.floats(-math.pi, math.pi), st.floats(10, 300), st.floats(0, 0.4), st.floats(0, 1000)
    ),
    dx=st.floats(-5000, 5000),
    dy=st.floats(-5000, 5000),
)
def test_a_corridor_lies_within_its_outline_movement_of_the_one_before(before, after, dx, dy):
    def outline(x, y, heading, speed, sigma, buffer_m):
        return reach_outline(x, y, heading, sigma, speed, math.radians(3), 105.0, buffer_m)

    old = outline(0.0, 0.0, *before)
    new = outline(dx, dy, *after)
    moved_m = new.moved_m(old)
    # a buffer's arcs are chords inside the true circle: widen it by their sagitta
    grown = old.polygon().buffer(moved_m / math.cos(math.pi / 128) + 1e-6, quad_segs=32)
    # slivers of float and polygon noise along the edge: a hypothesis example found 3.19 m2
    # of 3.19 km2 (a triangle 2 m by 16 m), at 1.00006e-6 of the area
    assert new.polygon().difference(grown).area < 2e-6 * new.polygon().area


def reference_reach(heading, sigma, speed, turn, horizon, buffer_m):
    """The corridor's ray lengths computed afresh from the table of rays, each vertex taking
    the farthest of the rays from the previous vertex to the next, widened by the slack."""
    rays = len(_OFFSETS)
    path = speed * max(horizon, 0.0)
    if heading is None or turn <= 0 or speed <= 0 or path <= 0 or not math.isfinite(speed / turn):
        reach = np.full(rays, path)
    else:
        tau = path / (speed / turn)
        if tau > _TAUS[-1]:
            reach = np.full(rays, path)
        else:
            shares = _table()[int(np.searchsorted(_TAUS, tau - 1e-12))]
            sub = len(shares) // rays
            slack = 0 if not sigma > 0 else math.ceil(3.0 * sigma / (2 * math.pi / len(shares)))
            window = sub + slack
            if 2 * window + 1 >= len(shares):
                reach = np.full(rays, shares.max() * path)
            else:
                widest = np.max([np.roll(shares, k) for k in range(-window, window + 1)], axis=0)
                reach = widest[::sub] * path
    return (reach + buffer_m) * _OUTSIDE


@settings(max_examples=300, deadline=None)
@given(
    heading=st.one_of(st.none(), st.floats(-math.pi, math.pi)),
    sigma=st.floats(0, math.pi),
    speed=st.floats(0, 400),
    turn_dps=st.floats(0, 6),
    horizon=st.floats(0, 1500),
    buffer_m=st.floats(0, 3000),
)
@example(
    heading=0.5, sigma=0.0, speed=10.0, turn_dps=math.degrees(5e-324), horizon=0.0, buffer_m=0.0
)  # a turn so slow its radius overflows: once NaN rays
def test_the_cached_ray_lengths_give_the_same_corridor_to_the_last_bit(
    heading, sigma, speed, turn_dps, horizon, buffer_m
):
    turn = math.radians(turn_dps)
    outline = reach_outline(1000.0, -2000.0, heading, sigma, speed, turn, horizon, buffer_m)
    reach = reference_reach(heading, sigma, speed, turn, horizon, buffer_m)
    disc = (
        heading is None
        or turn <= 0
        or speed <= 0
        or speed * horizon <= 0
        or not math.isfinite(speed / turn)
    )
    assert np.isfinite(outline.xs).all() and np.isfinite(outline.ys).all()
    angles = _OFFSETS if disc else heading + _OFFSETS
    assert np.array_equal(outline.xs, 1000.0 + reach * np.sin(angles))
    assert np.array_equal(outline.ys, -2000.0 + reach * np.cos(angles))


def _square(zone_id: str, lon: float, lat: float, half_m: float) -> dict:
    dlon, dlat = half_m / 95_000.0, half_m / 111_000.0
    ring = [
        [lon - dlon, lat - dlat],
        [lon + dlon, lat - dlat],
        [lon + dlon, lat + dlat],
        [lon - dlon, lat + dlat],
        [lon - dlon, lat - dlat],
    ]
    return {
        "type": "Feature",
        "properties": {"id": zone_id, "shelter_s": SHELTER_S},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


@settings(max_examples=150, deadline=None)
@given(
    heading=st.floats(-math.pi, math.pi),
    speed=st.floats(20, 60),
    every_s=st.floats(1, 30),
    places=st.lists(
        st.tuples(st.floats(-0.15, 0.15), st.floats(-0.15, 0.15), st.floats(200, 1500)),
        min_size=1,
        max_size=8,
    ),
    held=st.sets(st.integers(0, 7), max_size=8),
    silent_s=st.floats(0, 120),
)
def test_no_zone_left_out_of_alert_is_nearer_the_corridor_than_its_gap(
    heading, speed, every_s, places, held, silent_s
):
    """What a silent threat is assessed again by: every zone the assessment leaves out (never
    taken, or held and now let go) is at least `Clearance.gap_m` from the corridor. A few zones, far
    apart, as hromadas or open country are: a zone it lets go may be nearer than any it never
    took."""
    zones = zones_from_geojson(
        {
            "type": "FeatureCollection",
            "features": [
                _square(f"z{k}", 34.7 + dlon, 31.5 + dlat, half_m)
                for k, (dlon, dlat, half_m) in enumerate(places)
            ],
        }
    )
    track = CorridorTrack(PROFILES["drone"], zones.projection)
    x0, y0 = zones.projection.to_xy(34.7, 31.5)
    for i in range(6):
        t = i * every_s
        lon, lat = zones.projection.to_lonlat(
            x0 + speed * t * math.sin(heading), y0 + speed * t * math.cos(heading)
        )
        track.add(Report(round(t * 1000), lat, lon, 100.0, 30.0, None))
    view = ThreatView("D", "drone", PROFILES["drone"], track)
    view.held = dict.fromkeys((k for k in held if k < len(zones)), 0)
    found = SmartPolicy(zones).assess(view, track.t_ms + round(silent_s * 1000))
    left = np.setdiff1d(np.arange(len(zones)), found.alert)
    if len(left):
        distances = shapely.distance(found.region_m, zones.shapes_m[left])
        assert distances.min() >= view.clearances[SHELTER_S].gap_m() - 1e-6


def test_a_held_zone_let_go_near_the_corridor_sets_the_gap():
    """A drone flying east holds a small zone off the corner of its corridor's box, beyond its
    keep margin, and no other zone is near: the zone is let go, and the gap is no wider than
    its distance from the corridor (taken from the zones it never took, the gap was 5.8 km
    against 1.5 km, and a silent threat was assessed again 96 s later instead of 30 s)."""
    lon0, lat0 = 34.7, 31.5
    probe = zones_from_geojson(_far_zones(lon0, lat0))
    track = _drone_east(probe, lon0, lat0, every_s=2.0)
    fix_x, fix_y, _, _ = track.state()
    # off the north-west corner, 1.35 times the corridor's reach north, on the diagonal: beyond
    # its keep margin (over the shelter time, the lead and the 2 s its reports come apart by),
    # its box meeting the corridor's
    outline = SmartPolicy(probe).assess(ThreatView("D", "drone", PROFILES["drone"], track), 0)
    assert isinstance(outline.shape_m, Outline)
    reach_m = outline.shape_m.ys.max() - fix_y
    d = 1.35 * reach_m / math.sqrt(2)
    lon_z, lat_z = probe.projection.to_lonlat(fix_x - d, fix_y + d)
    features = _far_zones(lon0, lat0)
    features["features"].append(_square("z", lon_z, lat_z, 500.0))
    zones = zones_from_geojson(features)
    z = zones.index_of["z"]
    track = _drone_east(zones, lon0, lat0, every_s=2.0)
    view = ThreatView("D", "drone", PROFILES["drone"], track)
    view.held = {z: 0}
    found = SmartPolicy(zones).assess(view, track.t_ms)
    assert z not in found.alert.tolist()  # let go
    distance = shapely.distance(found.region_m, zones.shapes_m[z])
    assert view.clearances[SHELTER_S].gap_m() <= distance


def _drone_east(zones: ZoneSet, lon0: float, lat0: float, every_s: float = 10.0) -> CorridorTrack:
    """A drone's track, six reports `every_s` apart flying east at 50 m/s from (lon0, lat0)."""
    track = CorridorTrack(PROFILES["drone"], zones.projection)
    x, y = zones.projection.to_xy(lon0, lat0)
    for i in range(6):
        lon, lat = zones.projection.to_lonlat(x + 50.0 * every_s * i, y)
        track.add(Report(round(1000 * every_s * i), lat, lon, 100.0, 30.0, None))
    return track


def _far_zones(lon0: float, lat0: float) -> dict:
    """Two zones 60 km east and west: nothing else near."""
    return {
        "type": "FeatureCollection",
        "features": [
            _square("east", lon0 + 0.63, lat0, 1000.0),
            _square("west", lon0 - 0.63, lat0, 1000.0),
        ],
    }
