"""Scores per scenario kind over several seeds: the engine beside the reach and region policies.

    python bench/scores.py --seeds 5                # both countries, every kind, 5 seeds each
    python bench/scores.py --country israel --kind rockets --seeds 2

Reads the real zone layers from ../shared/data (Israel's alert areas; Ukraine's hromadas with a
shelter time of 90 s, raions and oblasts not used). Prints one Markdown table per country and
writes the raw numbers to bench/results/scores.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
from pathlib import Path

from airwarn.engine import EngineConfig, run
from airwarn.engine.policy import POLICIES
from airwarn.engine.zones import ZoneSet
from airwarn.layers.israel import import_israel
from airwarn.layers.ukraine import import_ukraine
from airwarn.sim.evaluate import score
from airwarn.sim.scenarios import simulate

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
KINDS = {"rockets": "rocket", "ballistic": "ballistic", "drones": "drone", "cruise": "cruise"}
UA_SHELTER_S = 90


def zone_set(country: str) -> ZoneSet:
    if country == "israel":
        return ZoneSet(import_israel(DATA / "israel" / "israel_alert_areas.geojson").zones)
    result = import_ukraine(DATA / "ukraine" / "ua_hromadas.geojson", "hromada", UA_SHELTER_S)
    return ZoneSet(result.zones)


_ZONES: dict[str, ZoneSet] = {}


def one(job: tuple[str, str, int]) -> dict:
    country, scenario, seed = job
    if country not in _ZONES:
        _ZONES[country] = zone_set(country)
    zones = _ZONES[country]
    events, truth = simulate(zones, scenario, seed)
    import msgspec

    from airwarn.contract import parse_event

    parsed = [parse_event(msgspec.json.encode(e)) for e in events]
    config = EngineConfig()
    row = {"country": country, "scenario": scenario, "seed": seed}
    kind = KINDS[scenario]
    for name, policy in POLICIES.items():
        decisions = list(run(zones, parsed, config, policy(zones)))
        scored = score(zones, truth, decisions, hold_s=config.hold_s)
        s = scored.per_kind.get(kind)
        row[name] = (
            None
            if s is None
            else {
                "impacts": s.in_zones,
                "missed": s.missed,
                "late": s.late,
                "alert_km2h": s.alert_km2h,
                "ideal_km2h": s.ideal_km2h,
                "warning_median_s": s.warning_s_median,
                "warnings_s": [
                    t.warning_s
                    for t in scored.threats
                    if t.kind == kind and t.warning_s is not None
                ],
                "alerted_zones": s.alerted_zones,
                "flaps": s.flaps,
            }
        )
    return row


def summarise(rows: list[dict]) -> str:
    lines = []
    for country in sorted({r["country"] for r in rows}):
        lines.append(f"\n{country}\n")
        lines.append(
            "| scenario | seeds | impacts in zones | missed | late | over-alert engine | "
            "reach | region | engine / region | warning median s | flaps per 100 "
            "alerted zones |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for scenario in KINDS:
            mine = [r for r in rows if r["country"] == country and r["scenario"] == scenario]
            if not mine:
                continue

            def total(policy: str, key: str, rs: list[dict] = mine) -> float:
                return sum(r[policy][key] for r in rs if r[policy])

            ideal = total("engine", "ideal_km2h")
            factor = {
                p: total(p, "alert_km2h") / ideal if ideal else float("nan") for p in POLICIES
            }
            impacts = int(total("engine", "impacts"))
            late = int(total("engine", "late"))
            warnings = [w for r in mine if r["engine"] for w in r["engine"]["warnings_s"]]
            alerted = total("engine", "alerted_zones")
            flaps = 100 * total("engine", "flaps") / alerted if alerted else float("nan")
            median = statistics.median(warnings) if warnings else float("nan")
            lines.append(
                f"| {scenario} | {len(mine)} | {impacts} | {int(total('engine', 'missed'))} | "
                f"{late} ({100 * late / max(impacts, 1):.1f} %) | {factor['engine']:.1f}x | "
                f"{factor['reach']:.1f}x | {factor['region']:.1f}x | "
                f"{factor['engine'] / factor['region']:.2f} | {median:.1f} | {flaps:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--country", choices=["israel", "ukraine"], action="append")
    parser.add_argument("--kind", choices=list(KINDS), action="append")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    jobs = [
        (c, k, s)
        for c in args.country or ["israel", "ukraine"]
        for k in args.kind or list(KINDS)
        for s in range(1, args.seeds + 1)
    ]
    with multiprocessing.Pool(args.jobs) as pool:
        rows = pool.map(one, jobs, chunksize=1)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "scores.json").write_text(json.dumps(rows, indent=1))
    print(summarise(rows))


if __name__ == "__main__":
    main()
