"""Oracle floors: policies that know what no sensor can, to show what no policy can beat.

All are run through the engine's own lifecycle (`airwarn.engine.Engine` with the oracle as
its policy), like the `reach` and `region` references: they see a threat only from its first
report, are asked only when the engine asks any policy (on a report, or at the re-assessment
time they name), and their zones are held and released as the engine holds and releases any
other policy's. What differs is only what they know, from the truth document:

- `path-oracle` knows each threat's true path (`truth.json`'s `path`, see `airwarn.sim.paths`)
  but not where along it the threat will come down: at time t it alerts every zone the ground
  track will pass over within the zone's shelter time plus the kind's lead, until the path has
  left the zone. A threat intercepted in flight has a path that ends there. A drone's or
  cruise missile's path ends where it came down: when it does, only the zone there keeps the
  full hold, and the others it holds are let go as `SmartPolicy.ending` lets go what a downed
  threat no longer endangers (the engine holds what its debris may reach, and more where its
  last fix was some time before). This is the floor for a corridor: the narrowest region that
  is safe without knowing the target.
- `impact-oracle` knows where and when each threat comes down: it alerts only the impact zone,
  from `shelter_s` before the impact (no lead). With the default lifecycle its alert lasts
  until the threat's `end` plus the hold, so its over-alert factor is 1 by construction (a
  little above: the `end` comes up to a second after the impact); below 1 when the threat is
  first seen later than `shelter_s` before the impact.
- `state-oracle` knows where each drone or cruise missile is, how fast and which way it flies,
  at every moment (from its true path), but not where it will turn: it alerts every zone the
  engine's own corridor geometry (`predict.corridor.reach_outline`: the kind's turn-limited
  reach, at the speed it flies then, with no position error, no buffer and no dash) meets
  within the zone's shelter time plus the lead, and it ends as `path-oracle` does. It is the
  engine's corridor geometry fed a perfect sensor: what the corridor's width costs once the
  margins (a dash, the minimum radius, the keep disc) and the sensors' errors are taken away.
  It is no floor of every policy: a corridor drawn over the shelter time alone (no lead), or
  with a tighter outline than the engine's rays, alerts less. It is safe against turns, not
  against speeding up (nor slowing down to turn tighter). It is asked every `STATE_STEP_S`
  and reaches that much further, so that at a steady speed it is never late between two
  looks. A rocket's or ballistic missile's state fixes its path: for those it answers as
  `path-oracle` does.
- `sensor-oracle` is the engine itself (its corridor, every margin and hold of it) fed a
  perfect sensor: at each report of a drone or cruise missile, the threat's true position and
  velocity at that moment, known exactly, in place of what its filter makes of the report.
  It reports when the engine's sensor does, so it is silent when that one is. Its margins
  (the kind's dash, the minimum radius, the speed memory, the keep disc) are the engine's:
  beside it, `engine ÷ sensor-oracle` is what the sensor's errors cost, and `sensor-oracle ÷
  state-oracle` what the margins and the sensor's timing (when its reports come) cost. A
  rocket or ballistic missile: the engine's answer.

No oracle can warn for a track that the sensors lose (an `end` with reason `lost`) longer
than the hold before it comes down: the lifecycle ends the threat then, as it would for any
policy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import numpy as np
import shapely

from airwarn.contract import Decision, Event, parse_time
from airwarn.engine import EngineConfig, run
from airwarn.engine.policy import Assessment, Ending, Policy, SmartPolicy, ThreatView
from airwarn.engine.predict.corridor import reach_outline
from airwarn.engine.tracks import CorridorTrack
from airwarn.engine.zones import ZoneSet
from airwarn.errors import AirwarnError
from airwarn.sim.paths import TruePath, Visits, read_path, zone_visits

_EMPTY = np.zeros(0, dtype=np.int64)
_T = TypeVar("_T")


class PathOracle:
    """Every zone the true path passes over within its shelter time plus the lead."""

    name = "path-oracle"

    def __init__(self, zones: ZoneSet, truth: Mapping[str, Any]) -> None:
        self.zones = zones
        self.paths = true_paths(zones, truth, self.name)
        self.visits: dict[str, Visits] = {
            threat: zone_visits(zones, path) for threat, path in self.paths.items()
        }

    def assess(self, threat: ThreatView, now_ms: int) -> Assessment:
        visits = self.visits.get(threat.id)
        if visits is None or not len(visits.zone):
            return Assessment(_EMPTY, _EMPTY)
        horizon_ms = 1000 * (self.zones.shelter_s[visits.zone] + threat.profile.lead_s)
        due_ms = visits.enter_ms - horizon_ms
        now = (due_ms <= now_ms) & (visits.exit_ms >= now_ms)
        later = due_ms > now_ms
        recheck = int(due_ms[later].min()) if later.any() else None
        return Assessment(np.unique(visits.zone[now]), _EMPTY, recheck_ms=recheck)

    def ending(
        self,
        threat: ThreatView,
        now_ms: int,
        reason: str,
        end_ms: int | None = None,
        flying_on_s: float = 0.0,
    ) -> Ending | None:
        """A drone or cruise missile that came down or was brought down: the zone under the
        last point of its path keeps the full hold, the others it holds are out of danger. A
        rocket or ballistic missile: every zone it holds."""
        path = self.paths.get(threat.id)
        if threat.profile.model == "ballistic" or path is None:
            return None
        there = self.zones.query(shapely.Point(float(path.x_m[-1]), float(path.y_m[-1])))
        return Ending(dict.fromkeys(there.tolist()))


# How often the state oracle looks again; it reaches this much further at each look.
STATE_STEP_S = 2
VELOCITY_SPAN_MS = 1000


class StateOracle(PathOracle):
    """Every zone a drone's or cruise missile's turn-limited reach from its true state meets
    within the zone's shelter time plus the lead (a rocket or ballistic missile: `PathOracle`);
    its end is `PathOracle`'s."""

    name = "state-oracle"

    def assess(self, threat: ThreatView, now_ms: int) -> Assessment:
        profile = threat.profile
        path = self.paths.get(threat.id)
        if profile.model == "ballistic" or path is None:
            return super().assess(threat, now_ms)
        state = true_state(path, now_ms)
        if state is None:  # before its path starts, or after it came down
            return Assessment(_EMPTY, _EMPTY)
        x, y, vx, vy = state
        speed = math.hypot(vx, vy)
        heading = math.atan2(vx, vy) if speed > 0 else None
        turn = math.radians(profile.turn_rate_dps)
        found: list[np.ndarray] = []
        for shelter_s in self.zones.shelter_classes:
            horizon_s = shelter_s + profile.lead_s + STATE_STEP_S
            outline = reach_outline(x, y, heading, 0.0, speed, turn, horizon_s, 0.0)
            found.append(self.zones.query_class(shelter_s, outline.polygon()))
        alert = np.unique(np.concatenate(found)) if found else _EMPTY
        return Assessment(alert, _EMPTY, recheck_ms=now_ms + 1000 * STATE_STEP_S)


def true_paths(zones: ZoneSet, truth: Mapping[str, Any], oracle: str) -> dict[str, TruePath]:
    """Each threat's true path, by id; an error naming the `oracle` that needs them when the
    truth has none for some threat."""
    paths: dict[str, TruePath] = {}
    missing = []
    for row in truth.get("threats") or []:
        path = read_path(zones, truth, row)
        if path is None:
            missing.append(str(row.get("threat")))
        else:
            paths[str(row["threat"])] = path
    if missing:
        named = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise AirwarnError(
            f"truth has no path for {len(missing)} threat(s) ({named}): the {oracle} needs "
            "them; make the raid with `airwarn simulate --truth-paths` (or any sensor-sweep flag)"
        )
    return paths


def true_state(path: TruePath, t_ms: int) -> tuple[float, float, float, float] | None:
    """Where a path is at `t_ms` and its velocity there (m, m/s on the local map), from the
    samples either side; None outside the path's time (or a path of one sample)."""
    times = path.t_ms
    if len(times) < 2 or t_ms < times[0] or t_ms > times[-1]:
        return None
    i = min(int(np.searchsorted(times, t_ms, side="right")) - 1, len(times) - 2)
    dt_ms = int(times[i + 1] - times[i])
    if dt_ms <= 0:
        return None
    share = (t_ms - int(times[i])) / dt_ms
    x = float(path.x_m[i]) + share * float(path.x_m[i + 1] - path.x_m[i])
    y = float(path.y_m[i]) + share * float(path.y_m[i + 1] - path.y_m[i])
    # the velocity over at least VELOCITY_SPAN_MS of the path: a step of a few ms (a path's
    # last, cut at the impact) would turn the rounding of its points into a speed
    first = i
    while first > 0 and int(times[i + 1] - times[first]) < VELOCITY_SPAN_MS:
        first -= 1
    span_ms = int(times[i + 1] - times[first])
    vx = 1000.0 * float(path.x_m[i + 1] - path.x_m[first]) / span_ms
    vy = 1000.0 * float(path.y_m[i + 1] - path.y_m[first]) / span_ms
    return x, y, vx, vy


class ImpactOracle:
    """Only the impact zone, from its shelter time before the impact."""

    name = "impact-oracle"

    def __init__(self, zones: ZoneSet, truth: Mapping[str, Any]) -> None:
        self.zones = zones
        self.impacts: dict[str, tuple[int, int]] = {}  # threat -> (zone, impact ms)
        for row in truth.get("threats") or []:
            impact = row.get("impact")
            if not impact:
                continue
            zone = zones.zone_at(float(impact["lon"]), float(impact["lat"]))
            if zone is not None:
                self.impacts[str(row["threat"])] = (zone, parse_time(impact["t"]))

    def assess(self, threat: ThreatView, now_ms: int) -> Assessment:
        found = self.impacts.get(threat.id)
        if found is None:
            return Assessment(_EMPTY, _EMPTY)
        zone, impact_ms = found
        due_ms = impact_ms - 1000 * int(self.zones.shelter_s[zone])
        if now_ms < due_ms:
            return Assessment(_EMPTY, _EMPTY, recheck_ms=due_ms)
        if now_ms > impact_ms:
            return Assessment(_EMPTY, _EMPTY)
        return Assessment(np.array([zone], dtype=np.int64), _EMPTY)


class _PerfectFix(CorridorTrack):
    """A track as a perfect sensor leaves it at its last report: the true position and velocity
    then, known exactly (from its first report on), with no turn to read; the report times (so
    its cadence, its silences and when a report is overdue) are the real track's, and so is
    its speed memory: the fastest it truly flew at its reports of the last SPEED_MEMORY_S.
    `SmartPolicy` reads only what is set or overridden here, and the kind's profile (`ThreatView`
    keeps the rest: what the corridor met, where the threat was)."""

    def __init__(
        self, track: CorridorTrack, state: tuple[float, float, float, float], fastest_mps: float
    ) -> None:
        # not CorridorTrack.__init__: no filter runs
        self.profile = track.profile
        self.projection = track.projection
        self.window = track.window
        self.count = track.count
        self.revision = track.revision
        self.t_ms = track.t_ms
        self.turning = False
        self.scale = 1.0
        self._true = state
        self._speed = math.hypot(state[2], state[3])
        self._fastest = max(fastest_mps, self._speed)

    def state(self) -> tuple[float, float, float, float]:
        return self._true

    @property
    def velocity_known(self) -> bool:
        return True

    @property
    def position_sigma_m(self) -> float:
        return 0.0

    @property
    def speed_sigma_mps(self) -> float:
        return 0.0

    @property
    def quiet_speed(self) -> tuple[float, float]:
        return self._speed, 0.0

    @property
    def speed_recent_mps(self) -> float:
        return self._fastest


class SensorOracle(SmartPolicy):
    """The engine's policy, its corridors drawn from each report's true state."""

    name = "sensor-oracle"

    def __init__(self, zones: ZoneSet, truth: Mapping[str, Any]) -> None:
        super().__init__(zones)
        self.paths = true_paths(zones, truth, self.name)
        # per threat: its true speed at each of its reports (m/s), by report time (ms)
        self._speeds: dict[str, dict[int, float]] = {}

    def assess(self, threat: ThreatView, now_ms: int) -> Assessment:
        return self._perfect(threat, lambda: super(SensorOracle, self).assess(threat, now_ms))

    def ending(
        self,
        threat: ThreatView,
        now_ms: int,
        reason: str,
        end_ms: int | None = None,
        flying_on_s: float = 0.0,
    ) -> Ending | None:
        return self._perfect(
            threat,
            lambda: super(SensorOracle, self).ending(threat, now_ms, reason, end_ms, flying_on_s),
        )

    def _perfect(self, threat: ThreatView, answer: Callable[[], _T]) -> _T:
        """The engine's answer with the threat's track read as a perfect sensor leaves it."""
        track = threat.track
        path = self.paths.get(threat.id)
        if not isinstance(track, CorridorTrack) or not track.count or path is None:
            return answer()  # a rocket or ballistic missile: the engine's answer
        state = true_state(path, track.t_ms)
        if state is None:  # a report off its path's time: the report as it came
            return answer()
        speeds = self._speeds.setdefault(threat.id, {})
        since_ms = track.t_ms - 1000 * CorridorTrack.SPEED_MEMORY_S
        fastest = 0.0
        for t_ms in track.window.times:
            if since_ms <= t_ms <= track.t_ms:
                if t_ms not in speeds:
                    then = true_state(path, t_ms)
                    speeds[t_ms] = 0.0 if then is None else math.hypot(then[2], then[3])
                fastest = max(fastest, speeds[t_ms])
        threat.track = _PerfectFix(track, state, fastest)
        try:
            return answer()
        finally:
            threat.track = track


ORACLES: dict[str, Callable[[ZoneSet, Mapping[str, Any]], Policy]] = {
    "path-oracle": PathOracle,
    "impact-oracle": ImpactOracle,
    "state-oracle": StateOracle,
    "sensor-oracle": SensorOracle,
}


def run_oracle(
    zones: ZoneSet,
    truth: Mapping[str, Any],
    events: Iterable[Event],
    name: str,
    config: EngineConfig | None = None,
) -> list[Decision]:
    """Every decision of an oracle over the events of a raid, through the engine's lifecycle."""
    if name not in ORACLES:
        raise AirwarnError(f"unknown oracle {name!r}: choose one of {', '.join(ORACLES)}")
    return list(run(zones, events, config, ORACLES[name](zones, truth)))
