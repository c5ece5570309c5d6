"""Scoring decisions against ground truth: missed, late, warning times and over-alert.

Zones are small squares near 34.8E 31.8N; every expected number is worked out by hand from the
seconds in each test and the zones' own areas (`zones.area_km2`).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rich.console import Console

from airwarn.contract import Decision, format_time, parse_time
from airwarn.engine.zones import ZoneSet, zones_from_geojson
from airwarn.errors import ZoneError
from airwarn.sim.evaluate import format_table, score, score_to_dict

T0 = parse_time("2026-03-01T18:00:00.000Z")
SIDE = 0.01  # degrees


def at(seconds: float) -> str:
    return format_time(T0 + round(seconds * 1000))


def square(zone_id: str, lon: float, lat: float, shelter_s: int = 90) -> dict[str, Any]:
    ring = [[lon, lat], [lon + SIDE, lat], [lon + SIDE, lat + SIDE], [lon, lat + SIDE], [lon, lat]]
    return {
        "type": "Feature",
        "properties": {"id": zone_id, "shelter_s": shelter_s},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def zone_set(*features: dict[str, Any]) -> ZoneSet:
    return zones_from_geojson({"type": "FeatureCollection", "features": list(features)})


# Three squares in a row (A, B, C) and one above A (D), all 90 s to shelter.
ZONES = zone_set(
    square("A", 34.79, 31.80),
    square("B", 34.80, 31.80),
    square("C", 34.81, 31.80),
    square("D", 34.79, 31.81),
)
CENTRE = {
    "A": (34.795, 31.805),
    "B": (34.805, 31.805),
    "C": (34.815, 31.805),
    "D": (34.795, 31.815),
}
OUTSIDE = (35.5, 32.5)


def area(zone_id: str) -> float:
    return float(ZONES.area_km2[ZONES.index_of[zone_id]])


def threat(
    name: str,
    impact_s: float | None,
    where: str | tuple[float, float] = "A",
    *,
    kind: str = "rocket",
    first_report_s: float = -300,
) -> dict[str, Any]:
    lon, lat = CENTRE[where] if isinstance(where, str) else where
    impact = None if impact_s is None else {"lat": lat, "lon": lon, "t": at(impact_s)}
    return {
        "threat": name,
        "kind": kind,
        "first_report_t": at(first_report_s),
        "impact": impact,
        "end_reason": "impact" if impact else "intercepted",
        "end_t": at(impact_s if impact_s is not None else 0),
    }


def truth(*threats: dict[str, Any]) -> dict[str, Any]:
    return {"scenario": "test", "seed": 1, "threats": list(threats)}


def decisions(
    *changes: tuple[float, str, str] | tuple[float, str, str, str | None],
) -> list[dict[str, Any]]:
    """(seconds, zone, level[, kind]) -> decision dicts in order, kind rocket by default."""
    out = []
    for seq, change in enumerate(changes, start=1):
        seconds, zone, level = change[:3]
        kind = change[3] if len(change) > 3 else "rocket"
        out.append(
            {
                "seq": seq,
                "t": at(seconds),
                "zone": zone,
                "level": level,
                "threats": [] if kind is None else ["R1"],
                "kind": kind,
            }
        )
    return out


def km2h(zone_id: str, seconds: float) -> float:
    return area(zone_id) * seconds / 3600


# --- missed, late, warning ---------------------------------------------------------------------


def test_alert_in_time_is_neither_missed_nor_late_and_has_its_warning_time() -> None:
    result = score(
        ZONES, truth(threat("R1", 100)), decisions((0, "A", "alert"), (700, "A", "clear"))
    )
    (t,) = result.threats
    assert (t.zone, t.missed, t.late) == ("A", False, False)
    assert t.alert_start_ms == T0
    assert t.impact_ms == T0 + 100_000
    assert t.warning_s == 100.0
    assert t.required_s == 90.0
    assert result.total.missed == result.total.late == 0
    assert result.total.late_share == 0.0
    assert result.open_zones == 0


def test_alert_ten_seconds_before_impact_in_a_90_second_zone_is_late() -> None:
    result = score(
        ZONES, truth(threat("R1", 100)), decisions((90, "A", "alert"), (700, "A", "clear"))
    )
    (t,) = result.threats
    assert (t.missed, t.late, t.warning_s, t.required_s) == (False, True, 10.0, 90.0)
    assert result.per_kind["rocket"].late == 1
    assert result.per_kind["rocket"].late_share == 1.0


def test_threat_visible_30_s_is_not_late_with_25_s_warning_but_is_with_20() -> None:
    seen_late = threat("R1", 100, first_report_s=70)  # visible 30 s, grace 5 -> needs 25 s
    on_time = score(ZONES, truth(seen_late), decisions((75, "A", "alert"), (700, "A", "clear")))
    (t,) = on_time.threats
    assert (t.warning_s, t.required_s, t.late) == (25.0, 25.0, False)
    too_late = score(ZONES, truth(seen_late), decisions((80, "A", "alert"), (700, "A", "clear")))
    (t,) = too_late.threats
    assert (t.warning_s, t.required_s, t.late) == (20.0, 25.0, True)


def test_grace_is_a_parameter() -> None:
    seen_late = threat("R1", 100, first_report_s=70)
    result = score(
        ZONES, truth(seen_late), decisions((80, "A", "alert"), (700, "A", "clear")), grace_s=10
    )
    (t,) = result.threats
    assert (t.required_s, t.late) == (20.0, False)


def test_requirement_is_clamped_at_zero_for_a_threat_seen_inside_the_grace() -> None:
    result = score(
        ZONES,
        truth(threat("R1", 100, first_report_s=97)),
        decisions((99, "A", "alert"), (700, "A", "clear")),
    )
    (t,) = result.threats
    assert (t.required_s, t.warning_s, t.late) == (0.0, 1.0, False)


def test_no_alert_is_missed_and_not_also_late() -> None:
    result = score(
        ZONES, truth(threat("R1", 100)), decisions((0, "B", "alert"), (700, "B", "clear"))
    )
    (t,) = result.threats
    assert (t.missed, t.late, t.warning_s, t.alert_start_ms) == (True, False, None, None)
    assert result.total.missed == 1
    assert result.total.late == 0
    assert result.total.warning_s_median is None


def test_alert_cleared_before_impact_is_missed() -> None:
    result = score(
        ZONES, truth(threat("R1", 100)), decisions((0, "A", "alert"), (50, "A", "clear"))
    )
    assert result.threats[0].missed


def test_pre_alert_at_impact_is_missed() -> None:
    result = score(
        ZONES, truth(threat("R1", 100)), decisions((0, "A", "pre_alert"), (700, "A", "clear"))
    )
    assert result.threats[0].missed
    assert result.total.pre_alert_km2h == pytest.approx(km2h("A", 700))
    assert result.total.alert_km2h == 0.0


def test_a_decision_at_the_impact_instant_is_in_force() -> None:
    result = score(
        ZONES, truth(threat("R1", 100)), decisions((100, "A", "alert"), (700, "A", "clear"))
    )
    (t,) = result.threats
    assert (t.missed, t.warning_s, t.late) == (False, 0.0, True)
    cleared_at_impact = score(
        ZONES, truth(threat("R1", 100)), decisions((0, "A", "alert"), (100, "A", "clear"))
    )
    assert cleared_at_impact.threats[0].missed


def test_warning_counts_from_when_the_zone_last_went_to_alert() -> None:
    # A repeated alert (a second threat) does not restart the warning; a drop to pre-alert does.
    repeated = score(
        ZONES,
        truth(threat("R1", 100)),
        decisions((0, "A", "alert"), (50, "A", "alert"), (700, "A", "clear")),
    )
    assert repeated.threats[0].warning_s == 100.0
    dropped = score(
        ZONES,
        truth(threat("R1", 100)),
        decisions(
            (0, "A", "alert"), (40, "A", "pre_alert"), (60, "A", "alert"), (700, "A", "clear")
        ),
    )
    assert dropped.threats[0].warning_s == 40.0
    assert dropped.threats[0].late


def test_impact_outside_every_zone_is_counted_but_not_scored() -> None:
    result = score(
        ZONES,
        truth(threat("R1", 100, OUTSIDE), threat("R2", 100, "A")),
        decisions((0, "A", "alert"), (700, "A", "clear")),
    )
    outside = result.threats[0]
    assert (outside.zone, outside.missed, outside.late, outside.required_s) == (
        None,
        False,
        False,
        None,
    )
    assert (result.total.impacts, result.total.in_zones, result.total.outside) == (2, 1, 1)
    assert result.total.missed == 0
    # Only the impact in a zone has an ideal.
    assert result.total.ideal_km2h == pytest.approx(km2h("A", 690))


def test_threats_without_impact_are_counted_but_not_impacts() -> None:
    result = score(ZONES, truth(threat("C1", None, kind="cruise")), [])
    cruise = result.per_kind["cruise"]
    assert (cruise.threats, cruise.impacts, cruise.missed) == (1, 0, 0)
    assert cruise.warning_s_median is None
    assert cruise.late_share is None
    assert cruise.over_alert is None
    assert result.threats == []


def test_warning_statistics() -> None:
    zones = [("A", 10), ("B", 20), ("C", 30), ("D", 40), ("A", 50)]
    threats = [threat(f"R{i}", 1000, z) for i, (z, _) in enumerate(zones[:4])]
    threats.append(threat("R4", 2000, "A"))
    changes: list[tuple[float, str, str]] = [(1000 - w, z, "alert") for z, w in zones[:4]]
    changes += [
        (1100, "A", "clear"),
        (1950, "A", "alert"),
        (2100, "A", "clear"),
        (2100, "B", "clear"),
        (2100, "C", "clear"),
        (2100, "D", "clear"),
    ]
    changes.sort()
    result = score(ZONES, truth(*threats), decisions(*changes))
    assert sorted(t.warning_s or 0.0 for t in result.threats) == [10.0, 20.0, 30.0, 40.0, 50.0]
    assert result.total.warning_s_median == 30.0
    assert result.total.warning_s_min == 10.0
    assert result.total.warning_s_p10 == pytest.approx(14.0)  # linear: 10 + 0.4 × 10


# --- area × time and the over-alert factor -----------------------------------------------------


def test_over_alert_is_exactly_one_when_decisions_are_the_ideal() -> None:
    # Ideal for an impact at 1000 s in a 90 s zone with a 600 s hold: 910 s to 1600 s.
    result = score(
        ZONES, truth(threat("R1", 1000)), decisions((910, "A", "alert"), (1600, "A", "clear"))
    )
    assert result.total.ideal_km2h == pytest.approx(km2h("A", 690))
    assert result.total.alert_km2h == pytest.approx(km2h("A", 690))
    assert result.total.over_alert == 1.0
    assert result.per_kind["rocket"].over_alert == 1.0


def test_hold_is_a_parameter() -> None:
    result = score(
        ZONES,
        truth(threat("R1", 1000)),
        decisions((910, "A", "alert"), (1300, "A", "clear")),
        hold_s=300,
    )
    assert result.total.ideal_km2h == pytest.approx(km2h("A", 390))
    assert result.total.over_alert == 1.0


def test_over_alert_is_two_when_twice_the_area_or_time_is_alerted() -> None:
    two_zones = score(
        ZONES,
        truth(threat("R1", 1000)),
        decisions(
            (910, "A", "alert"), (910, "B", "alert"), (1600, "A", "clear"), (1600, "B", "clear")
        ),
    )
    assert two_zones.total.alert_km2h == pytest.approx(km2h("A", 690) + km2h("B", 690))
    assert two_zones.total.over_alert == pytest.approx((area("A") + area("B")) / area("A"))
    assert two_zones.total.over_alert == pytest.approx(2.0, rel=1e-6)  # the squares are twins
    twice_as_long = score(
        ZONES, truth(threat("R1", 1000)), decisions((910, "A", "alert"), (2290, "A", "clear"))
    )
    assert twice_as_long.total.over_alert == 2.0


def test_two_impacts_in_one_zone_do_not_double_count_the_ideal() -> None:
    # Ideal spans 910..1600 and 1210..1900 overlap: their union is 910..1900, 990 s.
    result = score(
        ZONES,
        truth(threat("R1", 1000), threat("R2", 1300)),
        decisions((910, "A", "alert"), (1900, "A", "clear")),
    )
    assert result.total.ideal_km2h == pytest.approx(km2h("A", 990))
    assert result.total.over_alert == 1.0
    assert [t.warning_s for t in result.threats] == [90.0, 390.0]


def test_alert_and_pre_alert_are_reported_apart() -> None:
    result = score(
        ZONES,
        truth(threat("R1", 1000)),
        decisions(
            (700, "A", "pre_alert"),
            (910, "A", "alert"),
            (1600, "A", "clear"),
            (700, "B", "pre_alert"),
            (1000, "B", "clear"),
        ),
    )
    assert result.total.over_alert == 1.0
    assert result.total.pre_alert_km2h == pytest.approx(km2h("A", 210) + km2h("B", 300))


def test_alert_and_ideal_are_attributed_per_kind() -> None:
    result = score(
        ZONES,
        truth(
            threat("R1", 1000, "A", kind="rocket"),
            threat("U1", 1000, "B", kind="drone"),
            threat("C1", None, kind="cruise"),
        ),
        decisions(
            (910, "A", "alert", "rocket"),
            (910, "B", "alert", "drone"),
            (1000, "C", "alert", None),  # an operator's manual alert
            (1100, "C", "clear", None),
            (1600, "A", "clear"),
            (2290, "B", "clear", "drone"),
        ),
    )
    assert list(result.per_kind) == ["rocket", "cruise", "drone", "manual"]
    rocket, drone, manual = (result.per_kind[k] for k in ("rocket", "drone", "manual"))
    assert rocket.over_alert == 1.0
    assert drone.over_alert == 2.0
    assert drone.ideal_km2h == pytest.approx(km2h("B", 690))
    assert manual.alert_km2h == pytest.approx(km2h("C", 100))
    assert (manual.threats, manual.ideal_km2h, manual.over_alert) == (0, 0.0, None)
    assert result.per_kind["cruise"].threats == 1
    total = result.total
    assert total.threats == 3
    assert total.alert_km2h == pytest.approx(km2h("A", 690) + km2h("B", 1380) + km2h("C", 100))
    assert total.ideal_km2h == pytest.approx(km2h("A", 690) + km2h("B", 690))


def test_kinds_overlapping_in_one_zone_count_once_in_the_total_ideal() -> None:
    result = score(
        ZONES,
        truth(threat("R1", 1000, kind="rocket"), threat("U1", 1000, kind="drone")),
        decisions((910, "A", "alert"), (1600, "A", "clear")),
    )
    assert result.per_kind["rocket"].ideal_km2h == pytest.approx(km2h("A", 690))
    assert result.per_kind["drone"].ideal_km2h == pytest.approx(km2h("A", 690))
    assert result.total.ideal_km2h == pytest.approx(km2h("A", 690))
    assert result.total.over_alert == 1.0


def test_a_zone_left_open_counts_until_the_last_decision_and_is_reported() -> None:
    result = score(
        ZONES,
        truth(threat("R1", 1000)),
        decisions((910, "A", "alert"), (1000, "B", "alert"), (1300, "B", "clear")),
    )
    assert result.open_zones == 1
    assert result.total.alert_km2h == pytest.approx(km2h("A", 390) + km2h("B", 300))
    assert not result.threats[0].missed


# --- inputs and outputs ------------------------------------------------------------------------


def test_decision_structs_score_like_dicts() -> None:
    dicts = decisions((0, "A", "alert"), (700, "A", "clear"))
    structs = [Decision(**d) for d in dicts]
    the_truth = truth(threat("R1", 100))
    assert score(ZONES, the_truth, structs) == score(ZONES, the_truth, dicts)


def test_a_decision_for_a_zone_not_in_the_set_is_an_error() -> None:
    with pytest.raises(ZoneError, match="not in the zone set"):
        score(ZONES, truth(), decisions((0, "Z", "alert")))


def test_score_to_dict_is_json_and_the_table_sets_policies_side_by_side() -> None:
    the_truth = truth(threat("R1", 1000), threat("R2", 1000, OUTSIDE))
    engine = score(ZONES, the_truth, decisions((910, "A", "alert"), (1600, "A", "clear")))
    region = score(
        ZONES,
        the_truth,
        decisions(*[(900, z, "alert") for z in "ABCD"], *[(1600, z, "clear") for z in "ABCD"]),
    )
    document = json.loads(json.dumps(score_to_dict(engine)))
    assert document["total"]["over_alert"] == 1.0
    assert document["per_kind"]["rocket"]["missed"] == 0
    assert document["open_zones"] == 0
    assert document["threats"][0]["warning_s"] == 90.0
    console = Console(record=True, width=120)
    console.print(format_table({"engine": engine, "region": region}))
    text = console.export_text()
    assert "engine" in text and "region" in text
    assert "over-alert factor" in text
    assert "1.00×" in text


# --- invariants --------------------------------------------------------------------------------

GRID = zone_set(
    *[
        square(f"G{i}{j}", 34.78 + i * SIDE, 31.78 + j * SIDE, shelter_s=s)
        for i in range(3)
        for j, s in enumerate((15, 45, 90))
    ]
)
GRID_IDS = GRID.ids


def grid_centre(index: int) -> tuple[float, float]:
    i, j = divmod(index, 3)
    return (34.78 + (i + 0.5) * SIDE, 31.78 + (j + 0.5) * SIDE)


impacts = st.lists(
    st.tuples(st.integers(0, 8), st.integers(0, 2000), st.integers(0, 300)), min_size=1, max_size=6
)
zone_changes = st.lists(
    st.tuples(st.integers(0, 2500), st.sampled_from(["clear", "pre_alert", "alert"])), max_size=5
)


@settings(max_examples=200, deadline=None)
@given(
    impacts=impacts,
    changes=st.dictionaries(st.integers(0, 8), zone_changes, max_size=8),
    extra=st.tuples(st.integers(0, 8), st.integers(0, 2500), st.integers(1, 2500)),
)
def test_alerting_one_more_zone_never_lowers_over_alert_nor_raises_missed(
    impacts: list[tuple[int, int, int]],
    changes: dict[int, list[tuple[int, str]]],
    extra: tuple[int, int, int],
) -> None:
    extra_zone, extra_start_s, extra_length_s = extra
    assume(extra_zone not in changes)
    the_truth = {
        "threats": [
            {
                "threat": f"R{n}",
                "kind": "rocket",
                "first_report_t": at(impact_s - seen_s),
                "impact": {"lon": grid_centre(z)[0], "lat": grid_centre(z)[1], "t": at(impact_s)},
            }
            for n, (z, impact_s, seen_s) in enumerate(impacts)
        ]
    }
    base = sorted((t, GRID_IDS[z], level) for z, zone in changes.items() for t, level in zone)
    more = sorted(
        [
            *base,
            (extra_start_s, GRID_IDS[extra_zone], "alert"),
            (extra_start_s + extra_length_s, GRID_IDS[extra_zone], "clear"),
        ]
    )
    before = score(GRID, the_truth, decisions(*base))
    after = score(GRID, the_truth, decisions(*more))
    assert before.total.over_alert is not None and after.total.over_alert is not None
    assert after.total.over_alert >= before.total.over_alert
    assert after.total.missed <= before.total.missed
    for old, new in zip(before.threats, after.threats, strict=True):
        assert new.missed <= old.missed
