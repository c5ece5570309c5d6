"""Zone sets: the alert polygons, their shelter times, and a spatial index in metres.

A zone set is read from canonical GeoJSON (Contract v1): a FeatureCollection whose features
carry `id` (string, unique) and `shelter_s` (integer >= 0), optionally `name` and `region`, and
anything else, which is kept. Importers for real layers live in `airwarn.layers`.
"""

from __future__ import annotations

import difflib
import gzip
import math
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from airwarn.engine.projection import LocalProjection, Outline
from airwarn.errors import ZoneError

CLEARANCE_SLACK_M = 1.0  # a zone must be clear by this much more than the outline moved


@dataclass(frozen=True)
class Zone:
    """One alert polygon, as the contract describes it."""

    id: str
    shelter_s: int
    geometry: BaseGeometry  # WGS84 lon/lat
    name: str | None = None
    region: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


class Clearance:
    """What a threat's corridor outline met last, to spare the next one work.

    The zones it did not meet, each with its distance (m) from it: a later outline whose centre
    and vertices each moved by at most d lies within d of this one (see `Outline.moved_m`), so
    it still misses every zone that was farther than d: an exact answer with no polygon built
    and no geometry test run.

    And the zones near it: those whose bounding boxes meet a box around the outline's, grown by
    half its size. While a later outline's box stays inside that box, only those zones' boxes
    can meet it, so the box test runs over a few dozen zones instead of the whole class.
    """

    __slots__ = (
        "outline",
        "clear_m",
        "near_box",
        "near",
        "near_bounds",
        "near_boxes",
        "box",
        "missed_gap_m",
        "let_go_gap_m",
    )

    def __init__(self) -> None:
        self.outline: Outline | None = None
        # What `gap_m` works out, when asked, of the last query: the outline's box,
        # how far it was from the zones it met by box and missed, and (set by the policy) from
        # zones it held and let go.
        self.box: tuple[float, float, float, float] | None = None
        self.missed_gap_m = math.inf
        self.let_go_gap_m = math.inf
        self.clear_m: dict[int, float] = {}
        self.near_box: tuple[float, float, float, float] | None = None
        self.near: np.ndarray = np.zeros(0, dtype=np.int64)
        self.near_bounds: tuple[np.ndarray, ...] = ()
        # the same boxes as tuples, made when `gap_m` first needs them: a handful of zones,
        # which plain Python walks faster than numpy starts
        self.near_boxes: list[tuple[float, float, float, float]] | None = None

    def gap_m(self) -> float:
        """At least how far the outline of the last `query_class_known` with this clearance is
        from every zone of the class that query did not return (and the policy did not keep):
        zones near it whose boxes it did not meet, by the gap between the boxes; those beyond
        the near box, by the gap to that box's edge; those it met by box and missed, by their
        clearance; those the policy let go, by what it says. Worked out only when asked (a
        silent threat's recheck), from what the query left."""
        if self.box is None or self.near_box is None:
            return 0.0
        low_x, low_y, high_x, high_y = self.box
        box = self.near_box
        gap = min(
            low_x - box[0],
            low_y - box[1],
            box[2] - high_x,
            box[3] - high_y,
            self.missed_gap_m,
            self.let_go_gap_m,
        )
        if self.near_boxes is None:
            self.near_boxes = list(zip(*(side.tolist() for side in self.near_bounds), strict=True))
        for min_x, min_y, max_x, max_y in self.near_boxes:
            between = max(min_x - high_x, low_x - max_x, min_y - high_y, low_y - max_y)
            if 0.0 < between < gap:  # the boxes do not meet (the query's inclusive test)
                gap = between
        return max(0.0, gap)


class ZoneSet:
    """An immutable set of zones with a spatial index over their shapes projected to metres.

    Zones are addressed by index (0..n-1) inside the engine and by id outside it.
    """

    def __init__(self, zones: Sequence[Zone], attribution: str | None = None) -> None:
        if not zones:
            raise ZoneError("the zone set is empty: give at least one zone")
        self.zones: tuple[Zone, ...] = tuple(zones)
        self.attribution = attribution  # whose data the zones are, for maps to credit
        self.ids: tuple[str, ...] = tuple(z.id for z in self.zones)
        self.index_of: dict[str, int] = {}
        # for refusals only (`unknown_id`): the zones by name, and the last values refused
        self._by_name: dict[str, list[Zone]] | None = None
        self._refusals: dict[tuple[str, str], str] = {}
        for i, zone_id in enumerate(self.ids):
            if zone_id in self.index_of:
                raise ZoneError(
                    f"zone id {zone_id!r} appears twice; ids must be unique",
                    field="$.features[].properties.id",
                    value=zone_id,
                )
            self.index_of[zone_id] = i
        self.shelter_s = np.array([z.shelter_s for z in self.zones], dtype=np.int64)
        self.shelter_list: list[int] = self.shelter_s.tolist()  # the same, for single lookups
        lonlat = np.array([z.geometry for z in self.zones], dtype=object)
        minx, miny, maxx, maxy = shapely.total_bounds(lonlat)
        self.projection = LocalProjection((minx + maxx) / 2.0, (miny + maxy) / 2.0)
        self.shapes_m = np.array([self.projection.geometry_to_xy(g) for g in lonlat], dtype=object)
        shapely.prepare(self.shapes_m)
        self.area_km2 = shapely.area(self.shapes_m) / 1e6
        self.tree = shapely.STRtree(self.shapes_m)
        self.regions: dict[str, list[int]] = {}
        for i, zone in enumerate(self.zones):
            if zone.region is not None:
                self.regions.setdefault(zone.region, []).append(i)
        # One index per shelter time: a threat that can reach a place within T seconds
        # alerts exactly the zones whose shelter_s + margin >= T.
        self.shelter_classes: tuple[int, ...] = tuple(sorted(set(self.shelter_s.tolist())))
        self.members_of_class: dict[int, np.ndarray] = {
            s: np.flatnonzero(self.shelter_s == s) for s in self.shelter_classes
        }
        self._class_trees = {
            s: shapely.STRtree(self.shapes_m[members])
            for s, members in self.members_of_class.items()
        }
        # Bounding boxes per class as four arrays (min x, min y, max x, max y): a moving
        # threat's region meets a handful of them, and numpy finds those faster than a tree
        # query on a shapely polygon that would first have to be built.
        # A point inside each zone: a zone whose point lies inside a region meets it, with no
        # geometry test run (`query_wide`).
        inner = shapely.get_coordinates(shapely.point_on_surface(self.shapes_m))
        self.inner_x = np.ascontiguousarray(inner[:, 0])
        self.inner_y = np.ascontiguousarray(inner[:, 1])
        bounds = shapely.bounds(self.shapes_m)
        self.bounds = bounds  # per zone: min x, min y, max x, max y (m)
        self._class_bounds = {
            s: tuple(np.ascontiguousarray(bounds[members, k]) for k in range(4))
            for s, members in self.members_of_class.items()
        }

    def __len__(self) -> int:
        return len(self.zones)

    def unknown_id(self, value: str) -> str:
        """Why `value` names no zone, and what does: a zone's name given for its id, or a name
        one slip away (an id one digit off is another zone, so no id is guessed; a name that
        several zones share gives them all, each with its region). An error's text, worked
        out only for a refusal, and remembered for the last few values refused."""
        return self._refused("zone", value, self._unknown_id)

    def unknown_region(self, value: str) -> str:
        """Why `value` names no region: where the names are, and the closest one when one is a
        slip away. Regions are named as the zone set names them (Hebrew in Israel's), so a
        name in another script finds none, and the refusal says where to look. Remembered as
        `unknown_id`'s texts are."""
        return self._refused("region", value, self._unknown_region)

    def _refused(self, what: str, value: str, explain: Callable[[str], str]) -> str:
        """`explain(value)`, worked out once for the last 256 values refused: a replay of
        many bad lines does not run difflib on each."""
        said = self._refusals.get((what, value))
        if said is None:
            said = explain(value)
            if len(self._refusals) >= 256:
                self._refusals.clear()
            self._refusals[(what, value)] = said
        return said

    def _unknown_region(self, value: str) -> str:
        if not self.regions:
            return "the zone set has no regions: name the zones by id (`zones`)"
        said = (
            f"no region of that name in the zone set; its {len(self.regions)} regions are "
            "named as its zones' `region` property, in the zone set's own language (GET "
            "/v1/zones lists every zone with its region)"
        )
        close = difflib.get_close_matches(value[:200], list(self.regions), n=1, cutoff=0.75)
        return f"{said}; did you mean {close[0]!r}?" if close else said

    def _unknown_id(self, value: str) -> str:
        said = "no zone with that id in the zone set"
        if self._by_name is None:
            by_name: dict[str, list[Zone]] = {}
            for zone in self.zones:
                if zone.name:
                    by_name.setdefault(zone.name, []).append(zone)
            self._by_name = by_name
        if value in self._by_name:
            name = value
        else:
            close = difflib.get_close_matches(value[:200], list(self._by_name), n=1, cutoff=0.8)
            if not close:
                return said
            name = close[0]
        zones = self._by_name[name]
        if len(zones) > 1:
            each = ", ".join(f"{z.id} ({z.region})" if z.region else z.id for z in zones[:5])
            each += f", and {len(zones) - 5} more" if len(zones) > 5 else ""
            named = f"zones {each} are named {name!r}: give the id of the one you mean"
            return (
                f"{said}; {named}" if name == value else f"{said}; did you mean {name!r}? {named}"
            )
        if name == value:
            return f"{said}; {name!r} is the name of zone {zones[0].id}: give its id"
        return f"{said}; did you mean zone {zones[0].id} ({name})?"

    def query(self, region_m: BaseGeometry) -> np.ndarray:
        """Indexes of the zones that the region (in metres) intersects, ascending."""
        hits = self.tree.query(region_m, predicate="intersects")
        hits.sort()
        return hits

    def query_wide(self, region_m: BaseGeometry) -> np.ndarray:
        """`query` for a region that meets dozens of zones (a pre-alert ring): a zone whose
        inner point the region holds meets it, and only the others are tested exactly, each
        zone prepared and the region not (about 15 % faster there; slower for a small region
        such as an impact ellipse, whose few zones the prepared region tests quickly)."""
        candidates = self.tree.query(region_m)
        inside = shapely.contains_xy(region_m, self.inner_x[candidates], self.inner_y[candidates])
        rest = candidates[~inside]
        hits = candidates[inside]
        if len(rest):
            hits = np.concatenate([hits, rest[shapely.intersects(self.shapes_m[rest], region_m)]])
        hits.sort()
        return hits

    def query_class_known(
        self,
        shelter_s: int,
        outline: Outline,
        known: Container[int],
        clearance: Clearance | None = None,
    ) -> np.ndarray:
        """Indexes of the zones with this shelter time that the outline's polygon intersects,
        ascending; but zones in `known` whose bounding box meets the polygon's are taken
        without the exact test: cheaper for a moving threat, whose region mostly covers the
        zones it already holds, and never less safe (it only keeps a zone a little longer).
        With a `clearance` (one per threat and shelter time, kept by the caller) the zones a
        former outline was far enough from are not tested again either. The polygon is built
        only when a zone needs the exact test."""
        xs, ys = outline.xs, outline.ys
        low_x, high_x, low_y, high_y = (
            float(xs.min()),
            float(xs.max()),
            float(ys.min()),
            float(ys.max()),
        )
        if clearance is None:
            members = self.members_of_class[shelter_s]
            min_x, min_y, max_x, max_y = self._class_bounds[shelter_s]
        else:
            box = clearance.near_box
            if box is None or not (
                box[0] <= low_x and box[1] <= low_y and high_x <= box[2] and high_y <= box[3]
            ):
                self._near(shelter_s, clearance, low_x, low_y, high_x, high_y)
            members = clearance.near
            min_x, min_y, max_x, max_y = clearance.near_bounds
        # the same inclusive envelope test as an STRtree query
        meets = (min_x <= high_x) & (max_x >= low_x) & (min_y <= high_y) & (max_y >= low_y)
        hits = members[meets]
        if clearance is not None:
            clearance.box = (low_x, low_y, high_x, high_y)
            clearance.missed_gap_m = clearance.let_go_gap_m = math.inf
        if not len(hits):
            return hits
        fresh = [i for i in hits.tolist() if i not in known]
        if not fresh:
            return hits
        moved_m = 0.0
        unsure = fresh
        if clearance is not None and clearance.outline is not None:
            moved_m = outline.moved_m(clearance.outline)
            limit_m = moved_m + CLEARANCE_SLACK_M
            clear_m = clearance.clear_m
            unsure = [i for i in fresh if clear_m.get(i, 0.0) <= limit_m]
        missed: set[int] = set(fresh)
        if unsure:
            region_m = outline.polygon()
            exact = shapely.intersects(self.shapes_m[unsure], region_m)
            missed.difference_update(
                i for i, hit in zip(unsure, exact.tolist(), strict=True) if hit
            )
            if clearance is not None:
                # start again from this outline: the zones not tested keep what is left of
                # their clearance, the others get their distance to it
                kept = {i: clearance.clear_m[i] - moved_m for i in fresh if i not in unsure}
                apart = [i for i, hit in zip(unsure, exact.tolist(), strict=True) if not hit]
                if apart:
                    distances = shapely.distance(region_m, self.shapes_m[apart]).tolist()
                    kept.update(zip(apart, distances, strict=True))
                clearance.outline = outline
                clearance.clear_m = kept
        if not missed:
            return hits
        if clearance is not None:
            # the zones it met by box and missed: their clearance, from this outline
            behind_m = 0.0 if clearance.outline is outline else moved_m
            nearest = min(clearance.clear_m[i] for i in missed) - behind_m
            clearance.missed_gap_m = max(0.0, nearest)
        return np.array([i for i in hits.tolist() if i not in missed], dtype=np.int64)

    def _near(
        self,
        shelter_s: int,
        clearance: Clearance,
        low_x: float,
        low_y: float,
        high_x: float,
        high_y: float,
    ) -> None:
        """Remember the zones of the class whose boxes meet the outline's box grown by half
        its size (ascending, as the class's members are)."""
        grow_m = 0.5 * max(high_x - low_x, high_y - low_y)
        box = (low_x - grow_m, low_y - grow_m, high_x + grow_m, high_y + grow_m)
        min_x, min_y, max_x, max_y = self._class_bounds[shelter_s]
        meets = (min_x <= box[2]) & (max_x >= box[0]) & (min_y <= box[3]) & (max_y >= box[1])
        clearance.near_box = box
        clearance.near = self.members_of_class[shelter_s][meets]
        clearance.near_bounds = (min_x[meets], min_y[meets], max_x[meets], max_y[meets])
        clearance.near_boxes = None

    def query_class(self, shelter_s: int, region_m: BaseGeometry) -> np.ndarray:
        """Indexes of the zones with this shelter time that the region intersects, ascending."""
        hits = self._class_trees[shelter_s].query(region_m, predicate="intersects")
        found = self.members_of_class[shelter_s][hits]
        found.sort()
        return found

    def zone_at(self, lon: float, lat: float) -> int | None:
        """Index of the zone holding a point, or None outside every zone."""
        point = shapely.Point(self.projection.to_xy(lon, lat))
        hits = self.tree.query(point, predicate="intersects")
        return int(hits.min()) if len(hits) else None

    def within_distance(self, x: float, y: float, radius_m: float) -> np.ndarray:
        hits = self.tree.query(shapely.Point(x, y), predicate="dwithin", distance=radius_m)
        hits.sort()
        return hits


def _property(props: dict[str, Any], name: str, number: int) -> Any:
    if name not in props or props[name] is None:
        raise ZoneError(
            f"feature {number} has no `{name}`; every zone needs one",
            field=f"$.features[{number}].properties.{name}",
        )
    return props[name]


def zones_from_geojson(document: dict[str, Any], source: str | None = None) -> ZoneSet:
    """Build a zone set from a canonical GeoJSON FeatureCollection (already parsed)."""
    if document.get("type") != "FeatureCollection":
        raise ZoneError(
            "a zone file is a GeoJSON FeatureCollection",
            field="$.type",
            value=document.get("type"),
            source=source,
        )
    zones = []
    for number, feature in enumerate(document.get("features") or []):
        props = dict(feature.get("properties") or {})
        zone_id = _property(props, "id", number)
        if not isinstance(zone_id, str) or not zone_id:
            raise ZoneError(
                "zone ids are non-empty strings",
                field=f"$.features[{number}].properties.id",
                value=zone_id,
                source=source,
            )
        shelter_s = _property(props, "shelter_s", number)
        if isinstance(shelter_s, bool) or not isinstance(shelter_s, int) or shelter_s < 0:
            raise ZoneError(
                "shelter_s is a whole number of seconds, 0 or more",
                field=f"$.features[{number}].properties.shelter_s",
                value=shelter_s,
                source=source,
            )
        if not feature.get("geometry"):
            raise ZoneError(
                f"zone {zone_id!r} has no geometry",
                field=f"$.features[{number}].geometry",
                source=source,
            )
        try:
            geometry = shape(feature["geometry"])
        except Exception as exc:  # shapely raises several types for broken GeoJSON
            raise ZoneError(
                f"zone {zone_id!r} has an unreadable geometry: {exc}",
                field=f"$.features[{number}].geometry",
                source=source,
            ) from None
        if geometry.geom_type not in ("Polygon", "MultiPolygon"):
            raise ZoneError(
                f"zone {zone_id!r} is a {geometry.geom_type}; zones are polygons",
                field=f"$.features[{number}].geometry.type",
                source=source,
            )
        if not geometry.is_valid:
            raise ZoneError(
                f"zone {zone_id!r} has an invalid polygon ({shapely.is_valid_reason(geometry)}); "
                "repair it, or import the layer with `airwarn zones import`, which does",
                field=f"$.features[{number}].geometry",
                source=source,
            )
        name = props.pop("name", None)
        region = props.pop("region", None)
        props.pop("id")
        props.pop("shelter_s")
        zones.append(
            Zone(
                id=zone_id,
                shelter_s=shelter_s,
                geometry=geometry,
                name=None if name is None else str(name),
                region=None if region is None else str(region),
                properties=props,
            )
        )
    attribution = document.get("attribution")
    return ZoneSet(zones, attribution if isinstance(attribution, str) else None)


def load_zones(path: str | Path) -> ZoneSet:
    """Read a canonical zone file (plain, or gzip-compressed as the shipped layers are)."""
    path = Path(path)
    try:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        document = msgspec.json.decode(data)
    except FileNotFoundError:
        raise ZoneError(f"no zone file at {path}; make one with `airwarn zones import`") from None
    except IsADirectoryError:
        raise ZoneError(f"{path} is a folder; give a zone file (GeoJSON)") from None
    except (msgspec.DecodeError, gzip.BadGzipFile, EOFError) as exc:
        raise ZoneError(f"not valid JSON: {exc}", source=str(path)) from None
    return zones_from_geojson(document, source=str(path))


def zones_to_geojson(zones: Sequence[Zone], attribution: str | None = None) -> dict[str, Any]:
    """The canonical FeatureCollection for zones (the inverse of `zones_from_geojson`), with
    the data's attribution as a top-level member when there is one."""
    features = []
    for zone in zones:
        props: dict[str, Any] = {"id": zone.id, "shelter_s": zone.shelter_s}
        if zone.name is not None:
            props["name"] = zone.name
        if zone.region is not None:
            props["region"] = zone.region
        props.update(zone.properties)
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": shapely.geometry.mapping(zone.geometry),
            }
        )
    document: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if attribution:
        document["attribution"] = attribution
    return document


def write_zones(zones: Sequence[Zone], path: str | Path, attribution: str | None = None) -> None:
    Path(path).write_bytes(msgspec.json.encode(zones_to_geojson(zones, attribution)) + b"\n")
