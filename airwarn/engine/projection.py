"""A local map projection in metres, shared by the zones and the threats that cross them.

Zone sets are national (Israel is ~450 km long, Ukraine ~1,300 km wide): an azimuthal
equidistant projection centred on the set keeps distances from its centre exact and scale
errors elsewhere under 0.5 % within 800 km, which is far below the uncertainties of any
predicted impact region or corridor.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pyproj
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry


class LocalProjection:
    """Lon/lat (WGS84) to metres east/north of a centre point, and back."""

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0 = float(lon0)
        self.lat0 = float(lat0)
        crs = pyproj.CRS.from_proj4(
            f"+proj=aeqd +lat_0={self.lat0:.6f} +lon_0={self.lon0:.6f} +datum=WGS84 +units=m"
        )
        self._fwd = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        self._inv = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def to_xy(self, lon: float, lat: float) -> tuple[float, float]:
        x, y = self._fwd.transform(lon, lat)
        return float(x), float(y)

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        lon, lat = self._inv.transform(x, y)
        return float(lon), float(lat)

    def geometry_to_xy(self, geometry: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geometry, self._forward_array)

    def geometry_to_lonlat(self, geometry: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geometry, self._inverse_array)

    def _forward_array(self, coords: np.ndarray) -> np.ndarray:
        x, y = self._fwd.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    def _inverse_array(self, coords: np.ndarray) -> np.ndarray:
        lon, lat = self._inv.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])


def heading_rad(east: float, north: float) -> float:
    """Compass heading (0 = north, clockwise) of a horizontal vector, in radians."""
    return math.atan2(east, north)


class Outline(NamedTuple):
    """A polygon that is star-shaped around a centre, kept as the centre and its vertices in
    angular order (local metres): the union of the triangles (centre, vertex i, vertex i + 1).
    A corridor is worked with in this form per report, and made a shapely polygon only when a
    zone needs the exact test."""

    x_m: float
    y_m: float
    xs: np.ndarray
    ys: np.ndarray

    def polygon(self) -> Polygon:
        coords = np.empty((len(self.xs), 2))  # faster than np.column_stack, the same polygon
        coords[:, 0] = self.xs
        coords[:, 1] = self.ys
        return shapely.polygons(coords)

    def grown(self, by_m: float) -> Outline:
        """The outline with every vertex moved `by_m` farther from the centre."""
        dx, dy = self.xs - self.x_m, self.ys - self.y_m
        share = 1.0 + by_m / np.maximum(np.hypot(dx, dy), 1e-9)
        return Outline(self.x_m, self.y_m, self.x_m + dx * share, self.y_m + dy * share)

    def moved_m(self, before: Outline) -> float:
        """How far the centre or any vertex moved since `before` (the same number of vertices).
        Each point of the polygon is a weighted mean of the centre and two vertices, so it moved
        by no more than this either: the polygon lies within this distance of `before`."""
        vertex = float(np.sqrt(((self.xs - before.xs) ** 2 + (self.ys - before.ys) ** 2).max()))
        return max(vertex, math.hypot(self.x_m - before.x_m, self.y_m - before.y_m))
