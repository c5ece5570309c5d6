"""How much of the corridor's speed bound the threats really use: drones and cruise missiles.

    python bench/corridor_speed.py                       # every cell, both countries, 1 seed
    python bench/corridor_speed.py --kind drones --cell honest --cell maneuver-speedup --seeds 3

For every report of a drone or cruise missile (raids of `bench/sweep.py`, from its cache or
simulated afresh), it notes what the engine's track says then (its quiet filter's speed and
1-sigma, the speed envelope the policy draws the corridor with, how far apart its two filters
are) and, from the truth's path, the speed the threat really had and the distance it really
flew over the next `T` seconds (the horizon of a zone: its shelter time plus the kind's lead,
105 s by default). It prints, by percentile:

- **z**: (true speed - quiet filter's speed) / sigma: where the truth sits in the filter's
  stated uncertainty (a calibrated filter gives |z| <= 3 on 99.7 % of reports; in a turn the
  quiet filter's speed drops and z grows);
- **use**: the true path length over the horizon / the corridor's path length (the radius of
  a drone's corridor): 1 would be a corridor no wider than what the threat used; above 1, the
  threat flew farther than the corridor allowed ("beyond 1" counts those reports);
- **sigma**, **top**: the quiet filter's 1-sigma of speed, and the fastest the corridor lets the
  threat dash to (its envelope's cap: the kind's ceiling, or the dash factor times the speed
  seen with 3 sigma);
- **apart**: the two filters' distance apart (`CorridorTrack.apart`; the agile filter is read
  above `TURNING_ON`), and at how many reports the agile filter was read.

It also runs on an older tree (`PYTHONPATH=<worktree> python bench/corridor_speed.py`): with one
filter, z and use come from it and apart is 0.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sweep import CELLS, RESULTS, _sim_version, raid, zone_set  # noqa: E402

from airwarn.contract import parse_event  # noqa: E402
from airwarn.engine import run  # noqa: E402
from airwarn.engine.policy import POLICIES, Assessment, Policy, ThreatView  # noqa: E402
from airwarn.engine.predict.corridor import measured_envelope  # noqa: E402
from airwarn.engine.tracks import CorridorTrack  # noqa: E402
from airwarn.sim.paths import read_path  # noqa: E402

try:
    from airwarn.engine.policy import corridor_motion
except ImportError:  # a tree from before it
    corridor_motion = None  # type: ignore[assignment]

PERCENTILES = (1, 5, 50, 95, 99, 99.9, 100)


def _envelope(track: CorridorTrack) -> Any:
    """The speed envelope the policy draws this track's corridor with (a tree from before
    `corridor_motion`: the one filter's speed and sigma, and the memory if it has one)."""
    _, _, vx, vy = track.state()
    if corridor_motion is not None:
        return corridor_motion(track, vx, vy)[2]
    speed, sigma = math.hypot(vx, vy), track.speed_sigma_mps
    if not speed > 3 * sigma:
        return None
    profile = track.profile
    recent = getattr(track, "speed_recent_mps", 0.0)
    return measured_envelope(
        speed,
        sigma,
        profile.speed_min_mps,
        profile.speed_max_mps,
        profile.accel_mps2,
        profile.dash_factor,
        *([recent] if recent else []),
    )


class SpeedRecorder:
    """A policy that passes every call on and notes, at each corridor track's new report, its
    quiet speed and sigma, the envelope its corridor is drawn with, and how far apart its two
    filters are (0 for a tree with one)."""

    def __init__(self, inner: Policy) -> None:
        self.inner = inner
        self.name = inner.name
        self.seen: list[tuple[str, int, float, float, Any, float, bool]] = []
        self._last: dict[str, int] = {}

    def assess(self, threat: ThreatView, now_ms: int) -> Assessment:
        track = threat.track
        fresh = self._last.get(threat.id) != track.t_ms
        if isinstance(track, CorridorTrack) and track.velocity_known and fresh:
            self._last[threat.id] = track.t_ms
            _, _, vx, vy = track.state()
            speed, sigma = getattr(
                track, "quiet_speed", (math.hypot(vx, vy), track.speed_sigma_mps)
            )
            apart = getattr(track, "apart", 0.0)
            turning = getattr(track, "turning", False)
            self.seen.append(
                (threat.id, track.t_ms, speed, sigma, _envelope(track), apart, turning)
            )
        return self.inner.assess(threat, now_ms)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def measure(
    zones: Any, truth: Mapping[str, Any], seen: list[Any], horizon_s: float
) -> tuple[list[float], list[float], list[float], int]:
    """z, use and the filters' distance apart for each noted state against the truth's path,
    and how many of the states were read from the agile filter."""
    paths = {}
    for row in truth.get("threats") or []:
        path = read_path(zones, truth, row)
        if path is not None:
            step = np.hypot(np.diff(path.x_m), np.diff(path.y_m))
            paths[str(row["threat"])] = (path.t_ms, np.concatenate([[0.0], np.cumsum(step)]))
    zs, uses, aparts, turning = [], [], [], 0
    for threat, t_ms, speed, sigma, envelope, apart, turned in seen:
        if threat not in paths:
            continue
        times, along = paths[threat]
        if t_ms < times[0] or t_ms >= times[-1]:
            continue
        aparts.append(apart)
        turning += turned
        here = float(np.interp(t_ms, times, along))
        if sigma > 0 and speed > 3 * sigma:
            i = int(np.searchsorted(times, t_ms, side="right")) - 1
            i = min(max(i, 0), len(times) - 2)
            true_speed = (along[i + 1] - along[i]) / ((times[i + 1] - times[i]) / 1000.0)
            zs.append((true_speed - speed) / sigma)
        if envelope is None:
            continue
        end_ms = min(t_ms + horizon_s * 1000.0, float(times[-1]))
        flown = float(np.interp(end_ms, times, along)) - here
        bound = envelope.path_m((end_ms - t_ms) / 1000.0)
        if bound > 0:
            uses.append(flown / bound)
    return zs, uses, aparts, turning


def _row(values: list[float], fmt: str) -> str:
    if not values:
        return "-"
    return " ".join(format(v, fmt) for v in np.percentile(values, PERCENTILES))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", action="append", choices=("drones", "cruise"))
    parser.add_argument("--country", action="append", choices=("israel", "ukraine"))
    parser.add_argument("--cell", action="append", choices=sorted(CELLS))
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--horizon-s", type=float, default=105.0)
    args = parser.parse_args()
    cache = RESULTS / "sweep-cache"
    version = _sim_version()
    print(f"percentiles {PERCENTILES}")
    for scenario in args.kind or ["drones", "cruise"]:
        for cell in args.cell or sorted(CELLS):
            conditions = CELLS[cell]
            z_all: list[float] = []
            use_all: list[float] = []
            apart_all: list[float] = []
            sigma_all: list[float] = []
            cap_all: list[float] = []
            turning = 0
            for country in args.country or ["israel", "ukraine"]:
                zones = zone_set(country, None if conditions is None else conditions.shelter_s)
                for seed in range(args.seeds):
                    lines, truth = raid(country, scenario, cell, seed, cache, version)
                    recorder = SpeedRecorder(POLICIES["engine"](zones))
                    for _ in run(zones, [parse_event(x) for x in lines], None, recorder):
                        pass
                    zs, uses, aparts, turned = measure(zones, truth, recorder.seen, args.horizon_s)
                    sigma_all += [state[3] for state in recorder.seen]
                    cap_all += [
                        state[4].cap_mps or state[4].high_mps
                        for state in recorder.seen
                        if state[4] is not None
                    ]
                    z_all += zs
                    use_all += uses
                    apart_all += aparts
                    turning += turned
            print(
                f"{scenario:7} {cell:17} reports {len(apart_all):6} "
                f"(agile filter read at {turning}, mean apart {np.mean(apart_all or [0]):.2f})\n"
                f"  z    [{_row(z_all, '+.2f')}]\n"
                f"  use  [{_row(use_all, '.2f')}] beyond 1: {sum(1 for v in use_all if v > 1.0)}"
                f"\n  apart[{_row(apart_all, '.1f')}]"
                f"\n  sigma[{_row(sigma_all, '.2f')}] m/s, the quiet filter's speed"
                f"\n  top  [{_row(cap_all, '.1f')}] m/s, the fastest its corridor may dash to",
                flush=True,
            )


if __name__ == "__main__":
    main()
