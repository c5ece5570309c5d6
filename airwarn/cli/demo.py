"""`airwarn demo`: a server and a simulated raid posted to it live, with nothing to set up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from airwarn.cli.common import USAGE, err, fail
from airwarn.errors import AirwarnError


def demo(
    layer: Annotated[
        str,
        typer.Option(
            help="The zones: israel (Israel's 1,449 Home Front Command alert areas), ukraine "
            "(1,768 hromadas), ukraine-raions, ukraine-oblasts (all shipped in the package, no "
            "download), generated (made-up hexagons), or the path of a zone file."
        ),
    ] = "israel",
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    scenario: Annotated[
        str,
        typer.Option(
            help="rockets (default: short-range salvos, first warnings within seconds, the whole "
            "raid in about 4 minutes at speed 1), ballistic (~15 min), cruise (hours), drones or "
            "mixed (about half a day of flight: use --speed 50 or more and a small --count)."
        ),
    ] = "rockets",
    count: Annotated[
        int | None, typer.Option(min=1, help="Threats in the raid (default: the scenario's own).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulated raid.")] = 1,
    speed: Annotated[
        float,
        typer.Option(
            min=0.01,
            help="1 (default): real time on the server's wall clock, as in a real "
            "deployment. Above 1: the raid plays faster, on its own clock (the server runs "
            "--clock events), so flights stay physical.",
        ),
    ] = 1.0,
    hold_s: Annotated[
        int,
        typer.Option(
            "--hold-s",
            min=0,
            help="Seconds a zone stays alerted after its threats end. 600 in "
            "service; 60 here so that the all-clears come within the demo.",
        ),
    ] = 60,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder for the demo's files: a "
            "store per layer (kept between runs), CAP keys, the "
            "reports posted.",
        ),
    ] = Path("airwarn-demo"),
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Start from an empty store instead of the last run's.")
    ] = False,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Store URL. Default: sqlite:///OUT/LAYER/live.db (fast.db above speed 1).",
            show_default=False,
        ),
    ] = None,
    duration_s: Annotated[
        float | None,
        typer.Option(
            "--duration-s",
            min=0,
            help="Stop after this many seconds (default: serve until "
            "Ctrl-C once the raid is over).",
        ),
    ] = None,
    score: Annotated[
        bool,
        typer.Option(
            "--score",
            help="Instead: the offline chain on generated zones (a mixed raid "
            "replayed in one go) and its scores beside the simple reference policies.",
        ),
    ] = False,
) -> None:
    """See airwarn work live, with nothing to set up: a server on embedded defaults (SQLite,
    in-process bus, the real zone layers shipped in the package), a simulated raid posted to
    it in real time as a sensor would, and every warning printed as it happens.

    It prints the public page's address, the console's with a ready operator token (one
    click signs you in), and the API's. The defaults show the first warnings within about
    10 s and the whole raid, all-clears included, in about 5 minutes. Needs no network.

    Examples:
    airwarn demo
    airwarn demo --layer ukraine --scenario drones --speed 60 --count 6
    airwarn demo --layer generated --scenario mixed --speed 100 --duration-s 600
    airwarn demo --fresh --duration-s 120
    airwarn demo --score
    """
    from airwarn.sim.demo import LiveDemoSettings, run_demo, run_live_demo
    from airwarn.sim.layers import demo_zone_set
    from airwarn.sim.scenarios import SCENARIOS

    console = Console()
    if score:
        run_demo(out, seed, console)
        return
    if scenario not in SCENARIOS:
        raise fail(
            AirwarnError(f"--scenario must be one of {', '.join(SCENARIOS)}, not {scenario!r}"),
            USAGE,
        )
    try:
        chosen = demo_zone_set(layer)
    except AirwarnError as error:
        raise fail(error, USAGE) from None
    settings = LiveDemoSettings(
        out=out,
        db_url=db,
        host=host,
        port=port,
        scenario=scenario,
        seed=seed,
        count=count,
        speed=speed,
        hold_s=hold_s,
        duration_s=duration_s,
        fresh=fresh,
    )
    try:
        run_live_demo(chosen, settings, console, err)
    except (AirwarnError, OSError) as error:
        raise fail(error) from None
