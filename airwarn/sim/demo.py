"""`airwarn demo`: the service, live, on a simulated raid, with nothing to set up.

`run_live_demo` opens the service on a real zone layer shipped in the package (or another zone
set) and its own SQLite file, kept between runs, serves it over HTTP in a background thread,
prints the public page's and the console's addresses with a ready operator token, and plays a
simulated raid into it the way a sensor would: each report posted over HTTP (with a sensor
token) at the moment it falls due. Every change of a zone's level is printed as it happens,
from a listener on the service, so what the terminal shows is what the live feeds
(`/v1/stream`, the page at `/`, the console) send.

Time: at `speed` 1 the raid runs in real time on the server's wall clock, exactly as a live
deployment would. At another speed the reports keep their true times (so the flights stay
physical: a rocket sped up four times would look like one under 16 g, and the filters would
rightly disbelieve it) and the server runs on the raid's clock instead (`--clock events`, as
for replays): the demo posts the reports `speed` times faster than real time, and moves the
service's clock through the quiet spells itself.

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
from airwarn.engine.replay import replay_lines, run_policy
from airwarn.engine.zones import ZoneSet, write_zones
from airwarn.errors import AirwarnError
from airwarn.lanes import threat_owner
from airwarn.sim.demo_zones import demo_zones
from airwarn.sim.evaluate import Score, format_table, score
from airwarn.sim.layers import DemoZones
from airwarn.sim.scenarios import simulate, write_simulation

POST_TIMEOUT_S = 15.0  # a batch of reports is answered in well under a second; never wait long
RAID_WORDS = {
    "rockets": "rocket",
    "ballistic": "ballistic-missile",
    "cruise": "cruise-missile",
    "drones": "drone",
    "mixed": "mixed",
}
LEVEL_STYLE = {
    "alert": ("ALERT", "bold white on red"),
    "pre_alert": ("pre-alert", "bold yellow"),
    "clear": ("clear", "green"),
}


class DemoError(AirwarnError):
    """The live demo cannot start (a port in use, a store it may not recreate...)."""


@dataclass(frozen=True)
class LiveDemoSettings:
    """How the live demo runs; built by the CLI from its flags."""

    out: Path = Path("airwarn-demo")  # its stores (one folder per layer), keys, events.jsonl
    db_url: str | None = None  # default: see store_url
    fresh: bool = False  # start from an empty store (else the last run's is kept)
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

    def __init__(
        self, zones: ZoneSet, console: Console, report: DemoReport, raid_start_ms: int
    ) -> None:
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
            highlight=False,
            soft_wrap=True,
        )


def schedule(
    events: list[dict[str, Any]], start_ms: int, speed: float, wall_start_ms: int | None = None
) -> list[tuple[float, dict[str, Any]]]:
    """The raid moved to start at `start_ms`: each event with its new time and the wall time
    (ms) it is due to be posted. Spacing in event time is kept; posting runs `speed` times
    faster than it. Order is kept too (a late report stays after the ones it trails)."""
    if not events:
        return []
    first = min(parse_time(e["t"]) for e in events)
    planned = []
    wall = start_ms if wall_start_ms is None else wall_start_ms
    due = float(wall)
    for event in events:
        offset = parse_time(event["t"]) - first
        moved = {**event, "t": format_time(start_ms + offset)}
        due = max(due, wall + offset / speed)
        planned.append((due, moved))
    return planned


def run_live_demo(
    chosen: DemoZones,
    settings: LiveDemoSettings,
    console: Console,
    err: Console,
    started: threading.Event | None = None,
) -> DemoReport:
    """Serve the service on `chosen` zones, play the raid into it over HTTP, print its
    warnings, summarise.

    The store is kept between runs (one per layer and clock, see `store_url`) unless
    `settings.fresh`. `started` is set once the server answers, for callers that watch it.
    """
    from airwarn.server import ServerSettings, build
    from airwarn.store.tokens import create_token, list_tokens
    from airwarn.web import WebSettings
    from airwarn.web.runner import Runner
    from airwarn.web.runner import config as runner_config

    if settings.speed <= 0:
        raise DemoError(f"--speed must be above 0, not {settings.speed}")
    clock = "wall" if settings.speed == 1 else "events"
    out = settings.out / chosen.layer
    try:
        settings.out.mkdir(mode=0o700, parents=True, exist_ok=True)
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise DemoError(
            f"cannot make the demo's folder {out}: {error.strerror}; choose another --out"
        ) from None
    db_url = settings.db_url or store_url(settings.out, chosen.layer, clock)
    if settings.fresh:
        _fresh_sqlite(db_url, settings.out / "keys")
    built = build(
        ServerSettings(
            zones=chosen.zones,
            db=db_url,
            keys=settings.out / "keys",
            clock=clock,
            hold_s=settings.hold_s,
            # the demo's raid comes from one sensor: room for all of it, however large
            max_threats_per_sensor=max(ServerSettings.max_threats_per_sensor, settings.count or 0),
            web=WebSettings(heartbeat_s=2.0),
        )
    )
    service = built.service
    zones = service.zones
    url = f"http://{_url_host(settings.host)}:{settings.port}"
    report = DemoReport(url=url + "/", zones=len(zones), db_url=db_url)
    now_ms = int(time.time() * 1000)
    wall_start_ms = now_ms + int(settings.lead_s * 1000)
    start_ms = wall_start_ms  # the raid's first report, in event time
    logged_ms = service.engine.clock_ms
    if logged_ms is not None and logged_ms >= start_ms:
        if clock == "wall":
            service.db.dispose()
            raise DemoError(
                f"the demo's store {db_url} holds events up to "
                f"{format_time(logged_ms)}, later than now: run with --fresh"
            )
        # a sped-up raid ran ahead of the wall: this one follows it on the raid clock
        start_ms = logged_ms + 60_000
    raid = RaidClock(start_ms, wall_start_ms, settings.speed)
    # the run's number in this store: its tokens' names, and its threats' ids after the
    # first run (an id the log has seen end is an old threat's, and its reports are stale)
    run = 1 + sum(1 for t in list_tokens(service.db) if str(t["name"]).startswith("demo-sensor-"))
    operator = create_token(service.db, "operator", f"demo-operator-{run}", now_ms)
    sensor = create_token(service.db, "sensor", f"demo-sensor-{run}", now_ms)

    # a stop that no open page holds open: live feeds are ended first (airwarn.web.runner)
    server = Runner(runner_config(built.app, settings.host, settings.port), lambda: None)

    def serve() -> None:
        with contextlib.suppress(SystemExit):  # uvicorn exits when it cannot bind the port
            server.run()

    thread = threading.Thread(target=serve, name="airwarn-demo-server", daemon=True)
    begun = time.monotonic()
    thread.start()
    while not server.started:
        if not thread.is_alive() or time.monotonic() - begun > 15:
            server.should_exit = True
            service.db.dispose()
            raise DemoError(
                f"the server did not start on {settings.host}:{settings.port} "
                "(is the port in use? try --port)"
            )
        time.sleep(0.05)
    deadline = None if settings.duration_s is None else begun + settings.duration_s
    try:
        if started is not None:
            started.set()
        events, truth = simulate(zones, settings.scenario, settings.seed, count=settings.count)
        if run > 1:
            events = [
                {**e, "threat": f"{e['threat']}-{run}"} if "threat" in e else e for e in events
            ]
        report.threats = len(truth["threats"])
        kinds = Counter(t["kind"] for t in truth["threats"])
        planned = schedule(events, start_ms, settings.speed, wall_start_ms)
        _write_events([e for _, e in planned], out / "events.jsonl")
        span_s = (planned[-1][0] - wall_start_ms) / 1000 if planned else 0.0
        what = RAID_WORDS.get(settings.scenario, settings.scenario)
        pace = (
            "in real time" if clock == "wall" else f"{settings.speed:g} times faster than real time"
        )
        threats = ", ".join(f"{n} {k}{'' if n == 1 else 's'}" for k, n in sorted(kinds.items()))
        console.print(
            f"[bold]airwarn demo[/]: a simulated {escape(what)} raid "
            f"({threats}) on {escape(chosen.title)}, {pace}; each warning is "
            "printed below as the service decides it.",
            soft_wrap=True,
            highlight=False,
        )
        console.print(
            f"  public page  {url}/   (what people see: alerts as they happen)",
            highlight=False,
            soft_wrap=True,
        )
        console.print(
            f"  console      {url}/console#token={operator}   (signs you in as "
            "the demo's operator)",
            highlight=False,
            soft_wrap=True,
        )
        console.print(
            f"  operator token  {operator}   (for the console, or curl -H "
            "'Authorization: Bearer ...')",
            highlight=False,
            soft_wrap=True,
        )
        console.print(
            f"  API          {url}/docs   live feed {url}/v1/stream   CAP {url}/v1/cap/feed.atom",
            highlight=False,
            soft_wrap=True,
        )
        console.print(
            f"  raid         seed {settings.seed}, {len(events)} sensor reports over "
            f"{_span(span_s)}, hold {settings.hold_s} s; starting in "
            f"{max(0.0, (wall_start_ms - time.time() * 1000) / 1000):.0f} s. Store {db_url} "
            f"({'kept between runs; --fresh starts anew' if not settings.fresh else 'new'})",
            highlight=False,
            soft_wrap=True,
        )
        printer = _Printer(zones, console, report, start_ms)
        service.listeners.append(printer)
        with httpx.Client(
            base_url=url, timeout=POST_TIMEOUT_S, headers={"Authorization": f"Bearer {sensor}"}
        ) as client:
            _play(client, service, planned, settings, raid, clock, report, deadline)
            if report.events_posted == len(planned):
                _wait_for_all_clear(service, raid, clock, report, deadline)
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


def store_url(out: Path, layer: str, clock: str) -> str:
    """The demo's store for a layer and a clock: each layer has its own log (a log holds one
    zone set), and a sped-up raid runs on its own clock, which races ahead of the wall's."""
    return f"sqlite:///{out / layer / ('live.db' if clock == 'wall' else 'fast.db')}"


def _play(
    client: httpx.Client,
    service: Any,
    planned: list[tuple[float, dict[str, Any]]],
    settings: LiveDemoSettings,
    raid: RaidClock,
    clock: str,
    report: DemoReport,
    deadline: float | None,
) -> None:
    """Post each report when it falls due, in small batches; on the raid clock, move the
    service's clock through quiet spells so holds and timeouts run at the same pace (the
    demo's own process does that, as a server's wall clock would: clock ticks are not a
    sensor's to send)."""
    encoder = msgspec.json.Encoder()
    i = 0
    last_post = time.time()
    while i < len(planned):
        if deadline is not None and time.monotonic() >= deadline:
            return
        now_ms = time.time() * 1000
        due = planned[i][0]
        if due > now_ms:
            if clock == "events" and time.time() - last_post >= 1.0 and now_ms > raid.wall_ms:
                service.tick(raid.at(now_ms))
                last_post = time.time()
            time.sleep(min((due - now_ms) / 1000, 0.25))
            continue
        batch: list[dict[str, Any]] = []
        while (
            i < len(planned)
            and len(batch) < settings.max_batch
            and planned[i][0] <= now_ms + settings.batch_s * 1000
        ):
            batch.append(planned[i][1])
            i += 1
        answer = _post(client, b"".join(encoder.encode(e) + b"\n" for e in batch))
        report.events_posted += len(batch)
        report.events_accepted += int(answer.get("accepted", 0))
        last_post = time.time()


def _wait_for_all_clear(
    service: Any, raid: RaidClock, clock: str, report: DemoReport, deadline: float | None
) -> None:
    """After the last report: wait until no zone is warned and no threat is tracked."""
    while deadline is None or time.monotonic() < deadline:
        if not service.active() and not service.engine.active_threats:
            report.raid_done = True
            return
        if clock == "events":
            service.tick(raid.at(time.time() * 1000))
        time.sleep(0.5 if clock == "wall" else 1.0 / max(1.0, min(raid.speed, 4.0)))


@dataclass(frozen=True)
class RaidClock:
    """Where the raid's clock stands for a wall time: it starts at `start_ms` when the wall
    shows `wall_ms`, and runs `speed` times faster."""

    start_ms: int
    wall_ms: int
    speed: float

    def at(self, wall_now_ms: float) -> int:
        return int(self.start_ms + (wall_now_ms - self.wall_ms) * self.speed)


def _post(client: httpx.Client, body: bytes) -> dict[str, Any]:
    try:
        response = client.post(
            "/v1/events", content=body, headers={"Content-Type": "application/x-ndjson"}
        )
    except httpx.TimeoutException:
        raise DemoError(
            f"the demo server did not answer a batch of reports within "
            f"{POST_TIMEOUT_S:.0f} s; stopped"
        ) from None
    except httpx.HTTPError as error:
        raise DemoError(f"posting reports to the demo server failed: {error}") from None
    if response.status_code not in (200, 422):  # 422: none taken (too late), as it says
        raise DemoError(
            f"the demo server refused reports: HTTP {response.status_code} {response.text[:300]}"
        )
    answer: dict[str, Any] = response.json()
    return answer


def _summary(console: Console, report: DemoReport, settings: LiveDemoSettings, out: Path) -> None:
    console.print()
    state = (
        "the raid is over and every zone is clear"
        if report.raid_done
        else "stopped before the raid was over (--duration-s)"
    )
    console.print(f"[bold]summary[/]: {state}")
    only_pre = report.pre_alerted - report.alerted
    messages = ", ".join(f"{n} {kind}" for kind, n in sorted(report.messages.items()))
    console.print(
        f"  {report.threats} threats, {report.events_accepted} of {report.events_posted} "
        f"reports accepted; {report.decisions} decisions: {len(report.alerted)} of "
        f"{report.zones} zones alerted, {len(only_pre)} more pre-alerted only",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"  CAP messages issued (signed): {sum(report.messages.values())}"
        + (f" ({messages})" if messages else ""),
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"  look at: {report.url} · {report.url}v1/history · {report.url}v1/cap/feed.atom",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"  the log: {report.db_url} (events and decisions); the reports posted: "
        f"{out / 'events.jsonl'}",
        highlight=False,
        soft_wrap=True,
    )


def _span(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _fresh_sqlite(db_url: str, keys: Path) -> None:
    """Remove the demo's SQLite file (and its WAL) so that the run starts from an empty log, and
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
    console.print(
        f"raid: {len(truth['threats'])} threats, {len(events)} sensor reports -> "
        f"{out / 'events.jsonl'}"
    )
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
