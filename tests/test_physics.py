"""Flight on the WGS84 Earth: frames, gravity, air, and where things come down."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airwarn.engine import physics
from airwarn.engine.physics import (
    A_M,
    GM,
    J2,
    OMEGA,
    acceleration,
    aim,
    air_density,
    ecef_to_enu_vector,
    ecef_to_geodetic,
    enu_axes,
    enu_to_ecef_vector,
    fly,
    geodetic_to_ecef,
)

latitudes = st.floats(-90.0, 90.0, allow_nan=False)
longitudes = st.floats(-180.0, 180.0, allow_nan=False)
heights = st.floats(-1_000.0, 2_000_000.0, allow_nan=False)
components = st.floats(-5_000.0, 5_000.0, allow_nan=False)


def surface_distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Chord between two points on the ellipsoid: metres, for small separations."""
    return math.dist(geodetic_to_ecef(lat1, lon1, 0.0), geodetic_to_ecef(lat2, lon2, 0.0))


def launch(
    lat: float, lon: float, speed: float, elevation_deg: float, azimuth_deg: float, h_m: float = 0.0
) -> tuple[physics.Vec, physics.Vec]:
    """Position and Earth-fixed velocity of a shot at a speed, elevation and compass azimuth."""
    el, az = math.radians(elevation_deg), math.radians(azimuth_deg)
    v = enu_to_ecef_vector(
        lat,
        lon,
        speed * math.cos(el) * math.sin(az),
        speed * math.cos(el) * math.cos(az),
        speed * math.sin(el),
    )
    return geodetic_to_ecef(lat, lon, h_m), v


def effective_gravity(lat: float, lon: float) -> float:
    """Gravity plus centrifugal acceleration at the surface, as a plumb line feels it."""
    return math.hypot(*acceleration(geodetic_to_ecef(lat, lon, 0.0), (0.0, 0.0, 0.0), None))


def jacobi(r: physics.Vec, v: physics.Vec) -> float:
    """Energy per kg in the turning frame (kinetic + J2 potential - centrifugal potential).

    Coriolis forces do no work, so in vacuum this is conserved along any flight.
    """
    x, y, z = r
    rr = math.sqrt(x * x + y * y + z * z)
    p2 = (3.0 * z * z / (rr * rr) - 1.0) / 2.0
    potential = -GM / rr * (1.0 - J2 * (A_M / rr) ** 2 * p2)
    return 0.5 * sum(c * c for c in v) + potential - 0.5 * OMEGA**2 * (x * x + y * y)


@given(latitudes, longitudes, heights)
def test_geodetic_round_trip_is_exact_to_a_millimetre(lat, lon, h):
    r = geodetic_to_ecef(lat, lon, h)
    lat2, lon2, h2 = ecef_to_geodetic(*r)
    assert abs(h2 - h) < 1e-3
    assert math.dist(geodetic_to_ecef(lat2, lon2, h2), r) < 1e-3


@given(st.floats(-6.5e6, 6.5e6), st.floats(-6.5e6, 6.5e6), st.floats(-6.5e6, 6.5e6))
def test_ecef_round_trip_is_exact_to_a_millimetre(x, y, z):
    if math.sqrt(x * x + y * y + z * z) < 6.0e6:
        return  # deep inside the Earth, where heights mean nothing to a threat
    lat, lon, h = ecef_to_geodetic(x, y, z)
    assert math.dist(geodetic_to_ecef(lat, lon, h), (x, y, z)) < 1e-3


@given(latitudes, longitudes, components, components, components)
def test_enu_rotation_round_trips_and_keeps_length(lat, lon, east, north, up):
    v = enu_to_ecef_vector(lat, lon, east, north, up)
    assert math.hypot(*v) == pytest.approx(math.hypot(east, north, up), abs=1e-6)
    back = ecef_to_enu_vector(lat, lon, v)
    assert back == pytest.approx((east, north, up), abs=1e-6)


def test_enu_axes_are_orthonormal_and_up_is_the_ellipsoid_normal():
    e, n, u = enu_axes(31.8, 35.2)
    for a in (e, n, u):
        assert math.hypot(*a) == pytest.approx(1.0)
    assert sum(a * b for a, b in zip(e, n, strict=True)) == pytest.approx(0.0, abs=1e-12)
    assert sum(a * b for a, b in zip(n, u, strict=True)) == pytest.approx(0.0, abs=1e-12)
    low, high = geodetic_to_ecef(31.8, 35.2, 0.0), geodetic_to_ecef(31.8, 35.2, 1000.0)
    assert [(b - a) / 1000.0 for a, b in zip(low, high, strict=True)] == pytest.approx(u)


def test_gravity_matches_wgs84_normal_gravity_at_equator_and_pole():
    # Somigliana's normal gravity: 9.7803253 m/s2 at the equator, 9.8321849 at the poles.
    assert effective_gravity(0.0, 20.0) == pytest.approx(9.7803253, rel=2e-4)
    assert effective_gravity(90.0, 0.0) == pytest.approx(9.8321849, rel=2e-4)


def test_air_density_follows_the_standard_atmosphere():
    assert air_density(0.0) == pytest.approx(1.225, rel=1e-3)
    assert air_density(11_000.0) == pytest.approx(0.3648, rel=3e-3)
    assert air_density(30_000.0) == pytest.approx(0.01841, rel=1e-2)
    assert air_density(100_001.0) == 0.0
    samples = [air_density(h) for h in range(-1000, 100_000, 250)]
    assert all(a > b for a, b in zip(samples, samples[1:], strict=False))


def test_free_fall_from_rest_in_vacuum_takes_sqrt_2h_over_g():
    for drop_m in (10.0, 100.0, 1000.0):
        r = geodetic_to_ecef(45.0, 10.0, drop_m)
        impact = fly(r, (0.0, 0.0, 0.0), 0.0, None).impact
        assert impact is not None
        g = effective_gravity(45.0, 10.0)
        assert impact.t_s == pytest.approx(math.sqrt(2.0 * drop_m / g), rel=2e-4)
        assert impact.speed_mps == pytest.approx(math.sqrt(2.0 * g * drop_m), rel=2e-4)


def test_short_vacuum_shot_matches_the_flat_earth_range():
    # Fired north, so that the Coriolis force has no vertical part (fired east, the shot
    # would weigh 0.1 % less: the Eotvos effect); over 2 km the curvature is centimetres, and
    # gravity, weaker by 1.5e-4 at the top of the 470 m arc, stretches the range by ~1e-4.
    r, v = launch(32.0, 34.8, 150.0, 40.0, 0.0)
    impact = fly(r, v, 0.0, None).impact
    assert impact is not None
    g = effective_gravity(32.0, 34.8)
    flat_m = 150.0**2 * math.sin(math.radians(80.0)) / g
    assert surface_distance_m(32.0, 34.8, impact.lat, impact.lon) == pytest.approx(flat_m, rel=4e-4)
    assert impact.t_s == pytest.approx(2 * 150.0 * math.sin(math.radians(40.0)) / g, rel=4e-4)


def test_a_shot_straight_up_lands_west_by_the_coriolis_drift():
    # Classical result: (4/3) Omega cos(lat) v0^3 / g^2 to the west.
    v0 = 200.0
    r, v = launch(0.0, 30.0, v0, 90.0, 0.0)
    impact = fly(r, v, 0.0, None).impact
    assert impact is not None
    east, north, _ = ecef_to_enu_vector(
        0.0,
        30.0,
        [a - b for a, b in zip(geodetic_to_ecef(impact.lat, impact.lon, 0.0), r, strict=True)],
    )
    expected = 4.0 / 3.0 * OMEGA * v0**3 / effective_gravity(0.0, 30.0) ** 2
    assert -east == pytest.approx(expected, rel=0.02)
    assert abs(north) < 0.05


def test_drag_shortens_the_range():
    r, v = launch(31.5, 34.5, 700.0, 45.0, 20.0)
    ranges = []
    for beta in (None, 20_000.0, 5_000.0, 1_000.0):
        impact = fly(r, v, 0.0, beta).impact
        assert impact is not None
        ranges.append(surface_distance_m(31.5, 34.5, impact.lat, impact.lon))
    assert ranges == sorted(ranges, reverse=True)
    assert ranges[-1] < 0.5 * ranges[0]


def test_earth_curvature_lengthens_a_1000_km_shot():
    speed, elevation = 3000.0, 45.0
    r, v = launch(32.0, 50.0, speed, elevation, 280.0)
    impact = fly(r, v, 0.0, None).impact
    assert impact is not None
    ground_m = surface_distance_m(32.0, 50.0, impact.lat, impact.lon)
    g = effective_gravity(32.0, 50.0)
    flat_m = speed**2 * math.sin(math.radians(2 * elevation)) / g
    # Fired west, against the Earth's turn, it goes less far than the same shot in a
    # non-rotating frame, and still 5 % further than on a flat Earth.
    assert ground_m > 1.05 * flat_m
    assert ground_m > 950_000.0
    # The spherical Keplerian range (no rotation, no J2) is within 2 %.
    gamma = math.radians(elevation)
    nu = speed**2 * math.dist(r, (0.0, 0.0, 0.0)) / GM
    psi = 2.0 * math.atan(
        nu * math.sin(gamma) * math.cos(gamma) / (1.0 - nu * math.cos(gamma) ** 2)
    )
    assert ground_m == pytest.approx(psi * 6_371_000.0, rel=0.02)


def test_energy_is_conserved_along_a_vacuum_flight():
    r, v = launch(30.0, 50.0, 3500.0, 42.0, 290.0, h_m=60_000.0)
    flight = fly(r, v, 0.0, None, record=True)
    assert flight.impact is not None and len(flight.states) > 10
    energies = [jacobi(p, q) for p, q in flight.states]
    # Within 0.5 J/kg, the energy of 5 cm of height, out of 5.6e7 J/kg.
    assert max(energies) - min(energies) < 0.5


def test_recorded_flight_ends_at_the_ground_and_interpolates_between_steps():
    r, v = launch(31.4, 34.4, 900.0, 50.0, 30.0)
    flight = fly(r, v, 100.0, 8_000.0, record=True)
    assert flight.impact is not None
    assert flight.times_s[0] == 100.0 and flight.times_s[-1] == flight.impact.t_s
    assert all(a < b for a, b in zip(flight.times_s, flight.times_s[1:], strict=False))
    assert ecef_to_geodetic(*flight.states[-1][0])[2] == pytest.approx(0.0, abs=0.01)
    t_mid = 100.0 + (flight.impact.t_s - 100.0) * 0.37
    direct = fly(r, v, 100.0, 8_000.0, max_s=t_mid - 100.0)
    assert direct.impact is None and direct.times_s == [pytest.approx(t_mid)]
    p, q = flight.state_at(t_mid)
    assert math.dist(p, direct.states[-1][0]) < 1.0
    assert math.dist(q, direct.states[-1][1]) < 0.1


def test_fly_record_false_keeps_only_the_impact_state():
    r, v = launch(31.4, 34.4, 300.0, 45.0, 0.0)
    quick, full = fly(r, v, 0.0, 3_000.0), fly(r, v, 0.0, 3_000.0, record=True)
    assert quick.impact == full.impact
    assert len(quick.states) == 1 and quick.states[0] == full.states[-1]


def test_fly_rejects_a_nonpositive_ballistic_coefficient():
    with pytest.raises(ValueError):  # noqa: PT011 (physics raises a bare ValueError: any message)
        fly(geodetic_to_ecef(0.0, 0.0, 100.0), (0.0, 0.0, 0.0), 0.0, 0.0)


@pytest.mark.parametrize(
    ("launch_point", "target", "beta", "loft", "alt_m"),
    [
        ((31.45, 34.45), (31.62, 34.57), 10_000.0, 45.0, 0.0),  # 20 km, a Grad from Gaza
        ((51.2, 36.3), (49.99, 36.23), 30_000.0, 35.0, 25_000.0),  # 300 km, an Iskander
        ((32.3, 48.0), (31.9, 34.9), 20_000.0, 45.0, 80_000.0),  # 1,500 km, from Iran
    ],
)
def test_aim_lands_on_the_target(launch_point, target, beta, loft, alt_m):
    v = aim(*launch_point, *target, beta_kg_m2=beta, loft_deg=loft, launch_alt_m=alt_m)
    r = geodetic_to_ecef(*launch_point, alt_m)
    east, north, up = ecef_to_enu_vector(*launch_point, v)
    assert math.degrees(math.atan2(up, math.hypot(east, north))) == pytest.approx(loft)
    impact = fly(r, v, 0.0, beta).impact
    assert impact is not None
    assert surface_distance_m(impact.lat, impact.lon, *target) < 25.0


@settings(max_examples=30, deadline=None)
@given(
    st.floats(31.0, 33.0),
    st.floats(34.3, 35.6),
    st.floats(0.0, 360.0),
    st.floats(3_000.0, 60_000.0),
    st.floats(25.0, 65.0),
)
def test_aim_reaches_rocket_targets_at_any_bearing(lat, lon, bearing, range_m, loft):
    b = math.radians(bearing)
    target_lat = lat + range_m * math.cos(b) / 111_000.0
    target_lon = lon + range_m * math.sin(b) / (111_000.0 * math.cos(math.radians(lat)))
    v = aim(lat, lon, target_lat, target_lon, beta_kg_m2=15_000.0, loft_deg=loft)
    impact = fly(geodetic_to_ecef(lat, lon, 0.0), v, 0.0, 15_000.0).impact
    assert impact is not None
    assert surface_distance_m(impact.lat, impact.lon, target_lat, target_lon) < 25.0


def test_aim_says_when_drag_puts_the_target_out_of_reach():
    with pytest.raises(ValueError, match="cannot reach"):
        aim(31.0, 34.0, 33.0, 35.5, beta_kg_m2=50.0, loft_deg=45.0)
