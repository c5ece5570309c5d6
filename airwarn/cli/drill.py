"""`airwarn drill`: drill a running server with a simulated raid, posted as a sensor and marked
as an exercise or a test (the work is `airwarn.sim.drill`)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from airwarn.cli.common import FAILURE, INTERRUPTED, USAGE, err, fail, flag
from airwarn.errors import AirwarnError
from airwarn.layers.report import plural

if TYPE_CHECKING:
    from airwarn.engine.zones import ZoneSet
    from airwarn.sim.drill import DrillPlan, DrillReport, DrillSettings, ServerFacts

TOKEN_ENV = "AIRWARN_TOKEN"  # noqa: S105 (the variable's name, not a token)
SKEW_WARN_S = 3.0  # a wall-clock server refuses reports 5 s ahead of it: warn well before


def drill(
    server: Annotated[
        str,
        typer.Option(
            "--server",
            "-s",
            help="The airwarn server's base URL (http:// or https://); a drill posts to "
            "/v1/events there, as a sensor.",
        ),
    ] = "http://127.0.0.1:8000",
    zones: Annotated[
        str | None,
        typer.Option(
            "--zones",
            "-z",
            show_default=False,
            help="The zones the raid flies over, as `airwarn serve --zones` takes them: a "
            "shipped layer (israel, ukraine, ukraine-raions, ukraine-oblasts, generated) or a "
            "zone file. Give the server's own; default: israel, as serve's.",
        ),
    ] = None,
    scenario: Annotated[
        str,
        typer.Option(
            help="rockets (a few minutes of flight), ballistic (~15 min), cruise (hours), "
            "drones or mixed (hours: on a wall-clock server the drill lasts as long)."
        ),
    ] = "rockets",
    count: Annotated[
        int | None, typer.Option(min=1, help="Threats in the raid (default: the scenario's own).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulated raid.")] = 1,
    status: Annotated[
        str,
        typer.Option(
            help="exercise (a drill: CAP status Exercise, headlines EXERCISE) or test (a "
            "system test: CAP Test). There is no way to post actual with this command: real "
            "alerts are an operator's, through the console or POST /v1/actions.",
        ),
    ] = "exercise",
    speed: Annotated[
        float,
        typer.Option(
            min=0.01,
            help="1: real time, as a live sensor posts (the only speed a wall-clock server "
            "takes). Above 1: faster, for a lab server run with --clock events (as `airwarn "
            "demo --speed` runs one); the flights keep their own times.",
        ),
    ] = 1.0,
    lead_s: Annotated[
        float,
        typer.Option(
            "--lead-s", min=0.0, help="Seconds from the checks to the raid's first report."
        ),
    ] = 5.0,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help=f"A file holding the sensor token (or set {TOKEN_ENV}); never give a token "
            "on the command line, where the process list shows it.",
        ),
    ] = None,
    buffer: Annotated[
        Path | None,
        typer.Option(
            "--buffer",
            show_default=False,
            help="Folder of the on-disk buffer of reports the server has not yet taken "
            "(refused batches are kept in its refused/ with the reason). Default: a temporary "
            "folder, removed at the end.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            show_default=False,
            help="Folder to write the drill to, for the record and to score it again: the "
            "reports posted (events.jsonl), the raid's truth at the drill's times (truth.json) "
            "and the decisions its lane took (decisions.jsonl); `airwarn evaluate --zones "
            "ZONES --status STATUS --truth OUT/truth.json --decisions OUT/decisions.jsonl`, "
            "with this drill's --zones and --status, gives the summary's score.",
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="No progress bar: errors and the summary only."),
    ] = False,
) -> None:
    """Drill a running server with a simulated raid: posted as a sensor, every track and end
    marked as an exercise (or a test), so no zone's real level changes.

    The server runs the drill's threats in an engine of their own, and every warning they
    cause is marked: CAP status Exercise or Test, MQTT on PREFIX/drills/ZONE (to which sirens
    do not subscribe, never on zones/), webhooks and Web Push with the status (to those
    subscribed to drills only), the console and the public page marked as a drill. It never
    posts a real (actual) threat.

    The server is checked first: /healthz must answer, its clock must allow the speed, it must
    take this token's posts. Reports are posted as they fall due, through a bounded buffer,
    with retries. At the end: reports posted, accepted and rejected, the drill's warnings as the
    server reports them, and the drill scored against its own truth as `airwarn evaluate`
    scores a raid: of the impacts in zones, how many the server missed or warned of late, and
    how early it warned. Exit 0 if every report was accepted and every impact was warned of in
    time, 1 otherwise.

    Ctrl-C stops posting. The drill's zones then clear by the engine's timeouts and holds, as
    a real raid's would, or at once by an operator's drill clear (POST /v1/actions with
    "action": "clear" and "status": "exercise", for the zones or the region), which the
    drill's threats may not take again. See docs/drills.md.

    Examples:
    AIRWARN_TOKEN=$SENSOR airwarn drill --server http://127.0.0.1:8000 --zones israel
    --scenario drones --count 3 --seed 1
    airwarn drill --token-file sensor.token --scenario rockets --count 2 --status test
    airwarn drill --token-file sensor.token --zones ukraine --scenario ballistic --speed 20
    (a lab server, run with --clock events)
    """
    from airwarn.layers.packaged import resolve_zones
    from airwarn.sim.drill import DrillError, DrillSettings, check_settings

    try:
        settings = DrillSettings(
            server=server,
            token="",
            scenario=scenario,
            seed=seed,
            count=count,
            status=status,
            speed=speed,
            lead_s=lead_s,
            buffer=buffer,
        )
        base = check_settings(settings)
        token, origin = _token(token_file)
        settings = replace(settings, token=token, origin=origin)
        zone_set = resolve_zones(zones)
    except AirwarnError as error:
        raise fail(error, USAGE) from None
    try:
        report = _run(zone_set, zones or "israel", settings, base, quiet, out)
    except DrillError as error:
        where = f"{flag(error.setting)}: " if error.setting else ""
        raise fail(where + error.message, FAILURE) from None
    except AirwarnError as error:  # a setting the server showed wrong (--speed, --zones)
        raise fail(error, USAGE) from None
    except KeyboardInterrupt:  # during the checks or the read-back; posting handles its own
        err.print("stopped (Ctrl-C); see /v1/history?status=" + status + " for what went out")
        raise typer.Exit(INTERRUPTED) from None
    if report.stopped:
        raise typer.Exit(INTERRUPTED)
    unscored = report.posted > 0 and report.score is None  # the read-back failed
    if (
        report.failure is not None
        or not report.all_accepted
        or not report.warned_in_time
        or unscored
        or report.record_error is not None
    ):
        raise typer.Exit(FAILURE)


def _token(token_file: Path | None) -> tuple[str, str]:
    """The sensor token, and where it came from (for messages, never the token itself)."""
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise AirwarnError(
                f"--token-file {token_file}: {(error.strerror or str(error)).lower()}"
            ) from None
        if not token:
            raise AirwarnError(f"--token-file {token_file} is empty")
        return token, f"the token in {token_file}"
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise AirwarnError(
            f"give a sensor token: set {TOKEN_ENV}, or --token-file FILE (make one with "
            "`airwarn tokens create --role sensor --name drill-1`); never on the command line"
        )
    return token, f"the token in {TOKEN_ENV}"


def _run(
    zones: ZoneSet,
    zones_given: str,
    settings: DrillSettings,
    base: str,
    quiet: bool,
    out: Path | None = None,
) -> DrillReport:
    import httpx

    from airwarn.sim.drill import (
        READ_TIMEOUT_S,
        DrillError,
        check_server,
        check_token,
        check_zones,
        drill_record,
        drill_warnings,
        lane_now,
        newest_decision_ms,
        plan_drill,
        post_drill,
        write_record,
    )
    from airwarn.sim.evaluate import score

    with httpx.Client(base_url=base, timeout=READ_TIMEOUT_S) as client:
        facts = check_server(client, settings)
        check_token(client, settings)
        note = check_zones(client, zones)
        try:  # what the lane holds already: the drill is scored from it
            held_before = lane_now(client, settings.status)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            raise DrillError(
                f"cannot read its zones' drill lanes (GET /v1/zones): {error}",
                setting="server",
            ) from None
        lab_floor = newest_decision_ms(client) if facts.clock == "events" else None
        plan = plan_drill(zones, settings, int(time.time() * 1000), lab_floor)
        if not quiet:
            _say_plan(plan, settings, facts, zones_given, len(zones))
        for line in [note, *_cautions(settings, facts)]:
            if line is not None:
                err.print(f"note: {escape(line)}", highlight=False, soft_wrap=True)
        with _stopper() as stop, _progress(quiet) as (console, progress):

            def say(text: str) -> None:
                console.print(text, markup=False, highlight=False, soft_wrap=True)

            report = post_drill(plan, settings, stop, progress, say)
        try:
            report.warnings = drill_warnings(
                client, plan, settings.status, facts.last_seq, held_before
            )
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            report.warnings_error = f"{type(error).__name__}: {error}"
        else:
            try:
                record = drill_record(plan, report.warnings, settings.status, report.posted)
                if record is not None:
                    report.score = score(zones, *record, status=settings.status)
                    if out is not None:
                        write_record(out, plan, report.posted, record)
                        report.record = out
            except AirwarnError as error:  # a decision of a zone the drill's zones lack
                report.score_error = str(error)
            except OSError as error:
                report.record_error = f"--out {out}: {error.strerror or error}"
    _summary(report, settings, facts)
    return report


def _say_plan(
    plan: DrillPlan, settings: DrillSettings, facts: ServerFacts, zones_given: str, zones: int
) -> None:
    from airwarn.sim.demo import RAID_WORDS

    what = RAID_WORDS.get(settings.scenario, settings.scenario)
    threats = ", ".join(f"{n} {k}{'' if n == 1 else 's'}" for k, n in sorted(plan.kinds.items()))
    pace = (
        "in real time" if settings.speed == 1 else f"{settings.speed:g} times faster than real time"
    )
    clock = f"{facts.clock} clock" if facts.clock else "clock not said"
    err.print(
        f"[bold]airwarn drill[/]: a simulated {escape(what)} raid ({threats}) on "
        f"{zones:,} zones ({escape(zones_given)}), every report marked "
        f"[bold]{settings.status.upper()}[/], posted as a sensor to {escape(facts.url)} "
        f"({clock}) {pace}: {len(plan.planned)} reports over {_span(plan.span_s)} of raid, "
        f"the first in {settings.lead_s:g} s. Threat ids start {escape(plan.tag)}.",
        highlight=False,
        soft_wrap=True,
    )


def _cautions(settings: DrillSettings, facts: ServerFacts) -> list[str]:
    out = []
    if facts.problems:
        out.append("the server says it is not ready: " + "; ".join(facts.problems))
    if facts.clock is None and settings.speed != 1:
        out.append(
            f"the server does not say its clock: --speed {settings.speed:g} needs one run with "
            "--clock events (a wall-clock server refuses reports ahead of its time)"
        )
    if facts.clock == "wall" and facts.skew_s is not None and abs(facts.skew_s) > SKEW_WARN_S:
        side = "ahead of" if facts.skew_s > 0 else "behind"
        out.append(
            f"this machine's clock is about {abs(facts.skew_s):.0f} s {side} the server's: "
            "the server refuses reports more than --max-skew-s (5 s) ahead of its clock and "
            "30 s behind it. Set both clocks right (NTP)"
        )
    return out


@contextmanager
def _stopper() -> Iterator[threading.Event]:
    """An event set by Ctrl-C or SIGTERM while the drill posts; the handlers put back after."""
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def _progress(quiet: bool) -> Iterator[tuple[Console, Any]]:
    """A progress bar on stderr (none with --quiet), and the console to print beside it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("posting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("reports · raid {task.fields[raid]}"),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
    )
    task = bar.add_task("drill", total=None, raid="T+00:00")

    def progress(posted: int, total: int, raid_s: float) -> None:
        whole = int(raid_s)
        bar.update(
            task, completed=posted, total=total, raid=f"T+{whole // 60:02d}:{whole % 60:02d}"
        )

    with bar:
        yield bar.console, progress


def _summary(report: DrillReport, settings: DrillSettings, facts: ServerFacts) -> None:
    out = Console(highlight=False, soft_wrap=True)
    status = settings.status
    if report.stopped:
        state = "stopped before the raid was over"
    elif report.failure is not None:
        state = "posting ended early: " + escape(report.failure)
    elif report.all_accepted:
        state = "every report accepted"
    else:
        state = "[bold red]not every report was accepted[/]"
    out.print(f"[bold]drill summary[/] ({status}): {state}")
    out.print(
        f"  reports: {report.posted} posted of {report.total}, {report.accepted} accepted, "
        f"{report.rejected} rejected"
        + (f" (first: {escape(report.first_rejection)})" if report.first_rejection else "")
    )
    left = report.total - report.posted
    if left:
        where = (
            f": {report.unposted} of them stay in {escape(str(report.left_in))}, which the "
            "next drill refuses until they are deleted"
            if report.left_in is not None and report.unposted
            else ""
        )
        out.print(f"  {left} reports not posted{where}")
    warnings = report.warnings
    if warnings is not None:
        article = "an" if status[:1] in "aeiou" else "a"
        out.print(
            f"  the drill's warnings, as the server reports them: "
            f"{plural(warnings.decisions, 'decision')} ({status}), "
            f"{plural(len(warnings.alerted), 'zone')} at alert, "
            f"{len(warnings.pre_alerted)} more at pre-alert only; "
            f"{plural(warnings.under_drill_now, 'zone')} under {article} {status} now"
        )
    elif report.warnings_error is not None:
        out.print(f"  could not read the drill's warnings back: {escape(report.warnings_error)}")
    if report.score is not None:
        total = report.score.total
        median, shortest = total.warning_s_median, total.warning_s_min
        timing = (
            ""
            if median is None or shortest is None
            else f"; warning time median {median:.0f} s, shortest {shortest:.0f} s"
        )
        style = "green" if report.warned_in_time else "bold red"
        out.print(
            f"  [{style}]scored against its truth[/] (as `airwarn evaluate` scores): "
            f"{plural(total.in_zones, 'impact')} in zones, {total.missed} missed, "
            f"{total.late} late"
            f"{timing}"
        )
    elif report.score_error is not None:
        out.print(f"  could not score the drill: {escape(report.score_error)}")
    if report.record_error is not None:
        out.print(f"  [bold red]could not write the drill[/]: {escape(report.record_error)}")
    elif report.record is not None:
        out.print(
            f"  written to {escape(str(report.record))}: events.jsonl, truth.json, decisions.jsonl"
        )
    out.print(f"  see: {escape(facts.url)}/v1/history?status={status} and the console")
    out.print(
        "  the drill's zones clear by the engine's timeouts and holds, as a real raid's "
        "would (the hold after a threat ends: 600 s unless the server sets --hold-s), or at "
        "once by an operator's drill clear of its zones or region (docs/drills.md)"
    )


def _span(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
