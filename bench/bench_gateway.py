"""Throughput and added latency of `airwarn gateway asterix`: CAT062 over UDP into a real server.

    python bench/bench_gateway.py                       # the measures below, 3 runs each
    python bench/bench_gateway.py --rates 10000 --seconds 20 --repeat 5 --json out.json

1. **decode on one core**: what the gateway's receiving thread does per record (the decoder's
   fast path over libasterix's layout, conversion, kind rules, JSON), in this process on ready
   datagrams: records per CPU second, the gateway's ceiling whatever the server.
2. **paced runs**: a real `airwarn serve` (SQLite, `--clock events`) and a real
   `airwarn gateway asterix` process pinned to one CPU (`taskset -c 0`, see `--pin`); CAT062
   datagrams of 30 system tracks (2,000 tracks, each updated every 2,000 records) sent on
   loopback UDP at each `--rates` records/s for `--seconds`. Reported: records decoded, kernel
   drops, records accepted by the server, the gateway's CPU time per record (so records per
   CPU second: what one core decodes and forwards), how long after the last datagram the
   server had answered for everything (wall clock), and the added latency from a datagram's
   arrival at the gateway to the server's answer to the post holding it (p50/p99, from the
   gateway's `--summary-json`), with the gateway's own part of it (to its batch on disk).
   Each rate is run `--repeat` times; the medians close the table.

The datagrams are made with libasterix once per group of tracks; each send copies one and
writes the time of day into its records' I062/070 (3 bytes counting 1/128 s, found by encoding
one record at two times), since encoding 200,000 records would take minutes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from airwarn.gateway.decode import Decoder
from airwarn.gateway.encode import Cat062Encoder, Source
from airwarn.gateway.kinds import rules_from_document
from airwarn.gateway.mapping import Mapper, MappingSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_live import Server  # noqa: E402 - the same server harness as the live bench

TRACKS, PER_DATAGRAM = 2000, 30
# a socket buffer of about 450 datagrams (15,000 records): a gateway that cannot keep up shows
# as kernel drops within the run, instead of a backlog that outlasts it
RCVBUF_KB = 1024
START_TOD_S = 12 * 3600.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
RULES = '[[rule]]\nkind = "aircraft"\n'


def templates(seed: int = 1) -> tuple[list[bytearray], list[list[int]]]:
    """Datagrams of PER_DATAGRAM tracks each, over Europe (far from the server's zones), and
    in each the offsets of the records' time of day."""
    rng = random.Random(seed)
    encoder = Cat062Encoder(Source(25, 10, simulated=False))
    probe = [encoder.record(_report(rng), 1, t) for t in (0.0, 1.0)]
    a, b = (bytes(r.unparse().to_bytes()) for r in probe)
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    tod_at = diff[-1] - 2  # the last of three bytes; counts of 1/128 s, big-endian
    datagrams, offsets = [], []
    for start in range(0, TRACKS, PER_DATAGRAM):
        records = [
            encoder.record(_report(rng), 1000 + n, 0.0)
            for n in range(start, min(start + PER_DATAGRAM, TRACKS))
        ]
        sizes = [len(r.unparse()) // 8 for r in records]
        datagrams.append(bytearray(encoder.datablock(records)))
        at, spots = 3, []
        for size in sizes:
            spots.append(at + tod_at)
            at += size
        offsets.append(spots)
    return datagrams, offsets


def _report(rng: random.Random) -> dict[str, Any]:
    return {
        "type": "track",
        "lat": rng.uniform(44.0, 50.0),
        "lon": rng.uniform(2.0, 15.0),
        "alt_m": rng.uniform(3000.0, 12000.0),
        "sigma_m": rng.uniform(30.0, 150.0),
        "vel_mps": [rng.uniform(-250, 250), rng.uniform(-250, 250), rng.uniform(-10, 10)],
    }


def stamp(datagram: bytearray, spots: list[int], tod_s: float) -> bytes:
    count = round(tod_s * 128).to_bytes(3, "big")
    for at in spots:
        datagram[at : at + 3] = count
    return bytes(datagram)


def decode_on_one_core(
    datagrams: list[bytearray], offsets: list[list[int]], records: int = 30_000
) -> dict[str, float]:
    """Decode, convert, classify and encode as JSON, in this process; CPU time per record."""
    import tomllib

    decoder = Decoder()
    mapper = Mapper(
        MappingSettings(day=date(2026, 3, 1), rules=rules_from_document(tomllib.loads(RULES)))
    )
    encode = msgspec.json.Encoder().encode
    stream = [
        stamp(datagrams[i % len(datagrams)], offsets[i % len(datagrams)], START_TOD_S + i * 0.01)
        for i in range(records // PER_DATAGRAM)
    ]
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    started = time.process_time()
    done = 0
    for datagram in stream:
        for record in decoder.datagram(datagram):
            for event in mapper.events(record, 0):
                encode(event)
                done += 1
    cpu = time.process_time() - started
    gc.unfreeze()
    return {"records": done, "cpu_s": round(cpu, 3), "records_per_cpu_s": round(done / cpu)}


def _softnet_drops() -> int:
    """Packets the kernel dropped before any socket saw them (its per-CPU input backlog is
    full: loopback traffic goes through it too), summed over CPUs."""
    return sum(
        int(line.split()[1], 16) for line in Path("/proc/net/softnet_stat").read_text().splitlines()
    )


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _wait_cpu_s(process: subprocess.Popen[bytes], timeout_s: float) -> float:
    """Wait for a child to end; its CPU seconds over its whole life (rusage)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return float(usage.ru_utime + usage.ru_stime)
        time.sleep(0.05)
    raise SystemExit(f"the gateway did not stop within {timeout_s} s")


def paced_run(
    rate: int,
    seconds: float,
    workdir: Path,
    datagrams: list[bytearray],
    offsets: list[list[int]],
    extra: list[str] | None = None,
    pin: int | None = 0,
) -> dict[str, Any]:
    with Server("sqlite", workdir) as server:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        rules = workdir / "kinds.toml"
        rules.write_text(RULES)
        summary = workdir / f"gateway-{rate}.json"
        log_path = workdir / f"gateway-{rate}.log"
        log = open(log_path, "wb")  # noqa: SIM115 - the child owns it
        airwarn = shutil.which("airwarn") or "airwarn"
        pinned = [] if pin is None else ["taskset", "-c", str(pin)]
        gateway = subprocess.Popen(
            [
                *pinned,
                airwarn,
                "gateway",
                "asterix",
                "--listen",
                f"127.0.0.1:{port}",
                "--server",
                server.base,
                "--token",
                server.token,
                "--kinds",
                str(rules),
                "--date",
                "2026-03-01",
                "--buffer",
                str(workdir / f"buffer-{rate}"),
                "--status-s",
                "5",
                "--rcvbuf-kb",
                str(RCVBUF_KB),
                "--summary-json",
                str(summary),
                *(extra or []),
            ],
            stdout=log,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + 60
            while b"listening on" not in log_path.read_bytes():
                if gateway.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the gateway did not start: {log_path.read_text()}")
                time.sleep(0.05)
            sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            cpu_before = _cpu_s(gateway.pid)
            server_cpu_before = _cpu_s(server.pid)
            backlog_before = _softnet_drops()
            per_s = rate / PER_DATAGRAM
            started = time.monotonic()
            sent = sent_records = 0
            while True:
                due = started + sent / per_s
                if due - started >= seconds:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                n = sent % len(datagrams)
                sender.sendto(
                    stamp(datagrams[n], offsets[n], START_TOD_S + sent * PER_DATAGRAM / rate),
                    ("127.0.0.1", port),
                )
                sent += 1
                sent_records += len(offsets[n])
            send_s = time.monotonic() - started
            backlog_drops = _softnet_drops() - backlog_before
            sender.close()
            # SIGTERM: the gateway reads what its socket still holds, posts what its buffer
            # holds, and writes its summary
            gateway.send_signal(signal.SIGTERM)
            cpu_total = _wait_cpu_s(gateway, 120) - cpu_before
            answered_s = time.monotonic() - started - send_s  # after the last datagram
            server_cpu = _cpu_s(server.pid) - server_cpu_before
        finally:
            if gateway.poll() is None:
                gateway.kill()
                gateway.wait()
            log.close()
        figures = json.loads(summary.read_text())
        records = sum(figures["records"].values())
        return {
            "rate": rate,
            "seconds": round(send_s, 2),
            "sent": sent_records,
            "datagrams_sent": sent,
            "datagrams_received": figures["datagrams"],
            "decoded": records,
            "kernel_drops": figures["kernel_drops"],
            "unread_at_stop": figures["unread_at_stop"],
            "input_backlog_drops": backlog_drops,
            "accepted": figures["accepted"],
            "dropped_buffer_full": figures["dropped_buffer_full"],
            "buffered_at_exit": figures["buffered_batches"],
            "gateway_cpu_s": round(cpu_total, 2),
            "records_per_cpu_s": round(records / cpu_total) if cpu_total else None,
            "server_cpu_s": round(server_cpu, 2),
            "stopped_after_last_s": round(answered_s, 2),
            "latency_ms": figures["latency_ms"],
            "spooled_ms": figures["spooled_ms"],
            "post_ms": figures["post_ms"],
            "thread_cpu_s": figures["cpu_s"],
            "fast_blocks": figures["fast_blocks"],
            "posts": figures["posts"],
            "log": str(log_path),
        }


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def row(run: dict[str, Any]) -> str:
    lat, own = run["latency_ms"], run["spooled_ms"]
    per = 1e6 * run["gateway_cpu_s"] / max(run["decoded"], 1)
    return (
        f"| {run['rate']:,} | {run['datagrams_received']:,} of {run['datagrams_sent']:,} "
        f"| {run['kernel_drops']:,} / {run['input_backlog_drops']:,} / "
        f"{run['unread_at_stop']:,} | {run['decoded']:,} of {run['sent']:,} | "
        f"{run['accepted']:,} | {per:.0f} µs | {run['records_per_cpu_s']:,} | "
        f"{run['stopped_after_last_s']} s | {lat['p50']} / {lat['p99']} ms | "
        f"{own['p99']} ms | {run['posts']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[2000, 5000, 10000])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per rate (medians shown)")
    parser.add_argument(
        "--pin",
        type=int,
        default=0,
        help="the CPU the gateway runs on (taskset -c); -1: not pinned",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--gateway-args", default="", help="more options for the gateway, e.g. '--post-events 500'"
    )
    args = parser.parse_args()
    datagrams, offsets = templates()
    decoded = [decode_on_one_core(datagrams, offsets) for _ in range(args.repeat)]
    results: dict[str, Any] = {"decode_on_one_core": decoded}
    print(
        "decode on one core, records per CPU second:",
        [d["records_per_cpu_s"] for d in decoded],
        "median",
        round(median([d["records_per_cpu_s"] for d in decoded])),
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="airwarn-bench-gateway-"))
    results["paced"] = []
    for rate in args.rates:
        for _ in range(args.repeat):
            run = paced_run(
                rate,
                args.seconds,
                workdir,
                datagrams,
                offsets,
                args.gateway_args.split(),
                None if args.pin < 0 else args.pin,
            )
            run["load_after"] = round(os.getloadavg()[0], 1)
            results["paced"].append(run)
            print(json.dumps(run), flush=True)
    print()
    print(
        "| records/s sent | datagrams received of sent | dropped: socket / input backlog / "
        "unread at the stop | records decoded | accepted by the server | gateway CPU per "
        "record | records per CPU second | all answered, after the last datagram | added "
        "latency p50 / p99 | of which to the buffer, p99 | posts |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for run in results["paced"]:
        print(row(run))
    for rate in args.rates:
        runs = [r for r in results["paced"] if r["rate"] == rate]
        print(
            f"| **{rate:,}, median of {len(runs)}** | | | | "
            f"{round(median([r['accepted'] for r in runs])):,} | "
            f"{median([1e6 * r['gateway_cpu_s'] / max(r['decoded'], 1) for r in runs]):.0f}"
            f" µs | {round(median([r['records_per_cpu_s'] for r in runs])):,} | "
            f"{median([r['stopped_after_last_s'] for r in runs]):.2f} s | "
            f"{median([r['latency_ms']['p50'] for r in runs]):.0f} / "
            f"{median([r['latency_ms']['p99'] for r in runs]):.0f} ms | "
            f"{median([r['spooled_ms']['p99'] for r in runs]):.0f} ms | |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
