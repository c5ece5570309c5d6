"""Where a threat's alerted area x time goes: zones its true path never came near, and, for the
zones it did come near, the time before and after its closest approach.

    python bench/alert_split.py --kind cruise --country israel --cell honest --seeds 3
    python bench/alert_split.py --kind drones --kind cruise --country ukraine --seeds 2
    python bench/alert_split.py --kind rockets --country israel --cell sparse-60 --seeds 3

(For a rocket or ballistic missile the path is its ground track: *wide* is then the impact
region's width away from it, and the holds after its end are the zones of its last region.)

Reads raids that `bench/sweep.py` cached (simulated and cached when missing), replays them
through the engine with the default settings, and splits each alerted interval of a zone by
the threat that raised it: first the part after that threat's end, when it hit (`impact`) or
was brought down (`intercepted`), by the zone it hit or not; of the rest, *wide* when that
threat's true path never came within `--near-km` (2 km) of the zone; otherwise *before* and
*after* the moment it came closest. The shares say what a corridor's width costs (an honest
reach in any direction a turn allows) against its length in time (the warning before a threat
arrives, the holds after it passed), and what the holds after its end cost.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flaps import _true_xy  # noqa: E402
from sweep import RESULTS, _sim_version, raid, zone_set  # noqa: E402

from airwarn.contract import End, parse_event, parse_time, to_ms  # noqa: E402
from airwarn.engine import Engine  # noqa: E402
from airwarn.sim.conditions import CELLS  # noqa: E402

_MS_PER_HOUR = 3_600_000


def _paths(engine: Engine, truth: dict[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each threat's true path: times (ms) and points in the zones' metres."""
    start_ms = parse_time(truth["start"])
    paths = {}
    for threat in truth["threats"]:
        if threat.get("path"):
            t_ms, xs, ys = _true_xy(engine, threat["path"], start_ms)
            paths[threat["threat"]] = (t_ms, shapely.points(xs, ys))
    return paths


def split(country: str, scenario: str, cell: str, seed: int, near_m: float) -> dict[str, float]:
    """km2 h of alert: after the end (the zone hit, others after a hit, after an interception),
    wide, before and after the closest approach (and unattributed)."""
    conditions = CELLS[cell]
    zones = zone_set(country, None if conditions is None else conditions.shelter_s)
    lines, truth = raid(country, scenario, cell, seed, RESULTS / "sweep-cache", _sim_version())
    engine = Engine(zones)
    events = [parse_event(line) for line in lines]
    decisions = [d for event in events for d in engine.apply(event)]
    decisions += engine.flush()
    paths = _paths(engine, truth)
    ends = {
        event.threat: (to_ms(event.t), event.reason)
        for event in events
        if isinstance(event, End) and event.reason != "lost"
    }
    hit = {}  # threat -> the zone its true impact point is in
    for threat in truth["threats"]:
        impact = threat.get("impact")
        if impact:
            hit[threat["threat"]] = zones.zone_at(float(impact["lon"]), float(impact["lat"]))
    shares: defaultdict[str, float] = defaultdict(float)
    opened: dict[int, tuple[int, list[str]]] = {}
    for d in decisions:
        zone, t = zones.index_of[d.zone], parse_time(d.t)
        if d.level == "alert" and zone not in opened:
            opened[zone] = (t, d.threats)
            continue
        if d.level == "alert" or zone not in opened:
            continue
        start, threats = opened.pop(zone)
        area_h = float(zones.area_km2[zone]) / _MS_PER_HOUR
        ended = ends.get(threats[0]) if threats else None
        if ended is not None and t > ended[0]:
            end_ms, reason = ended
            part = "brought down" if reason == "intercepted" else "hit elsewhere"
            if reason == "impact" and hit.get(threats[0]) == zone:
                part = "the zone hit"
            shares[part] += area_h * (t - max(start, end_ms))
            t = max(start, end_ms)
        path = paths.get(threats[0]) if threats else None
        if path is None:
            shares["unattributed"] += area_h * (t - start)
            continue
        times, points = path
        distance = shapely.distance(zones.shapes_m[zone], points)
        closest = int(np.argmin(distance))
        if distance[closest] > near_m:
            shares["wide"] += area_h * (t - start)
        else:
            at = float(times[closest])
            shares["before"] += area_h * max(0.0, min(t, at) - start)
            shares["after"] += area_h * max(0.0, t - max(start, at))
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--kind", choices=["cruise", "drones", "rockets", "ballistic"], action="append"
    )
    parser.add_argument("--country", choices=["israel", "ukraine"], action="append")
    parser.add_argument("--cell", choices=list(CELLS), action="append")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 1..N of each cell")
    parser.add_argument(
        "--near-km", type=float, default=2.0, help="a zone the path came this near is not wide"
    )
    args = parser.parse_args()
    print(
        "| kind | country | cell | seeds | wide | before closest | after closest "
        "| after its end: the zone hit | after a hit, elsewhere | after it was brought down "
        "| km2 h |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for scenario in args.kind or ["cruise"]:
        for country in args.country or ["israel"]:
            for cell in args.cell or ["honest"]:
                shares: defaultdict[str, float] = defaultdict(float)
                for seed in range(1, args.seeds + 1):
                    for part, km2h in split(
                        country, scenario, cell, seed, 1e3 * args.near_km
                    ).items():
                        shares[part] += km2h
                total = sum(shares.values()) or 1.0
                print(
                    f"| {scenario} | {country} | {cell} | {args.seeds} | "
                    f"{shares['wide'] / total:.0%} | {shares['before'] / total:.0%} | "
                    f"{shares['after'] / total:.0%} | {shares['the zone hit'] / total:.1%} | "
                    f"{shares['hit elsewhere'] / total:.0%} | "
                    f"{shares['brought down'] / total:.0%} | {total:.1f} |"
                )


if __name__ == "__main__":
    main()
