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

from airwarn.cli.common import FAILURE, err, fail
from airwarn.engine.zones import ZoneSet, load_zones, write_zones, zones_from_geojson
from airwarn.errors import AirwarnError
from airwarn.layers.israel import import_israel
from airwarn.layers.report import ImportResult, examples, plural
from airwarn.layers.ukraine import import_ukraine

app = typer.Typer(
    help="Zone sets: the alert polygons, each with its time to shelter.\n\n"
    "Israel's alert areas and Ukraine's hromadas, raions and oblasts ship with airwarn "
    "(`airwarn zones list`); `airwarn serve --zones NAME` runs on one, `export` writes one "
    "out as a zone file (GeoJSON, Contract v1), `update` rebuilds Israel's from its public "
    "sources, `import` reads a layer file you have.\n\n"
    "Examples:\n\n"
    "airwarn zones list\n\n"
    "airwarn zones export israel --out zones-il.geojson\n\n"
    "airwarn zones export ukraine --shelter-s 120 --out zones-ua.geojson\n\n"
    "airwarn zones update israel --out zones-il-latest.geojson\n\n"
    "airwarn zones import israel ../shared/data/israel/israel_alert_areas.geojson",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(
    help="Turn a real layer into a canonical zone file, and report every quirk met on the way.\n\n"
    "Each import writes the zones, reads the file back to prove it is valid, and prints a "
    "summary: zones, regions, times to shelter, and a note for each fix it made (missing ids, "
    "repaired rings, and so on). Nothing is changed silently.\n\n"
    "Examples:\n\n"
    "airwarn zones import israel ../shared/data/israel/israel_alert_areas.geojson\n\n"
    "airwarn zones import ukraine ../shared/data/ukraine/ua_hromadas.geojson "
    "--level hromada --shelter-s 90",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(import_app, name="import")


class Level(StrEnum):
    """Ukraine's administrative levels, finest first."""

    hromada = "hromada"
    raion = "raion"
    oblast = "oblast"


OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        show_default=False,
        help="Where to write the zone file. Default: zones-israel.geojson, or "
        "zones-ukraine-<level>.geojson, in the current folder.",
    ),
]


@app.callback()
def zones() -> None:
    """Zone sets: the shipped real layers, and importing others into zone files."""


@app.command("list")
def list_layers() -> None:
    """The real zone layers shipped with airwarn: name, zones, what and whose.

    Example:

    airwarn zones list
    """
    from rich.table import Table

    from airwarn.layers.packaged import GENERATED, LAYERS, LICENSES_DIR, manifest

    recorded = manifest().get("layers", {})
    table = Table("name", "zones", "shelter", "what", "licence", box=None, padding=(0, 1))
    for name, layer in LAYERS.items():
        count = recorded.get(name, {}).get("zones")
        table.add_row(
            name,
            f"{count:,}" if isinstance(count, int) else "?",
            "per area" if layer.shelter_s is None else f"{layer.shelter_s} s",
            layer.title,
            layer.licence_short,
        )
    out = Console()
    out.print(table)
    out.print(
        f"Use one: airwarn serve --zones NAME; write one out: airwarn zones export NAME. "
        f"Not a real layer, for load tests: {GENERATED} (made-up hexagons). "
        f"Sources and licences: {LICENSES_DIR / 'NOTICE.md'}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("export")
def export_layer(
    name: Annotated[
        str,
        typer.Argument(
            show_default=False,
            metavar="NAME",
            help="A shipped layer: israel, ukraine, ukraine-raions or ukraine-oblasts.",
        ),
    ],
    out: OutOption = None,
    shelter_s: Annotated[
        int | None,
        typer.Option(
            "--shelter-s",
            min=0,
            show_default=False,
            help="Give every zone this time to shelter (Ukraine's layers carry none and ship "
            "with 90 s).",
        ),
    ] = None,
) -> None:
    """Write a shipped layer out as a zone file (GeoJSON, Contract v1), to read, edit or
    serve.

    Examples:

    airwarn zones export israel --out zones-il.geojson

    airwarn zones export ukraine-oblasts --shelter-s 120 --out oblasts.geojson
    """
    import msgspec

    from airwarn.layers.packaged import layer_document

    target = out or Path(f"zones-{name}.geojson")
    try:
        document = layer_document(name, shelter_s)
        zones_from_geojson(document)
        _write_atomically(target, msgspec.json.encode(document) + b"\n")
    except AirwarnError as error:
        raise fail(error) from None
    except OSError as error:
        raise fail(f"cannot write {target}: {error.strerror}; choose another --out") from None
    err.print(
        f"[bold green]Wrote {len(document['features']):,} zones[/] of {name} to {target}",
        highlight=False,
    )


@app.command("update")
def update_layer(
    name: Annotated[
        str,
        typer.Argument(show_default=False, metavar="NAME", help="The layer to rebuild: israel."),
    ],
    out: OutOption = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            show_default=False,
            help="Where the source files are: a URL, a file:// URL or a folder laid out as "
            "OWNER/REPO/COMMIT/PATH (a mirror). Default: the repositories' raw files on GitHub.",
        ),
    ] = None,
    ref: Annotated[
        str | None,
        typer.Option(
            "--ref",
            show_default=False,
            help="Fetch this commit or branch instead of the pinned one (e.g. main): the newest "
            "areas, whose checksums are printed instead of checked.",
        ),
    ] = None,
) -> None:
    """Rebuild Israel's alert areas from their public sources, checked against pinned
    SHA-256 checksums, into a zone file.

    The Home Front Command revises its areas now and then; amitfin/oref_alert republishes
    their polygons, segment ids, times to shelter and districts, eladnava/pikud-haoref-api
    their names. Each file is fetched (said aloud; a silent server is given up on within
    seconds), checked, and imported as `airwarn zones import israel` would. The shipped
    layer is not changed: serve the new file with `airwarn serve --zones FILE`. Ukraine's
    units have stood since the 2020 reform; their layers ship as they are.

    Examples:

    airwarn zones update israel --out zones-il-latest.geojson

    airwarn zones update israel --ref main --out zones-il-main.geojson

    airwarn zones update israel --from ./mirror --out zones-il.geojson
    """
    from airwarn.layers.packaged import load_layer
    from airwarn.layers.upstream import RAW, update_israel

    if name != "israel":
        raise fail(
            f"only israel can be updated from its public sources, not {name!r} "
            "(Ukraine's layers ship as built: `airwarn zones list`)"
        )
    target = out or Path("zones-israel.geojson")
    result = _imported(
        lambda: update_israel(
            source or RAW, ref=ref, say=lambda line: err.print(line, highlight=False, markup=False)
        )
    )
    zone_set = _write_result(result, target)
    shipped = load_layer("israel")
    new, old = {z.id: z for z in zone_set.zones}, {z.id: z for z in shipped.zones}
    changed = sum(1 for k in new.keys() & old.keys() if new[k].shelter_s != old[k].shelter_s)
    err.print(
        f"Against the shipped layer: {len(new.keys() - old.keys())} areas new, "
        f"{len(old.keys() - new.keys())} gone, {changed} with another time to shelter.",
        highlight=False,
    )


@import_app.command("israel")
def import_israel_command(
    path: Annotated[
        Path,
        typer.Argument(
            show_default=False,
            metavar="PATH",
            help="The Home Front Command alert areas (GeoJSON with segment_id, migun_time_s, "
            "district_he), e.g. ../shared/data/israel/israel_alert_areas.geojson.",
        ),
    ],
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
    path: Annotated[
        Path,
        typer.Argument(
            show_default=False,
            metavar="PATH",
            help="A Ukrainian layer: ../shared/data/ukraine/ua_hromadas.geojson (serves every "
            "level), ua_raions.geojson (raion, oblast) or ua_oblasts.geojson (oblast).",
        ),
    ],
    level: Annotated[
        Level,
        typer.Option(
            "--level",
            case_sensitive=False,
            show_default=False,
            help="One zone per hromada (~1,770 communities), raion (138 districts) or oblast "
            "(27 regions). A finer file is dissolved into the coarser units.",
        ),
    ],
    shelter_s: Annotated[
        int,
        typer.Option(
            "--shelter-s",
            min=0,
            show_default=False,
            help="Seconds people need to reach shelter, for every zone (the layers carry none), "
            "e.g. 90.",
        ),
    ],
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
    _run(
        lambda: import_ukraine(path, chosen, shelter_s),
        out or Path(f"zones-ukraine-{chosen}.geojson"),
    )


def _run(make: Callable[[], ImportResult], out: Path) -> None:
    """Import, write, read back, and report; user errors exit 2 with what to do."""
    _write_result(_imported(make), out)


def _imported(make: Callable[[], ImportResult]) -> ImportResult:
    try:
        return make()
    except AirwarnError as error:
        raise fail(error) from None


def _write_atomically(target: Path, data: bytes) -> None:
    partial = target.with_name(target.name + ".partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _write_result(result: ImportResult, out: Path) -> ZoneSet:
    """Write an import's zones to `out` (only once they load back) and print its summary."""
    # Write beside the target and move into place only once the file loads back: a failed
    # import never leaves a half-written or invalid zone file where the old one was.
    partial = out.with_name(out.name + ".partial")
    try:
        write_zones(result.zones, partial)
    except OSError as error:
        raise fail(
            f"cannot write {out}: {error.strerror}; choose another --out (its folder "
            "must exist and be writable)"
        ) from None
    try:
        zone_set = load_zones(partial)
    except AirwarnError as error:
        partial.unlink(missing_ok=True)
        raise fail(
            f"the imported zones do not load back ({error}); this is a bug in the "
            "adapter, please report it with the layer file",
            FAILURE,
        ) from None
    os.replace(partial, out)
    _summary(result, zone_set, out)
    return zone_set


def _summary(result: ImportResult, zone_set: ZoneSet, out: Path) -> None:
    err.print(
        f"[bold green]Wrote {plural(len(zone_set), 'zone')}[/] to {out} (read back: "
        "a valid zone set).",
        highlight=False,
    )
    per_region = Counter(z.region for z in result.zones if z.region is not None)
    if per_region:
        shown = examples((f"{r} {n}" for r, n in per_region.most_common()), 8)
        err.print(f"[bold]Regions:[/] {len(per_region)} ({shown})", highlight=False)
    unassigned = sum(1 for z in result.zones if z.region is None)
    if unassigned:
        err.print(f"  {plural(unassigned, 'zone')} without a region", highlight=False)
    shelter = ", ".join(f"{s} s ×{n:,}" for s, n in result.shelter_counts.items())
    err.print(f"[bold]Time to shelter:[/] {shelter}", highlight=False)
    err.print(
        f"[bold]Notes[/] ({len(result.notes)}): what the layer held and what was done",
        highlight=False,
    )
    for note in result.notes:
        err.print(f"  • {note}", highlight=False, markup=False)
