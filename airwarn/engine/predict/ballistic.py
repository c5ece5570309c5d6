"""Impact prediction for rockets and ballistic missiles.

From the filtered state (ECEF position and velocity, with covariance) the flight is integrated
to the ground twice, for the draggiest and the sleekest body the filter still finds plausible
(drag is learnt from how the body slows, within bounds per kind). The impact region is an
ellipse around the two impacts that also carries the state's own uncertainty propagated to the
ground. It shrinks as reports arrive: the covariance falls, and so does the time left for
errors to grow.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

from airwarn.engine import physics
from airwarn.engine.projection import LocalProjection
from airwarn.engine.tracks import BallisticTrack

K_SIGMA = 3.5  # ellipse scale: 3.5 sigma holds ~99.8 % of a 2-D normal
K_TIME = 3.0
EARLIEST_MARGIN = 0.03  # share of the fall time taken off the flown earliest impact
# Bodies of this many drags, from the sleekest to the draggiest plausible, are flown to say when
# each part of a region can be hit (`ImpactEstimate.earliest_ms`), once the drag spreads the
# impacts further than the state's own error does.
LOCUS_BODIES = 7
_UNIT_CIRCLE = np.array(
    [(math.cos(a), math.sin(a)) for a in np.linspace(0, 2 * math.pi, 24, endpoint=False)]
)


@dataclass(frozen=True)
class ImpactEstimate:
    """Where and when a threat may land, on the local map in metres."""

    x_m: float
    y_m: float
    t_ms: int  # most likely impact time
    t_earliest_ms: int  # the earliest plausible impact time
    along_m: float  # semi-axis of the region along the flight direction
    cross_m: float  # semi-axis across it
    heading_rad: float  # compass heading of the flight direction
    made_ms: int  # time of the state this estimate comes from
    # Flies the bodies of `locus` when first asked; None when the drag spreads the impacts less
    # than the state's error does (one earliest time for the whole region)
    locus_of: Callable[[], tuple[tuple[float, int], ...]] | None = None
    locus_reach_m: float = 0.0  # how far from its body's impact a hit may land, along the track

    @functools.cached_property
    def locus(self) -> tuple[tuple[float, int], ...]:
        """Where along the region bodies of each plausible drag land and how soon each can:
        (offset along the flight direction from the centre in m, earliest impact ms), sleekest
        first; empty when one earliest time holds for the whole region."""
        return () if self.locus_of is None else self.locus_of()

    def earliest_ms(self, near_m: np.ndarray, far_m: np.ndarray) -> np.ndarray:
        """The earliest impact time on each stretch [near_m, far_m] along the flight direction
        (offsets from the centre, m), as ms: the soonest that any body which can land on that
        stretch can land. A long region spans bodies of every plausible drag, the sleek ones
        landing far, the draggy ones short, and not at the same time (a rocket seen climbing
        just after launch: the draggy ones a minute sooner than the sleek ones 80 km further
        on), so one end of the region cannot be hit until well after the other, and a later
        report, narrowing the region, may come before that end falls due. Bodies between two
        flown ones land between them no sooner than the sooner of the two; a stretch no flown
        body reaches takes the region's earliest."""
        locus = self.locus
        earliest = np.full(len(near_m), self.t_earliest_ms, dtype=np.int64)
        if not locus or not len(near_m):
            return earliest
        soonest = np.full(len(near_m), np.iinfo(np.int64).max, dtype=np.int64)
        reach = self.locus_reach_m
        for (s1, t1), (s2, t2) in zip(locus, locus[1:], strict=False):
            low, high = min(s1, s2) - reach, max(s1, s2) + reach
            meets = (far_m >= low) & (near_m <= high)
            soonest[meets] = np.minimum(soonest[meets], min(t1, t2))
        found = soonest != np.iinfo(np.int64).max
        earliest[found] = np.maximum(soonest[found], self.t_earliest_ms)
        return earliest

    def region(self) -> Polygon:
        """The impact region: an ellipse in local metres (built once per estimate: an estimate
        is kept for several reports)."""
        return self._region

    @functools.cached_property
    def _region(self) -> Polygon:
        return self.ellipse(1.0)

    def ellipse(self, scale: float) -> Polygon:
        """The region with both semi-axes scaled by `scale` (> 1: the region with a margin)."""
        s, c = math.sin(self.heading_rad), math.cos(self.heading_rad)
        # along the heading: (east, north) = (s, c); across it: (east, north) = (c, -s)
        along = _UNIT_CIRCLE[:, 0] * (self.along_m * scale)
        cross = _UNIT_CIRCLE[:, 1] * (self.cross_m * scale)
        xs = self.x_m + along * s + cross * c
        ys = self.y_m + along * c - cross * s
        return shapely.Polygon(np.column_stack([xs, ys]))


def predict_impact(
    track: BallisticTrack, projection: LocalProjection, min_radius_m: float
) -> ImpactEstimate | None:
    """The impact estimate for a track, or None while its velocity is unknown or it will not land
    within the hour (e.g. still climbing out of a sensor's view)."""
    if not track.velocity_known:
        return None
    r = (float(track.x[0]), float(track.x[1]), float(track.x[2]))
    v = (float(track.x[3]), float(track.x[4]), float(track.x[5]))
    kappa_sleek, kappa_draggy = track.kappa_range(K_SIGMA)
    draggy = physics.fly(r, v, 0.0, 1.0 / kappa_draggy, max_s=3600.0).impact
    sleek = physics.fly(r, v, 0.0, 1.0 / kappa_sleek, max_s=3600.0).impact
    if draggy is None or sleek is None:
        return None
    x1, y1 = projection.to_xy(draggy.lon, draggy.lat)
    x2, y2 = projection.to_xy(sleek.lon, sleek.lat)
    t_fall = max(draggy.t_s, sleek.t_s)

    lat, lon, height = physics.ecef_to_geodetic(*r)
    east, north, up = physics.enu_axes(lat, lon)
    A = np.array([east, north, up]).T
    P = track.covariance
    P_pos = A.T @ P[:3, :3] @ A
    P_vel = A.T @ P[3:6, 3:6] @ A
    P_cross = A.T @ P[:3, 3:6] @ A
    # Linear propagation of the state's horizontal error over the fall (as in vacuum), plus the
    # error in fall time from height and climb rate, which moves the impact along the track.
    C = P_pos[:2, :2] + t_fall * (P_cross[:2, :2] + P_cross[:2, :2].T) + t_fall**2 * P_vel[:2, :2]
    fall_var = P_pos[2, 2] + t_fall**2 * P_vel[2, 2]

    v_enu = A.T @ np.array(v)
    if math.hypot(v_enu[0], v_enu[1]) > 1.0:
        heading = math.atan2(v_enu[0], v_enu[1])
    else:
        heading = math.atan2(x2 - x1, y2 - y1) if (x1, y1) != (x2, y2) else 0.0
    u = np.array([math.sin(heading), math.cos(heading)])
    w = np.array([math.cos(heading), -math.sin(heading)])
    spread_m = math.hypot(x2 - x1, y2 - y1)
    along_sigma = math.sqrt(max(float(u @ C @ u), 0.0) + fall_var)
    cross_sigma = math.sqrt(max(float(w @ C @ w), 0.0))
    along_m = spread_m / 2.0 + K_SIGMA * along_sigma + min_radius_m
    cross_m = K_SIGMA * cross_sigma + min_radius_m

    # The earliest plausible impact: the body flown again, started K_TIME sigma lower and
    # K_TIME sigma faster downwards (or slower upwards), as the body that fell sooner. Flying it
    # keeps what linearising over the fall loses: a climbing body's fall time moves about 2/g s
    # per m/s of climb rate, not t_fall / v_impact (which overstates it 2-3x early in flight,
    # when the climb rate rests on two or three reports and every zone would fall due at once).
    sooner = draggy if draggy.t_s <= sleek.t_s else sleek
    up_v = np.array(up)
    lower = min(K_TIME * math.sqrt(max(P_pos[2, 2], 0.0)), max(height - 1.0, 0.0))
    r_low = np.array(r) - lower * up_v
    v_down = np.array(v) - K_TIME * math.sqrt(max(P_vel[2, 2], 0.0)) * up_v
    fast = physics.fly(
        (float(r_low[0]), float(r_low[1]), float(r_low[2])),
        (float(v_down[0]), float(v_down[1]), float(v_down[2])),
        0.0,
        1.0 / (kappa_draggy if sooner is draggy else kappa_sleek),
        max_s=3600.0,
    )
    t_first = min(draggy.t_s, sleek.t_s)
    if fast.impact is not None:
        # less a margin for what the flown bound leaves out (the horizontal velocity's error,
        # the correlation of height and climb rate): on the sweep's raids the truth came up to
        # 1.2 % of the fall time or 1 s before the bound without it, never more
        t_first = min(t_first, fast.impact.t_s) * (1.0 - EARLIEST_MARGIN) - 1.0
    else:  # pragma: no cover - a body started lower and falling faster lands sooner
        speed = max(min(draggy.speed_mps, sleek.speed_mps), 50.0)
        t_first -= K_TIME * math.sqrt(fall_var) / speed
    made = track.t_ms
    centre = ((x1 + x2) / 2.0, (y1 + y2) / 2.0)
    reach_m = K_SIGMA * along_sigma + min_radius_m
    locus_of = None
    if spread_m / 2.0 > reach_m:  # flown only if a zone of the region falls due
        locus_of = functools.partial(
            _locus,
            r,
            v,
            (kappa_sleek, kappa_draggy),
            (sleek, draggy),
            projection,
            centre,
            u,
            made,
            t_first / sooner.t_s if sooner.t_s > 0 else 0.0,
        )
    return ImpactEstimate(
        x_m=centre[0],
        y_m=centre[1],
        t_ms=made + round(1000 * (draggy.t_s + sleek.t_s) / 2.0),
        t_earliest_ms=made + round(1000 * max(t_first, 0.0)),
        along_m=along_m,
        cross_m=cross_m,
        heading_rad=heading,
        made_ms=made,
        locus_of=locus_of,
        locus_reach_m=reach_m,
    )


def _locus(
    r: tuple[float, float, float],
    v: tuple[float, float, float],
    kappas: tuple[float, float],
    ends: tuple[physics.Impact, physics.Impact],
    projection: LocalProjection,
    centre: tuple[float, float],
    u: np.ndarray,
    made_ms: int,
    early: float,
) -> tuple[tuple[float, int], ...]:
    """`ImpactEstimate.locus`: bodies from the sleekest to the draggiest flown to the ground
    (`ends`: those two, flown already), each impact's offset along `u` from the centre and its
    earliest time (its fall time shortened in the share `early` the region's earliest shortens
    the sooner body's: the same errors of height and climb rate move every body's fall alike)."""
    impacts = [ends[0]]
    for kappa in np.geomspace(kappas[0], kappas[1], LOCUS_BODIES)[1:-1].tolist():
        impact = physics.fly(r, v, 0.0, 1.0 / kappa, max_s=3600.0).impact
        if impact is None:  # pragma: no cover - the bounding bodies landed, so do these
            return ()
        impacts.append(impact)
    impacts.append(ends[1])
    points: list[tuple[float, int]] = []
    for impact in impacts:
        x, y = projection.to_xy(impact.lon, impact.lat)
        offset = (x - centre[0]) * float(u[0]) + (y - centre[1]) * float(u[1])
        points.append((offset, made_ms + round(1000 * max(impact.t_s * early, 0.0))))
    return tuple(points)
