"""Drones and cruise missiles seen by sensors that err beyond their word: the engine as it is
beside the engine with the corridor tracks taking every sensor at its word.

    python bench/understated.py --kind drones --country israel --seeds 3
    python bench/understated.py --kind cruise --country ukraine --seeds 3 --error-scale 3

For each error scale (how many times the sigma it states a sensor really errs; 1, 3 and 10 by
default) it simulates the raid with `airwarn.sim.hardraid` (`airwarn simulate --error-scale`),
replays it through the engine twice, once as it is and once with `CorridorTrack.FIT_MAX` at 1
(no sensor test: its scale held at 1), and scores both with `airwarn evaluate`'s definitions:
missed, late, the alerted area x time (km2 h) and flaps per 100 alerted zones. Raids are
cached in bench/results/understated-cache/ by their parameters and the simulator's source.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sweep import COUNTS, KINDS, RESULTS, _sim_version, lost_apart, zone_set  # noqa: E402

from airwarn.contract import parse_event  # noqa: E402
from airwarn.engine import EngineConfig, run  # noqa: E402
from airwarn.engine.policy import POLICIES  # noqa: E402
from airwarn.engine.tracks import CorridorTrack  # noqa: E402
from airwarn.sim.conditions import Conditions  # noqa: E402
from airwarn.sim.evaluate import score  # noqa: E402
from airwarn.sim.hardraid import simulate_under  # noqa: E402

CACHE = RESULTS / "understated-cache"


def _raid(country: str, scenario: str, error_scale: float, seed: int) -> tuple[list, dict]:
    conditions = Conditions(error_scale=error_scale)
    key = f"{country}-{scenario}-e{error_scale:g}-s{seed}-n{COUNTS[scenario]}-{_sim_version()}"
    path = CACHE / f"{key}.json"
    if path.is_file():
        events, truth = msgspec.json.decode(path.read_bytes())
        return events, truth
    zones = zone_set(country)
    raid = simulate_under(zones, scenario, seed, conditions, count=COUNTS[scenario])
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(msgspec.json.encode(raid))
    partial.replace(path)
    return raid


def one(job: tuple[str, str, float, int, bool]) -> dict[str, Any]:
    country, scenario, error_scale, seed, tested = job
    raw, truth = _raid(country, scenario, error_scale, seed)
    zones = zone_set(country)
    encoder = msgspec.json.Encoder()
    events = [parse_event(encoder.encode(e)) for e in raw]
    _, tracked = lost_apart(truth)
    config = EngineConfig()
    saved = CorridorTrack.FIT_MAX
    CorridorTrack.FIT_MAX = saved if tested else 1.0
    try:
        decisions = list(run(zones, events, config, POLICIES["engine"](zones)))
    finally:
        CorridorTrack.FIT_MAX = saved
    mine = score(zones, tracked, decisions, hold_s=config.hold_s).per_kind[KINDS[scenario]]
    return {
        "error_scale": error_scale,
        "tested": tested,
        "missed": mine.missed,
        "late": mine.late,
        "impacts": mine.in_zones,
        "alert_km2h": mine.alert_km2h,
        "flaps": mine.flaps,
        "alerted_zones": mine.alerted_zones,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=["drones", "cruise"], default="drones")
    parser.add_argument("--country", choices=["israel", "ukraine"], default="israel")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per error scale (default 3)")
    parser.add_argument(
        "--error-scale",
        type=float,
        action="append",
        help="how many times its stated sigma the sensor errs (repeat; default 1, 3, 10)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    args = parser.parse_args()
    scales = args.error_scale or [1.0, 3.0, 10.0]
    jobs = [
        (args.country, args.kind, scale, seed, tested)
        for scale in scales
        for seed in range(1, args.seeds + 1)
        for tested in (True, False)
    ]
    with multiprocessing.Pool(args.jobs) as pool:
        rows = pool.map(one, jobs)
    print(f"{args.country}, {args.kind}, {args.seeds} seeds per row")
    print("| errs x its word | sensor | missed | late | alert km2 h | flaps / 100 zones |")
    print("|---|---|---|---|---|---|")
    for scale in scales:
        for tested in (True, False):
            mine = [r for r in rows if r["error_scale"] == scale and r["tested"] == tested]
            zones = sum(r["alerted_zones"] for r in mine)
            print(
                f"| {scale:g} | {'tested' if tested else 'at its word'} "
                f"| {sum(r['missed'] for r in mine)} of {sum(r['impacts'] for r in mine)} "
                f"| {sum(r['late'] for r in mine)} "
                f"| {sum(r['alert_km2h'] for r in mine):,.1f} "
                f"| {100 * sum(r['flaps'] for r in mine) / max(zones, 1):.2f} |"
            )


if __name__ == "__main__":
    main()
