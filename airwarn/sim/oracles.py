"""Oracle floors: policies that know what no sensor can, to show what no policy can beat.

Both are run through the engine's own lifecycle (`airwarn.engine.Engine` with the oracle as
its policy), like the `reach` and `region` references: they see a threat only from its first
report, are asked only when the engine asks any policy (on a report, or at the re-assessment
time they name), and their zones are held and released as the engine holds and releases any
other policy's. What differs is only what they know, from the truth document:

- `path-oracle` knows each threat's true path (`truth.json`'s `path`, see `airwarn.sim.paths`)
  but not where along it the threat will come down: at time t it alerts every zone the ground
  track will pass over within the zone's shelter time plus the kind's lead, until the path has
  left the zone. A threat intercepted in flight has a path that ends there. This is the floor
  for a corridor: the narrowest region that is safe without knowing the target.
- `impact-oracle` knows where and when each threat comes down: it alerts only the impact zone,
  from `shelter_s` before the impact (no lead). With the default lifecycle its alert lasts
  until the threat's `end` plus the hold, so its over-alert factor is 1 by construction (a
  little above: the `end` comes up to a second after the impact); below 1 when the threat is
  first seen later than `shelter_s` before the impact.

Neither oracle can warn for a track that the sensors lose (an `end` with reason `lost`) longer
than the hold before it comes down: the lifecycle ends the threat then, as it would for any
policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from airwarn.contract import Decision, Event, parse_time
from airwarn.engine import EngineConfig, run
from airwarn.engine.policy import Assessment, Policy, ThreatView
from airwarn.engine.zones import ZoneSet
from airwarn.errors import AirwarnError
from airwarn.sim.paths import Visits, read_path, zone_visits

_EMPTY = np.zeros(0, dtype=np.int64)


class PathOracle:
    """Every zone the true path passes over within its shelter time plus the lead."""

    name = "path-oracle"

    def __init__(self, zones: ZoneSet, truth: Mapping[str, Any]) -> None:
        self.zones = zones
        self.visits: dict[str, Visits] = {}
        missing = []
        for row in truth.get("threats") or []:
            path = read_path(zones, truth, row)
            if path is None:
                missing.append(str(row.get("threat")))
                continue
            self.visits[str(row["threat"])] = zone_visits(zones, path)
        if missing:
            raise AirwarnError(
                f"truth has no path for {len(missing)} threat(s) ({', '.join(missing[:3])}...): "
                "the path oracle needs them; make the raid with `airwarn simulate "
                "--truth-paths` (or any sensor-sweep flag)"
            )

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


ORACLES: dict[str, Callable[[ZoneSet, Mapping[str, Any]], Policy]] = {
    "path-oracle": PathOracle,
    "impact-oracle": ImpactOracle,
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
