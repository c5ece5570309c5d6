"""Does the zone a threat came down in keep its full hold? The over-alert factor would reward an
engine that let it go right after the impact; this counts, over the sweep's raids, the impacts
whose zone was at alert when the threat came down and left it before the threat's end plus the
hold (`EngineConfig.hold_s`).

    python bench/impact_holds.py --kind rockets --kind ballistic --seeds 5
    python bench/impact_holds.py --kind drones --country israel --cell sparse-60 --seeds 2

Raids come from bench/sweep.py's cache (simulated and cached there when missing). Impacts of
tracks the sensors lost are left out, as the sweep sets them apart. Prints one row per kind,
country and cell: impacts in a zone, of them at alert at impact, and of those, held short.
"""

from __future__ import annotations

import argparse
import multiprocessing
from pathlib import Path
from typing import Any

import sweep

from airwarn.contract import parse_event, parse_time
from airwarn.engine import EngineConfig, run
from airwarn.engine.policy import SmartPolicy
from airwarn.sim.conditions import CELLS, cells_for

Job = tuple[str, str, str, int, str]


def held_short(job: Job) -> tuple[str, str, str, int, int, int]:
    """(kind, country, cell, impacts in a zone, at alert at impact, held short) of one raid."""
    country, scenario, cell, seed, cache = job
    conditions = CELLS[cell]
    zones = sweep.zone_set(country, None if conditions is None else conditions.shelter_s)
    lines, truth = sweep.raid(country, scenario, cell, seed, Path(cache), sweep._sim_version())
    config = EngineConfig()
    changes: dict[str, list[tuple[int, str]]] = {}
    for d in run(zones, [parse_event(line) for line in lines], config, SmartPolicy(zones)):
        changes.setdefault(d.zone, []).append((parse_time(d.t), d.level))
    kind = sweep.KINDS[scenario]
    in_zone = alerted = short = 0
    for threat in truth["threats"]:
        impact: dict[str, Any] | None = threat.get("impact")
        if threat["kind"] != kind or threat["end_reason"] == "lost" or not impact:
            continue
        index = zones.zone_at(impact["lon"], impact["lat"])
        if index is None:
            continue
        in_zone += 1
        hit_ms, end_ms = parse_time(impact["t"]), parse_time(threat["end_t"])
        level, left_ms = "clear", None
        for t, new in changes.get(zones.ids[index], []):
            if t <= hit_ms:
                level = new
            elif level == "alert" and new != "alert":
                left_ms = t
                break
        if level == "alert":
            alerted += 1
            if left_ms is not None and left_ms < end_ms + 1000 * (config.hold_s - 1):
                short += 1
    return kind, country, cell, in_zone, alerted, short


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", action="append", choices=sorted(sweep.KINDS))
    parser.add_argument("--country", action="append", choices=["israel", "ukraine"])
    parser.add_argument("--cell", action="append", choices=list(CELLS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=sweep.RESULTS / "sweep-cache")
    args = parser.parse_args()
    jobs: list[Job] = []
    for scenario in args.kind or sorted(sweep.KINDS):
        for country in args.country or ["israel", "ukraine"]:
            for cell in args.cell or cells_for(sweep.KINDS[scenario]):
                for seed in range(1, args.seeds + 1):
                    jobs.append((country, scenario, cell, seed, str(args.cache)))
    with multiprocessing.Pool(args.jobs) as pool:
        rows = pool.map(held_short, jobs)
    totals: dict[tuple[str, str, str], list[int]] = {}
    for kind, country, cell, in_zone, alerted, short in rows:
        total = totals.setdefault((kind, country, cell), [0, 0, 0])
        total[0] += in_zone
        total[1] += alerted
        total[2] += short
    print("| kind | country | cell | impacts in a zone | at alert at impact | held short |")
    print("|---|---|---|---|---|---|")
    for (kind, country, cell), (in_zone, alerted, short) in totals.items():
        print(f"| {kind} | {country} | {cell} | {in_zone} | {alerted} | {short} |")
    short = sum(t[2] for t in totals.values())
    print(f"\nheld short: {short} of {sum(t[1] for t in totals.values())} impacts at alert")


if __name__ == "__main__":
    main()
