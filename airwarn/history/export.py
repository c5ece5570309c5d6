"""Exports of the imported histories as CSV and Parquet: alerts (ISO 8601 UTC times), zones,
per-zone statistics and unmatched names, one file per table and source."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from airwarn.history.records import HistoryError
from airwarn.history.stats import compute, load_alerts, sources, zone_labels
from airwarn.history.tables import history_alert, history_import, history_unmatched, history_zone
from airwarn.history.times import iso_utc

ALERT_COLUMNS = [
    "source",
    "line",
    "event_key",
    "place",
    "level",
    "match",
    "zone_id",
    "region",
    "category",
    "started_utc",
    "ended_utc",
    "utc_offset_s",
    "flags",
]


def _alerts(engine: Engine, source: str) -> dict[str, list[Any]]:
    c = history_alert.c
    query = (
        sa.select(
            c.source,
            c.line,
            c.event_key,
            c.place,
            c.level,
            c.match,
            c.zone_id,
            c.region,
            c.category,
            c.started_s,
            c.ended_s,
            c.utc_offset_s,
            c.flags,
        )
        .where(c.source == source)
        .order_by(c.id)
    )
    columns: dict[str, list[Any]] = {name: [] for name in ALERT_COLUMNS}
    with engine.connect() as connection:
        for row in connection.execute(query):
            values = list(row)
            values[9] = iso_utc(values[9])
            values[10] = iso_utc(values[10]) or None
            for name, value in zip(ALERT_COLUMNS, values, strict=True):
                columns[name].append(value)
    return columns


def _write(columns: dict[str, list[Any]], stem: Path, fmt: str) -> list[Path]:
    written = []
    if fmt in ("csv", "both"):
        path = stem.with_suffix(".csv")
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(zip(*columns.values(), strict=True))
        written.append(path)
    if fmt in ("parquet", "both"):
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ModuleNotFoundError:
            raise HistoryError(
                "Parquet needs pyarrow: pip install 'pyarrow>=14', or use --format csv",
                field="--format",
            ) from None
        path = stem.with_suffix(".parquet")
        pq.write_table(pa.table(columns), path, compression="zstd")
        written.append(path)
    return written


def export_all(engine: Engine, out_dir: str | Path, fmt: str = "both") -> list[Path]:
    """Write every table of every imported source to `out_dir`; returns the files written."""
    if fmt not in ("csv", "parquet", "both"):
        raise HistoryError(f"--format is csv, parquet or both, not {fmt!r}", field="--format")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HistoryError(f"cannot make the folder {out}: {exc.strerror}", field="--out") from None
    known = sources(engine)
    if not known:
        raise HistoryError(
            "nothing is imported yet; run `airwarn history import all ../shared/data` first"
        )
    written: list[Path] = []
    for source in known:
        written += _write(_alerts(engine, source), out / f"alerts_{source}", fmt)
        alerts = load_alerts(engine, source)
        labels = zone_labels(engine, alerts.zone_set)
        result = compute(alerts, "zone", labels)
        table: dict[str, list[Any]] = {
            k: []
            for k in (
                "zone_id",
                "name",
                "region",
                "alerts",
                "hours_under_alert",
                "median_min",
                "longest_min",
                "night_alerts",
                "longest_quiet_days",
            )
        }
        for row in result.rows:
            for key, value in zip(
                table,
                (
                    row.key,
                    row.label,
                    row.region,
                    row.alerts,
                    round(row.hours, 3),
                    row.median_min,
                    row.longest_min,
                    row.night,
                    row.quiet_days,
                ),
                strict=True,
            ):
                table[key].append(value)
        written += _write(table, out / f"stats_by_zone_{source}", fmt)
    c = history_zone.c
    with engine.connect() as connection:
        zones = connection.execute(
            sa.select(c.zone_set, c.zone_id, c.level, c.name, c.region, c.area_km2, c.shelter_s)
        ).all()
        unmatched = connection.execute(
            sa.select(
                history_import.c.source,
                history_unmatched.c.name,
                history_unmatched.c.mentions,
                history_unmatched.c.first_line,
                history_unmatched.c.candidates,
            ).join(history_import)
        ).all()
    zone_cols = ["zone_set", "zone_id", "level", "name", "region", "area_km2", "shelter_s"]
    written += _write({k: [getattr(z, k) for z in zones] for k in zone_cols}, out / "zones", fmt)
    un_cols = ["source", "name", "mentions", "first_line", "candidates"]
    written += _write(
        {
            k: [
                ("; ".join(json.loads(u.candidates)) if k == "candidates" else getattr(u, k))
                for u in unmatched
            ]
            for k in un_cols
        },
        out / "unmatched",
        fmt,
    )
    return written
