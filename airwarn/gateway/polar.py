"""Where a radar's polar plot is on the Earth, and a tracker's plane coordinates, with pyproj.

A CAT048 plot is a slant range and an azimuth from the radar; with the target's height (a 3D
radar's measure, else its flight level, else the ground) the plot is one point on the WGS-84
ellipsoid. `RadarSite.to_geodetic` finds the elevation that gives that height through PROJ's
topocentric conversion (east-north-up at the radar to geocentric to geodetic), so that the
Earth's curvature and the radar's own height are exact; `RadarSite.to_polar` is its inverse,
for the encoder. `SystemPlane` is a tracker's stereographic plane (I062/100 and the axes of
I062/185), for sources that name their system reference point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyproj

from airwarn.errors import AirwarnError


@dataclass(frozen=True)
class SitePosition:
    lat: float
    lon: float
    alt_m: float = 0.0


def parse_site(text: str, what: str) -> tuple[int, int, SitePosition]:
    """`SAC/SIC=LAT,LON[,ALT_M]` (e.g. `25/1=31.25,34.79,300`) to its parts."""
    try:
        ident, _, where = text.partition("=")
        sac_text, _, sic_text = ident.partition("/")
        sac, sic = int(sac_text), int(sic_text)
        parts = [float(p) for p in where.split(",")]
        if not 0 <= sac <= 255 or not 0 <= sic <= 255 or len(parts) not in (2, 3):
            raise ValueError
        lat, lon = parts[0], parts[1]
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError
    except ValueError:
        raise AirwarnError(
            f"{what} is SAC/SIC=LAT,LON[,ALT_M] (SAC and SIC 0-255, degrees and "
            f"metres above the WGS-84 ellipsoid), e.g. 25/1=31.25,34.79,300; "
            f"not {text!r}"
        ) from None
    return sac, sic, SitePosition(lat, lon, parts[2] if len(parts) == 3 else 0.0)


class RadarSite:
    """One radar: polar (slant range, azimuth, target height) to and from WGS-84."""

    def __init__(self, position: SitePosition) -> None:
        self.position = position
        p = position
        self._enu = pyproj.Transformer.from_pipeline(
            "+proj=pipeline +step +proj=cart +ellps=WGS84 "
            f"+step +proj=topocentric +ellps=WGS84 +lat_0={p.lat} +lon_0={p.lon} +h_0={p.alt_m}"
        )

    def to_enu(self, lat: float, lon: float, alt_m: float) -> tuple[float, float, float]:
        east, north, up = self._enu.transform(lon, lat, alt_m)
        return float(east), float(north), float(up)

    def to_polar(self, lat: float, lon: float, alt_m: float) -> tuple[float, float]:
        """Slant range (m) and azimuth (degrees from true north, 0-360) of a point."""
        east, north, up = self.to_enu(lat, lon, alt_m)
        return math.sqrt(east * east + north * north + up * up), math.degrees(
            math.atan2(east, north)
        ) % 360.0

    def to_geodetic(self, rho_m: float, theta_deg: float, alt_m: float) -> tuple[float, float]:
        """Latitude and longitude of the point at slant range `rho_m`, azimuth `theta_deg`,
        whose height above the ellipsoid is `alt_m` (Newton on the elevation angle)."""
        if rho_m <= 0.0:
            return self.position.lat, self.position.lon
        sin_az, cos_az = math.sin(math.radians(theta_deg)), math.cos(math.radians(theta_deg))
        elevation = math.asin(max(-1.0, min(1.0, (alt_m - self.position.alt_m) / rho_m)))
        lon = lat = 0.0
        for _ in range(8):
            ground = rho_m * math.cos(elevation)
            lon, lat, h = self._enu.transform(
                ground * sin_az, ground * cos_az, rho_m * math.sin(elevation), direction="INVERSE"
            )
            miss = alt_m - h
            if abs(miss) < 0.01:
                break
            elevation += miss / (rho_m * max(math.cos(elevation), 0.05))
            elevation = max(-math.pi / 2, min(math.pi / 2, elevation))
        return float(lat), float(lon)


class SystemPlane:
    """A tracker's system plane: the stereographic projection at its reference point."""

    def __init__(self, centre: SitePosition) -> None:
        self._proj = pyproj.Proj(
            proj="stere", lat_0=centre.lat, lon_0=centre.lon, k_0=1.0, ellps="WGS84"
        )

    def to_geodetic(self, x_m: float, y_m: float) -> tuple[float, float]:
        lon, lat = self._proj(x_m, y_m, inverse=True)
        return float(lat), float(lon)

    def to_east_north(
        self, lat: float, lon: float, vx_mps: float, vy_mps: float
    ) -> tuple[float, float]:
        """A velocity along the plane's axes, as east and north components at (lat, lon)."""
        # the meridian convergence is minus the grid bearing of true north
        convergence = math.radians(self._proj.get_factors(lon, lat).meridian_convergence)
        cos_c, sin_c = math.cos(convergence), math.sin(convergence)
        return vx_mps * cos_c + vy_mps * sin_c, vy_mps * cos_c - vx_mps * sin_c
