"""A generated zone set for demos and tests that must run without the real layers.

Real zone layers cannot ship with airwarn (their licences and size); this one is made on the
spot: hexagonal cells about 8 km across over the land between the Mediterranean coast and the
Jordan valley (the area Israel's Home Front Command warns), each with a time to shelter that
falls with the distance to the nearest border a short-range rocket comes from (15 s within
7 km, as near Gaza, up to 90 s far inland), grouped in districts of about 40 km.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from airwarn.engine.projection import LocalProjection
from airwarn.engine.zones import Zone

CENTRE = (34.95, 31.45)  # lon, lat
HEX_RADIUS_M = 4_500.0
# Borders short-range fire comes from (lon, lat points along them), as in the scenarios.
FRONTS = {
    "south-west": [(34.22 + 0.05 * i, 31.22 + 0.06 * i) for i in range(8)],
    "north": [(35.1 + 0.08 * i, 33.08 + 0.01 * i) for i in range(9)],
}
# The land: a rough outline (lon, lat) from the coast to the Jordan valley; the sea is no zone.
LAND = [
    (34.27, 31.22),
    (34.49, 31.60),
    (34.74, 32.05),
    (34.86, 32.45),
    (34.96, 32.83),
    (35.10, 33.09),
    (35.55, 33.27),
    (35.65, 32.90),
    (35.56, 32.40),
    (35.50, 31.80),
    (35.40, 31.30),
    (35.25, 30.60),
    (34.95, 29.55),
    (34.87, 29.50),
    (34.25, 31.00),
]
SHELTER_STEPS = ((7_000.0, 15), (15_000.0, 30), (25_000.0, 45), (40_000.0, 60))


def _shelter_s(distance_m: float) -> int:
    for limit, shelter in SHELTER_STEPS:
        if distance_m <= limit:
            return shelter
    return 90


def demo_zones() -> list[Zone]:
    """About 300 hexagonal zones with shelter times from 15 to 90 s, in 20-odd districts."""
    projection = LocalProjection(*CENTRE)
    land = projection.geometry_to_xy(shapely.Polygon(LAND))
    fronts = shapely.MultiPoint([projection.to_xy(*p) for p in sum(FRONTS.values(), [])])
    r = HEX_RADIUS_M
    dx, dy = 1.5 * r, math.sqrt(3) * r
    minx, miny, maxx, maxy = land.bounds
    corners = [(r * math.cos(a), r * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 7)[:-1]]
    zones = []
    for col in range(int((maxx - minx) / dx) + 2):
        for row in range(int((maxy - miny) / dy) + 2):
            cx = minx + col * dx
            cy = miny + row * dy + (dy / 2 if col % 2 else 0.0)
            cell = shapely.Polygon([(cx + x, cy + y) for x, y in corners])
            if not cell.intersects(land):
                continue
            piece = cell.intersection(land)
            if piece.area < 0.2 * cell.area or piece.geom_type != "Polygon":
                continue
            district = f"District {int((cy - miny) // 40_000) + 1}-{int((cx - minx) // 40_000) + 1}"
            shelter = _shelter_s(shapely.distance(shapely.Point(cx, cy), fronts))
            zone_id = f"demo-{col:02d}{row:03d}"
            zones.append(
                Zone(
                    id=zone_id,
                    shelter_s=shelter,
                    geometry=shapely.set_precision(projection.geometry_to_lonlat(piece), 1e-6),
                    name=f"Cell {col}-{row}",
                    region=district,
                )
            )
    return zones
