"""Imperfect sensors for the harder simulator: when a threat is first seen, how often and how
badly it is reported, and how the reports reach the engine.

Where the default simulator's sensors are exactly what they declare (white Gaussian errors of
the declared `sigma_m`, centred on the truth), these are not, as real ones are not:

- **error scale**: each threat's true errors are 0.9 to 1.25 times what its reports declare (or
  the `error_scale` condition's factor);
- **bias**: a constant offset per threat (its sensor's registration error), 0.3 declared sigma
  per axis (1 sigma of the offset);
- **correlated errors**: the random part follows a first-order Gauss-Markov process with a 5 s
  time constant, so errors of reports a second apart are nearly the same and averaging many
  of them gains less than a filter that takes them as independent expects;
- **delivery**: 4 % of reports never arrive, 2 % arrive twice (up to 2 s apart), 3 % arrive up
  to 8 s late (after newer ones), and report times jitter by ±3 % of the interval.

Velocity reports (when the kind's sensors give them) carry the same error scale. Interceptions
and lost tracks follow the default simulator's rules (`airwarn.sim.scenarios._defend`), drawn
from a random stream of their own so that a threat's fate does not change with the sensor.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from airwarn.contract import format_time
from airwarn.sim.conditions import Conditions
from airwarn.sim.scenarios import (
    DETECT_RANGE_M,
    LOST_SHARE,
    ROCKET_DETECT_M,
    SENSORS,
    BallisticPath,
    PlannedThreat,
    Raid,
    RoutePath,
    _offset,
)
from airwarn.sim.truth_flight import TrueBallisticPath

LATE_ACQUIRE_SHARE = 0.2  # `late`: only the last fifth of the flight is seen ...
LATE_ACQUIRE_MAX_S = 120.0  # ... at most its last two minutes ...
LATE_ACQUIRE_MIN_S = 10.0  # ... and at least its last ten seconds


@dataclass(frozen=True)
class SensorFaults:
    """How the harder simulator's sensors fall short of what they declare."""

    error_scale: tuple[float, float] = (0.9, 1.25)
    bias_sigma: float = 0.3
    correlation_s: float = 5.0
    drop_share: float = 0.04
    duplicate_share: float = 0.02
    late_share: float = 0.03
    late_max_s: float = 8.0
    jitter: float = 0.03


FAULTS = SensorFaults()


@dataclass
class Sighting:
    """How one threat is seen: by its own sensor, with its own error scale and bias."""

    interval_s: float
    sigma_m: float  # declared
    scale: float  # true errors over declared
    bias_m: tuple[float, float, float]  # east, north, up


def flight_end_s(threat: PlannedThreat) -> float:
    """When the threat comes down (or would have)."""
    return threat.impact[2]


def detect_s(rng: random.Random, raid: Raid, threat: PlannedThreat, acquire: str) -> float:
    """When the sensors first see a threat under an acquisition rule (see `Conditions`)."""
    t_hit = flight_end_s(threat)
    flight = t_hit - threat.launch_s
    if acquire == "launch":
        return min(threat.launch_s + rng.uniform(0.5, 2.0), t_hit - 1.0)
    if acquire == "mid":
        return threat.launch_s + 0.5 * flight + rng.uniform(0.0, 2.0)
    if acquire == "late":
        left = min(max(LATE_ACQUIRE_SHARE * flight, LATE_ACQUIRE_MIN_S), LATE_ACQUIRE_MAX_S)
        return t_hit - min(left, flight - 0.5)
    path = threat.path
    if threat.kind in ("rocket", "ballistic"):
        assert isinstance(path, BallisticPath | TrueBallisticPath)
        burnout_s = path.t_launch_s + path.boost_s
        if threat.kind == "ballistic":
            return min(burnout_s + rng.uniform(5.0, 30.0), t_hit - 5.0)
        t = burnout_s
        while t < t_hit - 1.0 and path.at(t).alt_m < ROCKET_DETECT_M:
            t += 0.25
        return min(t, t_hit - 1.0) + rng.uniform(0.0, 0.5)
    assert isinstance(path, RoutePath)
    reach = rng.uniform(*DETECT_RANGE_M[threat.kind])
    stride = max(1, int(30.0 / path.dt_s))
    index = list(range(0, len(path.lat), stride))
    near = np.flatnonzero(
        raid.distances_to_zones_m([path.lat[i] for i in index], [path.lon[i] for i in index])
        <= reach
    )
    if not len(near):
        return t_hit - 60.0
    first = index[int(near[0])]
    return min(path.time_of(first) + rng.uniform(2.0, 15.0), t_hit - 5.0)


def assign_fates(rng: random.Random, raid: Raid, threats: list[PlannedThreat]) -> None:
    """Interceptions and lost tracks, by the default simulator's rules, from `detect_s`.

    Every draw is made for every threat whatever its outcome, so that one threat's fate does
    not shift another's when a sensor cell changes detection times."""
    shares = {kind: rng.uniform(*model.intercept_share) for kind, model in SENSORS.items()}
    for threat in threats:
        t_hit = flight_end_s(threat)
        roll, where, lost_roll, lost_where, lost_after = (rng.random() for _ in range(5))
        threat.end_reason, threat.end_s = "impact", t_hit + rng.uniform(0.0, 1.0)
        threat.last_report_s = t_hit
        visible = t_hit - threat.detect_s
        share = shares[threat.kind]
        if threat.kind == "rocket":
            inside = raid.zones.zone_at(threat.impact[1], threat.impact[0]) is not None
            share = share if inside else 0.0
        if visible > 12.0 and roll < share:
            if threat.kind in ("rocket", "ballistic"):
                lo = threat.detect_s + max(5.0, 0.4 * visible)
                hi = t_hit - max(3.0, 0.08 * visible)
            else:
                lo = threat.detect_s + max(20.0, 0.2 * visible)
                hi = t_hit - 15.0
            if hi > lo:
                t_int = lo + where * (hi - lo)
                threat.end_reason, threat.end_s, threat.last_report_s = "intercepted", t_int, t_int
                continue
        if visible > 30.0 and lost_roll < LOST_SHARE:
            t_lost = threat.detect_s + (0.3 + 0.5 * lost_where) * visible
            end = t_lost + 5.0 + 15.0 * lost_after
            if end < t_hit - 1.0:
                threat.end_reason, threat.end_s, threat.last_report_s = "lost", end, t_lost


def sightings(
    rng: random.Random,
    threats: list[PlannedThreat],
    conditions: Conditions,
    faults: SensorFaults = FAULTS,
) -> dict[str, Sighting]:
    """Each threat's sensor: its cadence, declared error, true error scale and bias."""
    out = {}
    for threat in threats:
        model = SENSORS[threat.kind]
        interval = (
            conditions.interval_s
            if conditions.interval_s is not None
            else round(rng.uniform(*model.interval_s), 1)
        )
        sigma = (
            float(conditions.noise_m)
            if conditions.noise_m is not None
            else float(round(rng.uniform(*model.sigma_m)))
        )
        scale = rng.uniform(*faults.error_scale)  # drawn always: the stream stays the same
        if conditions.error_scale is not None:
            scale = conditions.error_scale
        bias = tuple(rng.gauss(0.0, faults.bias_sigma * sigma * scale) * k for k in (1.0, 1.0, 1.5))
        out[threat.threat] = Sighting(interval, sigma, scale, (bias[0], bias[1], bias[2]))
        threat.interval_s, threat.sigma_m = interval, sigma
    return out


def events(
    rng: random.Random,
    threats: list[PlannedThreat],
    seen: dict[str, Sighting],
    start_ms: int,
    faults: SensorFaults = FAULTS,
) -> list[dict[str, Any]]:
    """Every threat's reports and end, in delivery order, with the faults above."""
    queue: list[tuple[int, int, dict[str, Any]]] = []

    def push(delivered_ms: int, event: dict[str, Any]) -> None:
        queue.append((delivered_ms, len(queue), event))

    for threat in threats:
        sight = seen[threat.threat]
        model = SENSORS[threat.kind]
        end_ms = start_ms + round(threat.end_s * 1000)
        sd = sight.sigma_m * sight.scale
        error = [rng.gauss(0.0, sd), rng.gauss(0.0, sd), rng.gauss(0.0, 1.5 * sd)]
        t = threat.detect_s
        t_prev = t
        while t < threat.last_report_s:
            t_ms = start_ms + round(t * 1000)
            if t_ms >= end_ms:
                break
            # The Gauss-Markov error moves on whether or not the report gets through.
            rho = math.exp(-(t - t_prev) / faults.correlation_s)
            shake = math.sqrt(1.0 - rho * rho)
            error = [
                rho * e + shake * rng.gauss(0.0, s)
                for e, s in zip(error, (sd, sd, 1.5 * sd), strict=True)
            ]
            t_prev = t
            dropped = rng.random() < faults.drop_share
            if not dropped:
                event = _report(rng, threat, sight, (t_ms - start_ms) / 1000.0, error, model)
                event["t"] = format_time(t_ms)
                delivered = t_ms
                if rng.random() < faults.late_share and t_ms + faults.late_max_s * 1000 < end_ms:
                    delivered = t_ms + round(rng.uniform(0.3, faults.late_max_s) * 1000)
                push(delivered, event)
                if rng.random() < faults.duplicate_share and t_ms + 2000 < end_ms:
                    push(delivered + round(rng.uniform(0.0, 2.0) * 1000), dict(event))
            t += sight.interval_s * rng.uniform(1.0 - faults.jitter, 1.0 + faults.jitter)
        push(
            end_ms,
            {
                "type": "end",
                "threat": threat.threat,
                "t": format_time(end_ms),
                "reason": threat.end_reason,
            },
        )
    queue.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in queue]


def _report(
    rng: random.Random,
    threat: PlannedThreat,
    sight: Sighting,
    t_s: float,
    error: list[float],
    model: Any,
) -> dict[str, Any]:
    truth = threat.path.at(t_s)
    east = sight.bias_m[0] + error[0]
    north = sight.bias_m[1] + error[1]
    lat, lon = _offset(truth.lat, truth.lon, east, north)
    alt = max(truth.alt_m + sight.bias_m[2] + error[2], 0.0)
    event: dict[str, Any] = {
        "type": "track",
        "threat": threat.threat,
        "kind": threat.kind,
        "t": None,
        "lat": round(lat, 6),
        "lon": round(lon, 6),
        "alt_m": round(alt, 1),
        "sigma_m": round(sight.sigma_m),
    }
    if model.vel_share >= 1.0 or rng.random() < model.vel_share:
        s = model.vel_sigma_mps * sight.scale
        event["vel_mps"] = [
            round(truth.east + rng.gauss(0.0, s), 1),
            round(truth.north + rng.gauss(0.0, s), 1),
            round(truth.up + rng.gauss(0.0, s), 1),
        ]
    return event
