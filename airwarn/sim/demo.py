"""`airwarn demo`: the whole chain on embedded defaults, with nothing to download or install.

A generated zone set, a simulated mixed raid (rockets, ballistic missiles, drones, cruise
missiles), the engine's decisions, and their scores beside the two reference policies.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from airwarn.engine import EngineConfig
from airwarn.replay import replay_lines, run_policy
from airwarn.sim.demo_zones import demo_zones
from airwarn.sim.evaluate import Score, format_table, score
from airwarn.sim.scenarios import simulate, write_simulation
from airwarn.zones import ZoneSet, write_zones


def run_demo(out: Path, seed: int, console: Console) -> dict[str, Score]:
    """Write zones, events, truth and decisions under `out`; return the scores by policy."""
    out.mkdir(parents=True, exist_ok=True)
    zones_list = demo_zones()
    zones_path = out / "zones.geojson"
    write_zones(zones_list, zones_path)
    zones = ZoneSet(zones_list)
    console.print(f"zones: {len(zones)} generated cells, shelter 15-90 s -> {zones_path}")
    events, truth = simulate(zones, "mixed", seed)
    write_simulation(events, truth, out)
    console.print(f"raid: {len(truth['threats'])} threats, {len(events)} sensor reports -> "
                  f"{out / 'events.jsonl'}")
    config = EngineConfig()
    decisions_path = out / "decisions.jsonl"
    with (out / "events.jsonl").open("rb") as source, decisions_path.open("wb") as sink:
        result = replay_lines(zones, source, sink, config=config)
    console.print(f"engine: {result.decisions} decisions -> {decisions_path}")
    from airwarn.contract import decode_decision

    with decisions_path.open("rb") as handle:
        ours = [decode_decision(line) for line in handle]
    scores = {"engine": score(zones, truth, ours, hold_s=config.hold_s)}
    for name in ("reach", "region"):
        theirs = run_policy(zones, out / "events.jsonl", name, config)
        scores[name] = score(zones, truth, theirs, hold_s=config.hold_s)
    console.print(format_table(scores))
    return scores
