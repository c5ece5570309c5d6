"""Times in alert histories: UTC stamps, local wall-clock times with daylight saving, and the
local offset kept beside each alert (for "at night" and "per month" in local time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from airwarn.history.records import DST_AMBIGUOUS, DST_GAP, HistoryError

KYIV = ZoneInfo("Europe/Kyiv")
JERUSALEM = ZoneInfo("Asia/Jerusalem")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_seconds(text: str, *, source: str, line: int, field: str) -> tuple[int, bool]:
    """Seconds since the epoch for a UTC stamp such as `2022-03-15 16:10:34+00:00` or
    `2022-03-15T16:10:34Z`; the flag says the stamp had no offset (then read as UTC)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise HistoryError(
            f"{text!r} is not a time; expected an ISO 8601 UTC time such as "
            "2022-03-15 16:10:34+00:00 (fix or remove the row)",
            source=source,
            line=line,
            field=field,
        ) from None
    naive = moment.tzinfo is None
    if naive:
        moment = moment.replace(tzinfo=UTC)
    return int((moment - _EPOCH).total_seconds()), naive


def offset_at(seconds: int, zone: ZoneInfo) -> int:
    """The zone's UTC offset, in seconds, at an instant."""
    offset = datetime.fromtimestamp(seconds, zone).utcoffset()
    return int(offset.total_seconds()) if offset else 0


def local_seconds(wall: datetime, zone: ZoneInfo) -> tuple[int, int, str]:
    """(UTC seconds, offset, flag) for a naive local wall-clock time.

    A time that happens twice (the hour the clocks go back) is read as the first, summer-time
    occurrence and flagged `dst_ambiguous`; a time that never happens (the hour the clocks go
    forward) is read with the offset before the change and flagged `dst_gap`.
    """
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    flag = ""
    off0, off1 = first.utcoffset(), second.utcoffset()
    if off0 != off1:
        back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        flag = DST_GAP if back != wall else DST_AMBIGUOUS
    offset = off0 or timedelta(0)
    moment = wall.replace(tzinfo=UTC) - offset
    return int((moment - _EPOCH).total_seconds()), int(offset.total_seconds()), flag


def iso_utc(seconds: int | None) -> str:
    """`2022-03-15T16:10:34Z`, or an empty string for None."""
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
