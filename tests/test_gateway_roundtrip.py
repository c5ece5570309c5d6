"""A raid played as ASTERIX over UDP multicast on loopback into `airwarn gateway asterix`, posted
to a real `airwarn serve` that is SIGKILLed twice mid-raid, gives the alerts of its JSON replay.

simulate -> `encode_raid` (CAT062) -> player -> 239.255.62.x on 127.0.0.1 -> the gateway (a real
`airwarn gateway asterix` process) -> the server (`--clock events`, so the raid may play faster
than real time) -> its log and its decisions, against `airwarn replay` on the JSON events.

What the format changes is measured and bounded here: times move by up to 4 ms (1/128 s
steps), positions by up to 0.4 m, heights by 1 m (half a 6.25 ft step, and the rounding to 0.1 m),
velocities by 0.125 m/s, climb rates by 0.02 m/s. The decisions must be the same ones (zone,
level, kind, threats), in the same order; their times move by as much as the event times, and a
decision that falls due at a predicted time by a few ms more (8 ms on this raid). Threat ids are
compared through the encoder's map, and modulo a `SENSOR/` prefix should the server scope them
per sensor. About 70 s here.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pyproj
import pytest
import sqlalchemy as sa
from conftest import grid_zones
from kits.serverkit import Launcher, Server

from airwarn.contract import parse_time
from airwarn.engine import EngineConfig
from airwarn.engine.replay import replay_lines
from airwarn.engine.zones import write_zones, zones_from_geojson
from airwarn.gateway.encode import Cat062Encoder, Source
from airwarn.gateway.player import play
from airwarn.gateway.raid import encode_raid
from airwarn.gateway.udp import Sender, parse_endpoint
from airwarn.sim.scenarios import simulate
from airwarn.store import connect

pytestmark = pytest.mark.slow

SCENARIO, COUNT, SEED, SPEED = "rockets", 20, 3, 8.0
HOLD_S = 30  # short holds, so that most all-clears fall within the raid and are compared
GEOD = pyproj.Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def launcher() -> Iterator[Launcher]:
    kit = Launcher()
    try:
        yield kit
    finally:
        kit.close()


def threat_of(name: str) -> str:
    """A threat id without the sensor scope a server may put before it."""
    return name.rsplit("/", 1)[-1]


def wait_for_line(
    path: Path, text: str, pid: int, launcher: Launcher, timeout_s: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        status = launcher.reap(pid, block=False)
        assert status is None, f"the gateway exited {status}: {path.read_text()}"
        time.sleep(0.05)
    raise AssertionError(f"no {text!r} in {path} after {timeout_s} s: {path.read_text()}")


def read_history(url: str) -> list[dict[str, Any]]:
    decisions: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 5000}
    with httpx.Client(base_url=url, timeout=30) as http:
        while True:
            page = http.get("/v1/history", params=params).json()
            decisions.extend(page["decisions"])
            if page["next_before_seq"] is None:
                return decisions[::-1]
            params["before_seq"] = page["next_before_seq"]


def logged_events(db_url: str) -> list[dict[str, Any]]:
    engine = connect(db_url)
    try:
        with engine.connect() as db:
            return [
                json.loads(body)
                for (body,) in db.execute(sa.text("SELECT body FROM event_log ORDER BY seq"))
            ]
    finally:
        engine.dispose()


def test_a_raid_over_asterix_multicast_gives_the_alerts_of_its_json_replay_through_two_kills(
    tmp_path: Path, launcher: Launcher
) -> None:
    zone_set = zones_from_geojson(grid_zones())
    zones = tmp_path / "zones.geojson"
    write_zones(zone_set.zones, zones)
    events, _truth = simulate(zone_set, SCENARIO, SEED, count=COUNT)
    # CAT062 says a track ended, not how: the gateway posts every end as `lost`, so the JSON
    # replay to compare with gets its ends as `lost` too (a lost rocket flies on, on its last
    # estimate, where one that hit the ground does not)
    carried = [dict(e, reason="lost") if e["type"] == "end" else e for e in events]
    json_lines = b"".join(msgspec.json.encode(e) + b"\n" for e in carried)
    reference = io.BytesIO()
    replay_lines(zone_set, io.BytesIO(json_lines), reference, config=EngineConfig(hold_s=HOLD_S))
    expected = [json.loads(line) for line in reference.getvalue().splitlines()]
    assert len(expected) > 30

    encoded = encode_raid(events, Cat062Encoder(Source(25, 10)), tmp_path / "ast")
    assert encoded.records == len(events)
    threats = encoded.threats

    db_url = f"sqlite:///{tmp_path / 'airwarn.db'}"
    token = launcher.run(
        ["tokens", "create", "--role", "sensor", "--name", "radar", "--db", db_url], tmp_path
    ).strip()
    server = Server(
        launcher,
        [
            "--zones",
            str(zones),
            "--db",
            db_url,
            "--keys",
            str(tmp_path / "keys"),
            "--clock",
            "events",
            "--hold-s",
            str(HOLD_S),
        ],
        tmp_path / "server.log",
    )
    server.start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    group = f"239.255.62.{random.randint(2, 250)}:{port}"
    gateway_log = tmp_path / "gateway.log"
    gateway = launcher.spawn(
        [
            "gateway",
            "asterix",
            "--listen",
            group,
            "--interface",
            "127.0.0.1",
            "--server",
            server.url,
            "--token",
            token,
            "--kinds",
            str(tmp_path / "ast" / "kinds.toml"),
            "--date",
            "2026-03-01",
            "--accept-simulated",
            "--buffer",
            str(tmp_path / "buffer"),
            "--status-s",
            "1",
        ],
        gateway_log,
        gateway_log,
    )
    try:
        wait_for_line(gateway_log, "listening on", gateway, launcher)
        sender = Sender(parse_endpoint(group), "127.0.0.1")
        result: dict[str, Any] = {}
        player = threading.Thread(
            target=lambda: result.update(
                played=play(tmp_path / "ast" / "datagrams.jsonl", sender, SPEED)
            )
        )
        started = time.monotonic()
        player.start()
        raid_s = (parse_time(events[-1]["t"]) - parse_time(events[0]["t"])) / 1000 / SPEED
        kills = []
        for share in (0.3, 0.65):  # SIGKILL the server mid-raid; the raid plays on meanwhile
            time.sleep(max(0.0, started + share * raid_s - time.monotonic()))
            server.kill()
            kills.append(server.reap())
            time.sleep(1.0)
            server.start()
        player.join()
        sender.close()
        assert result["played"].datagrams == encoded.datagrams
        # every report posted and answered (the status line comes each second)
        wait_for_line(gateway_log, f" {len(events)} events accepted", gateway, launcher, 120)
        os.kill(gateway, signal.SIGTERM)
        assert launcher.reap(gateway, block=True) == 0, gateway_log.read_text()
        history = read_history(server.url)
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError, ValueError):
            os.kill(gateway, signal.SIGKILL)
        server.stop()
    report = gateway_log.read_text()
    print(report)
    assert kills == [-signal.SIGKILL, -signal.SIGKILL] and server.starts == 3
    assert "server not taking batches" in report and "server answering again" in report
    assert "0 dropped by the kernel" in report and "0 malformed" in report
    assert "DROPPED" not in report and "still in" not in report
    assert not list((tmp_path / "buffer").glob("*.jsonl"))

    # every report is in the log once, in the order sent, within the format's steps
    logged = logged_events(db_url)
    assert len(logged) == len(events)
    shifts: dict[str, float] = {
        "t_ms": 0,
        "position_m": 0,
        "alt_m": 0,
        "vel_mps": 0,
        "climb_mps": 0,
        "sigma_m": 0,
    }
    for sent, got in zip(events, logged, strict=True):
        assert (got["type"], threat_of(got["threat"])) == (sent["type"], threats[sent["threat"]])
        shifts["t_ms"] = max(shifts["t_ms"], abs(parse_time(got["t"]) - parse_time(sent["t"])))
        if sent["type"] == "end":
            assert got["reason"] == "lost"
            continue
        assert got["kind"] == sent["kind"]
        moved = GEOD.inv(sent["lon"], sent["lat"], got["lon"], got["lat"])[2]
        shifts["position_m"] = max(shifts["position_m"], moved)
        shifts["alt_m"] = max(shifts["alt_m"], abs(got["alt_m"] - sent["alt_m"]))
        shifts["sigma_m"] = max(shifts["sigma_m"], abs(got["sigma_m"] - sent["sigma_m"]))
        assert ("vel_mps" in got) == ("vel_mps" in sent)
        if "vel_mps" in sent:
            shifts["vel_mps"] = max(
                shifts["vel_mps"],
                *(abs(a - b) for a, b in zip(got["vel_mps"][:2], sent["vel_mps"][:2], strict=True)),
            )
            shifts["climb_mps"] = max(
                shifts["climb_mps"], abs(got["vel_mps"][2] - sent["vel_mps"][2])
            )
    print("largest change by the format:", {k: round(v, 3) for k, v in shifts.items()})
    assert shifts["t_ms"] <= 4 and shifts["position_m"] < 0.4 and shifts["alt_m"] <= 1.01
    assert shifts["vel_mps"] <= 0.13 and shifts["climb_mps"] <= 0.025

    # the same decisions, in the same order; the replay also flushes the holds still running
    # when its input ends (a live server lets them fall due with later events)
    last_event_ms = max(parse_time(e["t"]) for e in events)
    assert len(history) > 30
    tail = expected[len(history) :]
    assert all(parse_time(d["t"]) > last_event_ms for d in tail), tail[:3]
    apart_ms = []
    for ours, theirs in zip(history, expected, strict=False):
        assert (
            ours["zone"],
            ours["level"],
            ours["kind"],
            sorted(threat_of(t) for t in ours["threats"]),
        ) == (
            theirs["zone"],
            theirs["level"],
            theirs["kind"],
            sorted(threats[t] for t in theirs["threats"]),
        ), (ours, theirs)
        apart_ms.append(abs(parse_time(ours["t"]) - parse_time(theirs["t"])))
    print(
        f"{len(history)} decisions as the JSON replay's (which adds {len(tail)} end-of-input "
        f"flushes); times apart: {sum(a == 0 for a in apart_ms)} 0 ms, "
        f"{sum(0 < a <= 4 for a in apart_ms)} 1-4 ms, {sum(a > 4 for a in apart_ms)} more, "
        f"at most {max(apart_ms)} ms"
    )
    # a decision stamped with its event's time moves with it (4 ms at most); one that falls
    # due at a predicted time (an alert due before a missile can arrive) moves with the
    # prediction, which the positions' steps move a little more
    assert max(apart_ms) <= 50
