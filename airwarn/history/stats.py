"""Statistics of an imported alert history, per zone, region or month.

Figures: alerts, hours under alert (overlapping alerts merged, so a place under two alerts at
once counts its time once), median and longest duration, alerts starting at night (22:00-06:00
local time), the longest quiet spell (the longest time with no alert, within the period the
source covers), and totals per month. Every result carries its method and limits in words, so
that a figure is never shown without them.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from airwarn.history.columns import INTEGER, TEXT, read_columns
from airwarn.history.records import ABSURD, END_IMPUTED, NO_END, UNTERMINATED, HistoryError
from airwarn.history.tables import history_alert, history_import, history_zone

# Israeli alerts have no end: each is taken to hold its area for the usual ten minutes in
# shelter (the Home Front Command's standing instruction; DESIGN's default hold_s).
ISRAEL_ASSUMED_S = 600
NIGHT_FROM_H, NIGHT_TO_H = 22, 6
GROUPINGS = ("zone", "region", "month", "year")
_BIG = 1 << 40  # larger than any span of seconds in the data: separates groups when sorting
_NO_END_BIT, _EXCLUDED_BIT, _IMPUTED_BIT = 1, 2, 4  # flags as load_alerts packs them


@dataclass
class Alerts:
    """One source's alert rows as arrays (times in seconds since the epoch, UTC)."""

    source: str
    zone_set: str
    zone: np.ndarray  # object: zone id or None
    region: np.ndarray  # object
    event: np.ndarray  # object: rows of one alert share it
    start: np.ndarray  # int64
    end: np.ndarray  # int64, -1 where unusable (no end, unterminated, absurd)
    offset: np.ndarray  # int64, local UTC offset at the start
    imputed: np.ndarray  # bool: the end was imputed by the source
    excluded: np.ndarray  # bool: absurd or unterminated (kept, not in hours or durations)
    span_end: np.ndarray  # int64: the end as given (-1: none); absurd spans are not quiet time
    assumed_end: bool  # True where ends are assumed (Israel)
    category: np.ndarray  # object

    def __len__(self) -> int:
        return len(self.start)

    def subset(self, keep: np.ndarray) -> Alerts:
        return Alerts(
            self.source,
            self.zone_set,
            self.zone[keep],
            self.region[keep],
            self.event[keep],
            self.start[keep],
            self.end[keep],
            self.offset[keep],
            self.imputed[keep],
            self.excluded[keep],
            self.span_end[keep],
            self.assumed_end,
            self.category[keep],
        )

    @property
    def local_start(self) -> np.ndarray:
        return self.start + self.offset


def sources(engine: Engine) -> dict[str, dict[str, object]]:
    """The imported sources and their import summaries, by source kind."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                history_import.c.source,
                history_import.c.summary,
                history_import.c.file_name,
                history_import.c.imported_at,
            )
        ).all()
    out: dict[str, dict[str, object]] = {}
    for row in sorted(rows):
        summary = json.loads(row.summary)
        summary["imported_at"] = row.imported_at
        out[row.source] = summary
    return out


OPTIONAL_FIELDS = frozenset({"region", "event", "category"})


def needed_fields(by: str, region: str | None = None) -> frozenset[str]:
    """The optional columns a grouping needs (fewer columns read: a faster query)."""
    fields = set()
    if by != "zone":
        fields.add("event")
    if by == "region" or region is not None:
        fields.add("region")
    return frozenset(fields)


def load_alerts(
    engine: Engine,
    source: str,
    *,
    exact_ends: bool = False,
    category: str | None = None,
    fields: frozenset[str] = OPTIONAL_FIELDS,
    via_arrow: bool | None = None,
) -> Alerts:
    """Every alert row of a source, ready for statistics; `exact_ends` drops imputed ends
    from durations and hours. Only the optional `fields` (region, event, category) asked for
    are read; the others are left None. `via_arrow`: how to read (see
    `airwarn.history.columns.read_columns`; by default the fastest way the store allows)."""
    with engine.connect() as connection:
        known = {
            row.source: row
            for row in connection.execute(
                sa.select(history_import.c.id, history_import.c.source, history_import.c.summary)
            )
        }
    if source not in known:
        hint = f"imported: {', '.join(sorted(known))}" if known else "nothing is imported yet"
        raise HistoryError(
            f"source {source!r} is not in the store ({hint}); import it with "
            "`airwarn history import`",
            field="--source",
        )
    c = history_alert.c
    # The flags that matter here, packed into one small integer: small integers are shared
    # objects in Python, so a packed column costs far less to fetch than three columns.
    flag_bits = (
        sa.case((c.flags.like(f"%{NO_END}%"), _NO_END_BIT), else_=0)
        + sa.case(
            (sa.or_(c.flags.like(f"%{ABSURD}%"), c.flags.like(f"%{UNTERMINATED}%")), _EXCLUDED_BIT),
            else_=0,
        )
        + sa.case((c.flags.like(f"%{END_IMPUTED}%"), _IMPUTED_BIT), else_=0)
    )

    def text(column: sa.ColumnElement[str | None], name: str) -> sa.ColumnElement[str]:
        # never NULL (see airwarn.history.columns); columns not asked for are all empty
        return sa.func.coalesce(column, "") if name in fields else sa.literal("")

    query = sa.select(
        sa.func.coalesce(c.zone_id, ""),
        text(c.region, "region"),
        text(c.event_key, "event"),
        c.started_s,
        sa.func.coalesce(c.ended_s, -1),
        # minutes (120, 180): small integers, cheap to fetch; offsets are whole
        # minutes everywhere
        c.utc_offset_s / 60,
        text(c.category, "category"),
        flag_bits,
        # by import (not by source): that index walks the rows in the order they
        # were written, so SQLite reads the table sequentially, not page by page
    ).where(c.import_id == known[source].id, c.match != "not_a_place")
    if category:
        query = query.where(c.category == category)
    columns = read_columns(
        engine,
        query,
        (TEXT, TEXT, TEXT, INTEGER, INTEGER, INTEGER, TEXT, INTEGER),
        via_arrow=via_arrow,
    )
    zone_set = str(json.loads(known[source].summary).get("zone_set", ""))
    if columns is None:
        empty_o = np.empty(0, dtype=object)
        empty_i = np.empty(0, np.int64)
        return Alerts(
            source,
            zone_set,
            empty_o,
            empty_o,
            empty_o,
            empty_i,
            empty_i,
            empty_i,
            np.empty(0, bool),
            np.empty(0, bool),
            empty_i,
            zone_set == "israel",
            empty_o,
        )
    zone, region, event, start, ended, offset_min, category_, bits = columns
    no_end = (bits & _NO_END_BIT).astype(bool)
    excluded = (bits & _EXCLUDED_BIT).astype(bool)
    imputed = (bits & _IMPUTED_BIT).astype(bool)
    end = np.where(no_end, start + ISRAEL_ASSUMED_S, ended)
    end = np.where(excluded | (exact_ends & imputed), -1, end)
    return Alerts(
        source,
        zone_set,
        zone,
        region,
        event,
        start,
        end,
        offset_min * 60,
        imputed,
        excluded,
        np.where(no_end, start + ISRAEL_ASSUMED_S, ended),
        bool(no_end.any()),
        category_,
    )


def zone_labels(engine: Engine, zone_set: str) -> dict[str, tuple[str | None, str | None, float]]:
    """zone id → (name, region, area km²) for a country's zones."""
    c = history_zone.c
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(c.zone_id, c.name, c.region, c.area_km2).where(c.zone_set == zone_set)
        ).all()
    return {r.zone_id: (r.name, r.region, r.area_km2) for r in rows}


@dataclass
class Merged:
    """Alert intervals merged per group: each group's union, as sorted disjoint intervals."""

    group: np.ndarray  # int64 group index per merged interval
    start: np.ndarray
    end: np.ndarray
    first: np.ndarray  # index (into the input) of the first interval of each merged one


def merge_intervals(group: np.ndarray, start: np.ndarray, end: np.ndarray) -> Merged:
    """Union of [start, end) intervals within each group (vectorised: sort, running max)."""
    if len(start) == 0:
        empty = np.empty(0, np.int64)
        return Merged(empty, empty, empty, empty)
    base = start.min()
    key = group.astype(np.int64) * _BIG + (start - base)
    stop = group.astype(np.int64) * _BIG + (end - base)
    order = np.argsort(key, kind="stable")
    key, stop, grp = key[order], stop[order], group[order]
    reach = np.maximum.accumulate(stop)
    new = np.ones(len(key), dtype=bool)
    new[1:] = key[1:] > reach[:-1]
    starts_at = np.flatnonzero(new)
    ends_at = np.append(starts_at[1:] - 1, len(key) - 1)
    merged_start = key[starts_at] - grp[starts_at].astype(np.int64) * _BIG + base
    merged_end = reach[ends_at] - grp[starts_at].astype(np.int64) * _BIG + base
    return Merged(grp[starts_at].astype(np.int64), merged_start, merged_end, order[starts_at])


@dataclass
class StatsRow:
    key: str
    label: str
    region: str | None
    alerts: int
    hours: float
    median_min: float | None
    longest_min: float | None
    night: int
    quiet_days: float | None
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class Stats:
    """A table of figures with the method and limits that go beside it."""

    source: str
    by: str
    rows: list[StatsRow]
    method: list[str]
    period: tuple[int, int]


def _night(alerts: Alerts) -> np.ndarray:
    hour = (alerts.local_start // 3600) % 24
    return (hour >= NIGHT_FROM_H) | (hour < NIGHT_TO_H)


def _month(local_seconds: np.ndarray, by: str) -> tuple[np.ndarray, np.ndarray]:
    """Local month (or year) names and each row's index into them (sorted, as np.unique)."""
    days = (local_seconds // 86400).astype("datetime64[D]")
    unit = "M" if by == "month" else "Y"
    periods, index = np.unique(days.astype(f"datetime64[{unit}]"), return_inverse=True)
    return periods.astype(str), index.astype(np.int64)


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values (as text, sorted) and each row's index into them: what np.unique(values
    .astype(str), return_inverse=True) gives, without sorting 100k Python strings (the values
    are numbered in one pass, then only the few distinct ones are sorted)."""
    distinct, codes = _numbers(values)
    names = np.array([str(v) for v in distinct], dtype=str)
    if len(names) == 0:
        return names, codes
    order = np.argsort(names, kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return names[order], rank[codes]


def _numbers(values: np.ndarray) -> tuple[list[object], np.ndarray]:
    """The distinct values in order of appearance, and each row's number among them."""
    listed = values.tolist()
    distinct = list(dict.fromkeys(listed))
    index = dict(zip(distinct, range(len(distinct)), strict=True))
    return distinct, np.fromiter(map(index.__getitem__, listed), dtype=np.int64, count=len(listed))


def _day(value: date | None) -> int | None:
    if value is None:
        return None
    return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())


def compute(
    alerts: Alerts,
    by: str,
    labels: dict[str, tuple[str | None, str | None, float]],
    *,
    zone: str | None = None,
    region: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Stats:
    """Statistics of `alerts` grouped `by` zone, region, month or year, for the filters."""
    if by not in GROUPINGS:
        raise HistoryError(f"--by must be one of {', '.join(GROUPINGS)}, not {by!r}", field="--by")
    lo, hi = _day(since), _day(until)
    keep = np.ones(len(alerts), dtype=bool)
    if lo is not None:
        keep &= alerts.start >= lo
    if hi is not None:
        keep &= alerts.start < hi + 86400
    if zone is not None:
        wanted = {z for z, (name, _, _) in labels.items() if zone in (z, name)}
        if not wanted:
            named = [name for name, _, _ in labels.values() if name]
            close = difflib.get_close_matches(zone[:200], named, n=1, cutoff=0.8)
            guess = "" if not close else f"did you mean {close[0]!r}? "
            raise HistoryError(
                f"no zone {zone!r} in {alerts.zone_set}; {guess}give a zone id (e.g. "
                "UA63 or 5000511) or its name, see `airwarn history stats "
                "--by zone`",
                field="--zone",
            )
        keep &= np.isin(alerts.zone, list(wanted))
    if region is not None:
        keep &= alerts.region == region
        if not keep.any() and region not in set(alerts.region.tolist()):
            raise HistoryError(
                f"no region {region!r} in {alerts.source}; see `airwarn history "
                "stats --by region` for the names",
                field="--region",
            )
    total_rows = int(keep.sum())
    no_zone = int((keep & (alerts.zone == None)).sum())  # noqa: E711 (numpy elementwise)
    if by == "zone":
        keep &= alerts.zone != None  # noqa: E711
    if by == "region":
        keep &= alerts.region != None  # noqa: E711
    data = alerts.subset(keep)
    if len(data):
        period = (
            lo if lo is not None else int(alerts.start.min()),
            hi + 86400 if hi is not None else int(max(alerts.start.max(), alerts.end.max())),
        )
    else:
        period = (lo or 0, (hi or 0) + 86400)

    if by in ("zone", "region"):
        names, group = _codes(data.zone if by == "zone" else data.region)
    else:
        names, group = _month(data.local_start, by)
    rows = _figures(data, names, group, by, period, labels)
    method = _method(alerts, data, by, total_rows, no_zone, period)
    return Stats(alerts.source, by, rows, method, period)


def _figures(
    data: Alerts,
    names: np.ndarray,
    group: np.ndarray,
    by: str,
    period: tuple[int, int],
    labels: dict[str, tuple[str | None, str | None, float]],
) -> list[StatsRow]:
    """The figures per group (`group`: each row's index into `names`), vectorised."""
    if len(data) == 0:
        return []
    n = len(names)
    night = _night(data)
    # per zone, alerts are rows; per region or period, distinct alert events
    if by == "zone":
        counts = np.bincount(group, minlength=n)
        nights = np.bincount(group, weights=night, minlength=n)
    else:
        event = _numbers(data.event)[1]
        pair = group * (int(event.max()) + 1) + event
        first = np.unique(pair, return_index=True)[1]
        counts = np.bincount(group[first], minlength=n)
        night_first = np.unique(pair[night], return_index=True)[1]
        nights = np.bincount(group[night][night_first], minlength=n)
    usable = data.end >= 0
    # durations: rows with a real end (none for sources without end times)
    measured = usable & ~np.full(len(data), data.assumed_end)
    d_group = group[measured]
    d_value = (data.end - data.start)[measured].astype(float)
    order = np.lexsort((d_value, d_group))
    d_group, d_value = d_group[order], d_value[order]
    d_bounds = np.searchsorted(d_group, np.arange(n + 1))
    # hours: merge per zone (month, year) or per group (zone, region)
    if by in ("zone", "region"):
        merged = merge_intervals(group[usable], data.start[usable], data.end[usable])
        m_group = merged.group
    else:
        zone_index = _numbers(data.zone)[1]
        merged = merge_intervals(zone_index[usable], data.start[usable], data.end[usable])
        m_group = group[usable][merged.first]
    length = (merged.end - merged.start).astype(float)
    hours = np.bincount(m_group, weights=length, minlength=n) / 3600
    zones_per = None
    if by in ("month", "year"):
        has_zone = data.zone != None  # noqa: E711 (numpy elementwise)
        zone_codes = zone_index
        zone_pair = np.unique((group * (len(data) + 1) + zone_codes)[has_zone])
        zones_per = np.bincount(zone_pair // (len(data) + 1), minlength=n)
    if by in ("zone", "region"):
        # quiet spells: absurd or unterminated alerts cover unknown time, never quiet time
        spans = usable | data.excluded
        span_end = np.where(data.span_end < 0, period[1], data.span_end)
        span_end = np.where(usable, data.end, np.maximum(span_end, data.start))
        covered = merge_intervals(group[spans], data.start[spans], span_end[spans])
        m_order = np.argsort(covered.group, kind="stable")
        m_bounds = np.searchsorted(covered.group[m_order], np.arange(n + 1))
    imputed = np.bincount(group, weights=data.imputed, minlength=n)
    rows: list[StatsRow] = []
    for index, key in enumerate(names.tolist()):
        a, b = d_bounds[index], d_bounds[index + 1]
        durations = d_value[a:b]
        quiet = None
        if by in ("zone", "region"):
            picked = m_order[m_bounds[index] : m_bounds[index + 1]]
            quiet = _quiet((covered.start[picked], covered.end[picked]), period) / 86400
        label, region_name = key, None
        if by == "zone" and key in labels:
            label = labels[key][0] or key
            region_name = labels[key][1]
        row = StatsRow(
            key,
            label,
            region_name,
            int(counts[index]),
            float(hours[index]),
            float(np.median(durations)) / 60 if len(durations) else None,
            float(durations[-1]) / 60 if len(durations) else None,
            int(nights[index]),
            quiet,
        )
        if zones_per is not None:
            row.extra["zones"] = float(zones_per[index])
        row.extra["imputed_ends"] = float(imputed[index])
        rows.append(row)
    return rows


def _quiet(merged: tuple[np.ndarray, np.ndarray], period: tuple[int, int]) -> float:
    """The longest stretch within `period` with no alert (seconds)."""
    starts, ends = merged
    if len(starts) == 0:
        return float(period[1] - period[0])
    edges_start = np.concatenate([[period[0]], ends])
    edges_end = np.concatenate([starts, [period[1]]])
    return float(max(0, (edges_end - edges_start).max()))


def _method(
    alerts: Alerts, data: Alerts, by: str, total_rows: int, no_zone: int, period: tuple[int, int]
) -> list[str]:
    """The method and limits, in words, that go beside the figures."""

    def day(s: int) -> str:
        return datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%d")

    lines = [
        f"Source {alerts.source}: {total_rows:,} alert rows from {day(period[0])} to "
        f"{day(period[1])} (UTC dates)."
    ]
    if by == "zone":
        lines.append(
            "Per zone, alerts are the rows attached to that zone (for Ukraine: alerts "
            "issued for that unit itself, not for the oblast around it)."
            + (
                f" {no_zone:,} rows with no zone (unmatched names, district-only legacy "
                "codes) are left out here; see --by region and `airwarn history "
                "unmatched`."
                if no_zone
                else ""
            )
        )
    else:
        lines.append(
            "Per region or period, alerts are distinct alert events (one message, "
            "however many zones it names); hours are summed over zones, each zone's "
            "overlapping alerts merged first."
            if by in ("month", "year")
            else "Per region, alerts are distinct alert events in the region; hours under "
            "alert are the union of all its alerts' times: time during which some "
            "part of the region was under alert."
        )
    if alerts.assumed_end:
        lines.append(
            f"Hours under alert ASSUME {ISRAEL_ASSUMED_S // 60} minutes per alert (the "
            "sources have no end times; the Home Front Command's usual time to stay "
            "in shelter); alerts within that time of each other merge. Durations are "
            "not known, so no median or longest duration is given."
        )
    else:
        excluded = int(alerts.excluded.sum())
        lines.append(
            f"Hours under alert merge overlapping alerts for the same place. Absurd "
            f"(> 72 h or ending before they start) or unterminated alerts: {excluded:,}; "
            "counted as alerts but left out of hours and durations."
        )
        imputed = int(alerts.imputed.sum())
        if imputed:
            lines.append(
                f"{imputed:,} alerts have an end imputed by the source (30 minutes); "
                "they are in hours and durations unless --exact-ends is given."
            )
    zone_name = "Europe/Kyiv" if alerts.zone_set == "ukraine" else "Asia/Jerusalem"
    lines.append(
        f"Night: the alert starts between {NIGHT_FROM_H}:00 and 0{NIGHT_TO_H}:00 local "
        f"time ({zone_name}, daylight saving included). Quiet spell: "
        "the longest time without an alert for that place within the period shown "
        "(the edges of the period count, so a place alerted once late has a long "
        "spell before it; time inside absurd or unterminated alerts is not quiet)."
        if by in ("zone", "region")
        else f"Night: alerts starting between {NIGHT_FROM_H}:00 and 0{NIGHT_TO_H}:00 local "
        "time. Months and years are local; an alert counts in the month it starts."
    )
    if alerts.zone_set == "ukraine":
        lines.append(
            "Limits: the permanent alerts of Luhansk (from 2022-04-04) and Crimea (from "
            "2022-12-10) are absent from the sources, so their figures are far too low."
        )
    return lines
