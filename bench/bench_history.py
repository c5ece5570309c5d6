"""Benchmark the alert histories: import every history in ../shared/data into a fresh store,
then time every statistics query (each source × zone/region/month/year) and the comparisons.

Run: python bench/bench_history.py [--data ../shared/data] [--db sqlite:///bench-history.db]
Prints one line per figure; the issue's targets are all imports < 60 s and any query < 1 s on
SQLite.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from airwarn.history import fatigue
from airwarn.history.imports import Inputs, find_histories, import_file
from airwarn.history.stats import (
    GROUPINGS,
    compute,
    load_alerts,
    needed_fields,
    sources,
    zone_labels,
)
from airwarn.store import connect, migrate

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--db", default=None, help="store URL (default: a fresh SQLite file)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per query (median shown)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="airwarn-bench-")
    url = args.db or f"sqlite:///{os.path.join(folder, 'history.db')}"
    engine = connect(url)
    migrate(engine)
    print(
        f"# airwarn history benchmark — {platform.python_version()}, {platform.machine()}, "
        f"store {engine.dialect.name}"
    )

    began = time.perf_counter()
    inputs = Inputs()
    for kind, path in find_histories(args.data):
        report = import_file(engine, kind, path, inputs)
        print(
            f"import {report.source:22s} {report.summary['rows_read']:>8,} rows  "
            f"{report.seconds:6.2f} s  ({report.status})"
        )
    total = time.perf_counter() - began
    print(f"import all histories     {total:6.2f} s  (target < 60 s)")
    began = time.perf_counter()
    for kind, path in find_histories(args.data):
        import_file(engine, kind, path, inputs)
    print(f"re-import, unchanged     {time.perf_counter() - began:6.2f} s")

    # wall time is what a user waits; CPU time (this process) shows the work itself, apart from
    # what other programs on a busy machine take from it
    print(f"load average before the queries: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    worst = worst_cpu = 0.0
    for source in sources(engine):
        for by in GROUPINGS:
            runs, cpu = [], []
            for _ in range(args.repeat):
                began, began_cpu = time.perf_counter(), time.process_time()
                alerts = load_alerts(engine, source, fields=needed_fields(by))
                compute(alerts, by, zone_labels(engine, alerts.zone_set))
                runs.append(time.perf_counter() - began)
                cpu.append(time.process_time() - began_cpu)
            worst, worst_cpu = max(worst, max(runs)), max(worst_cpu, max(cpu))
            print(
                f"stats {source:22s} --by {by:6s} median {statistics.median(runs):6.3f} s  "
                f"max {max(runs):6.3f} s  (CPU median {statistics.median(cpu):6.3f} s)"
            )
    print(f"slowest stats query      {worst:6.3f} s  (CPU {worst_cpu:6.3f} s; target < 1 s)")
    print(f"load average after the queries: {os.getloadavg()[0]:.2f}")
    began = time.perf_counter()
    fatigue.ukraine_finer_alerts(engine)
    print(f"compare ukraine          {time.perf_counter() - began:6.3f} s")
    began = time.perf_counter()
    fatigue.israel_areas_per_alert(engine, ["israel-dleshem", "israel-eranyariv"])
    print(f"compare israel           {time.perf_counter() - began:6.3f} s")


if __name__ == "__main__":
    main()
