"""Sustained ingest over HTTP: a realistic raid posted in batches to `airwarn serve`.

    python bench/bench_ingest.py                          # SQLite and PostgreSQL, 100 and 500
    python bench/bench_ingest.py --stores sqlite --batches 500 --runs 1 --json

The raid is bench_replay.py's (Ukraine's 1,768 hromadas; 40 drones, 12 cruise missiles,
8 ballistic missiles, 20 rockets; at most 49 threats at once), repeated later in time as often as
needed so that the posting never runs dry. Each run starts a real `airwarn serve` subprocess
(event clock, a fresh store: a SQLite file, which the service runs with synchronous=FULL in WAL
mode, or a throwaway PostgreSQL schema) and posts JSON Lines batches one after the other, each
answered only once its events are committed, for `--seconds`. It reports the reports accepted
per second and the batch latency (POST to answer), medians of the runs.

Afterwards the same reports go through a bare `Engine` in this process (as in bench_replay.py),
so that the table can say how much of the HTTP time the engine alone accounts for.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec

from airwarn.contract import Track, parse_event, to_ms
from airwarn.engine import Engine
from airwarn.engine.zones import ZoneSet, load_zones
from airwarn.sim.scenarios import simulate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_live import Server  # noqa: E402 - the same server harness as the live bench

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RAID = [("drones", 40), ("cruise", 12), ("ballistic", 8), ("rockets", 20)]


def raid_lines(zones: ZoneSet, at_least: int) -> tuple[list[bytes], list[bool]]:
    """The raid's events as JSON lines in time order, repeated (each copy later and with its
    own threat ids) until there are `at_least`; and which lines are track reports."""
    base: list[dict[str, Any]] = []
    for i, (scenario, count) in enumerate(RAID):
        raw, _ = simulate(zones, scenario, 100 + i, count=count)
        for e in raw:
            e = dict(e)
            if "threat" in e:
                e["threat"] = f"{scenario[0]}-{e['threat']}"
            base.append(e)
    parsed = [parse_event(msgspec.json.encode(e)) for e in base]
    order = sorted(range(len(base)), key=lambda i: to_ms(parsed[i].t))
    span_ms = to_ms(parsed[order[-1]].t) - to_ms(parsed[order[0]].t) + 3_600_000
    lines: list[bytes] = []
    tracks: list[bool] = []
    copy = 0
    while len(lines) < at_least:
        for i in order:
            event = parsed[i]
            if copy:
                shifted = msgspec.structs.replace(
                    event,
                    t=event.t.fromtimestamp(
                        (to_ms(event.t) + copy * span_ms) / 1e3, event.t.tzinfo
                    ),
                )
                if hasattr(shifted, "threat"):
                    shifted = msgspec.structs.replace(shifted, threat=f"{shifted.threat}.{copy}")
                event = shifted
            lines.append(msgspec.json.encode(event))
            tracks.append(isinstance(event, Track))
        copy += 1
    return lines, tracks


def post_for(
    server: Server, lines: list[bytes], tracks: list[bool], batch: int, seconds: float
) -> dict[str, Any]:
    """Post batches one after the other for `seconds`; what was accepted, how fast."""
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/x-ndjson"}
    latencies: list[float] = []
    sent = reports = decisions = 0
    with httpx.Client(base_url=server.base, headers=headers, timeout=600) as http:
        http.get("/healthz")
        cpu0 = server.cpu_s()
        start = time.perf_counter()
        while time.perf_counter() - start < seconds and sent < len(lines):
            chunk = lines[sent : sent + batch]
            t0 = time.perf_counter()
            answer = http.post("/v1/events", content=b"\n".join(chunk))
            latencies.append(time.perf_counter() - t0)
            answer.raise_for_status()
            got = answer.json()
            if got["rejected"] or got["accepted"] != len(chunk):
                raise SystemExit(f"the server rejected part of a batch: {got['rejected'][:3]}")
            reports += sum(tracks[sent : sent + len(chunk)])
            decisions += got["decisions"]
            sent += len(chunk)
        elapsed = time.perf_counter() - start
        server_cpu = server.cpu_s() - cpu0
    if sent == len(lines):
        print("  warning: the raid ran out before the time did", file=sys.stderr)
    latencies.sort()
    return {
        "events": sent,
        "reports": reports,
        "decisions": decisions,
        "batches": len(latencies),
        "seconds": elapsed,
        "reports_per_s": reports / elapsed,
        "batch_p50_ms": 1e3 * statistics.median(latencies),
        "batch_p99_ms": 1e3 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "batch_max_ms": 1e3 * latencies[-1],
        "server_cpu_s": server_cpu,
    }


def engine_seconds(zones: ZoneSet, lines: list[bytes], upto: int) -> list[float]:
    """Cumulative seconds a bare engine spends applying the first k events, for every k."""
    events = [parse_event(line) for line in lines[:upto]]
    engine = Engine(zones)
    cumulative = [0.0]
    for event in events:
        t0 = time.perf_counter()
        engine.apply(event)
        cumulative.append(cumulative[-1] + time.perf_counter() - t0)
    return cumulative


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--stores",
        default="sqlite,postgresql",
        help="comma-separated: sqlite, postgresql (default: %(default)s)",
    )
    parser.add_argument(
        "--batches", default="100,500", help="comma-separated lines per POST (default: %(default)s)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=20.0,
        help="how long each run keeps posting (default: %(default)s)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="runs per store and batch size, each on a fresh server; the "
        "table shows their medians (default: %(default)s)",
    )
    parser.add_argument(
        "--zones",
        type=Path,
        default=None,
        help="the hromada zone file (default: imported from "
        "../shared/data/ukraine/ua_hromadas.geojson into a temporary folder)",
    )
    parser.add_argument(
        "--wrap",
        default="",
        help='prefix for the server command, e.g. "py-spy record -o prof.txt -f raw --"',
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    stores = args.stores.split(",")
    batches = [int(b) for b in args.batches.split(",")]
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        zone_file = args.zones
        if zone_file is None:
            zone_file = Path(tmp) / "zones-ukraine-hromada.geojson"
            subprocess.run(
                [
                    shutil.which("airwarn") or "airwarn",
                    "zones",
                    "import",
                    "ukraine",
                    str(DATA / "ukraine" / "ua_hromadas.geojson"),
                    "--level",
                    "hromada",
                    "--shelter-s",
                    "90",
                    "--out",
                    str(zone_file),
                ],
                check=True,
                capture_output=True,
            )
        zones = load_zones(zone_file)
        lines, tracks = raid_lines(zones, int(args.seconds * 8000))
        for store in stores:
            for batch in batches:
                for _ in range(args.runs):
                    with Server(store, Path(tmp), zone_file, args.wrap.split()) as server:
                        run = post_for(server, lines, tracks, batch, args.seconds)
                    results.setdefault(f"{store}/{batch}", []).append(run)
                    print(
                        f"  {store}, batches of {batch}: {run['reports_per_s']:,.0f} "
                        f"reports/s over {run['seconds']:.0f} s",
                        file=sys.stderr,
                        flush=True,
                    )
        upto = max(r["events"] for runs in results.values() for r in runs)
        cumulative = engine_seconds(zones, lines, upto)
    for runs in results.values():
        for r in runs:
            r["engine_s"] = cumulative[r["events"]]
            r["engine_share"] = r["engine_s"] / r["seconds"]
    engine_rate = sum(tracks[:upto]) / cumulative[upto]
    if args.json:
        print(json.dumps({"engine_only_reports_per_s": engine_rate, "runs": results}, indent=2))
        return
    print(
        f"zones: {len(zones)}; {args.seconds:.0f} s per run; medians of {args.runs} runs; "
        f"engine alone on the same reports: {engine_rate:,.0f} reports/s"
    )
    print(
        "| store | batch | reports/s | batch p50 | batch p99 | decisions | engine's share "
        "of the time | server CPU / wall | reports/s of each run |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for key, runs in results.items():
        store, batch = key.split("/")

        def med(name: str, runs: list[dict[str, Any]] = runs) -> float:
            return statistics.median(r[name] for r in runs)

        cpu = statistics.median(r["server_cpu_s"] / r["seconds"] for r in runs)
        each = ", ".join(f"{r['reports_per_s']:,.0f}" for r in runs)
        print(
            f"| {store} | {int(batch):,} | {med('reports_per_s'):,.0f} | "
            f"{med('batch_p50_ms'):,.0f} ms | {med('batch_p99_ms'):,.0f} ms | "
            f"{med('decisions'):,.0f} | {100 * med('engine_share'):.0f} % | {cpu:.2f} | "
            f"{each} |"
        )


if __name__ == "__main__":
    main()
