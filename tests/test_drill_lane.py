"""A drill's simulated threats: sensors mark tracks and ends `exercise` (or `test`), and the
engine runs them apart from the real ones. What an agency drilling its chain relies on: the
drill alerts exactly what the same raid would, every decision says it is a drill, and nothing
real moves."""

from __future__ import annotations

import functools
import heapq
from typing import Any

import msgspec
import pytest
from conftest import at, manual, tick, track

from airwarn.contract import Decision, parse_event
from airwarn.engine import Engine
from airwarn.engine.zones import ZoneSet
from airwarn.lanes import LaneError, LaneSettings, SensorLane
from airwarn.layers.packaged import load_layer
from airwarn.sim.evaluate import score
from airwarn.sim.scenarios import simulate


@functools.cache
def israel() -> ZoneSet:
    return load_layer("israel")


@functools.cache
def raid(scenario: str, seed: int, count: int) -> list[dict[str, Any]]:
    events, _ = simulate(israel(), scenario, seed, count=count)
    return events


def marked(events: list[dict[str, Any]], status: str, prefix: str = "") -> list[dict[str, Any]]:
    out = []
    for event in events:
        if event["type"] in ("track", "end"):
            event = {**event, "status": status, "threat": prefix + event["threat"]}
        out.append(event)
    return out


def replay(events: list[dict[str, Any]], engine: Engine | None = None) -> list[Decision]:
    engine = engine or Engine(israel())
    out: list[Decision] = []
    for event in events:
        out.extend(engine.apply(parse_event(msgspec.json.encode(event))))
    out.extend(engine.flush())
    return out


def plain(decision: Decision) -> dict[str, Any]:
    """A decision as JSON, without its sequence number and status."""
    body = msgspec.to_builtins(decision)
    body.pop("seq")
    body.pop("status", None)
    return body


def together(*raids: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Raids delivered at once: interleaved by time, each in its own order (a sensor's late
    reports stay late)."""
    return list(heapq.merge(*raids, key=lambda e: e["t"]))


@pytest.mark.parametrize(
    ("scenario", "seed", "count"), [("rockets", 3, 6), ("drones", 4, 3), ("mixed", 5, 5)]
)
def test_a_drill_alerts_exactly_what_the_same_raid_would_and_says_so_on_every_decision(
    scenario: str, seed: int, count: int
) -> None:
    real = replay(raid(scenario, seed, count))
    engine = Engine(israel())
    drill = replay(marked(raid(scenario, seed, count), "exercise"), engine)
    assert real, "the raid alerted nothing: the test would prove nothing"
    assert [d.status for d in drill] == ["exercise"] * len(drill)
    assert [msgspec.to_builtins(d) | {"status": "exercise"} for d in real] == [
        msgspec.to_builtins(d) for d in drill
    ]
    assert engine.levels() == {}  # nothing real, at any time: every decision was a drill's


def test_a_drill_during_a_real_raid_changes_none_of_the_real_decisions() -> None:
    alone = replay(raid("rockets", 3, 6))
    drill = marked(raid("mixed", 5, 5), "exercise", prefix="drill-")
    both = replay(together(raid("rockets", 3, 6), drill))
    real = [d for d in both if d.status is msgspec.UNSET]
    drilled = [d for d in both if d.status == "exercise"]
    assert len(real) + len(drilled) == len(both)
    assert [plain(d) for d in real] == [plain(d) for d in alone]
    assert [plain(d) for d in drilled] == [plain(d) for d in replay(drill)]
    assert [d.seq for d in both] == list(range(1, len(both) + 1))  # one sequence for all


def test_a_drill_and_a_test_are_apart_from_each_other_too() -> None:
    engine = Engine(israel())
    events = together(
        marked(raid("rockets", 3, 2), "exercise"), marked(raid("rockets", 3, 2), "test")
    )
    out = replay(events, engine)
    assert {d.status for d in out} == {"exercise", "test"}
    exercise = [plain(d) for d in out if d.status == "exercise"]
    test = [plain(d) for d in out if d.status == "test"]
    assert exercise == test  # the same raid, twice: once on each lane
    # mid-raid, a zone under both is under each (what /v1/alerts/active reads)
    midway = Engine(israel())
    for event in events[: len(events) // 2]:
        midway.apply(parse_event(msgspec.json.encode(event)))
    lanes = midway.drill_levels()
    both = {zone for zone, status in lanes if status == "exercise"} & {
        zone for zone, status in lanes if status == "test"
    }
    assert both and all(lanes[(z, "exercise")] == lanes[(z, "test")] for z in both)
    first = next(e["threat"] for e in events if e["type"] == "track")
    assert engine.threat_state(first) is None  # no real threat of that name
    assert engine.threat_state(first, "test") is not None


def test_an_operators_drill_clear_ends_a_drill_there_and_its_threats_may_not_take_it_again(
    grid,
) -> None:
    """How an agency ends a drill early: its operators clear the drill lane, region by region,
    and the drill's threats, still reporting, take none of those zones again."""
    engine = Engine(grid)
    out = []
    for event in [
        manual("alert", 0, zones=["r5c5"], status="exercise", category="missiles"),
        track("d1", 1, 31.425, 34.625, status="exercise", vel_mps=[0.0, 40.0, 0.0]),
        manual("alert", 1.5, zones=["r0c0"], status="exercise", category="missiles"),
        tick(2),
    ]:
        out.extend(engine.apply(event))
    held = set(engine.drills())
    assert {"r0c0", "r5c5"} <= held and len(held) > 2  # the drone holds others as well
    assert [(d.level, d.kind) for d in out if d.zone == "r5c5"][0] == ("alert", "missiles")
    # r0c0 under the drone already: the operator's alert there changes nothing seen
    assert [d.level for d in out if d.zone == "r0c0"] == ["alert"]
    cleared = run_all(engine, [manual("clear", 3, region="band0", status="exercise")])
    band0 = {grid.ids[i] for i in grid.regions["band0"]}
    assert {d.zone for d in cleared} == band0 & held
    assert {(d.level, d.status) for d in cleared} == {("clear", "exercise")}
    # the drone reports on over band0: none of it is taken again; band1 stays as it was
    later = run_all(
        engine,
        [
            track("d1", 5, 31.43, 34.625, status="exercise", vel_mps=[0.0, 40.0, 0.0]),
            tick(10),
        ],
    )
    assert not {d.zone for d in later if d.level != "clear"} & band0
    assert set(engine.drills()) == held - band0
    assert engine.levels() == {} and {d.status for d in out + cleared + later} == {"exercise"}


def run_all(engine: Engine, events: list[Any]) -> list[Decision]:
    out: list[Decision] = []
    for event in events:
        out.extend(engine.apply(event))
    return out


def test_a_sensors_drill_threats_count_towards_what_it_may_hold(grid) -> None:
    engine = Engine(grid)
    settings = LaneSettings(clock="events", max_threats=2)
    for name, status in (("a", "actual"), ("b", "exercise")):
        lane = SensorLane(settings, "radar-1", 0)
        body = track(name, 0, 31.425, 34.625, status=status)
        engine.apply(lane.admit(body, engine))
    lane = SensorLane(settings, "radar-1", 0)
    with pytest.raises(LaneError, match="holds 2 threats"):
        lane.admit(track("c", 1, 31.425, 34.625, status="exercise"), engine)


def test_an_end_goes_to_the_lane_of_its_threat_and_an_unmarked_end_of_a_drill_is_refused(
    grid,
) -> None:
    engine = Engine(grid)
    settings = LaneSettings(clock="events")
    engine.apply(
        SensorLane(settings, "radar-1", 0).admit(
            track("d1", 0, 31.425, 34.625, status="exercise"), engine
        )
    )
    unmarked = parse_event(
        msgspec.json.encode({"type": "end", "threat": "d1", "t": at(5), "reason": "impact"})
    )
    with pytest.raises(LaneError, match="an end carries the status its threat's reports did"):
        SensorLane(settings, "radar-1", 0).admit(unmarked, engine)
    marked_end = parse_event(
        msgspec.json.encode(
            {"type": "end", "threat": "d1", "t": at(5), "reason": "impact", "status": "exercise"}
        )
    )
    engine.apply(SensorLane(settings, "radar-1", 0).admit(marked_end, engine))
    assert engine.threat_state("radar-1/d1", "exercise") == "ended"
    assert engine.threat_state("radar-1/d1") is None


def test_a_drill_is_scored_on_its_own_lane_and_warned_nobody_for_real() -> None:
    events, truth = simulate(israel(), "rockets", 3, count=6)
    real = score(israel(), truth, replay(events))
    drill = replay(marked(events, "exercise"))
    assert real.total.impacts and real.total.missed == 0
    assert score(israel(), truth, drill, status="exercise") == real
    as_real = score(israel(), truth, drill)
    assert as_real.total.missed == real.total.in_zones and as_real.total.alert_km2h == 0
