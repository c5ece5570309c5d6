"""Following another agency's CAP Atom feed and another airwarn's live stream, against a real
`airwarn serve` upstream: signed CAP relayed only when the sender's certificate is trusted here,
an all-clear of some zones leaving the others alerted, the live stream mirrored onto zones of
another shape, and a stopped upstream stale in its time with what it said kept. About 25 s
(a real upstream process); marked slow."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import grid_zones, open_service
from kits.serverkit import Launcher, Server

from airwarn.engine.zones import zones_from_geojson
from airwarn.follow.channel import make_feed
from airwarn.follow.fetch import client
from airwarn.follow.follower import Follower
from airwarn.follow.sink import ServiceSink
from airwarn.follow.spec import parse_spec
from airwarn.store.trust import add_trusted

SENDER = "airwarn@upstream.test"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("upstream")
    zones = folder / "grid.geojson"
    zones.write_text(json.dumps(grid_zones()))
    launcher = Launcher()
    db = f"sqlite:///{folder / 'up.db'}"
    token = launcher.run(
        ["tokens", "create", "--role", "operator", "--name", "op-up", "--db", db], folder
    ).strip()
    server = Server(
        launcher,
        [
            "--zones",
            str(zones),
            "--db",
            db,
            "--keys",
            str(folder / "k"),
            "--sender",
            SENDER,
            "--no-push",
            "--no-webhooks",
            "--heartbeat-s",
            "1",
        ],
        folder / "serve.log",
    )
    server.start()
    yield server, {"Authorization": f"Bearer {token}"}
    server.stop()
    launcher.close()


def act(server: Server, operator: dict[str, str], action: str, zones: list[str]) -> None:
    with httpx.Client(timeout=10) as http:
        answer = http.post(
            server.url + "/v1/actions",
            headers=operator,
            json={
                "action": action,
                "zones": zones,
                "reason": "upstream relay test",
                "category": "drone",
            },
        ).json()
        if answer["state"] == "pending":
            answer = http.post(
                server.url + f"/v1/actions/{answer['id']}/confirm", headers=operator
            ).json()
        assert answer["state"] == "sent", answer


@contextmanager
def following(spec: Any, service: Any) -> Iterator[Follower]:
    """A follower writing through the service, on an event loop of its own."""
    loop = asyncio.new_event_loop()
    follower = Follower(spec, make_feed(spec, service.zones, service), ServiceSink(service))
    task: dict[str, asyncio.Task[None]] = {}

    async def main() -> None:
        async with client(2.0) as http:
            task["it"] = asyncio.current_task()  # type: ignore[assignment]
            with contextlib.suppress(asyncio.CancelledError):
                await follower.run(http)

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    try:
        yield follower
    finally:
        loop.call_soon_threadsafe(lambda: task["it"].cancel())
        thread.join(10)


def eventually(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def relayed(service: Any, source: str) -> dict[str, str]:
    with service._lock:
        zones = service.engine.relayed()
    return {z: lanes[source] for z, lanes in zones.items() if lanes.get(source, "clear") != "clear"}


def test_signed_cap_is_relayed_once_its_sender_is_trusted_and_cleared_zone_by_zone(
    upstream, grid, tmp_path: Path, signing_keys
) -> None:
    server, operator = upstream
    spec = parse_spec(f"cap:{server.url}/v1/cap/feed.atom", every_s=0.3, stale_s=5)
    act(server, operator, "alert", ["r5c0", "r5c1"])
    untrusted = open_service(grid, f"sqlite:///{tmp_path / 'u.db'}", signing_keys, clock="wall")
    with following(spec, untrusted) as follower:
        eventually(
            lambda: _assert(
                follower.health.note is not None and "untrusted" in follower.health.note
            )
        )
        assert relayed(untrusted, spec.name) == {}  # not verified: nothing relayed
        # the note is the follower's as soon as it read the feed; the state it writes next
        eventually(lambda: _assert(state_of(untrusted, spec.name) == "live"))
        assert relayed(untrusted, spec.name) == {}
    service = open_service(grid, f"sqlite:///{tmp_path / 'd.db'}", signing_keys, clock="wall")
    pem = httpx.get(server.url + "/v1/cap/key.pem").content
    add_trusted(service.db, SENDER, pem, int(time.time() * 1000))
    with following(spec, service):
        eventually(
            lambda: _assert(relayed(service, spec.name) == {"r5c0": "alert", "r5c1": "alert"})
        )
        act(server, operator, "clear", ["r5c0"])  # a clear that references the whole alert
        eventually(lambda: _assert(relayed(service, spec.name) == {"r5c1": "alert"}))
        act(server, operator, "clear", ["r5c1"])
        eventually(lambda: _assert(relayed(service, spec.name) == {}))
    decisions = [json.loads(body) for _, body in service.log.decisions(0, 100)]
    assert {d["source"]["name"] for d in decisions} == {spec.name}
    # the sender's own word for the threat (its <event>, cut at a word to 32 characters)
    assert {d["kind"] for d in decisions} == {"Hostile aircraft intrusion"}


def test_another_airwarns_stream_is_mirrored_onto_zones_of_another_shape_and_goes_stale(
    upstream, tmp_path: Path, signing_keys
) -> None:
    server, operator = upstream
    big = grid_zones(rows=3, cols=3, step=0.1)
    for feature in big["features"]:
        feature["properties"]["id"] = "big-" + feature["properties"]["id"]
    zones = zones_from_geojson(big)
    service = open_service(zones, f"sqlite:///{tmp_path / 's.db'}", signing_keys, clock="wall")
    spec = parse_spec(f"airwarn:{server.url}", stale_s=3.0)  # its heartbeat: every 1 s
    with following(spec, service):
        eventually(lambda: _assert(state_of(service, spec.name) == "live"))
        act(server, operator, "alert", ["r0c0", "r1c1"])  # both inside big-r0c0
        eventually(lambda: _assert(relayed(service, spec.name) == {"big-r0c0": "alert"}))
        act(server, operator, "alert", ["r5c5"])
        eventually(
            lambda: _assert(
                relayed(service, spec.name) == {"big-r0c0": "alert", "big-r2c2": "alert"}
            )
        )
        act(server, operator, "clear", ["r0c0"])  # r1c1 still holds big-r0c0
        # a later change, in big-r1c1: once it is relayed, the clear before it has been read
        act(server, operator, "alert", ["r3c3"])
        eventually(lambda: _assert(relayed(service, spec.name).get("big-r1c1") == "alert"))
        after = relayed(service, spec.name)
        assert after["big-r0c0"] == "alert" and after["big-r2c2"] == "alert", after
        act(server, operator, "clear", ["r1c1", "r5c5", "r3c3"])
        eventually(lambda: _assert(relayed(service, spec.name) == {}))
        act(server, operator, "alert", ["r5c5"])
        eventually(lambda: _assert(relayed(service, spec.name) == {"big-r2c2": "alert"}))
        server.kill()
        killed = time.monotonic()
        server.reap()
        eventually(lambda: _assert(state_of(service, spec.name) == "stale"))
        took = time.monotonic() - killed
        assert took <= spec.stale_s + 1.5, took
        assert relayed(service, spec.name) == {"big-r2c2": "alert"}  # kept: not safety
    decision = json.loads(service.log.decisions(0, 1)[0][1])
    assert decision["kind"] == "drone" and decision["source"]["name"] == spec.name
    server.start()  # for any later test of the module


def state_of(service: Any, name: str) -> str | None:
    status = service.engine.relays.states().get(name)
    return None if status is None else str(status.state)


def _assert(condition: bool) -> bool:
    assert condition
    return True
