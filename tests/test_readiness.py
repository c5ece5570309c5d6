"""`/readyz`: whether a process can be trusted with readers now, and `/healthz` saying the same.

Each check is failed for real: a store whose server does not answer, an MQTT broker that is
not there, and (on the bus, with the real NATS and PostgreSQL) an edge whose leader was killed.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import postgres_schema
from fastapi.testclient import TestClient
from kits.buskit import Cluster
from kits.serverkit import Launcher, Server

from airwarn.engine.zones import write_zones
from airwarn.server import ChannelSettings, ServerSettings, build
from airwarn.store import connect
from airwarn.web import WebSettings


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server(grid, tmp_path: Path, **channels: object):
    settings = ServerSettings(
        zones=grid,
        db=f"sqlite:///{tmp_path / 'a.db'}",
        keys=tmp_path / "keys",
        clock="events",
        web=WebSettings(heartbeat_s=0.5),
        channels=ChannelSettings(**channels),  # type: ignore[arg-type]
        follow=(),
    )
    return build(settings)


def test_a_single_process_with_its_store_is_ready_and_says_so_in_both_places(
    grid, tmp_path: Path
) -> None:
    server = _server(grid, tmp_path)
    try:
        with TestClient(server.app) as http:
            ready = http.get("/readyz")
            assert ready.status_code == 200 and ready.json() == {"ready": True, "problems": []}
            health = http.get("/healthz").json()
            assert health["ok"] is True and health["problems"] == []
    finally:
        server.service.db.dispose()


def test_a_store_that_does_not_answer_makes_the_process_not_ready_while_it_still_runs(
    grid, tmp_path: Path
) -> None:
    server = _server(grid, tmp_path)
    try:
        with TestClient(server.app) as http:
            assert http.get("/readyz").status_code == 200
            # the store's server goes away: a PostgreSQL URL where nothing listens
            server.app.state.db = connect(
                f"postgresql+psycopg://postgres@127.0.0.1:{_unused_port()}/test"
            )
            server.app.state.store_check = None
            ready = http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["ready"] is False
            assert ready.json()["problems"] == ["store: cannot be read (OperationalError)"]
            health = http.get("/healthz")  # still answers: the process runs
            assert health.status_code == 200 and health.json()["ok"] is False
    finally:
        server.service.db.dispose()


def test_sirens_out_of_reach_make_the_writing_process_not_ready(grid, tmp_path: Path) -> None:
    server = _server(grid, tmp_path, mqtt=f"mqtt://127.0.0.1:{_unused_port()}")
    try:
        with TestClient(server.app) as http:
            ready = http.get("/readyz")
            assert ready.status_code == 503
            assert any(p.startswith("mqtt: not connected") for p in ready.json()["problems"])
    finally:
        server.service.db.dispose()


def heartbeats(url: str, seconds: float) -> int:
    """How many heartbeats a live client of `url` hears in `seconds`."""
    count = 0
    deadline = time.monotonic() + seconds
    timeout = httpx.Timeout(5.0, read=seconds)
    with (
        contextlib.suppress(httpx.ReadTimeout),
        httpx.stream("GET", url + "/v1/stream", timeout=timeout) as stream,
    ):
        for line in stream.iter_lines():
            count += line.strip() == "event: heartbeat"
            if time.monotonic() > deadline:
                break
    while time.monotonic() < deadline:  # a read that timed out: silence until the end
        time.sleep(0.1)
    return count


def ready(url: str) -> httpx.Response:
    return httpx.get(url + "/readyz", timeout=5)


def _wait(check, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.fixture
def cluster(bus_launcher: Launcher, grid, tmp_path: Path) -> Iterator[Cluster]:
    """Two engines and an edge on the grid, lease 2 s, none started yet."""
    zones = tmp_path / "zones.geojson"
    write_zones(grid.zones, zones)
    with postgres_schema() as db:
        made = Cluster(bus_launcher, tmp_path, zones, db, lease_s=2.0)
        try:
            yield made
        finally:
            made.stop()


def with_own_keys(server: Server, folder: Path, name: str, log: Path) -> Server:
    """`server` again, with a keys folder of its own holding a copy of the store key (so the
    store takes it, and it would sign with other keys than the rest) and the name `name`."""
    folder.mkdir(mode=0o700)
    shutil.copy(Path(server.args[server.args.index("--keys") + 1]) / "store.key", folder)
    args = server.args[1 : server.args.index("--port")]
    args[args.index("--keys") + 1] = str(folder)
    args[args.index("--name") + 1] = name
    return Server(server.launcher, args, log)


@pytest.mark.slow
def test_an_edge_that_hears_no_leader_for_twice_the_lease_is_not_ready_until_one_leads(
    cluster: Cluster, tmp_path: Path
) -> None:
    first, second = cluster.engines
    first.start()
    cluster.wait_for_leader()
    cluster.edge.start()
    assert ready(cluster.edge.url).status_code == 200
    assert ready(first.url).status_code == 200
    # an edge given a keys folder of its own: it would sign CAP with another certificate
    apart = with_own_keys(cluster.edge, tmp_path / "keys-edge-2", "edge-2", tmp_path / "e2.log")
    apart.start()
    try:
        _wait(lambda: ready(apart.url).status_code != 200, "keys apart went unseen", 15)
        problems = ready(apart.url).json()["problems"]
        assert [p.split(" is not")[0] for p in problems] == [
            "keys: this process's CAP signing key (cap-signing-key.pem, cap-signing-cert.pem)",
            "keys: this process's Web Push key (vapid_private.pem)",
        ]
        assert ready(cluster.edge.url).status_code == 200
    finally:
        apart.stop()
    first.kill()  # no clean stop: its lease lapses, no beat comes
    _wait(
        lambda: ready(cluster.edge.url).status_code != 200,
        "the edge stayed ready with no leader",
        15,
    )
    (problem,) = ready(cluster.edge.url).json()["problems"]
    assert problem.startswith("bus: no leader heard for")
    # nor does its live feed beat (every second under a leader): a client knows the feed is
    # dead rather than the sky quiet
    assert heartbeats(cluster.edge.url, 3.0) == 0
    second.start()
    cluster.wait_for_leader()
    _wait(
        lambda: ready(cluster.edge.url).status_code == 200,
        "the edge stayed not ready under a leader",
        15,
    )
    assert heartbeats(cluster.edge.url, 5.0) >= 2  # every second


@pytest.mark.slow
def test_a_standby_with_keys_of_its_own_is_ready_once_it_leads_and_the_others_are_told(
    cluster: Cluster, tmp_path: Path
) -> None:
    first = cluster.engines[0]
    first.start()
    cluster.wait_for_leader()
    second = cluster.engines[1] = with_own_keys(
        cluster.engines[1], tmp_path / "keys-b", "engine-b", tmp_path / "engine-b2.log"
    )
    second.start()
    cluster.edge.start()

    def says_keys(url: str) -> bool:
        answer = ready(url)
        return answer.status_code == 503 and any(
            p.startswith("keys: ") for p in answer.json()["problems"]
        )

    _wait(lambda: says_keys(second.url), "the standby's keys went unseen")
    assert ready(cluster.edge.url).status_code == 200
    first.kill()
    assert cluster.wait_for_leader() is second
    # the new leader's keys are the ones the others compare with now
    _wait(
        lambda: ready(second.url).status_code == 200,
        "the new leader stayed not ready over keys it no longer compares",
    )
    _wait(lambda: says_keys(cluster.edge.url), "the edge was not told")
