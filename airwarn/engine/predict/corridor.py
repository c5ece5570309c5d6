"""Reachable corridors for threats that fly where they choose: drones, cruise missiles, aircraft.

A body that turns at most w rad/s and flies at a speed between u_lo and u_hi has a path whose
curvature is at most w / u_lo: its turn radius is at least rho = u_lo / w. Within T seconds it
flies at most L metres (u_hi, growing by a bounded acceleration up to the kind's top speed).
Every place it can be within T is then at a Dubins distance of at most L from where it is: the
length of the shortest path of curvature at most 1 / rho that starts there with its heading and
ends at the place, with any final heading. That shortest path is a turn then a straight line
(points outside both turning circles), or a turn one way then a longer turn the other way
(points inside a turning circle: a body cannot get there by turning towards it, only by turning
away and looping back). The turning circles are not free: a point inside one costs its loop.

In units of rho the region depends only on tau = L / rho, so it is tabulated once: along 288
rays, the farthest point whose distance is at most tau, for tau on a grid; each of the 36
vertices of the outline takes the farthest reach of the rays in the two sectors beside it (and
1/cos(5 degrees) more, so that the polygon's edges contain the sectors). A longer path or a
tighter turn never reaches less, so the table grows with tau, and a lookup takes the next grid
value up: a slower turner (a smaller tau for the same L) never gets a larger region. The outline
is star-shaped around the threat: it also covers the part of a turning circle that lies between
the threat and places beyond it that it can reach (at most a circular segment of each circle,
(tau - sin tau) rho^2 / 2; none of it is left out once tau >= 2 pi, when a loop reaches all of it).

Bearings within 3 sigma of the heading share the farthest reach among them; with no known
heading, or a kind that may go any way (w = 0), the region is a disc of radius L. The region is
widened by the track's position uncertainty and a minimum radius.
"""

from __future__ import annotations

import bisect
import functools
import math
from dataclasses import dataclass

import numpy as np
from shapely.geometry import Polygon

from airwarn.engine.projection import Outline

_RAYS = 36
_OFFSETS = np.linspace(-math.pi, math.pi, _RAYS, endpoint=False)
_SIN = np.sin(_OFFSETS)
_COS = np.cos(_OFFSETS)
# A polygon through points at distance R on rays 10 degrees apart lies inside the circle of
# radius R; pushing the points out by 1/cos(5 deg) makes it contain the circle.
_OUTSIDE = 1.0 / math.cos(math.pi / _RAYS)
_SUB = 8  # rays sampled per sector of the outline
# tau grid: fine where the shape changes (up to a few loops), coarser beyond
# (below its first point a turn matters little; the first point's shares, a little wider, stand)
_TAUS = np.concatenate([np.arange(0.25, 8.0, 0.05), np.arange(8.0, 64.0 + 1e-9, 0.25)])
_TAU_MAX = float(_TAUS[-1])


def _left_straight(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Length of the turn-left-then-straight path (turn radius 1, heading +x, left = +y) to each
    point; inf inside the left turning circle, which such a path never enters."""
    cx, cy = x, y - 1.0
    dc2 = cx * cx + cy * cy
    tangent = np.sqrt(np.maximum(dc2 - 1.0, 0.0))
    phi = np.mod(np.arctan2(cy, cx) + np.arctan2(1.0, tangent), 2 * math.pi)
    phi = np.where(phi > 2 * math.pi - 1e-9, 0.0, phi)  # straight ahead, not a full loop
    return np.where(dc2 >= 1.0, phi + tangent, np.inf)


def _right_left(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Length of the shortest turn-right-then-turn-left path to each point (inf where none
    ends there): a right turn by a, then a left turn on the circle of centre
    (2 sin a, 2 cos a - 1), which must pass through the point."""
    r = np.hypot(x, y + 1.0)  # distance from the right circle's centre, between 1 and 3
    psi = np.arctan2(x, y + 1.0)
    k = (r * r + 3.0) / (4.0 * np.maximum(r, 1e-12))
    ok = (r >= 1.0) & (r <= 3.0)
    spread = np.arccos(np.clip(k, -1.0, 1.0))
    best = np.full(np.shape(x), np.inf)
    for a in (psi - spread, psi + spread):
        a = np.mod(a, 2 * math.pi)
        c2x, c2y = 2.0 * np.sin(a), 2.0 * np.cos(a) - 1.0
        beta = np.mod(
            np.arctan2(y - c2y, x - c2x) - np.arctan2(-np.cos(a), -np.sin(a)), 2 * math.pi
        )
        best = np.minimum(best, a + beta)
    return np.where(ok, best, np.inf)


def dubins_distance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Shortest path length (turn radius 1) from the origin heading +x (left = +y) to each point,
    with any final heading: the best of a turn then straight and a turn then a turn back, either
    way (Bui, Soueres, Boissonnat and Laumond, 1994: one of these is always shortest)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return np.minimum.reduce(
        [_left_straight(x, y), _left_straight(x, -y), _right_left(x, y), _right_left(x, -y)]
    )


def _reach_table() -> np.ndarray:
    """Per tau on the grid and ray (288 of them, offsets -pi .. pi from the heading): the
    farthest reach along it as a share of the path length tau (1 = as far as a straight
    flight)."""
    sub = np.linspace(-math.pi, math.pi, _RAYS * _SUB, endpoint=False)
    # finely where the turning circles shape the region, coarser beyond
    near = np.concatenate([np.arange(0.0, 0.5, 0.001), np.arange(0.5, 4.0, 0.004)])
    beyond = np.arange(4.0, _TAU_MAX + 0.1, 0.05)
    s = np.concatenate([near, beyond])
    # distance of every sample along every ray (forward = cos, left = sin of the offset); the
    # region is symmetric, so only the left half is computed, and beyond 4 turn radii only a
    # turn then straight can be shortest (a turn and a turn back ends within 4 of the start)
    left = sub[len(sub) // 2 :]  # offsets 0 .. pi (exclusive)
    cos, sin = np.cos(left)[:, None], np.sin(left)[:, None]
    d_near = dubins_distance(near * cos, near * sin)
    d_beyond = np.minimum(
        _left_straight(beyond * cos, beyond * sin), _left_straight(beyond * cos, -beyond * sin)
    )
    half = np.concatenate([d_near, d_beyond], axis=1)
    # offsets -pi .. 0 mirror pi .. 0: -pi is pi's mirror, and offset -a is a's
    mirrored = np.concatenate([half[:1], half[:0:-1]])
    mirrored[0] = dubins_distance(-s, np.zeros_like(s))  # straight behind (-pi)
    d_all = np.concatenate([mirrored, half])
    far = np.minimum.accumulate(d_all[:, ::-1], axis=1)[:, ::-1]  # least distance outwards
    # along each ray, the first sample beyond the farthest one within tau (the true boundary
    # lies between the two), and never beyond tau (no path reaches farther than its length)
    reach = np.empty((len(_TAUS), len(sub)))
    for i, row in enumerate(far):
        count = np.searchsorted(row, _TAUS, side="right")  # samples with distance <= tau
        reach[:, i] = s[np.minimum(count, len(s) - 1)]
    reach = np.minimum(reach, _TAUS[:, None])
    # a tighter turn (a longer path in turn radii) never reaches less
    return np.maximum.accumulate(reach / _TAUS[:, None], axis=0)


@functools.cache
def _table() -> np.ndarray:
    table = _reach_table()  # a fraction of a second, once, at the first corridor
    table.flags.writeable = False
    return table


_TAU_LIST = _TAUS.tolist()


def _tau_index(tau: float) -> int | None:
    """The grid point at or above tau (never below: reach grows with tau); None beyond."""
    if not tau <= _TAU_MAX:  # beyond the table, or NaN
        return None
    return bisect.bisect_left(_TAU_LIST, tau - 1e-12)


@functools.lru_cache(maxsize=4096)
def _unit_reach(tau_index: int | None, slack_sub: int) -> np.ndarray:
    """Per vertex of the outline, the farthest reach (a share of the path length) of the rays
    in the two sectors beside it, widened on either side by `slack_sub` rays (the heading may
    be off by that much). Kept per grid point and slack."""
    if tau_index is None:
        reach = np.ones(_RAYS)  # beyond the table: the disc, which holds the true region
        reach.flags.writeable = False
        return reach
    rays = _table()[tau_index]
    n = len(rays)
    half_window = _SUB + slack_sub  # from the previous vertex to the next, and the slack
    if 2 * half_window + 1 >= n:
        reach = np.full(_RAYS, rays.max())
    else:
        wrapped = np.concatenate([rays[-half_window:], rays, rays[:half_window]])
        windows = np.lib.stride_tricks.sliding_window_view(wrapped, 2 * half_window + 1)
        reach = windows[::_SUB].max(axis=1)  # window k is centred on ray k
    reach.flags.writeable = False
    return reach


def reach_share(tau: float, heading_sigma_rad: float = 0.0) -> np.ndarray:
    """Per vertex (offsets from the heading): the farthest reach as a share of the path length,
    for a path of tau turn radii, with the heading known to `heading_sigma_rad` (3 sigma)."""
    return _unit_reach(_tau_index(tau), _slack(heading_sigma_rad))


def _slack(heading_sigma_rad: float) -> int:
    """The rays either side that 3 sigma of heading error spans (rounded up)."""
    if not heading_sigma_rad > 0:
        return 0
    return min(
        math.ceil(3.0 * heading_sigma_rad / (2 * math.pi / (_RAYS * _SUB))), _RAYS * _SUB // 2
    )


def path_length_m(
    speed_mps: float, horizon_s: float, accel_mps2: float = 0.0, cap_mps: float | None = None
) -> float:
    """The farthest a body flies in `horizon_s` starting at `speed_mps` and speeding up at
    `accel_mps2` until `cap_mps` (no faster than the cap, nor slower than it starts)."""
    horizon_s = max(horizon_s, 0.0)
    speed = max(speed_mps, 0.0)
    cap = speed if cap_mps is None else max(cap_mps, speed)
    if accel_mps2 <= 0 or cap <= speed:
        return speed * horizon_s
    ramp_s = min((cap - speed) / accel_mps2, horizon_s)
    return speed * ramp_s + 0.5 * accel_mps2 * ramp_s**2 + cap * (horizon_s - ramp_s)


@dataclass(frozen=True)
class SpeedEnvelope:
    """What a corridor assumes of a threat's speed over its horizon: at least `low_mps` (which
    sets the tightest turn), at most `high_mps` now, speeding up by `accel_mps2` up to
    `cap_mps` (a dash)."""

    low_mps: float
    high_mps: float
    accel_mps2: float = 0.0
    cap_mps: float | None = None

    def path_m(self, horizon_s: float) -> float:
        return path_length_m(self.high_mps, horizon_s, self.accel_mps2, self.cap_mps)


def measured_envelope(
    speed_mps: float,
    speed_sigma_mps: float,
    speed_min_mps: float,
    speed_max_mps: float,
    accel_mps2: float,
    dash_factor: float,
    recent_mps: float = 0.0,
) -> SpeedEnvelope:
    """The speed envelope of a threat seen at `speed_mps` (1-sigma `speed_sigma_mps`), and at
    up to `recent_mps` a little before (a filter that lags a turn gives a lower speed than the
    threat flies): up to 3 sigma above the faster of the two now, never below the kind's
    slowest flight, and free to speed up at the kind's acceleration to `dash_factor` times the
    fastest of that (a dash), never beyond `dash_factor` times the kind's top cruise speed or
    the speed it is seen to fly, whichever is faster (a jet drone at 150 m/s reported as a
    drone, a Kh-22 or an Oniks at 700 m/s as a cruise missile: the top is what it flies, not
    what its kind's label says; a wider sigma never makes the bound lower)."""
    fastest = max(speed_mps, recent_mps)
    seen_high = fastest + 3.0 * speed_sigma_mps
    ceiling = dash_factor * max(speed_max_mps, fastest)
    high = min(ceiling, seen_high)
    low = min(high, max(speed_min_mps, speed_mps - 3.0 * speed_sigma_mps))
    return SpeedEnvelope(low, high, accel_mps2, min(ceiling, dash_factor * seen_high))


def unknown_envelope(
    speed_min_mps: float, speed_max_mps: float, accel_mps2: float, dash_factor: float
) -> SpeedEnvelope:
    """The speed envelope of a threat whose speed is not known yet: anything the kind flies."""
    return SpeedEnvelope(speed_min_mps, speed_max_mps, accel_mps2, dash_factor * speed_max_mps)


def reach_outline(
    x_m: float,
    y_m: float,
    heading_rad: float | None,
    heading_sigma_rad: float,
    speed_mps: float,
    turn_rate_rad_s: float,
    horizon_s: float,
    buffer_m: float,
    *,
    envelope: SpeedEnvelope | None = None,
) -> Outline:
    """`reach_region` as its centre and vertices (one per ray), before any polygon is built.

    With no `envelope`, the speed is `speed_mps` throughout; with one, the path length and the
    turn radius come from it (and `speed_mps` is unused)."""
    horizon_s = max(horizon_s, 0.0)
    if envelope is None:
        envelope = SpeedEnvelope(speed_mps, speed_mps)
    path_m = envelope.path_m(horizon_s)
    low = envelope.low_mps
    if (
        heading_rad is None
        or turn_rate_rad_s <= 0
        or low <= 0
        or path_m <= 0
        or not math.isfinite(low / turn_rate_rad_s)
    ):
        # no heading, or a turn so slow its radius is beyond a float: every way, as far as
        # the path goes (never NaN rays, which would reach no zone at all)
        reach = np.full(_RAYS, path_m)
        sin, cos = _SIN, _COS
    else:
        radius_m = low / turn_rate_rad_s
        reach = reach_share(path_m / radius_m, heading_sigma_rad) * path_m
        sin = np.sin(heading_rad + _OFFSETS)
        cos = np.cos(heading_rad + _OFFSETS)
    # Rays from the threat's position: the region is star-shaped around it, so widening every
    # ray by the buffer (plus the polygon's own chord error) covers the uncertainty.
    reach = (reach + buffer_m) * _OUTSIDE
    return Outline(x_m, y_m, x_m + reach * sin, y_m + reach * cos)


def reach_region(
    x_m: float,
    y_m: float,
    heading_rad: float | None,
    heading_sigma_rad: float,
    speed_mps: float,
    turn_rate_rad_s: float,
    horizon_s: float,
    buffer_m: float,
    *,
    envelope: SpeedEnvelope | None = None,
) -> Polygon:
    """Everywhere the threat may be within `horizon_s`, in local metres, widened by `buffer_m`
    (the track's position uncertainty) in every direction."""
    return reach_outline(
        x_m,
        y_m,
        heading_rad,
        heading_sigma_rad,
        speed_mps,
        turn_rate_rad_s,
        horizon_s,
        buffer_m,
        envelope=envelope,
    ).polygon()
