"""Relayed feeds in the engine: a lane per source, apart from the zones' own levels."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from conftest import _json, at, manual, tick
from hypothesis import given
from hypothesis import strategies as st

from airwarn.contract import encode_decision, parse_event
from airwarn.engine import Engine, run
from airwarn.errors import EventError


def relay(action: str, t: float, zones: list[str], source: str = "alerts.in.ua", **extra: Any):
    body: dict[str, Any] = {
        "type": "relay",
        "source": source,
        "action": action,
        "t": at(t),
        "zones": zones,
    }
    body.update(extra)
    return parse_event(_json(body))


def source(name: str, state: str, t: float, **extra: Any):
    return parse_event(_json({"type": "source", "name": name, "state": state, "t": at(t), **extra}))


def apply(engine: Engine, *events: Any) -> list[Any]:
    return [d for e in events for d in engine.apply(e)]


def test_a_relayed_alert_is_marked_with_its_source_and_official_time(grid):
    engine = Engine(grid)
    out = apply(
        engine, relay("alert", 5, ["r0c0", "r0c1"], category="air_raid", id="8812", since=at(2))
    )
    assert [(d.zone, d.level, d.kind) for d in out] == [
        ("r0c0", "alert", "air_raid"),
        ("r0c1", "alert", "air_raid"),
    ]
    line = encode_decision(out[0]).decode()
    assert '"source":{"name":"alerts.in.ua","id":"8812","t":"2026-03-01T18:00:02.000Z"}' in line
    assert out[0].t == at(5).replace("Z", ".000Z")  # when this server learned it
    assert engine.levels() == {}  # the zones' own levels are untouched
    assert engine.relayed() == {
        "r0c0": {"alerts.in.ua": "alert"},
        "r0c1": {"alerts.in.ua": "alert"},
    }


def test_a_relayed_clear_ends_only_its_own_lane(grid):
    engine = Engine(grid)
    apply(engine, relay("alert", 0, ["r0c0"], category="air_raid"))
    out = apply(engine, relay("clear", 60, ["r0c0"]))
    assert [(d.zone, d.level, d.source.name) for d in out] == [("r0c0", "clear", "alerts.in.ua")]
    assert out[0].in_force is msgspec.UNSET  # nothing else holds it: a real all-clear
    assert engine.relayed() == {}
    # a clear of a zone the source never alerted says nothing
    assert apply(engine, relay("clear", 70, ["r1c1"])) == []


def test_own_clear_while_a_source_alerts_is_no_all_clear_and_says_so(grid):
    engine = Engine(grid)
    apply(
        engine,
        manual("alert", 0, zones=["r0c0"], category="missiles"),
        relay("alert", 1, ["r0c0"], category="air_raid"),
    )
    out = apply(engine, manual("clear", 30, zones=["r0c0"]))
    assert [(d.level, d.in_force) for d in out] == [("clear", "alert")]
    assert d_source(out[0]) is None
    # the manual clear did not touch the relayed lane
    assert engine.relayed() == {"r0c0": {"alerts.in.ua": "alert"}}
    out = apply(engine, relay("clear", 40, ["r0c0"]))
    assert [(d.level, d.in_force) for d in out] == [("clear", msgspec.UNSET)]


def test_a_relayed_clear_while_this_server_alerts_says_the_zone_stays_alerted(grid):
    engine = Engine(grid)
    apply(engine, relay("alert", 0, ["r0c0"]), manual("alert", 1, zones=["r0c0"]))
    out = apply(engine, relay("clear", 5, ["r0c0"]))
    assert [(d.level, d.in_force, d_source(d)) for d in out] == [("clear", "alert", "alerts.in.ua")]
    assert engine.levels() == {"r0c0": "alert"}


def test_two_sources_keep_two_lanes(grid):
    engine = Engine(grid)
    apply(
        engine, relay("alert", 0, ["r0c0"]), relay("pre_alert", 0, ["r0c0"], source="oref.org.il")
    )
    out = apply(engine, relay("clear", 10, ["r0c0"]))
    assert [(d.level, d.in_force) for d in out] == [("clear", "pre_alert")]
    assert engine.relayed() == {"r0c0": {"oref.org.il": "pre_alert"}}


def test_an_operator_overrides_a_relayed_alert_until_the_source_clears_it(grid):
    engine = Engine(grid)
    apply(engine, relay("alert", 0, ["r0c0", "r0c1"], id="7"))
    out = apply(
        engine, relay("clear", 10, ["r0c0"], override=True, by="op-7", reason="stuck upstream")
    )
    assert [(d.zone, d.level, d.source.by) for d in out] == [("r0c0", "clear", "op-7")]
    assert engine.relayed()["r0c0"] == {"alerts.in.ua": "clear"}
    # the source still says alert: nothing new; a level the source changes stays overruled
    assert apply(engine, relay("alert", 20, ["r0c0"], id="7")) == []
    # following it again brings back what the source says
    out = apply(engine, relay("alert", 30, ["r0c0"], override=True, by="op-7"))
    assert [(d.zone, d.level) for d in out] == [("r0c0", "alert")]
    apply(engine, relay("clear", 40, ["r0c0"], override=True, by="op-7"))
    # the source's own clear lifts the override silently; its next alert counts again
    assert apply(engine, relay("clear", 50, ["r0c0"])) == []
    out = apply(engine, relay("alert", 60, ["r0c0"], id="8"))
    assert [(d.zone, d.level, d.source.id) for d in out] == [("r0c0", "alert", "8")]


def test_a_source_no_longer_followed_clears_its_lanes_and_a_stale_one_keeps_them(grid):
    engine = Engine(grid)
    apply(engine, relay("alert", 0, ["r0c0"]), source("alerts.in.ua", "live", 1))
    assert apply(engine, source("alerts.in.ua", "stale", 40, why="no answer for 30 s")) == []
    assert engine.relayed() == {"r0c0": {"alerts.in.ua": "alert"}}
    state = engine.relays.states()["alerts.in.ua"]
    assert (state.state, state.why) == ("stale", "no answer for 30 s")
    out = apply(engine, source("alerts.in.ua", "stopped", 50))
    assert [(d.zone, d.level, d.source.by) for d in out] == [
        ("r0c0", "clear", "no longer followed")
    ]


def test_a_category_change_is_a_decision_an_id_change_alone_is_not(grid):
    engine = Engine(grid)
    apply(engine, relay("alert", 0, ["r0c0"], category="air_raid", id="1"))
    assert apply(engine, relay("alert", 5, ["r0c0"], category="air_raid", id="2")) == []
    out = apply(engine, relay("alert", 6, ["r0c0"], category="artillery_shelling", id="2"))
    assert [(d.level, d.kind) for d in out] == [("alert", "artillery_shelling")]


def test_a_relay_naming_an_unknown_zone_changes_nothing(grid):
    engine = Engine(grid)
    with pytest.raises(EventError, match="no zone with that id"):
        engine.apply(relay("alert", 0, ["r0c0", "nowhere"]))
    assert engine.relayed() == {} and engine.seq == 0


def test_a_relay_event_is_checked_like_every_event():
    with pytest.raises(EventError, match="source"):
        parse_event(
            _json(
                {
                    "type": "relay",
                    "source": "bad name",
                    "action": "alert",
                    "t": at(0),
                    "zones": ["r0c0"],
                }
            )
        )
    with pytest.raises(EventError, match="zone offset"):
        parse_event(
            _json(
                {
                    "type": "relay",
                    "source": "x",
                    "action": "alert",
                    "t": at(0),
                    "zones": ["r0c0"],
                    "since": "2026-03-01T18:00:00",
                }
            )
        )
    with pytest.raises(EventError, match="state"):
        parse_event(_json({"type": "source", "name": "x", "state": "fine", "t": at(0)}))


def d_source(decision: Any) -> str | None:
    return None if decision.source is msgspec.UNSET else decision.source.name


# -- invariants -----------------------------------------------------------------------------

ZONES = ["r0c0", "r0c1", "r1c1"]
steps = st.lists(
    st.tuples(
        st.sampled_from(["relay", "override", "manual", "source"]),
        st.sampled_from(["alerts.in.ua", "oref.org.il"]),
        st.sampled_from(["alert", "pre_alert", "clear"]),
        st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique=True),
    ),
    max_size=25,
)


def _events(plan: list[Any]) -> list[Any]:
    events = []
    for i, (what, name, action, zones) in enumerate(plan):
        if what == "relay":
            events.append(relay(action, i, zones, source=name, category="air_raid"))
        elif what == "override":
            events.append(
                relay(
                    "clear" if action == "clear" else "alert",
                    i,
                    zones,
                    source=name,
                    override=True,
                    by="op",
                )
            )
        elif what == "manual":
            events.append(manual(action, i, zones=zones))
        else:
            events.append(source(name, "stopped" if action == "clear" else "live", i))
    events.append(tick(len(plan) + 1))
    return events


@given(steps)
def test_relayed_lanes_never_change_own_levels_and_replay_is_identical(grid, plan):
    events = _events(plan)
    own_only = [e for e in events if e.__class__.__name__ in ("Manual", "Tick")]
    with_relays = Engine(grid)
    for event in events:
        with_relays.apply(event)
    alone = Engine(grid)
    for event in own_only:
        alone.apply(event)
    assert with_relays.levels() == alone.levels()
    first = [encode_decision(d) for d in run(grid, events)]
    second = [encode_decision(d) for d in run(grid, events)]
    assert first == second


@given(steps)
def test_in_force_is_the_highest_other_lane(grid, plan):
    engine = Engine(grid)
    rank = {"clear": 0, "pre_alert": 1, "alert": 2}
    lanes: dict[tuple[str, str], str] = {}  # (zone, lane) -> level, from the decisions alone
    for event in _events(plan):
        for d in engine.apply(event):
            lane = d_source(d) or "own"
            lanes[(d.zone, lane)] = d.level
            others = [lvl for (zone, name), lvl in lanes.items() if zone == d.zone and name != lane]
            highest = max(others, key=rank.__getitem__, default="clear")
            expected = highest if rank[highest] > rank[d.level] else msgspec.UNSET
            assert d.in_force == expected
