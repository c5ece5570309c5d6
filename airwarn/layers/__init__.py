"""Zone layers: turn real zone layers into the canonical zone set of Contract v1.

The steps every layer shares live here: reading the GeoJSON, repairing broken rings, making ids
unique, and checking the result; `israel.py` and `ukraine.py` hold what is particular to each
layer (which field is the id, the shelter time, the region). Every fix is reported as a note in
the `ImportResult`, never made silently.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from airwarn.engine.projection import LocalProjection
from airwarn.engine.zones import Zone
from airwarn.errors import ZoneError
from airwarn.layers.report import ImportResult, agree, examples, plural

__all__ = ["ImportResult", "LayerFeature", "ZoneDraft", "build_zones", "polygonal", "read_layer"]

# A detached part of a zone smaller than this is worth a look: often a digitising sliver,
# sometimes a real exclave or island. Either way it is kept (dropping land makes a hole).
SMALL_PART_KM2 = 1.5
SMALL_PART_SHARE = 0.1


@dataclass(frozen=True)
class LayerFeature:
    """One feature of a source layer, as read: its position in the file, properties, geometry."""

    number: int
    properties: dict[str, Any]
    geometry: dict[str, Any] | None


@dataclass
class ZoneDraft:
    """A zone as an adapter maps it from a feature, before geometry repair and id checks."""

    id: str
    shelter_s: int
    geometry: dict[str, Any] | BaseGeometry | None
    name: str | None = None
    region: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})" if self.name else self.id


def read_layer(path: str | Path, *, hint: str) -> list[LayerFeature]:
    """Read a GeoJSON FeatureCollection in WGS84; `hint` tells the user which file to give."""
    path = Path(path)
    if path.is_dir():
        raise ZoneError(f"{path} is a folder, not a layer file; {hint}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ZoneError(f"no file at {path}; {hint}") from None
    except OSError as exc:
        raise ZoneError(f"cannot read {path}: {exc.strerror}; {hint}") from None
    try:
        document = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise ZoneError(f"not valid JSON ({exc}); {hint}", source=str(path)) from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        got = document.get("type") if isinstance(document, dict) else type(document).__name__
        raise ZoneError(
            f"not a GeoJSON FeatureCollection; {hint}", field="$.type", value=got, source=str(path)
        )
    crs = document.get("crs")
    if isinstance(crs, dict):
        # Pre-RFC 7946 GeoJSON may name a CRS; anything but lon/lat WGS84 would put zones
        # in the wrong place (or in metres), so refuse it rather than guess.
        name = str((crs.get("properties") or {}).get("name", ""))
        if not any(tag in name.upper() for tag in ("CRS84", "4326")):
            raise ZoneError(
                f"the layer is in {name or 'an unnamed CRS'}; zones are WGS84 "
                "lon/lat: reproject it first, e.g. "
                "`ogr2ogr -t_srs EPSG:4326 out.geojson in.geojson`",
                field="$.crs",
                source=str(path),
            )
    raw = document.get("features")
    if not isinstance(raw, list) or not raw:
        raise ZoneError(f"the layer has no features; {hint}", field="$.features", source=str(path))
    features = []
    for number, feature in enumerate(raw):
        if not isinstance(feature, dict):
            raise ZoneError(
                "a feature is not a JSON object", field=f"$.features[{number}]", source=str(path)
            )
        geometry = feature.get("geometry")
        features.append(
            LayerFeature(
                number,
                dict(feature.get("properties") or {}),
                geometry if isinstance(geometry, dict) else None,
            )
        )
    return features


def layer_keys(features: list[LayerFeature]) -> set[str]:
    """Every property name that occurs in the layer (used to tell one layer from another)."""
    keys: set[str] = set()
    for feature in features:
        keys.update(feature.properties)
    return keys


def polygonal(geometry: BaseGeometry) -> BaseGeometry | None:
    """The valid polygonal part of a geometry, or None if it has none.

    Invalid rings (a bow-tie, a self-touching ring) are repaired with `shapely.make_valid`, which
    keeps all the area the ring drew; lines and points it leaves behind are dropped, as a zone is
    an area.
    """
    if geometry.is_empty:
        return None
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry if not geometry.is_empty else None
    parts: list[Polygon] = []
    for part in shapely.get_parts(geometry):
        if isinstance(part, Polygon) and not part.is_empty:
            parts.append(part)
        elif isinstance(part, MultiPolygon):
            parts.extend(p for p in part.geoms if not p.is_empty)
        elif part.geom_type == "GeometryCollection":
            inner = polygonal(part)
            if inner is not None:
                parts.extend(shapely.get_parts(inner))
    if not parts:
        return None
    result = parts[0] if len(parts) == 1 else MultiPolygon(parts)
    if not result.is_valid:  # parts of a collection may overlap: merge them
        result = shapely.union_all(parts)
    return result


def build_zones(drafts: list[ZoneDraft], result: ImportResult, *, mosaic: bool) -> None:
    """Turn drafts into zones: parse and repair geometry, make ids unique, report the rest.

    `mosaic` says the layer is meant to cover its territory without gaps (administrative units),
    so that holes in its union are worth reporting; alert areas that cover only settlements are
    not a mosaic.
    """
    drafts = _with_geometry(drafts, result)
    drafts = _unique_ids(drafts, result)
    zones = [
        Zone(
            id=d.id,
            shelter_s=d.shelter_s,
            geometry=d.geometry,
            name=d.name,
            region=d.region,
            properties=d.properties,
        )
        for d in drafts
    ]
    if not zones:
        raise ZoneError("no feature of the layer could become a zone; see the notes above")
    result.zones.extend(zones)
    projection = _projection_for(zones)
    _note_multipart(zones, projection, result)
    if mosaic:
        _note_gaps(zones, projection, result)
    _note_shared_names(zones, result)


def _with_geometry(drafts: list[ZoneDraft], result: ImportResult) -> list[ZoneDraft]:
    """Parse each draft's geometry, repair it if invalid, and drop the drafts with no area."""
    kept: list[ZoneDraft] = []
    missing: list[str] = []
    unreadable: list[str] = []
    not_area: list[str] = []
    repaired: list[str] = []
    flattened: list[str] = []
    for draft in drafts:
        raw = draft.geometry
        if raw is None or (
            isinstance(raw, dict) and not raw.get("coordinates") and not raw.get("geometries")
        ):
            missing.append(draft.label)
            continue
        if isinstance(raw, BaseGeometry):
            geometry = raw
        else:
            try:
                geometry = shape(raw)
            except Exception as exc:  # shapely raises several types for broken GeoJSON
                unreadable.append(f"{draft.label}: {exc}")
                continue
        if shapely.has_z(geometry):
            geometry = shapely.force_2d(geometry)
            flattened.append(draft.label)
        reason = None if geometry.is_valid else shapely.is_valid_reason(geometry)
        fixed = polygonal(geometry)
        if fixed is None:
            not_area.append(f"{draft.label} ({geometry.geom_type})")
            continue
        if reason is not None:
            repaired.append(f"{draft.label}: {reason}")
        draft.geometry = fixed
        kept.append(draft)
    if missing:
        result.note(
            f"{plural(len(missing), 'feature')} {agree(len(missing), 'has', 'have')} "
            f"no geometry and {agree(len(missing), 'was', 'were')} dropped (a zone is "
            f"an area): {examples(missing)}."
        )
    if unreadable:
        result.note(
            f"{plural(len(unreadable), 'feature')} "
            f"{agree(len(unreadable), 'has', 'have')} an unreadable geometry and "
            f"{agree(len(unreadable), 'was', 'were')} dropped: {examples(unreadable)}."
        )
    if not_area:
        result.note(
            f"{plural(len(not_area), 'feature')} {agree(len(not_area), 'has', 'have')} "
            "no area (points, lines or degenerate rings) and "
            f"{agree(len(not_area), 'was', 'were')} dropped: {examples(not_area)}."
        )
    if flattened:
        result.note(
            f"{plural(len(flattened), 'geometry', 'geometries')} carried heights "
            f"(3-D coordinates); heights were dropped: {examples(flattened)}."
        )
    if repaired:
        result.note(
            f"{plural(len(repaired), 'geometry', 'geometries')} "
            f"{agree(len(repaired), 'was', 'were')} invalid and repaired with "
            "shapely.make_valid, keeping only the polygonal parts: "
            f"{examples(repaired)}."
        )
    else:
        result.note("Invalid rings: none; every polygon is valid as given (none repaired).")
    return kept


def _unique_ids(drafts: list[ZoneDraft], result: ImportResult) -> list[ZoneDraft]:
    """Make ids unique: pieces of one unit (same id, same name) merge; others get a suffix.

    A unit stored as several features is still one place to warn, so its pieces become one
    MultiPolygon. Different places that share an id keep the first feature's id and get `-2`,
    `-3`, ... in file order, which is stable as long as the file is.
    """
    by_id: dict[str, list[ZoneDraft]] = defaultdict(list)
    for draft in drafts:
        by_id[draft.id].append(draft)
    duplicated = {zone_id: group for zone_id, group in by_id.items() if len(group) > 1}
    if not duplicated:
        return drafts
    merged: list[str] = []
    renamed: list[str] = []
    out: list[ZoneDraft] = []
    taken = set(by_id)
    seen: set[str] = set()
    for draft in drafts:
        group = duplicated.get(draft.id)
        if group is None:
            out.append(draft)
            continue
        if draft.id in seen:
            continue
        seen.add(draft.id)
        if len({(d.name, d.region) for d in group}) == 1:
            first = group[0]
            first.geometry = polygonal(shapely.union_all([d.geometry for d in group]))
            # pieces that disagree on the time to shelter: the longest warns in time for all
            first.shelter_s = max(d.shelter_s for d in group)
            first.properties["merged_features"] = len(group)
            merged.append(f"{first.label} ×{len(group)}")
            out.append(first)
            continue
        out.append(group[0])
        n = 2
        for other in group[1:]:
            while f"{other.id}-{n}" in taken:
                n += 1
            new_id = f"{other.id}-{n}"
            taken.add(new_id)
            other.properties["source_id"] = other.id
            renamed.append(f"{other.name} {other.id} → {new_id}")
            other.id = new_id
            out.append(other)
    if merged:
        result.note(
            f"{plural(len(merged), 'id')} {agree(len(merged), 'occurs', 'occur')} on "
            "several features with the same name and region: pieces of one place, "
            "merged into one zone each (with the longest shelter_s among them): "
            f"{examples(merged)}."
        )
    if renamed:
        result.note(
            f"{plural(len(renamed), 'feature')} {agree(len(renamed), 'reuses', 'reuse')}"
            " the id of a different place; the first keeps it, the others get -2, -3, "
            "... in file order (the original id is kept as property source_id): "
            f"{examples(renamed)}."
        )
    return out


def _projection_for(zones: list[Zone]) -> LocalProjection:
    minx, miny, maxx, maxy = shapely.total_bounds([z.geometry for z in zones])
    return LocalProjection((minx + maxx) / 2.0, (miny + maxy) / 2.0)


def _note_multipart(zones: list[Zone], projection: LocalProjection, result: ImportResult) -> None:
    multi = [z for z in zones if z.geometry.geom_type == "MultiPolygon"]
    if not multi:
        return
    result.note(
        f"{plural(len(multi), 'zone')} "
        f"{agree(len(multi), 'is a MultiPolygon', 'are MultiPolygons')} (several "
        "separate pieces: exclaves, "
        "islands, a unit split by another); kept whole, one zone each: "
        f"{examples(_label(z) for z in multi)}."
    )
    small: list[tuple[float, str]] = []
    for zone in multi:
        parts_km2 = [projection.geometry_to_xy(part).area / 1e6 for part in zone.geometry.geoms]
        whole_km2 = sum(parts_km2)
        for area_km2 in parts_km2:
            if area_km2 < SMALL_PART_KM2 and area_km2 < SMALL_PART_SHARE * whole_km2:
                small.append((area_km2, f"{_label(zone)} {area_km2:.3f} km²"))
    if small:
        small.sort()
        result.note(
            f"{plural(len(small), 'piece')} of those MultiPolygons "
            f"{agree(len(small), 'is', 'are')} under {SMALL_PART_KM2} km² and "
            f"{SMALL_PART_SHARE:.0%} of its zone (slivers or tiny exclaves); kept, since "
            f"dropping them would leave land in no zone: "
            f"{examples(s for _, s in small)}."
        )


def _note_gaps(zones: list[Zone], projection: LocalProjection, result: ImportResult) -> None:
    """Report holes in the union of a mosaic: places inside the territory that no zone covers."""
    union = shapely.union_all([z.geometry for z in zones])
    holes = [
        Polygon(ring)
        for part in shapely.get_parts(union)
        for ring in getattr(part, "interiors", [])
    ]
    if not holes:
        result.note("Gaps: none; the zones cover their territory without holes.")
        return
    sized = sorted(
        ((projection.geometry_to_xy(h).area / 1e6, h) for h in holes), key=lambda item: -item[0]
    )
    total_km2 = sum(a for a, _ in sized)
    shown = [f"{a:.3f} km² at {h.centroid.y:.3f}N {h.centroid.x:.3f}E" for a, h in sized]
    result.note(
        f"{plural(len(holes), 'gap')} (holes between zones that no zone covers, "
        f"{total_km2:.2f} km² in all): a point there is in no zone. Left as they are "
        f"(filling them would invent borders); largest: {examples(shown, 4)}."
    )


def _note_shared_names(zones: list[Zone], result: ImportResult) -> None:
    counts = Counter(z.name for z in zones if z.name)
    shared = sorted(((n, name) for name, n in counts.items() if n > 1), key=lambda x: -x[0])
    if not shared:
        return
    same_region = Counter((z.name, z.region) for z in zones if z.name)
    clashes = sorted(f"{name} ({region})" for (name, region), n in same_region.items() if n > 1)
    text = (
        f"{plural(len(shared), 'name')} {agree(len(shared), 'is', 'are')} shared by "
        "several zones; ids tell them apart: "
        f"{examples(f'{name} ×{n}' for n, name in shared)}."
    )
    if clashes:
        text += (
            f" {len(clashes)} of them repeat within one region, where name + region is "
            f"ambiguous too: {examples(clashes)}."
        )
    result.note(text)


def _label(zone: Zone) -> str:
    return f"{zone.name} ({zone.id})" if zone.name else zone.id


def id_text(value: Any) -> str | None:
    """A source id as a canonical string id: JSON numbers become digits, blanks become None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return repr(value)
        value = int(value)
    text = str(value).strip()
    return text or None


def text_or_none(value: Any) -> str | None:
    """A name-like property as clean text, or None when it is missing or blank."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None
