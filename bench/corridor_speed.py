"""How much of the corridor's speed bound the threats really use: drones and cruise missiles.

    python bench/corridor_speed.py                       # every cell, both countries, 1 seed
    python bench/corridor_speed.py --kind drones --cell honest --cell maneuver-speedup --seeds 3

For every report of a drone or cruise missile (raids of `bench/sweep.py`, from its cache or
simulated afresh), it notes the engine's filter state (speed and its 1-sigma) and, from the
truth's path, the speed the threat really had then and the distance it really flew over the
next `T` seconds (the horizon of a zone: its shelter time plus the kind's lead). It prints:

- **z**: (true speed - filter speed) / sigma, by percentile: where the truth sits in the
  filter's stated uncertainty (a calibrated filter gives |z| <= 3 on 99.7 % of reports);
- **use**: the true path length over the horizon / the corridor's path length
  (`measured_envelope(...).path_m(T)`, the radius of a drone's corridor), by percentile: 1
  would be a corridor no wider than what the fastest threat used; above 1, a threat left it.

Only reports with the velocity known (the corridor's measured envelope) count.
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

from sweep import CELLS, KINDS, RESULTS, _sim_version, raid, zone_set  # noqa: E402

from airwarn.contract import parse_event  # noqa: E402
from airwarn.engine import run  # noqa: E402
from airwarn.engine.policy import POLICIES, Assessment, Policy, ThreatView  # noqa: E402
from airwarn.engine.predict.corridor import measured_envelope  # noqa: E402
from airwarn.engine.threat_kinds import PROFILES  # noqa: E402
from airwarn.engine.tracks import CorridorTrack  # noqa: E402
from airwarn.sim.paths import read_path  # noqa: E402

PERCENTILES = (1, 5, 50, 95, 99, 99.9, 100)


class SpeedRecorder:
    """A policy that passes every call on and notes each corridor track's filter state."""

    def __init__(self, inner: Policy) -> None:
        self.inner = inner
        self.name = inner.name
        self.seen: list[tuple[str, int, float, float, float]] = []
        self._last: dict[str, int] = {}

    def assess(self, threat: ThreatView, now_ms: int) -> Assessment:
        track = threat.track
        fresh = self._last.get(threat.id) != track.t_ms
        if isinstance(track, CorridorTrack) and track.velocity_known and fresh:
            self._last[threat.id] = track.t_ms
            # the speed the corridor's bound starts from (a tree before the agile filter: the
            # one filter's; before the speed memory: no memory)
            _, _, vx, vy = track.state()
            speed, sigma = getattr(
                track, "quiet_speed", (math.hypot(vx, vy), track.speed_sigma_mps)
            )
            recent = getattr(track, "speed_recent_mps", 0.0)
            self.seen.append((threat.id, track.t_ms, speed, sigma, recent))
        return self.inner.assess(threat, now_ms)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def measure(
    zones: Any, truth: Mapping[str, Any], seen: list[Any], horizon_s: float, profile: Any
) -> tuple[list[float], list[float]]:
    """z and use for each noted state against the truth's path."""
    paths = {}
    for row in truth.get("threats") or []:
        path = read_path(zones, truth, row)
        if path is not None:
            step = np.hypot(np.diff(path.x_m), np.diff(path.y_m))
            paths[str(row["threat"])] = (path.t_ms, np.concatenate([[0.0], np.cumsum(step)]))
    zs, uses = [], []
    for threat, t_ms, speed, sigma, recent in seen:
        if threat not in paths or sigma <= 0 or speed <= 3 * sigma:
            continue
        times, along = paths[threat]
        if t_ms < times[0] or t_ms >= times[-1]:
            continue
        here = float(np.interp(t_ms, times, along))
        i = int(np.searchsorted(times, t_ms, side="right")) - 1
        i = min(max(i, 0), len(times) - 2)
        true_speed = (along[i + 1] - along[i]) / ((times[i + 1] - times[i]) / 1000.0)
        zs.append((true_speed - speed) / sigma)
        end_ms = min(t_ms + horizon_s * 1000.0, float(times[-1]))
        flown = float(np.interp(end_ms, times, along)) - here
        envelope = measured_envelope(
            speed,
            sigma,
            profile.speed_min_mps,
            profile.speed_max_mps,
            profile.accel_mps2,
            profile.dash_factor,
            *([recent] if recent else []),  # (a tree before the speed memory has none)
        )
        bound = envelope.path_m((end_ms - t_ms) / 1000.0)
        if bound > 0:
            uses.append(flown / bound)
    return zs, uses


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
    for scenario in args.kind or ["drones", "cruise"]:
        profile = PROFILES[KINDS[scenario]]
        for cell in args.cell or sorted(CELLS):
            conditions = CELLS[cell]
            z_all: list[float] = []
            use_all: list[float] = []
            for country in args.country or ["israel", "ukraine"]:
                zones = zone_set(country, None if conditions is None else conditions.shelter_s)
                for seed in range(args.seeds):
                    lines, truth = raid(country, scenario, cell, seed, cache, version)
                    recorder = SpeedRecorder(POLICIES["engine"](zones))
                    for _ in run(zones, [parse_event(x) for x in lines], None, recorder):
                        pass
                    zs, uses = measure(zones, truth, recorder.seen, args.horizon_s, profile)
                    z_all += zs
                    use_all += uses
            z = np.percentile(z_all, PERCENTILES) if z_all else []
            u = np.percentile(use_all, PERCENTILES) if use_all else []
            print(
                f"{scenario:7} {cell:17} n={len(z_all):6} "
                f"z[{' '.join(f'{v:+.2f}' for v in z)}] "
                f"use[{' '.join(f'{v:.2f}' for v in u)}] "
                f"beyond {sum(1 for v in use_all if v > 1.0)}",
                flush=True,
            )


if __name__ == "__main__":
    main()
