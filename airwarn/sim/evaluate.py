"""Scoring a run's decisions against the ground truth of a simulated raid.

These definitions are the contract with the benchmarks and with the reference policies that a
run is compared against; change them only together with BENCHMARKS.md.

Inputs: a zone set, the truth document (`truth.json`: per threat its `kind`, `first_report_t`,
and `impact` {lat, lon, t} or null) and the decisions (Contract v1, one per change of one zone's
level). All times are compared as integer milliseconds, so every comparison is exact.

- **Timeline.** A zone's level holds from a decision's `t` until that zone's next decision;
  zones never mentioned are clear. A zone still not clear after the last decision counts until
  the last decision's time (of any zone) and is reported in `open_zones`, which a run that
  flushes its pending changes leaves at 0. Decisions are taken in order of `t` (ties keep their
  given order, so the later of two decisions at one instant is the one in force).
- **Impacts.** A threat impacts when its truth `impact` is not null; its zone is the zone holding
  the impact point. Impacts outside every zone are counted (`outside`) but scored neither missed
  nor late.
- **Missed**: the impact zone's level in force at the impact time is not `alert` (a decision with
  `t` <= impact time is in force).
- **Alert start**: when the zone last went to `alert` (from `clear` or `pre_alert`) before the
  impact, i.e. the start of the alert in force at impact; a repeated `alert` decision does not
  restart it. **warning_s** = impact time - alert start.
- **Late**: warning_s < required_s, where required_s = max(0, min(shelter_s of the zone,
  visible_s - grace_s)) and visible_s = impact time - `first_report_t` (a threat seen 20 s
  before impact cannot be warned 90 s ahead). Without `first_report_t`, required_s = shelter_s.
  A missed impact is not also late. `late_share` = late / impacts in zones.
- **Warning statistics** (median, min, 10th percentile with linear interpolation) are over the
  impacts in zones that were not missed; None when there are none.
- **Area × time** (km²·h): the sum over zones of area_km2 × hours at a level: `alert_km2h` at
  `alert`, `pre_alert_km2h` at `pre_alert`.
- **Ideal**: for each impact zone, the union of [impact - shelter_s, impact + hold_s] over its
  impacts (two impacts in one zone do not count twice), times the zone's area.
- **Over-alert factor** = alert_km2h / ideal_km2h; None when the ideal is 0.
- **Per kind**: a stretch of alert or pre-alert is attributed to the `kind` of the decision that
  set it (the kind of the threat(s) that raised it); a decision without a kind counts under
  `manual`, any other kind under its own name. The ideal of a kind comes from that kind's
  impacts only, so per-kind ideals may add up to more than the total's, where overlapping
  intervals of different kinds in one zone count once.
- **Flaps**: a zone alerted, released and alerted again by the same threat. Each decision that
  puts a zone at `alert` from another level names the threats that raise it; a (zone, threat)
  pair met there for the first time is one **alerted zone**, met again it is one **flap**
  (the zone had left `alert` in between). `flaps_per_100` = 100 × flaps / alerted zones, per
  kind of the decision. A threat that joins a zone already at `alert` shows in no decision, so
  it is counted only if it raises the zone itself later.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import msgspec
import numpy as np
from rich.table import Table

from airwarn.contract import KINDS, LEVELS, Decision, parse_time
from airwarn.engine.zones import ZoneSet
from airwarn.errors import ContractError, ZoneError

TOTAL = "total"
MANUAL = "manual"
_MS_PER_HOUR = 3_600_000


@dataclass
class ThreatScore:
    """How one threat was warned. `zone` is None when it impacted outside every zone."""

    threat: str
    kind: str
    zone: str | None
    impact_ms: int
    alert_start_ms: int | None
    warning_s: float | None
    required_s: float | None  # None outside every zone: there is no shelter time to meet
    missed: bool
    late: bool


@dataclass
class KindScore:
    """The score of one kind of threat (or of all of them, under `total`)."""

    kind: str
    threats: int
    impacts: int
    in_zones: int
    outside: int
    missed: int
    late: int
    late_share: float | None
    warning_s_median: float | None
    warning_s_min: float | None
    warning_s_p10: float | None
    alert_km2h: float
    ideal_km2h: float
    over_alert: float | None
    pre_alert_km2h: float
    alerted_zones: int = 0  # (zone, threat) pairs put at alert
    flaps: int = 0  # a pair put at alert again after the zone had left alert
    flaps_per_100: float | None = None  # per 100 alerted zones


@dataclass
class Score:
    """A run's score: per kind, over all kinds, and per impacting threat."""

    per_kind: dict[str, KindScore]
    total: KindScore
    threats: list[ThreatScore]
    open_zones: int  # zones not clear after the last decision; 0 for a run that flushed


@dataclass
class _Change:
    """One decision as the scorer needs it."""

    t_ms: int
    zone: int
    level: str
    kind: str
    threats: tuple[str, ...] = ()


def _changes(
    zones: ZoneSet, decisions: Iterable[Decision | Mapping[str, Any]], status: str = "actual"
) -> list[_Change]:
    """The zone changes of one lane: the real decisions (`actual`), or a drill's or test's;
    a relayed feed's are never scored."""
    changes = []
    for number, decision in enumerate(decisions, start=1):
        if isinstance(decision, Decision):
            lane = "actual" if decision.status is msgspec.UNSET else decision.status
            if lane != status or decision.source is not msgspec.UNSET:
                continue
            t, zone_id, level, kind = decision.t, decision.zone, decision.level, decision.kind
            threats = tuple(decision.threats or ())
        else:
            if decision.get("status", "actual") != status or decision.get("source") is not None:
                continue
            try:
                t, zone_id, level = decision["t"], decision["zone"], decision["level"]
            except KeyError as exc:
                raise ContractError(
                    f"decision has no `{exc.args[0]}`", line=number, field=f"$.{exc.args[0]}"
                ) from None
            kind = decision.get("kind")
            threats = tuple(str(t) for t in decision.get("threats") or ())
        if level not in LEVELS:
            raise ContractError(
                "level must be one of clear, pre_alert, alert",
                line=number,
                field="$.level",
                value=level,
            )
        index = zones.index_of.get(zone_id)
        if index is None:
            raise ZoneError(
                "decision names a zone that is not in the zone set; score a run "
                "with the zone file it was made with",
                line=number,
                field="$.zone",
                value=zone_id,
            )
        changes.append(
            _Change(parse_time(t), index, level, MANUAL if kind is None else kind, threats)
        )
    changes.sort(key=lambda change: change.t_ms)  # stable: ties keep their given order
    return changes


class _Timeline:
    """Every zone's levels over time, and the area × time spent at each level per kind."""

    def __init__(self, zones: ZoneSet, changes: list[_Change]) -> None:
        n = len(zones)
        self.times: list[list[int]] = [[] for _ in range(n)]
        self.levels: list[list[str]] = [[] for _ in range(n)]
        self.alert_starts: list[list[int | None]] = [[] for _ in range(n)]
        # (kind, level) -> km2 * ms
        self.area_ms: dict[tuple[str, str], float] = {}
        self.kinds: set[str] = set()
        # kind -> [alerted (zone, threat) pairs, flaps]
        self.flaps: dict[str, list[int]] = {}
        alerted: set[tuple[int, str]] = set()
        end_ms = changes[-1].t_ms if changes else 0
        current: list[_Change | None] = [None] * n
        for change in changes:
            z = change.zone
            self._close(zones, current[z], change.t_ms)
            previous = self.levels[z][-1] if self.levels[z] else "clear"
            start = self.alert_starts[z][-1] if self.alert_starts[z] else None
            if change.level != "alert":
                start = None
            elif previous != "alert":
                start = change.t_ms
                counts = self.flaps.setdefault(change.kind, [0, 0])
                for threat in change.threats:
                    pair = (z, threat)
                    counts[1 if pair in alerted else 0] += 1
                    alerted.add(pair)
            self.times[z].append(change.t_ms)
            self.levels[z].append(change.level)
            self.alert_starts[z].append(start)
            current[z] = change
            if change.level != "clear":
                self.kinds.add(change.kind)
        self.open_zones = 0
        for last in current:
            if last is not None and last.level != "clear":
                self.open_zones += 1
                self._close(zones, last, end_ms)

    def _close(self, zones: ZoneSet, change: _Change | None, until_ms: int) -> None:
        if change is None or change.level == "clear":
            return
        key = (change.kind, change.level)
        self.area_ms[key] = self.area_ms.get(key, 0.0) + float(zones.area_km2[change.zone]) * (
            until_ms - change.t_ms
        )

    def at(self, zone: int, t_ms: int) -> tuple[str, int | None]:
        """The level in force in a zone at an instant, and when its alert began."""
        i = bisect.bisect_right(self.times[zone], t_ms) - 1
        if i < 0:
            return "clear", None
        return self.levels[zone][i], self.alert_starts[zone][i]

    def flap_counts(self, kind: str | None = None) -> tuple[int, int]:
        """(alerted zones, flaps) of a kind, or of all kinds."""
        rows = [v for k, v in self.flaps.items() if kind is None or k == kind]
        return sum(r[0] for r in rows), sum(r[1] for r in rows)

    def km2h(self, level: str, kind: str | None = None) -> float:
        total = sum(
            v for (k, lv), v in self.area_ms.items() if lv == level and (kind is None or k == kind)
        )
        return total / _MS_PER_HOUR


def _union_ms(intervals: list[tuple[int, int]]) -> int:
    total, reach = 0, None
    for start, end in sorted(intervals):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


def _ideal_km2h(zones: ZoneSet, threats: list[ThreatScore], hold_s: float) -> float:
    by_zone: dict[int, list[tuple[int, int]]] = {}
    hold_ms = round(hold_s * 1000)
    for threat in threats:
        if threat.zone is None:
            continue
        z = zones.index_of[threat.zone]
        shelter_ms = int(zones.shelter_s[z]) * 1000
        by_zone.setdefault(z, []).append(
            (threat.impact_ms - shelter_ms, threat.impact_ms + hold_ms)
        )
    total = sum(float(zones.area_km2[z]) * _union_ms(spans) for z, spans in sorted(by_zone.items()))
    return total / _MS_PER_HOUR


def _score_threat(
    zones: ZoneSet, timeline: _Timeline, threat: Mapping[str, Any], grace_s: float
) -> ThreatScore:
    impact = threat["impact"]
    impact_ms = parse_time(impact["t"])
    zone = zones.zone_at(float(impact["lon"]), float(impact["lat"]))
    name, kind = str(threat["threat"]), str(threat.get("kind") or "unknown")
    if zone is None:
        return ThreatScore(name, kind, None, impact_ms, None, None, None, False, False)
    required_ms = int(zones.shelter_s[zone]) * 1000
    if threat.get("first_report_t"):
        visible_ms = impact_ms - parse_time(threat["first_report_t"])
        required_ms = max(0, min(required_ms, visible_ms - round(grace_s * 1000)))
    level, start_ms = timeline.at(zone, impact_ms)
    missed = level != "alert"
    warning_ms = None if missed or start_ms is None else impact_ms - start_ms
    late = warning_ms is not None and warning_ms < required_ms
    return ThreatScore(
        threat=name,
        kind=kind,
        zone=zones.ids[zone],
        impact_ms=impact_ms,
        alert_start_ms=None if missed else start_ms,
        warning_s=None if warning_ms is None else warning_ms / 1000,
        required_s=required_ms / 1000,
        missed=missed,
        late=late,
    )


def _kind_score(
    kind: str,
    zones: ZoneSet,
    timeline: _Timeline,
    threat_count: int,
    impacts: list[ThreatScore],
    hold_s: float,
) -> KindScore:
    in_zones = [t for t in impacts if t.zone is not None]
    warnings = np.array([t.warning_s for t in in_zones if t.warning_s is not None], dtype=float)
    late = sum(t.late for t in in_zones)
    level_kind = None if kind == TOTAL else kind
    alert = timeline.km2h("alert", level_kind)
    ideal = _ideal_km2h(zones, impacts, hold_s)
    alerted, flaps = timeline.flap_counts(level_kind)
    return KindScore(
        kind=kind,
        threats=threat_count,
        impacts=len(impacts),
        in_zones=len(in_zones),
        outside=len(impacts) - len(in_zones),
        missed=sum(t.missed for t in in_zones),
        late=late,
        late_share=late / len(in_zones) if in_zones else None,
        warning_s_median=float(np.median(warnings)) if len(warnings) else None,
        warning_s_min=float(warnings.min()) if len(warnings) else None,
        warning_s_p10=float(np.percentile(warnings, 10)) if len(warnings) else None,
        alert_km2h=alert,
        ideal_km2h=ideal,
        over_alert=alert / ideal if ideal > 0 else None,
        pre_alert_km2h=timeline.km2h("pre_alert", level_kind),
        alerted_zones=alerted,
        flaps=flaps,
        flaps_per_100=100.0 * flaps / alerted if alerted else None,
    )


def _kind_order(kind: str) -> tuple[int, str]:
    return (KINDS.index(kind) if kind in KINDS else len(KINDS), kind)


def score(
    zones: ZoneSet,
    truth: Mapping[str, Any],
    decisions: Iterable[Decision | Mapping[str, Any]],
    *,
    hold_s: float = 600,
    grace_s: float = 5,
    status: str = "actual",
) -> Score:
    """Score decisions against the truth of one run, as the module docstring defines: the
    real ones, or (`status`) a drill's or a test's."""
    timeline = _Timeline(zones, _changes(zones, decisions, status))
    truth_threats = list(truth.get("threats") or [])
    scored = [
        _score_threat(zones, timeline, t, grace_s)
        for t in truth_threats
        if t.get("impact") is not None
    ]
    counts: dict[str, int] = {}
    for threat in truth_threats:
        kind = str(threat.get("kind") or "unknown")
        counts[kind] = counts.get(kind, 0) + 1
    kinds = sorted(set(counts) | timeline.kinds, key=_kind_order)
    per_kind = {
        kind: _kind_score(
            kind,
            zones,
            timeline,
            counts.get(kind, 0),
            [t for t in scored if t.kind == kind],
            hold_s,
        )
        for kind in kinds
    }
    total = _kind_score(TOTAL, zones, timeline, len(truth_threats), scored, hold_s)
    return Score(per_kind=per_kind, total=total, threats=scored, open_zones=timeline.open_zones)


def score_to_dict(score: Score) -> dict[str, Any]:
    """The score as plain JSON-ready data (for `airwarn evaluate --json`)."""
    return {
        "total": asdict(score.total),
        "per_kind": {kind: asdict(s) for kind, s in score.per_kind.items()},
        "open_zones": score.open_zones,
        "threats": [asdict(t) for t in score.threats],
    }


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _area(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.3g}"


def _factor(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _late(s: KindScore) -> str:
    return str(s.late) if s.late_share is None else f"{s.late} ({s.late_share:.0%})"


_ROWS: tuple[tuple[str, Any], ...] = (
    ("threats", lambda s: str(s.threats)),
    ("impacts in zones", lambda s: str(s.in_zones)),
    ("impacts outside zones", lambda s: str(s.outside)),
    ("missed", lambda s: str(s.missed)),
    ("late", _late),
    ("warning s, median", lambda s: _seconds(s.warning_s_median)),
    ("warning s, p10", lambda s: _seconds(s.warning_s_p10)),
    ("warning s, min", lambda s: _seconds(s.warning_s_min)),
    ("alert km²·h", lambda s: _area(s.alert_km2h)),
    ("ideal km²·h", lambda s: _area(s.ideal_km2h)),
    ("over-alert factor", lambda s: _factor(s.over_alert)),
    ("pre-alert km²·h", lambda s: _area(s.pre_alert_km2h)),
    ("alerted zones (zone × threat)", lambda s: str(s.alerted_zones)),
    ("flaps", lambda s: str(s.flaps)),
    (
        "flaps per 100 alerted",
        lambda s: "–" if s.flaps_per_100 is None else f"{s.flaps_per_100:.2f}",
    ),
)


def format_table(scores: Mapping[str, Score]) -> Table:
    """One column per policy (e.g. engine, reach, region), one row per metric and kind."""
    table = Table(title="airwarn evaluate", show_lines=False)
    table.add_column("kind")
    table.add_column("metric")
    for policy in scores:
        table.add_column(policy, justify="right")
    kinds = sorted({k for s in scores.values() for k in s.per_kind}, key=_kind_order)
    for kind in [*kinds, TOTAL]:
        for number, (metric, cell) in enumerate(_ROWS):
            row = []
            for s in scores.values():
                kind_score = s.total if kind == TOTAL else s.per_kind.get(kind)
                row.append("–" if kind_score is None else cell(kind_score))
            table.add_row(kind if number == 0 else "", metric, *row)
        table.add_section()
    table.add_row("", "zones left open", *(str(s.open_zones) for s in scores.values()))
    return table
