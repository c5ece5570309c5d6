"""`airwarn demo`: a real server on a free port, a short raid posted to it over HTTP as a
sensor would, warnings printed as they happen, and the log in a real SQLite file.

Runs are bounded (`--duration-s`), sped up and small, so each test takes well under 30 s.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from rich.console import Console
from test_layers import ISRAEL_ZONES, free_port

from airwarn.sim.demo import DemoError, LiveDemoSettings, run_live_demo, schedule
from airwarn.sim.layers import demo_zone_set

GENERATED = demo_zone_set("generated")


def _poll(url: str, stop: threading.Event, seen: dict[str, list[Any]]) -> None:
    """Ask the demo's server for its health and active alerts while the demo runs."""
    with httpx.Client(base_url=url, timeout=5.0) as client:
        while not stop.is_set():
            try:
                seen["healthz"].append(client.get("/healthz").json())
                seen["active"].append(client.get("/v1/alerts/active").json())
            except httpx.HTTPError:
                pass
            time.sleep(0.3)


def test_live_demo_serves_posts_the_raid_and_prints_each_warning(tmp_path: Path) -> None:
    port = free_port()
    settings = LiveDemoSettings(
        out=tmp_path / "demo",
        port=port,
        scenario="rockets",
        seed=1,
        count=3,
        speed=8.0,
        hold_s=10,
        lead_s=1.0,
        duration_s=22.0,
    )
    text = io.StringIO()
    console = Console(file=text, width=200, color_system=None)
    started, stop = threading.Event(), threading.Event()
    seen: dict[str, list[Any]] = {"healthz": [], "active": []}
    poller = threading.Thread(
        target=lambda: started.wait(20) and _poll(f"http://127.0.0.1:{port}", stop, seen),
        daemon=True,
    )
    poller.start()
    try:
        report = run_live_demo(GENERATED, settings, console, console, started=started)
    finally:
        stop.set()
        poller.join(10)
    out = text.getvalue()

    assert f"http://127.0.0.1:{port}/" in out and "/v1/stream" in out and "/docs" in out
    assert "airwarn demo: a simulated rocket raid (3 rockets) on 574 made-up" in out
    token = re.search(rf"http://127.0.0.1:{port}/console#token=(aw_\S+)", out)
    assert token, out
    alert_lines = [line for line in out.splitlines() if re.search(r"T\+\d\d:\d\d  ALERT ", line)]
    assert alert_lines, out
    assert any(re.search(r"T\+\d\d:\d\d  clear ", line) for line in out.splitlines())
    assert "rocket" in alert_lines[0]
    assert report.raid_done, out
    assert report.events_posted > 0 and report.events_accepted == report.events_posted
    assert report.alerted and report.decisions >= 2 * len(report.alerted)
    assert sum(report.messages.values()) > 0
    assert "summary: the raid is over and every zone is clear" in out

    assert seen["healthz"] and all(h["ok"] for h in seen["healthz"])
    assert seen["healthz"][-1]["clock"] == "events"  # sped up: the raid's own clock
    assert any(active for active in seen["active"]), "no alert was ever active"

    db = sa.create_engine(f"sqlite:///{tmp_path / 'demo' / 'generated' / 'fast.db'}")
    with db.connect() as conn:
        sensor_events = conn.execute(
            sa.text(
                "select count(*) from event_log where source like 'demo-sensor-%' "
                "and body not like '%\"tick\"%'"
            )
        ).scalar()  # the demo's clock ticks aside
        decisions = conn.execute(sa.text("select count(*) from decision_log")).scalar()
    db.dispose()
    assert sensor_events == report.events_accepted
    assert decisions == report.decisions
    posted = (tmp_path / "demo" / "generated" / "events.jsonl").read_text().splitlines()
    assert len(posted) == report.events_posted


def test_the_store_is_kept_between_runs_and_fresh_starts_it_anew(tmp_path: Path) -> None:
    settings = LiveDemoSettings(
        out=tmp_path, port=free_port(), count=1, speed=20.0, hold_s=0, lead_s=0.5, duration_s=6.0
    )
    quiet = Console(file=io.StringIO())
    first = run_live_demo(GENERATED, settings, quiet, quiet)
    second = run_live_demo(GENERATED, settings, quiet, quiet)
    assert first.events_posted == second.events_posted > 0
    assert second.decisions > 0  # the second raid is warned too, on the same log
    db_path = tmp_path / "generated" / "fast.db"

    def sensor_events() -> int:
        db = sa.create_engine(f"sqlite:///{db_path}")
        with db.connect() as conn:
            count = conn.execute(
                sa.text("select count(*) from event_log where source like 'demo-sensor-%'")
            ).scalar()
        db.dispose()
        return int(count or 0)

    assert sensor_events() == first.events_accepted + second.events_accepted
    fresh = run_live_demo(GENERATED, replace(settings, fresh=True), quiet, quiet)
    assert sensor_events() == fresh.events_accepted


def test_the_printed_operator_token_signs_in_to_the_console_api(tmp_path: Path) -> None:
    port = free_port()
    settings = LiveDemoSettings(
        out=tmp_path, port=port, count=1, speed=20.0, hold_s=0, lead_s=0.5, duration_s=8.0
    )
    text = io.StringIO()
    started = threading.Event()
    seen: dict[str, Any] = {}

    def sign_in() -> None:
        started.wait(20)
        for _ in range(50):
            found = re.search(r"console#token=(aw_\S+)", text.getvalue())
            if found:
                auth = {"Authorization": f"Bearer {found[1]}"}
                base = f"http://127.0.0.1:{port}"
                seen["threats"] = httpx.get(
                    f"{base}/v1/threats", headers=auth, timeout=5
                ).status_code
                seen["audit"] = httpx.get(f"{base}/v1/audit", headers=auth, timeout=5).status_code
                return
            time.sleep(0.1)

    checker = threading.Thread(target=sign_in, daemon=True)
    checker.start()
    run_live_demo(
        GENERATED,
        settings,
        Console(file=text, width=300, color_system=None),
        Console(file=io.StringIO()),
        started=started,
    )
    checker.join(10)
    assert seen == {"threats": 200, "audit": 403}  # an operator's, not an admin's


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = LiveDemoSettings(out=tmp_path, port=port, count=1, duration_s=5.0)
        quiet = Console(file=io.StringIO())
        with pytest.raises(DemoError, match="port in use"):
            run_live_demo(GENERATED, settings, quiet, quiet)


def test_the_raid_keeps_its_spacing_and_starts_when_asked() -> None:
    events = [
        {"type": "track", "t": "2026-03-01T18:00:10.000Z"},
        {"type": "track", "t": "2026-03-01T18:00:12.000Z"},
        {"type": "track", "t": "2026-03-01T18:00:11.000Z"},  # a late report
        {"type": "end", "t": "2026-03-01T18:00:20.000Z"},
    ]
    planned = schedule(events, 1_000_000, speed=2.0)
    assert [e["t"][17:23] for _, e in planned] == ["40.000", "42.000", "41.000", "50.000"]
    assert [due for due, _ in planned] == [1_000_000, 1_001_000, 1_001_000, 1_005_000]


def test_airwarn_demo_command_shows_israels_real_areas_and_runs_bounded(tmp_path: Path) -> None:
    port = free_port()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "airwarn.cli",
            "demo",
            "--port",
            str(port),
            "--count",
            "2",
            "--speed",
            "12",
            "--hold-s",
            "3",
            "--duration-s",
            "14",
            "--out",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    assert f"on Israel's {ISRAEL_ZONES:,} Home Front Command alert areas" in result.stdout
    assert f"http://127.0.0.1:{port}/" in result.stdout
    assert f"http://127.0.0.1:{port}/console#token=aw_" in result.stdout
    assert re.search(r"T\+\d\d:\d\d  ALERT ", result.stdout), result.stdout
    assert "summary:" in result.stdout
    assert (tmp_path / "demo" / "israel" / "fast.db").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]  # nothing else written


def test_airwarn_demo_refuses_an_unknown_layer_with_the_choices(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airwarn.cli", "demo", "--layer", "mars", "--duration-s", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "israel, ukraine, ukraine-raions, ukraine-oblasts" in " ".join(result.stderr.split())
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_stops_the_demo_at_once_with_a_live_page_open(tmp_path: Path) -> None:
    # a browser's live feed never ends by itself: the stop ends it (airwarn.web.runner)
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "airwarn.cli", "demo", "--port", str(port)]
        + ["--layer", "generated", "--out", str(tmp_path / "demo")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    ended: list[str] = []

    def page() -> None:
        url = f"http://127.0.0.1:{port}/v1/stream"
        with httpx.stream("GET", url, timeout=httpx.Timeout(5.0, read=60.0)) as feed:
            for _ in feed.iter_lines():
                pass
        ended.append("ended")

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and demo.poll() is None, "did not start"
                time.sleep(0.2)
        reader = threading.Thread(target=page, daemon=True)
        reader.start()
        time.sleep(1.0)
        began = time.monotonic()
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=30)
        took_s = time.monotonic() - began
        reader.join(5)
    finally:
        demo.kill()
    assert demo.returncode == 0, demo.stderr.read() if demo.stderr else ""
    assert ended == ["ended"]  # the feed was ended, not cut
    print(f"stopped in {took_s:.2f} s")
    assert took_s < 8  # the server thread was given 10 s before, and used them all
