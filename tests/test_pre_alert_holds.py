"""A threat's pre-alert and alert holds follow what each assessment said, however often the same
list comes again: a zone stays pre-alerted until `release_s` after the last list that named
it, not the first (a corridor's warning ring is mostly the same list for a minute, and the
engine moves all its zones' times at once then)."""

from __future__ import annotations

import numpy as np
from conftest import grid_zones, manual, track
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airwarn.contract import to_ms
from airwarn.engine import Engine, EngineConfig
from airwarn.engine.policy import Assessment, ThreatView
from airwarn.engine.zones import zones_from_geojson

ZONES = zones_from_geojson(grid_zones(rows=3, cols=4))
RELEASE_S = 20
CORRIDOR_RELEASE_S = 15
# no holds after a release: a zone's level is then exactly what its holders say
CONFIG = EngineConfig(
    release_s=RELEASE_S,
    corridor_release_s=CORRIDOR_RELEASE_S,
    pre_hold_s=0,
    pass_hold_s=0,
    hold_s=0,
)
# a few lists, so that the same one comes again and again
LISTS = [(), (0, 1, 2), (0, 1, 2, 3), (1, 2, 5, 6), (4, 5, 6, 7, 8), (8, 9, 10, 11)]


class ScriptedPolicy:
    """Says what the plan says for the latest report's time; remembers what it said when."""

    name = "scripted"

    def __init__(self) -> None:
        self.plan: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        self.said: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = []

    def assess(self, threat: ThreatView, now_ms: int) -> Assessment:
        alert, pre = self.plan[max(t for t in self.plan if t <= now_ms)]
        self.said.append((now_ms, alert, pre))
        return Assessment(np.array(alert, dtype=np.int64), np.array(pre, dtype=np.int64))


def expected_levels(said, clears) -> dict[int, str]:
    """The rules of docs/engine.md, plainly: a zone is at alert while the threat last named it
    at alert less than corridor_release_s ago, pre-alerted while it last named it in a
    pre-alert list less than release_s ago (and holds it at alert no more)."""
    alert_seen: dict[int, int] = {}
    pre_seen: dict[int, int] = {}
    overruled: set[int] = set()
    steps = sorted([(t, 0, (a, p)) for t, a, p in said] + [(t, 1, z) for t, z in clears])
    for now, what, step in steps:
        if what == 1:  # an operator's clear: a threat that held it holds it no more, nor
            # takes it again
            if step in alert_seen or step in pre_seen:
                overruled.add(step)
            alert_seen.pop(step, None)
            pre_seen.pop(step, None)
            continue
        alert = [z for z in step[0] if z not in overruled]
        pre = [z for z in step[1] if z not in overruled]
        alert_seen.update(dict.fromkeys(alert, now))
        leaving = [
            z
            for z, seen in alert_seen.items()
            if seen < now and now - seen >= 1000 * CORRIDOR_RELEASE_S
        ]
        staying = alert_seen.keys() - set(leaving)
        pre = [z for z in pre if z not in staying]
        pre_seen.update(dict.fromkeys(pre, now))
        for z in leaving:
            del alert_seen[z]
        for z in list(pre_seen):
            stale = z not in pre and now - pre_seen[z] >= 1000 * RELEASE_S
            if stale or z in alert_seen:
                del pre_seen[z]
    out = dict.fromkeys(range(len(ZONES)), "clear")
    out.update(dict.fromkeys(pre_seen, "pre_alert"))
    out.update(dict.fromkeys(alert_seen, "alert"))
    return out


def levels(engine: Engine) -> dict[int, str]:
    return {z: engine.level_of(zone_id) for z, zone_id in enumerate(ZONES.ids)}


def fly(plan: list[tuple[float, int, int, int | None]]):
    """Reports of one drone at the plan's gaps (each with an alert list and a pre-alert list
    from LISTS, a pre-alert list less the alert list), and an operator's clears."""
    policy = ScriptedPolicy()
    engine = Engine(ZONES, CONFIG, policy)
    t, clears = 0.0, []
    for gap, alert_at, pre_at, clear in plan:
        t = round(t + gap, 3)
        alert = LISTS[alert_at][:2]  # a few zones at alert at most
        pre = tuple(z for z in LISTS[pre_at] if z not in alert)
        report = track("D1", t, 31.45, 34.65)
        policy.plan[to_ms(report.t)] = (alert, pre)
        engine.apply(report)
        if clear is not None:
            action = manual("clear", t, zones=[ZONES.ids[clear]])
            engine.apply(action)
            clears.append((to_ms(action.t), clear))
    return engine, policy.said, clears


def test_a_zone_named_again_and_again_stays_pre_alerted_until_release_s_after_the_last_time():
    # the same list at 0, 10, 20 and 30 s; at 40 s a list without zone 0
    plan = [(0.0, 0, 1, None), (10.0, 0, 1, None), (10.0, 0, 1, None), (10.0, 0, 1, None)]
    plan += [(10.0, 0, 3, None)]
    engine, said, clears = fly(plan)
    assert levels(engine)[0] == "pre_alert"  # named last at 30 s: held until 50 s
    engine, said, _ = fly([*plan, (10.0, 0, 3, None)])  # 50 s
    assert levels(engine)[0] == "clear"
    assert levels(engine) == expected_levels(said, [])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0.5, 3.0, 7.0, 12.0, 20.0]),
            st.integers(0, len(LISTS) - 1),
            st.sampled_from([0, 0, 0, 1, 2, 3]),  # mostly the same few lists again
            st.one_of(st.none(), st.none(), st.none(), st.integers(0, len(ZONES) - 1)),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_pre_alert_and_alert_holds_follow_every_list_given_however_often_it_repeats(plan):
    engine, said, clears = fly(plan)
    expected = expected_levels(said, clears)
    assert levels(engine) == expected


def test_a_drone_taken_up_again_after_it_was_lost_pre_alerts_its_list_again():
    # the same list before the drone is lost by silence (a drone's timeout is 180 s) and after
    # its next report takes it up again: the zones are its again, not left clear
    plan = [(0.0, 0, 1, None), (5.0, 0, 1, None), (200.0, 0, 1, None)]
    engine, said, _ = fly(plan)
    assert engine.stats.lost == 1 and engine.stats.resumed == 1
    assert [levels(engine)[z] for z in LISTS[1]] == ["pre_alert"] * len(LISTS[1])
