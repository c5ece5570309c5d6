"""Which zones a threat puts in danger now: the smart policy and two simple references.

A policy looks at one threat's estimate and answers with the zones to alert and to pre-alert
at a moment; the engine turns those answers into zone lifecycles (holds, hysteresis, manual
overrides). Policies are pure: the same threat state and time give the same answer.

- `SmartPolicy` (the default): a rocket or ballistic missile alerts the zones its impact region
  covers once the earliest impact is within the zone's shelter time plus a lead, and names the
  zones it holds that its region (with a margin) no longer covers, for the engine to let go; a
  drone or cruise missile alerts the zones its reachable corridor covers within that time.
  When a threat comes down or is brought down it names what it still endangers (`ending`):
  the zones near a drone's or cruise missile's last fix, those under an intercepted rocket's
  or ballistic missile's falling parts (`predict.debris`).
- `ReachPolicy`: every zone within reach of the latest report (the threat's horizontal speed
  times the zone's shelter time plus the lead), in any direction, with no impact prediction.
- `RegionPolicy`: whole regions: every zone of each region that `ReachPolicy` touches, as
  alerts covering a whole oblast or district do today.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from airwarn.engine import physics
from airwarn.engine.predict.ballistic import ImpactEstimate, predict_impact
from airwarn.engine.predict.corridor import (
    _OUTSIDE,
    SpeedEnvelope,
    measured_envelope,
    reach_outline,
    reach_region,
    unknown_envelope,
)
from airwarn.engine.predict.debris import debris_footprint
from airwarn.engine.projection import LocalProjection, Outline
from airwarn.engine.threat_kinds import KindProfile
from airwarn.engine.tracks import BallisticTrack, CorridorTrack
from airwarn.engine.zones import Clearance, ZoneSet

_EMPTY = np.zeros(0, dtype=np.int64)
_NONE: frozenset[int] = frozenset()
PRE_REFRESH_S = 60
# A corridor kind keeps the zones it holds while they are within its reach in any direction,
# its path length grown by this share (hysteresis: a wavering edge, a speed estimate that grows
# a little, or a turn back cannot take and drop them report by report).
KEEP_MARGIN = 0.2
# ... and over the silence to come: the reach is over the shelter time, the lead and the gap
# its last two reports came apart by (at most this long), not only the silence so far. Between
# two reports its corridor grows by that gap (a silent threat is assessed again as it grows) and
# would take the zone again: let go at each report, the fringe flapped once a report on a sensor
# reporting every 30-60 s (BENCHMARKS.md, "Keeping over the silence to come").
KEEP_SILENCE_S = 60.0
# A drone or cruise missile is taken to dash no faster than its dash factor times the speed it
# is seen at (`measured_envelope`): that holds while its reports keep coming. Once its next one
# is overdue (this many times the usual gap between its reports, the median of its last
# OVERDUE_GAPS_SEEN, and OVERDUE_S more, after its last fix), it may have sped up in the
# silence at its kind's acceleration as far as its kind can (its dash from its top cruise
# speed, or from the fastest it was seen to fly if faster): drones and cruise missiles seen
# slow that sped up to their ceiling in their sensor's silences were alerted late at 79 of
# 3,464 zone entries before, 1 since (docs/engine.md, "A report overdue"). Kinds with no dash
# (no acceleration in their profile) are left as they are.
OVERDUE_GAPS = 2
OVERDUE_S = 5
OVERDUE_GAPS_SEEN = 8
# A remembered distance settles whether a zone is within reach only with this much to spare
# (a millimetre: far above the rounding of coordinates of a few hundred kilometres).
DISTANCE_SLACK_M = 1e-3


@dataclass
class ThreatView:
    """What a policy may know of a threat: its kind, profile, estimator and cached prediction."""

    id: str
    kind: str
    profile: KindProfile
    track: BallisticTrack | CorridorTrack
    prediction: ImpactEstimate | None = None
    predicted_count: int = -1  # the track's report count when `prediction` was made
    held: dict[int, int] = field(default_factory=dict)  # zones it holds at alert (engine's)
    released: set[int] = field(default_factory=set)  # zones it let go while it flew (engine's)
    pre_zones: np.ndarray | None = None  # the last pre-alert zones of a corridor threat
    pre_made_ms: int = 0
    # zones it holds that its latest impact estimates missed, and by how many in a row
    missed: dict[int, int] = field(default_factory=dict)
    # the zones its latest impact estimate would keep (its region grown by the release
    # margin), worked out on each new estimate while it holds or has let go a zone
    keeps: np.ndarray | None = None
    # per shelter time: the zones its corridor last missed, and by how far
    clearances: dict[int, Clearance] = field(default_factory=dict)
    # per zone it held: a place the threat was and the zone's distance from there (m)
    distances: dict[int, tuple[float, float, float]] = field(default_factory=dict)
    # when a corridor threat was last assessed, its track's revision then (-1: not since its
    # geometry was dropped), the top speed its corridor grows at in silence and when its next
    # report is overdue (SmartPolicy._silent_due_ms)
    assessed_ms: int = 0
    assessed_revision: int = -1
    top_mps: float = 1.0
    overdue_ms: int | None = None

    def forget_geometry(self) -> None:
        """Drop what was worked out from the zones it held and the corridor it had: a track
        taken up again after it was lost, or filtered anew as another kind, starts afresh."""
        self.missed.clear()
        self.keeps = None
        self.clearances.clear()
        self.distances.clear()
        self.pre_zones = None
        self.assessed_revision = -1


@dataclass(frozen=True)
class Assessment:
    alert: np.ndarray  # zone indexes, ascending
    pre_alert: np.ndarray  # zone indexes, ascending, none of them in `alert`
    recheck_ms: int | None = None  # assess again then even with no new report
    shape_m: BaseGeometry | Outline | None = None  # the impact region or corridor, for display
    # zones the threat holds at alert that its impact region, with the release margin, no
    # longer covers (ballistic kinds, on a new estimate): the engine lets them go
    let_go: np.ndarray | None = None
    # zones the impact region with the release margin covers, due or not (ballistic kinds): a
    # zone let go and still in its release hold is taken back when a later one covers it again
    covered: np.ndarray | None = None
    # nothing has changed since the threat's last assessment, which still holds (`alert` and
    # `pre_alert` are then empty): only `recheck_ms` moves (a silent corridor threat whose
    # corridor cannot have reached a new zone yet)
    unchanged: bool = False

    @property
    def region_m(self) -> BaseGeometry | None:
        """The impact region or corridor in local metres, for display (built on demand: the
        policy itself needs the polygon only for zones it has not taken yet)."""
        if isinstance(self.shape_m, Outline):
            return self.shape_m.polygon()
        return self.shape_m


@dataclass(frozen=True)
class Ending:
    """What a threat that ended by impact or interception still endangers: these zones of
    those it holds (the others are out of danger), each for the full hold (None) or until that
    many seconds after the end (the last part of an intercepted body that can land on it is
    down)."""

    danger_s: dict[int, float | None]  # zone -> seconds after the end, None: the full hold
    # Zones of a drone or cruise missile, not in danger, that it could have reached within the
    # lifecycle's pass hold had its end been wrong (a kill claimed that missed, a track that
    # dropped out of cover low): they keep the pass hold, as for one that flew on, until a
    # new track of it takes them again. The rest of what it held is out of its reach then.
    near: frozenset[int] = frozenset()


class Policy(Protocol):
    """A policy assesses threats. It may also have `ending(threat, now_ms, reason, end_ms=None,
    flying_on_s=0.0) -> Ending | None` (as `SmartPolicy.ending`), which the lifecycle asks
    when a threat ends by impact or interception; without it, every zone keeps the full hold."""

    name: str

    def assess(self, threat: ThreatView, now_ms: int) -> Assessment: ...


def corridor_motion(
    track: CorridorTrack, vx: float, vy: float
) -> tuple[float | None, float, SpeedEnvelope]:
    """What a corridor is drawn with, from the track as read (`vx`, `vy`: its velocity now):
    the heading (None when not known: the corridor is then a disc) and its 1-sigma, and the
    speed envelope. The speed comes from the quiet filter (in a turn the track reads the agile
    one, whose wide sigma is about the heading): as fast as seen (3 sigma) or as it flew before
    the turn, and free to dash from there. A track turning with no speed remembered (a turn
    from its first reports on, or after three minutes with no known speed) takes the agile
    filter's speed, loose as it is; with no known speed at all, the kind's, or the fastest it
    was seen to fly if that is faster."""
    profile = track.profile

    def known(speed: float, sigma: float) -> bool:
        return track.velocity_known and speed > 3 * sigma and speed > 1.0

    speed = math.hypot(vx, vy)
    speed_sigma = track.speed_sigma_mps
    heading = None
    heading_sigma = math.pi
    if known(speed, speed_sigma):
        heading = math.atan2(vx, vy)
        heading_sigma = speed_sigma / speed
    cruise_speed, cruise_sigma = track.quiet_speed
    if track.turning and not track.speed_recent_mps:
        # no speed from before the turn to hold: the agile filter's
        cruise_speed, cruise_sigma = speed, speed_sigma
    # Whether the filter has a speed is its own question; how far off it may be, the sensor's
    # as well (`CorridorTrack.scale`): a sensor that errs beyond its word widens the envelope
    # around the speed, rather than dropping it for the kind's (a jet drone's 150 m/s for a
    # drone's 60).
    if known(cruise_speed, cruise_sigma / math.sqrt(track.scale)):
        envelope = measured_envelope(
            cruise_speed,
            cruise_sigma,
            profile.speed_min_mps,
            profile.speed_max_mps,
            profile.accel_mps2,
            profile.dash_factor,
            track.speed_recent_mps,
        )
    else:
        # anything the kind flies, and never slower than it was seen to fly: a sensor that errs
        # beyond its word widens the sigma (`CorridorTrack.scale`) until a fast threat's speed
        # is no longer known, and its kind's top speed may be below it (a jet drone)
        top_mps = max(profile.speed_max_mps, track.speed_recent_mps, cruise_speed)
        envelope = unknown_envelope(
            profile.speed_min_mps, top_mps, profile.accel_mps2, profile.dash_factor
        )
    return heading, heading_sigma, envelope


def _overdue_ms(track: CorridorTrack) -> int | None:
    """From when a drone's or cruise missile's next report is overdue (see OVERDUE_GAPS); None
    for a kind with no dash."""
    if track.profile.accel_mps2 <= 0:
        return None
    times = track.window.times[-OVERDUE_GAPS_SEEN - 1 :]
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    usual_ms = gaps[len(gaps) // 2] if gaps else 0  # one long gap after a run does not count
    return track.t_ms + OVERDUE_GAPS * usual_ms + 1000 * OVERDUE_S


def _ceiling_mps(track: CorridorTrack) -> float:
    """The fastest a corridor kind may fly: its dash from its kind's top cruise speed, or from
    the fastest it was seen to fly, if faster (`measured_envelope`); a report overdue, and at
    its end (`SmartPolicy.ending`)."""
    profile = track.profile
    fastest = max(profile.speed_max_mps, track.quiet_speed[0], track.speed_recent_mps)
    return profile.dash_factor * fastest


def _position_now(
    threat: ThreatView, now_ms: int, projection: LocalProjection
) -> tuple[float, float, float, float, float]:
    """(x, y, vx, vy, position sigma) on the local map, dead-reckoned to `now_ms`."""
    track = threat.track
    if isinstance(track, CorridorTrack):
        x, y, vx, vy = track.state()
        sigma = track.position_sigma_m
    else:
        lat, lon, _ = physics.ecef_to_geodetic(*(float(v) for v in track.x[:3]))
        x, y = projection.to_xy(lon, lat)
        velocity = (float(track.x[3]), float(track.x[4]), float(track.x[5]))
        e, n, _ = physics.ecef_to_enu_vector(lat, lon, velocity)
        vx, vy = e, n
        P = track.covariance
        sigma = math.sqrt(max(P[0, 0], P[1, 1], P[2, 2]))
    dt = max(now_ms - track.t_ms, 0) / 1000.0
    return x + vx * dt, y + vy * dt, vx, vy, sigma


# A young track is re-predicted on every report: its first estimates rest on a few reports a
# second or two apart, and each new one shrinks the region several-fold (a rocket's from about
# 46 x 20 km semi-axes at its second report by 30-50x in area within about 10 s).
YOUNG_REPORTS = 12
YOUNG_S = 30
# The release margin (the kind's `release_margin`, unless the policy is given one): a held zone
# is let go only once the impact region grown by this share of its semi-axes misses it. The
# truth sits at a median 0.3 of the semi-axes; the margin is the hysteresis that keeps an
# estimate's jitter from letting a zone go and taking it again.
# Within twice the margin, only once that many estimates in a row missed it: early on, one
# estimate's centre may move by a third of the semi-axes from the one before. Beyond it, at
# once (with one report every 15 s, a rocket may not live to a second estimate).
RELEASE_ESTIMATES = 2


def _repredict_ms(estimate: ImpactEstimate, now_ms: int) -> int:
    """How long an impact estimate stays good enough: a tenth of the time left to impact, between
    1 and 10 s. Early in a long flight new reports barely move the impact; near the end each
    report matters."""
    return max(1000, min(10_000, (estimate.t_ms - now_ms) // 10))


def _young(track: BallisticTrack) -> bool:
    """Is the track in its first reports or seconds, when every report sharpens it a lot?"""
    times = track.window.times
    return track.count <= YOUNG_REPORTS or track.t_ms - times[0] <= 1000 * YOUNG_S


class SmartPolicy:
    """Impact regions for ballistic kinds, reachable corridors for the others."""

    name = "engine"

    def __init__(self, zones: ZoneSet, release_margin: float | None = None) -> None:
        self.zones = zones
        self.release_margin = release_margin
        self._taken = np.zeros(len(zones), dtype=bool)  # scratch: the alert zones, as a mask

    def assess(self, threat: ThreatView, now_ms: int) -> Assessment:
        if threat.profile.model == "ballistic":
            return self._ballistic(threat, now_ms)
        return self._corridor(threat, now_ms)

    def _ballistic(self, threat: ThreatView, now_ms: int) -> Assessment:
        track = threat.track
        assert isinstance(track, BallisticTrack)
        estimate = threat.prediction
        fresh = False
        if threat.predicted_count != track.count and (
            estimate is None
            or _young(track)
            or now_ms - estimate.made_ms >= _repredict_ms(estimate, now_ms)
        ):
            estimate = predict_impact(track, self.zones.projection, threat.profile.min_radius_m)
            threat.prediction = estimate
            threat.predicted_count = track.count
            fresh = True
        if estimate is None:
            return Assessment(_EMPTY, _EMPTY)
        let_go = None
        if fresh and (threat.held or threat.released):
            # Only a new estimate can uncover a zone: one the threat took since was covered.
            held = np.fromiter(threat.held, dtype=np.int64, count=len(threat.held))
            margin = self.release_margin
            if margin is None:
                margin = threat.profile.release_margin
            near = threat.keeps = self.zones.query(estimate.ellipse(1.0 + margin))
            self._taken[near] = True
            uncovered = held[~self._taken[held]]
            self._taken[near] = False
            missed: dict[int, int] = {}
            let_go = _EMPTY
            if len(uncovered):
                far = self.zones.query(estimate.ellipse(1.0 + 3.0 * margin))
                self._taken[far] = True
                edge = self._taken[uncovered]
                self._taken[far] = False
                for z, at_edge in zip(uncovered.tolist(), edge.tolist(), strict=True):
                    missed[z] = threat.missed.get(z, 0) + 1 if at_edge else RELEASE_ESTIMATES
                let_go = np.array(
                    sorted(z for z, n in missed.items() if n >= RELEASE_ESTIMATES), dtype=np.int64
                )
            threat.missed = missed
        region = estimate.region()
        candidates = self.zones.query(region)
        # A zone let go is taken back by the test that let it go: the region with the margin.
        covered = candidates if threat.keeps is None else threat.keeps
        if not len(candidates):
            return Assessment(_EMPTY, _EMPTY, shape_m=region, let_go=let_go, covered=covered)
        # An alert falls due when the earliest impact is within the zone's shelter time + lead:
        # the earliest anywhere in the region, or, where bodies of different drag land apart,
        # the earliest on the zone's own stretch of it (asked only when the first is due: the
        # second is never sooner).
        shelter_ms = 1000 * (self.zones.shelter_s[candidates] + threat.profile.lead_s)
        due_ms = estimate.t_earliest_ms - shelter_ms
        is_due = due_ms <= now_ms
        if estimate.locus_of is not None and is_due.any():
            due_ms = self._earliest_on(estimate, candidates) - shelter_ms
            is_due = due_ms <= now_ms
        alert = candidates[is_due]
        later = candidates[~is_due]
        pre = _EMPTY
        if len(later) and estimate.t_earliest_ms - now_ms <= 1000 * threat.profile.pre_alert_s:
            pre = later
        recheck = int(due_ms[~is_due].min()) if len(later) else None
        return Assessment(
            alert, pre, recheck_ms=recheck, shape_m=region, let_go=let_go, covered=covered
        )

    def _earliest_on(self, estimate: ImpactEstimate, zones: np.ndarray) -> np.ndarray:
        """The earliest impact on each zone's stretch of the region (ms): its bounding box's
        extent along the flight direction (`ImpactEstimate.earliest_ms`)."""
        box = self.zones.bounds[zones]
        east, north = math.sin(estimate.heading_rad), math.cos(estimate.heading_rad)
        x = (box[:, 0::2] - estimate.x_m) * east  # the box's west and east sides, along
        y = (box[:, 1::2] - estimate.y_m) * north  # its south and north sides, along
        near = x.min(axis=1) + y.min(axis=1)
        far = x.max(axis=1) + y.max(axis=1)
        return estimate.earliest_ms(near, far)

    def _corridor(self, threat: ThreatView, now_ms: int) -> Assessment:
        track = threat.track
        assert isinstance(track, CorridorTrack)
        if threat.assessed_revision == track.revision:
            # silent since: nothing new is within reach until the gap is flown
            due_ms = self._silent_due_ms(threat)
            if due_ms > now_ms:
                return Assessment(_EMPTY, _EMPTY, recheck_ms=due_ms, unchanged=True)
        profile = threat.profile
        # From the last fix, over the time since as well: where it may be now is anywhere it
        # could fly to in that time, not where it would be had it flown straight on.
        x, y, vx, vy = track.state()
        sigma = track.position_sigma_m
        silent_s = max(now_ms - track.t_ms, 0) / 1000.0
        heading, heading_sigma, envelope = corridor_motion(track, vx, vy)
        overdue_ms = _overdue_ms(track)
        if overdue_ms is not None and now_ms >= overdue_ms:
            # a report overdue: it may have sped up as far as its kind can, not only dashed
            # from the speed it was seen at (OVERDUE_GAPS)
            envelope = dataclasses.replace(
                envelope, cap_mps=max(envelope.cap_mps or 0.0, _ceiling_mps(track))
            )
        turn = math.radians(profile.turn_rate_dps)
        buffer_m = 3.0 * sigma + profile.min_radius_m
        times = track.window.times
        cadence_s = (times[-1] - times[-2]) / 1000.0 if len(times) > 1 else 0.0
        keep_silent_s = max(silent_s, min(cadence_s, KEEP_SILENCE_S))
        # the zones it holds, by shelter time
        held_by_class: dict[int, list[int]] = {}
        shelter_of = self.zones.shelter_list
        for zone in threat.held:
            held_by_class.setdefault(shelter_of[zone], []).append(zone)
        alert_zones: list[int] = []
        widest = None
        for shelter_s in self.zones.shelter_classes:
            horizon_s = shelter_s + profile.lead_s + silent_s
            widest = reach_outline(
                x,
                y,
                heading,
                heading_sigma,
                envelope.high_mps,
                turn,
                horizon_s,
                buffer_m,
                envelope=envelope,
            )
            clearance = threat.clearances.get(shelter_s)
            if clearance is None:
                clearance = threat.clearances[shelter_s] = Clearance()
            held = held_by_class.get(shelter_s)
            if not held:
                alert_zones.extend(
                    self.zones.query_class_known(shelter_s, widest, _NONE, clearance).tolist()
                )
                continue
            held_set = set(held)
            # zones it does not hold yet: taken where the corridor meets them
            found = self.zones.query_class_known(shelter_s, widest, held_set, clearance)
            alert_zones.extend(i for i in found.tolist() if i not in held_set)
            # Hysteresis: a zone it holds stays held while it is within the threat's reach in
            # any direction (the path length grown by a share of it, plus the buffer), a disc
            # that holds the corridor grown by that share. A turn alone, however hard and
            # whichever way, then never brings a released zone back into the corridor: only
            # flying back towards it by that share of the path can. The path is over the
            # silence to come as well (KEEP_SILENCE_S), at least as long as the corridor's.
            path_m = envelope.path_m(horizon_s)
            keep_m = (
                path_m
                if keep_silent_s == silent_s
                else envelope.path_m(shelter_s + profile.lead_s + keep_silent_s)
            )
            reach_m = ((1.0 + KEEP_MARGIN) * keep_m + buffer_m) * _OUTSIDE
            kept = self._within(threat.distances, x, y, reach_m, held)
            alert_zones.extend(kept)
            if len(kept) < len(held):
                # one it lets go is beyond that disc, and the corridor within (path + buffer)
                # of the threat: at least the margin's share of the path from the corridor
                clearance.let_go_gap_m = KEEP_MARGIN * path_m * _OUTSIDE
        # no zone twice: one shelter time each, and taken or kept, never both
        alert_zones.sort()
        alert = np.array(alert_zones, dtype=np.int64)
        pre = _EMPTY
        if profile.pre_alert_s:
            # The warning ring is wide and changes slowly: recompute it every PRE_REFRESH_S,
            # over a horizon longer by as much, so that it stays a superset in between (once
            # a minute rather than every 30 s: 3.6 % more pre-alerted zone-hours, the same
            # alerts, 8 % fewer instructions per replay; docs/engine.md).
            if threat.pre_zones is None or now_ms - threat.pre_made_ms >= 1000 * PRE_REFRESH_S:
                region = reach_region(
                    x,
                    y,
                    heading,
                    heading_sigma,
                    envelope.high_mps,
                    turn,
                    profile.pre_alert_s + PRE_REFRESH_S + silent_s,
                    buffer_m,
                    envelope=envelope,
                )
                threat.pre_zones = self.zones.query_wide(region)
                threat.pre_made_ms = now_ms
            pre = threat.pre_zones
            if len(alert) and len(pre):
                self._taken[alert] = True
                pre = pre[~self._taken[pre]]
                self._taken[alert] = False
        threat.assessed_ms, threat.assessed_revision = now_ms, track.revision
        threat.top_mps = max(envelope.cap_mps or 0.0, envelope.high_mps, 1.0)
        threat.overdue_ms = overdue_ms
        recheck_ms = now_ms + 1000 * profile.lead_s
        if overdue_ms is not None and now_ms < overdue_ms:
            recheck_ms = min(recheck_ms, overdue_ms)  # its corridor may grow faster from then on
        return Assessment(alert, pre, recheck_ms=recheck_ms, shape_m=widest)

    def _silent_due_ms(self, threat: ThreatView) -> int:
        """When a drone or cruise missile that has been silent since its last assessment must
        be assessed again.

        Its corridor is drawn from its last fix over the shelter time, the lead and the time
        since that fix, so in silence it only grows: by at most the top speed times the time
        (until its next report is overdue, when it may speed up further: it is looked at again
        then, OVERDUE_GAPS). Each zone that assessment did not take or keep is at least `gap`
        from the corridor of its shelter time (`Clearance.gap_m`: zones it never took, and those
        it let go, which are beyond the keep margin), so it cannot come within reach for gap /
        top speed more, and then still has the lead before the threat can arrive a shelter time
        later. Assessed again then, every zone is alerted a shelter time before the threat can
        be there (a cruise missile reported every 60 s alerted zones ahead of it 12 s late
        before, when only reports were assessed); and at least once a minute, while its warning
        ring holds.
        The gap is worked out once the threat has been silent for the lead: with reports
        every few seconds it never comes to it."""
        gap_m = min((c.gap_m() for c in threat.clearances.values()), default=0.0)
        wait_s = threat.profile.lead_s + gap_m / threat.top_mps
        if threat.profile.pre_alert_s:
            wait_s = min(wait_s, PRE_REFRESH_S)  # the warning ring holds that long
        due_ms = threat.assessed_ms + math.floor(1000 * wait_s)
        overdue_ms = threat.overdue_ms  # of the same reports: none came since
        if overdue_ms is not None and threat.assessed_ms < overdue_ms:
            # looked at again once a report is overdue, when its corridor may grow faster
            due_ms = min(due_ms, overdue_ms)
        return due_ms

    def ending(
        self,
        threat: ThreatView,
        now_ms: int,
        reason: str,
        end_ms: int | None = None,
        flying_on_s: float = 0.0,
    ) -> Ending | None:
        """What a threat that came down (impact) or was brought down (interception) at
        `end_ms` (default: now) still endangers; None: every zone it holds, for the full hold.

        A drone or cruise missile: the zones within the kind's debris radius of its last fix,
        widened by 3 sigma of position and by as far as it could have flown between that fix
        and the end, and until the end was reported; `near`, the zones it could also have
        reached within `flying_on_s` more at its top speed (its dash, or its corridor's). An
        intercepted rocket or ballistic missile: the zones under the footprint of its parts
        (`predict.debris`), until the last of them is down.
        A rocket or ballistic missile that came down: every zone it holds (its last impact
        region and the ring its release margin kept around it)."""
        track = threat.track
        profile = threat.profile
        if not track.count:
            return None
        if isinstance(track, BallisticTrack):
            if reason != "intercepted":
                # every zone it holds: its last region, and the ring its release margin kept
                # around it (a sensor's bias can put the truth there, undetected)
                return None
            footprint = debris_footprint(
                track, self.zones.projection, now_ms, profile.debris_radius_m
            )
            if footprint is None:
                return None
            danger: dict[int, float | None] = {}
            for band, fall_s in footprint.bands:
                for zone in self.zones.query(band).tolist():
                    danger[zone] = max(fall_s, danger.get(zone) or 0.0)
            return Ending(danger)
        x, y, vx, vy = track.state()
        # an end stamped before the last fix (it came in late) ended where the threat was then
        before_s = 0 if end_ms is None else track.t_ms - end_ms
        since_s = max(now_ms - track.t_ms, before_s, 0) / 1000.0
        # at least the corridor's top speed (in a turn its speed is the agile filter's, which
        # the quiet one's cut corner reads low)
        cap_mps = corridor_motion(track, vx, vy)[2].cap_mps or 0.0
        dash_mps = max(_ceiling_mps(track), cap_mps)
        radius_m = profile.debris_radius_m + 3.0 * track.position_sigma_m + dash_mps * since_s
        danger = self.zones.within_distance(x, y, radius_m).tolist()
        near: frozenset[int] = frozenset()
        if flying_on_s > 0:
            reach = self.zones.within_distance(x, y, radius_m + dash_mps * flying_on_s).tolist()
            near = frozenset(reach).difference(danger)
        return Ending(dict.fromkeys(danger), near)

    def _within(
        self,
        distances: dict[int, tuple[float, float, float]],
        x: float,
        y: float,
        radius_m: float,
        held: list[int],
    ) -> list[int]:
        """The zones of `held` that come within `radius_m` of (x, y), in the same order.

        `distances` remembers, per zone, a place the threat was and the zone's distance from
        there: the zone's distance from here differs from it by at most how far the threat
        moved since (the triangle inequality), so while that settles the answer no geometry is
        tested. The threat moves a few hundred metres between reports, the radius is several
        kilometres: most answers are settled so, and the others measured again, exactly."""
        within = [False] * len(held)
        unsure: list[int] = []
        for k, zone in enumerate(held):
            seen = distances.get(zone)
            if seen is not None:
                moved_m = math.hypot(x - seen[0], y - seen[1]) + DISTANCE_SLACK_M
                if seen[2] + moved_m <= radius_m:
                    within[k] = True
                    continue
                if seen[2] - moved_m > radius_m:
                    continue
            unsure.append(k)
        if unsure:
            zones = [held[k] for k in unsure]
            measured = shapely.distance(self.zones.shapes_m[zones], shapely.Point(x, y)).tolist()
            for k, zone, distance_m in zip(unsure, zones, measured, strict=True):
                within[k] = distance_m <= radius_m
                distances[zone] = (x, y, distance_m)
        return [zone for zone, kept in zip(held, within, strict=True) if kept]


class ReachPolicy:
    """Every zone within reach of the latest report, in any direction."""

    name = "reach"

    def __init__(self, zones: ZoneSet) -> None:
        self.zones = zones

    def assess(self, threat: ThreatView, now_ms: int) -> Assessment:
        track = threat.track
        if track.count == 0 or (isinstance(track, BallisticTrack) and not track.velocity_known):
            return Assessment(_EMPTY, _EMPTY)
        x, y, vx, vy, sigma = _position_now(threat, now_ms, self.zones.projection)
        speed = math.hypot(vx, vy)
        if threat.profile.model == "corridor":
            speed = threat.profile.speed_max_mps
        point = shapely.Point(x, y)
        parts = []
        for shelter_s in self.zones.shelter_classes:
            radius = speed * (shelter_s + threat.profile.lead_s) + 3 * sigma
            parts.append(self.zones.query_class(shelter_s, point.buffer(radius, quad_segs=8)))
        alert = np.unique(np.concatenate(parts))
        return Assessment(alert, _EMPTY)


class RegionPolicy:
    """Whole regions: every zone of a region that the reach policy touches."""

    name = "region"

    def __init__(self, zones: ZoneSet) -> None:
        self.zones = zones
        self.reach = ReachPolicy(zones)
        self.members = {
            region: np.array(sorted(indexes), dtype=np.int64)
            for region, indexes in zones.regions.items()
        }
        self.region_of = [z.region for z in zones.zones]

    def assess(self, threat: ThreatView, now_ms: int) -> Assessment:
        touched = self.reach.assess(threat, now_ms).alert
        regions = sorted({self.region_of[i] for i in touched if self.region_of[i] is not None})
        parts = [self.members[r] for r in regions]
        parts.append(np.array([i for i in touched if self.region_of[i] is None], dtype=np.int64))
        return Assessment(np.unique(np.concatenate(parts)), _EMPTY)


POLICIES: dict[str, Callable[[ZoneSet], Policy]] = {
    "engine": SmartPolicy,
    "reach": ReachPolicy,
    "region": RegionPolicy,
}
