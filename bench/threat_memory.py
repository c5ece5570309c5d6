"""What one threat in flight costs the engine in memory, by kind: the figure behind the
sensors' lane's `--max-threats-per-sensor` (docs/security.md).

    python bench/threat_memory.py            # drones, cruise missiles, rockets

2,000 threats of a kind, three reports each, over Israel's 1,449 shipped areas; the growth of
the memory Python allocated (tracemalloc), per threat. It counts everything the threat brings:
its filter, its corridor's or impact region's caches, the zones it holds and their timers.
"""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta

import msgspec

from airwarn.contract import parse_event
from airwarn.engine import Engine
from airwarn.layers.packaged import resolve_zones

COUNT = 2000
START = datetime(2026, 3, 1, 18, tzinfo=UTC)


def stamp(s: float) -> str:
    return (START + timedelta(seconds=s)).isoformat().replace("+00:00", "Z")


def per_threat(zones, kind: str) -> int:
    engine = Engine(zones)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for k in range(3):
        for i in range(COUNT):
            report = {
                "type": "track",
                "threat": f"bench/{i}",
                "kind": kind,
                "t": stamp(k + i * 0.001),
                "lat": 31.0 + (i % 50) * 0.01,
                "lon": 34.6 + (i // 50) * 0.01 + k * 0.001,
                "alt_m": 5000 - 300 * k if kind == "rocket" else 1000,
            }
            engine.apply(parse_event(msgspec.json.encode(report)))
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return grown // COUNT


def main() -> None:
    zones = resolve_zones(None)
    for kind in ("drone", "cruise", "rocket"):
        print(f"{kind}: {per_threat(zones, kind) / 1000:.0f} kB per threat ({COUNT} in flight)")


if __name__ == "__main__":
    main()
