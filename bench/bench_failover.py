"""Failover: how long a sensor waits when the leading engine is SIGKILLed, over many kills.

    python bench/bench_failover.py                          # 20 kills, --lease-s 3, 1 run
    python bench/bench_failover.py --runs 3 --lease-s 2 --json out.json

Each run starts two engines and one edge (`airwarn serve --bus ...`) on a fresh PostgreSQL
schema and a NATS namespace of their own, forked by `tests/serverkit.py` so that a restart costs
no imports. A sensor thread posts raid batches to the edge one after another (a short gap
between them), each with its Idempotency-Key, and retries a 503 or a 202 with the same key
until it is answered 200, as `post_all` in tests/test_bus.py does. Meanwhile the main thread,
once both engines are up, waits a random moment (seeded) and SIGKILLs the one that leads, then
polls the other's /healthz every 10 ms until it says it leads; it starts the killed one again,
and before the next kill waits until that one answers as the standby and the sensor has had a
200 from the new leader, so that no two kills overlap. Per kill:

- (a) takeover: kill -> the standby's /healthz says `leading` (as polled; `led_since`, the
  standby's own clock reading when it took the lease, is printed beside it);
- (b) recovery: kill -> the first 200 the sensor gets for a batch answered by the new leader
  (answers that arrive before it took the lease came from the old one and do not count);
- (c) how many posts were answered 202 (queued) or 503 (unavailable) between the two;
- what (b) waited for: a request that sat in the stream is answered as soon as the new leader
  takes the lease ("takeover"); one the dead engine had already fetched (or that NATS handed
  to its last pull) goes to the new leader only when its JetStream ack wait (ACK_WAIT_S in
  airwarn/bus/runtime.py, 5 s) runs out ("ack wait"), whatever the lease.

At the end the sensor sends a tick an hour after the last event, and the store (events,
decisions, CAP messages), the answers and the edge's /v1/history are compared with one
uninterrupted process fed the same batches on a fresh schema; the script says whether they are
equal and exits 1 if they are not. Times are wall-clock (`time.time()`), because `led_since`
comes from the server; every process runs on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import httpx
import msgspec

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from buskit import NATS_URL, Cluster, bus_health  # noqa: E402
from conftest import PG_URL, grid_zones  # noqa: E402
from serverkit import Launcher, Server  # noqa: E402
from test_crash import Batch, read_history, read_store  # noqa: E402

from airwarn.bus.runtime import ACK_WAIT_S  # noqa: E402
from airwarn.contract import encode_event, format_time, parse_event, parse_time  # noqa: E402
from airwarn.engine.zones import ZoneSet, write_zones, zones_from_geojson  # noqa: E402
from airwarn.sim.scenarios import simulate  # noqa: E402

POLL_S = 0.01  # how often the standby's /healthz is asked during a takeover
TAKEOVER_LIMIT_S = 5.0  # the requirement: the standby leads within this after a kill
GIVE_UP_S = 60.0  # a takeover or a restart slower than this ends the run as failed
SLOW_S = 5.5  # a recovery slower than the ack wait: the new leader's log is shown
RUN_TRIES = 3  # a run disturbed from outside (a restarted PostgreSQL or NATS) is run again
RESTART_TRIES = 5  # a killed engine that exits while starting is started again, and counted


# -- the raid ---------------------------------------------------------------------------------


class Raids:
    """An endless raid: simulated mixed raids one after another (each an hour after the last
    one's final event, threat ids prefixed by the raid's number), cut into batches of 5 to 20
    lines. The same seed gives the same batches."""

    def __init__(self, zones: ZoneSet, seed: int) -> None:
        self.zones, self.seed = zones, seed
        self.rng = random.Random(seed)
        self.batches: list[Batch] = []
        self.raids = 0
        self.last_ms: int | None = None

    def batch(self, index: int) -> Batch:
        while index >= len(self.batches):
            self._add_raid()
        return self.batches[index]

    def _add_raid(self) -> None:
        events, _truth = simulate(self.zones, "mixed", self.seed * 1000 + self.raids, count=3)
        first_ms = min(parse_time(e["t"]) for e in events)
        shift_ms = 0 if self.last_ms is None else self.last_ms + 3600_000 - first_ms
        lines = []
        for event in events:
            moved = dict(
                event,
                t=format_time(parse_time(event["t"]) + shift_ms),
                threat=f"w{self.raids}-{event['threat']}",
            )
            lines.append(encode_event(parse_event(msgspec.json.encode(moved))))
        self.last_ms = max(parse_time(e["t"]) for e in events) + shift_ms
        start = 0
        while start < len(lines):
            size = self.rng.randint(5, 20)
            self.batches.append(Batch(f"fo-{len(self.batches)}", lines[start : start + size]))
            start += size
        self.raids += 1

    def final_tick(self, index: int) -> Batch:
        """A tick an hour after the last event posted, so that every hold runs out."""
        assert self.last_ms is not None
        last_ms = max(
            parse_time(json.loads(line)["t"])
            for batch in self.batches[:index]
            for line in batch.lines
        )
        tick = parse_event(json.dumps({"type": "tick", "t": format_time(last_ms + 3600_000)}))
        return Batch(f"fo-{index}", [encode_event(tick)])


# -- the sensor -------------------------------------------------------------------------------


@dataclass
class Attempt:
    batch: int
    sent: float  # time.time()
    answered: float
    status: int  # 0: the connection broke


@dataclass
class Sensor:
    """Posts batches one after another until told to stop; every attempt is recorded."""

    url: str
    token: str
    raids: Raids
    gap_s: float
    retry_s: float
    attempts: list[Attempt] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    posted: list[Batch] = field(default_factory=list)
    error: str | None = None
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            with self._client() as http:
                index = 0
                while not self.stopping.is_set():
                    self.post(http, self.raids.batch(index))
                    index += 1
                    time.sleep(self.gap_s)
                self.post(http, self.raids.final_tick(index))
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            self.error = f"{exc.__class__.__name__}: {exc}"

    def post_all(self, batches: list[Batch]) -> None:
        with self._client() as http:
            for batch in batches:
                self.post(http, batch)

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            timeout=30.0,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/x-ndjson",
            },
        )

    def post(self, http: httpx.Client, batch: Batch) -> None:
        """One batch until it is answered 200: a 503, a 202 or a broken connection is retried
        with the same Idempotency-Key after `retry_s`."""
        number = len(self.posted)
        for _attempt in range(2000):
            sent = time.time()
            try:
                answer = http.post(
                    "/v1/events", content=batch.body, headers={"Idempotency-Key": batch.key}
                )
                status = answer.status_code
            except httpx.TransportError:
                status = 0
            self.attempts.append(Attempt(number, sent, time.time(), status))
            if status == 200:
                body = answer.json()
                body.pop("replayed", None)
                self.answers.append(body)
                self.posted.append(batch)
                return
            if status not in (0, 202, 503):
                raise RuntimeError(f"batch {batch.key} answered {status}: {answer.text}")
            time.sleep(self.retry_s)
        raise RuntimeError(f"batch {batch.key} was never answered")


# -- the processes ----------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_schema() -> Iterator[str]:
    """A store URL on a PostgreSQL schema of its own, dropped afterwards."""
    import sqlalchemy as sa

    schema = f"bench_failover_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as db:
            db.execute(sa.text(f"CREATE SCHEMA {schema}"))
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        for attempt in range(10):  # PostgreSQL may be restarting (others' tests restart it)
            try:
                with admin.connect() as db:
                    db.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
                break
            except sa.exc.OperationalError:
                if attempt == 9:
                    raise
                time.sleep(2.0)
        admin.dispose()


def servers_started() -> dict[str, str]:
    """When PostgreSQL started and which NATS server answers: a run during which either
    changed was disturbed from outside (other tests on this machine restart them)."""
    import sqlalchemy as sa

    marks = {}
    admin = sa.create_engine(PG_URL)
    try:
        with admin.connect() as db:
            marks["postgresql"] = str(
                db.execute(sa.text("SELECT pg_postmaster_start_time()")).scalar()
            )
    except sa.exc.OperationalError as exc:
        marks["postgresql"] = f"unreachable ({exc.orig.__class__.__name__})"
    finally:
        admin.dispose()
    marks["nats"] = asyncio.run(_nats_server_id())
    return marks


async def _nats_server_id() -> str:
    import nats

    try:
        nc = await nats.connect(NATS_URL, connect_timeout=3, max_reconnect_attempts=0)
    except Exception as exc:  # noqa: BLE001 - any failure means "not there"
        return f"unreachable ({exc.__class__.__name__})"
    try:
        return str(nc._server_info.get("server_id"))  # new on every start; no public getter
    finally:
        await nc.close()


# -- one run ----------------------------------------------------------------------------------


@dataclass
class Kill:
    number: int
    killed: str
    at: float  # time.time() just before the SIGKILL
    takeover_s: float = 0.0  # (a) as polled
    led_since_s: float = 0.0  # the new leader's led_since - kill
    recovery_s: float = 0.0  # (b)
    refused: int = 0  # (c) 202 and 503 answers in between
    queued: int = 0
    unavailable: int = 0
    answered_at_takeover: bool = False  # (b) came right after (a), not an ack wait later
    restart_s: float = 0.0  # the killed engine: start -> /healthz answers as the standby
    failed_starts: list[str] = field(default_factory=list)  # why restarts exited, if any
    new_leader: str = ""
    log_offset: int = 0  # the new leader's log size at the kill
    leader_said: list[str] = field(default_factory=list)  # its log after a slow recovery


def kill_once(
    cluster: Cluster, number: int, rng: random.Random, settle_s: tuple[float, float]
) -> Kill:
    """Wait a random moment, kill the leader, time the standby's takeover, restart the killed
    one and wait until it is the standby."""
    old = cluster.wait_for_leader(GIVE_UP_S, POLL_S)
    standby = next(s for s in cluster.engines if s is not old)
    time.sleep(rng.uniform(*settle_s))
    kill = Kill(
        number,
        name_of(old),
        time.time(),
        new_leader=name_of(standby),
        log_offset=standby.log.stat().st_size,
    )
    old.kill()
    with httpx.Client() as http:
        deadline = time.monotonic() + GIVE_UP_S
        while True:
            bus = bus_health(standby, http)
            if bus is not None and bus["leading"]:
                kill.takeover_s = time.time() - kill.at
                kill.led_since_s = float(bus["led_since"]) - kill.at
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"kill {number}: the standby did not lead in {GIVE_UP_S} s")
            time.sleep(POLL_S)
    old.reap()
    started = time.monotonic()
    for _attempt in range(RESTART_TRIES):
        try:
            old.start(timeout_s=GIVE_UP_S)
            break
        except RuntimeError as exc:
            if old.pid is not None:
                raise  # it did not answer in time: not a start that failed, a hang
            # it exited while starting; the reason is the last line of its log
            kill.failed_starts.append(str(exc).strip().splitlines()[-1])
            print(
                f"  kill {number:2}: restarting {kill.killed} failed: {kill.failed_starts[-1]}",
                flush=True,
            )
    else:
        raise RuntimeError(f"kill {number}: {kill.killed} did not start in {RESTART_TRIES} tries")
    bus = bus_health(old)
    if bus is None or bus["leading"]:
        raise RuntimeError(f"kill {number}: the restarted engine is not a standby: {bus}")
    kill.restart_s = time.monotonic() - started
    return kill


def wait_for_recovery(sensor: Sensor, kill: Kill) -> None:
    """Until the sensor has had a 200 from the new leader, so that kills do not overlap."""
    led_at = kill.at + kill.led_since_s
    deadline = time.monotonic() + GIVE_UP_S
    while not any(a.status == 200 and a.answered >= led_at for a in sensor.attempts[:]):
        if sensor.error is not None:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"kill {kill.number}: no batch answered in {GIVE_UP_S} s")
        time.sleep(0.05)


def name_of(server: Server) -> str:
    return server.args[server.args.index("--name") + 1]


def leader_said(log: Path, offset: int, lines: int = 8) -> list[str]:
    """What the bus part of a process logged from `offset` on (its warnings and errors)."""
    with log.open("rb") as file:
        file.seek(offset)
        text = file.read(20_000).decode(errors="replace")
    said = [
        line for line in text.splitlines() if line.startswith(("bus:", "error")) or "Error" in line
    ]
    return said[:lines]


def score(kill: Kill, attempts: list[Attempt]) -> None:
    """(b), (c) and in-flight from the sensor's attempts around one kill."""
    led_at = kill.at + kill.led_since_s
    after = [a for a in attempts if a.answered > kill.at]
    first = next((a for a in after if a.status == 200 and a.answered >= led_at), None)
    if first is None:
        kill.recovery_s = float("nan")
        return
    kill.recovery_s = first.answered - kill.at
    # a request the dead engine had fetched waits out the ack wait, counted from its fetch,
    # which came after it was sent; one still in the stream is taken when the lease is
    kill.answered_at_takeover = first.answered - first.sent < ACK_WAIT_S
    between = [a for a in after if a.answered < first.answered]
    kill.queued = sum(a.status == 202 for a in between)
    kill.unavailable = sum(a.status in (0, 503) for a in between)
    kill.refused = kill.queued + kill.unavailable


@dataclass
class RunResult:
    lease_s: float
    seed: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    kills: list[Kill]
    batches: int
    events: int
    decisions: int
    same_as_reference: bool
    differences: list[str]
    steady_post_s: list[float]  # answer times of posts that no kill came near
    disturbed: list[str]  # PostgreSQL or NATS restarted during the run, by someone else


def one_run(
    args: argparse.Namespace,
    seed: int,
    launcher: Launcher,
    folder: Path,
    zones_file: Path,
    raids: Raids,
) -> RunResult:
    load_before = os.getloadavg()
    marks = servers_started()
    rng = random.Random(seed)
    kills: list[Kill] = []
    with fresh_schema() as db:
        token = launcher.run(
            ["tokens", "create", "--role", "sensor", "--name", "s", "--db", db], folder
        ).strip()
        cluster = Cluster(launcher, folder, zones_file, db, lease_s=args.lease_s, prefix="bf")
        sensor = Sensor("", token, raids, args.gap_ms / 1000, args.retry_ms / 1000)
        try:
            cluster.start()
            sensor.url = cluster.edge.url
            thread = threading.Thread(target=sensor.run, daemon=True)
            thread.start()
            for number in range(1, args.kills + 1):
                if sensor.error is not None:
                    break
                kill = kill_once(cluster, number, rng, (args.settle_min_s, args.settle_max_s))
                kills.append(kill)
                wait_for_recovery(sensor, kill)
                print(
                    f"  kill {number:2}: {kill.killed} takeover {kill.takeover_s:.3f} s "
                    f"(led_since {kill.led_since_s:.3f} s), restart {kill.restart_s:.1f} s",
                    flush=True,
                )
            time.sleep(1.0)  # the last takeover's requests answered
            sensor.stopping.set()
            thread.join(timeout=120)
            if sensor.error is not None or thread.is_alive():
                raise RuntimeError(f"the sensor failed: {sensor.error or 'still posting'}")
            cluster.wait_for_leader(GIVE_UP_S, POLL_S)
            stored = read_store(db)
            with httpx.Client(base_url=cluster.edge.url) as http:
                history = read_history(http)
        finally:
            cluster.stop()
    for kill in kills:
        score(kill, sensor.attempts)
        if not kill.recovery_s < SLOW_S:
            kill.leader_said = leader_said(folder / f"{kill.new_leader}.log", kill.log_offset)
    steady = [
        a.answered - a.sent
        for a in sensor.attempts
        if a.status == 200
        and not any(k.at - 1.0 < a.answered and a.sent < k.at + k.recovery_s + 1.0 for k in kills)
    ]
    after = servers_started()
    disturbed = [f"{name} restarted during the run" for name in marks if marks[name] != after[name]]
    differences = compare_with_reference(launcher, folder, zones_file, sensor, stored, history)
    return RunResult(
        args.lease_s,
        seed,
        load_before,
        os.getloadavg(),
        kills,
        len(sensor.posted),
        len(stored["events"]),
        len(stored["decisions"]),
        not differences,
        differences,
        steady,
        disturbed,
    )


def compare_with_reference(
    launcher: Launcher,
    folder: Path,
    zones_file: Path,
    sensor: Sensor,
    stored: dict[str, Any],
    history: list[dict[str, Any]],
) -> list[str]:
    """What differs from one uninterrupted process fed the same batches (nothing, we hope)."""
    with fresh_schema() as db:
        token = launcher.run(
            ["tokens", "create", "--role", "sensor", "--name", "s", "--db", db], folder
        ).strip()
        server = Server(
            launcher,
            [
                "--zones",
                str(zones_file),
                "--db",
                db,
                "--keys",
                str(folder / "keys"),
                "--clock",
                "events",
            ],
            folder / "reference.log",
        )
        server.start()
        try:
            reference = Sensor(server.url, token, sensor.raids, 0.0, 0.1)
            reference.post_all(sensor.posted)
            with httpx.Client(base_url=server.url) as http:
                reference_history = read_history(http)
        finally:
            server.stop()
        expected = read_store(db)
    differences = []
    for part in ("events", "event_seqs", "decisions", "cap"):
        if stored[part] != expected[part]:
            differences.append(
                f"store {part}: {len(stored[part])} rows, reference {len(expected[part])}"
            )
    if sensor.answers != reference.answers:
        wrong = sum(a != b for a, b in zip(sensor.answers, reference.answers, strict=False))
        differences.append(f"answers: {wrong} of {len(reference.answers)} differ")
    if history != reference_history:
        differences.append(
            f"edge /v1/history: {len(history)} decisions, reference {len(reference_history)}"
        )
    return differences


# -- the report -------------------------------------------------------------------------------


def summary(name: str, values: list[float]) -> str:
    ok = [v for v in values if v == v]  # NaN: not measured
    if not ok:
        return f"{name}: not measured"
    return (
        f"{name}: median {statistics.median(ok):.2f} s, worst {max(ok):.2f} s, best "
        f"{min(ok):.2f} s (n={len(ok)})"
    )


def report(results: list[RunResult]) -> bool:
    kills = [kill for result in results for kill in result.kills]
    print()
    print("kill  engine    (a) takeover  led_since  (b) recovery  waited for  (c) 202/503  restart")
    for run, result in enumerate(results, 1):
        for k in result.kills:
            print(
                f"{run}.{k.number:<3} {k.killed:9} {k.takeover_s:8.3f} s  "
                f"{k.led_since_s:7.3f} s  {k.recovery_s:9.3f} s  "
                f"{'takeover' if k.answered_at_takeover else 'ack wait':10}  "
                f"{k.queued:5}/{k.unavailable:<5}  {k.restart_s:5.1f} s"
            )
            for line in k.leader_said:
                print(f"        {k.new_leader} said: {line}")
    print()
    for run, result in enumerate(results, 1):
        print(
            f"run {run} (seed {result.seed}, --lease-s {result.lease_s}): "
            f"{len(result.kills)} kills, {result.batches} batches, {result.events} events, "
            f"{result.decisions} decisions; load {result.load_before[0]:.2f} -> "
            f"{result.load_after[0]:.2f}; "
            + summary("(a)", [k.takeover_s for k in result.kills])
            + "; "
            + summary("(b)", [k.recovery_s for k in result.kills])
        )
        print(
            "  store, answers and history equal to an uninterrupted run: "
            + ("yes" if result.same_as_reference else "NO: " + "; ".join(result.differences))
        )
        for note in result.disturbed:
            print(f"  DISTURBED: {note}; its figures are not the bus's alone")
    print()
    print(summary("(a) kill -> standby leads (poll 10 ms)", [k.takeover_s for k in kills]))
    print(summary("    kill -> standby's led_since", [k.led_since_s for k in kills]))
    print(summary("(b) kill -> first 200 from the new leader", [k.recovery_s for k in kills]))
    soon = [k.recovery_s for k in kills if k.answered_at_takeover]
    later = [k.recovery_s for k in kills if not k.answered_at_takeover]
    print(summary(f"    answered as the lease was taken ({len(soon)})", soon))
    print(
        summary(
            f"    answered later: a request the dead engine had fetched, redelivered "
            f"after the ack wait ({len(later)})",
            later,
        )
    )
    print(
        f"(c) 202/503 answers per kill: median {statistics.median(k.refused for k in kills)}"
        f", most {max(k.refused for k in kills)} (202 {sum(k.queued for k in kills)}, 503 "
        f"{sum(k.unavailable for k in kills)} in all)"
        if kills
        else "(c) no kills"
    )
    steady = sorted(s for result in results for s in result.steady_post_s)
    if steady:
        print(
            f"posts no kill came near: median {statistics.median(steady) * 1000:.0f} ms, "
            f"p90 {steady[int(0.9 * (len(steady) - 1))] * 1000:.0f} ms (n={len(steady)})"
        )
    failed = [reason for k in kills for reason in k.failed_starts]
    print(
        f"restarts of a killed engine that exited while starting: {len(failed)}"
        + "".join(f"\n    {reason}" for reason in sorted(set(failed)))
    )
    within = sum(k.takeover_s <= TAKEOVER_LIMIT_S for k in kills)
    print(f"takeovers within {TAKEOVER_LIMIT_S:g} s: {within} of {len(kills)}")
    return all(r.same_as_reference for r in results) and within == len(kills)


def run_undisturbed(
    args: argparse.Namespace, run: int, launcher: Launcher, tmp: Path, zones: ZoneSet
) -> RunResult:
    """One run, done again (up to RUN_TRIES times) if PostgreSQL or NATS was restarted from
    outside while it went on: other engineers' fault tests restart them on this machine."""
    for attempt in range(1, RUN_TRIES + 1):
        folder = tmp / f"run{run + 1}-{attempt}"
        folder.mkdir()
        zones_file = folder / "zones.geojson"
        write_zones(zones.zones, zones_file)
        print(f"run {run + 1}" + (f" (try {attempt})" if attempt > 1 else "") + ":", flush=True)
        marks = servers_started()
        try:
            result = one_run(
                args, args.seed + run, launcher, folder, zones_file, Raids(zones, args.seed + run)
            )
        except Exception as exc:
            if servers_started() == marks:
                raise
            why = exc.__class__.__name__
            print(
                f"  disturbed: PostgreSQL or NATS restarted from outside ({why}); running it again",
                flush=True,
            )
            continue
        if not result.disturbed or attempt == RUN_TRIES:
            return result
        print(f"  disturbed: {'; '.join(result.disturbed)}; running it again", flush=True)
    raise RuntimeError(f"run {run + 1} was disturbed from outside {RUN_TRIES} times")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs of the leader per run")
    parser.add_argument("--lease-s", type=float, default=3.0, help="the engines' --lease-s")
    parser.add_argument("--seed", type=int, default=1, help="raids and kill moments")
    parser.add_argument("--runs", type=int, default=1, help="runs, seeds SEED, SEED+1, ...")
    parser.add_argument(
        "--gap-ms", type=float, default=50.0, help="the sensor's pause after each answered batch"
    )
    parser.add_argument(
        "--retry-ms",
        type=float,
        default=100.0,
        help="the sensor's pause before retrying a 202, 503 or broken post",
    )
    parser.add_argument(
        "--settle-min-s",
        type=float,
        default=0.5,
        help="the kill comes this long at least after the standby is back",
    )
    parser.add_argument("--settle-max-s", type=float, default=2.0, help="and at most this")
    parser.add_argument("--json", type=Path, help="also write every kill's figures here")
    args = parser.parse_args()

    zones = zones_from_geojson(grid_zones())
    print(
        f"failover bench: {args.runs} run(s) of {args.kills} kills, --lease-s {args.lease_s}, "
        f"seed {args.seed}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results: list[RunResult] = []
    tmp = Path(mkdtemp(prefix="bench-failover-"))  # the processes' logs; kept if a run fails
    launcher = Launcher()
    try:
        for run in range(args.runs):
            results.append(run_undisturbed(args, run, launcher, tmp, zones))
    except BaseException:
        print(f"the logs are in {tmp}", file=sys.stderr)
        raise
    finally:
        launcher.close()
    passed = report(results)
    if passed:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"the logs are in {tmp}")
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1))
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
