"""Israel's alert areas, rebuilt from their real public sources: `airwarn zones update`.

The Home Front Command revises its alert areas now and then; two open projects republish them:
`amitfin/oref_alert` (MIT) regenerates, from the Home Front Command's own services, each area's
polygon, segment id, time to shelter and district; `eladnava/pikud-haoref-api` (Apache-2.0)
keeps each area's names in English, Russian and Arabic. The files below are pinned to a commit
with their SHA-256, so what is fetched is exactly what was checked; `ref` fetches another
commit or branch instead, whose checksums are then printed rather than checked.

The files are laid out as a GeoJSON layer like the project's data set
(`israel_alert_areas.geojson`) and imported with the same adapter as `airwarn zones import
israel`, so the result is a canonical zone file with the same ids, names and regions.
"""

from __future__ import annotations

import ast
import json
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airwarn.layers.download import DownloadError, fetch, join
from airwarn.layers.israel import import_israel
from airwarn.layers.report import ImportResult

RAW = "https://raw.githubusercontent.com"
_SEGMENT_BASE = 5_000_000  # segment = 5,000,000 + pikud-haoref-api id (see layers/israel.py)


@dataclass(frozen=True)
class SourceFile:
    """One upstream file: its repository, commit and path, and the SHA-256 it had there."""

    repo: str
    commit: str
    path: str
    sha256: str

    def location(self, base: str, ref: str | None = None) -> str:
        """Where to fetch it: under `base` as repo/commit/path (the raw-file layout)."""
        return join(base, f"{self.repo}/{ref or self.commit}/{self.path}")


OREF_ALERT = "amitfin/oref_alert"
OREF_COMMIT = "ceb8891ca8617ae8bf789e0ea256df28cf84369c"  # 2026-06-26, metadata update
PIKUD = "eladnava/pikud-haoref-api"
PIKUD_COMMIT = "1f51471d146e3857a2bfb2588525b34eb3b36665"  # 2026-05-09
_META = "custom_components/oref_alert/metadata"

ISRAEL_SOURCES: dict[str, SourceFile] = {
    "polygons": SourceFile(
        OREF_ALERT,
        OREF_COMMIT,
        f"{_META}/area_to_polygon.json.zip",
        "b439dd3ff29ff826da5a3368def22c4314a1a6c79750f73ee46dd0f29d6b12c9",
    ),
    "info": SourceFile(
        OREF_ALERT,
        OREF_COMMIT,
        f"{_META}/area_info.py",
        "2cb37c4ed6646d42ec05015a1664ef48280347ccf81da83fc5f511f5db7618e4",
    ),
    "shelter": SourceFile(
        OREF_ALERT,
        OREF_COMMIT,
        f"{_META}/area_to_migun_time.py",
        "1ddde111d2599fe55ad1bb2f2fbcdbe03684efe6289acce09fa09e52fb5d6a36",
    ),
    "district": SourceFile(
        OREF_ALERT,
        OREF_COMMIT,
        f"{_META}/area_to_district.py",
        "cb96694547cdc914b0875deea45bf79d964c6132c488f7f53e8dec8d383bf669",
    ),
    "names": SourceFile(
        PIKUD,
        PIKUD_COMMIT,
        "cities.json",
        "9d24cd846f9e762fb86c9b69d442a0d472b701d0b2aa7206f53f89063cec6898",
    ),
}


class UpstreamError(DownloadError):
    """The upstream files are not what airwarn can read (their format changed)."""


def update_israel(
    base: str = RAW,
    *,
    ref: str | None = None,
    sources: dict[str, SourceFile] | None = None,
    say: Callable[[str], None] = print,
) -> ImportResult:
    """Fetch Israel's alert areas from their sources under `base` (the raw-file host, a mirror
    URL, a file:// URL or a folder laid out as repo/commit/path), check each file's SHA-256
    (unless `ref` names another commit), and import them. Nothing is written but the caller's
    result: the files go to a temporary folder that is removed at the end."""
    sources = sources or ISRAEL_SOURCES
    with tempfile.TemporaryDirectory(prefix="airwarn-update-") as folder:
        files: dict[str, Path] = {}
        for key, source in sources.items():
            target = Path(folder) / Path(source.path).name
            got = fetch(
                source.location(base, ref), target, sha256=None if ref else source.sha256, say=say
            )
            if ref:
                say(f"  SHA-256 {got} (not checked: --ref {ref})")
            files[key] = target
        layer = Path(folder) / "israel_alert_areas.geojson"
        layer.write_text(json.dumps(israel_layer(files)), encoding="utf-8")
        result = import_israel(layer)
    result.source = base if not ref else f"{base} at {ref}"
    return result


def israel_layer(files: dict[str, Path]) -> dict[str, Any]:
    """The upstream files as a GeoJSON layer in the data set's shape (one feature per area
    that has a polygon; fields as in israel_alert_areas.geojson)."""
    info = _python_literal(files["info"], "AREA_INFO")
    shelter = _python_literal(files["shelter"], "AREA_TO_MIGUN_TIME")
    district = _python_literal(files["district"], "AREA_TO_DISTRICT")
    polygons = _zipped_json(files["polygons"])
    try:
        cities = json.loads(files["names"].read_text(encoding="utf-8"))
        by_id = {int(c["id"]): c for c in cities if isinstance(c, dict) and "id" in c}
    except (ValueError, TypeError, KeyError) as error:
        raise UpstreamError(
            f"cities.json is not the list of areas airwarn knows ({error})"
        ) from None
    features = []
    for area, ring in polygons.items():
        if not isinstance(ring, list) or len(ring) < 3:
            continue
        meta = info.get(area) or {}
        segment = meta.get("segment")
        city = by_id.get(segment - _SEGMENT_BASE, {}) if isinstance(segment, int) else {}
        coordinates = [[float(lon), float(lat)] for lat, lon in ring]  # upstream is lat, lon
        if coordinates[0] != coordinates[-1]:
            coordinates.append(coordinates[0])
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "area_he": area,
                    "area_en": city.get("name_en"),
                    "area_ru": city.get("name_ru"),
                    "area_ar": city.get("name_ar"),
                    "segment_id": segment,
                    "pikud_haoref_api_id": city.get("id"),
                    "district_he": district.get(area),
                    "zone_he": city.get("zone"),
                    "zone_en": city.get("zone_en"),
                    "migun_time_s": shelter.get(area),
                    "countdown_s_pikud_haoref_api": city.get("countdown"),
                    "lat": meta.get("lat"),
                    "lon": meta.get("lon"),
                    "polygon_source": "oref_alert",
                },
                "geometry": {"type": "Polygon", "coordinates": [coordinates]},
            }
        )
    if not features:
        raise UpstreamError("area_to_polygon.json has no polygons: the upstream format changed")
    return {"type": "FeatureCollection", "features": features}


def _python_literal(path: Path, name: str) -> dict[str, Any]:
    """The value of `NAME = {...}` in a generated Python file, read as data (never run)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, ValueError) as error:
        raise UpstreamError(f"{path.name} is not the Python file expected ({error})") from None
    for node in tree.body:
        target: ast.expr
        if isinstance(node, ast.AnnAssign):
            target, expression = node.target, node.value
        elif isinstance(node, ast.Assign):
            target, expression = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == name and expression is not None:
            try:
                value = ast.literal_eval(expression)
            except ValueError:
                break
            if isinstance(value, dict):
                return value
    raise UpstreamError(f"{path.name} has no {name} table: the upstream format changed")


def _zipped_json(path: Path) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".json"))
            value = json.loads(archive.read(name))
    except (zipfile.BadZipFile, StopIteration, ValueError) as error:
        raise UpstreamError(f"{path.name} is not a zip of area polygons ({error})") from None
    if not isinstance(value, dict):
        raise UpstreamError(f"{path.name} does not map areas to polygons")
    return value
