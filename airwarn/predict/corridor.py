"""Reachable corridors for threats that fly where they choose: drones, cruise missiles, aircraft.

A body flying at speed v and turning at most w rad/s has a minimum turn radius rho = v / w. The
shortest path to a point ahead of or beside it is a turn followed by a straight line (Dubins):
length rho * phi + t, with phi the turn and t the tangent. Within T seconds it reaches what
such a path of length v * T reaches: a region pointing where it goes that still covers every
turn. It depends only on w * T once lengths are measured in turn radii, so the outline is
tabulated once (rays every 10 degrees, for w * T up to 64) and only scaled and rotated per
threat. Points inside the turning circles, reachable only by longer paths, are kept in the
region (conservative). Bearings within 3 sigma of the heading share the farthest reach among
them; with no known heading, or a kind that may go any way (w = 0), the region is a disc. The
region is widened by the track's position uncertainty.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from shapely.geometry import Polygon

from airwarn.geo import Outline

_RAYS = 36
_OFFSETS = np.linspace(-math.pi, math.pi, _RAYS, endpoint=False)
_SIN = np.sin(_OFFSETS)
_COS = np.cos(_OFFSETS)
# A polygon through points at distance R on rays 10 degrees apart lies inside the circle of
# radius R; pushing the points out by 1/cos(5 deg) makes it contain the circle.
_OUTSIDE = 1.0 / math.cos(math.pi / _RAYS)
_TAU_STEP = 0.25
_TAU_MAX = 64.0


def _turn_then_straight(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Length of the shortest turn-then-straight path (turn radius 1, heading +x, turning
    towards y >= 0) to each point; 0 inside the turning circle, whose points are kept in the
    region (reachable only by longer paths: conservative, and never farther than the path)."""
    cx, cy = x, y - 1.0
    dc2 = cx * cx + cy * cy
    tangent = np.sqrt(np.maximum(dc2 - 1.0, 0.0))
    phi = np.mod(np.arctan2(cy, cx) + np.arctan2(1.0, tangent), 2 * math.pi)
    return np.where(dc2 >= 1.0, phi + tangent, 0.0)


def _reach_table() -> np.ndarray:
    """Farthest reach along each ray (in turn radii) for path lengths tau = w*T on a grid."""
    taus = np.arange(0.0, _TAU_MAX + _TAU_STEP, _TAU_STEP)
    angle = np.abs(_OFFSETS)  # symmetric: a turn to either side
    table = np.zeros((len(taus), _RAYS))
    for i, tau in enumerate(taus):
        low = np.zeros(_RAYS)
        high = np.full(_RAYS, tau)  # no point is farther than the path's length
        for _ in range(40):  # bisection on the distance along each ray
            mid = (low + high) / 2
            ok = _turn_then_straight(mid * np.cos(angle), mid * np.sin(angle)) <= tau
            low = np.where(ok, mid, low)
            high = np.where(ok, high, mid)
        table[i] = low
    table = np.maximum.accumulate(table, axis=0)  # a longer horizon never reaches less
    # Each ray also takes its neighbours' reach, so that the polygon's edges between rays hold
    # the points between them where the reach changes fast (behind the threat).
    return np.maximum(table, np.maximum(np.roll(table, 1, axis=1), np.roll(table, -1, axis=1)))


_TABLE = _reach_table()


def reach_radii(tau: float) -> np.ndarray:
    """Farthest reach along each ray (offsets from the heading) in turn radii, for w*T = tau."""
    if tau >= _TAU_MAX:
        return np.full(_RAYS, tau)  # beyond the table: the disc, which holds the true region
    position = tau / _TAU_STEP
    i = int(position)
    share = position - i
    return _TABLE[i] * (1.0 - share) + _TABLE[i + 1] * share


@functools.lru_cache(maxsize=1024)
def _unit_reach(tau: float, slack_rays: int) -> np.ndarray:
    """`reach_radii(tau)` with each ray taking the farthest reach of the rays within
    `slack_rays` of it (the heading may be off by that much). A kind's horizons, and so its
    tau, are few and fixed: this is computed once for each and kept."""
    reach = reach_radii(tau)
    if slack_rays >= _RAYS // 2:
        reach = np.full(_RAYS, reach.max())
    elif slack_rays > 0:
        wrapped = np.concatenate([reach[-slack_rays:], reach, reach[:slack_rays]])
        widest = wrapped[:_RAYS].copy()
        for k in range(1, 2 * slack_rays + 1):
            np.maximum(widest, wrapped[k : k + _RAYS], out=widest)
        reach = widest
    reach.flags.writeable = False
    return reach


def reach_outline(
    x_m: float,
    y_m: float,
    heading_rad: float | None,
    heading_sigma_rad: float,
    speed_mps: float,
    turn_rate_rad_s: float,
    horizon_s: float,
    buffer_m: float,
) -> Outline:
    """`reach_region` as its centre and vertices (one per ray), before any polygon is built."""
    horizon_s = max(horizon_s, 0.0)
    if (heading_rad is None or turn_rate_rad_s <= 0 or speed_mps <= 0
            or not math.isfinite(speed_mps / turn_rate_rad_s)):
        # no heading, or a turn so slow its radius is beyond a float: every way, as far as
        # the speed goes (never NaN rays, which would reach no zone at all)
        reach = np.full(_RAYS, speed_mps * horizon_s)
        sin, cos = _SIN, _COS
    else:
        # the heading may be off by up to 3 sigma: so many rays either side
        slack_rays = min(math.ceil(3.0 * heading_sigma_rad / (2 * math.pi / _RAYS)), _RAYS // 2)
        radius_m = speed_mps / turn_rate_rad_s
        reach = _unit_reach(turn_rate_rad_s * horizon_s, slack_rays) * radius_m
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
) -> Polygon:
    """Everywhere the threat may be within `horizon_s`, in local metres, widened by `buffer_m`
    (the track's position uncertainty) in every direction."""
    return reach_outline(x_m, y_m, heading_rad, heading_sigma_rad, speed_mps, turn_rate_rad_s,
                         horizon_s, buffer_m).polygon()
