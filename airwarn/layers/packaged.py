"""The real zone layers shipped inside the package, so that airwarn runs on real zones with no
network: Israel's Home Front Command alert areas and Ukraine's hromadas, raions and oblasts.

They are built from the project's data set (`../shared/data`) by `scripts/build_package_data.py`
with the same importers as `airwarn zones import`, stored as canonical zone files (Contract v1),
gzip-compressed and not simplified (every polygon exactly as imported), with their licences in
`airwarn/data/licenses/`. `airwarn zones list` shows them, `airwarn zones export` writes one
out, and `airwarn serve --zones NAME` or `airwarn demo --layer NAME` run on one.
"""

from __future__ import annotations

import difflib
import gzip
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from airwarn.engine.zones import ZoneSet, zones_from_geojson
from airwarn.errors import ZoneError

DATA = Path(str(resources.files("airwarn") / "data"))
ZONES_DIR = DATA / "zones"
LICENSES_DIR = DATA / "licenses"
MANIFEST = ZONES_DIR / "MANIFEST.json"
CROSSWALK = ZONES_DIR / "ua_alarm_regions_crosswalk.csv.gz"
UKRAINE_SHELTER_S = 90  # Ukraine's layers carry no time to shelter: the default given to all

ISRAEL_ATTRIBUTION = (
    "Areas: Home Front Command, via oref_alert (MIT), pikud-haoref-api (Apache-2.0)"
)
UKRAINE_TERMS = ("justinelliotmeyers+Ukraine_2020__TERMS_OF_USE.txt",)
UKRAINE_ATTRIBUTION = "Boundaries © Мінрегіон, CC BY-SA; names: OCHA COD-AB"


@dataclass(frozen=True)
class PackagedLayer:
    """One shipped layer: its file in `airwarn/data/zones`, what it is, whose it is."""

    name: str
    file: str
    title: str
    attribution: str
    licence: str
    licence_short: str  # for tables
    licence_files: tuple[str, ...]
    shelter_s: int | None  # the time to shelter every zone gets; None: each zone has its own

    @property
    def path(self) -> Path:
        return ZONES_DIR / self.file


LAYERS: dict[str, PackagedLayer] = {
    "israel": PackagedLayer(
        "israel",
        "israel.geojson.gz",
        "Israel's Home Front Command alert areas",
        ISRAEL_ATTRIBUTION,
        "MIT (oref_alert), Apache-2.0 (pikud-haoref-api)",
        "MIT, Apache-2.0",
        ("amitfin+oref_alert__LICENSE.txt", "eladnava+pikud-haoref-api__LICENSE.txt"),
        None,
    ),
    "ukraine": PackagedLayer(
        "ukraine",
        "ukraine-hromadas.geojson.gz",
        "Ukraine's hromadas",
        UKRAINE_ATTRIBUTION,
        "CC BY-SA (© Minregion)",
        "CC BY-SA",
        UKRAINE_TERMS,
        UKRAINE_SHELTER_S,
    ),
    "ukraine-raions": PackagedLayer(
        "ukraine-raions",
        "ukraine-raions.geojson.gz",
        "Ukraine's raions",
        UKRAINE_ATTRIBUTION,
        "CC BY-SA (© Minregion)",
        "CC BY-SA",
        UKRAINE_TERMS,
        UKRAINE_SHELTER_S,
    ),
    "ukraine-oblasts": PackagedLayer(
        "ukraine-oblasts",
        "ukraine-oblasts.geojson.gz",
        "Ukraine's oblasts",
        UKRAINE_ATTRIBUTION,
        "CC BY-SA (© Minregion)",
        "CC BY-SA",
        UKRAINE_TERMS,
        UKRAINE_SHELTER_S,
    ),
}


def packaged_layer(name: str) -> PackagedLayer:
    """The shipped layer called `name`, or a ZoneError that lists the choices."""
    if name not in LAYERS:
        raise ZoneError(
            f"no shipped zone layer called {name!r}: choose one of "
            f"{', '.join(LAYERS)} (see `airwarn zones list`), or give a zone file",
            field="--zones",
            value=name,
        )
    layer = LAYERS[name]
    if not layer.path.is_file():
        raise ZoneError(
            f"the shipped layer {name} is missing from this install "
            f"({layer.path}); reinstall airwarn, or rebuild it with "
            "`python scripts/build_package_data.py` in a checkout"
        )
    return layer


def layer_document(name: str, shelter_s: int | None = None) -> dict[str, Any]:
    """The shipped layer as a canonical FeatureCollection (with its attribution), every zone's
    `shelter_s` replaced by `shelter_s` when given."""
    layer = packaged_layer(name)
    document: dict[str, Any] = msgspec.json.decode(gzip.decompress(layer.path.read_bytes()))
    if shelter_s is not None:
        if isinstance(shelter_s, bool) or shelter_s < 0:
            raise ZoneError(
                "the time to shelter is whole seconds, 0 or more",
                field="--shelter-s",
                value=shelter_s,
            )
        for feature in document["features"]:
            feature["properties"]["shelter_s"] = shelter_s
    document["attribution"] = layer.attribution
    return document


def load_layer(name: str, shelter_s: int | None = None) -> ZoneSet:
    """The shipped layer as a zone set, ready for the engine."""
    source = str(packaged_layer(name).path)
    return zones_from_geojson(layer_document(name, shelter_s), source=source)


def manifest() -> dict[str, Any]:
    """What the build recorded: each layer's source file and checksums, counts, the build."""
    try:
        loaded: dict[str, Any] = json.loads(MANIFEST.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return loaded


GENERATED = "generated"  # the made-up hexagons of airwarn.sim.demo_zones, for load tests


def zone_choice_help() -> str:
    return (
        f"a zone file (`airwarn zones import`/`export`), or a shipped layer: "
        f"{', '.join(LAYERS)}; or {GENERATED} (made-up hexagons, for load tests)"
    )


def resolve_zones(value: str | Path | None) -> ZoneSet:
    """The zone set a `--zones` option names: a zone file (plain or gzip), a shipped layer by
    name, or `generated`; None means the shipped Israeli layer (the embedded default). A file
    that exists wins over a layer of the same name."""
    from airwarn.engine.zones import load_zones

    if value is None:
        return load_layer("israel")
    text = str(value)
    if not Path(text).exists():
        if text == GENERATED:
            from airwarn.sim.demo_zones import demo_zones

            return ZoneSet(demo_zones())
        if text in LAYERS:
            return load_layer(text)
        if "/" not in text and not text.endswith((".json", ".geojson", ".gz")):
            close = difflib.get_close_matches(text[:200], [*LAYERS, GENERATED], n=1)
            guess = f"did you mean {close[0]}? " if close else ""
            raise ZoneError(
                f"--zones {text!r} is neither a file nor a shipped layer: {guess}give "
                + zone_choice_help(),
                field="--zones",
                value=text,
            )
    return load_zones(text)
