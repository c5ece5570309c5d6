"""A ballistic track reads off its own reports what they say beyond their word: a sensor whose
errors are larger than it states gets regions as wide as its errors, and a force the model
leaves out (a motor still burning when the sensor first sees the missile) is followed, not
averaged away. An honest sensor's track is left as it is."""

from __future__ import annotations

import math

import numpy as np
import pytest

from airwarn.engine import physics
from airwarn.engine.predict.ballistic import predict_impact
from airwarn.engine.projection import LocalProjection
from airwarn.engine.threat_kinds import PROFILES
from airwarn.engine.tracks import BallisticTrack, Report

PROFILE = PROFILES["ballistic"]
LAUNCH = (48.0, 37.5)  # lat, lon
TARGET = (50.2, 36.2)  # about 270 km to the north-west
PROJECTION = LocalProjection(TARGET[1], TARGET[0])
BETA = 20_000.0


def _flight(thrust_mps2: float = 0.0, burn_s: float = 0.0, dt: float = 0.1):
    """(times, ECEF positions, impact (x, y) on the map) of a missile aimed at TARGET, pushed
    along its velocity by `thrust_mps2` for its first `burn_s` seconds: integrated here, with the
    engine's gravity and drag, so that the thrust is a force the filter does not model."""
    v0 = physics.aim(*LAUNCH, *TARGET, beta_kg_m2=BETA, loft_deg=40.0)
    scale = 1.0 - 0.5 * thrust_mps2 * burn_s / math.hypot(*v0) if burn_s else 1.0
    r = np.array(physics.geodetic_to_ecef(*LAUNCH, 0.0))
    v = np.array(v0) * scale  # the burn makes up what is taken off here

    def accel(r: np.ndarray, v: np.ndarray, t: float) -> np.ndarray:
        a = np.array(physics.acceleration(tuple(r), tuple(v), BETA))
        if t < burn_s:
            a += thrust_mps2 * v / np.linalg.norm(v)
        return a

    times, states, t = [0.0], [r.copy()], 0.0
    while True:
        k1v, k1r = accel(r, v, t), v
        k2v, k2r = accel(r + dt / 2 * k1r, v + dt / 2 * k1v, t + dt / 2), v + dt / 2 * k1v
        k3v, k3r = accel(r + dt / 2 * k2r, v + dt / 2 * k2v, t + dt / 2), v + dt / 2 * k2v
        k4v, k4r = accel(r + dt * k3r, v + dt * k3v, t + dt), v + dt * k3v
        r = r + dt / 6 * (k1r + 2 * k2r + 2 * k3r + k4r)
        v = v + dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
        t += dt
        _, _, h = physics.ecef_to_geodetic(*r)
        times.append(t)
        states.append(r.copy())
        if h <= 0.0 and t > 10.0:
            break
    lat, lon, _ = physics.ecef_to_geodetic(*states[-1])
    return np.array(times), np.array(states), PROJECTION.to_xy(lon, lat)


def _track(times, states, *, stated_m: float, true_m: float, every_s: float, seed: int):
    """Feed a track reports every `every_s` whose errors are `true_m` (1 sigma, horizontal;
    1.5 times that vertically) while each says `stated_m`; yield it after each report."""
    rng = np.random.default_rng(seed)
    track = BallisticTrack(PROFILE)
    t = 1.0
    while t < times[-1] - 2.0:
        r = [float(np.interp(t, times, states[:, k])) for k in range(3)]
        lat, lon, h = physics.ecef_to_geodetic(*r)
        de, dn = (float(x) for x in rng.normal(0.0, true_m, 2))
        lat += dn / 111_320.0
        lon += de / (111_320.0 * math.cos(math.radians(lat)))
        h += float(rng.normal(0.0, 1.5 * true_m))
        track.add(Report(round(t * 1000), lat, lon, h, stated_m, None))
        yield t, track
        t += every_s


def _d(estimate, impact_xy) -> float:
    """Where the true impact falls in the region, in units of its semi-axes (1: on its edge)."""
    dx, dy = impact_xy[0] - estimate.x_m, impact_xy[1] - estimate.y_m
    s, c = math.sin(estimate.heading_rad), math.cos(estimate.heading_rad)
    return math.hypot((dx * s + dy * c) / estimate.along_m, (dx * c - dy * s) / estimate.cross_m)


def _coverage(flight, after_s: float, **sensor) -> tuple[float, list]:
    """The share of estimates made after `after_s` whose region holds the true impact."""
    times, states, impact = flight
    ds, tracks = [], []
    for t, track in _track(times, states, **sensor):
        if t < after_s:
            continue
        estimate = predict_impact(track, PROJECTION, PROFILE.min_radius_m)
        assert estimate is not None
        ds.append(_d(estimate, impact))
        tracks.append((track.scale, track.q_scale))
    return sum(d <= 1.0 for d in ds) / len(ds), tracks


@pytest.fixture(scope="module")
def coasting():
    return _flight()


UNDERSTATED = {"stated_m": 100.0, "true_m": 500.0, "every_s": 3.0}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_sensor_that_understates_its_error_fivefold_still_gets_regions_that_hold_the_impact(
    coasting, seed
):
    share, _ = _coverage(coasting, 30.0, seed=seed, **UNDERSTATED)
    assert share >= 0.95


def test_without_reading_the_reports_such_a_sensor_gets_regions_that_miss(coasting, monkeypatch):
    # what the test above pins: the same reports, the covariance taken at the sensor's word
    monkeypatch.setattr(BallisticTrack, "FIT_MAX", 1.0)
    shares = [_coverage(coasting, 30.0, seed=seed, **UNDERSTATED)[0] for seed in (1, 2, 3)]
    assert min(shares) < 0.85


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_honest_sensor_is_taken_at_its_word(coasting, seed):
    share, states = _coverage(coasting, 30.0, stated_m=200.0, true_m=200.0, every_s=2.0, seed=seed)
    assert share >= 0.99
    scales = [scale for scale, _ in states]
    # the covariance is scaled up now and then by chance, by little, and never for long
    assert float(np.median(scales)) < 1.2
    assert max(scales) < 3.0


def test_a_missile_still_burning_when_first_seen_is_followed_once_its_motor_stops():
    # 60 s at 25 m/s2 along its path from the first report on: a force the model leaves out
    flight = _flight(thrust_mps2=25.0, burn_s=60.0)
    share, states = _coverage(flight, 90.0, stated_m=100.0, true_m=100.0, every_s=2.0, seed=5)
    assert share == 1.0
    # the process noise grew while the motor burnt, and fell back to the kind's after it
    q_scales = [q for _, q in states]
    assert q_scales[0] > 10.0
    assert min(q_scales) == 1.0


def test_without_following_the_burn_the_regions_after_it_miss(monkeypatch):
    monkeypatch.setattr(BallisticTrack, "Q_MAX", 1.0)
    flight = _flight(thrust_mps2=25.0, burn_s=60.0)
    share, _ = _coverage(flight, 90.0, stated_m=100.0, true_m=100.0, every_s=2.0, seed=5)
    assert share < 0.9
