"""The `airwarn` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from airwarn import cli_zones
from airwarn.engine import EngineConfig
from airwarn.errors import AirwarnError, EventError
from airwarn.policy import POLICIES
from airwarn.replay import replay_lines
from airwarn.zones import ZoneSet, load_zones

app = typer.Typer(
    help="airwarn: localized early warning for air threats.\n\n"
    "Turns sensor tracks and operator actions (Contract v1 events) into warnings for exactly "
    "the zones in danger, each early enough for its people to reach shelter.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(cli_zones.app, name="zones")
err = Console(stderr=True)


@app.callback()
def _main() -> None:
    """airwarn: localized early warning for air threats."""

ZonesOption = Annotated[
    Path, typer.Option("--zones", "-z", help="Canonical zone GeoJSON (see `airwarn zones import`).")
]
HoldOption = Annotated[
    int, typer.Option("--hold-s", min=0, help="Seconds a zone stays alerted after its last threat "
                      "ends or moves away (the 'stay in shelter' time).")
]


def _fail(error: AirwarnError | OSError, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _load_zones(path: Path) -> ZoneSet:
    try:
        return load_zones(path)
    except AirwarnError as error:
        raise _fail(error, 2) from None


@app.command()
def replay(
    zones: ZonesOption,
    events: Annotated[Path, typer.Option("--events", "-e", help="Events, JSON Lines (Contract v1); "
                                         "`-` reads standard input.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the decisions (JSON "
                                      "Lines); `-` writes standard output.")],
    hold_s: HoldOption = 600,
    policy: Annotated[str, typer.Option(help="engine (the smart policy), or a reference: reach, "
                                        "region.")] = "engine",
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Report invalid lines on "
                                               "stderr and go on, instead of stopping at the "
                                               "first.")] = False,
) -> None:
    """Run the engine offline over an event file: deterministic, byte for byte.

    Example: airwarn replay --zones zones-israel.geojson --events sim/events.jsonl --out d.jsonl
    """
    if policy not in POLICIES:
        raise _fail(AirwarnError(f"--policy must be one of {', '.join(POLICIES)}, not {policy!r}"),
                    2)
    zone_set = _load_zones(zones)
    config = EngineConfig(hold_s=hold_s)
    chosen = POLICIES[policy](zone_set)

    def report_skip(error: EventError) -> None:
        err.print(f"skipped: {error}", highlight=False, markup=False, soft_wrap=True)

    try:
        source = sys.stdin.buffer if str(events) == "-" else events.open("rb")
    except OSError as error:
        raise _fail(error, 2) from None
    try:
        sink = sys.stdout.buffer if str(out) == "-" else out.open("wb")
    except OSError as error:
        raise _fail(error, 2) from None
    total = events.stat().st_size if str(events) != "-" else None
    progress = Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
        TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal,
    )
    try:
        with progress, source, sink:
            task = progress.add_task("replay", total=total)
            result = replay_lines(
                zone_set, source, sink, config=config, policy=chosen,
                skip_invalid=skip_invalid, on_skip=report_skip,
                on_line=lambda n: progress.advance(task, n),
            )
    except EventError as error:
        err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        err.print("Fix the line, or pass --skip-invalid to report and skip invalid lines.")
        raise typer.Exit(1) from None
    stats = result.stats
    summary = (f"{stats.events} events, {result.decisions} decisions; {stats.duplicates} "
               f"duplicates and {stats.stale} stale reports ignored, {stats.reordered} reordered")
    if result.skipped:
        summary += f"; {result.skipped} invalid lines skipped"
    err.print(summary, highlight=False, soft_wrap=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
