"""Importers for Ukraine's air-raid alert histories (all times UTC): the official state
service's export, the volunteer channel's series, and the consolidated per-oblast series.

Each row is one alert for one place (an oblast, raion or hromada), attached to its KATOTTG zone
through the crosswalk. Known problems are handled by rule and reported: the official row with
oblast and raion swapped, the volunteer series' imputed end times, the consolidated series'
~600-day event and its own anomaly flag, alerts without an end, overlapping alerts for one place.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

from airwarn.history.matching import UkraineMatcher
from airwarn.history.records import (
    ABSURD,
    ABSURD_S,
    ANOMALY_UPSTREAM,
    END_IMPUTED,
    SWAPPED,
    UNTERMINATED,
    AlertRow,
    HistoryError,
    ImportOutcome,
)
from airwarn.history.times import KYIV, iso_utc, offset_at, utc_seconds
from airwarn.layers.report import examples, plural

Progress = Callable[[int], None]

OFFICIAL = ("oblast", "raion", "hromada", "level", "started_at", "finished_at")
VOLUNTEER = ("region", "started_at", "finished_at", "naive")
CONSOLIDATED = (
    "region",
    "started_at",
    "finished_at",
    "n_subalerts",
    "duration_minutes",
    "is_anomaly_duration",
)
# Permanent alerts the sources leave out (README of the data): since these dates the places
# were under alert all the time, and the histories hold nothing for them.
PERMANENT_ALERTS = {"Luhanska oblast": "2022-04-04", "Avtonomna Respublika Krym": "2022-12-10"}


def read_rows(
    path: Path, columns: tuple[str, ...], source: str, progress: Progress | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for every data row of a CSV, after checking its header."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise HistoryError(f"cannot read the file: {exc.strerror}", source=str(path)) from None
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in columns if c not in header]
        if missing:
            raise HistoryError(
                f"no column {', '.join(missing)}: this is not a {source} "
                f"file (it has {', '.join(header[:8]) or 'no header'}); "
                f"check the file and the command (see `airwarn history "
                "import --help`)",
                source=str(path),
                line=1,
                field=missing[0],
            )
        consumed = 0
        for row in reader:
            yield reader.line_num, row
            consumed += 1
            if progress is not None and consumed % 5000 == 0:
                progress(5000)
        if progress is not None:
            progress(consumed % 5000)


def _timed(
    outcome: ImportOutcome,
    path: Path,
    line: int,
    row: dict[str, str],
    start_field: str = "started_at",
    end_field: str = "finished_at",
) -> tuple[int, int | None, int, list[str]]:
    """Start, end, local offset and flags of one row, with the checks every source shares."""
    started, naive_start = utc_seconds(
        row[start_field], source=str(path), line=line, field=start_field
    )
    flags: list[str] = []
    ended: int | None = None
    text = (row.get(end_field) or "").strip()
    if text:
        ended, naive_end = utc_seconds(text, source=str(path), line=line, field=end_field)
        if naive_start or naive_end:
            outcome.counts["times without offset, read as UTC"] += 1
        if ended - started > ABSURD_S or ended < started:
            flags.append(ABSURD)
    else:
        flags.append(UNTERMINATED)
    return started, ended, offset_at(started, KYIV), flags


def _row(
    outcome: ImportOutcome,
    line: int,
    place: str,
    level: str,
    zone_id: str | None,
    region: str | None,
    timed: tuple[int, int | None, int, list[str]],
    match: str,
) -> None:
    started, ended, offset, flags = timed
    outcome.mentions += 1
    if zone_id is not None:
        outcome.matched_zone += 1
    else:
        outcome.miss(place, line)
    outcome.counts[f"match {match}"] += 1
    outcome.alerts.append(
        AlertRow(
            line,
            str(line),
            place,
            level,
            match,
            zone_id,
            region,
            None,
            started,
            ended,
            offset,
            ",".join(flags),
        )
    )


def _oblast_row(
    outcome: ImportOutcome,
    matcher: UkraineMatcher,
    line: int,
    region: str,
    timed: tuple[int, int | None, int, list[str]],
) -> None:
    """A row of a series kept per oblast: matched to the oblast's zone by name, or missed."""
    zone_id = matcher.oblast(region)
    _row(
        outcome,
        line,
        region,
        "oblast",
        zone_id,
        matcher.region_of(zone_id) if zone_id else None,
        timed,
        "exact" if zone_id else "none",
    )


def import_official(
    path: str | Path, matcher: UkraineMatcher, progress: Progress | None = None
) -> ImportOutcome:
    """The official export: one row per alert for an oblast, raion or hromada."""
    path = Path(path)
    outcome = ImportOutcome("ukraine-official", "ukraine", path.name)
    swapped: list[str] = []
    levels: Counter[str] = Counter()
    for line, row in read_rows(path, OFFICIAL, "official Ukrainian alert", progress):
        outcome.rows_read += 1
        oblast, raion = row["oblast"].strip(), row["raion"].strip()
        hromada, level = row["hromada"].strip(), row["level"].strip()
        if not matcher.is_oblast(oblast) and matcher.is_oblast(raion) and matcher.is_raion(oblast):
            # a known upstream slip: the raion was written in the oblast column and vice versa
            oblast, raion = raion, oblast
            swapped.append(f"line {line}: {oblast} / {raion}")
        if level not in ("oblast", "raion", "hromada"):
            raise HistoryError(
                f"unknown level {level!r}; the official export has oblast, raion "
                "or hromada (fix the row or remove it)",
                source=str(path),
                line=line,
                field="level",
            )
        levels[level] += 1
        timed = _timed(outcome, path, line, row)
        if swapped and swapped[-1].startswith(f"line {line}:"):
            timed[3].append(SWAPPED)
        if level == "oblast":
            place, zone_id = oblast, matcher.oblast(oblast)
        elif level == "raion":
            place, zone_id = f"{raion}, {oblast}", matcher.raion(oblast, raion)
        else:
            place = f"{hromada}, {raion}, {oblast}"
            zone_id = matcher.hromada(oblast, raion, hromada)
        region = (
            matcher.region_of(zone_id)
            if zone_id
            else (matcher.region_of(o) if (o := matcher.oblast(oblast)) else None)
        )
        _row(
            outcome, line, place, level, zone_id, region, timed, "crosswalk" if zone_id else "none"
        )
    outcome.note(
        f"{plural(outcome.rows_read, 'row')} read: "
        + ", ".join(f"{n:,} at {lvl} level" for lvl, n in levels.most_common())
        + "; every row is one alert for one place, attached to its KATOTTG zone "
        "through the crosswalk (oblast → raion → hromada, by English name)."
    )
    if swapped:
        outcome.note(
            f"{plural(len(swapped), 'row')} had the oblast and raion columns swapped "
            f"(a raion name under oblast and an oblast name under raion); read the "
            f"right way round and flagged {SWAPPED}: {examples(swapped)}."
        )
    _common_notes(outcome)
    return outcome


def import_volunteer(
    path: str | Path, matcher: UkraineMatcher, progress: Progress | None = None
) -> ImportOutcome:
    """The volunteer channel's series: one row per oblast-level alert; `naive` = end imputed."""
    path = Path(path)
    outcome = ImportOutcome("ukraine-volunteer", "ukraine", path.name)
    imputed: Counter[int] = Counter()
    for line, row in read_rows(path, VOLUNTEER, "volunteer Ukrainian alert", progress):
        outcome.rows_read += 1
        region = row["region"].strip()
        timed = _timed(outcome, path, line, row)
        naive = row["naive"].strip().lower()
        if naive not in ("true", "false"):
            raise HistoryError(
                f"naive is {row['naive']!r}; expected True or False",
                source=str(path),
                line=line,
                field="naive",
            )
        if naive == "true":
            timed[3].append(END_IMPUTED)
            if timed[1] is not None:
                imputed[(timed[1] - timed[0]) // 60] += 1
        _oblast_row(outcome, matcher, line, region, timed)
    outcome.note(
        f"{plural(outcome.rows_read, 'row')} read, all at oblast level (Kyiv City is "
        "its own region)."
    )
    if imputed:
        shown = ", ".join(f"{m} min ×{n:,}" for m, n in imputed.most_common(3))
        outcome.note(
            f"{plural(sum(imputed.values()), 'alert')} have an end the channel imputed "
            f"(naive = True; durations {shown}): kept, flagged {END_IMPUTED}; "
            "statistics count them and say how many there are, and "
            "`--exact-ends` leaves them out of durations."
        )
    _common_notes(outcome)
    return outcome


def import_consolidated(
    path: str | Path, matcher: UkraineMatcher, progress: Progress | None = None
) -> ImportOutcome:
    """The consolidated series: overlapping alerts already merged per oblast."""
    path = Path(path)
    outcome = ImportOutcome("ukraine-consolidated", "ukraine", path.name)
    upstream: list[str] = []
    disagree = 0
    for line, row in read_rows(path, CONSOLIDATED, "consolidated Ukrainian alert", progress):
        outcome.rows_read += 1
        region = row["region"].strip()
        timed = _timed(outcome, path, line, row)
        if row["is_anomaly_duration"].strip().lower() == "true":
            timed[3].append(ANOMALY_UPSTREAM)
            upstream.append(f"line {line} {region} {row['duration_minutes']} min")
        try:
            minutes = float(row["duration_minutes"])
        except ValueError:
            raise HistoryError(
                f"duration_minutes is {row['duration_minutes']!r}, not a number",
                source=str(path),
                line=line,
                field="duration_minutes",
            ) from None
        if timed[1] is not None and abs((timed[1] - timed[0]) / 60 - minutes) > 1:
            disagree += 1
        _oblast_row(outcome, matcher, line, region, timed)
    outcome.note(
        f"{plural(outcome.rows_read, 'row')} read, all at oblast level; overlapping "
        "alerts were already merged upstream (n_subalerts)."
    )
    outcome.note(
        f"{plural(len(upstream), 'row')} flagged anomalous upstream "
        f"(is_anomaly_duration): kept and flagged {ANOMALY_UPSTREAM}: "
        f"{examples(upstream, 3)}."
    )
    if disagree:
        outcome.note(
            f"{plural(disagree, 'row')} give a duration_minutes more than a minute "
            "away from finished_at − started_at; the times were used."
        )
    _common_notes(outcome)
    return outcome


def _common_notes(outcome: ImportOutcome) -> None:
    """Notes every Ukrainian source gets: matching, ends, absurd lengths, overlaps, gaps."""
    rows = outcome.alerts
    outcome.note(
        f"Matched {outcome.matched_zone:,} of {outcome.mentions:,} rows to a zone "
        f"({outcome.zone_rate:.2%}); "
        + (
            f"{plural(len(outcome.unmatched), 'name')} matched none and "
            "are kept with no zone (see `airwarn history unmatched`)."
            if outcome.unmatched
            else "every name matched."
        )
    )
    open_rows = [r for r in rows if UNTERMINATED in r.flags]
    outcome.counts["unterminated"] = len(open_rows)
    outcome.note(
        f"Unterminated alerts (no end): {len(open_rows):,}"
        + (
            f"; kept, flagged {UNTERMINATED}, counted as alerts but not in hours or "
            f"durations: {examples(f'line {r.line} {r.place}' for r in open_rows)}."
            if open_rows
            else "."
        )
    )
    absurd = [r for r in rows if ABSURD in r.flags]
    outcome.counts["absurd"] = len(absurd)
    if absurd:
        worst = sorted(absurd, key=lambda r: -((r.ended_s or 0) - r.started_s))
        shown = examples(
            (
                f"line {r.line} {r.place} {iso_utc(r.started_s)[:10]} → "
                f"{iso_utc(r.ended_s)[:10]} "
                f"({((r.ended_s or 0) - r.started_s) / 86400:.1f} days)"
                for r in worst
            ),
            3,
        )
        outcome.note(
            f"{plural(len(absurd), 'alert')} last longer than {ABSURD_S // 3600} h or "
            f"end before they start: kept, flagged {ABSURD}, left out of hours and "
            f"durations (statistics say how many): {shown}."
        )
    else:
        outcome.note(
            f"Absurd alerts (longer than {ABSURD_S // 3600} h or ending before they start): none."
        )
    by_zone: dict[str | None, list[AlertRow]] = defaultdict(list)
    for row in rows:
        if row.ended_s is not None and ABSURD not in row.flags:
            by_zone[row.zone_id].append(row)
    overlapping = 0
    for group in by_zone.values():
        group.sort(key=lambda r: r.started_s)
        reach = None
        for row in group:
            if reach is not None and row.started_s < reach:
                overlapping += 1
            reach = max(reach or 0, row.ended_s or 0)
    outcome.counts["overlapping"] = overlapping
    outcome.note(
        f"{plural(overlapping, 'alert')} start while an earlier alert for the same "
        "zone is still on: kept as rows; hours under alert merge them (a zone under "
        "two alerts at once counts its time once)."
    )
    last: dict[str, int] = {}
    for row in rows:
        if row.region:
            last[row.region] = max(last.get(row.region, 0), row.started_s)
    missing = [
        f"{region} (permanent alert since {since}; last alert in this source "
        f"{iso_utc(last[region])[:10] if region in last else 'never'})"
        for region, since in PERMANENT_ALERTS.items()
    ]
    outcome.note(
        "Permanent alerts are absent from the sources: "
        + "; ".join(missing)
        + ". Their hours under alert are understated, and comparisons leave them out."
    )
