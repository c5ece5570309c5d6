"""Statistics rules on small hand-made histories: merging overlaps, quiet spells, night in local
time across daylight saving, and names matched spelling-insensitively."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from airwarn.history.matching import name_key
from airwarn.history.stats import Alerts, compute, merge_intervals
from airwarn.history.times import KYIV, offset_at

H = 3600


def t(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def alerts(rows: list[tuple[str, str, int, int]], *, excluded: set[int] = frozenset()) -> Alerts:
    """Rows of (zone, event, start, end) in Ukraine (Kyiv time); indexes in `excluded` are
    absurd alerts (kept, not in hours)."""
    n = len(rows)
    start = np.array([r[2] for r in rows], dtype=np.int64)
    span_end = np.array([r[3] for r in rows], dtype=np.int64)
    bad = np.array([i in excluded for i in range(n)], dtype=bool)
    return Alerts(
        "test",
        "ukraine",
        np.array([r[0] for r in rows], dtype=object),
        np.array(["R"] * n, dtype=object),
        np.array([r[1] for r in rows], dtype=object),
        start,
        np.where(bad, -1, span_end),
        np.array([offset_at(int(s), KYIV) for s in start], dtype=np.int64),
        np.zeros(n, dtype=bool),
        bad,
        span_end,
        False,
        np.array([None] * n),
    )


def test_overlapping_alerts_count_their_time_once() -> None:
    merged = merge_intervals(
        np.array([0, 0, 0, 1]), np.array([0, 5, 20, 0]), np.array([10, 12, 30, 4])
    )
    assert merged.group.tolist() == [0, 0, 1]
    assert list(zip(merged.start.tolist(), merged.end.tolist(), strict=True)) == [
        (0, 12),
        (20, 30),
        (0, 4),
    ]


def test_zone_figures_from_a_small_history() -> None:
    day = t("2024-01-10T00:00:00")
    history = alerts(
        [
            ("A", "1", day + 8 * H, day + 9 * H),  # 10:00 Kyiv (UTC+2): day
            ("A", "2", day + int(8.5 * H), day + 10 * H),  # overlaps the first
            ("A", "3", day + 21 * H, day + 22 * H),  # 23:00 Kyiv: night
            ("B", "1", day + 8 * H, day + 9 * H),
        ]
    )
    rows = {r.key: r for r in compute(history, "zone", {}).rows}
    a = rows["A"]
    assert (a.alerts, a.hours, a.night) == (3, 3.0, 1)
    assert (a.median_min, a.longest_min) == (60.0, 90.0)
    # the period runs from the first start to the last end: 08:00 → 22:00 UTC, and A's
    # longest quiet time is 10:00 → 21:00
    assert a.quiet_days * 24 == 11.0
    region = compute(history, "region", {}).rows[0]
    assert (region.alerts, region.hours) == (3, 3.0)  # events 1, 2, 3; B inside A's time


def test_night_follows_local_time_across_daylight_saving() -> None:
    # 21:30 UTC is 23:30 in Kyiv in winter (UTC+2) but 00:30 in summer (UTC+3): night both;
    # 19:30 UTC is 21:30 in winter (day) and 22:30 in summer (night)
    history = alerts(
        [
            ("A", "1", t("2023-01-10T21:30:00"), t("2023-01-10T22:00:00")),
            ("A", "2", t("2023-07-10T21:30:00"), t("2023-07-10T22:00:00")),
            ("A", "3", t("2023-01-11T19:30:00"), t("2023-01-11T20:00:00")),
            ("A", "4", t("2023-07-11T19:30:00"), t("2023-07-11T20:00:00")),
        ]
    )
    assert compute(history, "zone", {}).rows[0].night == 3


def test_an_absurd_alert_is_neither_hours_nor_quiet_time() -> None:
    day = t("2024-01-01T00:00:00")
    history = alerts(
        [
            ("A", "1", day, day + H),
            ("A", "2", day + 2 * H, day + 600 * 24 * H),  # the 600-day kind
            ("A", "3", day + 601 * 24 * H, day + 601 * 24 * H + H),
        ],
        excluded={1},
    )
    row = compute(history, "zone", {}).rows[0]
    assert row.alerts == 3 and row.hours == 2.0
    assert row.quiet_days < 2  # the 600 days are not a quiet spell
    assert row.longest_min == 60.0


def test_months_are_local_and_count_events_and_zones() -> None:
    # 22:30 UTC on 31 January is 00:30 on 1 February in Kyiv
    history = alerts(
        [
            ("A", "1", t("2024-01-31T22:30:00"), t("2024-01-31T23:00:00")),
            ("B", "1", t("2024-01-31T22:30:00"), t("2024-01-31T23:00:00")),
            ("A", "2", t("2024-01-15T10:00:00"), t("2024-01-15T11:00:00")),
        ]
    )
    months = {r.key: r for r in compute(history, "month", {}).rows}
    assert months["2024-02"].alerts == 1 and months["2024-02"].extra["zones"] == 2
    assert months["2024-02"].hours == 1.0 and months["2024-01"].hours == 1.0


def test_names_match_across_spellings() -> None:
    assert name_key("בת-ים") == name_key("בת ים")
    assert name_key("אשדוד - יא") == name_key("אשדוד -יא")
    assert name_key("נתיב הל''ה") == name_key('נתיב הל"ה') == name_key("נתיב הל״ה")
