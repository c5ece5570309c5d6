"""What an import of an alert history produces: alert rows attached to zones, the names that
matched nothing, and notes on every quirk met (so that nothing is kept or dropped silently)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from airwarn.errors import AirwarnError

# Flags an alert row can carry (comma-separated in the store).
END_IMPUTED = "end_imputed"  # the source imputed the end (volunteer `naive`)
NO_END = "no_end"  # the source has no end times at all (Israel)
UNTERMINATED = "unterminated"  # the row has a start but no end
ABSURD = "absurd"  # longer than ABSURD_S, or ending before it starts
ANOMALY_UPSTREAM = "anomaly_upstream"  # the source itself flagged the duration anomalous
SWAPPED = "swapped_columns"  # the row had two columns swapped; read the right way round
DST_AMBIGUOUS = "dst_ambiguous"  # a local time that happens twice (clocks go back)
DST_GAP = "dst_gap"  # a local time that never happens (clocks go forward)

# Longer than three days is no single raid's alert: the consolidated Ukrainian series flags its
# own anomalies from 72.1 h up, and the longest ordinary official alerts last about a day.
ABSURD_S = 72 * 3600


class HistoryError(AirwarnError):
    """An alert history cannot be imported as given: says the file, line, field and the fix."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message, self.source, self.line, self.field = message, source, line, field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [
            w
            for w in (
                self.source,
                self.line and f"line {self.line}",
                self.field and f"field {self.field}",
            )
            if w
        ]
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass(slots=True)
class AlertRow:
    """One alert for one place, as the store keeps it (times in seconds since the epoch, UTC)."""

    line: int
    event_key: str  # rows of one alert message share it
    place: str  # the name as the source wrote it
    level: str  # oblast | raion | hromada | area
    match: str  # how the place was found: exact, normalized, part, truncated, alias, region...
    zone_id: str | None
    region: str | None
    category: str | None
    started_s: int
    ended_s: int | None
    utc_offset_s: int
    flags: str = ""


@dataclass
class Unmatched:
    """A name that matched no zone: how often, where first, and the closest known names."""

    mentions: int
    first_line: int
    candidates: list[str] = field(default_factory=list)


@dataclass
class ImportOutcome:
    """Everything one import made: rows, unmatched names, counts and notes for the user."""

    source: str
    zone_set: str
    file_name: str
    rows_read: int = 0
    alerts: list[AlertRow] = field(default_factory=list)
    unmatched: dict[str, Unmatched] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    mentions: int = 0  # names (rows for Ukraine, area mentions for Israel) looked up
    matched_zone: int = 0  # ... that found a zone
    matched_region: int = 0  # ... that found only a region (legacy codes)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def miss(self, name: str, line: int) -> None:
        entry = self.unmatched.get(name)
        if entry is None:
            self.unmatched[name] = Unmatched(1, line)
        else:
            entry.mentions += 1

    @property
    def zone_rate(self) -> float:
        return self.matched_zone / self.mentions if self.mentions else 1.0

    @property
    def place_rate(self) -> float:
        return (self.matched_zone + self.matched_region) / self.mentions if self.mentions else 1.0

    def summary(self) -> dict[str, Any]:
        """The JSON the store keeps beside the import: rates, counts and notes."""
        return {
            "source": self.source,
            "zone_set": self.zone_set,
            "file_name": self.file_name,
            "rows_read": self.rows_read,
            "alerts": len(self.alerts),
            "mentions": self.mentions,
            "matched_zone": self.matched_zone,
            "matched_region": self.matched_region,
            "zone_rate": round(self.zone_rate, 6),
            "place_rate": round(self.place_rate, 6),
            "unmatched_names": len(self.unmatched),
            "unmatched_mentions": sum(u.mentions for u in self.unmatched.values()),
            "counts": dict(sorted(self.counts.items())),
            "notes": self.notes,
        }
