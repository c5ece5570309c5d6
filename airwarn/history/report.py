"""The offline HTML report: one self-contained `index.html` (inline SVG and CSS, no scripts, no
tiles, no network), with maps coloured by hours under alert, monthly series, duration
distributions, the fatigue comparisons, and every import note. Method and limits stand beside
each figure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from airwarn.history import fatigue, svg
from airwarn.history.records import HistoryError
from airwarn.history.stats import (
    ISRAEL_ASSUMED_S,
    Alerts,
    Stats,
    compute,
    load_alerts,
    sources,
    zone_labels,
)
from airwarn.history.tables import history_import, history_unmatched, history_zone

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;
max-width:1000px;margin:24px auto;padding:0 16px}
h1{font-size:26px;margin-bottom:4px}h2{margin-top:36px;border-bottom:2px solid #ddd}
h3{margin-top:26px}.lead{color:#555}
table{border-collapse:collapse;margin:8px 0 4px;font-size:13px}
td,th{border-bottom:1px solid #e3e3e3;padding:3px 8px;text-align:right}
th{background:#f5f5f5}td:first-child,th:first-child{text-align:left}
.method{font-size:13px;color:#444;background:#f7f7fb;border-left:3px solid #99c;padding:6px 10px;
margin:6px 0 14px}.method p{margin:3px 0}
.map svg,.chart{max-width:100%;height:auto}.map{display:flex;gap:16px;align-items:flex-start;
flex-wrap:wrap}
.legend{font-size:12px;display:flex;flex-direction:column;gap:3px}
.chartbox .legend{flex-direction:row;flex-wrap:wrap;gap:12px}
.legend i{display:inline-block;width:14px;height:12px;margin-right:5px;vertical-align:-1px;
border:1px solid #bbb}
.chart text{font-size:11px;fill:#444}
ul.notes{font-size:13px;color:#333}details{margin:8px 0}
.small{font-size:12px;color:#666}
"""

CREDITS = (
    "Data: Ukraine's official air-raid alerts and the volunteer eTryvoga channel via "
    "Vadimkin/ukrainian-air-raid-sirens-dataset (MIT); consolidated oblast series via "
    "goodfrog33/air-raid-forecasting-ukraine (MIT); Ukrainian boundaries © Minregion "
    "(CC BY-SA), OCHA COD-AB. Israel: alert history via dleshem/israel-alerts-data "
    "(Apache-2.0) and eranyariv/Israel-Alerts-Map (MIT), from the Home Front Command; "
    "alert areas via amitfin/oref_alert (MIT) and eladnava/pikud-haoref-api "
    "(Apache-2.0)."
)

DURATION_EDGES_MIN = [0, 15, 30, 45, 60, 90, 120, 180, 240, 360, 720, 1440]
AREAS_EDGES = [1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1500]


def _method(lines: list[str], limits: list[str] | None = None) -> str:
    body = "".join(
        f"<p><b>Method.</b> {escape(x)}</p>" if i == 0 else f"<p>{escape(x)}</p>"
        for i, x in enumerate(lines)
    )
    body += "".join(f"<p><b>Limit.</b> {escape(x)}</p>" for x in limits or [])
    return f'<div class="method">{body}</div>'


def _table(columns: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f'<td dir="auto">{escape(_cell(v))}</td>' for v in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _day(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d")


def _zones(engine: Engine, zone_set: str, level: str | None = None) -> list[Any]:
    c = history_zone.c
    query = sa.select(c.zone_id, c.level, c.name, c.region, c.geometry).where(
        c.zone_set == zone_set
    )
    if level:
        query = query.where(c.level == level)
    with engine.connect() as connection:
        return list(connection.execute(query))


def _durations_min(alerts: Alerts) -> list[float]:
    if alerts.assumed_end:
        return []
    usable = alerts.end >= 0
    return ((alerts.end[usable] - alerts.start[usable]) / 60).tolist()


def _monthly(stats: Stats, field: str, divide: float = 1.0) -> list[tuple[str, float]]:
    return [(r.key, (r.alerts if field == "alerts" else r.hours) / divide) for r in stats.rows]


def _sources_section(known: dict[str, dict[str, Any]], periods: dict[str, str]) -> str:
    rows = [
        [
            name,
            s["file_name"],
            s["rows_read"],
            s["alerts"],
            periods.get(name, ""),
            f"{s['zone_rate']:.2%}",
            f"{s['place_rate']:.2%}",
            f"{s['unmatched_names']:,} ({s['unmatched_mentions']:,})",
        ]
        for name, s in known.items()
    ]
    return (
        "<h2>Sources</h2>"
        + _table(
            [
                "source",
                "file",
                "rows",
                "alert rows",
                "period (UTC)",
                "matched to a zone",
                "zone or district",
                "unmatched names (mentions)",
            ],
            rows,
        )
        + _method(
            [
                "Ukrainian rates count rows (one alert for one oblast, raion or hromada); "
                "Israeli rates count area mentions. 'Zone or district' adds legacy 2014-2019 "
                "area codes and district names, which name a district but no current area. "
                "Unmatched names are kept in the store with no zone (see `airwarn history "
                "unmatched`), never dropped."
            ]
        )
    )


def _ukraine(engine: Engine, known: dict[str, dict[str, Any]]) -> str:
    names: list[str] = [
        s for s in ("ukraine-official", "ukraine-volunteer", "ukraine-consolidated") if s in known
    ]
    if not names:
        return ""
    html = ["<h2>Ukraine</h2>"]
    labels = zone_labels(engine, "ukraine")
    loaded = {s: load_alerts(engine, s) for s in names}
    if "ukraine-official" in loaded:
        comparison = fatigue.ukraine_finer_alerts(engine)
        per = comparison.extra["per_hromada"]
        assert isinstance(per, dict)
        hromadas = _zones(engine, "ukraine", "hromada")
        zones = [
            (
                json.loads(z.geometry),
                per.get(z.zone_id, (None, None))[0],
                f"{z.name} ({z.region}): "
                + (
                    f"{per[z.zone_id][0]:,.0f} h as issued, {per[z.zone_id][1]:,.0f} h oblast-wide"
                    if z.zone_id in per
                    else "no finer alerts in this oblast"
                ),
            )
            for z in hromadas
        ]
        official = loaded["ukraine-official"]
        html.append(
            "<h3>Hours under alert per hromada, as issued (official export, "
            f"{_day(int(official.start.min()))} to {_day(int(official.end.max()))})</h3>"
        )
        html.append(svg.choropleth(zones, legend_title="hours under alert"))
        html.append(
            _method(
                [
                    "Each hromada's hours: the union of the alerts that covered it (its "
                    "oblast's oblast-level alerts, its raion's and its own), overlaps merged. "
                    "Grey: oblasts where the export has no raion or hromada alerts (there every "
                    "hromada equals its oblast; see the next map)."
                ],
                [
                    "The permanent Luhansk and Crimea alerts are absent from the source, so those "
                    "areas show as grey or far too low.",
                    "Absurd (> 72 h) alerts are left out.",
                ],
            )
        )
        html.append("<h3>What finer alerts saved</h3>")
        html.append(f"<p>{escape(comparison.headline)}</p>")
        html.append(_table(comparison.columns, comparison.rows))
        html.append(_method(comparison.method, comparison.limits))
    wide = "ukraine-consolidated" if "ukraine-consolidated" in loaded else names[-1]
    stats = compute(loaded[wide], "zone", labels)
    by_oblast = {r.key: r for r in stats.rows}
    oblasts = _zones(engine, "ukraine", "oblast")
    zones = [
        (
            json.loads(z.geometry),
            by_oblast[z.zone_id].hours if z.zone_id in by_oblast else None,
            f"{z.name}: "
            + (
                f"{by_oblast[z.zone_id].hours:,.0f} h, {by_oblast[z.zone_id].alerts:,} alerts"
                if z.zone_id in by_oblast
                else "no alerts in source"
            ),
        )
        for z in oblasts
    ]
    html.append(
        f"<h3>Hours under alert per oblast ({wide}, {_day(stats.period[0])} to "
        f"{_day(stats.period[1])})</h3>"
    )
    html.append(svg.choropleth(zones, legend_title="hours under alert"))
    html.append(_method(stats.method))
    series_alerts: dict[str, list[tuple[str, float]]] = {}
    series_hours: dict[str, list[tuple[str, float]]] = {}
    for name, alerts in loaded.items():
        monthly = compute(alerts, "month", labels)
        series_alerts[name] = _monthly(monthly, "alerts")
        if name != "ukraine-official":  # oblast-level only: hours per oblast are comparable
            series_hours[name] = _monthly(monthly, "hours", 25)
    html.append("<h3>Alerts per month</h3>")
    html.append(svg.line_chart(series_alerts, y_label="alerts per month"))
    html.append("<h3>Mean hours under alert per oblast, per month</h3>")
    html.append(svg.line_chart(series_hours, y_label="hours per oblast"))
    html.append(
        _method(
            [
                "Alerts: alert events starting in the month (Kyiv time); the official export "
                "counts raion and hromada alerts too. Hours: each oblast's alerts merged, summed "
                "over oblasts and divided by the 25 oblasts with alerts (Kyiv City counted as "
                "one); an alert counts in the month it starts.",
                "The volunteer and consolidated series overlap 2022-03 to 2024-10: where they "
                "differ, the sources differ.",
            ],
            [
                "Imputed volunteer ends (30 min) are included; absurd alerts are not.",
                "Luhansk (from 2022-04) and Crimea have permanent alerts the sources leave out.",
            ],
        )
    )
    html.append("<h3>How long alerts last</h3>")
    html.append(
        svg.histogram(
            {n: _durations_min(a) for n, a in loaded.items()},
            DURATION_EDGES_MIN,
            x_label="duration, minutes",
        )
    )
    medians = ", ".join(
        f"{n}: median {np.median(_durations_min(a)):.0f} min"
        for n, a in loaded.items()
        if _durations_min(a)
    )
    html.append(
        _method(
            [
                f"Share of alerts per duration band, per source ({medians}). "
                "Absurd and unterminated alerts are left out; the consolidated series "
                "merged overlapping alerts first, so its alerts are longer."
            ]
        )
    )
    region_stats = compute(loaded[wide], "region", labels)
    rows = [
        [r.key, r.alerts, r.hours, r.median_min, r.longest_min, r.night, r.quiet_days]
        for r in sorted(region_stats.rows, key=lambda r: -r.hours)
    ]
    html.append(f"<h3>Per oblast ({wide})</h3>")
    html.append(
        _table(
            [
                "oblast",
                "alerts",
                "hours",
                "median min",
                "longest min",
                "at night",
                "longest quiet (days)",
            ],
            rows,
        )
    )
    html.append(_method(region_stats.method))
    return "".join(html)


def _israel(engine: Engine, known: dict[str, dict[str, Any]]) -> str:
    names: list[str] = [s for s in ("israel-dleshem", "israel-eranyariv") if s in known]
    if not names:
        return ""
    html = ["<h2>Israel</h2>"]
    labels = zone_labels(engine, "israel")
    loaded = {s: load_alerts(engine, s) for s in names}
    main = names[-1]
    stats = compute(loaded[main], "zone", labels)
    by_zone = {r.key: r for r in stats.rows}
    areas = _zones(engine, "israel")
    zones = [
        (
            json.loads(z.geometry),
            by_zone[z.zone_id].hours if z.zone_id in by_zone else None,
            f"{z.name} ({z.region}): "
            + (
                f"{by_zone[z.zone_id].alerts:,} alerts, ~{by_zone[z.zone_id].hours:,.1f} h"
                if z.zone_id in by_zone
                else "no alerts"
            ),
        )
        for z in areas
    ]
    html.append(
        f"<h3>Hours under alert per area ({main}, {_day(stats.period[0])} to "
        f"{_day(stats.period[1])})</h3>"
    )
    html.append(
        svg.choropleth(
            zones,
            width=560,
            max_ratio=2.4,
            stroke="#8a8a8a",
            legend_title=f"hours under alert (assumed {ISRAEL_ASSUMED_S // 60} min per alert)",
        )
    )
    html.append(_method(stats.method))
    series: dict[str, list[tuple[str, float]]] = {}
    for name, alerts in loaded.items():
        series[name] = _monthly(compute(alerts, "month", labels), "alerts")
    html.append("<h3>Alerts per month</h3>")
    html.append(svg.line_chart(series, y_label="alerts per month"))
    html.append(
        _method(
            [
                "An alert: the areas named in the same minute for the same category "
                "(local time). Drills are included here; they are a handful."
            ],
            [
                "The 2014-2019 archive names mostly legacy area codes, matched to a "
                "district only; those alerts count here as events all the same."
            ],
        )
    )
    html.append("<h3>Areas per alert</h3>")
    html.append(
        "<p>Israeli alerts carry no end time, so no duration can be measured; what the "
        "data shows instead is how many areas each alert covers.</p>"
    )
    groups: dict[str, list[float]] = {}
    alerts = loaded[main]
    with_zone = alerts.zone != None  # noqa: E711 (numpy elementwise)
    year = (alerts.local_start // 86400).astype("datetime64[D]").astype("datetime64[Y]").astype(str)
    for label, years in (
        ("2019–2022", {"2019", "2020", "2021", "2022"}),
        ("2023", {"2023"}),
        ("2024", {"2024"}),
        ("2025–2026", {"2025", "2026"}),
    ):
        mine = with_zone & np.isin(year, list(years))
        if mine.any():
            _, counts = np.unique(alerts.event[mine].astype(str), return_counts=True)
            groups[label] = counts.astype(float).tolist()
    html.append(svg.histogram(groups, AREAS_EDGES, x_label="areas per alert"))
    html.append(
        _method(
            [
                f"{main}: share of alerts by the number of areas they named, per "
                "period; an alert is every area named in the same minute and category."
            ]
        )
    )
    comparison = fatigue.israel_areas_per_alert(engine, names)
    html.append("<h3>Areas per alert, by year, and a district-wide policy</h3>")
    html.append(_table(comparison.columns, comparison.rows))
    html.append(_method(comparison.method, comparison.limits))
    return "".join(html)


def _notes(engine: Engine, known: dict[str, dict[str, Any]]) -> str:
    html = [
        "<h2>Import notes</h2><p>What each import found and did: nothing is changed or "
        "dropped silently.</p>"
    ]
    with engine.connect() as connection:
        unmatched = connection.execute(
            sa.select(
                history_import.c.source,
                history_unmatched.c.name,
                history_unmatched.c.mentions,
                history_unmatched.c.candidates,
            )
            .join(history_import)
            .order_by(history_unmatched.c.mentions.desc())
        ).all()
    for name, summary in known.items():
        notes = "".join(f"<li>{escape(n)}</li>" for n in summary["notes"])
        top = [
            [u.name, u.mentions, "; ".join(json.loads(u.candidates))]
            for u in unmatched
            if u.source == name
        ][:10]
        html.append(
            f"<details><summary><b>{escape(name)}</b> ({escape(summary['file_name'])})"
            f"</summary><ul class=notes>{notes}</ul>"
            + (
                (
                    "<p>Most mentioned unmatched names:</p>"
                    + _table(["name", "mentions", "closest candidates"], top)
                )
                if top
                else ""
            )
            + "</details>"
        )
    return "".join(html)


def write_report(engine: Engine, out_dir: str | Path) -> Path:
    """Write `index.html` into `out_dir` (made if missing); returns its path."""
    known = sources(engine)
    if not known:
        raise HistoryError(
            "nothing is imported yet; run `airwarn history import all ../shared/data` first"
        )
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HistoryError(f"cannot make the folder {out}: {exc.strerror}", field="--out") from None
    periods = {}
    for name in known:
        alerts = load_alerts(engine, name)
        if len(alerts):
            periods[name] = f"{_day(int(alerts.start.min()))} → {_day(int(alerts.start.max()))}"
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = (
        f"<h1>Alert history and alert fatigue</h1><p class=lead>What alerting has cost "
        f"people, measured on the real alert histories of Ukraine and Israel. Generated "
        f"{generated} by airwarn. Hover a zone or a bar for its figures.</p>"
        + _sources_section(known, periods)
        + _ukraine(engine, known)
        + _israel(engine, known)
        + _notes(engine, known)
        + f"<p class=small>{escape(CREDITS)}</p>"
    )
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width,initial-scale=1"><title>airwarn: alert history'
        f"</title><style>{CSS}</style></head><body>{body}</body></html>"
    )
    path = out / "index.html"
    partial = out / "index.html.partial"
    partial.write_text(page, encoding="utf-8")
    partial.replace(path)
    return path
