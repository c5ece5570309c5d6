"""Fan-out: from a decision to 10,000 live clients spread over several edge processes.

    python bench/bench_fanout.py                    # E = 1, 2, 4 edges, 10,000 clients, 3 runs
    python bench/bench_fanout.py --edges 2 --clients 2000 --runs 1 --rounds 10
    python bench/bench_fanout.py --json fanout.json # every run's figures too

Each run starts a bus deployment on the real NATS and PostgreSQL of this machine: one engine
and E edges (`airwarn serve --bus ... --role engine|edge`, event clock, a fresh PostgreSQL
schema and a NATS namespace of its own). C SSE clients (`GET /v1/stream`) are spread evenly
over the edges (client k on edge k mod E); they run in P client processes (`--client-procs`,
see `fanout_clients.py`) so that one Python loop on the client side is not the bottleneck.
When every client has had its first heartbeat (and the edges' `/healthz` count them all), the
bench posts, one at a time, a drill alert or clear of one zone (an operator's action, status
`exercise`, which goes in one step: exactly one decision each) to the engine's `/v1/actions`;
the engine's HTTP route
sends it over the bus to the lease holder (itself), which commits and publishes the step;
every edge follows the step and feeds its clients. The next post goes when every client has
the decision (or after `--timeout-s`), then `--gap-ms` later.

The latency of a (client, decision) pair runs from just before the POST to the moment that
client's socket delivered the decision, both read with `time.time()` (one machine, one clock;
the clients are other processes). Per E the table gives medians over the runs of each run's
p50, p99 and max; the clients that got every decision exactly once; the CPU per decision of the
engine, of all edges together and of the client processes (from /proc and
`time.process_time()`); the edges' resident memory with the clients connected; and the load
average (`uptime`) before and after the runs. Everything runs on this one machine: the clients
compete with the servers, NATS and PostgreSQL for its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import httpx
from bench_live import _free_port, _psql
from fanout_clients import serve_clients

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NATS = "nats://127.0.0.1:4222"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


# -- the deployment -----------------------------------------------------------------------------


class Process:
    """One `airwarn serve` subprocess, its log in the run's folder."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        airwarn = shutil.which("airwarn") or "airwarn"
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [airwarn, "serve", *args, "--port", str(self.port)], stdout=out, stderr=out
            )

    def health(self) -> dict[str, Any] | None:
        try:
            answer = httpx.get(self.base + "/healthz", timeout=2)
        except httpx.TransportError:
            return None
        return answer.json() if answer.status_code == 200 else None  # type: ignore[no-any-return]

    def wait_healthy(self, timeout_s: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(
                    f"airwarn serve exited with {self.proc.returncode}; see "
                    f"{self.log}:\n{self.log.read_text(errors='replace')[-2000:]}"
                )
            health = self.health()
            if health is not None:
                return health
            time.sleep(0.2)
        raise SystemExit(
            f"airwarn serve did not answer /healthz within {timeout_s} s; see {self.log}"
        )

    def cpu_s(self) -> float:
        """CPU time so far (user + system, all threads), from /proc."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss_mb(self) -> float:
        pages = int(Path(f"/proc/{self.proc.pid}/statm").read_text().split()[1])
        return pages * PAGE_BYTES / 2**20

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn stops cleanly on it
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Deployment:
    """One engine and `edges` edges on a fresh PostgreSQL schema and NATS namespace."""

    def __init__(self, edges: int, folder: Path, heartbeat_s: float) -> None:
        self.edges_wanted = edges
        self.folder = folder
        self.heartbeat_s = heartbeat_s
        tag = uuid.uuid4().hex[:10]
        self.namespace = f"fanout{tag}"
        self.schema = f"bench_fanout_{tag}"
        self.db = f"{POSTGRES}?options=-csearch_path%3D{self.schema}"
        self.engine: Process | None = None
        self.edges: list[Process] = []
        self.token = ""  # an operator's

    def __enter__(self) -> Deployment:
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self) -> None:
        _psql(f"CREATE SCHEMA {self.schema}")
        airwarn = shutil.which("airwarn") or "airwarn"
        made = subprocess.run(
            [airwarn, "tokens", "create", "--role", "operator", "--name", "bench", "--db", self.db],
            capture_output=True,
            text=True,
            check=True,
        )
        self.token = made.stdout.strip().splitlines()[-1]
        common = [
            "--zones",
            "generated",
            "--db",
            self.db,
            "--keys",
            str(self.folder / "keys"),
            "--clock",
            "events",
            "--heartbeat-s",
            str(self.heartbeat_s),
            "--bus",
            NATS,
            "--bus-namespace",
            self.namespace,
            "--lease-s",
            "3",
        ]
        self.engine = Process(
            [*common, "--role", "engine", "--name", "engine"],
            self.folder / f"{self.namespace}-engine.log",
        )
        deadline = time.monotonic() + 120
        while not (self.engine.wait_healthy().get("bus") or {}).get("leading"):
            if time.monotonic() > deadline:
                raise SystemExit("the engine did not take the lease within 120 s")
            time.sleep(0.2)
        # the edges start together (their imports take seconds each), then are awaited
        self.edges = [
            Process(
                [*common, "--role", "edge", "--name", f"edge{i}"],
                self.folder / f"{self.namespace}-edge{i}.log",
            )
            for i in range(self.edges_wanted)
        ]
        for edge in self.edges:
            edge.wait_healthy()

    def live_clients(self) -> int:
        return sum((edge.health() or {}).get("live_clients", 0) for edge in self.edges)

    def __exit__(self, *_: object) -> None:
        for process in [*self.edges, *([self.engine] if self.engine else [])]:
            process.stop()
        self.edges, self.engine = [], None
        try:
            _psql(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            asyncio.run(_drop_streams(self.namespace))
        except Exception as exc:  # noqa: BLE001 - PostgreSQL or NATS away: say what is left
            print(
                f"warning: could not drop schema {self.schema} or the NATS streams of "
                f"namespace {self.namespace} ({exc!r}); drop them by hand",
                file=sys.stderr,
            )


async def _drop_streams(namespace: str) -> None:
    """Delete the run's NATS streams and lease bucket: the steps stream reserves 2 GiB of
    JetStream storage, so a few dozen runs left behind would fill it for everyone."""
    import nats

    from airwarn.bus import BusSettings

    names = BusSettings(namespace=namespace)
    nc = await nats.connect(NATS)
    try:
        js = nc.jetstream()
        for stream in (names.requests_stream, names.steps_stream, f"KV_{names.lease_bucket}"):
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(stream)
    finally:
        await nc.close()


def raise_open_files(needed: int) -> int:
    """Raise this process's open-file limit (soft, and hard when root) to at least `needed`;
    the servers and client processes started afterwards inherit it. The limit reached."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return soft
    want = needed if hard == resource.RLIM_INFINITY else max(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (ValueError, OSError):  # not root: as far as the hard limit allows
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# -- one run ----------------------------------------------------------------------------------


def run_once(
    edges: int,
    clients: int,
    client_procs: int,
    rounds: int,
    zone: str,
    folder: Path,
    args: argparse.Namespace,
) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    with Deployment(edges, folder, args.heartbeat_s) as deployment:
        addresses = [("127.0.0.1", edge.port) for edge in deployment.edges]
        context = multiprocessing.get_context("spawn")
        conns: list[Connection] = []
        workers = []
        first = 0
        connect0 = time.monotonic()
        for p in range(client_procs):
            count = clients // client_procs + (1 if p < clients % client_procs else 0)
            ours, theirs = context.Pipe()
            worker = context.Process(
                target=serve_clients, args=(theirs, addresses, first, count), daemon=True
            )
            worker.start()
            theirs.close()  # the child's end: a child that dies then reads as EOF here
            conns.append(ours)
            workers.append(worker)
            first += count
        try:
            for conn in conns:
                kind, detail = _receive(conn)
                if kind != "ready":
                    raise SystemExit(f"a client process could not connect: {detail}")
            connect_s = time.monotonic() - connect0
            counted = deployment.live_clients()
            if counted != clients:
                raise SystemExit(f"the edges count {counted} live clients, not {clients}")
            rss = [edge.rss_mb() for edge in deployment.edges]
            result = _measure(deployment, conns, clients, rounds, zone, args)
        finally:
            for worker in workers:
                worker.join(timeout=30)
                if worker.is_alive():
                    worker.kill()
    result.update(
        {
            "edges": edges,
            "clients": clients,
            "client_procs": client_procs,
            "connect_s": connect_s,
            "edge_rss_mb": rss,
            "load_before": load_before,
            "load_after": os.getloadavg()[0],
        }
    )
    return result


def _measure(
    deployment: Deployment,
    conns: list[Connection],
    clients: int,
    rounds: int,
    zone: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    assert deployment.engine is not None
    target = deployment.engine if args.post_to == "engine" else deployment.edges[0]
    servers = [deployment.engine, *deployment.edges]
    sent: dict[int, float] = {}  # decision seq -> time.time() just before its POST
    answers: list[float] = []
    timeouts = 0
    retried = 0  # posts answered only after a 503, a 202 or a broken connection
    headers = {"Authorization": f"Bearer {deployment.token}"}
    last_seq = 0
    with httpx.Client(base_url=target.base, headers=headers, timeout=30) as http:
        http.get("/healthz")  # the POST's connection is open before the clock starts
        for conn in conns:
            conn.send(("go",))
        cpu0 = [s.cpu_s() for s in servers]
        wall0 = time.monotonic()
        for i in range(rounds):
            action = {
                "action": "alert" if i % 2 == 0 else "clear",
                "zones": [zone],
                "status": "exercise",
                "reason": "bench fan-out",
            }
            t0 = time.time()
            seq, tries = _act(http, action, last_seq)
            answers.append(time.time() - t0)
            retried += tries > 1
            last_seq = seq
            sent[seq] = t0
            if not _wait_all(conns, seq, args.timeout_s):
                timeouts += 1
            time.sleep(args.gap_ms / 1e3)
        wall = time.monotonic() - wall0
        cpu = [s.cpu_s() - c for s, c in zip(servers, cpu0, strict=True)]
    reports = []
    for conn in conns:
        conn.send(("finish", sorted(sent)))
    for conn in conns:
        while True:
            kind, detail = _receive(conn)
            if kind == "report":
                reports.append(detail)
                break
    latencies = sorted(
        t - sent[seq] for r in reports for seq, times in r["times"].items() for t in times
    )
    spreads = [
        max(ts) - min(ts) for seq in sent if (ts := [t for r in reports for t in r["times"][seq]])
    ]
    return {
        "decisions": len(sent),
        "pairs": len(latencies),
        "expected_pairs": len(sent) * clients,
        "complete_clients": sum(r["complete"] for r in reports),
        "duplicates": sum(r["duplicates"] for r in reports),
        "strays": sum(r["strays"] for r in reports),
        "bad": sum(r["bad"] for r in reports),
        "lost_clients": sum(r["lost_count"] for r in reports),
        "lost_examples": [why for r in reports for why in r["lost"]][:5],
        "timeouts": timeouts,
        "retried_posts": retried,
        "p50_ms": 1e3 * _pct(latencies, 0.50),
        "p99_ms": 1e3 * _pct(latencies, 0.99),
        "max_ms": 1e3 * latencies[-1] if latencies else float("nan"),
        "post_answer_p50_ms": 1e3 * statistics.median(answers),
        "first_to_last_p50_ms": 1e3 * statistics.median(spreads) if spreads else float("nan"),
        "engine_cpu_ms_per_decision": 1e3 * cpu[0] / len(sent),
        "edges_cpu_ms_per_decision": 1e3 * sum(cpu[1:]) / len(sent),
        "clients_cpu_ms_per_decision": 1e3 * sum(r["cpu_s"] for r in reports) / len(sent),
        "seconds": wall,
        "slowest_client_ms_per_decision": [
            round(1e3 * (max(t for r in reports for t in r["times"][seq]) - sent[seq]))
            if any(r["times"][seq] for r in reports)
            else None
            for seq in sorted(sent)
        ],
    }


def _act(http: httpx.Client, action: dict[str, Any], last_seq: int) -> tuple[int, int]:
    """Send a drill action until its one decision is known, as a careful operator's client
    does: a 503 (the bus or the store restarting: other work on this machine may do that), a
    202 (stored on the bus, not yet applied) or a broken connection is followed by a look at
    the zone's history, and the action is sent again only if it left no decision there. The
    decision's seq and the number of tries; a retried action's latency counts from the first
    try."""
    deadline = time.monotonic() + 60
    tries = 0
    while True:
        tries += 1
        try:
            answer = http.post("/v1/actions", json=action)
        except httpx.TransportError:
            answer = None
        if answer is not None and answer.status_code == 200:
            seqs = answer.json().get("decisions", [])
            if len(seqs) != 1:
                raise SystemExit(f"expected one decision per action, got {answer.text}")
            return int(seqs[0]), tries
        if answer is not None and answer.status_code not in (202, 503):
            raise SystemExit(f"POST /v1/actions answered {answer.status_code}: {answer.text}")
        while time.monotonic() < deadline:  # applied after all? its decision says so
            time.sleep(0.5)
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                newest = http.get(
                    "/v1/history", params={"zone": action["zones"][0], "limit": 1}
                ).json()["decisions"]
                if newest and newest[0]["seq"] > last_seq:
                    return int(newest[0]["seq"]), tries
            if answer is None or answer.status_code == 503:
                break  # not applied: send it again
        if time.monotonic() > deadline:
            raise SystemExit("POST /v1/actions left no decision within 60 s")


def _wait_all(conns: list[Connection], seq: int, timeout_s: float) -> bool:
    """Until every client process says all its clients have decision `seq`."""
    waiting = set(conns)
    deadline = time.monotonic() + timeout_s
    while waiting:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        for conn in wait(list(waiting), timeout=left):
            kind, detail = _receive(conn)  # type: ignore[arg-type]
            if kind == "done" and detail == seq:
                waiting.discard(conn)  # type: ignore[arg-type]
    return True


def _receive(conn: Connection) -> tuple[str, Any]:
    try:
        return conn.recv()  # type: ignore[no-any-return]
    except (EOFError, OSError):
        raise SystemExit("a client process died; its traceback is above") from None


def _pct(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- the table --------------------------------------------------------------------------------


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def print_table(results: dict[int, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    print(
        f"clients: {args.clients:,} over E edges, in {args.client_procs} client processes; "
        f"{args.rounds} decisions per run; medians of {args.runs} runs (ms); posts to the "
        f"{args.post_to}"
    )
    print(
        "| edges | clients per edge | p50 | p99 | max | p99 of each run | clients with every "
        "decision | POST answered p50 | first→last client p50 | CPU / decision: engine | "
        "edges | clients | edge RSS (MB) | load before→after |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for edges, runs in results.items():
        each = ", ".join(f"{r['p99_ms']:.0f}" for r in runs)
        complete = ", ".join(f"{r['complete_clients']:,}" for r in runs)
        rss = statistics.median(statistics.mean(r["edge_rss_mb"]) for r in runs)
        load = ", ".join(f"{r['load_before']:.1f}→{r['load_after']:.1f}" for r in runs)
        print(
            f"| {edges} | {args.clients // edges:,} | {_median(runs, 'p50_ms'):.0f} "
            f"| {_median(runs, 'p99_ms'):.0f} | {_median(runs, 'max_ms'):.0f} | {each} "
            f"| {complete} of {args.clients:,} "
            f"| {_median(runs, 'post_answer_p50_ms'):.0f} "
            f"| {_median(runs, 'first_to_last_p50_ms'):.0f} "
            f"| {_median(runs, 'engine_cpu_ms_per_decision'):.0f} "
            f"| {_median(runs, 'edges_cpu_ms_per_decision'):.0f} "
            f"| {_median(runs, 'clients_cpu_ms_per_decision'):.0f} | {rss:.0f} | {load} |"
        )
    problems = [
        (edges, r)
        for edges, runs in results.items()
        for r in runs
        if r["duplicates"]
        or r["strays"]
        or r["bad"]
        or r["lost_clients"]
        or r["timeouts"]
        or r["retried_posts"]
        or r["pairs"] != r["expected_pairs"]
    ]
    for edges, r in problems:
        print(
            f"warning (E={edges}): pairs {r['pairs']} of {r['expected_pairs']}, "
            f"duplicates {r['duplicates']}, strays {r['strays']}, bad data {r['bad']}, "
            f"clients lost {r['lost_clients']} {r['lost_examples']}, "
            f"decisions that timed out {r['timeouts']}, posts retried (a 503 or 202: the "
            f"bus or store was restarted) {r['retried_posts']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--edges",
        default="1,2,4",
        help="comma-separated numbers of edge processes (default: %(default)s)",
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=10_000,
        help="live SSE clients, spread evenly over the edges (default: %(default)s)",
    )
    parser.add_argument(
        "--client-procs",
        type=int,
        default=2,
        help="processes the clients run in (default: %(default)s)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=30,
        help="decisions per run, posted one at a time (default: %(default)s)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="runs per edge count, each on a fresh deployment; the table shows "
        "their medians (default: %(default)s)",
    )
    parser.add_argument(
        "--gap-ms",
        type=float,
        default=200.0,
        help="pause after every client has a decision (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout-s",
        type=float,
        default=30.0,
        help="how long to wait for every client to have a decision before "
        "posting the next anyway (default: %(default)s)",
    )
    parser.add_argument(
        "--heartbeat-s",
        type=float,
        default=5.0,
        help="the servers' heartbeat interval (default: %(default)s)",
    )
    parser.add_argument(
        "--post-to",
        choices=["engine", "edge"],
        default="engine",
        help="where the decisions' events are posted (default: %(default)s)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write every run's figures to FILE",
    )
    args = parser.parse_args()
    # a SIGTERM unwinds like Ctrl-C, so the servers stop and the schema is dropped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    edge_counts = [int(n) for n in args.edges.split(",")]
    # each client is a socket in a client process and another in an edge; plus headroom
    limit = raise_open_files(args.clients + 4096)
    if limit < args.clients // min(edge_counts) + 1024:
        raise SystemExit(
            f"the open-file limit is {limit}: too low for {args.clients} clients "
            "(run as root, or raise `ulimit -Hn`)"
        )
    from airwarn.sim.demo_zones import demo_zones

    zone = demo_zones()[0].id
    print(f"uptime: {_uptime()}", file=sys.stderr, flush=True)
    results: dict[int, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        for edges in edge_counts:
            for _ in range(args.runs):
                run = run_once(
                    edges, args.clients, args.client_procs, args.rounds, zone, Path(tmp), args
                )
                results.setdefault(edges, []).append(run)
                print(
                    f"  E={edges}: p50 {run['p50_ms']:.0f} ms, p99 {run['p99_ms']:.0f} ms, "
                    f"max {run['max_ms']:.0f} ms; {run['complete_clients']:,} of "
                    f"{args.clients:,} clients had every decision; connected in "
                    f"{run['connect_s']:.0f} s; load {run['load_before']:.2f} → "
                    f"{run['load_after']:.2f}",
                    file=sys.stderr,
                    flush=True,
                )
    print(f"uptime: {_uptime()}", file=sys.stderr, flush=True)
    if args.json is not None:
        args.json.write_text(
            json.dumps({"args": {**vars(args), "json": str(args.json)}, "runs": results}, indent=2)
        )
    print_table(results, args)


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
