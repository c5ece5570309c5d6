"""The blast-radius guard: an operator's alert that would reach far more than its request
implies is held until someone confirms that size explicitly.

It exists because of a real failure: in 2025 an evacuation alert meant for two towns went to
about ten million people, because a missing polygon was read as "everywhere". Here a missing or
empty area is an error, never the whole map, and the resolved reach is compared with what the
request itself implies:
- an `area` (a GeoJSON polygon drawn by the operator) implies its own size; the zones it
  touches may cover somewhat more, but not `max_area_ratio` times more;
- a `region` or a list of `zones` implies their count; past `max_zones` zones, or past
  `max_share` of the whole zone set, the reach is large enough to need a second, explicit yes;
- `expect_zones`, when the client says how many zones it meant, must not be exceeded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import shapely
from shapely.geometry import shape

from airwarn.engine.zones import ZoneSet
from airwarn.errors import RequestError


@dataclass(frozen=True)
class BlastLimits:
    max_zones: int = 50
    max_share: float = 0.10
    max_area_ratio: float = 4.0
    max_area_vertices: int = 10_000


@dataclass(frozen=True)
class Reach:
    """Where an action lands, and whether its size must be confirmed on its own."""

    zones: list[str]
    area_km2: float
    implied_km2: float | None
    regions: list[str]
    held: bool
    why: list[str]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["zone_count"] = len(self.zones)
        return out


def resolve(
    zone_set: ZoneSet,
    *,
    zones: list[str] | None = None,
    region: str | None = None,
    area: dict[str, Any] | None = None,
    expect_zones: int | None = None,
    limits: BlastLimits | None = None,
) -> Reach:
    """The zones a request names, with the guard's verdict; a RequestError if it names none."""
    limits = limits or BlastLimits()
    given = [
        name
        for name, value in (("zones", zones), ("region", region), ("area", area))
        if value is not None
    ]
    if len(given) != 1:
        raise RequestError(
            "name exactly one of `zones` (zone ids), `region` or `area` (a GeoJSON Polygon)",
            field="$.zones",
            value=given or None,
        )
    implied_km2: float | None = None
    if zones is not None:
        if not zones:
            raise RequestError(
                "`zones` is empty: list the zone ids to act on", field="$.zones", value=zones
            )
        unknown = [z for z in zones if z not in zone_set.index_of]
        if unknown:
            raise RequestError(
                "no zone with that id in the zone set", field="$.zones", value=unknown[0]
            )
        indices = sorted({zone_set.index_of[z] for z in zones})
    elif region is not None:
        if region not in zone_set.regions:
            raise RequestError(zone_set.unknown_region(region), field="$.region", value=region)
        indices = list(zone_set.regions[region])
    else:
        assert area is not None
        try:
            polygon = shape(area)
        except Exception as exc:  # shapely raises several types for bad GeoJSON
            raise RequestError(
                f"`area` is not a GeoJSON geometry: {exc}",
                field="$.area",
                value=area.get("type") if isinstance(area, dict) else area,
            ) from None
        vertices = int(shapely.get_num_coordinates(polygon))
        if vertices > limits.max_area_vertices:
            raise RequestError(
                f"`area` has {vertices} vertices; draw it with at most {limits.max_area_vertices}",
                field="$.area",
                value=vertices,
            )
        if polygon.geom_type not in ("Polygon", "MultiPolygon") or polygon.is_empty:
            raise RequestError(
                "`area` must be a non-empty GeoJSON Polygon or MultiPolygon",
                field="$.area",
                value=polygon.geom_type,
            )
        if not polygon.is_valid:
            raise RequestError(
                "`area` is not a valid polygon (it crosses itself)",
                field="$.area",
                value=shapely.is_valid_reason(polygon),
            )
        area_m = zone_set.projection.geometry_to_xy(polygon)
        implied_km2 = float(area_m.area) / 1e6
        indices = sorted(int(i) for i in zone_set.query(area_m))
        if not indices:
            raise RequestError("`area` touches no zone of the zone set", field="$.area")
    ids = [zone_set.ids[i] for i in indices]
    area_km2 = float(sum(zone_set.area_km2[i] for i in indices))
    regions = sorted({r for i in indices if (r := zone_set.zones[i].region) is not None})
    why = []
    if expect_zones is not None and len(ids) > expect_zones:
        why.append(f"it reaches {len(ids)} zones, more than the {expect_zones} expected")
    if len(ids) > limits.max_zones:
        why.append(f"it reaches {len(ids)} zones (more than {limits.max_zones})")
    if len(ids) > limits.max_share * len(zone_set):
        why.append(f"it reaches {len(ids) / len(zone_set):.0%} of all zones")
    if implied_km2 is not None and area_km2 > limits.max_area_ratio * max(implied_km2, 1.0):
        why.append(
            f"its zones cover {area_km2:.0f} km², {area_km2 / max(implied_km2, 1.0):.0f} "
            f"times the {implied_km2:.0f} km² drawn"
        )
    return Reach(
        zones=ids,
        area_km2=round(area_km2, 3),
        implied_km2=None if implied_km2 is None else round(implied_km2, 3),
        regions=regions,
        held=bool(why),
        why=why,
    )
