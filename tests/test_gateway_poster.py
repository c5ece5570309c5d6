"""The gateway's poster against a real `airwarn serve`: a wrong token keeps the batches waiting
and says how to fix it; a batch is applied once however often it is posted; a server that is
not there yet is waited for. A few seconds (one server start)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa
from conftest import grid_zones
from kits.serverkit import Launcher, Server

from airwarn.engine.zones import write_zones, zones_from_geojson
from airwarn.gateway.poster import Poster
from airwarn.gateway.spool import Spool
from airwarn.store import connect


@pytest.fixture(scope="module")
def launcher() -> Iterator[Launcher]:
    kit = Launcher()
    try:
        yield kit
    finally:
        kit.close()


def lines(*threats: str) -> list[bytes]:
    return [
        msgspec.json.encode(
            {
                "type": "track",
                "threat": t,
                "kind": "drone",
                "t": "2026-03-01T18:00:00.000Z",
                "lat": 31.5,
                "lon": 34.7,
            }
        )
        for t in threats
    ]


def wait_until(condition, timeout_s: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_poster_waits_out_a_wrong_token_and_a_missing_server_and_posts_each_batch_once(
    tmp_path: Path, launcher: Launcher
) -> None:
    zones = tmp_path / "zones.geojson"
    write_zones(zones_from_geojson(grid_zones()).zones, zones)
    db = f"sqlite:///{tmp_path / 'airwarn.db'}"
    token = launcher.run(
        ["tokens", "create", "--role", "sensor", "--name", "radar", "--db", db], tmp_path
    ).strip()
    server = Server(
        launcher,
        ["--zones", str(zones), "--db", db, "--keys", str(tmp_path / "keys"), "--clock", "events"],
        tmp_path / "server.log",
    )
    spool = Spool(tmp_path / "buffer", max_bytes=1_000_000)
    first = spool.put(lines("a", "b"))
    assert first is not None
    body = first.body()
    said: list[str] = []
    poster = Poster(spool, server.url, token, max_backoff_s=0.2, log=said.append)
    poster.start()  # no server yet: connection refused, retried
    try:
        wait_until(lambda: poster.counts.retries >= 2)
        assert len(spool) == 1 and "Connection refused" in (poster.counts.last_error or "")
        server.start()
        wait_until(lambda: len(spool) == 0)
        assert poster.counts.events == 2 and poster.counts.batches == 1
        assert any("answering again" in line for line in said)
    finally:
        poster.stop()
        poster.join()

    # the same batch again (a lost answer, a restarted gateway): applied once
    (tmp_path / "buffer" / first.path.name).write_bytes(body)
    again = Spool(tmp_path / "buffer", max_bytes=1_000_000)
    assert again.recovered == 1
    poster = Poster(again, server.url, token, log=said.append)
    poster.start()
    try:
        wait_until(lambda: len(again) == 0)
        assert poster.counts.replayed == 1
    finally:
        poster.stop()
        poster.join()
    engine = connect(db)
    with engine.connect() as store:
        logged = store.execute(sa.text("SELECT count(*) FROM event_log")).scalar()
    engine.dispose()
    assert logged == 2

    # a wrong token: reported with the fix, the batch kept
    wrong = Spool(tmp_path / "wrong", max_bytes=1_000_000)
    wrong.put(lines("c"))
    said.clear()
    poster = Poster(wrong, server.url, "not-a-token", log=said.append)
    poster.start()
    try:
        wait_until(lambda: poster.counts.last_error is not None)
        assert len(wrong) == 1
        assert "401" in poster.counts.last_error and "tokens create --role sensor" in said[0]
    finally:
        poster.stop()
        poster.join()
        server.stop()


def test_batches_waiting_together_go_in_one_request_and_refused_together_go_one_by_one(
    tmp_path: Path, launcher: Launcher
) -> None:
    zones = tmp_path / "zones.geojson"
    write_zones(zones_from_geojson(grid_zones()).zones, zones)
    db = f"sqlite:///{tmp_path / 'airwarn.db'}"
    token = launcher.run(
        ["tokens", "create", "--role", "sensor", "--name", "radar", "--db", db], tmp_path
    ).strip()
    server = Server(
        launcher,
        ["--zones", str(zones), "--db", db, "--keys", str(tmp_path / "keys"), "--clock", "events"],
        tmp_path / "server.log",
    )
    server.start()
    spool = Spool(tmp_path / "buffer", max_bytes=1_000_000)
    for threat in "abc":  # three batches waiting when the poster starts
        spool.put(lines(threat))
    said: list[str] = []
    poster = Poster(spool, server.url, token, post_events=100, log=said.append)
    poster.start()
    try:
        wait_until(lambda: len(spool) == 0)
        assert poster.counts.posts == 1 and poster.counts.batches == 3
        assert poster.counts.events == 3
        # two batches no line of which the server takes (422): set aside each on its own.
        # They are put while no poster runs, so they wait together (a running poster
        # could take the first alone before the second is put).
        poster.stop()
        poster.join()
        spool.put([b'{"type":"track","threat":"x"}'])
        spool.put([b'{"type":"track","threat":"y"}'])
        poster = Poster(spool, server.url, token, post_events=100, log=said.append)
        poster.start()
        wait_until(lambda: len(spool) == 0)
        assert any("posting them one by one" in line for line in said)
        assert poster.counts.refused_batches == 2
        assert len(list((tmp_path / "buffer" / "refused").glob("*.jsonl"))) == 2
        # counted, each line of them, with why the first was refused: its line's own reason
        assert poster.counts.refused_lines == 2
        first = poster.counts.first_refusal or ""
        assert first.startswith("line 1: ") and "kind" in first, first
    finally:
        poster.stop()
        poster.join()
        server.stop()
