"""The `airwarn zones` commands: import real layers into canonical zone files (Contract v1)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from airwarn.adapters.israel import import_israel
from airwarn.adapters.report import ImportResult, examples, plural
from airwarn.adapters.ukraine import import_ukraine
from airwarn.errors import AirwarnError
from airwarn.zones import ZoneSet, load_zones, write_zones

app = typer.Typer(
    help="Zone sets: the alert polygons, each with its time to shelter.\n\n"
    "Import a real layer into a canonical zone file (GeoJSON, Contract v1) that `airwarn "
    "replay --zones` and the server read. Start with `airwarn zones import --help`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(
    help="Turn a real layer into a canonical zone file, and report every quirk met on the way.\n\n"
    "Each import writes the zones, reads the file back to prove it is valid, and prints a "
    "summary: zones, regions, times to shelter, and a note for each fix it made (missing ids, "
    "repaired rings, and so on). Nothing is changed silently.\n\n"
    "Examples:\n"
    "airwarn zones import israel ../shared/data/israel/israel_alert_areas.geojson\n"
    "airwarn zones import ukraine ../shared/data/ukraine/ua_hromadas.geojson "
    "--level hromada --shelter-s 90",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(import_app, name="import")
err = Console(stderr=True)


class Level(StrEnum):
    """Ukraine's administrative levels, finest first."""

    hromada = "hromada"
    raion = "raion"
    oblast = "oblast"


OutOption = Annotated[
    Path | None,
    typer.Option("--out", "-o", show_default=False,
                 help="Where to write the zone file. Default: zones-israel.geojson, or "
                 "zones-ukraine-<level>.geojson, in the current folder."),
]


@app.callback()
def zones() -> None:
    """Zone sets: import real layers into canonical zone files."""


@import_app.command("israel")
def import_israel_command(
    path: Annotated[Path, typer.Argument(
        show_default=False, metavar="PATH",
        help="The Home Front Command alert areas (GeoJSON with segment_id, migun_time_s, "
        "district_he), e.g. ../shared/data/israel/israel_alert_areas.geojson.")],
    out: OutOption = None,
) -> None:
    """Import Israel's Home Front Command alert areas: one zone per area (about 1,450).

    id: segment_id, as a string. region: the district (district_he).
    shelter_s: migun_time_s, the seconds people there have to reach shelter (0-90).
    name: area_en, else area_he. Other properties (area names in he/en/ru/ar,
    zone_en, ...) are kept.

    Example:
    airwarn zones import israel ../shared/data/israel/israel_alert_areas.geojson
    """
    _run(lambda: import_israel(path), out or Path("zones-israel.geojson"))


@import_app.command("ukraine")
def import_ukraine_command(
    path: Annotated[Path, typer.Argument(
        show_default=False, metavar="PATH",
        help="A Ukrainian layer: ../shared/data/ukraine/ua_hromadas.geojson (serves every "
        "level), ua_raions.geojson (raion, oblast) or ua_oblasts.geojson (oblast).")],
    level: Annotated[Level, typer.Option(
        "--level", case_sensitive=False, show_default=False,
        help="One zone per hromada (~1,770 communities), raion (138 districts) or oblast "
        "(27 regions). A finer file is dissolved into the coarser units.")],
    shelter_s: Annotated[int, typer.Option(
        "--shelter-s", min=0, show_default=False,
        help="Seconds people need to reach shelter, for every zone (the layers carry none), "
        "e.g. 90.")],
    out: OutOption = None,
) -> None:
    """Import Ukraine's administrative units as zones: hromadas, raions or oblasts.

    id: the KATOTTG code (hromada_id, raion_id or oblast_id). region: the oblast.
    Units the file leaves without an id get a stable one by a documented rule,
    reported in the notes. A finer file serves a coarser level by dissolving.

    Examples:
    airwarn zones import ukraine ../shared/data/ukraine/ua_hromadas.geojson --level hromada --shelter-s 90
    airwarn zones import ukraine ../shared/data/ukraine/ua_hromadas.geojson --level oblast --shelter-s 120
    """  # noqa: E501
    chosen = level.value
    _run(lambda: import_ukraine(path, chosen, shelter_s),
         out or Path(f"zones-ukraine-{chosen}.geojson"))


def _run(make: Callable[[], ImportResult], out: Path) -> None:
    """Import, write, read back, and report; user errors exit 2 with what to do."""
    try:
        result = make()
    except AirwarnError as error:
        err.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    # Write beside the target and move into place only once the file loads back: a failed
    # import never leaves a half-written or invalid zone file where the old one was.
    partial = out.with_name(out.name + ".partial")
    try:
        write_zones(result.zones, partial)
    except OSError as error:
        err.print(f"[bold red]error:[/] cannot write {out}: {error.strerror}; choose another "
                  "--out (its folder must exist and be writable)", highlight=False)
        raise typer.Exit(2) from None
    try:
        zone_set = load_zones(partial)
    except AirwarnError as error:
        partial.unlink(missing_ok=True)
        err.print(f"[bold red]error:[/] the imported zones do not load back ({error}); this is "
                  "a bug in the adapter, please report it with the layer file", highlight=False)
        raise typer.Exit(1) from None
    os.replace(partial, out)
    _summary(result, zone_set, out)


def _summary(result: ImportResult, zone_set: ZoneSet, out: Path) -> None:
    err.print(f"[bold green]Wrote {plural(len(zone_set), 'zone')}[/] to {out} (read back: "
              "a valid zone set).", highlight=False)
    per_region = Counter(z.region for z in result.zones if z.region is not None)
    if per_region:
        shown = examples((f"{r} {n}" for r, n in per_region.most_common()), 8)
        err.print(f"[bold]Regions:[/] {len(per_region)} ({shown})", highlight=False)
    unassigned = sum(1 for z in result.zones if z.region is None)
    if unassigned:
        err.print(f"  {plural(unassigned, 'zone')} without a region", highlight=False)
    shelter = ", ".join(f"{s} s ×{n:,}" for s, n in result.shelter_counts.items())
    err.print(f"[bold]Time to shelter:[/] {shelter}", highlight=False)
    err.print(f"[bold]Notes[/] ({len(result.notes)}): what the layer held and what was done",
              highlight=False)
    for note in result.notes:
        err.print(f"  • {note}", highlight=False, markup=False)
