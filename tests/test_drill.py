"""`airwarn drill` against real `airwarn serve` processes: a small rocket raid posted as a
sensor, marked as an exercise, warns on the drill's lane only (every decision it causes carries
the status, no zone's real level changes, the CAP feed holds Exercise messages only); Ctrl-C
stops the posting and says what was posted; a wrong token, `--status actual`, a server that is
not there and a sped-up drill on a wall-clock server are refused, each naming what to fix. One
lab server and one wall-clock server; about 20 s."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from kits.serverkit import Launcher, Server, free_port
from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


@dataclass
class Lab:
    server: Server
    sensor: str
    operator: str


def _serve(launcher: Launcher, folder: Path, clock: str) -> tuple[Server, str, str]:
    folder.mkdir()
    db = f"sqlite:///{folder / 'airwarn.db'}"
    sensor, operator = (
        launcher.run(
            ["tokens", "create", "--role", role, "--name", f"{role}-1", "--db", db], folder
        ).strip()
        for role in ("sensor", "operator")
    )
    server = Server(
        launcher,
        [
            "--zones",
            "israel",
            "--clock",
            clock,
            "--db",
            db,
            "--keys",
            str(folder / "keys"),
            "--no-push",
            "--no-webhooks",
        ],
        folder / "serve.log",
    )
    server.start()
    return server, sensor, operator


@pytest.fixture(scope="module")
def lab(launcher: Launcher, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A lab server (`--clock events`), as a drill at more than real speed needs."""
    server, sensor, operator = _serve(launcher, tmp_path_factory.mktemp("drill") / "lab", "events")
    try:
        yield Lab(server, sensor, operator)
    finally:
        server.stop()


def drill(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AIRWARN_TOKEN"}
    env["COLUMNS"] = "200"
    if token is not None:
        env["AIRWARN_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "airwarn", "drill", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def said(result: subprocess.CompletedProcess[str]) -> str:
    """What the command printed, on both streams, as one line of words."""
    return " ".join((result.stdout + result.stderr).split())


def health(url: str) -> dict:  # type: ignore[type-arg]
    return httpx.get(url + "/healthz", timeout=5).json()  # type: ignore[no-any-return]


def test_a_drill_warns_on_its_own_lane_and_leaves_every_real_level_as_it_was(
    lab: Lab, tmp_path: Path
) -> None:
    url = lab.server.url
    result = drill(
        "--out",
        str(tmp_path / "record"),
        "--server",
        url,
        "--zones",
        "israel",
        "--scenario",
        "rockets",
        "--count",
        "2",
        "--seed",
        "4",  # both rockets come down in zones (seed 1's both in open country)
        "--speed",
        "20",
        "--lead-s",
        "1",
        "--quiet",
        token=lab.sensor,
    )
    text = said(result)
    assert result.returncode == 0, text
    assert "drill summary (exercise): every report accepted" in text
    counts = re.search(r"reports: (\d+) posted of (\d+), (\d+) accepted, 0 rejected", text)
    assert counts is not None, text
    posted, total, accepted = map(int, counts.groups())
    assert posted == total == accepted > 0

    # every decision the drill caused is on the exercise lane, and it caused some
    history = httpx.get(url + "/v1/history", params={"limit": 5000}, timeout=5).json()
    decisions = history["decisions"]
    assert decisions, "the drill warned no zone"
    assert {d.get("status") for d in decisions} == {"exercise"}, decisions
    assert all(d["threats"] and "/exercise-" in d["threats"][0] for d in decisions)
    alerted = {d["zone"] for d in decisions if d["level"] == "alert"}
    warned = re.search(r"(\d+) decisions? \(exercise\), (\d+) zones? at alert", text)
    assert warned is not None, text
    assert (int(warned[1]), int(warned[2])) == (len(decisions), len(alerted))
    # scored against its truth: each rocket that came down in a zone warned of in time
    scored = re.search(r"(\d+) impacts? in zones, (\d+) missed, (\d+) late; warning time", text)
    assert scored is not None, text
    assert int(scored[1]) > 0 and (scored[2], scored[3]) == ("0", "0"), text
    # written down, it scores the same with `airwarn evaluate` on the drill's lane
    record = tmp_path / "record"
    assert sum(1 for _ in (record / "events.jsonl").open()) == posted
    again = subprocess.run(
        [sys.executable, "-m", "airwarn", "evaluate", "--zones", "israel", "--json",
         "--truth", str(record / "truth.json"), "--decisions", str(record / "decisions.jsonl"),
         "--status", "exercise"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    total = json.loads(again.stdout)["engine"]["total"]
    assert (total["in_zones"], total["missed"], total["late"]) == (int(scored[1]), 0, 0)

    # no zone's real level changed: nothing actual in force, every zone clear, the drill beside
    active = httpx.get(url + "/v1/alerts/active", timeout=5).json()
    assert active and {a["status"] for a in active} == {"exercise"}, active
    zones = httpx.get(url + "/v1/zones", timeout=5).json()
    assert {z["level"] for z in zones} == {"clear"}
    assert {z["id"] for z in zones if z.get("drill")} == alerted

    # the CAP feed holds Exercise messages only, each headline marked
    feed = etree.fromstring(httpx.get(url + "/v1/cap/feed.atom", timeout=5).content)
    entries = feed.findall(f"{ATOM}entry")
    assert entries
    for entry in entries:
        assert entry.findtext(f"{ATOM}title", "").startswith("EXERCISE")
        link = entry.find(f"{ATOM}link")
        assert link is not None
        message = etree.fromstring(httpx.get(link.attrib["href"], timeout=5).content)
        assert message.findtext(f"{CAP}status") == "Exercise"


def test_ctrl_c_stops_the_posting_and_says_what_was_posted_and_how_the_zones_clear(
    lab: Lab,
) -> None:
    before = health(lab.server.url)["event_seq"]
    env = {**os.environ, "AIRWARN_TOKEN": lab.sensor, "COLUMNS": "200"}
    args = ["--server", lab.server.url, "--scenario", "drones", "--count", "2", "--speed", "20"]
    running = subprocess.Popen(
        [sys.executable, "-m", "airwarn", "drill", *args, "--lead-s", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while health(lab.server.url)["event_seq"] == before:  # the first reports are in
            assert running.poll() is None and time.monotonic() < deadline, running.poll()
            time.sleep(0.1)
        running.send_signal(signal.SIGINT)
        out, errors = running.communicate(timeout=20)
    finally:
        running.kill()
    text = " ".join((out + errors).split())
    assert running.returncode == 130, text
    assert "drill summary (exercise): stopped before the raid was over" in text
    counts = re.search(r"reports: (\d+) posted of (\d+), (\d+) accepted, 0 rejected", text)
    assert counts is not None, text
    posted, total, accepted = map(int, counts.groups())
    assert 0 < posted == accepted < total
    assert f"{total - posted} reports not posted" in text
    assert "clear by the engine's timeouts and holds" in text
    assert health(lab.server.url)["event_seq"] - before == posted  # nothing after the stop


def test_a_token_that_may_not_post_is_refused_before_anything_is_posted(lab: Lab) -> None:
    before = health(lab.server.url)["event_seq"]
    result = drill("--server", lab.server.url, "--speed", "20", token=lab.operator)
    text = said(result)
    assert result.returncode == 1, text
    assert "an operator token may not do this" in text and "AIRWARN_TOKEN" in text
    assert "airwarn tokens create --role sensor" in text
    unknown = drill("--server", lab.server.url, "--speed", "20", token="aw_not-a-token")
    assert unknown.returncode == 1 and "unknown or revoked token" in said(unknown)
    assert health(lab.server.url)["event_seq"] == before


def test_a_drill_never_posts_actual() -> None:
    result = drill("--status", "actual", token="aw_any")
    text = said(result)
    assert result.returncode == 2, text
    assert "--status" in text and "never posts a real threat" in text


def test_a_server_that_is_not_there_is_named_by_its_flag() -> None:
    result = drill("--server", f"http://127.0.0.1:{free_port()}", token="aw_any")
    text = said(result)
    assert result.returncode == 1, text
    assert "--server: cannot reach http://127.0.0.1:" in text and "connection refused" in text
    shown = drill("--server", "http://drill:s3cret@127.0.0.1:1", token="aw_any")
    assert shown.returncode == 1 and "s3cret" not in said(shown)


def test_a_faster_drill_is_refused_by_a_wall_clock_server(
    launcher: Launcher, tmp_path: Path
) -> None:
    server, sensor, _ = _serve(launcher, tmp_path / "wall", "wall")
    try:
        result = drill("--server", server.url, "--speed", "20", token=sensor)
        text = said(result)
        assert result.returncode == 2, text
        assert "--speed: 20 on a wall-clock server" in text and "serve --clock events" in text
        assert health(server.url)["event_seq"] == 0
    finally:
        server.stop()


def test_the_drill_is_scored_at_its_own_moved_times_and_a_silent_server_fails_it() -> None:
    """The score the summary gives: the raid's truth moved to the drill's start as its reports
    were, so that a server that warned in time scores 0 missed and 0 late, and one that said
    nothing misses every impact in a zone (and the drill exits 1)."""
    import msgspec

    from airwarn.contract import parse_event
    from airwarn.engine import Engine
    from airwarn.layers.packaged import load_layer
    from airwarn.sim.drill import (
        DrillReport,
        DrillSettings,
        DrillWarnings,
        drill_record,
        plan_drill,
    )
    from airwarn.sim.evaluate import score

    def drill_score(warnings: DrillWarnings, posted: int):  # as the drill scores itself
        record = drill_record(plan, warnings, "exercise", posted)
        return None if record is None else score(zones, *record, status="exercise")

    zones = load_layer("israel")
    settings = DrillSettings(server="http://127.0.0.1:1", token="-", seed=4, count=2)
    plan = plan_drill(zones, settings, now_ms=int(time.time() * 1000))
    engine = Engine(zones)  # what the server does with the reports
    seen = []
    for _, event in plan.planned:
        seen += [
            msgspec.to_builtins(d) for d in engine.apply(parse_event(msgspec.json.encode(event)))
        ]
    heard = drill_score(DrillWarnings(seen=seen), len(plan.planned))
    assert heard is not None and heard.total.in_zones == 2
    assert (heard.total.missed, heard.total.late) == (0, 0)
    silent = drill_score(DrillWarnings(), len(plan.planned))
    assert silent is not None and silent.total.missed == 2
    report = DrillReport(total=len(plan.planned), score=silent)
    assert not report.warned_in_time
    # stopped before any impact: nothing to score against
    early = drill_score(DrillWarnings(), 5)
    assert early is not None and early.total.impacts == 0


def test_a_drill_over_zones_its_lane_already_holds_is_scored_from_what_they_were_at(
    lab: Lab,
) -> None:
    """An operator's drill alert already stands where the raid will come down (the people
    part of a drill): the drill's rockets take those zones without a new decision, and the
    drill still scores them warned, from the start."""
    from airwarn.layers.packaged import load_layer
    from airwarn.sim.drill import DrillSettings, plan_drill

    url = lab.server.url
    plan = plan_drill(
        load_layer("israel"),
        DrillSettings(server=url, token="-", seed=4, count=2),
        now_ms=int(time.time() * 1000),
    )
    impacts = [t["impact"] for t in plan.truth["threats"] if t.get("impact")]
    held = set()
    for impact in impacts:
        at = httpx.get(url + "/v1/zones/at", params={"lat": impact["lat"], "lon": impact["lon"]})
        held.add(at.json()["id"])
    answer = httpx.post(
        url + "/v1/actions",
        json={"action": "alert", "zones": sorted(held), "reason": "drill", "status": "exercise"},
        headers={"Authorization": f"Bearer {lab.operator}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    result = drill(
        "--server", url, "--zones", "israel", "--scenario", "rockets", "--count", "2",
        "--seed", "4", "--speed", "20", "--lead-s", "1", "--quiet", token=lab.sensor,
    )  # fmt: skip
    text = said(result)
    assert result.returncode == 0, text
    assert re.search(r"2 impacts in zones, 0 missed, 0 late; warning time", text), text
