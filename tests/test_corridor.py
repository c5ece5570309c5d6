"""The reachable corridor of a drone or cruise missile holds every place it can fly to in time."""

from __future__ import annotations

import math

import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from airwarn.predict.corridor import reach_region


@settings(max_examples=300, deadline=None)
@given(
    heading=st.floats(-math.pi, math.pi),
    speed=st.floats(20, 300),
    turn_dps=st.floats(0.5, 6),
    horizon=st.floats(1, 1200),
    turn_share=st.floats(0, 1),
    straight_share=st.floats(0, 1),
    left=st.booleans(),
)
def test_every_turn_then_straight_flight_within_the_horizon_ends_inside(
    heading, speed, turn_dps, horizon, turn_share, straight_share, left
):
    turn = math.radians(turn_dps)
    radius = speed / turn
    region = reach_region(0.0, 0.0, heading, 0.0, speed, turn, horizon, 1.0)
    path = speed * horizon
    phi = min(turn_share * turn * horizon, 2 * math.pi)  # the turn, in radians
    straight = (path - phi * radius) * straight_share
    side = 1.0 if left else -1.0
    forward = radius * math.sin(phi) + straight * math.cos(phi)
    lateral = side * (radius * (1 - math.cos(phi)) + straight * math.sin(phi))
    east = forward * math.sin(heading) - lateral * math.cos(heading)
    north = forward * math.cos(heading) + lateral * math.sin(heading)
    assert region.covers(shapely.Point(east, north))


def test_the_corridor_points_ahead_and_is_smaller_than_the_disc():
    region = reach_region(0.0, 0.0, 0.0, 0.02, 250.0, math.radians(2), 105.0, 500.0)
    disc = shapely.Point(0, 0).buffer(250 * 105 + 500)
    assert region.covers(shapely.Point(0, 250 * 100))  # straight ahead, 100 s out
    assert not region.covers(shapely.Point(0, -15_000))  # behind: a turn costs too long
    assert region.area < 0.7 * disc.area


def test_an_unknown_heading_gives_the_disc():
    region = reach_region(0.0, 0.0, None, math.pi, 50.0, math.radians(3), 100.0, 0.0)
    assert region.covers(shapely.Point(0, -4_999)) and region.covers(shapely.Point(4_999, 0))
