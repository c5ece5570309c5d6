"""What going through ASTERIX does to the decisions: each scenario replayed from its JSON events
and from the same raid encoded as CAT062 (and as CAT048 from one radar) and decoded by the
gateway's decoder and mapper, on Israel's 1,449 alert areas, scored alike.

    python bench/asterix_fidelity.py                    # every scenario, seed 1
    python bench/asterix_fidelity.py --scenarios rockets drones --seeds 1 2

Per raid: how far the format's steps moved the reports (time, position, height), whether the
decisions are the same ones (zone, level, kind, threats, in order) and how far apart their times
are, and the scores (`airwarn evaluate`'s definitions) both ways. CAT062 holds heights up to
62.4 km and climb rates up to 1,040 m/s: ballistic missiles exceed both and are clipped
(counted). CAT048 carries no climb rate (reports go without velocity: the row "JSON without
velocity" shows what that alone does), and its radar, here in central Israel at 31.9 N 34.9 E,
sees 256 NM at most.
"""

from __future__ import annotations

import argparse
import difflib
import tempfile
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pyproj

from airwarn.contract import parse_event, parse_time
from airwarn.engine import EngineConfig, run
from airwarn.engine.zones import ZoneSet
from airwarn.gateway.decode import Decoder
from airwarn.gateway.encode import Cat048Encoder, Cat062Encoder, Source
from airwarn.gateway.kinds import rules_from_document
from airwarn.gateway.mapping import Mapper, MappingSettings
from airwarn.gateway.polar import RadarSite, SitePosition
from airwarn.gateway.raid import encode_raid
from airwarn.layers.israel import import_israel
from airwarn.sim.evaluate import score
from airwarn.sim.scenarios import SCENARIOS, simulate

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RADAR = SitePosition(31.9, 34.9, 100.0)
GEOD = pyproj.Geod(ellps="WGS84")


def through_asterix(
    events: list[dict[str, Any]], category: str, folder: Path
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The raid's events as the gateway makes them from the encoded datagrams, with the
    simulation's threat ids put back."""
    encoder: Cat062Encoder | Cat048Encoder
    radars = {}
    if category == "062":
        encoder = Cat062Encoder(Source(25, 10))
    else:
        encoder = Cat048Encoder(Source(25, 1), RadarSite(RADAR))
        radars[(25, 1)] = RadarSite(RADAR)
    encoded = encode_raid(events, encoder, folder)
    rules = rules_from_document(tomllib.loads((folder / "kinds.toml").read_text()))
    mapper = Mapper(
        MappingSettings(rules=rules, radars=radars, day=date(2026, 3, 1), accept_simulated=True)
    )
    decoder = Decoder()
    back = {v: k for k, v in encoded.threats.items()}
    out = []
    for line in (folder / "datagrams.jsonl").read_bytes().splitlines():
        datagram = bytes.fromhex(msgspec.json.decode(line)["hex"])
        for record in decoder.datagram(datagram):
            for event in mapper.events(record, 0):
                event["threat"] = back[event["threat"]]
                out.append(event)
    notes = dict(encoder.counts.clipped)
    notes.update(encoded.skipped)
    return out, notes


def moved(sent: list[dict[str, Any]], got: list[dict[str, Any]]) -> dict[str, float]:
    """The largest change of each quantity, report by report (same threat and order)."""
    by_threat: dict[str, list[dict[str, Any]]] = {}
    for event in got:
        by_threat.setdefault(event["threat"], []).append(event)
    worst = {"t_ms": 0.0, "position_m": 0.0, "alt_m": 0.0}
    for event in sent:
        queue = by_threat.get(event["threat"])
        if not queue or event["type"] != "track" or queue[0]["type"] != "track":
            if queue and queue[0]["type"] == event["type"]:
                queue.pop(0)
            continue
        if abs(parse_time(queue[0]["t"]) - parse_time(event["t"])) > 10:
            continue  # left out (beyond the radar's range)
        other = queue.pop(0)
        worst["t_ms"] = max(worst["t_ms"], abs(parse_time(other["t"]) - parse_time(event["t"])))
        worst["position_m"] = max(
            worst["position_m"], GEOD.inv(event["lon"], event["lat"], other["lon"], other["lat"])[2]
        )
        worst["alt_m"] = max(worst["alt_m"], abs(other["alt_m"] - event["alt_m"]))
    return worst


def decisions_of(zones: ZoneSet, events: list[dict[str, Any]]) -> list[Any]:
    parsed = [parse_event(msgspec.json.encode(e)) for e in events]
    return list(run(zones, parsed, EngineConfig()))


def compare(
    zones: ZoneSet, truth: dict[str, Any], ours: list[Any], theirs: list[Any]
) -> dict[str, Any]:
    """Scores of `ours`; how many of its decisions pair up with `theirs` (same zone, level,
    kind and threats, in order: a longest matching subsequence), and how far apart in time."""

    def key(d: Any) -> tuple[Any, ...]:
        return d.zone, d.level, d.kind, tuple(d.threats)

    matcher = difflib.SequenceMatcher(
        a=[key(d) for d in ours], b=[key(d) for d in theirs], autojunk=False
    )
    apart, matched = [], 0
    for block in matcher.get_matching_blocks():
        matched += block.size
        apart += [
            abs(parse_time(ours[block.a + i].t) - parse_time(theirs[block.b + i].t))
            for i in range(block.size)
        ]
    s_ours = score(zones, truth, ours).total
    return {
        "decisions": len(ours),
        "matched": matched,
        "same": matched == len(ours) == len(theirs),
        "max_apart_ms": max(apart, default=0),
        "missed": s_ours.missed,
        "late": s_ours.late,
        "over_alert": None if s_ours.over_alert is None else round(s_ours.over_alert, 3),
        "warning_median_s": s_ours.warning_s_median,
    }


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--categories", nargs="+", default=["062", "048"])
    args = parser.parse_args()
    zones = ZoneSet(import_israel(DATA / "israel" / "israel_alert_areas.geojson").zones)
    print(
        "| scenario | seed | via | reports | moved at most: time / position / height | "
        "decisions | paired with the JSON replay's | their times apart | missed | late | "
        "over-alert | median warning | left out or clipped |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for scenario in args.scenarios:
        for seed in args.seeds:
            events, truth = simulate(zones, scenario, seed)
            reference = decisions_of(zones, events)
            base = compare(zones, truth, reference, reference)
            print(
                f"| {scenario} | {seed} | JSON | {len(events):,} | | {base['decisions']:,} | | | "
                f"{base['missed']} | {base['late']} | {base['over_alert']}× | "
                f"{_s(base['warning_median_s'])} | |",
                flush=True,
            )
            if "048" in args.categories:  # what CAT048 lacks, without the format's steps
                novel = [{k: v for k, v in e.items() if k != "vel_mps"} for e in events]
                row = compare(zones, truth, decisions_of(zones, novel), reference)
                print(
                    f"| {scenario} | {seed} | JSON without velocity | {len(novel):,} | | "
                    f"{row['decisions']:,} | {row['matched']:,} | | "
                    f"{row['missed']} | {row['late']} | {row['over_alert']}× | "
                    f"{_s(row['warning_median_s'])} | |",
                    flush=True,
                )
            for category in args.categories:
                with tempfile.TemporaryDirectory() as folder:
                    got, notes = through_asterix(events, category, Path(folder))
                worst = moved(events, got)
                row = compare(zones, truth, decisions_of(zones, got), reference)
                print(
                    f"| {scenario} | {seed} | CAT{category} | {len(got):,} | "
                    f"{worst['t_ms']:.0f} ms / {worst['position_m']:.2f} m / "
                    f"{worst['alt_m']:.1f} m | {row['decisions']:,} | "
                    f"{row['matched']:,} | ≤ {row['max_apart_ms']} ms | "
                    f"{row['missed']} | {row['late']} | {row['over_alert']}× | "
                    f"{_s(row['warning_median_s'])} | "
                    f"{', '.join(f'{k} {v}' for k, v in notes.items()) or '-'} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
