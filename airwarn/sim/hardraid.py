"""Raids under chosen conditions: the harder simulator behind `airwarn simulate --sensor ...`.

The threats are those of the default simulator for the same zones, scenario and seed (the
same launch sites, targets and launch times), so that a sweep compares cells on the same raid.
What changes is how they fly and how they are seen, each from a random stream of its own
(named after the scenario, the seed and the part it draws for):

- rockets and ballistic missiles are flown again under honest physics, with the body asked
  for (`airwarn.sim.truth_flight`); drones and cruise missiles manoeuvre near their targets
  when asked (`airwarn.sim.maneuvers`);
- the sensors (`airwarn.sim.sensing`): acquisition, cadence, declared and true errors, bias,
  correlated errors, dropped, duplicated and late reports;
- the zones' shelter time, when `shelter_s` is set (the caller passes the zone set with it,
  `airwarn.sim.conditions.with_shelter`, so that replay and scoring use the same one).

The truth document is the default one (see `airwarn.sim.scenarios`) plus, compatibly:
`conditions` (the knobs, `airwarn.sim.conditions.Conditions`), `shelter_s` (the uniform time
to shelter, or null), and per threat: `path` (`airwarn.sim.paths`), `sigma_m` (declared),
`interval_s`, `flight_s` (launch to where it came down or would have), for an intercepted
threat `would_impact` {lat, lon, t}, where it would have come down; for a rocket or ballistic
missile `flown` (`honest`, or `default` when the body asked for could not reach the target)
and its `beta_kg_m2` (at Mach 2); for a drone or cruise missile under `maneuver`, `maneuver`:
{kind, t_s (when it began), turn_rate_dps, top_speed_mps, loiter_s} or {kind: none}. The
top-level `weather` is the raid's air (`airwarn.sim.truth_flight.Weather`).
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict
from typing import Any

from airwarn.contract import format_time, parse_time
from airwarn.engine import physics
from airwarn.engine.threat_kinds import PROFILES
from airwarn.engine.zones import ZoneSet
from airwarn.sim import maneuvers, sensing, truth_flight
from airwarn.sim.conditions import Conditions
from airwarn.sim.paths import threat_path_record
from airwarn.sim.scenarios import START, BallisticPath, PlannedThreat, Raid, plan


def plan_under(
    zones: ZoneSet, scenario: str, seed: int, conditions: Conditions, *, count: int | None = None
) -> tuple[Raid, list[PlannedThreat]]:
    """The raid's threats, flown and seen under the conditions (times in seconds)."""
    raid, threats = plan(zones, scenario, seed, count=count)
    air = random.Random(f"{scenario}:{seed}:weather")
    weather = truth_flight.Weather.draw(air)
    forecast = weather.forecast(air)
    bodies = random.Random(f"{scenario}:{seed}:bodies:{conditions.body}")
    for threat in threats:
        if threat.kind in ("rocket", "ballistic"):
            _refly_ballistic(threat, bodies, conditions.body, weather, forecast)
    raid.weather = weather  # type: ignore[attr-defined]
    if conditions.maneuver != "none":
        turns = random.Random(f"{scenario}:{seed}:maneuver:{conditions.maneuver}")
        for threat in threats:
            if threat.kind not in maneuvers.AIRFRAMES:
                continue
            what = conditions.maneuver
            pick = turns.choice(maneuvers.KINDS)  # drawn for every threat, used by `mixed`
            if what == "mixed":
                what = pick
            done = maneuvers.maneuver(raid, threat, what, turns)
            threat.maneuver = done or {"kind": "none"}  # type: ignore[attr-defined]
    detect_rng = random.Random(f"{scenario}:{seed}:detect:{conditions.acquire}")
    for threat in threats:
        threat.detect_s = sensing.detect_s(detect_rng, raid, threat, conditions.acquire)
    sensing.assign_fates(random.Random(f"{scenario}:{seed}:fates"), raid, threats)
    return raid, threats


def body_beta(rng: random.Random, kind: str, body: str) -> float | None:
    """A ballistic coefficient at one end of the kind's plausible range (log scale), or None
    for the default body."""
    if body == "default":
        return None
    profile = PROFILES[kind]
    lo, hi = math.log(profile.beta_low_kg_m2), math.log(profile.beta_high_kg_m2)
    tenth = (hi - lo) / 10.0
    return math.exp(rng.uniform(hi - tenth, hi) if body == "sleek" else rng.uniform(lo, lo + tenth))


def _refly_ballistic(
    threat: PlannedThreat,
    rng: random.Random,
    body: str,
    weather: truth_flight.Weather,
    forecast: truth_flight.Weather,
) -> None:
    """Fly a rocket or ballistic missile again, from its launch at its impact point, under the
    honest physics of `airwarn.sim.truth_flight` (and with another body, if asked). Kept as the
    default simulator flew it (`flown: default` in the truth) when the new body cannot reach."""
    planned = threat.path
    assert isinstance(planned, BallisticPath)
    beta = body_beta(rng, threat.kind, body) or float(threat.beta_kg_m2 or 10_000.0)
    # Draw every number whatever happens, so that one threat's outcome never shifts another's.
    aim_error = math.exp(rng.gauss(0.0, 0.02))
    r0, v0 = planned.flight.states[0]
    b_lat, b_lon, _ = physics.ecef_to_geodetic(*r0)
    e, n, u = physics.ecef_to_enu_vector(b_lat, b_lon, v0)
    loft = math.degrees(math.atan2(u, math.hypot(e, n)))
    guided = threat.kind == "ballistic"
    path = truth_flight.launch(
        (threat.launch_lat, threat.launch_lon),
        (threat.impact[0], threat.impact[1]),
        threat.launch_s,
        boost_s=planned.boost_s,
        loft_deg=loft,
        aim_beta=beta if guided else beta * aim_error,
        true_beta=beta,
        aim_weather=weather if guided else forecast,
        weather=weather,
    )
    if path is None or path.flight.impact is None:
        threat.flown = "default"  # type: ignore[attr-defined]
        return
    threat.path = path  # type: ignore[assignment]
    threat.impact = path.flight.impact
    threat.beta_kg_m2 = beta
    threat.flown = "honest"  # type: ignore[attr-defined]


def simulate_under(
    zones: ZoneSet, scenario: str, seed: int, conditions: Conditions, *, count: int | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A raid under the conditions: the sensor events (Contract v1 dicts, in delivery order)
    and the truth document with paths. The same zones, scenario, seed and conditions give the
    same result."""
    raid, threats = plan_under(zones, scenario, seed, conditions, count=count)
    seen = sensing.sightings(random.Random(f"{scenario}:{seed}:sensors"), threats, conditions)
    start_ms = parse_time(START)
    events = sensing.events(random.Random(f"{scenario}:{seed}:reports"), threats, seen, start_ms)
    return events, _truth(raid, scenario, seed, threats, conditions, start_ms)


def _truth(
    raid: Raid,
    scenario: str,
    seed: int,
    threats: list[PlannedThreat],
    conditions: Conditions,
    start_ms: int,
) -> dict[str, Any]:
    def at(t_s: float) -> str:
        return format_time(start_ms + round(t_s * 1000))

    rows = []
    for threat in threats:
        lat, lon, t_hit = threat.impact
        where = {"lat": round(lat, 6), "lon": round(lon, 6), "t": at(t_hit)}
        intercepted = threat.end_reason == "intercepted"
        row: dict[str, Any] = {
            "threat": threat.threat,
            "kind": threat.kind,
            "area": threat.area,
            "launch": {
                "lat": round(threat.launch_lat, 6),
                "lon": round(threat.launch_lon, 6),
                "t": at(threat.launch_s),
            },
            "first_report_t": at(threat.detect_s),
            "impact": None if intercepted else where,
            "end_reason": threat.end_reason,
            "end_t": at(threat.end_s),
            "sigma_m": threat.sigma_m,
            "interval_s": threat.interval_s,
            "flight_s": round(t_hit - threat.launch_s, 3),
        }
        if intercepted:
            row["would_impact"] = where
        if threat.beta_kg_m2 is not None:
            row["beta_kg_m2"] = round(threat.beta_kg_m2)
            row["flown"] = getattr(threat, "flown", "default")
            path = threat.path
            assert isinstance(path, BallisticPath | truth_flight.TrueBallisticPath)
            row["apogee_m"] = round(path.apogee_m())
            row["max_speed_mps"] = round(path.max_speed_mps(), 1)
        if threat.speed_mps is not None:
            row["speed_mps"] = round(threat.speed_mps, 1)
            row["turn_rate_dps"] = threat.turn_rate_dps
            if hasattr(threat, "maneuver"):
                row["maneuver"] = threat.maneuver
        row["path"] = threat_path_record(threat)
        rows.append(row)
    return {
        "scenario": scenario,
        "seed": seed,
        "country": raid.theater.name,
        "start": format_time(start_ms),
        "conditions": conditions.to_dict(),
        "weather": {
            k: round(v, 4) for k, v in asdict(getattr(raid, "weather", truth_flight.STILL)).items()
        },
        "shelter_s": conditions.shelter_s,
        "threats": rows,
    }
