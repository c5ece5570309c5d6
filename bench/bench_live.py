"""End-to-end latency from the `POST` of a report to connected SSE clients receiving its decision.

    python bench/bench_live.py                      # N = 1, 100, 1000 clients, SQLite, 3 runs
    python bench/bench_live.py --store postgresql   # the same on the PostgreSQL at 127.0.0.1
    python bench/bench_live.py --clients 1000 --runs 1 --json

Each run starts a real `airwarn serve` subprocess (event clock, a fresh store, a sensor and an
operator token), opens N raw `GET /v1/stream` connections from this process and waits until
every one has had its first `heartbeat`. Then it posts, one at a time, a drill alert or clear of
one zone (an operator's action with status `exercise`, which goes in one step: exactly one
decision each) to `/v1/actions`, and waits
until all N clients have that decision before the next. The latency of a (client, decision)
pair is from just before the POST to the moment that client's socket delivered the decision,
both read with `time.perf_counter()` in this process.

The clients are plain asyncio protocols on uvloop that only look for `id: SEQ` followed by
`event: decision`; their own cost is measured (this process's CPU time per decision, for all N
clients) and printed beside the figures, as is the server's, read from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DECISION = re.compile(rb"id: (\d+)\r?\nevent: decision")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- the server under test --------------------------------------------------------------------


class Server:
    """`airwarn serve` in a subprocess on a fresh store: a SQLite file, or a throwaway
    PostgreSQL schema dropped on exit. `wrap` prefixes the command (e.g. a profiler)."""

    def __init__(
        self,
        store: str,
        workdir: Path,
        zones: Path | None = None,
        wrap: list[str] | None = None,
        heartbeat_s: float = 5.0,
        serve_args: list[str] | None = None,
    ) -> None:
        self.store, self.workdir, self.zones = store, workdir, zones
        self.wrap, self.heartbeat_s = wrap or [], heartbeat_s
        self.serve_args = serve_args or []
        self.proc: subprocess.Popen[bytes] | None = None
        self.schema: str | None = None
        self.url = ""
        self.token = ""  # a sensor's
        self.operator_token = ""
        self.base = ""
        self.pid = 0

    def __enter__(self) -> Server:
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self) -> None:
        tag = f"{os.getpid()}_{time.monotonic_ns() % 10**9}"
        if self.store == "sqlite":
            self.url = f"sqlite:///{self.workdir / f'airwarn-{tag}.db'}"
        elif self.store == "postgresql":
            self.schema = f"bench_{tag}"
            _psql(f"CREATE SCHEMA {self.schema}")
            self.url = f"{POSTGRES}?options=-csearch_path%3D{self.schema}"
        else:
            raise SystemExit(f"--store is sqlite or postgresql, not {self.store!r}")
        airwarn = shutil.which("airwarn") or "airwarn"
        made = subprocess.run(
            [airwarn, "tokens", "create", "--role", "sensor", "--name", "bench", "--db", self.url],
            capture_output=True,
            text=True,
            check=True,
        )
        self.token = made.stdout.strip().splitlines()[-1]
        made = subprocess.run(
            [
                airwarn,
                "tokens",
                "create",
                "--role",
                "operator",
                "--name",
                "bench-operator",
                "--db",
                self.url,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        self.operator_token = made.stdout.strip().splitlines()[-1]
        port = _free_port()
        command = [
            airwarn,
            "serve",
            "--db",
            self.url,
            "--port",
            str(port),
            "--keys",
            str(self.workdir / "keys"),
            "--clock",
            "events",
            "--heartbeat-s",
            str(self.heartbeat_s),
        ]
        command += ["--zones", "generated" if self.zones is None else str(self.zones)]
        command += self.serve_args
        log = open(self.workdir / f"serve-{tag}.log", "wb")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen([*self.wrap, *command], stdout=log, stderr=log)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(
                    f"airwarn serve exited with {self.proc.returncode}; see {log.name}"
                )
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit("airwarn serve did not answer /healthz within 180 s")
        self.pid = _server_pid(self.proc.pid, port)

    def cpu_s(self) -> float:
        """The server process's CPU time so far (user + system), from /proc."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def __exit__(self, *_: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn (and py-spy) stop cleanly on it
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.schema is not None:
            _psql(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            self.schema = None


def _psql(statement: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as db:
            db.execute(sa.text(statement))
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_pid(child: int, port: int) -> int:
    """The serving process: the child itself, or (under a wrapper) its descendant that
    listens on the port."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1].endswith(f":{port:04X}") and parts[3] == "0A":
            inode = parts[9]
    if inode is None:
        return child
    for pid in [d for d in os.listdir("/proc") if d.isdigit()]:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return int(pid)
        except OSError:
            continue
    return child


# -- the clients ------------------------------------------------------------------------------


@dataclass
class Arrivals:
    clients: int
    times: dict[int, list[float]] = field(default_factory=dict)
    complete: dict[int, asyncio.Event] = field(default_factory=dict)

    def event(self, seq: int) -> asyncio.Event:
        return self.complete.setdefault(seq, asyncio.Event())

    def add(self, seq: int, now: float) -> None:
        times = self.times.setdefault(seq, [])
        times.append(now)
        if len(times) == self.clients:
            self.event(seq).set()


class Feed(asyncio.Protocol):
    """One SSE client on a raw socket: it notes when each decision's bytes arrive."""

    def __init__(self, request: bytes, arrivals: Arrivals) -> None:
        self.request = request
        self.arrivals = arrivals
        self.buffer = b""
        self.ready = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buffer = self.buffer + data
        # complete SSE events end with a blank line (either line ending), as does the HTTP head
        end = max(buffer.rfind(b"\n\n"), buffer.rfind(b"\r\n\r\n"))
        if end < 0:
            self.buffer = buffer
            return
        cut = end + (4 if buffer[end : end + 4] == b"\r\n\r\n" else 2)
        done, self.buffer = buffer[:cut], buffer[cut:]
        if not self.ready.done() and b"event: heartbeat" in done:
            self.ready.set_result(None)
        for match in DECISION.finditer(done):
            self.arrivals.add(int(match[1]), now)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"the stream closed: {exc}"))


async def measure(
    server: Server, clients: int, posts: int, zone: str, gap_s: float
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    arrivals = Arrivals(clients)
    host, port = server.base.removeprefix("http://").split(":")
    request = (
        f"GET /v1/stream HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    feeds: list[Feed] = []
    for start in range(0, clients, 50):  # in small waves: the listen backlog is finite
        made = await asyncio.gather(
            *(
                loop.create_connection(lambda: Feed(request, arrivals), host, int(port))
                for _ in range(start, min(clients, start + 50))
            )
        )
        feeds += [protocol for _, protocol in made]
    await asyncio.wait_for(asyncio.gather(*(f.ready for f in feeds)), timeout=120)
    headers = {"Authorization": f"Bearer {server.operator_token}"}
    latencies: list[float] = []
    answers: list[float] = []
    spreads: list[float] = []
    async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=30) as http:
        await http.get("/healthz")  # the POST connection is open before the clock starts
        cpu0, server_cpu0, wall0 = time.process_time(), server.cpu_s(), time.perf_counter()
        for i in range(posts):
            action = {
                "action": "alert" if i % 2 == 0 else "clear",
                "zones": [zone],
                "status": "exercise",
                "reason": "bench",
            }  # a drill goes in one step
            t0 = time.perf_counter()
            answer = await http.post("/v1/actions", json=action)
            answers.append(time.perf_counter() - t0)
            answer.raise_for_status()
            got = answer.json()
            if len(got.get("decisions", [])) != 1:
                raise SystemExit(f"expected one decision per post, got {got}")
            seq = got["decisions"][0]
            await asyncio.wait_for(arrivals.event(seq).wait(), timeout=30)
            times = arrivals.times[seq]
            latencies += [t - t0 for t in times]
            spreads.append(max(times) - min(times))
            await asyncio.sleep(gap_s)
        wall = time.perf_counter() - wall0
        cpu, server_cpu = time.process_time() - cpu0, server.cpu_s() - server_cpu0
    for feed in feeds:
        if feed.transport is not None:
            feed.transport.close()
    extra = sum(len(t) for t in arrivals.times.values()) - posts * clients
    latencies.sort()
    return {
        "clients": clients,
        "decisions": posts,
        "pairs": len(latencies),
        "duplicates_or_strays": extra,
        "p50_ms": 1e3 * _pct(latencies, 0.50),
        "p95_ms": 1e3 * _pct(latencies, 0.95),
        "p99_ms": 1e3 * _pct(latencies, 0.99),
        "max_ms": 1e3 * latencies[-1],
        "post_answer_p50_ms": 1e3 * statistics.median(answers),
        "fanout_spread_p50_ms": 1e3 * statistics.median(spreads),
        "client_cpu_ms_per_decision": 1e3 * cpu / posts,
        "server_cpu_ms_per_decision": 1e3 * server_cpu / posts,
        "seconds": wall,
    }


def _pct(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _loop_factory() -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--clients",
        default="1,100,1000",
        help="comma-separated numbers of connected SSE clients (default: %(default)s)",
    )
    parser.add_argument(
        "--posts", type=int, default=100, help="decisions per run (default: %(default)s)"
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="runs per client count, each on a fresh server; the table "
        "shows their medians (default: %(default)s)",
    )
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--zones",
        type=Path,
        default=None,
        help="a zone file for the server (default: the demo zone set)",
    )
    parser.add_argument(
        "--gap-ms",
        type=float,
        default=20.0,
        help="pause after every client has a decision (default: %(default)s)",
    )
    parser.add_argument(
        "--wrap",
        default="",
        help='prefix for the server command, e.g. "py-spy record -o prof.txt -f raw --"',
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    counts = [int(n) for n in args.clients.split(",")]
    if args.zones is None:
        from airwarn.sim.demo_zones import demo_zones

        zone = demo_zones()[0].id
    else:
        from airwarn.engine.zones import load_zones

        zone = load_zones(args.zones).ids[0]
    results: dict[int, list[dict[str, Any]]] = {}
    runner = asyncio.Runner(loop_factory=_loop_factory())
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp, runner:
        for n in counts:
            for _ in range(args.runs):
                # every client is on 127.0.0.1: lift the cap on live feeds per address
                with Server(
                    args.store,
                    Path(tmp),
                    args.zones,
                    args.wrap.split(),
                    serve_args=["--max-live-per-address", "0"],
                ) as server:
                    run = runner.run(measure(server, n, args.posts, zone, args.gap_ms / 1e3))
                results.setdefault(n, []).append(run)
                print(
                    f"  N={n}: p99 {run['p99_ms']:.1f} ms ({run['seconds']:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    if args.json:
        print(json.dumps({"store": args.store, "runs": results}, indent=2))
        return
    keys = [
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
        "post_answer_p50_ms",
        "fanout_spread_p50_ms",
        "client_cpu_ms_per_decision",
        "server_cpu_ms_per_decision",
    ]
    print(f"store: {args.store}; decisions per run: {args.posts}; medians of {args.runs} runs (ms)")
    print(
        "| clients | p50 | p95 | p99 | max | POST answer p50 | first→last client p50 "
        "| client CPU / decision | server CPU / decision | p99 of each run |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, runs in results.items():
        cells = [f"{statistics.median(r[k] for r in runs):.1f}" for k in keys]
        each = ", ".join(f"{r['p99_ms']:.1f}" for r in runs)
        print(f"| {n:,} | " + " | ".join(cells) + f" | {each} |")
    strays = sum(r["duplicates_or_strays"] for runs in results.values() for r in runs)
    if strays:
        print(f"warning: {strays} decision arrivals beyond one per client and decision")


if __name__ == "__main__":
    main()
