"""Finding 3: a revoked token stops working within a second, on every process that serves.

Each test attacks a real `airwarn serve` (on SQLite and on PostgreSQL, then on a bus deployment
of two engines and an edge on NATS) with a token, revokes it with `airwarn tokens revoke`, a
separate process that is on no bus, and measures how long the token still reads, writes and
keeps a live stream (Server-Sent Events and WebSocket) open. A public stream, opened with no
token, stays open: the decisions it carries are public.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from conftest import grid_zones, open_service, postgres_schema
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from kits.buskit import Cluster
from kits.serverkit import Launcher, Server
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from airwarn.engine.zones import write_zones, zones_from_geojson
from airwarn.store.tokens import Client
from airwarn.web import WebSettings, create_app
from airwarn.web.tokencache import TokenCache, TokenCacheSettings, cache_key

LIMIT_S = 1.0  # what the issue asks: refused within a second of the revocation


@pytest.fixture(scope="module")
def launcher() -> Iterator[Launcher]:
    kit = Launcher()
    try:
        yield kit
    finally:
        kit.close()


@pytest.fixture(scope="module")
def zones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("zones") / "zones.geojson"
    write_zones(zones_from_geojson(grid_zones()).zones, path)
    return path


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def track_line(threat: str) -> bytes:
    # far from every zone (so nothing is alerted) and stamped now (so no bound on time refuses
    # it): the only thing under test is the token
    return json.dumps(
        {
            "type": "track",
            "threat": threat,
            "kind": "drone",
            "t": now_rfc3339(),
            "lat": 29.0,
            "lon": 30.0,
        }
    ).encode()


def make_token(launcher: Launcher, folder: Path, db: str, role: str, name: str) -> str:
    return launcher.run(
        ["tokens", "create", "--role", role, "--name", name, "--db", db], folder
    ).strip()


def reads(http: httpx.Client, url: str, token: str) -> int:
    return http.get(
        url + "/v1/alerts/active.json", headers={"Authorization": f"Bearer {token}"}
    ).status_code


def writes(http: httpx.Client, url: str, token: str, threat: str) -> int:
    return http.post(
        url + "/v1/events", content=track_line(threat), headers={"Authorization": f"Bearer {token}"}
    ).status_code


@dataclass
class Stream:
    """A live feed held open in a thread; `ended` is the monotonic time it was closed by the
    server (None while it is open)."""

    kind: str  # sse | ws
    url: str
    token: str | None
    opened: threading.Event = field(default_factory=threading.Event)
    ended: float | None = None
    close_code: int | None = None
    status: int | None = None
    frames: int = 0

    def start(self) -> Stream:
        threading.Thread(target=self._run, daemon=True).start()
        assert self.opened.wait(15), f"the {self.kind} stream did not open"
        return self

    def _headers(self) -> dict[str, str]:
        return {} if self.token is None else {"Authorization": f"Bearer {self.token}"}

    def _run(self) -> None:
        try:
            if self.kind == "sse":
                with httpx.stream(
                    "GET",
                    self.url + "/v1/stream",
                    headers=self._headers(),
                    timeout=httpx.Timeout(5.0, read=30.0),
                ) as response:
                    self.status = response.status_code
                    self.opened.set()
                    for _line in response.iter_lines():
                        self.frames += 1
            else:
                address = self.url.replace("http://", "ws://") + "/v1/ws"
                with ws_connect(address, additional_headers=self._headers(), open_timeout=10) as ws:
                    self.status = 101
                    self.opened.set()
                    try:
                        while True:
                            ws.recv(timeout=30)
                            self.frames += 1
                    except ConnectionClosed as closed:
                        self.close_code = closed.rcvd.code if closed.rcvd else None
        except (httpx.HTTPError, OSError, TimeoutError):
            pass
        finally:
            self.ended = time.monotonic()
            self.opened.set()


def revoke(launcher: Launcher, folder: Path, db: str, name: str) -> float:
    """Revoke with the CLI, as an administrator does; the moment it finished (monotonic)."""
    launcher.run(["tokens", "revoke", name, "--db", db], folder)
    return time.monotonic()


def seconds_until_refused(check: callable, since: float, limit_s: float = 5.0) -> float:  # type: ignore[valid-type]
    """Poll `check()` (a status code) until it is 401; how long after `since` that was."""
    http_deadline = since + limit_s
    while time.monotonic() < http_deadline:
        if check() == 401:
            return time.monotonic() - since
        time.sleep(0.02)
    return float("inf")


def wait_ended(stream: Stream, since: float, limit_s: float = 5.0) -> float:
    deadline = since + limit_s
    while stream.ended is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return float("inf") if stream.ended is None else max(0.0, stream.ended - since)


@pytest.mark.alone
def test_a_token_revoked_while_the_server_runs_is_refused_within_1_s_and_its_streams_close(
    launcher: Launcher, zones: Path, store_url: str, tmp_path: Path
) -> None:
    sensor = make_token(launcher, tmp_path, store_url, "sensor", "radar-1")
    other = make_token(launcher, tmp_path, store_url, "sensor", "radar-2")
    server = Server(
        launcher,
        [
            "--zones",
            str(zones),
            "--db",
            store_url,
            "--keys",
            str(tmp_path / "keys"),
            "--heartbeat-s",
            "1",
            "--no-push",
            "--no-webhooks",
        ],
        tmp_path / "serve.log",
    )
    server.start()
    try:
        with httpx.Client(timeout=5.0) as http:
            assert reads(http, server.url, sensor) == 200
            assert writes(http, server.url, sensor, "T1") == 200
            sse = Stream("sse", server.url, sensor).start()
            ws = Stream("ws", server.url, sensor).start()
            public = Stream("sse", server.url, None).start()
            assert sse.status == 200 and ws.status == 101 and public.status == 200
            time.sleep(0.3)
            assert sse.ended is None and ws.ended is None

            revoked_at = revoke(launcher, tmp_path, store_url, "radar-1")
            read_s = seconds_until_refused(lambda: reads(http, server.url, sensor), revoked_at)
            write_s = seconds_until_refused(
                lambda: writes(http, server.url, sensor, "T2"), revoked_at
            )
            sse_s, ws_s = wait_ended(sse, revoked_at), wait_ended(ws, revoked_at)
            print(
                f"\nrevoked on {store_url.split(':')[0]}: reads refused after {read_s:.3f} s, "
                f"writes {write_s:.3f} s, SSE closed {sse_s:.3f} s, WebSocket {ws_s:.3f} s"
            )
            assert read_s < LIMIT_S and write_s < LIMIT_S
            assert sse_s < LIMIT_S and ws_s < LIMIT_S
            assert ws.close_code == 1008  # policy violation: the token was revoked
            # a new stream with the revoked token is refused; the public stream goes on, and
            # so does every other token
            reopened = httpx.get(
                server.url + "/v1/stream", timeout=5, headers={"Authorization": f"Bearer {sensor}"}
            )
            assert reopened.status_code == 401
            assert public.ended is None
            assert reads(http, server.url, other) == 200
            assert writes(http, server.url, other, "T3") == 200
            answer = http.get(
                server.url + "/v1/alerts/active.json", headers={"Authorization": f"Bearer {sensor}"}
            )
            assert answer.json()["error"].startswith("unknown or revoked token: ")
            assert "airwarn tokens list" in answer.json()["error"]
    finally:
        server.stop()


def test_unknown_tokens_are_refused_and_neither_grow_memory_nor_reach_the_store_each_time(
    grid, signing_keys, tmp_path: Path
) -> None:
    """A flood of made-up tokens: every one 401, the cache of them stays within its bound, and
    one repeated is looked up in the store once, not once a request."""
    service = open_service(grid, f"sqlite:///{tmp_path / 'airwarn.db'}", signing_keys)
    lookups = []

    def count(_conn, _cursor, statement: str, *_args: object) -> None:
        if "api_token" in statement and "token_sha256" in statement:
            lookups.append(statement)

    sa.event.listen(service.db, "before_cursor_execute", count)
    settings = WebSettings(rate_burst=10**6, rate_per_s=10**6, max_unknown_tokens=200)
    with TestClient(create_app(service, settings)) as http:

        def refused(token: str) -> bool:
            answer = http.get(
                "/v1/alerts/active.json", headers={"Authorization": f"Bearer {token}"}
            )
            return answer.status_code == 401

        assert all(refused(f"aw_{n:043d}") for n in range(600))  # each one new
        cache = http.app.state.token_cache  # type: ignore[attr-defined]
        assert len(cache) <= 200
        assert len(lookups) == 600
        # far longer than any token: refused without a lookup, and not remembered
        assert all(refused(f"aw_{n:043d}" + "x" * 300) for n in range(50))
        assert len(lookups) == 600 and len(cache) <= 200
        assert all(refused("aw_the_same_one") for _ in range(20))
        assert len(lookups) == 601  # the same unknown token: one lookup, then remembered
    service.db.dispose()


# -- on a bus ---------------------------------------------------------------------------------


def _nats_up() -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", 4222)) == 0


@pytest.mark.slow  # about 20 s: two engines and an edge on NATS and PostgreSQL
@pytest.mark.alone
def test_a_token_revoked_on_a_bus_deployment_is_refused_within_1_s_by_every_process(
    launcher: Launcher, zones: Path, tmp_path: Path
) -> None:
    if not _nats_up():
        pytest.skip("NATS is not running on 127.0.0.1:4222; start it with JetStream (-js)")
    with postgres_schema() as db:
        sensor = make_token(launcher, tmp_path, db, "sensor", "radar-1")
        cluster = Cluster(launcher, tmp_path, zones, db)
        try:
            cluster.start()
            leader = cluster.wait_for_leader()
            standby = next(s for s in cluster.engines if s is not leader)
            processes = {"edge": cluster.edge, "leader": leader, "standby": standby}
            with httpx.Client(timeout=10.0) as http:
                for name, process in processes.items():
                    assert reads(http, process.url, sensor) == 200, name
                assert writes(http, cluster.edge.url, sensor, "T1") == 200
                streams = {
                    "edge sse": Stream("sse", cluster.edge.url, sensor).start(),
                    "edge ws": Stream("ws", cluster.edge.url, sensor).start(),
                    "standby sse": Stream("sse", standby.url, sensor).start(),
                }
                time.sleep(0.3)
                assert all(s.ended is None for s in streams.values())

                revoked_at = revoke(launcher, tmp_path, db, "radar-1")
                refused = {
                    name: seconds_until_refused(
                        lambda p=process: reads(http, p.url, sensor), revoked_at
                    )
                    for name, process in processes.items()
                }
                refused["edge write"] = seconds_until_refused(
                    lambda: writes(http, cluster.edge.url, sensor, "T2"), revoked_at
                )
                closed = {name: wait_ended(s, revoked_at) for name, s in streams.items()}
            print(
                "\nrevoked on a bus: refused after "
                + ", ".join(f"{k} {v:.3f} s" for k, v in refused.items())
                + "; streams closed after "
                + ", ".join(f"{k} {v:.3f} s" for k, v in closed.items())
            )
            assert all(v < LIMIT_S for v in refused.values()), refused
            assert all(v < LIMIT_S for v in closed.values()), closed
            assert streams["edge ws"].close_code == 1008
        finally:
            cluster.stop()


# -- the cache itself, as a property ----------------------------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("remember"), st.integers(0, 40), st.booleans(), st.booleans()),
        st.tuples(st.just("revoke"), st.just(0), st.just(False), st.just(False)),
        st.tuples(st.just("wait"), st.integers(0, 3), st.just(False), st.just(False)),
    ),
    max_size=200,
)


@given(OPS)
@settings(max_examples=200, deadline=None)
def test_the_token_cache_is_bounded_and_never_answers_from_before_a_revocation(ops) -> None:
    cache = TokenCache(
        TokenCacheSettings(
            max_known=5, max_unknown=7, unknown_ttl_s=2.0, recheck_s=0.25, max_stale_s=1.0
        )
    )
    now, generation = 0.0, 0
    cache.observe(generation, now)
    valid: dict[bytes, int] = {}  # key -> the generation its client was read under
    for op, n, known, crossed in ops:
        key = cache_key(f"t{n}")
        if op == "remember":
            # `crossed`: the store was asked before a revocation the cache has since seen
            asked_under = cache.generation
            if crossed:
                generation += 1
                cache.observe(generation, now)
            cache.remember(key, Client(f"c{n}", "sensor") if known else None, asked_under, now)
            if known:
                valid[key] = asked_under if asked_under is not None else -1
            else:
                valid.pop(key, None)
        elif op == "revoke":
            generation += 1
            cache.observe(generation, now)
        else:
            now += n * 0.5
            if n < 2:
                cache.observe(generation, now)  # the watch read the store meanwhile
        assert len(cache) <= 5 + 7
        for probe in [cache_key(f"t{i}") for i in range(41)]:
            hit, client = cache.lookup(probe, now)
            if hit and client is not None:
                # answered from memory: read under the current generation, recently confirmed
                assert valid.get(probe) == generation
                assert now - cache.confirmed_at <= 1.0
