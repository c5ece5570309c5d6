"""The engine: a pure, deterministic state machine from events to zone-level decisions.

`Engine.apply(event)` returns the decisions the event causes, in order. There is no clock, no
I/O and no randomness inside: time moves only with events (a live server feeds ticks), and
timed changes (the end of a hold, an alert falling due for an incoming missile, a track timing
out) happen when an event's time passes them, stamped with the time they fell due.

Zone lifecycle, per zone:
- a threat *holds* a zone at `alert` (or `pre_alert`) while the policy puts the zone in its
  danger (or warning) set; a rocket or ballistic missile holds an alerted zone while its
  impact region (grown by a margin) still covers it, and to its end if it does; a drone or
  cruise missile lets a zone go `corridor_release_s` after it can clearly no longer reach it
  in time;
- with no holder left, an alerted zone stays at `alert` for `hold_s` (the "stay in shelter"
  time) after a threat ended (impact, interception, loss: debris and a second look take that
  long), for `ballistic_release_s` after a rocket's or ballistic missile's impact region let
  it go (the prediction has ruled it out: see docs/engine.md), for `pass_hold_s` after a
  drone or cruise missile flew on and can no longer reach it (its danger has gone with it; if
  it turns back, its corridor alerts the zone again in time) or came down where it could
  have flown to the zone within that time, for `down_elsewhere_hold_s` (10 s) after one came
  down farther away (a policy's `ending` names the zones near where it came down, which keep
  `hold_s`); an
  intercepted rocket or ballistic missile keeps the zones under its falling parts at `alert`
  until they are down plus `debris_margin_s` (at most `hold_s`), the others it held for
  `ballistic_release_s`; a pre-alerted one at `pre_alert` for `pre_hold_s`: this is the
  hysteresis that keeps zones from flapping; then it steps down to what its remaining
  holders ask for, or `clear`;
- an operator's manual alert holds a zone until a manual clear; a manual clear drops every
  holder at once (the threats holding the zone then may not take it again) and wins;
- a drill or a test (a manual action, track or end whose `status` is `exercise` or `test`)
  runs in an engine of its own per status, with the same zones, settings and policy, on the
  same clock: it never changes a zone's real level, its decisions carry the status, and its
  threats, levels and holds are apart from the real ones; an operator's drill action acts
  there as a real one does here (a drill clear drops the drill's threats from its zones);
- a track its sensor lost (`end: lost`, or silent past its timeout: its kind's, or 2.5 times the
  longest gap between its reports, at most `resume_s`) is lost: its zones keep `hold_s`; a
  newer report within `resume_s` takes it up again (a sensor that reports seldom, a gap in
  cover), a later one starts a new track under the same id; a lost rocket or ballistic missile
  first flies on, on its last impact estimate, until it is surely down;
- a relayed feed (a `relay` event: alerts.in.ua, the Home Front Command, another agency's CAP,
  another airwarn) runs on a lane of its own per source (`relay.py`): the zone's own level is
  untouched, its decisions carry `source`, and any decision whose zone another lane holds
  higher says so in `in_force`, so that no clear on one lane reads as an all-clear.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from airwarn.contract import (
    Decision,
    End,
    Event,
    Manual,
    Relay,
    RelayedFrom,
    Source,
    Tick,
    Track,
    format_time,
    lane_status,
    to_ms,
)
from airwarn.engine.policy import Assessment, Policy, SmartPolicy, ThreatView
from airwarn.engine.relay import Change, RelayLanes
from airwarn.engine.threat_kinds import PROFILES, KindProfile
from airwarn.engine.tracks import BallisticTrack, CorridorTrack, Report
from airwarn.engine.zones import ZoneSet
from airwarn.errors import EventError

CLEAR, PRE_ALERT, ALERT = 0, 1, 2
LEVEL_NAMES = ("clear", "pre_alert", "alert")
MANUAL = "@manual"  # the holder an operator's alert puts on a zone


@dataclass(frozen=True)
class EngineConfig:
    """Tunable policy settings; everything else follows from the zones and the events."""

    hold_s: int = 600
    pass_hold_s: int = 60
    pre_hold_s: int = 60
    release_s: int = 30
    # A drone or cruise missile lets an alerted zone go this long after its corridor (every
    # place it can reach within the zone's shelter time plus the lead, grown by a margin:
    # `airwarn.engine.policy.KEEP_MARGIN`) last met it; the zone then stays at alert for
    # pass_hold_s. Safe at any value: if the threat turns back, its corridor takes the zone
    # again a full shelter time plus the lead before it can arrive. None: release_s (30 s).
    # Shorter trades flaps for area: 10 s saves 2-5 % of a drone's or cruise missile's
    # alerted area x time and doubles the flaps of drones (BENCHMARKS.md, "Corridors").
    corridor_release_s: int | None = None
    # A drone or cruise missile that came down (impact) or was brought down (interception)
    # keeps the zones within its debris radius of its last fix for hold_s, and those it could
    # have flown to within pass_hold_s (had its end been wrong: a kill claimed that missed)
    # for pass_hold_s; the others it held stay at alert this long: the threat that could reach
    # them is down elsewhere. 10 s, not 0, so that no alert blinks on and off as a threat
    # ends (BENCHMARKS.md, "Cleared when it is down").
    down_elsewhere_hold_s: int = 10
    # how long a zone stays at alert once a rocket's or ballistic missile's impact region (with
    # the policy's margin) no longer covers it, while the threat still flies (docs/engine.md)
    ballistic_release_s: int = 30
    # An intercepted rocket or ballistic missile keeps the zones under the footprint of its
    # parts at alert until the last of them is down (their flown fall) plus this margin, never
    # longer than hold_s; the zones it holds outside the footprint get ballistic_release_s
    # (docs/engine.md, "Interception debris").
    debris_margin_s: int = 60
    reorder_window_s: int = 30
    # A track silent past its kind's timeout is lost: its zones keep the full hold. A report
    # within resume_s of its last one takes it up again, filter and all (a sensor that reports
    # once a minute, or a threat flying through a gap in coverage); a later one starts a new
    # track under the same id. The timeout itself grows with the longest gap the track's
    # reports have shown (`GAP_TIMEOUTS` of it), so a steady sparse sensor is not lost at all.
    resume_s: int = 600
    # How many ids of threats that ended, and of lost ones forgotten, the engine remembers
    # (the oldest go first): a report for a remembered ended threat changes nothing, one for a
    # forgotten id starts a new track. Bounds the memory a sensor that keeps starting and
    # ending threats can take (each end needs a report first, so a sensor's rate bounds it).
    remembered_ids: int = 100_000
    profiles: Mapping[str, KindProfile] = field(default_factory=lambda: dict(PROFILES))

    @property
    def corridor_release_after_s(self) -> int:
        """How long after a zone left a corridor kind's reach it is let go (`release_s` unless
        `corridor_release_s` is set)."""
        return self.release_s if self.corridor_release_s is None else self.corridor_release_s


@dataclass
class _Zone:
    level: int = CLEAR
    alert_holders: set[str] = field(default_factory=set)
    pre_holders: set[str] = field(default_factory=set)
    alert_until_ms: int | None = None  # end of the hold once the last alert holder left
    pre_until_ms: int | None = None
    overruled: set[str] = field(default_factory=set)  # threats a manual clear took it from
    threats: list[str] = field(default_factory=list)  # who raised the current level
    kind: str | None = None
    manual_kind: str | None = None


# A track is lost when silent for its kind's timeout or this many times the longest gap between
# its reports so far, whichever is longer (a report every 60 s keeps a ballistic missile, whose
# timeout is 60 s, from being lost between every two of them).
GAP_TIMEOUTS = 2.5
# A rocket or ballistic missile whose track is lost (silent past its timeout, or an `end` that
# says `lost`) still flies where physics takes it: it keeps its last impact estimate, and the
# zones that estimate covers still fall due, until its impact time, the estimate's spread of it
# and this margin have passed; then it is over as a lost track (every zone it holds keeps the
# full hold). A sensor's cover ends, not the threat.
COAST_MARGIN_S = 10
# A report that names a threat anew re-filters its reports as the new kind (`_reclassify`):
# some 8 ms for a rocket or ballistic missile, 20 times a report's work. A threat renamed
# RENAMES_PER_WINDOW times within RENAME_WINDOW_MS keeps its kind until the oldest of them is
# that old (its reports are filtered as that kind meanwhile): a sensor that flips a track's
# kind on every report pays for two renames in 10 s, not one a report, and a name taken by
# mistake and taken back at once (ballistic, drone, ballistic) is still taken back at once.
RENAMES_PER_WINDOW = 2
RENAME_WINDOW_MS = 10_000


class _Stamp:
    """When a threat last gave a pre-alert list: the zones of one list share one stamp
    (`_Threat.pre_seen_ms`), so a list given again as it was (a corridor's warning ring mostly
    is: it is worked out once a minute) moves all their times with one assignment."""

    __slots__ = ("ms",)

    def __init__(self, ms: int) -> None:
        self.ms = ms


def _source(threat_id: str) -> str:
    """Whose threat it is: its id up to and with the first `/` (the sensors' lane writes
    `<sensor>/<threat>`), or "" for an id without one."""
    cut = threat_id.find("/")
    return threat_id[: cut + 1] if cut >= 0 else ""


@dataclass
class _Threat:
    view: ThreatView
    last_report_ms: int = 0
    longest_gap_ms: int = 0  # between two of its reports in time order
    timeout_due_ms: int = 0  # its one live timeout timer
    coasting: bool = False  # its sensor said `lost`: it flies on its last impact estimate
    alert_seen_ms: dict[int, int] = field(default_factory=dict)  # zone -> last time in danger
    # zone -> when it was last pre-alerted (its list's stamp)
    pre_seen_ms: dict[int, _Stamp] = field(default_factory=dict)
    # The pre-alert list last given (as the policy gave it, and as taken: less the zones held
    # at alert, `pre_both`), its stamp and its number of zones. A list given again as it was is
    # taken by moving the stamp alone, so whatever removes a zone from pre_seen_ms outside
    # _assess (a manual clear, a resumed track) must set pre_raw to None: the next list is
    # then taken anew.
    pre_raw: list[int] | None = None
    pre_given: list[int] = field(default_factory=list)
    pre_both: frozenset[int] = frozenset()
    pre_stamp: _Stamp = field(default_factory=lambda: _Stamp(0))
    pre_count: int = 0
    released: set[int] = field(default_factory=set)  # zones it let go while it flew
    renamed_ms: list[int] = field(default_factory=list)  # its renames in the last window
    version: int = 0  # bumps on every assessment, so a stale recheck timer is ignored
    last_report: Report | None = None  # the newest report, for display
    assessment: Assessment | None = None  # the newest assessment, for display


@dataclass(frozen=True)
class ThreatState:
    """What operators see of a threat in flight: where it was last seen and what it endangers."""

    id: str
    kind: str
    last_report: Report | None
    region_m: Any  # the impact region or corridor in the zone set's local metres, or None
    alert_zones: int
    pre_alert_zones: int


@dataclass
class EngineStats:
    events: int = 0
    reports: int = 0
    duplicates: int = 0
    reordered: int = 0
    stale: int = 0
    after_end: int = 0
    lost: int = 0  # tracks that timed out (silent past their timeout)
    resumed: int = 0  # lost tracks a later report took up again
    reclassified: int = 0  # threats a report named another kind
    decisions: int = 0
    released: int = 0  # zones a ballistic threat's impact region let go while it flew
    flaps: int = 0  # zones one threat put at alert again after they had left alert


class Engine:
    """Zones, threats and their lifecycles; `apply` events, collect decisions."""

    def __init__(
        self, zones: ZoneSet, config: EngineConfig | None = None, policy: Policy | None = None
    ) -> None:
        self.zones = zones
        self.config = config or EngineConfig()
        self.policy: Policy = policy or SmartPolicy(zones)
        self.clock_ms: int | None = None
        self.seq = 0
        self.stats = EngineStats()
        self._zones = [_Zone() for _ in range(len(zones))]
        self._threats: dict[str, _Threat] = {}
        # ids of threats that ended (in the order they did, at most `remembered_ids`)
        self._ended: dict[str, None] = {}
        # tracks lost by silence, until resume_s after their last report: a report takes one up
        # again; then forgotten (`_lost`, as `_ended`), and a report starts a new track
        self._dormant: dict[str, _Threat] = {}
        self._lost: dict[str, None] = {}
        # threats held in memory (in flight, or lost and still resumable) per source: the part
        # of the id up to its first `/` (a sensor's name, as the sensors' lane scopes ids)
        self._held: dict[str, int] = {}
        self._overruled = False  # has any manual clear overruled a threat yet?
        self._timers: list[tuple[int, int, str, Any, int]] = []
        self._timer_count = 0
        self._out: list[Decision] = []
        # why the last event applied changed nothing, when it was taken but ignored
        self.ignored: str | None = None
        # a drill's or test's simulated threats and operators' actions: an engine per status,
        # made when first needed
        self._lanes: dict[str, Engine] = {}
        self._parent: Engine | None = None  # the engine whose drill lane this one is
        self._status = "actual"
        # (zone, status) -> (kind, level) of each drill lane that is not clear
        self._drill_shown: dict[tuple[int, str], tuple[str | None, int]] = {}
        self.relays = RelayLanes()  # relayed feeds, a lane per source

    # -- public ---------------------------------------------------------------------------

    def apply(self, event: Event) -> list[Decision]:
        """Apply one event; return the decisions it causes (timed ones first), in order.

        An event taken but of no use (a duplicate report, a report or an end after its threat
        ended, a report older than the reorder window) leaves why in `ignored`."""
        self._out = []
        self.ignored = None
        # Validate against the zone set first: a rejected event must change nothing.
        targets = (
            self._manual_targets(event)
            if isinstance(event, Manual)
            else (self._relay_targets(event) if isinstance(event, Relay) else [])
        )
        self.stats.events += 1
        t_ms = to_ms(event.t)
        if self.clock_ms is None or t_ms > self.clock_ms:
            self._advance(t_ms)
        elif isinstance(event, Tick):
            self.ignored = "the clock is past this time already"
        now = self.clock_ms
        assert now is not None
        if isinstance(event, Track | End) and event.status is not msgspec.UNSET:
            status = lane_status(event)
            if status != "actual":
                self._on_drill_lane(self._lane(status), event, t_ms, now)
                return self._out
        if isinstance(event, Track):
            self._on_track(event, t_ms, now)
        elif isinstance(event, End):
            self._on_end(event.threat, now, event.reason, end_ms=t_ms)
        elif isinstance(event, Manual):
            self._on_manual(event, targets, now)
        elif isinstance(event, Relay):
            self._on_relay(event, targets, now)
        elif isinstance(event, Source):
            self._emit_relayed(
                event.name,
                self.relays.set_state(event.name, event.state, now, event.why, event.url),
                now,
            )
        elif not isinstance(event, Tick):  # pragma: no cover - the contract has no other type
            raise EventError(f"unknown event {event!r}")
        return self._out

    def flush(self) -> list[Decision]:
        """Run every pending timed change (timeouts, holds): the end of the input."""
        self._out = []
        while True:
            due = self._next_due()
            if due is None:
                return self._out
            self._advance(due)

    def level_of(self, zone_id: str) -> str:
        return LEVEL_NAMES[self._zones[self.zones.index_of[zone_id]].level]

    def levels(self) -> dict[str, str]:
        """Every zone that is not clear, by id."""
        return {
            self.zones.ids[i]: LEVEL_NAMES[z.level] for i, z in enumerate(self._zones) if z.level
        }

    def drills(self) -> dict[str, tuple[str, str, str]]:
        """Every zone under a drill or test, by id: (status, kind, level); a zone under both
        shows the higher, the drill on a tie (`drill_levels` has each)."""
        shown: dict[int, tuple[str, str | None, int]] = {}
        for (i, status), (kind, level) in sorted(self._drill_shown.items()):
            if i not in shown or level > shown[i][2]:
                shown[i] = (status, kind, level)
        return {
            self.zones.ids[i]: (status, kind or "manual", LEVEL_NAMES[level])
            for i, (status, kind, level) in sorted(shown.items())
        }

    def drill_levels(self) -> dict[tuple[str, str], str]:
        """The level of each drill and test lane that is not clear, by (zone id, status)."""
        return {
            (self.zones.ids[i], status): LEVEL_NAMES[level]
            for (i, status), (_, level) in self._drill_shown.items()
        }

    def relayed(self) -> dict[str, dict[str, str]]:
        """Every zone with a relayed lane, by id: each source's level there (`clear` for a
        lane an operator overrode)."""
        return {
            self.zones.ids[i]: {
                name: LEVEL_NAMES[lane.effective] for name, lane in sorted(lanes.items())
            }
            for i, lanes in self.relays.by_zone().items()
        }

    def holders(self, zone_id: str) -> set[str]:
        z = self._zones[self.zones.index_of[zone_id]]
        return set(z.alert_holders)

    def threat_state(self, threat_id: str, status: str = "actual") -> str | None:
        """`active` while a threat is in flight (a lost rocket or ballistic missile flying on
        its last estimate included), `ended` after its end, `lost` once its sensor lost it
        (`end: lost`, or silent past its timeout: a newer report within resume_s takes it up
        again, a later one starts a new track), None if never reported; of the real threats,
        or of a drill's or test's (`status`)."""
        if status != "actual":
            lane = self._lanes.get(status)
            return None if lane is None else lane.threat_state(threat_id)
        if threat_id in self._threats:
            return "active"
        if threat_id in self._ended:
            return "ended"
        return "lost" if threat_id in self._dormant or threat_id in self._lost else None

    def holds(self, threat_id: str, status: str = "actual") -> bool:
        """Is the threat in memory: in flight, or lost and still resumable? Of the real
        threats, or of a drill's or test's (`status`)."""
        if status != "actual":
            lane = self._lanes.get(status)
            return lane is not None and lane.holds(threat_id)
        return threat_id in self._threats or threat_id in self._dormant

    def threats_held(self, source: str) -> int:
        """How many threats of a source (ids that start with `source`, a name and a `/`) the
        engine holds in memory, real, drills' and tests' together: what one sensor's tracks
        cost it (`airwarn.lanes`)."""
        return self._held.get(source, 0) + sum(
            lane._held.get(source, 0) for lane in self._lanes.values()
        )

    def _remember(self, ids: dict[str, None], threat_id: str) -> None:
        ids[threat_id] = None
        if len(ids) > self.config.remembered_ids:
            del ids[next(iter(ids))]

    def _count(self, threat_id: str, step: int) -> None:
        source = _source(threat_id)
        held = self._held.get(source, 0) + step
        if held:
            self._held[source] = held
        else:
            del self._held[source]

    @property
    def active_threats(self) -> list[str]:
        return sorted(self._threats)

    def threats(self) -> list[ThreatState]:
        """Every threat in flight, by id."""
        out = []
        for threat_id in sorted(self._threats):
            threat = self._threats[threat_id]
            found = threat.assessment
            out.append(
                ThreatState(
                    threat_id,
                    threat.view.kind,
                    threat.last_report,
                    None if found is None else found.region_m,
                    len(threat.alert_seen_ms),
                    len(threat.pre_seen_ms),
                )
            )
        return out

    # -- time -----------------------------------------------------------------------------

    def _advance(self, t_ms: int) -> None:
        """Run the timed changes due by `t_ms`, in time order, the drill lanes' with the
        engine's own (its own first at the same time), then move the clock to `t_ms`."""
        lanes = self._lanes
        while lanes:
            lane = min(
                (x for x in lanes.values() if x._timers and x._timers[0][0] <= t_ms),
                key=lambda x: x._timers[0][0],
                default=None,
            )
            if lane is None:
                break
            due = lane._timers[0][0]
            self._advance_own(due)
            lane._advance_own(due)
        self._advance_own(t_ms)
        for lane in lanes.values():
            lane.clock_ms = self.clock_ms

    def _advance_own(self, t_ms: int) -> None:
        while self._timers and self._timers[0][0] <= t_ms:
            due, _, what, key, version = heapq.heappop(self._timers)
            self.clock_ms = due if self.clock_ms is None else max(self.clock_ms, due)
            self._fire(what, key, version, due)
        self.clock_ms = t_ms if self.clock_ms is None else max(self.clock_ms, t_ms)

    def _next_due(self) -> int | None:
        """When the next timed change falls due, the drill lanes' included; None: none."""
        dues = [x._timers[0][0] for x in (self, *self._lanes.values()) if x._timers]
        return min(dues) if dues else None

    def _schedule(self, due_ms: int, what: str, key: Any, version: int = 0) -> None:
        self._timer_count += 1
        heapq.heappush(self._timers, (due_ms, self._timer_count, what, key, version))

    def _fire(self, what: str, key: Any, version: int, due: int) -> None:
        if what == "zone":
            self._refresh(key, due)
        elif what == "timeout":
            threat = self._threats.get(key)
            if threat is not None:
                self._time_out(threat, due)
        elif what == "forget":
            threat = self._dormant.get(key)
            if threat and threat.last_report_ms + 1000 * self.config.resume_s <= due:
                del self._dormant[key]
                self._count(key, -1)
                self._remember(self._lost, key)
        elif what == "assess":
            threat = self._threats.get(key)
            if threat and threat.version == version:
                self._assess(threat, due)

    # -- events ---------------------------------------------------------------------------

    def _on_track(self, event: Track, t_ms: int, now: int) -> None:
        self.stats.reports += 1
        if event.threat in self._ended:
            self.stats.after_end += 1
            self.ignored = (
                f"threat {event.threat} ended already; a report after its end changes nothing"
            )
            return
        if now - t_ms > 1000 * self.config.reorder_window_s:
            self.stats.stale += 1
            self.ignored = (
                f"older than the reorder window ({self.config.reorder_window_s} "
                "s) behind the newest event; too late to use"
            )
            return
        threat = self._threats.get(event.threat)
        resumed = False
        if threat is None:
            lost = self._dormant.get(event.threat)
            if lost is not None and t_ms <= lost.last_report_ms:
                self.stats.after_end += 1
                self.ignored = (
                    f"threat {event.threat} was lost; a report no newer than its last one does "
                    "not take it up again"
                )
                return
            if lost is not None:
                del self._dormant[event.threat]
                threat, resumed = lost, True
                self._resume(threat)
            else:
                self._lost.pop(event.threat, None)
                threat = self._new_threat(event.threat, event.kind)
        newest = t_ms > threat.last_report_ms
        if newest and event.kind != threat.view.kind and event.kind != "unknown":
            recent = [t for t in threat.renamed_ms if t_ms - t < RENAME_WINDOW_MS]
            if len(recent) < RENAMES_PER_WINDOW:  # else it keeps its kind a while
                threat.renamed_ms = [*recent, t_ms]
                self._reclassify(threat, event.kind)  # the newest report names it
        if newest and threat.coasting:
            threat.coasting = False  # its sensor has it again
        profile = threat.view.profile
        vel = (
            None
            if event.vel_mps is None
            else (event.vel_mps[0], event.vel_mps[1], event.vel_mps[2])
        )
        report = Report(
            t_ms, event.lat, event.lon, event.alt_m, event.sigma_m or profile.default_sigma_m, vel
        )
        outcome = threat.view.track.add(report)
        if outcome == "duplicate":
            self.stats.duplicates += 1
            self.ignored = f"a duplicate: threat {event.threat} has a report at this time already"
            return
        if outcome == "insert":
            self.stats.reordered += 1
        if newest:
            if threat.last_report_ms and not resumed:  # a gap across its loss is no cadence
                threat.longest_gap_ms = max(threat.longest_gap_ms, t_ms - threat.last_report_ms)
            threat.last_report_ms = t_ms
            threat.last_report = report
            self._time_out_at(threat, t_ms + self._timeout_ms(threat))
        self._assess(threat, now)

    def _time_out_at(self, threat: _Threat, due_ms: int) -> None:
        """Set the threat's one timeout timer (older ones are then ignored)."""
        threat.timeout_due_ms = due_ms
        self._schedule(due_ms, "timeout", threat.view.id)

    def _timeout_ms(self, threat: _Threat) -> int:
        """How long a track may stay silent before it is lost: its kind's timeout, or longer
        if its own reports have come further apart than that allows, up to resume_s."""
        kind_ms = 1000 * threat.view.profile.timeout_s
        gaps_ms = min(math.ceil(GAP_TIMEOUTS * threat.longest_gap_ms), 1000 * self.config.resume_s)
        return max(kind_ms, gaps_ms)

    def _coast_until_ms(self, threat: _Threat) -> int | None:
        """When a lost rocket or ballistic missile is surely down, by its last impact estimate
        (None: not a ballistic kind, or no estimate)."""
        estimate = threat.view.prediction
        if threat.view.profile.model != "ballistic" or estimate is None:
            return None
        spread_ms = max(estimate.t_ms - estimate.t_earliest_ms, 0)
        return estimate.t_ms + spread_ms + 1000 * COAST_MARGIN_S

    def _time_out(self, threat: _Threat, due: int) -> None:
        """Its timeout timer fell due: over, if silent too long and not still flying on its
        impact estimate; else the timer is set again."""
        if due != threat.timeout_due_ms:
            return  # a later report or a landing set another
        if not threat.coasting:  # (a coasting one's timer is that of its landing)
            silent_until = threat.last_report_ms + self._timeout_ms(threat)
            if silent_until > due:  # a new kind with a longer timeout
                self._time_out_at(threat, silent_until)
                return
        landed = self._coast_until_ms(threat)
        if landed is not None and landed > due:
            self._time_out_at(threat, landed)  # lost, but still in the air
            return
        self._on_end(threat.view.id, due, "lost", landed=True)

    def _resume(self, threat: _Threat) -> None:
        """Take up a track lost by silence: it holds nothing now (its zones were left with the
        full hold when it was lost), and its filter goes on from where it was."""
        self._threats[threat.view.id] = threat
        self.stats.resumed += 1
        threat.alert_seen_ms.clear()  # the view's `held` is the same dict
        threat.pre_seen_ms.clear()
        threat.pre_raw = None
        threat.released.clear()
        threat.view.forget_geometry()

    def _track_for(self, profile: KindProfile) -> BallisticTrack | CorridorTrack:
        if profile.model == "ballistic":
            return BallisticTrack(profile)
        return CorridorTrack(profile, self.zones.projection)

    def _reclassify(self, threat: _Threat, kind: str) -> None:
        """A sensor named the threat anew (an `unknown` track found to be a ballistic missile,
        a drone that is a cruise missile): its reports so far are filtered again by the
        estimator of the new kind, and it is predicted as that kind from now on. The zones it
        holds stay held until the new kind's rules let them go. A report that calls a known
        kind `unknown` changes nothing."""
        profile = self.config.profiles[kind]
        track = self._track_for(profile)
        for report in threat.view.track.window.reports:
            track.add(report)
        view = threat.view
        view.kind, view.profile, view.track = kind, profile, track
        view.prediction, view.predicted_count = None, -1
        view.forget_geometry()
        self.stats.reclassified += 1

    def _new_threat(self, threat_id: str, kind: str) -> _Threat:
        profile = self.config.profiles[kind]
        track = self._track_for(profile)
        threat = _Threat(ThreatView(threat_id, kind, profile, track))
        threat.view.held = threat.alert_seen_ms  # the policy may skip exact tests for these
        threat.view.released = threat.released  # and take these back by its release margin
        self._threats[threat_id] = threat
        self._count(threat_id, 1)
        return threat

    def _on_end(
        self,
        threat_id: str,
        now: int,
        reason: str = "lost",
        landed: bool = False,
        end_ms: int | None = None,
    ) -> None:
        """A threat is over: by an `end` event, or (from its timeout timer, `landed`) silent
        past its timeout or flown down on its last estimate. A `lost` one (told, or silent) is
        taken up again by a newer report within resume_s; a rocket or ballistic missile its
        sensor lost first flies on, on its last impact estimate, until it has landed."""
        threat = self._threats.pop(threat_id, None)
        if threat is None:
            if threat_id in self._dormant or threat_id in self._lost:
                if reason == "lost":
                    self.ignored = f"threat {threat_id} was lost already"
                    return
                # its zones have the full hold a lost track leaves: over now
                if self._dormant.pop(threat_id, None) is not None:
                    self._count(threat_id, -1)
                self._lost.pop(threat_id, None)
                self.ignored = f"threat {threat_id} was lost already; now it is over"
            elif threat_id in self._ended:
                self.ignored = f"threat {threat_id} ended already"
            self._remember(self._ended, threat_id)
            return
        if reason == "lost":
            down_ms = self._coast_until_ms(threat)
            if not landed and (threat.coasting or (down_ms is not None and down_ms > now)):
                self._threats[threat_id] = threat  # lost by its sensor, not down
                if threat.coasting:
                    self.ignored = f"threat {threat_id} was lost already; it flies on its estimate"
                    return
                assert down_ms is not None
                threat.coasting = True
                self.stats.lost += 1
                self._time_out_at(threat, down_ms)
                return
            if not threat.coasting:
                self.stats.lost += 1
            threat.coasting = False
            self._dormant[threat_id] = threat
            resume_ms = threat.last_report_ms + 1000 * self.config.resume_s
            self._schedule(max(now, resume_ms), "forget", threat_id)
        else:
            self._count(threat_id, -1)
            self._remember(self._ended, threat_id)
        # A policy may say which of its zones stay in danger after an impact or interception,
        # and for how long (SmartPolicy: those near the last fix of a drone or cruise missile,
        # those under an intercepted rocket's or ballistic missile's falling parts until they
        # are down); the others are out of danger: a drone's or cruise missile's keep the pass
        # hold where it could have reached them within it had its end been wrong (`near`) and
        # down_elsewhere_hold_s beyond; a rocket's or ballistic missile's, ballistic_release_s.
        # A lost track, and a policy that does not say, hold them all.
        ending = getattr(self.policy, "ending", None)
        config = self.config
        ballistic = threat.view.profile.model == "ballistic"
        found = (
            None
            if ending is None or reason == "lost"
            else ending(threat.view, now, reason, end_ms=end_ms, flying_on_s=config.pass_hold_s)
        )
        passed_s = config.ballistic_release_s if ballistic else config.down_elsewhere_hold_s
        near_s = max(config.pass_hold_s, passed_s)
        for zone in sorted(threat.alert_seen_ms):
            if found is None:
                self._release(zone, threat_id, ALERT, now)
            elif zone not in found.danger_s:  # the threat is down elsewhere: out of danger,
                # unless its end was wrong and it flies on (near)
                self._release(
                    zone, threat_id, ALERT, now, near_s if zone in found.near else passed_s
                )
            else:  # in danger until the last part that can land on it is down, or the full hold
                danger_s = found.danger_s[zone]
                self._release(
                    zone,
                    threat_id,
                    ALERT,
                    now,
                    None
                    if danger_s is None
                    else min(config.hold_s, math.ceil(danger_s) + config.debris_margin_s),
                )
        for zone in sorted(threat.pre_seen_ms):
            self._release(zone, threat_id, PRE_ALERT, now)

    def _manual_targets(self, event: Manual) -> list[int]:
        if event.region is not None:
            if event.region not in self.zones.regions:
                raise EventError(
                    self.zones.unknown_region(event.region), field="$.region", value=event.region
                )
            targets = list(self.zones.regions[event.region])
        else:
            unknown = [z for z in event.zones or [] if z not in self.zones.index_of]
            if unknown:
                raise EventError(
                    self.zones.unknown_id(unknown[0]), field="$.zones", value=unknown[0]
                )
            targets = sorted({self.zones.index_of[z] for z in event.zones or []})
        return targets

    def _on_manual(self, event: Manual, targets: list[int], now: int) -> None:
        if event.status != "actual":
            self._on_drill(event, targets, now)
            return
        for index in targets:
            z = self._zones[index]
            if event.action == "alert":
                z.manual_kind = event.category or "manual"
                z.alert_holders.add(MANUAL)
            elif event.action == "pre_alert":  # "alerts are expected in the coming minutes"
                z.manual_kind = event.category or "manual"
                z.pre_holders.add(MANUAL)
                z.pre_until_ms = None
            else:
                z.overruled |= z.alert_holders | z.pre_holders
                z.overruled.discard(MANUAL)
                self._overruled = self._overruled or bool(z.overruled)
                z.alert_holders.clear()
                z.pre_holders.clear()
                z.alert_until_ms = z.pre_until_ms = None
                for threat in self._threats.values():
                    threat.alert_seen_ms.pop(index, None)
                    if threat.pre_seen_ms.pop(index, None) is not None:
                        threat.pre_raw = None
            self._refresh(index, now)

    def _relay_targets(self, event: Relay) -> list[int]:
        unknown = [z for z in event.zones if z not in self.zones.index_of]
        if unknown:
            raise EventError(self.zones.unknown_id(unknown[0]), field="$.zones", value=unknown[0])
        return sorted({self.zones.index_of[z] for z in event.zones})

    def _on_relay(self, event: Relay, targets: list[int], now: int) -> None:
        level = {"alert": ALERT, "pre_alert": PRE_ALERT}.get(event.action, CLEAR)
        since = None if event.since is None else format_time(to_ms(event.since))
        self._emit_relayed(
            event.source,
            self.relays.apply(
                event.source,
                level,
                targets,
                category=event.category,
                alert_id=event.id,
                since=since,
                override=event.override,
                by=event.by,
            ),
            now,
        )

    def _emit_relayed(self, source: str, changes: list[Change], now: int) -> None:
        for change in changes:
            self._emit(
                change.zone,
                change.level,
                [],
                change.category,
                now,
                source=RelayedFrom(name=source, id=change.alert_id, t=change.since, by=change.by),
            )

    def _on_drill(self, event: Manual, targets: list[int], now: int) -> None:
        """An operator's drill or test action, applied in the lane's engine as a real one is in
        this engine: an alert holds its zones until a clear, and a clear drops every holder of
        them at once, the drill's threats included, which may not take them again (so an
        operator ends a drill early, zone by zone or region by region)."""
        as_real = msgspec.structs.replace(event, status="actual")
        self._lane(event.status)._on_manual(as_real, targets, now)

    def _lane(self, status: str) -> Engine:
        """The engine of a drill's or test's simulated threats: the same zones, settings and
        policy (which keeps no state of its own between threats), on this engine's clock."""
        lane = self._lanes.get(status)
        if lane is None:
            lane = Engine(self.zones, self.config, self.policy)
            lane._parent, lane._status = self, status
            lane.clock_ms = self.clock_ms
            lane.stats = self.stats  # one count of reports, duplicates, lost tracks
            self._lanes[status] = lane
        return lane

    def _on_drill_lane(self, lane: Engine, event: Track | End, t_ms: int, now: int) -> None:
        """A simulated threat's report or end, applied in its lane's engine."""
        lane.ignored = None
        if isinstance(event, Track):
            lane._on_track(event, t_ms, now)
        else:
            lane._on_end(event.threat, now, event.reason, end_ms=t_ms)
        self.ignored = lane.ignored

    def _show_drill(self, index: int, status: str, now: int) -> None:
        """A decision of the drill lane of `status` at a zone: what its engine holds the zone
        at now (kept in `_drill_shown` while it is not clear)."""
        z = self._lanes[status]._zones[index]
        if z.level == CLEAR:
            self._drill_shown.pop((index, status), None)
        else:
            self._drill_shown[(index, status)] = (z.kind, z.level)
        self._emit(index, z.level, z.threats, z.kind, now, status)

    # -- assessment -----------------------------------------------------------------------

    def _assess(self, threat: _Threat, now: int) -> None:
        threat.version += 1
        view = threat.view
        found = self.policy.assess(view, now)
        if found.unchanged:  # as it was: only the next look moves
            if found.recheck_ms is not None and found.recheck_ms > now:
                self._schedule(found.recheck_ms, "assess", view.id, threat.version)
            return
        threat.assessment = found
        threat_id = view.id
        alert = found.alert.tolist()
        pre = found.pre_alert.tolist()
        if self._overruled:
            alert = [i for i in alert if threat_id not in self._zones[i].overruled]
            pre = [i for i in pre if threat_id not in self._zones[i].overruled]
        if threat.released and found.covered is not None:
            # A zone let go and still at alert (its release hold) is taken back as soon as the
            # region with the release margin covers it again (the test that let it go), due or
            # not: a zone never leaves alert while covered, nor flaps on an estimate's jitter.
            back = [
                i
                for i in found.covered.tolist()
                if i in threat.released
                and i not in threat.alert_seen_ms
                and self._zones[i].level == ALERT
                and threat_id not in self._zones[i].overruled
            ]
            if back:
                alert = sorted(set(alert).union(back))
        # the zones a threat holds are the keys of its *_seen_ms: only new ones need work
        held = threat.alert_seen_ms
        taken = [i for i in alert if i not in held]
        held.update(dict.fromkeys(alert, now))
        for index in taken:
            z = self._zones[index]
            if index in threat.released and z.level != ALERT:
                self.stats.flaps += 1
            z.alert_holders.add(threat_id)
            self._refresh(index, now)
        if found.let_go is not None:
            # A rocket or ballistic missile whose impact region no longer covers a zone lets it
            # go; the zone stays at alert ballistic_release_s more, and is taken again at once
            # if a later region covers it.
            for index in found.let_go.tolist():
                if threat.alert_seen_ms.pop(index, None) is not None:
                    threat.released.add(index)
                    self.stats.released += 1
                    self._release(index, threat_id, ALERT, now, self.config.ballistic_release_s)
        release_ms = 1000 * self.config.release_s
        leaving: list[int] = []  # zones a drone or cruise missile lets go now
        if view.profile.model == "corridor":
            corridor_release_ms = 1000 * self.config.corridor_release_after_s
            leaving = [
                index
                for index, seen in threat.alert_seen_ms.items()
                if seen < now and now - seen >= corridor_release_ms  # not in danger now
            ]
        pre_held = threat.pre_seen_ms
        staying: set[int] = set()
        if threat.alert_seen_ms and pre:
            # A zone it holds at alert (and keeps) is not pre-alerted by it as well; taking it
            # would only end a pre-alert hold another threat left on it.
            staying = threat.alert_seen_ms.keys() - set(leaving)
        stamp = threat.pre_stamp
        both: list[int]
        if pre == threat.pre_raw:
            # the list it gave last time (a zone of which is in pre_seen_ms with its stamp,
            # or in pre_both): taken as it was unless it now holds others of it at alert
            both = [i for i in staying if i in threat.pre_both or pre_held.get(i) is stamp]
            again = threat.pre_both.issuperset(both) and len(both) == len(threat.pre_both)
        else:
            both = [i for i in pre if i in staying]
            again = False
        for index in both:
            if index not in pre_held:
                self._zones[index].pre_until_ms = None
        taken = []
        if again:
            stamp.ms = now
            pre = threat.pre_given
        else:
            raw = pre
            if both:
                pre = [i for i in pre if i not in staying]
            stamp = threat.pre_stamp = _Stamp(now)
            seen_now = dict.fromkeys(pre, stamp)
            # a corridor threat's list mostly differs from the last by a few zones
            taken = (
                [] if seen_now.keys() <= pre_held.keys() else [i for i in pre if i not in pre_held]
            )
            pre_held.update(seen_now)
            threat.pre_raw, threat.pre_given, threat.pre_both = raw, pre, frozenset(both)
            threat.pre_count = len(seen_now)
        for index in taken:
            z = self._zones[index]
            z.pre_holders.add(threat_id)
            z.pre_until_ms = None
            self._refresh(index, now)
        for index in leaving:
            del threat.alert_seen_ms[index]
            threat.released.add(index)  # taken again after it left alert: a flap
            self._release(index, threat_id, ALERT, now, self.config.pass_hold_s)
        # Let go what it no longer pre-alerts (each in the order it was taken): the zones not in
        # this list for release_s, and those it now holds at alert.
        if release_ms <= 0:
            expired = set(pre_held)
            threat.pre_raw = None
        elif len(pre_held) == threat.pre_count:
            # it holds exactly this list, which has no zone it holds at alert: nothing to let go
            expired = set()
        else:
            expired = {
                i
                for i, seen in pre_held.items()
                if seen is not stamp and now - seen.ms >= release_ms
            }
            expired.update(pre_held.keys() & threat.alert_seen_ms.keys())
        if expired:
            for index in [i for i in pre_held if i in expired]:
                del pre_held[index]
                self._release(index, threat_id, PRE_ALERT, now)
        if found.recheck_ms is not None and found.recheck_ms > now:
            self._schedule(found.recheck_ms, "assess", threat_id, threat.version)

    def _release(
        self, index: int, threat_id: str, level: int, now: int, hold_s: int | None = None
    ) -> None:
        z = self._zones[index]
        holders = z.alert_holders if level == ALERT else z.pre_holders
        if threat_id not in holders:
            return
        holders.discard(threat_id)
        # Each leaving threat leaves its own hold behind, even while others still hold the zone:
        # a rocket that came down keeps its zone alerted for hold_s, however soon a drone that
        # shared the zone flies on. The longest hold wins; it runs once the last holder left.
        if level == ALERT and z.level == ALERT:
            hold = self.config.hold_s if hold_s is None else hold_s
            until = now + 1000 * hold
            z.alert_until_ms = until if z.alert_until_ms is None else max(z.alert_until_ms, until)
        elif level == PRE_ALERT and z.level == PRE_ALERT:
            until = now + 1000 * self.config.pre_hold_s
            z.pre_until_ms = until if z.pre_until_ms is None else max(z.pre_until_ms, until)
        if holders:
            return
        if level == ALERT and z.alert_until_ms is not None:
            self._schedule(z.alert_until_ms, "zone", index)
        elif level == PRE_ALERT and z.pre_until_ms is not None:
            self._schedule(z.pre_until_ms, "zone", index)
        self._refresh(index, now)

    # -- levels ---------------------------------------------------------------------------

    def _target(self, z: _Zone, now: int) -> int:
        if z.alert_holders or (z.alert_until_ms is not None and now < z.alert_until_ms):
            return ALERT
        if z.pre_holders or (z.pre_until_ms is not None and now < z.pre_until_ms):
            return PRE_ALERT
        return CLEAR

    def _refresh(self, index: int, now: int) -> None:
        """Bring a zone to the level its holders and holds ask for; emit a decision on change."""
        z = self._zones[index]
        target = self._target(z, now)
        holders = z.alert_holders if target == ALERT else z.pre_holders
        threats = sorted(h for h in holders if h != MANUAL)
        if threats:
            z.threats = threats  # a hold or a clear speaks of the threats that raised it
            first = self._threats.get(threats[0])
            if first is not None:
                z.kind = first.view.kind
        elif target != CLEAR and MANUAL in holders:
            z.threats = []
            z.kind = z.manual_kind
        if target == z.level:
            return
        z.level = target
        if target == CLEAR:
            z.alert_until_ms = z.pre_until_ms = None
        self._emit(index, target, z.threats, z.kind, now)

    def _emit(
        self,
        index: int,
        level: int,
        threats: list[str],
        kind: str | None,
        now: int,
        status: str = "actual",
        source: RelayedFrom | None = None,
    ) -> None:
        if self._parent is not None:  # a drill lane's engine: its parent shows the lane
            self._parent._show_drill(index, self._status, now)
            return
        self.seq += 1
        self.stats.decisions += 1
        decision = Decision(
            seq=self.seq,
            t=format_time(now),
            zone=self.zones.ids[index],
            level=LEVEL_NAMES[level],  # type: ignore[arg-type]
            threats=list(threats),
            kind=kind,
        )
        if status != "actual":
            decision.status = status  # type: ignore[assignment]
        elif self.relays.any or source is not None:
            # another lane may hold the zone higher: a clear here is then no all-clear
            own = self._zones[index].level
            other = self.relays.level(index, besides=None if source is None else source.name)
            held = max(other, own) if source is not None else other
            if held > level:
                decision.in_force = LEVEL_NAMES[held]  # type: ignore[assignment]
        if source is not None:
            decision.source = source
        self._out.append(decision)


def run(
    zones: ZoneSet,
    events: Iterable[Event],
    config: EngineConfig | None = None,
    policy: Policy | None = None,
) -> Iterator[Decision]:
    """Replay events through a fresh engine and yield every decision, flushing at the end."""
    engine = Engine(zones, config, policy)
    for event in events:
        yield from engine.apply(event)
    yield from engine.flush()
