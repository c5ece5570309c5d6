"""Each scenario kind, simulated on real zones and replayed: no impact missed, few late, and far
less area under alert than whole-region alerts. (The full five-seed figures are in
BENCHMARKS.md, from bench/scores.py; these are smaller raids that keep the suite quick.)"""

from __future__ import annotations

import msgspec
import pytest
from conftest import require_data

from airwarn.contract import parse_event
from airwarn.engine import EngineConfig, run
from airwarn.engine.policy import RegionPolicy
from airwarn.engine.zones import ZoneSet
from airwarn.layers.israel import import_israel
from airwarn.layers.ukraine import import_ukraine
from airwarn.sim.evaluate import score
from airwarn.sim.scenarios import simulate

KIND = {"rockets": "rocket", "ballistic": "ballistic", "drones": "drone", "cruise": "cruise"}


@pytest.fixture(scope="module")
def israel() -> ZoneSet:
    path = require_data("israel", "israel_alert_areas.geojson")
    return ZoneSet(import_israel(path).zones)


@pytest.fixture(scope="module")
def ukraine() -> ZoneSet:
    path = require_data("ukraine", "ua_hromadas.geojson")
    return ZoneSet(import_ukraine(path, "hromada", 90).zones)


@pytest.mark.parametrize(
    ("country", "scenario", "count"),
    [
        ("israel", "rockets", 20),
        ("israel", "ballistic", 4),
        ("ukraine", "ballistic", 4),
        ("ukraine", "drones", 8),
        ("ukraine", "cruise", 5),
        ("israel", "cruise", 4),
    ],
)
def test_no_impact_is_missed_and_the_alerted_area_is_a_fraction_of_whole_regions(
    request, country, scenario, count
):
    zones = request.getfixturevalue(country)
    events, truth = simulate(zones, scenario, 7, count=count)
    parsed = [parse_event(msgspec.json.encode(e)) for e in events]
    config = EngineConfig()
    ours = score(zones, truth, list(run(zones, parsed, config)), hold_s=config.hold_s)
    theirs = score(
        zones, truth, list(run(zones, parsed, config, RegionPolicy(zones))), hold_s=config.hold_s
    )
    mine = ours.per_kind[KIND[scenario]]
    assert mine.missed == 0
    assert mine.late <= max(1, 0.05 * mine.in_zones)
    assert ours.open_zones == 0
    assert mine.alert_km2h < 0.5 * theirs.per_kind[KIND[scenario]].alert_km2h
