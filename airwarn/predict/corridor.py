"""Reachable corridors for threats that fly where they choose: drones, cruise missiles, aircraft.

Within a horizon of T seconds a body flying at most `v` m/s, turning at most `w` rad/s, can reach
a point at bearing offset `a` from its heading only after spending about |a|/w turning; so its
reach in that direction is at most v * (T - |a|/w). The resulting heart-shaped region points
where the threat is going and still covers a turn; with an unknown heading (or `w` = 0, meaning
"may go any way") it is a disc. It is buffered by the track's position uncertainty.
The bound is conservative: real turns also cost distance (a turn radius), which only shrinks
the true reachable set inside this one.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import Polygon

_OFFSETS = np.linspace(-math.pi, math.pi, 36, endpoint=False)
_SIN = np.sin(_OFFSETS)
_COS = np.cos(_OFFSETS)
# A polygon through points at distance R on rays 10 degrees apart lies inside the circle of
# radius R; pushing the points out by 1/cos(5 deg) makes it contain the circle.
_OUTSIDE = 1.0 / math.cos(math.pi / len(_OFFSETS))


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
    radius = speed_mps * max(horizon_s, 0.0)
    if heading_rad is None or turn_rate_rad_s <= 0:
        reach = np.full(len(_OFFSETS), radius)
        sin, cos = _SIN, _COS
    else:
        slack = 3.0 * heading_sigma_rad  # bearings within the heading's uncertainty cost no turn
        turn_s = np.maximum(np.abs(_OFFSETS) - slack, 0.0) / turn_rate_rad_s
        reach = speed_mps * np.maximum(horizon_s - turn_s, 0.0)
        sin = np.sin(heading_rad + _OFFSETS)
        cos = np.cos(heading_rad + _OFFSETS)
    # Rays from the threat's position: the region is star-shaped around it, so widening every
    # ray by the buffer (plus the polygon's own chord error) covers the uncertainty.
    reach = (reach + buffer_m) * _OUTSIDE
    return shapely.polygons(np.column_stack([x_m + reach * sin, y_m + reach * cos]))
