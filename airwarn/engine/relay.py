"""Relayed feeds inside the engine: a lane per source and zone, apart from the zones' own levels.

What an official feed says (alerts.in.ua, the Home Front Command, another agency's CAP,
another airwarn) reaches the engine as `relay` events (`airwarn.follow` writes them). Each
source has a lane per zone holding what the source last said of it: its level, its own word for
the threat (`category`), its own id for the alert and its own time of the change. A lane never
touches the zone's own level (threats and operators), as a drill never does; the engine emits
a decision, marked with the source, whenever a lane's level changes.

An operator can act on a relayed alert too: an `override` clear silences the lane for its zones
here (the source still says alert; the lane waits, overruled, until the source clears it),
and an `override` alert follows the source again. The health of each source (`source` events:
live, stale, failed...) is kept beside the lanes: a stale source's lanes keep what it last
said, since silence is never safety. A source that is no longer followed (`stopped`) clears its
lanes: nobody would ever clear them otherwise.

Pure and deterministic like the rest of the engine: no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

CLEAR = 0


@dataclass(frozen=True)
class Lane:
    """What one source says of one zone."""

    level: int  # 1 pre_alert, 2 alert (a lane at clear is not kept)
    category: str | None
    alert_id: str | None
    since: str | None  # the source's own time of the change (RFC 3339), if it gives one
    overruled_by: str | None = None  # an operator cleared it here, until the source clears it

    @property
    def effective(self) -> int:
        return CLEAR if self.overruled_by is not None else self.level


@dataclass(frozen=True)
class Change:
    """A lane's level changed: the decision the engine emits for it."""

    zone: int
    level: int
    category: str | None
    alert_id: str | None
    since: str | None
    by: str | None  # the operator behind an override, or why a stopped source cleared


@dataclass(frozen=True)
class SourceStatus:
    """A source's health as last logged."""

    state: str
    since_ms: int
    why: str | None = None
    url: str | None = None


class RelayLanes:
    """Every source's lanes and health; `apply` returns the lane changes in zone order."""

    def __init__(self) -> None:
        self._lanes: dict[int, dict[str, Lane]] = {}  # zone -> source -> lane
        self._states: dict[str, SourceStatus] = {}

    @property
    def any(self) -> bool:
        """Whether any zone has a relayed lane (else no decision needs `in_force`)."""
        return bool(self._lanes)

    def apply(
        self,
        source: str,
        level: int,
        zones: list[int],
        *,
        category: str | None,
        alert_id: str | None,
        since: str | None,
        override: bool = False,
        by: str | None = None,
    ) -> list[Change]:
        if override:
            return self._override(source, level, zones, by or "operator")
        changes: list[Change] = []
        for zone in zones:
            lanes = self._lanes.get(zone)
            lane = None if lanes is None else lanes.get(source)
            if level == CLEAR:
                if lane is None or lanes is None:
                    continue
                del lanes[source]
                if not lanes:
                    del self._lanes[zone]
                if lane.overruled_by is None:
                    changes.append(
                        Change(zone, CLEAR, lane.category, alert_id or lane.alert_id, since, None)
                    )
                continue
            if lane is None:
                lane = Lane(level, category, alert_id, since)
                self._lanes.setdefault(zone, {})[source] = lane
                changes.append(Change(zone, level, category, alert_id, since, None))
                continue
            moved = (lane.level, lane.category) != (level, category)
            new = replace(
                lane,
                level=level,
                category=category,
                alert_id=alert_id,
                since=since if moved else lane.since,
            )
            self._lanes[zone][source] = new
            if moved and new.overruled_by is None:
                changes.append(Change(zone, level, category, alert_id, new.since, None))
        return changes

    def _override(self, source: str, level: int, zones: list[int], by: str) -> list[Change]:
        changes: list[Change] = []
        for zone in zones:
            lane = self._lanes.get(zone, {}).get(source)
            if lane is None:
                continue
            if level == CLEAR and lane.overruled_by is None:
                self._lanes[zone][source] = replace(lane, overruled_by=by)
                changes.append(Change(zone, CLEAR, lane.category, lane.alert_id, lane.since, by))
            elif level != CLEAR and lane.overruled_by is not None:
                self._lanes[zone][source] = replace(lane, overruled_by=None)
                changes.append(
                    Change(zone, lane.level, lane.category, lane.alert_id, lane.since, by)
                )
        return changes

    def set_state(
        self, source: str, state: str, t_ms: int, why: str | None, url: str | None
    ) -> list[Change]:
        """Record a source's health; a source no longer followed clears its lanes."""
        self._states[source] = SourceStatus(state, t_ms, why, url)
        if state != "stopped":
            return []
        zones = sorted(zone for zone, lanes in self._lanes.items() if source in lanes)
        out = []
        for change in self.apply(source, CLEAR, zones, category=None, alert_id=None, since=None):
            out.append(replace(change, by="no longer followed"))
        return out

    def level(self, zone: int, besides: str | None = None) -> int:
        """The highest level the zone's lanes hold, leaving out `besides`."""
        lanes = self._lanes.get(zone)
        if not lanes:
            return CLEAR
        return max(
            (lane.effective for name, lane in lanes.items() if name != besides), default=CLEAR
        )

    def lanes_of(self, source: str) -> dict[int, Lane]:
        """What `source` last said, per zone (overruled lanes included): what a follower
        compares the source's new state with."""
        return {zone: lanes[source] for zone, lanes in self._lanes.items() if source in lanes}

    def by_zone(self) -> dict[int, dict[str, Lane]]:
        """Every zone with a relayed lane: its lanes by source (a copy)."""
        return {zone: dict(lanes) for zone, lanes in sorted(self._lanes.items())}

    def states(self) -> dict[str, SourceStatus]:
        return dict(sorted(self._states.items()))
