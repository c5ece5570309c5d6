"""Where the parts of an intercepted rocket or ballistic missile come down, and by when.

An interception breaks the body up; its parts leave the interception state (the track's last
filtered state, flown on to the moment the interception was reported) and fall freely. A part
is draggier than the body it came from: its ballistic coefficient m / (Cd A) grows with its size
at a given density and shape (mass with the cube, area with the square), and a tumbling part
has a higher drag coefficient than a streamlined body. So the parts are flown with drag from
the sleekest body the track still finds plausible (a warhead that survives intact goes on to
the predicted impact) to that of a tumbling piece of the body's wall (`FRAGMENT_DRAG_FACTOR`).
Draggier parts shed their speed sooner and come down nearer the point below the interception,
sleeker ones farther on, along the flight. The footprint is the band between their impacts,
widened by the state's own uncertainty carried over the fall (as the impact region is), by the
kind's debris radius (the blast, and the spread the break-up gives the parts across the track)
and by the wind's drift over the fall; each stretch of it carries the latest fall of the parts
that can land there, the draggiest parts' the longest (docs/engine.md, "Interception debris").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from airwarn.engine import physics
from airwarn.engine.predict.ballistic import K_SIGMA
from airwarn.engine.projection import LocalProjection
from airwarn.engine.tracks import BallisticTrack

# The draggiest part flown: its inverse ballistic coefficient is this many times the kind's
# draggiest body's, about 50 kg/m2 for a ballistic missile and 40 kg/m2 for a rocket: a
# tumbling piece of the body's steel wall (beta = 2 rho t / Cd for a plate of thickness t
# tumbling with a drag coefficient Cd ~ 1.5 on its mean projected area, half its face: 50 kg/m2
# for 5 mm of steel), which falls at under 30 m/s near the ground. Only thinner and lighter
# parts (insulation, thin skin) fall slower, with a small share of the body's energy.
FRAGMENT_DRAG_FACTOR = 100.0
# How many bodies are flown, their drag spaced geometrically from the sleekest to the
# draggiest: the impacts lie on a smooth curve along the flight, which these sample.
FRAGMENT_BODIES = 7
# A part that has lost its own horizontal speed drifts with the wind for the rest of its fall:
# a strong mean wind over the column it falls through (the winter subtropical jet over the
# Levant reaches 40-60 m/s at 10-12 km, the lower troposphere where slow parts spend most of
# their fall rarely 20 m/s). Counted over the whole fall, which overstates the drift.
DEBRIS_WIND_MPS = 20.0
# A fall longer than this (a part still up an hour later) is not predicted: hold everything.
MAX_FALL_S = 3600.0


@dataclass(frozen=True)
class DebrisFootprint:
    """Where the parts of a broken-up body may land (local metres), and until when: bands of
    ground, each with the latest fall of the parts that can land in it (seconds from the
    end), sleekest parts first."""

    bands: tuple[tuple[BaseGeometry, float], ...]
    impacts_m: tuple[tuple[float, float], ...]  # the flown parts' impacts, sleekest first

    @property
    def fall_s(self) -> float:
        """When the last part is down, from the end."""
        return max(fall for _, fall in self.bands)

    @property
    def region_m(self) -> BaseGeometry:
        """Everywhere a part may land."""
        return shapely.union_all([band for band, _ in self.bands])


def debris_footprint(
    track: BallisticTrack, projection: LocalProjection, end_ms: int, radius_m: float
) -> DebrisFootprint | None:
    """The footprint of the parts of a body broken up at `end_ms`, or None when the track
    never had a velocity or a part would still be up after `MAX_FALL_S`."""
    if not track.velocity_known:
        return None
    r = (float(track.x[0]), float(track.x[1]), float(track.x[2]))
    v = (float(track.x[3]), float(track.x[4]), float(track.x[5]))
    kappa_sleek, _ = track.kappa_range(K_SIGMA)
    since_s = max(end_ms - track.t_ms, 0) / 1000.0
    if since_s > 0.0:
        # The body as it was when the end was reported: flown on from the last fix with its
        # estimated drag (the interception comes after the last fix, not before).
        kappa = min(max(float(track.x[6]), track.kappa_bounds[0]), track.kappa_bounds[1])
        flown = physics.fly(r, v, 0.0, 1.0 / kappa, max_s=since_s)
        if flown.impact is not None:  # down before the end was reported: its impact is all
            x, y = projection.to_xy(flown.impact.lon, flown.impact.lat)
            return DebrisFootprint(((shapely.Point(x, y).buffer(radius_m), 0.0),), ((x, y),))
        r, v = flown.states[-1]
    kappa_draggy = FRAGMENT_DRAG_FACTOR * track.kappa_bounds[1]
    kappas = np.geomspace(kappa_sleek, kappa_draggy, FRAGMENT_BODIES)
    points = []
    falls = []
    for kappa in kappas.tolist():
        impact = physics.fly(r, v, 0.0, 1.0 / kappa, max_s=MAX_FALL_S).impact
        if impact is None:
            return None
        points.append(projection.to_xy(impact.lon, impact.lat))
        falls.append(impact.t_s)

    # The state's own error carried over the fall, as the impact region carries it: position,
    # velocity over the time since the last fix and the sleekest part's fall (the longest
    # horizontal flight: drag takes a draggier part's speed sooner), and height and climb
    # rate, which move where a body meets the ground along its flight.
    lat, lon, _ = physics.ecef_to_geodetic(*(float(c) for c in track.x[:3]))
    east, north, up = physics.enu_axes(lat, lon)
    A = np.array([east, north, up]).T
    P = track.covariance
    P_pos = A.T @ P[:3, :3] @ A
    P_vel = A.T @ P[3:6, 3:6] @ A
    P_cross = A.T @ P[:3, 3:6] @ A
    t = since_s + falls[0]
    C = P_pos[:2, :2] + t * (P_cross[:2, :2] + P_cross[:2, :2].T) + t**2 * P_vel[:2, :2]
    fall_var = P_pos[2, 2] + t**2 * P_vel[2, 2]
    sigma = math.sqrt(max(float(np.linalg.eigvalsh(C)[-1]), 0.0) + max(fall_var, 0.0))
    widen_m = K_SIGMA * sigma + radius_m
    # Between two flown bodies the impacts run along the segment joining theirs, and the fall
    # lengthens with the drag: a band holds the later of its two falls, widened by the wind
    # drift over it.
    bands = []
    for i in range(len(points) - 1):
        a, b = points[i], points[i + 1]
        fall = max(falls[i], falls[i + 1])
        core = shapely.Point(a) if a == b else shapely.LineString([a, b])
        bands.append((core.buffer(widen_m + DEBRIS_WIND_MPS * fall, quad_segs=8), fall))
    return DebrisFootprint(tuple(bands), tuple(points))
