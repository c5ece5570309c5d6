"""What a sensor that flips a track's kind on every report costs the engine: milliseconds of
CPU per report for a steady track and for one named `rocket` and `ballistic` (or `drone` and
`cruise`) by turns (docs/engine.md, "Named anew"; `RENAME_BACK_MS`).

    python bench/rename_cost.py

400 reports a second apart of one track over Israel's shipped areas, applied one by one; the
median of three runs of each.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

import msgspec

from airwarn.contract import parse_event
from airwarn.engine import Engine
from airwarn.layers.packaged import resolve_zones

START = datetime(2026, 3, 1, 18, tzinfo=UTC)
REPORTS = 400


def reports(kinds: tuple[str, str]) -> list:
    ballistic = kinds[0] in ("rocket", "ballistic")
    out = []
    for i in range(REPORTS):
        body = {
            "type": "track",
            "threat": "T",
            "kind": kinds[i % 2],
            "t": (START + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
            "lat": 31.5,
            "lon": 34.6 + 0.0005 * i,
            "alt_m": 5000.0 if ballistic else 300.0,
            "vel_mps": [50.0, 0.0, -10.0 if ballistic else 0.0],
        }
        out.append(parse_event(msgspec.json.encode(body)))
    return out


def main() -> None:
    zones = resolve_zones(None)
    for kinds in (
        ("rocket", "rocket"),
        ("rocket", "ballistic"),
        ("drone", "drone"),
        ("drone", "cruise"),
    ):
        events = reports(kinds)
        runs = []
        for _ in range(3):
            engine = Engine(zones)
            started = time.process_time()
            for event in events:
                engine.apply(event)
            runs.append(time.process_time() - started)
            renames = engine.stats.reclassified
        per_ms = 1000 * statistics.median(runs) / REPORTS
        print(f"{' / '.join(kinds)}: {per_ms:.2f} ms per report, {renames} renames")


if __name__ == "__main__":
    main()
