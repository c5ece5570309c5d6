"""Why corridor threats flap: every flap of a cached sweep raid, with what re-took the zone.

    python bench/flaps.py --kind cruise --country israel --cell honest      # one raid per line
    python bench/flaps.py --kind cruise --country israel --cell honest --each  # every flap

Reads raids that `bench/sweep.py` cached (run it first), replays them through the engine with
the default settings, and for each flap (a zone put at alert by a threat that had alerted it
before, after it had left alert) prints the zone's shelter time, the time from the threat's
release of it to its return, the level the zone was at in between, the distance from the
threat's estimated and true positions to the zone, whether the true path reaches the zone within
its shelter time plus the lead (a return the truth needed), and how the track's estimate
changed between the release and the return (speed, its sigma, heading).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sweep import COUNTS, KINDS, RESULTS, _sim_version, raid, zone_set  # noqa: E402

from airwarn.contract import parse_event, parse_time  # noqa: E402
from airwarn.engine import Engine  # noqa: E402
from airwarn.engine.lifecycle import ALERT  # noqa: E402
from airwarn.sim.conditions import CELLS  # noqa: E402


def _track_state(engine: Engine, threat_id: str) -> dict[str, float] | None:
    threat = engine._threats.get(threat_id)
    if threat is None:
        return None
    track = threat.view.track
    # the track as the policy reads it: the agile filter's state while it is turning
    x, y, vx, vy = track.state()  # type: ignore[union-attr]
    return {
        "x": x,
        "y": y,
        "speed": math.hypot(vx, vy),
        "heading": math.degrees(math.atan2(vx, vy)),
        "speed_sigma": track.speed_sigma_mps,
        "turning": float(getattr(track, "turning", False)),
    }  # type: ignore[union-attr]


def _true_xy(engine: Engine, path: dict[str, Any], start_ms: int) -> tuple[np.ndarray, ...]:
    t_ms = start_ms + (np.asarray(path["t_s"]) * 1000.0)
    xy = engine.zones.projection._forward_array(
        np.column_stack([np.asarray(path["lon"]), np.asarray(path["lat"])])
    )
    return t_ms, xy[:, 0], xy[:, 1]


def diagnose(country: str, scenario: str, cell: str, seed: int) -> list[dict[str, Any]]:
    conditions = CELLS[cell]
    zones = zone_set(country, None if conditions is None else conditions.shelter_s)
    lines, truth = raid(country, scenario, cell, seed, RESULTS / "sweep-cache", _sim_version())
    events = [parse_event(line) for line in lines]
    engine = Engine(zones)
    profile = engine.config.profiles[KINDS[scenario]]
    start_ms = parse_time(truth["start"])
    paths = {
        t["threat"]: _true_xy(engine, t["path"], start_ms)
        for t in truth["threats"]
        if t.get("path")
    }
    released: dict[tuple[int, str], tuple[int, dict[str, float] | None]] = {}
    left_alert: dict[int, tuple[int, str]] = {}
    alerted: set[tuple[int, str]] = set()
    flaps: list[dict[str, Any]] = []
    original = engine._release

    def release(
        index: int, threat_id: str, level: int, now: int, hold_s: int | None = None
    ) -> None:
        if level == ALERT and threat_id in engine._zones[index].alert_holders:
            released[(index, threat_id)] = (now, _track_state(engine, threat_id))
        original(index, threat_id, level, now, hold_s)

    engine._release = release  # type: ignore[method-assign]
    previous = [0] * len(zones)

    def look(decisions: list[Any]) -> None:
        for d in decisions:
            z = zones.index_of[d.zone]
            t = parse_time(d.t)
            if d.level != "alert":
                if previous[z] == ALERT:
                    left_alert[z] = (t, d.level)
                previous[z] = 0 if d.level == "clear" else 1
                continue
            if previous[z] == ALERT:
                continue
            previous[z] = ALERT
            for threat_id in d.threats:
                pair = (z, threat_id)
                if pair not in alerted:
                    alerted.add(pair)
                    continue
                flaps.append(
                    _flap(
                        engine,
                        z,
                        threat_id,
                        t,
                        released.get(pair),
                        left_alert.get(z),
                        paths.get(threat_id),
                        profile.lead_s,
                    )
                )

    for event in events:
        look(engine.apply(event))
    look(engine.flush())
    return [dict(f, alerted=len(alerted)) for f in flaps] or [{"alerted": len(alerted)}]


def _flap(
    engine: Engine,
    z: int,
    threat_id: str,
    t: int,
    release: tuple[int, dict[str, float] | None] | None,
    left: tuple[int, str] | None,
    path: tuple[np.ndarray, ...] | None,
    lead_s: int,
) -> dict[str, Any]:
    zones = engine.zones
    shape = zones.shapes_m[z]
    now_state = _track_state(engine, threat_id)
    row: dict[str, Any] = {
        "zone": zones.ids[z],
        "threat": threat_id,
        "shelter_s": int(zones.shelter_s[z]),
        "t_ms": t,
        "between": None if left is None else left[1],
        "gap_s": None if left is None else (t - left[0]) / 1000.0,
    }
    if release is not None:
        row["since_release_s"] = (t - release[0]) / 1000.0
        before = release[1]
        if before is not None and now_state is not None:
            row["d_speed"] = now_state["speed"] - before["speed"]
            row["d_sigma"] = now_state["speed_sigma"] - before["speed_sigma"]
            row["d_heading"] = (now_state["heading"] - before["heading"] + 180) % 360 - 180
    if now_state is not None:
        row["dist_est_km"] = shape.distance(shapely.Point(now_state["x"], now_state["y"])) / 1000.0
        row["speed"] = now_state["speed"]
        row["speed_sigma"] = now_state["speed_sigma"]
    if path is not None:
        t_ms, xs, ys = path
        horizon = int(zones.shelter_s[z]) + lead_s
        i = int(np.searchsorted(t_ms, t))
        if i < len(t_ms):
            row["dist_true_km"] = shape.distance(shapely.Point(xs[i], ys[i])) / 1000.0
            ahead = (t_ms >= t) & (t_ms <= t + 1000 * horizon)
            d = shapely.distance(shape, shapely.points(xs[ahead], ys[ahead]))
            row["true_reach_km"] = float(d.min()) / 1000.0 if len(d) else None
            later = t_ms >= t
            d_all = shapely.distance(shape, shapely.points(xs[later][::5], ys[later][::5]))
            row["true_min_later_km"] = float(d_all.min()) / 1000.0 if len(d_all) else None
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=["cruise", "drones"], action="append")
    parser.add_argument("--country", choices=["israel", "ukraine"], action="append")
    parser.add_argument("--cell", choices=list(CELLS), action="append")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--each", action="store_true", help="print every flap")
    args = parser.parse_args()
    for scenario in args.kind or ["cruise"]:
        for country in args.country or ["israel"]:
            for cell in args.cell or ["honest"]:
                rows = diagnose(country, scenario, cell, args.seed)
                real = [r for r in rows if "zone" in r]
                alerted = rows[0]["alerted"]
                print(
                    f"{country} {scenario} {cell} (n={COUNTS[scenario]}): "
                    f"{len(real)} flaps / {alerted} alerted zones"
                )
                if not real:
                    continue
                print(
                    "  threats:",
                    sorted(Counter(r["threat"] for r in real).items()),
                    " between:",
                    Counter(r["between"] for r in real),
                    " shelter:",
                    sorted(Counter(r["shelter_s"] for r in real).items()),
                )
                for key in (
                    "since_release_s",
                    "gap_s",
                    "dist_est_km",
                    "true_reach_km",
                    "true_min_later_km",
                    "d_heading",
                    "d_speed",
                    "d_sigma",
                ):
                    values = [r[key] for r in real if r.get(key) is not None]
                    if values:
                        q = np.percentile(values, [0, 25, 50, 75, 100])
                        print(f"  {key:>18}: " + " ".join(f"{v:8.2f}" for v in q))
                needed = sum(1 for r in real if (r.get("true_reach_km") or 1) == 0.0)
                print(f"  true path inside the zone within its horizon: {needed}")
                if args.each:
                    for r in real:
                        print(
                            "   ",
                            {k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()},
                        )


if __name__ == "__main__":
    main()
