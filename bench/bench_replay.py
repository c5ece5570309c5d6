"""Replay throughput, time per report and peak memory on Ukraine's hromadas with 50 threats.

    python bench/bench_replay.py            # prints the figures BENCHMARKS.md reports

A mixed raid (drones, cruise and ballistic missiles, rockets) on the real hromada layer
(1,768 zones) is simulated with enough threats that 50 fly at once at its peak; the events are
parsed up front, then applied one by one on one core while each `apply` is timed. Peak memory is
the process's maximum resident set size.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from pathlib import Path

import msgspec

from airwarn.contract import Track, parse_event, to_ms
from airwarn.engine import Engine
from airwarn.engine.zones import ZoneSet
from airwarn.layers.ukraine import import_ukraine
from airwarn.sim.scenarios import simulate

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def concurrent_peak(events: list) -> int:
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for e in events:
        if isinstance(e, Track):
            t = to_ms(e.t)
            first.setdefault(e.threat, t)
            last[e.threat] = t
    changes = sorted([(t, 1) for t in first.values()] + [(t, -1) for t in last.values()])
    peak = live = 0
    for _, step in changes:
        live += step
        peak = max(peak, live)
    return peak


def raid() -> tuple[ZoneSet, list]:
    """The hromadas and the mixed raid's events, parsed and in time order."""
    zones = ZoneSet(import_ukraine(DATA / "ukraine" / "ua_hromadas.geojson", "hromada", 90).zones)
    events: list = []
    for i, (scenario, count) in enumerate(
        [("drones", 40), ("cruise", 12), ("ballistic", 8), ("rockets", 20)]
    ):
        raw, _ = simulate(zones, scenario, 100 + i, count=count)
        for e in raw:
            e = dict(e)
            if "threat" in e:
                e["threat"] = f"{scenario[0]}-{e['threat']}"
            events.append(parse_event(msgspec.json.encode(e)))
    events.sort(key=lambda e: to_ms(e.t))
    return zones, events


def main() -> None:
    zones, events = raid()
    runs = []
    for _ in range(3):  # the median of three runs: this machine's timings vary by ~30 %
        engine = Engine(zones)
        per_report: list[float] = []
        start = time.perf_counter()
        cpu_start = time.process_time()
        for event in events:
            t0 = time.perf_counter()
            engine.apply(event)
            if isinstance(event, Track):
                per_report.append(time.perf_counter() - t0)
        engine.flush()
        runs.append(
            (
                time.perf_counter() - start,
                sorted(per_report),
                engine.seq,
                time.process_time() - cpu_start,
            )
        )
    runs.sort(key=lambda run: run[0])
    elapsed, per_report, decisions, cpu = runs[1]
    reports = len(per_report)
    print(
        f"zones: {len(zones)}; events: {len(events)}; track reports: {reports}; "
        f"threats at once, peak: {concurrent_peak(events)}; decisions: {decisions}"
    )
    print(
        f"throughput: {reports / elapsed:,.0f} reports/s (median of 3 runs: {elapsed:.2f} s; "
        f"runs {', '.join(f'{r[0]:.2f}' for r in runs)} s)"
    )
    print(
        f"CPU time of that run: {cpu:.2f} s ({reports / cpu:,.0f} reports per CPU second); "
        f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"time per report: median {1e3 * statistics.median(per_report):.3f} ms, "
        f"p99 {1e3 * per_report[int(0.99 * reports)]:.3f} ms, max {1e3 * per_report[-1]:.2f} ms"
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
