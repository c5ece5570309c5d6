"""A raid through the HTTP API while the server is SIGKILLed at random points, on both stores.

The sensor side behaves as a careful sensor must: each batch carries an `Idempotency-Key`, and
counts as accepted only when its 200 answer arrives; on a broken connection the same batch is
sent again with the same key, after the server has been started again on the same store. The
killed run must end exactly as a run that was never interrupted: the same events logged once
each, the same decisions with the same numbers, the same CAP messages.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import sqlalchemy as sa
from conftest import grid_zones, postgres_schema
from kits.serverkit import Launcher, Server

from airwarn.contract import encode_event, format_time, parse_event, parse_time
from airwarn.engine.zones import write_zones, zones_from_geojson
from airwarn.sim.scenarios import simulate
from airwarn.store import connect

pytestmark = pytest.mark.slow

SCENARIO, RAID_SIZE, RAID_SEED = "mixed", 3, 5  # 290 events, 102 decisions, 12 CAP messages
KILLED_BATCHES = 17  # distinct batches whose post is interrupted, some of them twice
KILLED_TWICE = 4


@dataclass(frozen=True)
class Batch:
    key: str
    lines: list[bytes]

    @property
    def body(self) -> bytes:
        return b"\n".join(self.lines)


@dataclass
class Kill:
    batch: int
    attempt: int
    when: str  # "before" the post, "during" it (from a timer thread), or as it is "answered"
    delay_s: float = 0.0
    in_flight: bool = False  # the post had no answer when the server died
    committed: bool = False  # killed as a 200 answer started to arrive
    status: int | None = None  # the server's exit status, as its parent saw it


@dataclass
class Run:
    answers: list[dict[str, Any]] = field(default_factory=list)
    durations_s: list[float] = field(default_factory=list)
    kills: list[Kill] = field(default_factory=list)
    replayed: list[int] = field(default_factory=list)  # batches committed but not answered
    history: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="module")
def launcher() -> Iterator[Launcher]:
    kit = Launcher()
    try:
        yield kit
    finally:
        kit.close()


def raid_batches() -> list[Batch]:
    """The raid as sensors post it, in batches of 5 to 20 lines, then a tick an hour after
    its last event so that every hold runs out."""
    zones = zones_from_geojson(grid_zones())
    events, _truth = simulate(zones, SCENARIO, RAID_SEED, count=RAID_SIZE)
    lines = [encode_event(parse_event(msgspec.json.encode(e))) for e in events]
    last_ms = max(parse_time(e["t"]) for e in events)
    rng = random.Random(RAID_SEED)
    batches, start = [], 0
    while start < len(lines):
        size = rng.randint(5, 20)
        batches.append(Batch(f"raid-{len(batches)}", lines[start : start + size]))
        start += size
    tick = parse_event(json.dumps({"type": "tick", "t": format_time(last_ms + 3600_000)}))
    batches.append(Batch(f"raid-{len(batches)}", [encode_event(tick)]))
    return batches


def kill_plan(batches: int, seed: str) -> dict[int, list[tuple[str, float]]]:
    """Per batch, the kills of its successive attempts: ("before", 0) kills the server just
    before the post; ("during", f) kills it f of the way through the post (as long as it took
    on the uninterrupted run); ("answered", 0) kills it as its answer starts to arrive, which
    the sensor then never reads: the batch is committed but was not acknowledged."""
    rng = random.Random(seed)
    plan: dict[int, list[tuple[str, float]]] = {}
    for batch in rng.sample(range(1, batches - 1), KILLED_BATCHES):
        plan[batch] = [
            rng.choices(
                [("during", rng.random()), ("before", 0.0), ("answered", 0.0)], weights=[6, 2, 2]
            )[0]
        ]
    for batch in rng.sample(sorted(plan), KILLED_TWICE):
        plan[batch].append(("during", rng.random()))
    return plan


def post_raid(
    server: Server,
    token: str,
    batches: list[Batch],
    plan: dict[int, list[tuple[str, float]]] | None = None,
    reference: Run | None = None,
) -> Run:
    """Post every batch until it is acknowledged, killing the server as `plan` says and
    starting it again on the same store after each kill."""
    run = Run()
    carried: list[tuple[str, float]] = []  # kills a batch acknowledged early did not use
    with httpx.Client(
        base_url=server.url,
        timeout=60.0,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
    ) as http:
        for index, batch in enumerate(batches):
            kills = carried + (plan or {}).get(index, [])
            for attempt in range(20):
                when, fraction = kills[attempt] if attempt < len(kills) else ("", 0.0)
                kill = Kill(index, attempt, when) if when else None
                timer = None
                if when == "before":
                    server.kill()
                elif kill is not None and when == "during":
                    assert reference is not None
                    kill.delay_s = fraction * reference.durations_s[index]
                    timer = threading.Timer(kill.delay_s, server.kill)
                    timer.start()
                started = time.monotonic()
                answer: httpx.Response | None = None
                try:
                    if when == "answered":
                        with http.stream(
                            "POST",
                            "/v1/events",
                            content=batch.body,
                            headers={"Idempotency-Key": batch.key},
                        ) as started_answer:
                            server.kill()  # the answer is on its way: the batch is committed
                            assert kill is not None
                            kill.committed = started_answer.status_code == 200
                    else:
                        answer = http.post(
                            "/v1/events", content=batch.body, headers={"Idempotency-Key": batch.key}
                        )
                except httpx.TransportError:
                    answer = None
                elapsed_s = time.monotonic() - started
                if timer is not None:
                    timer.join()  # the kill has landed, whether or not the answer came first
                if kill is not None:
                    server.kill()  # already done; again in case the post failed before it
                    kill.in_flight = answer is None and when == "during"
                    kill.status = server.reap()
                    run.kills.append(kill)
                    server.start()
                elif answer is None:
                    status = server.exited()
                    assert status is None, (
                        f"the server died by itself (exit {status}) on "
                        f"batch {index}: see {server.log}"
                    )
                    continue  # a connection the kill had broken; the server is up again
                if answer is None or answer.status_code == 503:
                    continue
                assert answer.status_code == 200, (index, answer.status_code, answer.text)
                body = answer.json()
                if body.pop("replayed", False):
                    run.replayed.append(index)
                run.answers.append(body)
                run.durations_s.append(elapsed_s)
                carried = kills[attempt + 1 :]
                break
            else:
                raise AssertionError(f"batch {index} was never acknowledged")
        run.history = read_history(http)
    return run


def read_history(http: httpx.Client) -> list[dict[str, Any]]:
    """Every decision as the public API gives it, oldest first."""
    decisions: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 5000}
    while True:
        page = http.get("/v1/history", params=params)
        assert page.status_code == 200, page.text
        decisions.extend(page.json()["decisions"])
        before = page.json()["next_before_seq"]
        if before is None:
            return decisions[::-1]
        params["before_seq"] = before


def read_store(url: str) -> dict[str, Any]:
    """What the store holds in the end: events, decisions and CAP messages, in order."""
    engine = connect(url)
    try:
        with engine.connect() as db:
            events = [
                json.loads(body)
                for (body,) in db.execute(sa.text("SELECT body FROM event_log ORDER BY seq"))
            ]
            event_seqs = [
                int(seq) for (seq,) in db.execute(sa.text("SELECT seq FROM event_log ORDER BY seq"))
            ]
            decisions = [
                (int(seq), int(event_seq), json.loads(body))
                for seq, event_seq, body in db.execute(
                    sa.text("SELECT seq, event_seq, body FROM decision_log ORDER BY seq")
                )
            ]
            cap = [
                (
                    int(row.seq),
                    row.identifier,
                    int(row.event_seq),
                    int(row.sent_ms),
                    row.status,
                    row.msg_type,
                    row.level,
                    row.kind,
                    json.loads(row.zones),
                    json.loads(row.refs),
                )
                for row in db.execute(
                    sa.text(
                        "SELECT seq, identifier, event_seq, sent_ms, status, msg_type, level, "
                        "kind, zones, refs, warning FROM cap_message ORDER BY seq"
                    )
                )
            ]
    finally:
        engine.dispose()
    return {"events": events, "event_seqs": event_seqs, "decisions": decisions, "cap": cap}


@contextmanager
def two_stores(kind: str, folder: Path) -> Iterator[tuple[str, str]]:
    """A fresh store for the uninterrupted run and one for the killed run."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'reference.db'}", f"sqlite:///{folder / 'killed.db'}"
        return
    with ExitStack() as stack:
        yield stack.enter_context(postgres_schema()), stack.enter_context(postgres_schema())


def line_key(event: dict[str, Any]) -> tuple[str, str | None, str]:
    return (event["type"], event.get("threat"), event["t"])


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_raid_killed_at_random_points_ends_with_the_decisions_of_an_uninterrupted_run(
    kind: str, tmp_path: Path, launcher: Launcher
) -> None:
    zones = tmp_path / "zones.geojson"
    write_zones(zones_from_geojson(grid_zones()).zones, zones)
    batches = raid_batches()
    servers: list[Server] = []
    with two_stores(kind, tmp_path) as (reference_url, killed_url):
        try:
            runs = {}
            for name, url in (("reference", reference_url), ("killed", killed_url)):
                token = launcher.run(
                    ["tokens", "create", "--role", "sensor", "--name", "s", "--db", url], tmp_path
                ).strip()
                server = Server(
                    launcher,
                    [
                        "--zones",
                        str(zones),
                        "--db",
                        url,
                        "--keys",
                        str(tmp_path / "keys"),
                        "--clock",
                        "events",
                        "--heartbeat-s",
                        "1",
                    ],
                    tmp_path / f"{name}.log",
                )
                servers.append(server)
                server.start()
                if name == "reference":
                    runs[name] = post_raid(server, token, batches)
                else:
                    plan = kill_plan(len(batches), f"airwarn-crash-{kind}")
                    runs[name] = post_raid(server, token, batches, plan, runs["reference"])
                server.stop()
            stored = {
                name: read_store(url)
                for name, url in (("reference", reference_url), ("killed", killed_url))
            }
        finally:
            for server in servers:
                server.stop()
    reference, killed = runs["reference"], runs["killed"]

    # the kills happened, mid-raid, and some while a post was in flight
    assert reference.kills == [] and reference.replayed == []
    assert len(killed.kills) >= 20, killed.kills
    assert all(k.status == -signal.SIGKILL for k in killed.kills), killed.kills
    assert all(k.batch > 0 for k in killed.kills)
    in_flight = [k for k in killed.kills if k.in_flight]
    assert len(in_flight) >= 3, killed.kills
    # a batch committed but never acknowledged was applied once, by its first post
    answered = [k.batch for k in killed.kills if k.committed]
    assert answered and set(answered) <= set(killed.replayed), (answered, killed.replayed)
    print(
        f"{kind}: {len(killed.kills)} kills, {len(in_flight)} with a post in flight, "
        f"{len(answered)} as the answer left, {len(killed.replayed)} retried batches had "
        "been committed already"
    )
    assert servers[1].starts == len(killed.kills) + 1

    # every batch got the answer it got without kills, a retried one included
    assert killed.answers == reference.answers

    # every acknowledged event is in the log exactly once, in the order it was sent (its
    # threat id scoped by the sensor, named "s", that sent it)
    sent = [json.loads(line) for batch in batches for line in batch.lines]
    sent = [{**e, "threat": f"s/{e['threat']}"} if "threat" in e else e for e in sent]
    for run in ("reference", "killed"):
        logged = stored[run]["events"]
        lost = Counter(map(line_key, sent)) - Counter(map(line_key, logged))
        doubled = Counter(map(line_key, logged)) - Counter(map(line_key, sent))
        assert not lost and not doubled, (run, lost, doubled)
        assert logged == sent, run
        assert stored[run]["event_seqs"] == list(range(1, len(sent) + 1))

    # the same decisions, numbered 1..N without a gap or a twin, in the store and the API
    decisions, expected = (
        [
            (
                seq,
                event_seq,
                d["seq"],
                d["t"],
                d["zone"],
                d["level"],
                d["threats"],
                d["kind"],
                d.get("status"),
            )
            for seq, event_seq, d in stored[run]["decisions"]
        ]
        for run in ("killed", "reference")
    )
    assert len(expected) > 50
    assert [d[0] for d in decisions] == list(range(1, len(decisions) + 1))
    assert decisions == expected
    assert (
        killed.history == reference.history == [d for _, _, d in stored["reference"]["decisions"]]
    )

    # the same CAP messages: identifiers, types, zones, references
    assert len(stored["reference"]["cap"]) >= 5
    assert stored["killed"]["cap"] == stored["reference"]["cap"]
