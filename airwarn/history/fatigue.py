"""Alert-fatigue comparisons that the histories can honestly support, each with its method and
limits in words beside the figures.

- Ukraine (official export): hours under alert for people in each hromada as alerts were
  actually issued (oblast-wide, or for their raion or hromada only), against the same alerts had
  each covered the whole oblast. This is what finer alerts already saved, where they exist.
- Israel: how many areas one alert covers, year by year, and how many more area-alerts a
  district-wide policy would have raised for the same alerts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from airwarn.history.stats import ISRAEL_ASSUMED_S, Alerts, load_alerts, merge_intervals
from airwarn.history.tables import history_zone


@dataclass
class Comparison:
    """A table of figures with its method and limits."""

    title: str
    columns: list[str]
    rows: list[list[object]]
    method: list[str]
    limits: list[str]
    headline: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def _union_s(start: np.ndarray, end: np.ndarray) -> float:
    if len(start) == 0:
        return 0.0
    merged = merge_intervals(np.zeros(len(start), np.int64), start, end)
    return float((merged.end - merged.start).sum())


def ukraine_finer_alerts(engine: Engine, source: str = "ukraine-official") -> Comparison:
    """Hours under alert per hromada, as issued vs oblast-wide, for oblasts with finer alerts."""
    alerts = load_alerts(engine, source)
    c = history_zone.c
    with engine.connect() as connection:
        zones = connection.execute(
            sa.select(c.zone_id, c.level, c.region, c.area_km2).where(c.zone_set == "ukraine")
        ).all()
    level_of = {z.zone_id: z.level for z in zones}
    usable = (alerts.end >= 0) & (alerts.zone != None)  # noqa: E711 (numpy elementwise)
    by_zone: dict[str, list[int]] = defaultdict(list)
    by_oblast: dict[str, list[int]] = defaultdict(list)
    finer_oblasts: set[str] = set()
    for i in np.flatnonzero(usable).tolist():
        zone_id = str(alerts.zone[i])
        by_zone[zone_id].append(i)
        by_oblast[zone_id[:4]].append(i)  # KATOTTG: UA + 2 digits of the oblast
        if level_of.get(zone_id) in ("raion", "hromada"):
            finer_oblasts.add(zone_id[:4])
    region_name = {z.zone_id: z.region for z in zones if z.level == "oblast"}
    idx = {k: np.array(v, dtype=np.int64) for k, v in by_zone.items()}
    rows: list[list[object]] = []
    total_area = total_actual = total_wide = 0.0
    per_hromada: dict[str, tuple[float, float]] = {}
    for oblast in sorted(finer_oblasts):
        members = [z for z in zones if z.level == "hromada" and z.zone_id[:4] == oblast]
        every = np.array(by_oblast[oblast], dtype=np.int64)
        wide_h = _union_s(alerts.start[every], alerts.end[every]) / 3600
        area = actual_sum = 0.0
        finer_here = 0
        for hromada in members:
            picks = [
                idx.get(oblast, np.empty(0, np.int64)),
                idx.get(hromada.zone_id[:6], np.empty(0, np.int64)),
                idx.get(hromada.zone_id, np.empty(0, np.int64)),
            ]
            chosen = np.concatenate(picks)
            if len(picks[1]) or len(picks[2]):
                finer_here += 1
            hours = _union_s(alerts.start[chosen], alerts.end[chosen]) / 3600
            per_hromada[hromada.zone_id] = (hours, wide_h)
            area += hromada.area_km2
            actual_sum += hours * hromada.area_km2
        actual_h = actual_sum / area if area else 0.0
        total_area += area
        total_actual += actual_sum
        total_wide += wide_h * area
        rows.append(
            [
                region_name.get(oblast, oblast),
                len(members),
                finer_here,
                round(wide_h),
                round(actual_h),
                _share(wide_h - actual_h, wide_h),
            ]
        )
    overall_actual = total_actual / total_area if total_area else 0.0
    overall_wide = total_wide / total_area if total_area else 0.0
    rows.sort(key=lambda r: -float(str(r[3])))
    saved = _share(overall_wide - overall_actual, overall_wide)
    headline = (
        f"Where finer alerts were issued ({len(rows)} oblasts), an average place spent "
        f"{overall_actual:,.0f} hours under alert instead of {overall_wide:,.0f} had "
        f"every alert covered its whole oblast: {saved} fewer."
    )
    return Comparison(
        "Ukraine: hours under alert, as issued vs. oblast-wide",
        [
            "oblast",
            "hromadas",
            "with own alerts",
            "oblast-wide h",
            "as issued h (area-weighted)",
            "saved",
        ],
        rows,
        [
            f"Source {source}. For each hromada: the union of the alerts that covered it (its "
            "oblast's oblast-level alerts, its raion's and its own), overlaps merged. Oblast-wide: "
            "the union of every alert in the oblast, as if each had covered the whole oblast. "
            "Hours are averaged over the oblast's hromadas weighted by area (km²). Only oblasts "
            "where the export has raion or hromada alerts are shown.",
            "A hromada belongs to the raion and oblast its KATOTTG code starts with.",
        ],
        [
            "Area, not people: the data has no population, so a sparsely peopled hromada counts as "
            "much as a city of the same size.",
            "The export lists raion and hromada alerts for only part of the period and of the "
            "country; elsewhere both figures are equal by construction.",
            "Absurd (> 72 h) and unterminated alerts are left out of both figures; the permanent "
            "Luhansk and Crimea alerts are absent from the source.",
        ],
        headline,
        {
            "per_hromada": per_hromada,
            "overall_actual_h": overall_actual,
            "overall_wide_h": overall_wide,
        },
    )


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole else "–"


def _events(alerts: Alerts) -> tuple[np.ndarray, np.ndarray]:
    _, event = np.unique(alerts.event.astype(str), return_inverse=True)
    return event.astype(np.int64), np.bincount(event)


def israel_areas_per_alert(engine: Engine, sources: Sequence[str]) -> Comparison:
    """Areas per alert, year by year, and what a district-wide policy would have raised."""
    c = history_zone.c
    with engine.connect() as connection:
        zones = connection.execute(
            sa.select(c.zone_id, c.region, c.area_km2).where(c.zone_set == "israel")
        ).all()
    area = {z.zone_id: z.area_km2 for z in zones}
    district_size: dict[str, int] = defaultdict(int)
    for z in zones:
        if z.region:
            district_size[z.region] += 1
    rows: list[list[object]] = []
    series: dict[str, dict[str, float]] = {}
    for source in sources:
        alerts = load_alerts(engine, source)
        alerts = alerts.subset(alerts.category != "drill")
        has_zone = alerts.zone != None  # noqa: E711 (numpy elementwise)
        year = (
            (alerts.local_start // 86400)
            .astype("datetime64[D]")
            .astype("datetime64[Y]")
            .astype(str)
        )
        for y in sorted(set(year.tolist())):
            mine = year == y
            zoned = alerts.subset(mine & has_zone)
            if len(zoned) == 0:
                continue
            event, per_event = _events(zoned)
            per_event = per_event[per_event > 0]
            km2 = np.bincount(event, weights=[area.get(str(z), 0.0) for z in zoned.zone])
            districts: dict[int, set[str]] = defaultdict(set)
            for e, r in zip(event.tolist(), zoned.region.tolist(), strict=True):
                if r:
                    districts[e].add(r)
            wide = sum(sum(district_size[d] for d in ds) for ds in districts.values())
            actual = int(per_event.sum())
            region_only = int((mine & ~has_zone & (alerts.region != None)).sum())  # noqa: E711
            rows.append(
                [
                    source.removeprefix("israel-"),
                    y,
                    len(per_event),
                    round(float(per_event.mean()), 1),
                    int(np.median(per_event)),
                    round(float(km2.mean()), 1),
                    actual,
                    wide,
                    f"{wide / actual:.1f}×" if actual else "–",
                    region_only,
                ]
            )
            series.setdefault(source, {})[y] = float(per_event.mean())
    return Comparison(
        "Israel: areas per alert, by year",
        [
            "source",
            "year",
            "alerts",
            "areas/alert (mean)",
            "median",
            "km²/alert",
            "area-alerts",
            "district-wide",
            "ratio",
            "district-only mentions",
        ],
        rows,
        [
            "An alert is every area named in the same minute for the same category (both sources "
            "are grouped the same way; drills are left out). Areas are today's 1,449 Home Front "
            "Command areas the names matched. District-wide: the area-alerts had each alert "
            "covered every area of each district it touched, the coarser policy the areas "
            "replaced.",
            f"Israeli sources have no end times; hours are not used here (elsewhere they assume "
            f"{ISRAEL_ASSUMED_S // 60} minutes per alert).",
        ],
        [
            "Grouping by minute merges separate salvos in the same minute and splits one that "
            "straddles a minute boundary.",
            "2014-2019 mentions that are legacy area codes match a district only (last column) "
            "and are not counted as areas: areas per alert are understated for those years.",
            "The two sources overlap from 2019-06 to 2024-10; compare years within one source.",
            "A 'whole country' alert counts every area.",
        ],
        "",
        {"series": series},
    )
