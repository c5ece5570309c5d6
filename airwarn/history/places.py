"""The canonical zones each history attaches to, read through the zone-layer importers.

Ukraine: oblasts, raions and hromadas (KATOTTG ids, from `ua_oblasts`, `ua_raions` and
`ua_hromadas.geojson`); Israel: the Home Front Command alert areas (segment ids). The store keeps
a copy of each zone's name, region, area and a simplified outline, so that statistics and the
report's map need no layer files once the histories are imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import shapely
from shapely.geometry.base import BaseGeometry

from airwarn.engine.zones import Zone, ZoneSet
from airwarn.errors import AirwarnError
from airwarn.history.records import HistoryError
from airwarn.layers.israel import import_israel
from airwarn.layers.ukraine import import_ukraine

UKRAINE_LAYERS = {
    "oblast": "ua_oblasts.geojson",
    "raion": "ua_raions.geojson",
    "hromada": "ua_hromadas.geojson",
}
ISRAEL_LAYER = "israel_alert_areas.geojson"
# Outlines for maps only: about 500 m (Ukraine) and 50 m (Israel) of simplification.
_SIMPLIFY_DEG = {"ukraine": 0.005, "israel": 0.0005}


@dataclass(frozen=True)
class Place:
    """A zone as the history knows it: id, level, name, region, area and outline (lon/lat)."""

    zone_id: str
    level: str
    name: str | None
    region: str | None
    area_km2: float
    shelter_s: int | None
    geometry: BaseGeometry
    properties: dict[str, object]


@dataclass(frozen=True)
class PlaceSet:
    """All the zones of one country, by id."""

    zone_set: str  # "ukraine" or "israel"
    places: dict[str, Place]

    def simplified(self, place: Place) -> BaseGeometry:
        """The outline the store keeps for maps."""
        return shapely.simplify(
            place.geometry, _SIMPLIFY_DEG[self.zone_set], preserve_topology=True
        )


def _places(zones: list[Zone], level: str, shelter: bool) -> list[Place]:
    areas = ZoneSet(zones).area_km2
    return [
        Place(
            z.id,
            level,
            z.name,
            z.region,
            float(a),
            z.shelter_s if shelter else None,
            z.geometry,
            dict(z.properties),
        )
        for z, a in zip(zones, areas, strict=True)
    ]


def ukraine_places(folder: str | Path) -> PlaceSet:
    """Ukraine's oblasts, raions and hromadas from the layers in `folder`."""
    folder = Path(folder)
    places: dict[str, Place] = {}
    for level, name in UKRAINE_LAYERS.items():
        path = folder / name
        if not path.is_file():
            raise HistoryError(
                f"no {level} layer at {path}: give the folder that holds "
                f"{', '.join(UKRAINE_LAYERS.values())} with --layers, e.g. "
                "--layers ../shared/data/ukraine",
                field="--layers",
            )
        try:
            result = import_ukraine(path, level, 0)
        except AirwarnError as error:
            raise HistoryError(
                f"the {level} layer cannot be read: {error}", source=str(path)
            ) from None
        for place in _places(result.zones, level, shelter=False):
            places.setdefault(place.zone_id, place)
    return PlaceSet("ukraine", places)


def israel_places(path: str | Path) -> PlaceSet:
    """Israel's alert areas from the Home Front Command layer."""
    path = Path(path)
    if not path.is_file():
        raise HistoryError(
            f"no alert-area layer at {path}: give it with --layers, e.g. "
            f"--layers ../shared/data/israel/{ISRAEL_LAYER}",
            field="--layers",
        )
    try:
        result = import_israel(path)
    except AirwarnError as error:
        raise HistoryError(
            f"the alert-area layer cannot be read: {error}", source=str(path)
        ) from None
    return PlaceSet("israel", {p.zone_id: p for p in _places(result.zones, "area", shelter=True)})
