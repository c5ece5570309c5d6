"""What the engine holds in memory is bounded: the ids of ended and forgotten threats it
remembers, and the threats each source holds, counted for the sensors' lane."""

from __future__ import annotations

import contextlib

from conftest import end, grid_zones, tick, track
from hypothesis import given, settings
from hypothesis import strategies as st

from airwarn.engine import Engine, EngineConfig
from airwarn.engine.zones import zones_from_geojson
from airwarn.errors import EventError

ZONES = zones_from_geojson(grid_zones())


def report(threat: str, s: float):
    return track(threat, s, 31.55, 34.75)


def test_ended_ids_are_remembered_up_to_the_bound_oldest_forgotten_first() -> None:
    engine = Engine(ZONES, EngineConfig(remembered_ids=3))
    for i in range(5):
        engine.apply(report(f"s/T{i}", i))
        engine.apply(end(f"s/T{i}", i + 0.5, "intercepted"))
    assert [engine.threat_state(f"s/T{i}") for i in range(5)] == [None, None] + ["ended"] * 3
    # a report for a remembered ended threat changes nothing; one for a forgotten id starts
    # a new track
    engine.apply(report("s/T4", 6))
    assert engine.threat_state("s/T4") == "ended" and engine.ignored
    engine.apply(report("s/T0", 6.5))
    assert engine.threat_state("s/T0") == "active"


def test_forgotten_lost_ids_are_remembered_up_to_the_bound() -> None:
    engine = Engine(ZONES, EngineConfig(remembered_ids=2, resume_s=60))
    for i in range(4):
        engine.apply(report(f"s/L{i}", i))
        engine.apply(end(f"s/L{i}", i + 0.5, "lost"))
    engine.apply(tick(600))  # past resume_s: all four forgotten
    assert [engine.threat_state(f"s/L{i}") for i in range(4)] == [None, None, "lost", "lost"]


def test_the_threats_a_source_holds_are_counted_while_they_fly_or_can_resume() -> None:
    engine = Engine(ZONES, EngineConfig(resume_s=60))
    engine.apply(report("radar/A", 0))
    engine.apply(report("radar/B", 0.1))
    engine.apply(report("other/A", 0.2))
    engine.apply(report("plain", 0.3))
    assert (engine.threats_held("radar/"), engine.threats_held("other/")) == (2, 1)
    assert engine.threats_held("") == 1 and engine.holds("radar/A")
    engine.apply(end("radar/A", 1, "lost"))
    assert engine.threats_held("radar/") == 2 and engine.holds("radar/A")  # may resume
    engine.apply(end("radar/B", 2, "impact"))
    assert engine.threats_held("radar/") == 1 and not engine.holds("radar/B")
    engine.apply(tick(120))  # radar/A forgotten; the others time out
    assert engine.threats_held("radar/") == 0 and not engine.holds("radar/A")
    engine.apply(report("radar/A", 121))  # a new track
    assert engine.threats_held("radar/") == 1
    # a lost threat ended for good leaves memory too
    engine.apply(end("other/A", 122, "intercepted"))
    assert engine.threats_held("other/") == 0


IDS = ["a/1", "a/2", "a/x/y", "b/1", "plain"]
steps = st.lists(
    st.tuples(
        st.sampled_from(["track", "track", "end", "tick"]),
        st.sampled_from(IDS),
        st.sampled_from(["drone", "cruise", "rocket", "unknown"]),
        st.sampled_from(["lost", "lost", "impact", "intercepted"]),
        st.sampled_from([0.0, 0.5, 2.0, 15.0, 61.0, 700.0]),  # how far the clock moves
        st.sampled_from([0.0, 0.0, 3.0, 40.0]),  # how late a report is
    ),
    max_size=60,
)


def _by_source(engine: Engine) -> dict[str, int]:
    counts: dict[str, int] = {}
    for threat_id in [*engine._threats, *engine._dormant]:
        source = threat_id[: threat_id.find("/") + 1] if "/" in threat_id else ""
        counts[source] = counts.get(source, 0) + 1
    return counts


@settings(max_examples=60, deadline=None)
@given(steps, st.sampled_from([1, 2, 100]), st.sampled_from([20, 600]))
def test_the_count_of_threats_each_source_holds_is_always_what_it_holds(ops, remembered, resume_s):
    engine = Engine(ZONES, EngineConfig(remembered_ids=remembered, resume_s=resume_s))
    now = 0.0
    for what, threat, kind, reason, move, late in ops:
        now += move
        if what == "track":
            lat, alt = (31.45 + 0.001 * now % 0.2, 3000.0)
            event = track(threat, max(now - late, 0.0), lat, 34.75, kind=kind, alt_m=alt)
        elif what == "end":
            event = end(threat, now, reason)
        else:
            event = tick(now)
        with contextlib.suppress(EventError):
            engine.apply(event)
        counts = {s: engine.threats_held(s) for s in ("a/", "b/", "")}
        assert {s: n for s, n in counts.items() if n} == _by_source(engine)
        assert len(engine._ended) <= remembered and len(engine._lost) <= remembered
    engine.flush()
    assert _by_source(engine) == {} and engine._held == {}
