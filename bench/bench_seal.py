"""What the log's seal costs: per event written, and at start-up, on SQLite and PostgreSQL.

    python bench/bench_seal.py                      # 20,000 events, both stores
    python bench/bench_seal.py --events 50000 --stores sqlite

bench_ingest.py's raid (Ukraine's 1,768 hromadas, 80 threats, repeated) is written through a
`Service` in this process, in batches of 500, to a fresh store sealed with a fresh store key.
Then, medians of 3:
- **seal per event**: `seal()` recomputed for every stored event with its decisions and CAP
  rows, timed alone (what the writer adds to each event it logs);
- **its share of ingest**: that time against the in-process ingest time of the same events;
- **start-up**: a cold `Service.open()` of the store (replay with every seal checked), against
  reading the same events and replaying them through a bare engine without any check;
- **verify**: `airwarn store verify`'s check of the whole log (no replay).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from airwarn.cap.sign import load_or_create_keys
from airwarn.contract import parse_event
from airwarn.engine import Engine
from airwarn.engine.zones import ZoneSet
from airwarn.layers.ukraine import import_ukraine
from airwarn.service import Service, ServiceSettings, zones_fingerprint
from airwarn.store import connect
from airwarn.store.integrity import seal, verify_log
from airwarn.store.log import SERVICE_META
from airwarn.store.secrets import load_store_keys
from airwarn.store.tokens import Client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import raid_lines  # noqa: E402 - the same raid as the ingest bench
from bench_live import POSTGRES, _psql  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def open_service(zones: ZoneSet, url: str, folder: Path) -> Service:
    settings = ServiceSettings(
        db_url=url, clock="events", sender="airwarn@bench", id_prefix="urn:airwarn:bench:"
    )
    service = Service(
        zones,
        zones_fingerprint(zones),
        settings,
        load_or_create_keys(folder / "keys"),
        store_keys=load_store_keys(folder / "keys"),
    )
    service.open()
    return service


def run(zones: ZoneSet, lines: list[bytes], url: str, folder: Path) -> dict[str, Any]:
    service = open_service(zones, url, folder)
    client = Client("bench", "sensor")
    t0 = time.perf_counter()
    for start in range(0, len(lines), 500):
        chunk = lines[start : start + 500]
        items = [(i + 1, parse_event(line)) for i, line in enumerate(chunk)]
        answer = service.ingest(items, [], client=client, received_ms=0)
        if answer.rejected:
            raise SystemExit(f"the service rejected part of the raid: {answer.rejected[:2]}")
    ingest_s = time.perf_counter() - t0
    events = service.event_seq
    service.db.dispose()

    steps = list(service.log.steps())
    key = service.store_keys.chain_key
    seal_runs = []
    for _ in range(3):
        previous = "00" * 32
        t0 = time.perf_counter()
        for step in steps:
            previous = seal(key, previous, step.event, step.decisions, step.cap)
        seal_runs.append(time.perf_counter() - t0)
    seal_s = statistics.median(seal_runs)

    open_runs, bare_runs, verify_runs = [], [], []
    for _ in range(3):
        t0 = time.perf_counter()
        again = open_service(zones, url, folder)
        open_runs.append(time.perf_counter() - t0)
        again.db.dispose()
        engine_db = connect(url)
        t0 = time.perf_counter()
        bare = Engine(zones)
        from airwarn.store.log import ServiceLog

        for seq, body in ServiceLog(engine_db).events():
            bare.apply(parse_event(body, line=seq))
        bare_runs.append(time.perf_counter() - t0)
        with engine_db.connect() as conn:
            meta = dict(conn.execute(SERVICE_META.select()).all())
        t0 = time.perf_counter()
        verify_log(ServiceLog(engine_db), meta, load_store_keys(folder / "keys"), engine_db.url)
        verify_runs.append(time.perf_counter() - t0)
        engine_db.dispose()
    return {
        "events": events,
        "ingest_s": ingest_s,
        "seal_us_per_event": 1e6 * seal_s / events,
        "seal_share_of_ingest": seal_s / ingest_s,
        "open_s": statistics.median(open_runs),
        "bare_replay_s": statistics.median(bare_runs),
        "verify_s": statistics.median(verify_runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--stores", default="sqlite,postgresql")
    args = parser.parse_args()
    zones = ZoneSet(import_ukraine(DATA / "ukraine" / "ua_hromadas.geojson", "hromada", 90).zones)
    lines, _ = raid_lines(zones, args.events)
    lines = lines[: args.events]
    print(f"zones: {len(zones)}; {len(lines):,} events; medians of 3")
    print(
        "| store | events | seal per event | seal's share of ingest | start-up (replay + "
        "check) | replay alone, no check | verify (check alone) |"
    )
    print("|---|---|---|---|---|---|---|")
    for store in args.stores.split(","):
        folder = Path(tempfile.mkdtemp(prefix="bench-seal-"))
        schema = None
        try:
            if store == "sqlite":
                url = f"sqlite:///{folder / 'airwarn.db'}"
            else:
                schema = f"bench_seal_{int(time.time())}"
                _psql(f"CREATE SCHEMA {schema}")
                url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
            r = run(zones, lines, url, folder)
        finally:
            if schema is not None:
                _psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            shutil.rmtree(folder, ignore_errors=True)
        print(
            f"| {store} | {r['events']:,} | {r['seal_us_per_event']:.1f} µs | "
            f"{100 * r['seal_share_of_ingest']:.1f} % | {r['open_s']:.2f} s | "
            f"{r['bare_replay_s']:.2f} s | {r['verify_s']:.2f} s |",
            flush=True,
        )


if __name__ == "__main__":
    main()
