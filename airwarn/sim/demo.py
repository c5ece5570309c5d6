"""`airwarn demo`: the service, live, on a simulated raid, with nothing to set up.

`run_live_demo` opens a fresh service on its own SQLite file, serves it over HTTP in a
background thread, and plays a simulated raid into it the way a sensor would: each report
posted over HTTP (with a sensor token) at the moment it falls due. Every change of a zone's
level is printed as it happens, from a listener on the service, so what the terminal shows is
what the live feeds (`/v1/stream`, the page at `/`) send.

Time: at `speed` 1 the raid runs in real time on the server's wall clock, exactly as a live
deployment would. At another speed the reports keep their true times (so the flights stay
physical: a rocket sped up four times would look like one under 16 g, and the filters would
rightly disbelieve it) and the server runs on the raid's clock instead (`--clock events`, as
for replays): the demo posts the reports, and clock ticks in the quiet spells, `speed` times
faster than real time.

`run_demo` is the older offline chain (zones, raid, replay, scores beside the reference
policies); `airwarn demo --score` runs it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
from rich.console import Console
from rich.markup import escape

from airwarn.contract import format_time, parse_time
from airwarn.engine import EngineConfig
from airwarn.errors import AirwarnError
from airwarn.lanes import threat_owner
from airwarn.replay import replay_lines, run_policy
from airwarn.sim.demo_zones import demo_zones
from airwarn.sim.evaluate import Score, format_table, score
from airwarn.sim.scenarios import simulate, write_simulation
from airwarn.zones import ZoneSet, write_zones

LEVEL_STYLE = {"alert": ("ALERT", "bold white on red"), "pre_alert": ("pre-alert", "bold yellow"),
               "clear": ("clear", "green")}


class DemoError(AirwarnError):
    """The live demo cannot start (a port in use, a store it may not recreate...)."""


@dataclass(frozen=True)
class LiveDemoSettings:
    """How the live demo runs; built by the CLI from its flags."""

    out: Path = Path("airwarn-demo")  # its SQLite file, keys and events.jsonl
    db_url: str | None = None  # default: sqlite:///OUT/airwarn.db, recreated each run
    host: str = "127.0.0.1"
    port: int = 8000
    scenario: str = "rockets"
    seed: int = 1
    count: int | None = None
    speed: float = 1.0
    hold_s: int = 60
    lead_s: float = 3.0  # the raid starts this long after the server is up
    duration_s: float | None = None  # stop after this long; None: serve until Ctrl-C
    batch_s: float = 0.2  # reports falling due within this are posted together
    # at most this many a post: a fast raid falls behind (reports arrive late, as from an
    # overloaded sensor net) instead of sending one batch too big to answer in time
    max_batch: int = 50


@dataclass
class DemoReport:
    """What the live demo did: for its summary and for tests."""

    url: str
    zones: int
    threats: int = 0
    events_posted: int = 0
    events_accepted: int = 0
    decisions: int = 0
    alerted: set[str] = field(default_factory=set)
    pre_alerted: set[str] = field(default_factory=set)
    messages: Counter[str] = field(default_factory=Counter)
    raid_done: bool = False
    db_url: str = ""


class _Printer:
    """A service listener: one line per decision, as it is committed; tallies for the summary."""

    def __init__(self, zones: ZoneSet, console: Console, report: DemoReport,
                 raid_start_ms: int) -> None:
        self.zones, self.console, self.report = zones, console, report
        self.raid_start_ms = raid_start_ms
        self.lock = threading.Lock()

    def __call__(self, published: Any) -> None:
        with self.lock:
            for _seq, line in published.decisions:
                self._print(json.loads(line))
            for message in published.messages:
                self.report.messages[str(message.get("msg_type", "?"))] += 1

    def _print(self, decision: dict[str, Any]) -> None:
        self.report.decisions += 1
        zone_id = decision["zone"]
        level = decision["level"]
        if level == "alert":
            self.report.alerted.add(zone_id)
        elif level == "pre_alert":
            self.report.pre_alerted.add(zone_id)
        index = self.zones.index_of.get(zone_id)
        zone = self.zones.zones[index] if index is not None else None
        name = zone.name if zone is not None and zone.name else zone_id
        shelter = f"shelter {zone.shelter_s:>2} s" if zone is not None else ""
        t_ms = parse_time(decision["t"])
        clock = datetime.fromtimestamp(t_ms / 1000).strftime("%H:%M:%S")
        raid_s = max(0, (t_ms - self.raid_start_ms) // 1000)
        word, style = LEVEL_STYLE.get(level, (level, ""))
        kind = decision.get("kind") or ""
        # the sensor's own ids: there is one sensor here (the log scopes them by its name)
        threats = ",".join(threat_owner(t)[1] for t in decision.get("threats") or [])
        self.console.print(
            f"{clock} T+{raid_s // 60:02d}:{raid_s % 60:02d}  [{style}]{word:<9}[/]  "
            f"{escape(name):<32} {shelter:<13} {escape(kind):<9} [dim]{escape(threats)}[/]",
            highlight=False, soft_wrap=True)


def schedule(events: list[dict[str, Any]], start_ms: int, speed: float
             ) -> list[tuple[float, dict[str, Any]]]:
    """The raid moved to start at `start_ms`: each event with its new time and the wall time
    (ms) it is due to be posted. Spacing in event time is kept; posting runs `speed` times
    faster than it. Order is kept too (a late report stays after the ones it trails)."""
    if not events:
        return []
    first = min(parse_time(e["t"]) for e in events)
    planned = []
    due = float(start_ms)
    for event in events:
        offset = parse_time(event["t"]) - first
        moved = {**event, "t": format_time(start_ms + offset)}
        due = max(due, start_ms + offset / speed)
        planned.append((due, moved))
    return planned


def run_live_demo(zone_file: Path | None, zones_label: str, settings: LiveDemoSettings,
                  console: Console, err: Console,
                  started: threading.Event | None = None) -> DemoReport:
    """Serve a fresh service, play the raid into it over HTTP, print its warnings, summarise.

    `zone_file` is a canonical zone file (None: the generated zones). `started` is set once
    the server answers, for callers that want to watch it.
    """
    import uvicorn

    from airwarn.cli_serve import build_service
    from airwarn.store.tokens import create_token
    from airwarn.web import WebSettings, create_app

    if settings.speed <= 0:
        raise DemoError(f"--speed must be above 0, not {settings.speed}")
    out = settings.out
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    db_url = settings.db_url or f"sqlite:///{out / 'airwarn.db'}"
    _fresh_sqlite(db_url, out / "keys")
    clock = "wall" if settings.speed == 1 else "events"
    service = build_service(zone_file, db_url, out / "keys", clock, settings.hold_s, None)
    zones = service.zones
    url = f"http://{_url_host(settings.host)}:{settings.port}"
    report = DemoReport(url=url + "/", zones=len(zones), db_url=db_url)

    app = create_app(service, WebSettings(heartbeat_s=2.0))
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port,
                                           log_level="warning", lifespan="on"))

    def serve() -> None:
        with contextlib.suppress(SystemExit):  # uvicorn exits when it cannot bind the port
            server.run()

    thread = threading.Thread(target=serve, name="airwarn-demo-server", daemon=True)
    begun = time.monotonic()
    thread.start()
    while not server.started:
        if not thread.is_alive() or time.monotonic() - begun > 15:
            server.should_exit = True
            raise DemoError(f"the server did not start on {settings.host}:{settings.port} "
                            "(is the port in use? try --port)")
        time.sleep(0.05)
    deadline = None if settings.duration_s is None else begun + settings.duration_s
    try:
        if started is not None:
            started.set()
        console.print(f"[bold]airwarn demo[/]: {escape(zones_label)}", soft_wrap=True)
        console.print(f"  live page  [link={url}/]{url}/[/link]   (alerts as they happen)",
                      soft_wrap=True)
        console.print(f"  API        {url}/docs   live feed {url}/v1/stream   "
                      f"CAP {url}/v1/cap/feed.atom", highlight=False, soft_wrap=True)
        token = create_token(service.db, "sensor", f"demo-sensor-{int(time.time() * 1000)}",
                             int(time.time() * 1000))
        events, truth = simulate(zones, settings.scenario, settings.seed,
                                 count=settings.count)
        report.threats = len(truth["threats"])
        kinds = Counter(t["kind"] for t in truth["threats"])
        start_ms = int(time.time() * 1000 + settings.lead_s * 1000)
        planned = schedule(events, start_ms, settings.speed)
        _write_events([e for _, e in planned], out / "events.jsonl")
        span_s = (planned[-1][0] - start_ms) / 1000 if planned else 0.0
        console.print(
            f"  raid       {settings.scenario}, seed {settings.seed}: "
            + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
            + f"; {len(events)} sensor reports over {_span(span_s)} at speed {settings.speed:g}"
            f" ({'wall clock' if clock == 'wall' else 'the raid clock'}), hold "
            f"{settings.hold_s} s; starting in {settings.lead_s:.0f} s",
            highlight=False, soft_wrap=True)
        printer = _Printer(zones, console, report, start_ms)
        service.listeners.append(printer)
        with httpx.Client(base_url=url, timeout=120.0,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            _play(client, planned, settings, start_ms, clock, report, deadline)
            if report.events_posted == len(planned):
                _wait_for_all_clear(client, service, settings, start_ms, clock, report,
                                    deadline)
        _summary(console, report, settings, out)
        if deadline is None:
            console.print("serving until Ctrl-C", style="dim")
            while thread.is_alive():
                thread.join(0.5)
        else:
            while thread.is_alive() and time.monotonic() < deadline:
                thread.join(min(0.5, max(0.0, deadline - time.monotonic())))
    except KeyboardInterrupt:
        console.print("stopped", style="dim")
    finally:
        server.should_exit = True
        thread.join(10)
        service.db.dispose()
    return report


def _play(client: httpx.Client, planned: list[tuple[float, dict[str, Any]]],
          settings: LiveDemoSettings, start_ms: int, clock: str, report: DemoReport,
          deadline: float | None) -> None:
    """Post each report when it falls due, in small batches; on the raid clock, tick the
    server through quiet spells so holds and timeouts run at the same pace."""
    encoder = msgspec.json.Encoder()
    i = 0
    last_post = time.time()
    while i < len(planned):
        if deadline is not None and time.monotonic() >= deadline:
            return
        now_ms = time.time() * 1000
        due = planned[i][0]
        if due > now_ms:
            if clock == "events" and time.time() - last_post >= 1.0 and now_ms > start_ms:
                _tick(client, _raid_time(now_ms, start_ms, settings.speed), encoder)
                last_post = time.time()
            time.sleep(min((due - now_ms) / 1000, 0.25))
            continue
        batch: list[dict[str, Any]] = []
        while (i < len(planned) and len(batch) < settings.max_batch
               and planned[i][0] <= now_ms + settings.batch_s * 1000):
            batch.append(planned[i][1])
            i += 1
        answer = _post(client, b"".join(encoder.encode(e) + b"\n" for e in batch))
        report.events_posted += len(batch)
        report.events_accepted += int(answer.get("accepted", 0))
        last_post = time.time()


def _wait_for_all_clear(client: httpx.Client, service: Any, settings: LiveDemoSettings,
                        start_ms: int, clock: str, report: DemoReport,
                        deadline: float | None) -> None:
    """After the last report: wait until no zone is warned and no threat is tracked."""
    encoder = msgspec.json.Encoder()
    while deadline is None or time.monotonic() < deadline:
        if not service.active() and not service.engine.active_threats:
            report.raid_done = True
            return
        if clock == "events":
            _tick(client, _raid_time(time.time() * 1000, start_ms, settings.speed), encoder)
        time.sleep(0.5 if clock == "wall" else 1.0 / max(1.0, min(settings.speed, 4.0)))


def _raid_time(now_ms: float, start_ms: int, speed: float) -> int:
    return int(start_ms + (now_ms - start_ms) * speed)


def _tick(client: httpx.Client, t_ms: int, encoder: msgspec.json.Encoder) -> None:
    _post(client, encoder.encode({"type": "tick", "t": format_time(t_ms)}) + b"\n")


def _post(client: httpx.Client, body: bytes) -> dict[str, Any]:
    try:
        response = client.post("/v1/events", content=body,
                               headers={"Content-Type": "application/x-ndjson"})
    except httpx.HTTPError as error:
        raise DemoError(f"posting reports to the demo server failed: {error}") from None
    if response.status_code not in (200, 422):  # 422: none taken (too late), as it says
        raise DemoError(f"the demo server refused reports: HTTP {response.status_code} "
                        f"{response.text[:300]}")
    answer: dict[str, Any] = response.json()
    return answer


def _summary(console: Console, report: DemoReport, settings: LiveDemoSettings,
             out: Path) -> None:
    console.print()
    state = ("the raid is over and every zone is clear" if report.raid_done
             else "stopped before the raid was over (--duration-s)")
    console.print(f"[bold]summary[/]: {state}")
    only_pre = report.pre_alerted - report.alerted
    messages = ", ".join(f"{n} {kind}" for kind, n in sorted(report.messages.items()))
    console.print(
        f"  {report.threats} threats, {report.events_accepted} of {report.events_posted} "
        f"reports accepted; {report.decisions} decisions: {len(report.alerted)} of "
        f"{report.zones} zones alerted, {len(only_pre)} more pre-alerted only",
        highlight=False, soft_wrap=True)
    console.print(f"  CAP messages issued (signed): {sum(report.messages.values())}"
                  + (f" ({messages})" if messages else ""), highlight=False, soft_wrap=True)
    console.print(f"  look at: {report.url} · {report.url}v1/history · "
                  f"{report.url}v1/cap/feed.atom", highlight=False, soft_wrap=True)
    console.print(f"  the log: {report.db_url} (events and decisions); the reports posted: "
                  f"{out / 'events.jsonl'}", highlight=False, soft_wrap=True)


def _span(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _fresh_sqlite(db_url: str, keys: Path) -> None:
    """Remove the demo's SQLite file (and its WAL) so each run starts from an empty log, and
    the demo's record of that log's end (a server refuses a store it wrote that was wiped)."""
    from sqlalchemy.engine import make_url

    from airwarn.store.integrity import Anchor

    try:
        url = make_url(db_url)
    except Exception as error:  # sqlalchemy raises ArgumentError, and worse on odd input
        raise DemoError(f"--db {db_url!r} is not a store URL: {error}") from None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return  # another store: used as it is (the service refuses one with other zones)
    path = Path(url.database)
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    Anchor(keys, url).clear()


def _write_events(events: list[dict[str, Any]], path: Path) -> None:
    encoder = msgspec.json.Encoder()
    path.write_bytes(b"".join(encoder.encode(e) + b"\n" for e in events))


def run_demo(out: Path, seed: int, console: Console) -> dict[str, Score]:
    """The offline chain: write zones, events, truth and decisions under `out`; return the
    scores by policy (the engine beside the reference policies)."""
    out.mkdir(parents=True, exist_ok=True)
    zones_list = demo_zones()
    zones_path = out / "zones.geojson"
    write_zones(zones_list, zones_path)
    zones = ZoneSet(zones_list)
    console.print(f"zones: {len(zones)} generated cells, shelter 15-90 s -> {zones_path}")
    events, truth = simulate(zones, "mixed", seed)
    write_simulation(events, truth, out)
    console.print(f"raid: {len(truth['threats'])} threats, {len(events)} sensor reports -> "
                  f"{out / 'events.jsonl'}")
    config = EngineConfig()
    decisions_path = out / "decisions.jsonl"
    with (out / "events.jsonl").open("rb") as source, decisions_path.open("wb") as sink:
        result = replay_lines(zones, source, sink, config=config)
    console.print(f"engine: {result.decisions} decisions -> {decisions_path}")
    from airwarn.contract import decode_decision

    with decisions_path.open("rb") as handle:
        ours = [decode_decision(line) for line in handle]
    scores = {"engine": score(zones, truth, ours, hold_s=config.hold_s)}
    for name in ("reach", "region"):
        theirs = run_policy(zones, out / "events.jsonl", name, config)
        scores[name] = score(zones, truth, theirs, hold_s=config.hold_s)
    console.print(format_table(scores))
    return scores
