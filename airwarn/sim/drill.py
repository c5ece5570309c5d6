"""`airwarn drill`: a simulated raid posted to a running server as a sensor, marked as a drill.

Civil-defence agencies drill the whole chain (sensors, engine, CAP, sirens and apps) on the
deployment they rely on. A drill here is one more sensor: it posts Contract v1 tracks and ends
over HTTP, each marked `"status": "exercise"` (a drill) or `"test"` (a system test). The server
runs such threats in an engine of their own: they never change a zone's real level, and every
decision they cause carries the status, so CAP goes out as Exercise or Test, MQTT publishes on
`drills/` and never on `zones/`, and webhooks and Web Push carry the status. Nothing here can
post an `actual` threat.

The raid is `airwarn.sim.scenarios.simulate`'s on the zones given, moved to start `lead_s` from
now (`airwarn.sim.demo.schedule`), its threat ids tagged with the drill's lane and start time,
so that a second drill never reuses an id the server has seen end. At speed 1 each report is
dated now and posted as it falls due, as a live sensor's would be; faster only on a lab server
(`--clock events`), where the reports keep their spacing in event time (flights stay physical)
and go `speed` times faster.

Posting is the gateway's (`airwarn.gateway`): every `batch_s` the reports fallen due go as one
batch into a bounded spool on disk, and the poster posts them with Idempotency-Keys, retries
with backoff, and sets aside a batch the server refuses whole. Before anything is posted the
server is checked (`/healthz` answers; its clock allows the speed; it takes this token's posts;
it serves the zones the raid flies over); afterwards the drill's warnings are read back from
the server (`/v1/history?status=...`, the decisions that name the drill's threats).
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec

from airwarn.contract import format_time, parse_time
from airwarn.engine.zones import ZoneSet
from airwarn.errors import AirwarnError, EventError, SettingError
from airwarn.gateway.poster import Poster
from airwarn.gateway.spool import Spool
from airwarn.lanes import threat_owner
from airwarn.sim.demo import schedule
from airwarn.sim.evaluate import Score
from airwarn.sim.scenarios import SCENARIOS, simulate
from airwarn.urls import shown

DRILL_STATUSES = ("exercise", "test")
READ_TIMEOUT_S = 5.0  # the checks and the read-back: a server that answers at all answers fast
# on a lab server, a raid starts this long after the newest decision it holds: its clock may
# stand ahead of the wall (an earlier sped-up raid), and a report older than its clock's
# reorder window would be refused
LAB_MARGIN_MS = 10 * 60_000
HISTORY_PAGES = 20  # the read-back reads at most this many pages of 1,000 decisions


class DrillError(AirwarnError):
    """The drill cannot go on: the server is not there, refuses the token, or stopped taking
    reports. `setting` names the setting at fault, if one is (`server`)."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.setting = setting


@dataclass(frozen=True)
class DrillSettings:
    """How a drill runs; built by the CLI from its flags."""

    server: str  # the server's base URL, http:// or https://
    token: str  # a sensor's
    origin: str = "this token"  # where the token came from (AIRWARN_TOKEN, a file), for messages
    scenario: str = "rockets"
    seed: int = 1
    count: int | None = None
    status: str = "exercise"
    speed: float = 1.0
    lead_s: float = 5.0  # the raid's first report falls due this long after the checks
    buffer: Path | None = None  # the spool's folder; None: a temporary one
    buffer_bytes: int = 64 * 1024 * 1024
    batch_s: float = 0.5  # reports fallen due are spooled together this often
    max_batch: int = 2_000  # lines a batch holds at most (the server takes 20,000)
    post_events: int = 5_000  # batches waiting for the server go together up to this
    drain_s: float = 60.0  # after the last report, how long to wait for the server to take all
    stop_drain_s: float = 3.0  # on a stop, how long the batch being posted may take


@dataclass(frozen=True)
class ServerFacts:
    """What the server said of itself before the drill."""

    url: str  # as shown: without credentials
    clock: str | None  # wall or events, if /healthz says
    last_seq: int  # its newest decision before the drill
    problems: list[str] = field(default_factory=list)  # what it says fails, if anything
    skew_s: float | None = None  # this machine's clock minus the server's (its Date header)


@dataclass(frozen=True)
class DrillPlan:
    """The raid as it will be posted."""

    planned: list[tuple[float, dict[str, Any]]]  # (wall ms it falls due, the report)
    raid_s: list[float]  # each report's time into the raid
    tag: str  # the prefix of the drill's threat ids
    kinds: Counter[str]  # threats by kind
    start_ms: int  # the raid's first report, in event time
    wall_start_ms: int  # when it falls due
    truth: dict[str, Any] = field(default_factory=dict)  # moved and tagged as the reports are

    @property
    def span_s(self) -> float:
        return self.raid_s[-1] if self.raid_s else 0.0


@dataclass
class DrillWarnings:
    """The drill's warnings, as the server reports them."""

    decisions: int = 0
    alerted: set[str] = field(default_factory=set)
    pre_alerted: set[str] = field(default_factory=set)  # at pre-alert, never at alert
    under_drill_now: int = 0  # zones the lane holds now (any drill of this status)
    # every decision on the lane since the drill began, its own or not, oldest first
    seen: list[dict[str, Any]] = field(default_factory=list)
    # the zones the lane held when the drill began (an earlier drill's hold, an operator's
    # drill alert), by id: what they were at before the first decision read back
    held_before: dict[str, str] = field(default_factory=dict)
    truncated: bool = False  # more than HISTORY_PAGES pages: the oldest were not read


@dataclass
class DrillReport:
    """What the drill did: for its summary and for tests."""

    total: int  # reports in the raid
    queued: int = 0  # handed to the spool
    posted: int = 0  # answered by the server
    accepted: int = 0
    rejected: int = 0  # lines refused in an answer, or in a batch refused whole
    first_rejection: str | None = None
    unposted: int = 0  # still in the spool at the end
    stopped: bool = False  # by Ctrl-C or SIGTERM
    failure: str | None = None  # why posting ended early (a refused token, a full spool)
    left_in: Path | None = None  # where the unposted batches stay (--buffer)
    warnings: DrillWarnings | None = None
    warnings_error: str | None = None  # why they could not be read
    score: Score | None = None  # the drill against its truth, from its warnings
    score_error: str | None = None  # why it could not be scored
    record: Path | None = None  # where it was written (--out)
    record_error: str | None = None  # why it could not be written there

    @property
    def warned_in_time(self) -> bool:
        """No impact in a zone missed or warned late (or none scored)."""
        total = None if self.score is None else self.score.total
        return total is None or (total.missed == 0 and total.late == 0)

    @property
    def all_accepted(self) -> bool:
        return self.accepted == self.total and self.rejected == 0


def check_settings(settings: DrillSettings) -> str:
    """The server's base URL, checked; a SettingError for what the command line got wrong."""
    if settings.status not in DRILL_STATUSES:
        raise SettingError(
            f"a drill posts exercise (a drill) or test (a system test), not "
            f"{settings.status!r}: it never posts a real threat; real alerts are an "
            "operator's, through POST /v1/actions",
            setting="status",
        )
    if settings.scenario not in SCENARIOS:
        raise SettingError(
            f"one of {', '.join(SCENARIOS)}, not {settings.scenario!r}", setting="scenario"
        )
    if settings.speed <= 0:
        raise SettingError(f"above 0, not {settings.speed:g}", setting="speed")
    try:
        parts = urlsplit(settings.server)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise SettingError(
            "the server's base URL, http:// or https://, such as http://127.0.0.1:8000; not "
            f"{shown(settings.server)!r}",
            setting="server",
        )
    return settings.server.rstrip("/")


def check_server(client: httpx.Client, settings: DrillSettings) -> ServerFacts:
    """`/healthz` answers as an airwarn server's does, and its clock allows the speed."""
    url = shown(settings.server)
    try:
        response = client.get("/healthz")
    except httpx.TimeoutException:
        raise DrillError(
            f"{url} did not answer /healthz within {READ_TIMEOUT_S:g} s: is the server up "
            "and is this its address?",
            setting="server",
        ) from None
    except httpx.HTTPError as error:
        raise DrillError(
            f"cannot reach {url} ({_transport(error)}): start the server "
            "(`airwarn serve`) or check the URL and port",
            setting="server",
        ) from None
    try:
        health = response.json() if response.status_code == 200 else None
    except ValueError:
        health = None
    if not isinstance(health, dict) or "last_seq" not in health:
        raise DrillError(
            f"{url}/healthz answered HTTP {response.status_code}, not as an airwarn server "
            "does: is this the server's base URL?",
            setting="server",
        )
    clock = health.get("clock") if isinstance(health.get("clock"), str) else None
    if clock == "wall" and settings.speed != 1:
        raise SettingError(
            f"{settings.speed:g} on a wall-clock server: a drill there runs in real time "
            "(the server's clock moves the engine, and a report ahead of it is refused). "
            "Run it at 1, or drill a lab server (`airwarn serve --clock events`)",
            setting="speed",
        )
    problems = health.get("problems")
    return ServerFacts(
        url=url,
        clock=clock,
        last_seq=int(health.get("last_seq") or 0),
        problems=[str(p) for p in problems] if isinstance(problems, list) else [],
        skew_s=_skew_s(response),
    )


def check_token(client: httpx.Client, settings: DrillSettings) -> None:
    """The server takes tracks from this token: an empty POST /v1/events, whose body the
    server looks at only once the token may post (answered 422, `the body is empty`), so that
    a wrong token is told before a report goes, with nothing posted."""
    try:
        response = client.post(
            "/v1/events",
            content=b"",
            headers={
                "Authorization": f"Bearer {settings.token}",
                "Content-Type": "application/x-ndjson",
            },
        )
    except httpx.HTTPError as error:
        raise DrillError(
            f"{shown(settings.server)} did not answer a post ({_transport(error)})",
            setting="server",
        ) from None
    if response.status_code in (401, 403):
        raise DrillError(
            f"the server refuses {settings.origin} (HTTP {response.status_code}: "
            f"{_error(response)}). A drill posts as a sensor: make a token with "
            "`airwarn tokens create --role sensor --name drill-1`"
        )


def check_zones(client: httpx.Client, zones: ZoneSet) -> str | None:
    """The raid's zones are the server's: a SettingError when none is (the drill would warn no
    one), a note when only some are."""
    try:
        response = client.get("/v1/zones")
        served = {z["id"] for z in response.json()} if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, TypeError, KeyError):
        served = None
    if served is None:
        return "could not read the server's zones (GET /v1/zones): the raid's are not checked"
    ours = set(zones.ids)
    common = len(ours & served)
    if common == 0:
        raise SettingError(
            f"none of its {len(ours):,} zones is one of the {len(served):,} the server "
            "serves: the drill would warn no one. Give the zone set the server runs with "
            "(as `airwarn serve --zones` was given)",
            setting="zones",
        )
    if common < len(ours):
        return (
            f"{len(ours) - common:,} of the {len(ours):,} zones the raid flies over are not "
            "the server's: the server warns its own zones only"
        )
    return None


def newest_decision_ms(client: httpx.Client) -> int | None:
    """The time of the newest decision the server holds, if any (a lab server's clock stands
    at least there)."""
    try:
        response = client.get("/v1/history", params={"limit": 1})
        decisions = response.json().get("decisions") if response.status_code == 200 else None
        return parse_time(decisions[0]["t"]) if decisions else None
    except (httpx.HTTPError, ValueError, TypeError, KeyError, AttributeError, EventError):
        return None


def plan_drill(
    zones: ZoneSet, settings: DrillSettings, now_ms: int, lab_floor_ms: int | None = None
) -> DrillPlan:
    """The raid on `zones`, each track and end marked with the drill's status and its threat
    tagged, moved to fall due `lead_s` after `now_ms`. On a lab server (`lab_floor_ms`, its
    newest decision) the raid's event time starts after it."""
    wall_start_ms = now_ms + int(settings.lead_s * 1000)
    start_ms = wall_start_ms
    if lab_floor_ms is not None:
        start_ms = max(start_ms, lab_floor_ms + LAB_MARGIN_MS)
    # to the millisecond: two drills started in the same second have ids of their own
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now_ms / 1000))
    tag = f"{settings.status}-{stamp}{now_ms % 1000:03d}Z-"
    events, truth = simulate(zones, settings.scenario, settings.seed, count=settings.count)
    marked = []
    for event in events:
        if event.get("type") not in ("track", "end"):
            continue  # a sensor posts tracks and ends only; the simulator makes no other
        marked.append({**event, "threat": tag + str(event["threat"]), "status": settings.status})
    planned = schedule(marked, start_ms, settings.speed, wall_start_ms)
    first_ms = min((parse_time(e["t"]) for e in marked), default=start_ms)
    return DrillPlan(
        planned=planned,
        raid_s=[(parse_time(e["t"]) - start_ms) / 1000 for _, e in planned],
        tag=tag,
        kinds=Counter(str(t["kind"]) for t in truth["threats"]),
        start_ms=start_ms,
        wall_start_ms=wall_start_ms,
        truth=moved_truth(truth, start_ms - first_ms, tag),
    )


def moved_truth(truth: dict[str, Any], offset_ms: int, tag: str) -> dict[str, Any]:
    """The raid's truth moved as its reports were (`offset_ms`), its threats tagged."""

    def moved(t: str) -> str:
        return format_time(parse_time(t) + offset_ms)

    threats = []
    for threat in truth.get("threats") or []:
        row = {**threat, "threat": tag + str(threat["threat"])}
        for key in ("first_report_t", "end_t"):
            if row.get(key):
                row[key] = moved(row[key])
        for key in ("launch", "impact"):
            if isinstance(row.get(key), dict) and row[key].get("t"):
                row[key] = {**row[key], "t": moved(row[key]["t"])}
        threats.append(row)
    return {**truth, "start": moved(truth["start"]), "threats": threats}


def drill_record(
    plan: DrillPlan, warnings: DrillWarnings, status: str, posted: int
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """What the drill is scored on: its truth, cut at the last report posted, and the lane's
    decisions, oldest first, from what it held when the drill began. None when no report
    went."""
    if not posted:
        return None
    if warnings.truncated:
        raise DrillError(
            f"the lane holds more than {HISTORY_PAGES * 1000:,} decisions since the drill "
            "began, and only the newest were read back; score it from the server's history "
            "with `airwarn evaluate --status`"
        )
    reached_ms = parse_time(plan.planned[posted - 1][1]["t"])
    truth = {
        **plan.truth,
        "threats": [
            t
            for t in plan.truth["threats"]
            if t.get("impact") is None or parse_time(t["impact"]["t"]) <= reached_ms
        ],
    }
    # a zone the lane already held when the drill began takes no decision when the drill's
    # threat takes it: it is at that level from the start
    start = format_time(plan.start_ms - 1)
    held: list[dict[str, Any]] = [
        {
            "seq": 0,
            "t": start,
            "zone": zone,
            "level": level,
            "threats": [],
            "kind": None,
            "status": status,
        }
        for zone, level in sorted(warnings.held_before.items())
    ]
    return truth, held + warnings.seen


def write_record(
    folder: Path, plan: DrillPlan, posted: int, record: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    """The drill as files `airwarn evaluate` reads: the reports posted (`events.jsonl`), its
    truth (`truth.json`) and the lane's decisions (`decisions.jsonl`)."""
    truth, decisions = record
    encode = msgspec.json.Encoder().encode
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "events.jsonl").write_bytes(
        b"".join(encode(event) + b"\n" for _, event in plan.planned[:posted])
    )
    (folder / "truth.json").write_bytes(msgspec.json.format(encode(truth), indent=2) + b"\n")
    (folder / "decisions.jsonl").write_bytes(b"".join(encode(d) + b"\n" for d in decisions))


def lane_now(client: httpx.Client, status: str) -> dict[str, str]:
    """The zones a drill lane holds now, by id: their level on it (`/v1/zones`)."""
    response = client.get("/v1/zones")
    response.raise_for_status()
    return {
        str(z["id"]): str(z["drill"]["level"])
        for z in response.json()
        if (z.get("drill") or {}).get("status") == status
    }


Progress = Callable[[int, int, float], None]  # (reports posted, of how many, raid seconds)


def post_drill(
    plan: DrillPlan,
    settings: DrillSettings,
    stop: threading.Event,
    progress: Progress,
    say: Callable[[str], None],
) -> DrillReport:
    """Post the raid, each report when it falls due, until it is all taken, or `stop` is set,
    or the server refuses the token; what happened, counted."""
    report = DrillReport(total=len(plan.planned))
    with _spool_folder(settings.buffer) as folder:
        spool = Spool(folder, settings.buffer_bytes)
        if spool.recovered:
            raise SettingError(
                f"{folder} holds {spool.events} reports an earlier drill did not post, dated "
                "then: delete them (its *.jsonl and *.post files; refused/ may stay) or give "
                "another folder",
                setting="buffer",
            )
        poster = Poster(
            spool,
            settings.server,
            settings.token,
            timeout_s=10.0,
            post_events=settings.post_events,
            log=say,
        )
        poster.start()
        try:
            _feed(plan, settings, spool, poster, stop, progress, report)
            if report.failure is None:
                _drain(plan, settings, spool, poster, stop, progress, report)
        finally:
            if stop.is_set():
                report.stopped = True
                spool.wait_empty(settings.stop_drain_s)  # the batch in flight, if any
            poster.stop()
            poster.join(timeout=12)
            _count(plan, spool, poster, report)
            progress(report.posted, report.total, _raid_s(plan, report.posted))
            if report.unposted and settings.buffer is not None:
                report.left_in = folder
    return report


def _feed(
    plan: DrillPlan,
    settings: DrillSettings,
    spool: Spool,
    poster: Poster,
    stop: threading.Event,
    progress: Progress,
    report: DrillReport,
) -> None:
    """Spool the reports as they fall due, a batch every `batch_s`."""
    encode = msgspec.json.Encoder().encode
    planned = plan.planned
    i = 0
    while i < len(planned) and not stop.is_set():
        if _token_refused(poster, settings, report):
            return
        now_ms = time.time() * 1000
        lines: list[bytes] = []
        while i < len(planned) and len(lines) < settings.max_batch and planned[i][0] <= now_ms:
            lines.append(encode(planned[i][1]))
            i += 1
        if lines:
            if spool.put(lines) is None:
                why = spool.write_error or "the server has not taken reports for a while"
                report.failure = (
                    f"the drill's buffer is full ({why}; last error: {poster.counts.last_error})"
                )
                return
            report.queued += len(lines)
        posted = report.queued - spool.events
        progress(posted, report.total, _raid_s(plan, posted))
        if i < len(planned):
            wait_s = max(0.0, (planned[i][0] - now_ms) / 1000)
            stop.wait(min(max(wait_s, 0.05), settings.batch_s))


def _drain(
    plan: DrillPlan,
    settings: DrillSettings,
    spool: Spool,
    poster: Poster,
    stop: threading.Event,
    progress: Progress,
    report: DrillReport,
) -> None:
    """After the last report: wait for the server to take what the spool holds."""
    deadline = time.monotonic() + settings.drain_s
    while len(spool) and not stop.is_set() and time.monotonic() < deadline:
        if _token_refused(poster, settings, report):
            return
        spool.wait_empty(0.25)
        posted = report.queued - spool.events
        progress(posted, report.total, _raid_s(plan, posted))
    if len(spool) and not stop.is_set():
        report.failure = (
            f"the server did not take the last reports within {settings.drain_s:g} s "
            f"(last error: {poster.counts.last_error})"
        )


def _token_refused(poster: Poster, settings: DrillSettings, report: DrillReport) -> bool:
    """The server refuses the token now (it was revoked during the drill): stop posting."""
    counts = poster.counts
    error = counts.last_error or ""
    if counts.down_since is None or not error.startswith(("401", "403")):
        return False
    report.failure = f"the server refuses {settings.origin} now ({error})"
    return True


def _count(plan: DrillPlan, spool: Spool, poster: Poster, report: DrillReport) -> None:
    counts = poster.counts
    report.unposted = spool.events
    report.posted = report.queued - spool.events
    report.accepted = counts.events
    report.rejected = counts.rejected_lines + counts.refused_lines
    report.first_rejection = counts.first_rejection or counts.first_refusal


def _raid_s(plan: DrillPlan, posted: int) -> float:
    return plan.raid_s[posted - 1] if posted > 0 else 0.0


def drill_warnings(
    client: httpx.Client,
    plan: DrillPlan,
    status: str,
    since_seq: int,
    held_before: dict[str, str] | None = None,
) -> DrillWarnings:
    """The decisions on the drill's lane since `since_seq`, as `/v1/history` has them (newest
    first, a page at a time; those the drill's threats caused counted apart), and how many
    zones the lane holds now (`/v1/zones`). `held_before`: what it held when the drill began."""
    found = DrillWarnings(held_before=dict(held_before or {}))
    before: int | None = None
    for _ in range(HISTORY_PAGES):
        params: dict[str, Any] = {"status": status, "limit": 1000}
        if before is not None:
            params["before_seq"] = before
        response = client.get("/v1/history", params=params)
        response.raise_for_status()
        decisions = [d for d in response.json()["decisions"] if d["seq"] > since_seq]
        for decision in decisions:
            found.seen.append(decision)
            if any(threat_owner(t)[1].startswith(plan.tag) for t in decision["threats"]):
                found.decisions += 1
                if decision["level"] == "alert":
                    found.alerted.add(decision["zone"])
                elif decision["level"] == "pre_alert":
                    found.pre_alerted.add(decision["zone"])
        if len(decisions) < 1000:
            break  # the last page, or one that reached back to before the drill
        before = decisions[-1]["seq"]
    else:
        found.truncated = True  # the oldest were not read back
    found.pre_alerted -= found.alerted
    found.seen.sort(key=lambda d: int(d["seq"]))  # oldest first, as a log is scored
    found.under_drill_now = len(lane_now(client, status))
    return found


@contextlib.contextmanager
def _spool_folder(buffer: Path | None) -> Iterator[Path]:
    if buffer is not None:
        yield buffer
        return
    with tempfile.TemporaryDirectory(prefix="airwarn-drill-") as folder:
        yield Path(folder)


def _skew_s(response: httpx.Response) -> float | None:
    """This machine's clock minus the server's, by the answer's Date header (to a second)."""
    date = response.headers.get("date")
    if not date:
        return None
    try:
        server_s = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return None
    return time.time() - server_s


def _transport(error: httpx.HTTPError) -> str:
    text = str(error) or type(error).__name__
    if "refused" in text.lower():
        return "connection refused: nothing listens there"
    return text


def _error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    return str(body.get("error", body))[:300] if isinstance(body, dict) else str(body)[:300]
