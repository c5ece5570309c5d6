"""Importers for Israel's alert histories (local time, Asia/Jerusalem; no end times).

Two formats, told apart by their header:
- `israel-dleshem`: one row per alert message, `data` = area names joined by commas, local
  `date` (DD.MM.YYYY) and `time`, the minute in `alertDate`, a category code and its text;
- `israel-eranyariv`: one row per alert × area, `time_local` with an offset label that is always
  +02:00 although the clock is local summer or winter time (checked against the other file).

An area mention becomes one alert row per zone; mentions of one zone in the same minute and
category are one alert (the messages repeat as a salvo goes on). Area names containing commas,
truncated names, renamed areas and legacy area codes are matched by `airwarn.history.matching`.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from airwarn.history.matching import IsraelMatcher
from airwarn.history.records import (
    DST_AMBIGUOUS,
    DST_GAP,
    NO_END,
    AlertRow,
    HistoryError,
    ImportOutcome,
)
from airwarn.history.times import JERUSALEM, local_seconds
from airwarn.layers.report import examples, plural

Progress = Callable[[int], None]

DLESHEM = ("data", "date", "time", "alertDate", "category", "category_desc")
ERANYARIV = ("alert_id", "time_local", "category", "area_he")

# Category names, from the codes' Hebrew descriptions; drills are kept apart from real alerts.
_BY_TEXT = {
    "ירי רקטות וטילים": "rockets",
    "חדירת כלי טיס עוין": "hostile_aircraft",
    "חדירת מחבלים": "infiltration",
    "רעידת אדמה": "earthquake",
    "אזהרה": "warning",
}
_NEWER_CODES = {"1": "rockets", "2": "hostile_aircraft", "3": "infiltration", "4": "earthquake"}


def category_of(text: str, code: str, codes: dict[str, str] | None = None) -> str:
    """A category name: rockets, hostile_aircraft, infiltration, earthquake, warning, drill."""
    text = text.strip()
    if text.startswith("תרגיל"):
        return "drill"
    if text in _BY_TEXT:
        return _BY_TEXT[text]
    if codes and code.strip() in codes:
        return codes[code.strip()]
    return f"code_{code.strip()}"


def detect_format(path: str | Path) -> str:
    """`israel-dleshem` or `israel-eranyariv`, from the header; an error names what was found."""
    header = next(csv.reader(_open_text(Path(path))), [])
    if set(DLESHEM) <= set(header):
        return "israel-dleshem"
    if set(ERANYARIV) <= set(header):
        return "israel-eranyariv"
    raise HistoryError(
        f"not an Israeli alert history (header {', '.join(header[:8])}); expected "
        "the columns data, date, time, alertDate, category, category_desc or "
        "alert_id, time_local, category, area_he, e.g. ../shared/data/israel/"
        "alerts/alertHistory_eranyariv_flat.csv.gz",
        source=str(path),
        line=1,
    )


def _open_text(path: Path) -> io.TextIOBase:
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise HistoryError(f"cannot read the file: {exc.strerror}", source=str(path)) from None
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8", newline="")
    raw.seek(0)
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def _rows(path: Path, progress: Progress | None) -> Iterator[tuple[int, dict[str, str]]]:
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        count = 0
        try:
            for row in reader:
                yield reader.line_num, row
                count += 1
                if progress is not None and count % 5000 == 0:
                    progress(5000)
        except (gzip.BadGzipFile, EOFError, UnicodeDecodeError) as exc:
            raise HistoryError(
                f"the file is damaged or not UTF-8 text ({exc}); download it again",
                source=str(path),
                line=reader.line_num,
            ) from None
        if progress is not None:
            progress(count % 5000)


class _Builder:
    """Turns (event, area names) into alert rows, matching and de-duplicating as it goes."""

    def __init__(self, outcome: ImportOutcome, matcher: IsraelMatcher) -> None:
        self.outcome, self.matcher = outcome, matcher
        self.seen: set[tuple[str, str | None, str]] = set()
        self.kinds: Counter[str] = Counter()
        self.dst: Counter[str] = Counter()
        self.dst_examples: list[str] = []

    def note_dst(self, flag: str, line: int, wall: datetime) -> None:
        """Count a daylight-saving flag and keep a few examples for the notes."""
        if flag:
            self.dst[flag] += 1
            if len(self.dst_examples) < 4:
                self.dst_examples.append(f"line {line} {wall:%Y-%m-%d %H:%M:%S} ({flag})")

    def add(
        self,
        line: int,
        event_key: str,
        names: list[str],
        category: str,
        started: int,
        offset: int,
        flags: str,
    ) -> None:
        outcome = self.outcome
        for raw in names:
            name = raw.strip()
            if not name:
                outcome.counts["empty area names"] += 1
                continue
            found = self.matcher.match(name)
            if found is None and "," in name:
                # a whole joint name cut short, then split: try each part
                parts = [p for p in name.split(",") if p.strip()]
                self.add(line, event_key, parts, category, started, offset, flags)
                outcome.counts["names split at commas"] += 1
                continue
            kind = found.kind if found else "none"
            self.kinds[kind] += 1
            if kind == "not_a_place":
                outcome.counts["not a place (tests)"] += 1
                zone_ids: tuple[str | None, ...] = (None,)
                region = None
            else:
                outcome.mentions += 1
                if found is None:
                    outcome.miss(name, line)
                    zone_ids, region = (None,), None
                elif found.zone_ids:
                    outcome.matched_zone += 1
                    zone_ids, region = found.zone_ids, found.region
                else:
                    outcome.matched_region += 1
                    zone_ids, region = (None,), found.region
            for zone_id in zone_ids:
                key = (event_key, zone_id, name if zone_id is None else "")
                if key in self.seen:
                    outcome.counts["repeats of a zone in the same minute and category"] += 1
                    continue
                self.seen.add(key)
                zone_region = self.matcher.region_of.get(zone_id, region) if zone_id else region
                outcome.alerts.append(
                    AlertRow(
                        line,
                        event_key,
                        name,
                        "area",
                        kind,
                        zone_id,
                        zone_region,
                        category,
                        started,
                        None,
                        offset,
                        flags,
                    )
                )


def import_dleshem(
    path: str | Path, matcher: IsraelMatcher, progress: Progress | None = None
) -> ImportOutcome:
    """The message archive: one row per alert message with its areas joined by commas."""
    path = Path(path)
    outcome = ImportOutcome("israel-dleshem", "israel", path.name)
    build = _Builder(outcome, matcher)
    categories: Counter[str] = Counter()
    for line, row in _rows(path, progress):
        outcome.rows_read += 1
        try:
            wall = datetime.strptime(
                f"{row['date'].strip()} {row['time'].strip()}", "%d.%m.%Y %H:%M:%S"
            )
        except ValueError:
            raise HistoryError(
                f"date/time {row['date']!r} {row['time']!r} is not a local time "
                "like 24.07.2014 17:05:26 (fix or remove the row)",
                source=str(path),
                line=line,
                field="date",
            ) from None
        started, offset, flag = local_seconds(wall, JERUSALEM)
        build.note_dst(flag, line, wall)
        category = category_of(row["category_desc"], row["category"])
        categories[category] += 1
        event_key = f"{row['alertDate'].strip()[:16]}|{category}"
        flags = ",".join(f for f in (NO_END, flag) if f)
        build.add(line, event_key, row["data"].split(","), category, started, offset, flags)
    _notes(
        outcome,
        build,
        categories,
        "Times are local (date + time, Asia/Jerusalem) and were converted to UTC.",
    )
    return outcome


def import_eranyariv(
    path: str | Path, matcher: IsraelMatcher, progress: Progress | None = None
) -> ImportOutcome:
    """The flat archive: one row per alert × area, `time_local` with a fixed +02:00 label."""
    path = Path(path)
    outcome = ImportOutcome("israel-eranyariv", "israel", path.name)
    build = _Builder(outcome, matcher)
    categories: Counter[str] = Counter()
    mislabelled = 0
    for line, row in _rows(path, progress):
        outcome.rows_read += 1
        text = row["time_local"].strip()
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            raise HistoryError(
                f"time_local {text!r} is not a time like "
                "2026-03-07T20:31:34+02:00 (fix or remove the row)",
                source=str(path),
                line=line,
                field="time_local",
            ) from None
        wall = stamp.replace(tzinfo=None)
        started, offset, flag = local_seconds(wall, JERUSALEM)
        build.note_dst(flag, line, wall)
        label = stamp.utcoffset()
        if label is not None and int(label.total_seconds()) != offset:
            mislabelled += 1
        category = category_of(row.get("title_he") or "", row["category"], _NEWER_CODES)
        categories[category] += 1
        event_key = f"{wall.isoformat()[:16]}|{category}"
        flags = ",".join(f for f in (NO_END, flag) if f)
        build.add(line, event_key, [row["area_he"]], category, started, offset, flags)
    _notes(
        outcome,
        build,
        categories,
        f"time_local is the local wall clock: its +02:00 label is wrong in summer time "
        f"(the same alerts in the other Israeli file, in local time, agree with the clock, "
        f"not the label); read as Asia/Jerusalem local time. "
        f"{plural(mislabelled, 'row')} carry a label that is not the real offset.",
    )
    outcome.counts["mislabelled offsets"] = mislabelled
    return outcome


def _notes(
    outcome: ImportOutcome, build: _Builder, categories: Counter[str], time_note: str
) -> None:
    outcome.note(
        f"{plural(outcome.rows_read, 'row')} read; {len(outcome.alerts):,} alert rows "
        "(one per zone and alert). Categories: "
        + ", ".join(f"{c} {n:,}" for c, n in categories.most_common())
        + "."
    )
    outcome.note(time_note)
    dst = build.dst
    outcome.note(
        f"Daylight saving: {dst[DST_AMBIGUOUS]:,} local times fall in the hour the clocks go "
        f"back (read as the first, summer-time occurrence, flagged {DST_AMBIGUOUS}); "
        f"{dst[DST_GAP]:,} fall in the hour that does not exist when they go forward (flagged "
        f"{DST_GAP})" + (f": {examples(build.dst_examples, 4)}." if build.dst_examples else ".")
    )
    outcome.note(
        "No end times: Israeli alerts say when to take shelter, not when it is over. "
        f"Rows are flagged {NO_END}; hours under alert assume the Home Front Command's "
        "usual 10 minutes in shelter per alert (stated beside every such figure)."
    )
    kinds = build.kinds
    outcome.note(
        f"Matched {outcome.matched_zone:,} of {outcome.mentions:,} area mentions to a zone "
        f"({outcome.zone_rate:.2%}) and {outcome.matched_region:,} more to a district only "
        f"(legacy area codes; {outcome.place_rate:.2%} to a zone or district). How: "
        + ", ".join(f"{k} {n:,}" for k, n in kinds.most_common())
        + ". "
        + (
            f"{plural(len(outcome.unmatched), 'name')} "
            f"({sum(u.mentions for u in outcome.unmatched.values()):,} mentions) matched "
            "nothing and are kept with no zone (see `airwarn history unmatched`)."
            if outcome.unmatched
            else "Every name matched."
        )
    )
    repeats = outcome.counts["repeats of a zone in the same minute and category"]
    outcome.note(
        f"{plural(repeats, 'mention')} repeat a zone already alerted in the same "
        "minute and category (the message was re-sent as the salvo went on): merged "
        "into one alert each."
    )
