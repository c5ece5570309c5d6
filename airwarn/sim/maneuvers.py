"""Drones and cruise missiles that turn hard, reverse, loiter and speed up, within the physics
of their airframes.

The default simulator flies them along waypoints at a constant speed and a gentle turn rate
(3°/s for a drone, 2°/s for a cruise missile). Here each one, once it is near its target (a
drone 20-60 km out, a cruise missile 40-120 km out), changes its plan in one of four ways:

- `turn`: a hard turn of 60-120° (± 15°) to either side onto another target 7-90 km away
  (15-150 km for a cruise missile: half to one and a half times a draw of 15-60 km, or
  30-100 km), at the airframe's hard turn rate;
- `reverse`: the same onto a target behind it (150-210° of turn);
- `loiter`: it circles at its usual turn rate for 2-8 minutes (a cruise missile 1-3), then
  goes on to its target;
- `speedup`: a dash to its top speed, then on to its target.

The limits (the physics of a coordinated turn, ω = g tan(bank) / v, and of thrust):

- a drone (Shahed-136 class: piston engine, delta wing), cruising at 45-55 m/s: a hard turn
  at 45° of bank (1.4 g), 10-12.5°/s; a dash to 1.2 × its cruise speed (54-66 m/s, in a
  shallow dive) at 0.5 m/s²;
- a cruise missile (Kh-101/Kalibr class: turbofan), cruising at 220-250 m/s: a hard turn at
  60° of bank (2 g), 3.9-4.4°/s; a dash to 1.15 × its cruise speed (253-288 m/s) at 2 m/s².

Both turn faster than the engine's profiles assumed until issue 12 (4°/s and 3°/s), and the
fastest drones dash past the 60 m/s the engine then capped them at: real airframes can, and
the engine's corridors are judged against it (`airwarn.engine.threat_kinds` now takes these
turns and a dash from the speed seen; `tests/test_corridor.py` flies these manoeuvres against them).
New targets are zones of the set (on the defended side), chosen by the same weights as first
targets. A threat for which no zone lies in the sector on
either side keeps its plan (the truth row says `maneuver: none`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from airwarn.sim.scenarios import (
    ROUTES,
    PlannedThreat,
    Raid,
    RoutePath,
    _distance_bearing,
    _distances_m,
    fly_step,
)

G0 = 9.80665
KINDS = ("turn", "reverse", "loiter", "speedup")


@dataclass(frozen=True)
class Airframe:
    """The manoeuvre limits of a kind (see the table above)."""

    hard_bank_deg: float
    top_speed_factor: float
    accel_mps2: float
    trigger_km: tuple[float, float]  # distance to the target when the manoeuvre starts
    new_target_km: tuple[float, float]
    loiter_s: tuple[float, float]


AIRFRAMES: dict[str, Airframe] = {
    "drone": Airframe(45.0, 1.2, 0.5, (20.0, 60.0), (15.0, 60.0), (120.0, 480.0)),
    "cruise": Airframe(60.0, 1.15, 2.0, (40.0, 120.0), (30.0, 100.0), (60.0, 180.0)),
}


def hard_turn_rate_dps(kind: str, speed_mps: float) -> float:
    """The turn rate of a coordinated turn at the airframe's hardest bank."""
    bank = math.radians(AIRFRAMES[kind].hard_bank_deg)
    return math.degrees(G0 * math.tan(bank) / speed_mps)


def maneuver(
    raid: Raid, threat: PlannedThreat, what: str, rng: random.Random
) -> dict[str, Any] | None:
    """Change a drone's or cruise missile's flight from near its target on (in place), and
    say what it did; None (the flight unchanged) when it cannot.

    Every random number is drawn whatever the outcome, in a fixed order."""
    path = threat.path
    assert isinstance(path, RoutePath)
    frame = AIRFRAMES[threat.kind]
    style = ROUTES[threat.kind]
    trigger_m = 1000.0 * rng.uniform(*frame.trigger_km)
    side = rng.choice((-1.0, 1.0))
    turn_deg = rng.uniform(60.0, 120.0) if what == "turn" else rng.uniform(150.0, 210.0)
    reach_m = 1000.0 * rng.uniform(*frame.new_target_km)
    loiter_s = rng.uniform(*frame.loiter_s)
    dive_deg = rng.uniform(*style.dive_deg)
    pick, spot = rng.random(), (rng.random(), rng.random())
    target_lat, target_lon = threat.impact[0], threat.impact[1]
    lats = np.asarray(path.lat)
    lons = np.asarray(path.lon)
    left = _distances_m(target_lat, target_lon, lats, lons)
    # The first sample within the trigger distance, after the sensors could see it.
    start = int(np.argmax(left <= trigger_m)) if (left <= trigger_m).any() else -1
    if start <= 0 or start >= len(lats) - 2:
        return None
    speed = threat.speed_mps or math.hypot(path.east[start], path.north[start])
    heading = math.atan2(path.east[start], path.north[start])
    lat, lon, alt = path.lat[start], path.lon[start], max(path.alt[start], 50.0)
    turn_rate = math.radians(style.turn_rate_dps)
    top_speed = speed
    legs: list[tuple[str, float]] = []
    if what in ("turn", "reverse"):
        found = None
        for hand in (side, -side):  # the other side when nothing is to be hit on the first
            bearing = heading + hand * math.radians(turn_deg)
            found = _pick_target(raid, lat, lon, bearing, reach_m, pick, spot)
            if found is not None:
                side = hand
                break
        if found is None:
            return None
        target_lat, target_lon = found
        turn_rate = math.radians(hard_turn_rate_dps(threat.kind, speed))
    elif what == "loiter":
        legs.append(("loiter", loiter_s))
    elif what == "speedup":
        top_speed = speed * frame.top_speed_factor
    new = RoutePath(t0_s=path.t0_s, dt_s=path.dt_s)
    for i in range(start):
        new.append(path.lat[i], path.lon[i], path.alt[i], path.east[i], path.north[i], path.up[i])
    flown = _fly(
        new,
        (lat, lon, alt),
        heading,
        speed,
        top_speed,
        frame.accel_mps2,
        turn_rate,
        side,
        legs,
        (target_lat, target_lon),
        dive_deg,
    )
    if not flown:
        return None
    threat.path = new
    threat.impact = (new.lat[-1], new.lon[-1], new.t_end_s)
    return {
        "kind": what,
        "t_s": round(new.time_of(start), 3),
        "turn_rate_dps": round(math.degrees(turn_rate), 2),
        "top_speed_mps": round(top_speed, 1),
        "loiter_s": round(loiter_s, 1) if what == "loiter" else None,
    }


def _pick_target(
    raid: Raid,
    lat: float,
    lon: float,
    bearing: float,
    reach_m: float,
    pick: float,
    spot: tuple[float, float],
) -> tuple[float, float] | None:
    """A point of a targetable zone about `reach_m` away, within 15° of `bearing`."""
    d = _distances_m(lat, lon, raid.rep_lat, raid.rep_lon)
    phi1, phi2 = math.radians(lat), np.radians(raid.rep_lat)
    dl = np.radians(raid.rep_lon - lon)
    b = np.arctan2(
        np.sin(dl) * np.cos(phi2),
        math.cos(phi1) * np.sin(phi2) - math.sin(phi1) * np.cos(phi2) * np.cos(dl),
    )
    off = np.abs((b - bearing + math.pi) % (2 * math.pi) - math.pi)
    ok = (d >= 0.5 * reach_m) & (d <= 1.5 * reach_m) & (off <= math.radians(15.0))
    weights = np.where(ok, raid.weights, 0.0)
    total = float(weights.sum())
    if total <= 0.0:
        return None
    index = int(np.searchsorted(np.cumsum(weights), pick * total, side="right"))
    index = min(index, len(weights) - 1)
    geometry = raid.zones.zones[index].geometry
    minx, miny, maxx, maxy = geometry.bounds
    # A point of the zone: the first of a fixed sequence of candidates that falls inside.
    for k in range(40):
        u = (spot[0] + k * 0.6180339887) % 1.0
        v = (spot[1] + k * 0.7548776662) % 1.0
        x, y = minx + u * (maxx - minx), miny + v * (maxy - miny)
        if shapely.contains_xy(geometry, x, y):
            return y, x
    return float(raid.rep_lat[index]), float(raid.rep_lon[index])


def _fly(
    path: RoutePath,
    start: tuple[float, float, float],
    heading: float,
    speed: float,
    top_speed: float,
    accel: float,
    turn_rate: float,
    side: float,
    legs: list[tuple[str, float]],
    target: tuple[float, float],
    dive_deg: float,
) -> bool:
    """Fly from a state: the legs (a loiter), then to the target with a dive onto it; append
    the samples to `path`. False if it has not come down within 10 hours."""
    dt = path.dt_s
    lat, lon, alt = start
    tan_dive = math.tan(math.radians(dive_deg))
    loiter_left = sum(duration for what, duration in legs if what == "loiter")
    diving = escaping = False
    for _ in range(int(10 * 3600 / dt)):
        max_turn = turn_rate * dt
        radius = speed / turn_rate
        dist, bearing = _distance_bearing(lat, lon, *target)
        error = (bearing - heading + math.pi) % (2 * math.pi) - math.pi
        if loiter_left > 0.0:
            heading += side * max_turn  # circling
            loiter_left -= dt
        else:
            if not diving:
                if escaping and dist > 3.0 * radius:
                    escaping = False
                elif not escaping and dist < 2.5 * radius and abs(error) > math.radians(45):
                    escaping = True
                if not escaping and dist * tan_dive <= alt and abs(error) < math.radians(10):
                    diving = True
            heading += 0.0 if escaping else max(-max_turn, min(max_turn, error))
        if speed < top_speed:
            speed = min(top_speed, speed + accel * dt)
        if diving:
            up = -speed * math.sin(min(math.atan2(alt, max(dist, 1.0)), math.radians(75.0)))
        else:
            up = 0.0
        horizontal = math.sqrt(max(speed * speed - up * up, 0.0))
        east, north = horizontal * math.sin(heading), horizontal * math.cos(heading)
        moved = fly_step(path, lat, lon, alt, east, north, up, dt)
        if moved is None:
            return True
        lat, lon, alt = moved
    return False
