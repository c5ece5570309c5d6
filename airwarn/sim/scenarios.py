"""Simulated raids with ground truth: what `airwarn simulate` makes.

A raid is a set of threats launched from realistic areas for the zone set's country (Israel,
Ukraine, or a generic ring just outside any other set), each flown physically: rockets and
ballistic missiles by `airwarn.engine.physics` (a short boost, then free flight with gravity to J2,
Earth rotation and drag, with a true ballistic coefficient the engine does not know), drones
and cruise missiles along waypoint routes on the ellipsoid at constant speed with a bounded
turn rate and a final dive onto the target. Sensors then report each threat from the moment
it becomes detectable, with Gaussian errors of the size they declare (`sigma_m`), some reports
duplicated or late; some threats are intercepted, a few lost.

The output is Contract v1 events, in the order a sensor network delivers them, and a truth
document (where and when each threat came down, or would have, for those lost) that
`airwarn evaluate` scores decisions against. Everything follows from the zone set, the
scenario and the seed: the same three give the same bytes.

Conventions: heights are above the WGS84 ellipsoid (there is no terrain model); `sigma_m` is
the 1-sigma error of each horizontal axis (east and north), the vertical error is 1.5 times it;
reported heights are never below the ground.
"""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import shapely

from airwarn.contract import format_time, parse_time
from airwarn.engine import physics
from airwarn.engine.zones import ZoneSet
from airwarn.errors import AirwarnError

SCENARIOS: tuple[str, ...] = ("rockets", "ballistic", "drones", "cruise", "mixed")
KIND_OF: dict[str, str] = {
    "rockets": "rocket",
    "ballistic": "ballistic",
    "drones": "drone",
    "cruise": "cruise",
}
START = "2026-03-01T18:00:00.000Z"
EARTH_R_M = 6_371_008.8  # mean radius, for distances and bearings that steer and select

# How many threats a scenario has when the caller does not say (inclusive ranges).
DEFAULT_COUNTS: dict[str, tuple[int, int]] = {
    "rockets": (20, 60),
    "ballistic": (5, 20),
    "drones": (20, 60),
    "cruise": (5, 20),
}
# A mixed raid's share of each kind.
MIXED_SHARES: tuple[tuple[str, float], ...] = (
    ("rocket", 0.35),
    ("drone", 0.35),
    ("cruise", 0.15),
    ("ballistic", 0.15),
)


@dataclass(frozen=True)
class SensorModel:
    """How a kind of threat is seen: report interval, declared 1-sigma errors, extras."""

    interval_s: tuple[float, float]  # drawn once per threat
    sigma_m: tuple[float, float]  # drawn once per threat
    vel_sigma_mps: float  # 1-sigma error of each reported velocity component
    vel_share: float  # share of reports that carry a velocity
    intercept_share: tuple[float, float]  # drawn once per raid


SENSORS: dict[str, SensorModel] = {
    "rocket": SensorModel((1.0, 1.0), (30.0, 80.0), 10.0, 1.0, (0.0, 0.5)),
    "ballistic": SensorModel((2.0, 5.0), (100.0, 300.0), 30.0, 1.0, (0.3, 0.7)),
    "cruise": SensorModel((5.0, 10.0), (150.0, 300.0), 15.0, 1.0, (0.4, 0.7)),
    "drone": SensorModel((10.0, 20.0), (200.0, 800.0), 5.0, 0.5, (0.5, 0.8)),
}
DUPLICATE_SHARE = 0.01  # reports delivered twice
LATE_SHARE = 0.015  # reports delivered up to LATE_MAX_S after later ones
LATE_MAX_S = 3.0
LOST_SHARE = 0.03  # threats whose track the sensors lose before the end
ROCKET_DETECT_M = 300.0
# Bands of range (km) and their shares of rocket salvos: most fire is short range.
ROCKET_BANDS_KM: tuple[tuple[float, float, float], ...] = (
    (0.0, 20.0, 0.55),
    (20.0, 45.0, 0.3),
    (45.0, 1e9, 0.15),
)  # rockets show on radar once this high
# Drones and cruise missiles show once within this distance of the nearest zone.
DETECT_RANGE_M = {"drone": (150_000.0, 250_000.0), "cruise": (150_000.0, 250_000.0)}


@dataclass(frozen=True)
class LaunchArea:
    """A place threats of one kind are launched from: a disc, and the ranges fired from it."""

    name: str
    lon: float
    lat: float
    radius_km: float
    min_km: float
    max_km: float
    weight: float = 1.0


@dataclass(frozen=True)
class Theater:
    """Launch areas by kind, and the territory whose zones are not targets (occupied land)."""

    name: str
    areas: dict[str, tuple[LaunchArea, ...]]
    untargeted: shapely.Geometry | None = None


def _areas(
    kind_min_max: tuple[float, float], *rows: tuple[str, float, float, float]
) -> tuple[LaunchArea, ...]:
    lo, hi = kind_min_max
    return tuple(LaunchArea(name, lon, lat, r, lo, hi) for name, lon, lat, r in rows)


ISRAEL = Theater(
    name="israel",
    areas={
        # Short-range fire from the Gaza strip and south Lebanon (Qassam to Fajr-class).
        "rocket": _areas(
            (3.0, 80.0),
            ("Gaza: Rafah", 34.27, 31.29, 2.5),
            ("Gaza: Khan Younis", 34.31, 31.35, 3.0),
            ("Gaza: Deir al-Balah", 34.36, 31.42, 2.5),
            ("Gaza: Gaza City", 34.45, 31.50, 3.0),
            ("Gaza: Beit Hanoun", 34.53, 31.54, 2.0),
        )
        + _areas(
            (3.0, 100.0),
            ("South Lebanon: Tyre", 35.25, 33.25, 6.0),
            ("South Lebanon: Bint Jbeil", 35.42, 33.17, 5.0),
            ("South Lebanon: Khiam", 35.60, 33.34, 5.0),
        ),
        # Medium-range ballistic missiles: western and central Iran, and north Yemen.
        "ballistic": _areas(
            (1_000.0, 2_100.0),
            ("Iran: Kermanshah", 47.05, 34.35, 60.0),
            ("Iran: Khorramabad", 48.35, 33.50, 50.0),
            ("Iran: Tabriz", 46.30, 38.05, 50.0),
            ("Iran: Isfahan", 51.65, 32.70, 60.0),
            ("Yemen: Sanaa", 44.20, 15.40, 60.0),
            ("Yemen: Saada", 43.75, 16.90, 40.0),
        ),
        "drone": _areas(
            (20.0, 250.0),
            ("South Lebanon", 35.40, 33.30, 15.0),
            ("Bekaa valley", 35.95, 33.85, 20.0),
        )
        + _areas(
            (450.0, 1_100.0),
            ("Iraq: al-Qaim", 41.20, 34.40, 60.0),
            ("Iraq: Baghdad belt", 44.10, 33.10, 60.0),
        )
        + _areas((1_600.0, 2_200.0), ("Yemen: Sanaa", 44.20, 15.40, 80.0)),
        "cruise": _areas(
            (40.0, 300.0),
            ("Bekaa valley", 35.95, 33.85, 20.0),
        )
        + _areas(
            (450.0, 1_100.0),
            ("Iraq: al-Qaim", 41.20, 34.40, 60.0),
        )
        + _areas((1_600.0, 2_200.0), ("Yemen: Hodeidah coast", 43.10, 14.90, 60.0)),
    },
)

# The line of contact in Ukraine, roughly (2025): Crimea, and the south and east held by Russia.
# Zones there are not targets; it is also where the front-line launch areas below lie.
_OCCUPIED_UA = shapely.Polygon(
    [
        (31.5, 46.3),
        (32.6, 46.62),
        (33.4, 46.78),
        (34.2, 47.3),
        (35.28, 47.45),
        (35.9, 47.45),
        (36.6, 47.7),
        (37.3, 48.0),
        (37.8, 48.4),
        (38.05, 48.65),
        (38.1, 48.95),
        (37.9, 49.4),
        (37.8, 49.9),
        (38.3, 50.1),
        (40.3, 49.6),
        (40.3, 47.9),
        (38.3, 47.0),
        (36.5, 46.4),
        (35.2, 45.9),
        (36.8, 45.4),
        (35.0, 44.3),
        (33.3, 44.3),
        (32.4, 45.4),
        (33.5, 46.0),
    ]
)

UKRAINE = Theater(
    name="ukraine",
    areas={
        # Multiple rocket launchers (Grad to Smerch/Tornado) near the border and the front.
        "rocket": _areas(
            (15.0, 90.0),
            ("Belgorod oblast: Belgorod", 36.55, 50.50, 12.0),
            ("Belgorod oblast: Shebekino", 37.05, 50.35, 10.0),
            ("Belgorod oblast: Graivoron", 35.85, 50.55, 10.0),
            ("Kursk oblast: Sudzha road", 35.35, 51.25, 10.0),
            ("Kursk oblast: Rylsk", 34.65, 51.55, 10.0),
            ("Bryansk oblast: Klimovo", 32.95, 52.35, 10.0),
            ("Bryansk oblast: Pogar", 33.35, 52.50, 10.0),
            ("occupied Donetsk", 37.78, 48.00, 8.0),
            ("occupied Horlivka", 38.05, 48.30, 8.0),
            ("occupied Bakhmut", 38.10, 48.62, 6.0),
            ("occupied Zaporizhzhia: Vasylivka", 35.35, 47.38, 8.0),
            ("occupied Zaporizhzhia: Tokmak", 35.75, 47.25, 8.0),
            ("occupied Zaporizhzhia: Kamianka-Dniprovska", 34.45, 47.45, 6.0),
            ("occupied Kherson: Oleshky", 32.70, 46.55, 6.0),
            ("Crimea: Armiansk", 33.75, 46.05, 8.0),
        ),
        # Iskander-class (and KN-23) missiles, 100-500 km.
        "ballistic": _areas(
            (100.0, 500.0),
            ("Belgorod oblast", 36.70, 50.75, 30.0),
            ("Kursk oblast", 36.20, 51.60, 30.0),
            ("Bryansk oblast", 34.30, 52.90, 30.0),
            ("occupied Donetsk", 38.00, 47.90, 25.0),
            ("occupied Zaporizhzhia", 35.50, 46.95, 25.0),
            ("Crimea", 34.00, 45.30, 40.0),
        ),
        # Shahed/Geran launch sites.
        "drone": _areas(
            (60.0, 1_600.0),
            ("Kursk: Khalino", 36.30, 51.75, 10.0),
            ("Bryansk: Navlya", 34.50, 52.80, 10.0),
            ("Crimea: Cape Chauda", 35.80, 45.00, 8.0),
            ("Crimea: Hvardiiske", 34.00, 45.10, 8.0),
            ("Primorsko-Akhtarsk", 38.17, 46.05, 8.0),
        ),
        # Kh-101/Kh-555 from Tu-95s over the Caspian; Kalibr from ships in the Black Sea.
        "cruise": _areas(
            (600.0, 2_500.0),
            ("Caspian Sea: north", 48.80, 45.00, 70.0),
            ("Caspian Sea: off Makhachkala", 49.30, 43.30, 60.0),
        )
        + _areas(
            (100.0, 2_000.0),
            ("Black Sea: Novorossiysk", 37.50, 44.40, 30.0),
            ("Black Sea: off Sevastopol", 33.20, 44.20, 40.0),
        ),
    },
    untargeted=_OCCUPIED_UA,
)


@dataclass(frozen=True)
class Sample:
    """A true state: WGS84 position (height above the ellipsoid) and ENU velocity."""

    lat: float
    lon: float
    alt_m: float
    east: float
    north: float
    up: float


class BallisticPath:
    """A rocket's or ballistic missile's true flight: a straight boost, then free flight.

    The boost accelerates uniformly along a line from the launch site to the burnout point
    (thrust is not modelled further); `physics.fly` does the rest.
    """

    def __init__(
        self, launch: physics.Vec, t_launch_s: float, boost_s: float, flight: physics.Flight
    ) -> None:
        self.launch = launch
        self.t_launch_s = t_launch_s
        self.boost_s = boost_s
        self.flight = flight
        self.burnout = flight.states[0][0]

    def at(self, t_s: float) -> Sample:
        """The true state at a time (seconds after the raid's start)."""
        r: physics.Vec
        v: physics.Vec
        if t_s < self.t_launch_s + self.boost_s:
            f = max(t_s - self.t_launch_s, 0.0) / self.boost_s
            (x0, y0, z0), (x1, y1, z1) = self.launch, self.burnout
            r = (x0 + (x1 - x0) * f * f, y0 + (y1 - y0) * f * f, z0 + (z1 - z0) * f * f)
            k = 2.0 * f / self.boost_s
            v = ((x1 - x0) * k, (y1 - y0) * k, (z1 - z0) * k)
        else:
            r, v = self.flight.state_at(t_s)
        lat, lon, h = physics.ecef_to_geodetic(*r)
        e, n, u = physics.ecef_to_enu_vector(lat, lon, v)
        return Sample(lat, lon, h, e, n, u)

    def apogee_m(self) -> float:
        """The highest point of the free flight, above the ellipsoid (m)."""
        return max(physics.ecef_to_geodetic(*r)[2] for r, _ in self.flight.states)

    def max_speed_mps(self) -> float:
        """The fastest the body goes, relative to the ground (at burnout or on the way down)."""
        return max(math.sqrt(sum(c * c for c in v)) for _, v in self.flight.states)


class RoutePath:
    """A drone's or cruise missile's true flight: samples every `dt_s` from `t0_s`, and a last
    one where it meets the ground (at `t_end_s`). Compact arrays: a route has 10,000s of steps.
    """

    def __init__(self, t0_s: float, dt_s: float) -> None:
        self.t0_s = t0_s
        self.dt_s = dt_s
        self.t_end_s = t0_s
        self.lat = array("d")
        self.lon = array("d")
        self.alt = array("d")
        self.east = array("d")
        self.north = array("d")
        self.up = array("d")

    def append(
        self,
        lat: float,
        lon: float,
        alt: float,
        east: float,
        north: float,
        up: float,
        t_s: float | None = None,
    ) -> None:
        """Add the next sample (at the next step, or at `t_s` for the last one)."""
        self.t_end_s = self.t0_s + len(self.lat) * self.dt_s if t_s is None else t_s
        self.lat.append(lat)
        self.lon.append(lon)
        self.alt.append(alt)
        self.east.append(east)
        self.north.append(north)
        self.up.append(up)

    def time_of(self, index: int) -> float:
        """The time of a sample (seconds after the raid's start)."""
        return self.t_end_s if index == len(self.lat) - 1 else self.t0_s + index * self.dt_s

    def at(self, t_s: float) -> Sample:
        """Linear interpolation between samples (they are 1-2 s apart)."""
        i = min(max(int((t_s - self.t0_s) / self.dt_s), 0), len(self.lat) - 2)
        t_i, t_j = self.time_of(i), self.time_of(i + 1)
        f = min(max((t_s - t_i) / (t_j - t_i), 0.0), 1.0) if t_j > t_i else 1.0

        def mix(values: array[float]) -> float:
            return values[i] + (values[i + 1] - values[i]) * f

        return Sample(
            mix(self.lat), mix(self.lon), mix(self.alt), self.east[i], self.north[i], self.up[i]
        )


@dataclass
class PlannedThreat:
    """One threat of a raid with its true flight and how the sensors and defences treat it."""

    threat: str
    kind: str
    area: str
    launch_lat: float
    launch_lon: float
    launch_s: float
    path: BallisticPath | RoutePath
    impact: tuple[float, float, float]  # lat, lon, t_s where it comes down (if not stopped)
    detect_s: float = 0.0
    interval_s: float = 1.0
    sigma_m: float = 50.0
    end_reason: str = "impact"
    end_s: float = 0.0
    last_report_s: float = 0.0  # reports stop after this (a lost track)
    beta_kg_m2: float | None = None
    speed_mps: float | None = None  # cruise speed of a route-flying threat
    turn_rate_dps: float | None = None


# ---------------------------------------------------------------------------------------------
# Geometry on the Earth


def _distance_bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> tuple[float, float]:
    """Great-circle distance (m) and initial bearing (rad, from north) on the mean sphere."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    d = 2 * EARTH_R_M * math.asin(min(1.0, math.sqrt(a)))
    b = math.atan2(
        math.sin(dl) * math.cos(p2),
        math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl),
    )
    return d, b


def _destination(lat: float, lon: float, bearing: float, distance_m: float) -> tuple[float, float]:
    """The point `distance_m` from (lat, lon) along a great circle at `bearing` (rad)."""
    p1, l1 = math.radians(lat), math.radians(lon)
    d = distance_m / EARTH_R_M
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(bearing))
    l2 = l1 + math.atan2(
        math.sin(bearing) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
    )
    return math.degrees(p2), (math.degrees(l2) + 540.0) % 360.0 - 180.0


def _radii(lat: float) -> tuple[float, float]:
    """Meridional (M) and prime-vertical (N) radii of curvature of WGS84 at a latitude."""
    s = math.sin(math.radians(lat))
    w = 1.0 - physics.E2 * s * s
    n = physics.A_M / math.sqrt(w)
    return n * (1.0 - physics.E2) / w, n


def fly_step(
    path: RoutePath,
    lat: float,
    lon: float,
    alt: float,
    east: float,
    north: float,
    up: float,
    dt: float,
) -> tuple[float, float, float] | None:
    """Record a point of a flight and fly one step on: the next position, or None when the
    step reached the ground (the last step is cut where the height reaches zero, and the
    point of impact recorded)."""
    path.append(lat, lon, alt, east, north, up)
    n_lat, n_lon = _offset(lat, lon, east * dt, north * dt)
    n_alt = alt + up * dt
    if n_alt <= 0.0:
        f = alt / (alt - n_alt)
        t_hit = path.time_of(len(path.lat) - 1) + f * dt
        path.append(
            lat + (n_lat - lat) * f, lon + (n_lon - lon) * f, 0.0, east, north, up, t_s=t_hit
        )
        return None
    return n_lat, n_lon, n_alt


def _offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    """Move a point by small east/north distances on the ellipsoid."""
    m, n = _radii(lat)
    return (
        lat + math.degrees(north_m / m),
        lon + math.degrees(east_m / (n * math.cos(math.radians(lat)))),
    )


def _distances_m(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle distances from one point to many (haversine on the mean sphere)."""
    p1, p2 = math.radians(lat), np.radians(lats)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * np.cos(p2) * np.sin(np.radians(lons - lon) / 2) ** 2
    )
    return 2 * EARTH_R_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))


# ---------------------------------------------------------------------------------------------
# The raid


class Raid:
    """One simulation run's context: the zones, their theater, the targets' weights, and the
    random stream every draw comes from (in a fixed order, so that a seed fixes the raid)."""

    def __init__(self, zones: ZoneSet, scenario: str, seed: int) -> None:
        self.zones = zones
        # A string seed is hashed with SHA-512 (not Python's salted hash): stable everywhere,
        # and a rockets raid and a drone raid of one seed do not share their draws.
        self.rng = random.Random(f"{scenario}:{seed}")
        geometries = [z.geometry for z in zones.zones]
        points = shapely.point_on_surface(np.array(geometries, dtype=object))
        self.rep_lon = shapely.get_x(points)
        self.rep_lat = shapely.get_y(points)
        self.bounds = tuple(float(b) for b in shapely.total_bounds(geometries))
        self.theater = theater_for(self.bounds)
        targetable = np.ones(len(zones), dtype=bool)
        if self.theater.untargeted is not None:
            targetable &= ~shapely.contains_xy(self.theater.untargeted, self.rep_lon, self.rep_lat)
        if not targetable.any():
            targetable[:] = True
        # Attackers aim at towns and facilities; with no population data, bigger areas (and
        # so bigger towns) weigh more, but less than in proportion to their size.
        self.weights = np.sqrt(np.maximum(zones.area_km2, 1e-3)) * targetable
        self.hull_m = shapely.convex_hull(shapely.GeometryCollection(list(zones.shapes_m)))
        self.counters: dict[str, int] = {}

    def next_id(self, kind: str) -> str:
        """The next track id of a kind: R001, R002, ... (B for ballistic, D, C)."""
        prefix = {"rocket": "R", "ballistic": "B", "drone": "D", "cruise": "C"}[kind]
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return f"{prefix}{self.counters[kind]:03d}"

    def uniform(self, bounds: tuple[float, float]) -> float:
        """A uniform draw between two bounds."""
        return self.rng.uniform(*bounds)

    def launch_point(self, area: LaunchArea) -> tuple[float, float]:
        """A uniformly random point of the area's disc."""
        d = area.radius_km * 1000.0 * math.sqrt(self.rng.random())
        return _destination(area.lat, area.lon, self.rng.uniform(0, 2 * math.pi), d)

    def candidates(
        self, area: LaunchArea, lat: float | None = None, lon: float | None = None
    ) -> np.ndarray:
        """Weights of the zones an area (or a point of it) can reach, 0 for the others."""
        lat = area.lat if lat is None else lat
        lon = area.lon if lon is None else lon
        d = _distances_m(lat, lon, self.rep_lat, self.rep_lon)
        ok = (d >= area.min_km * 1000.0) & (d <= area.max_km * 1000.0)
        return np.where(ok, self.weights, 0.0)

    def pick_area(self, kind: str) -> LaunchArea | None:
        """A launch area of a kind that can reach some zone, or None if none can."""
        areas = [a for a in self.theater.areas.get(kind, ()) if self.candidates(a).sum() > 0]
        if not areas:
            return None
        return areas[self.choice([a.weight for a in areas])]

    def pick_zone(self, weights: np.ndarray) -> int | None:
        """A zone index drawn by weight, or None if every weight is 0."""
        if weights.sum() <= 0:
            return None
        return self.choice(weights.tolist())

    def choice(self, weights: Sequence[float]) -> int:
        """An index drawn in proportion to non-negative weights (at least one positive)."""
        total = float(sum(weights))
        x = self.rng.random() * total
        acc = 0.0
        for i, w in enumerate(weights):
            acc += w
            if x < acc and w > 0:
                return i
        return max(i for i, w in enumerate(weights) if w > 0)

    def point_in_zone(self, index: int) -> tuple[float, float]:
        """A uniformly random point of a zone (lat, lon)."""
        geometry = self.zones.zones[index].geometry
        minx, miny, maxx, maxy = geometry.bounds
        for _ in range(60):
            lon, lat = self.rng.uniform(minx, maxx), self.rng.uniform(miny, maxy)
            if shapely.contains_xy(geometry, lon, lat):
                return lat, lon
        return float(self.rep_lat[index]), float(self.rep_lon[index])

    def target_in(
        self, zone: int, site: tuple[float, float], area: LaunchArea
    ) -> tuple[float, float] | None:
        """A random point of a zone within the area's range of a launch site (zones are
        chosen by a representative point; a big zone may reach past the range)."""
        for _ in range(20):
            lat, lon = self.point_in_zone(zone)
            d, _ = _distance_bearing(*site, lat, lon)
            if area.min_km * 1000.0 <= d <= area.max_km * 1000.0:
                return lat, lon
        return None

    def distances_to_zones_m(self, lats: Sequence[float], lons: Sequence[float]) -> np.ndarray:
        """Distances to the hull of the zone set, on the set's own map (azimuthal equidistant
        about its centre: a few per cent off at 1,000 km, enough for a radar's reach)."""
        cloud = self.zones.projection.geometry_to_xy(
            shapely.MultiPoint(list(zip(lons, lats, strict=True)))
        )
        points = shapely.points(shapely.get_coordinates(cloud))
        return shapely.distance(points, self.hull_m)


def theater_for(bounds: Sequence[float]) -> Theater:
    """Israel's or Ukraine's launch areas when the zone set lies there, else a generic ring."""
    minx, miny, maxx, maxy = bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    if 33.8 <= cx <= 36.2 and 29.0 <= cy <= 33.6 and maxx - minx < 4 and maxy - miny < 6:
        return ISRAEL
    if 22.0 <= cx <= 41.0 and 44.0 <= cy <= 53.0:
        return UKRAINE
    return generic_theater(bounds)


def generic_theater(bounds: Sequence[float]) -> Theater:
    """Launch areas just outside the zone set's bounding box, for a set anywhere else.

    Rockets from eight points 10 km beyond its edges, ballistic missiles from 300-900 km,
    drones from 150 km and cruise missiles from 500 km beyond, all around.
    """
    minx, miny, maxx, maxy = bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    corner_m, _ = _distance_bearing(cy, cx, maxy, maxx)
    half_w, _ = _distance_bearing(cy, cx, cy, maxx)
    half_h, _ = _distance_bearing(cy, cx, maxy, cx)

    def ring(
        beyond_m: float, count: int, radius_km: float, min_km: float, max_km: float, label: str
    ) -> tuple[LaunchArea, ...]:
        out = []
        for i in range(count):
            b = 2 * math.pi * i / count
            # Distance from the centre to the box's edge along this bearing (as an ellipse).
            edge = 1.0 / math.hypot(math.sin(b) / max(half_w, 1.0), math.cos(b) / max(half_h, 1.0))
            lat, lon = _destination(cy, cx, b, min(edge, corner_m) + beyond_m)
            out.append(
                LaunchArea(
                    f"{label} {round(math.degrees(b))} deg", lon, lat, radius_km, min_km, max_km
                )
            )
        return tuple(out)

    return Theater(
        name="generic",
        areas={
            "rocket": ring(10_000.0, 8, 5.0, 5.0, 90.0, "rockets"),
            "ballistic": ring(600_000.0, 4, 60.0, 100.0, 2_000.0, "ballistic"),
            "drone": ring(150_000.0, 6, 20.0, 20.0, 2_000.0, "drones"),
            "cruise": ring(500_000.0, 4, 50.0, 50.0, 2_500.0, "cruise"),
        },
    )


# ---------------------------------------------------------------------------------------------
# Rockets and ballistic missiles


def _boosted_flight(
    launch: tuple[float, float],
    target: tuple[float, float],
    t_launch_s: float,
    *,
    boost_s: float,
    loft_deg: float,
    aim_beta: float,
    true_beta: float,
    azimuth_error_deg: float = 0.0,
    speed_error: float = 0.0,
) -> BallisticPath | None:
    """Aim from the burnout point (a uniform boost along the launch direction), then fly.

    The shooter aims with `aim_beta`; the body flies with `true_beta` and the given pointing
    errors, which is where an unguided rocket's dispersion comes from.
    """
    lat, lon = launch
    site = physics.geodetic_to_ecef(lat, lon, 0.0)
    try:
        v = physics.aim(lat, lon, *target, beta_kg_m2=aim_beta, loft_deg=loft_deg)
        burnout = (
            site[0] + v[0] * boost_s / 2,
            site[1] + v[1] * boost_s / 2,
            site[2] + v[2] * boost_s / 2,
        )
        b_lat, b_lon, b_alt = physics.ecef_to_geodetic(*burnout)
        v = physics.aim(
            b_lat, b_lon, *target, beta_kg_m2=aim_beta, loft_deg=loft_deg, launch_alt_m=b_alt
        )
    except ValueError:
        return None
    if azimuth_error_deg or speed_error:
        e, n, u = physics.ecef_to_enu_vector(b_lat, b_lon, v)
        a = math.radians(azimuth_error_deg)
        k = 1.0 + speed_error
        e, n = (e * math.cos(a) + n * math.sin(a)) * k, (n * math.cos(a) - e * math.sin(a)) * k
        v = physics.enu_to_ecef_vector(b_lat, b_lon, e, n, u * k)
    flight = physics.fly(burnout, v, t_launch_s + boost_s, true_beta, max_s=7200.0, record=True)
    if flight.impact is None:
        return None
    return BallisticPath(site, t_launch_s, boost_s, flight)


def _plan_rockets(raid: Raid, count: int, t0_s: float) -> list[PlannedThreat]:
    """Salvos of unguided rockets: a launcher ripples 3-15 rockets at 1-3 towns in a few minutes."""
    rng = raid.rng
    threats: list[PlannedThreat] = []
    t_salvo = t0_s
    attempts = 0
    while len(threats) < count and attempts < 20 * count + 20:
        attempts += 1
        area = raid.pick_area("rocket")
        if area is None:
            break
        site = raid.launch_point(area)
        # Most fire is short range: a salvo picks a band of range first, then towns in it.
        d = _distances_m(site[0], site[1], raid.rep_lat, raid.rep_lon)
        reachable = raid.candidates(area, *site)
        band = ROCKET_BANDS_KM[raid.choice([share for _, _, share in ROCKET_BANDS_KM])]
        weights = np.where((d >= band[0] * 1000.0) & (d < band[1] * 1000.0), reachable, 0.0)
        if weights.sum() <= 0:
            weights = reachable
        towns = [
            z for z in (raid.pick_zone(weights) for _ in range(rng.randint(1, 3))) if z is not None
        ]
        if not towns:
            continue
        size = min(rng.randint(3, 15), count - len(threats))
        t = t_salvo
        for _ in range(size):
            zone = towns[rng.randrange(len(towns))]
            launcher = _offset(*site, rng.gauss(0, 150.0), rng.gauss(0, 150.0))
            target = raid.target_in(zone, launcher, area)
            if target is None:
                continue
            range_m, _ = _distance_bearing(*launcher, *target)
            # Heavier, longer-range rockets are sleeker. The shooter aims with the type's
            # nominal coefficient; each body's own differs by ~2 %, its motor's impulse and
            # its pointing a little too: a dispersion of ~1-2 % of the range, as for a Grad.
            nominal = 5_000.0 + 10_000.0 * min(range_m / 80_000.0, 1.0)
            nominal *= math.exp(rng.gauss(0.0, 0.15))
            true_beta = min(max(nominal * math.exp(rng.gauss(0.0, 0.02)), 4_000.0), 20_000.0)
            path = _boosted_flight(
                launcher,
                target,
                t,
                boost_s=rng.uniform(1.0, 3.0),
                loft_deg=rng.uniform(35.0, 55.0),
                aim_beta=nominal,
                true_beta=true_beta,
                azimuth_error_deg=rng.gauss(0.0, 0.3),
                speed_error=rng.gauss(0.0, 0.003),
            )
            if path is not None and path.flight.impact is not None:
                threats.append(_ballistic_threat("rocket", area.name, launcher, t, path, true_beta))
            t += rng.uniform(0.5, 2.0)  # a launcher's ripple
        t_salvo += rng.uniform(0.0, 240.0 / max(1, count // 10))
    return threats


def _plan_ballistic(raid: Raid, count: int, t0_s: float) -> list[PlannedThreat]:
    """Guided ballistic missiles in 1-3 waves: MRBMs on Israel, Iskander-class on Ukraine."""
    rng = raid.rng
    threats: list[PlannedThreat] = []
    waves = [t0_s + rng.uniform(0.0, 300.0) for _ in range(rng.randint(1, 3))]
    attempts = 0
    while len(threats) < count and attempts < 20 * count + 20:
        attempts += 1
        area = raid.pick_area("ballistic")
        if area is None:
            break
        site = raid.launch_point(area)
        zone = raid.pick_zone(raid.candidates(area, *site))
        if zone is None:
            continue
        aim_point = raid.target_in(zone, site, area)
        if aim_point is None:
            continue
        range_m, _ = _distance_bearing(*site, *aim_point)
        if range_m > 800_000.0:
            # Medium-range missiles (Shahab/Emad/Kheibar, Houthi Palestine-2): a long burn to
            # 3-4 km/s, apogees of 300-600 km; re-entry vehicles of 8-40 t/m2.
            boost_s, loft = rng.uniform(60.0, 100.0), rng.uniform(36.0, 45.0)
            beta = math.exp(rng.uniform(math.log(8_000.0), math.log(40_000.0)))
            cep_m = rng.uniform(50.0, 400.0)
        else:
            # Iskander-class: a 15-25 s burn, apogee 40-100 km, a sleek body.
            boost_s = rng.uniform(15.0, 25.0)
            apogee = min(max(0.18 * range_m, 40_000.0), 100_000.0) * rng.uniform(0.9, 1.1)
            loft = min(max(math.degrees(math.atan(4.0 * apogee / range_m)), 25.0), 60.0)
            beta = math.exp(rng.uniform(math.log(15_000.0), math.log(50_000.0)))
            cep_m = rng.uniform(10.0, 50.0)
        target = _offset(*aim_point, rng.gauss(0.0, cep_m), rng.gauss(0.0, cep_m))
        t = waves[rng.randrange(len(waves))] + rng.uniform(0.0, 60.0)
        path = _boosted_flight(
            site, target, t, boost_s=boost_s, loft_deg=loft, aim_beta=beta, true_beta=beta
        )
        if path is None or path.flight.impact is None:
            continue
        threats.append(_ballistic_threat("ballistic", area.name, site, t, path, beta))
    return threats


def _ballistic_threat(
    kind: str,
    area: str,
    site: tuple[float, float],
    launch_s: float,
    path: BallisticPath,
    beta_kg_m2: float,
) -> PlannedThreat:
    """A rocket or ballistic missile launched from `site`, planned to come down where its
    flown path does."""
    assert path.flight.impact is not None
    hit = path.flight.impact
    return PlannedThreat(
        threat="",
        kind=kind,
        area=area,
        launch_lat=site[0],
        launch_lon=site[1],
        launch_s=launch_s,
        path=path,
        impact=(hit.lat, hit.lon, hit.t_s),
        beta_kg_m2=beta_kg_m2,
    )


# ---------------------------------------------------------------------------------------------
# Drones and cruise missiles


@dataclass(frozen=True)
class RouteStyle:
    """How a kind flies its route."""

    speed_mps: tuple[float, float]
    altitude_m: tuple[float, float]
    turn_rate_dps: float
    climb_mps: float
    dive_deg: tuple[float, float]
    dt_s: float
    capture_m: float  # a waypoint counts as passed within this distance
    approach_m: tuple[float, float]  # the last waypoint's distance before the target
    launch_alt_m: float | None  # None: launched at cruise height (air- or ship-launched)


ROUTES: dict[str, RouteStyle] = {
    # Shahed-136/Geran-2: ~185 km/h, 100-2,000 m, loiter-capable, a steep terminal dive.
    "drone": RouteStyle(
        (45.0, 55.0),
        (100.0, 2_000.0),
        3.0,
        5.0,
        (35.0, 60.0),
        2.0,
        2_500.0,
        (5_000.0, 20_000.0),
        0.0,
    ),
    # Kh-101/Kalibr: ~850 km/h at 50-200 m, wide turns, a final turn and shallow dive.
    "cruise": RouteStyle(
        (220.0, 250.0),
        (50.0, 200.0),
        2.0,
        15.0,
        (15.0, 30.0),
        1.0,
        12_000.0,
        (15_000.0, 40_000.0),
        None,
    ),
}


def _route_waypoints(
    raid: Raid,
    start: tuple[float, float],
    target: tuple[float, float],
    style: RouteStyle,
    altitude: float,
) -> list[tuple[float, float, float]]:
    """Waypoints (lat, lon, height) from a launch to a target: dog-legs around the defences,
    then an approach point off the direct line, so that the last leg turns onto the target."""
    rng = raid.rng
    total, bearing_in = _distance_bearing(*target, *start)  # from the target, back along
    approach = rng.uniform(*style.approach_m)
    approach = min(approach, 0.5 * total)
    side = rng.choice((-1.0, 1.0)) * math.radians(rng.uniform(20.0, 70.0))
    a_lat, a_lon = _destination(*target, bearing_in + side, approach)
    legs = []
    d_main, b_main = _distance_bearing(*start, a_lat, a_lon)
    count = rng.randint(1, 3) if d_main > 100_000.0 else 0
    for f in sorted(rng.uniform(0.1, 0.8) for _ in range(count)):
        lat, lon = _destination(*start, b_main, f * d_main)
        # Dog-legs of up to a fifth of the distance (150 km at most) either side.
        lateral = max(-0.2, min(0.2, rng.gauss(0.0, 0.1))) * min(d_main, 750_000.0)
        lat, lon = _destination(lat, lon, b_main + math.pi / 2, lateral)
        h = min(max(altitude * rng.uniform(0.7, 1.3), style.altitude_m[0]), style.altitude_m[1])
        legs.append((lat, lon, h))
    legs.append((a_lat, a_lon, altitude))
    legs.append((target[0], target[1], 0.0))
    return legs


def _fly_route(
    start: tuple[float, float],
    t0_s: float,
    waypoints: list[tuple[float, float, float]],
    speed: float,
    style: RouteStyle,
    start_alt: float,
    dive_deg: float,
) -> RoutePath | None:
    """Fly waypoints at constant speed and a bounded turn rate; dive onto the last one.

    Steps of `style.dt_s` on the ellipsoid (local radii of curvature): the heading turns
    towards the next waypoint by at most the turn rate times the step; height changes at no
    more than the climb rate, and in the final dive at the angle that meets the target. When
    the target is inside the turning circle, the threat flies straight out and comes back.
    None if it has not come down within 20 hours.
    """
    dt = style.dt_s
    max_turn = math.radians(style.turn_rate_dps) * dt
    turn_radius = speed / math.radians(style.turn_rate_dps)
    tan_dive = math.tan(math.radians(dive_deg))
    lat, lon = start
    alt = start_alt
    heading = _distance_bearing(lat, lon, *waypoints[0][:2])[1]
    path = RoutePath(t0_s=t0_s, dt_s=dt)
    k = 0
    diving = escaping = False
    for _ in range(int(20 * 3600 / dt)):
        w_lat, w_lon, w_alt = waypoints[k]
        dist, bearing = _distance_bearing(lat, lon, w_lat, w_lon)
        if k < len(waypoints) - 1 and dist < style.capture_m:
            k += 1
            w_lat, w_lon, w_alt = waypoints[k]
            dist, bearing = _distance_bearing(lat, lon, w_lat, w_lon)
        last = k == len(waypoints) - 1
        error = (bearing - heading + math.pi) % (2 * math.pi) - math.pi
        if last and not diving:
            if escaping and dist > 3.0 * turn_radius:
                escaping = False
            elif not escaping and dist < 2.5 * turn_radius and abs(error) > math.radians(45):
                escaping = True
            if not escaping and dist * tan_dive <= alt and abs(error) < math.radians(10):
                diving = True
        heading += 0.0 if escaping else max(-max_turn, min(max_turn, error))
        if diving:
            # The descent angle that meets the target from here (steeper if it has to be).
            up = -speed * math.sin(min(math.atan2(alt, max(dist, 1.0)), math.radians(75.0)))
        elif last:
            up = 0.0  # holds its height on the final leg until the dive
        else:
            up = max(-style.climb_mps, min(style.climb_mps, (w_alt - alt) / dt))
        horizontal = math.sqrt(speed * speed - up * up)
        east, north = horizontal * math.sin(heading), horizontal * math.cos(heading)
        moved = fly_step(path, lat, lon, alt, east, north, up, dt)
        if moved is None:
            return path
        lat, lon, alt = moved
    return None


def _plan_routes(
    raid: Raid, kind: str, count: int, t0_s: float, window_s: float
) -> list[PlannedThreat]:
    """Drones or cruise missiles launched over `window_s`, each on its own route."""
    rng = raid.rng
    style = ROUTES[kind]
    threats: list[PlannedThreat] = []
    attempts = 0
    while len(threats) < count and attempts < 20 * count + 20:
        attempts += 1
        area = raid.pick_area(kind)
        if area is None:
            break
        site = raid.launch_point(area)
        zone = raid.pick_zone(raid.candidates(area, *site))
        if zone is None:
            continue
        target = raid.target_in(zone, site, area)
        if target is None:
            continue
        speed = rng.uniform(*style.speed_mps)
        altitude = rng.uniform(*style.altitude_m)
        waypoints = _route_waypoints(raid, site, target, style, altitude)
        start_alt = altitude if style.launch_alt_m is None else style.launch_alt_m
        t = t0_s + rng.uniform(0.0, window_s)
        path = _fly_route(site, t, waypoints, speed, style, start_alt, rng.uniform(*style.dive_deg))
        if path is None:
            continue
        threats.append(
            PlannedThreat(
                threat="",
                kind=kind,
                area=area.name,
                launch_lat=site[0],
                launch_lon=site[1],
                launch_s=t,
                path=path,
                impact=(path.lat[-1], path.lon[-1], path.t_end_s),
                speed_mps=speed,
                turn_rate_dps=style.turn_rate_dps,
            )
        )
    return threats


# ---------------------------------------------------------------------------------------------
# Sensors and defences


def _detect_s(raid: Raid, threat: PlannedThreat) -> float:
    """When the sensors first see a threat."""
    rng = raid.rng
    t_hit = threat.impact[2]
    path = threat.path
    if isinstance(path, BallisticPath):
        burnout_s = path.t_launch_s + path.boost_s
        if threat.kind == "ballistic":
            return burnout_s + rng.uniform(5.0, 30.0)
        # Rockets: once above ~300 m, and past burnout (a second or three).
        t = burnout_s
        while t < t_hit - 1.0 and path.at(t).alt_m < ROCKET_DETECT_M:
            t += 0.25
        return min(t, t_hit - 1.0) + rng.uniform(0.0, 0.5)
    # Drones and cruise missiles: once within radar reach of the nearest zone (checked every
    # ~30 s of flight, then refined step by step).
    reach = rng.uniform(*DETECT_RANGE_M[threat.kind])
    stride = max(1, int(30.0 / path.dt_s))
    n = len(path.lat)
    coarse = list(range(0, n, stride))
    near = np.flatnonzero(
        raid.distances_to_zones_m([path.lat[i] for i in coarse], [path.lon[i] for i in coarse])
        <= reach
    )
    if not len(near):
        return t_hit - 60.0  # never within reach before it is over the zones
    first = coarse[int(near[0])]
    fine = list(range(max(0, first - stride), first + 1))
    inside = np.flatnonzero(
        raid.distances_to_zones_m([path.lat[i] for i in fine], [path.lon[i] for i in fine]) <= reach
    )
    # A track takes the sensors a few seconds to form.
    return min(path.time_of(fine[int(inside[0])]) + rng.uniform(2.0, 15.0), t_hit - 5.0)


def _defend(raid: Raid, threats: list[PlannedThreat]) -> None:
    """Decide detection, report cadence, interceptions and lost tracks for each threat."""
    rng = raid.rng
    shares = {kind: raid.uniform(model.intercept_share) for kind, model in SENSORS.items()}
    for threat in threats:
        model = SENSORS[threat.kind]
        t_hit = threat.impact[2]
        threat.detect_s = _detect_s(raid, threat)
        threat.interval_s = round(rng.uniform(*model.interval_s), 1)
        threat.sigma_m = float(round(rng.uniform(*model.sigma_m)))
        threat.end_reason, threat.end_s = "impact", t_hit + rng.uniform(0.0, 1.0)
        threat.last_report_s = t_hit
        visible = t_hit - threat.detect_s
        share = shares[threat.kind]
        if threat.kind == "rocket":
            # Iron-Dome-like: only rockets heading into populated zones are engaged.
            inside = raid.zones.zone_at(threat.impact[1], threat.impact[0]) is not None
            share = share if inside else 0.0
        if visible > 12.0 and rng.random() < share:
            if threat.kind in ("rocket", "ballistic"):
                # Engaged on the way down, after some seconds of tracking.
                lo = threat.detect_s + max(5.0, 0.4 * visible)
                hi = t_hit - max(3.0, 0.08 * visible)
            else:
                lo = threat.detect_s + max(20.0, 0.2 * visible)
                hi = t_hit - 15.0
            if hi > lo:
                t_int = rng.uniform(lo, hi)
                threat.end_reason, threat.end_s, threat.last_report_s = "intercepted", t_int, t_int
                continue
        if visible > 30.0 and rng.random() < LOST_SHARE:
            t_lost = threat.detect_s + rng.uniform(0.3, 0.8) * visible
            end = t_lost + rng.uniform(5.0, 20.0)
            if end < t_hit - 1.0:
                threat.end_reason, threat.end_s, threat.last_report_s = "lost", end, t_lost


def _report(raid: Raid, threat: PlannedThreat, t_s: float, model: SensorModel) -> dict[str, Any]:
    """One noisy track report of a threat at a time (seconds after the start; `t` is left for
    the caller to fill)."""
    rng = raid.rng
    truth = threat.path.at(t_s)
    sigma = threat.sigma_m
    lat, lon = _offset(truth.lat, truth.lon, rng.gauss(0.0, sigma), rng.gauss(0.0, sigma))
    alt = max(truth.alt_m + rng.gauss(0.0, 1.5 * sigma), 0.0)
    event: dict[str, Any] = {
        "type": "track",
        "threat": threat.threat,
        "kind": threat.kind,
        "t": None,
        "lat": round(lat, 6),
        "lon": round(lon, 6),
        "alt_m": round(alt, 1),
        "sigma_m": round(sigma),
    }
    if model.vel_share >= 1.0 or rng.random() < model.vel_share:
        s = model.vel_sigma_mps
        event["vel_mps"] = [
            round(truth.east + rng.gauss(0.0, s), 1),
            round(truth.north + rng.gauss(0.0, s), 1),
            round(truth.up + rng.gauss(0.0, s), 1),
        ]
    return event


def _events(raid: Raid, threats: list[PlannedThreat], start_ms: int) -> list[dict[str, Any]]:
    """Every threat's reports and end, in delivery order, with duplicates and late ones."""
    rng = raid.rng
    queue: list[tuple[int, int, dict[str, Any]]] = []
    seq = 0

    def push(delivered_ms: int, event: dict[str, Any]) -> None:
        nonlocal seq
        queue.append((delivered_ms, seq, event))
        seq += 1

    for threat in threats:
        model = SENSORS[threat.kind]
        end_ms = start_ms + round(threat.end_s * 1000)
        t = threat.detect_s
        while t < threat.last_report_s:
            t_ms = start_ms + round(t * 1000)
            if t_ms >= end_ms:
                break
            event = _report(raid, threat, (t_ms - start_ms) / 1000.0, model)
            event["t"] = format_time(t_ms)
            delivered = t_ms
            roll = rng.random()
            if roll < LATE_SHARE and t_ms + LATE_MAX_S * 1000 < end_ms:
                delivered = t_ms + round(rng.uniform(0.3, LATE_MAX_S) * 1000)
            push(delivered, event)
            if rng.random() < DUPLICATE_SHARE and t_ms + 2000 < end_ms:
                push(delivered + round(rng.uniform(0.0, 2.0) * 1000), dict(event))
            t += threat.interval_s
        push(
            end_ms,
            {
                "type": "end",
                "threat": threat.threat,
                "t": format_time(end_ms),
                "reason": threat.end_reason,
            },
        )
    queue.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in queue]


def _truth(
    raid: Raid, scenario: str, seed: int, threats: list[PlannedThreat], start_ms: int
) -> dict[str, Any]:
    def at(t_s: float) -> str:
        return format_time(start_ms + round(t_s * 1000))

    rows = []
    for threat in threats:
        impact = None
        if threat.end_reason != "intercepted":
            lat, lon, t_hit = threat.impact
            impact = {"lat": round(lat, 6), "lon": round(lon, 6), "t": at(t_hit)}
        row: dict[str, Any] = {
            "threat": threat.threat,
            "kind": threat.kind,
            "area": threat.area,
            "launch": {
                "lat": round(threat.launch_lat, 6),
                "lon": round(threat.launch_lon, 6),
                "t": at(threat.launch_s),
            },
            "first_report_t": at(threat.detect_s),
            "impact": impact,
            "end_reason": threat.end_reason,
            "end_t": at(threat.end_s),
        }
        path = threat.path
        if isinstance(path, BallisticPath):
            row["beta_kg_m2"] = round(threat.beta_kg_m2 or 0.0)
            row["apogee_m"] = round(path.apogee_m())
            row["max_speed_mps"] = round(path.max_speed_mps(), 1)
        else:
            row["speed_mps"] = round(threat.speed_mps or 0.0, 1)
            row["turn_rate_dps"] = threat.turn_rate_dps
        rows.append(row)
    return {
        "scenario": scenario,
        "seed": seed,
        "country": raid.theater.name,
        "start": format_time(start_ms),
        "threats": rows,
    }


# ---------------------------------------------------------------------------------------------
# The public entry points


def plan(
    zones: ZoneSet, scenario: str, seed: int, *, count: int | None = None
) -> tuple[Raid, list[PlannedThreat]]:
    """The threats of a raid with their true flights and fates, before any sensor sees them.

    Times are seconds after the raid's start. Threat ids are R001.. (rockets), B001..
    (ballistic), D001.. (drones), C001.. (cruise), in launch order.
    """
    if scenario not in SCENARIOS:
        raise AirwarnError(f"unknown scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}")
    if count is not None and count < 1:
        raise AirwarnError(f"a raid has at least one threat, not {count}")
    raid = Raid(zones, scenario, seed)
    rng = raid.rng
    if scenario == "mixed":
        total = count if count is not None else rng.randint(30, 70)
        counts = _split(total, MIXED_SHARES)
    else:
        kind = KIND_OF[scenario]
        counts = {kind: count if count is not None else rng.randint(*DEFAULT_COUNTS[scenario])}
    threats: list[PlannedThreat] = []
    # Slow threats first: in a mixed raid, missiles and rockets are timed to arrive with them.
    if counts.get("drone"):
        threats += _plan_routes(raid, "drone", counts["drone"], 0.0, 3_600.0)
    if counts.get("cruise"):
        threats += _plan_routes(raid, "cruise", counts["cruise"], 0.0, 1_200.0)
    arrival = 0.0
    if threats:
        arrivals = sorted(t.impact[2] for t in threats)
        arrival = arrivals[len(arrivals) // 2]
    if counts.get("ballistic"):
        lead = 700.0 if raid.theater.name == "israel" else 300.0
        threats += _plan_ballistic(raid, counts["ballistic"], max(arrival - lead, 0.0))
    if counts.get("rocket"):
        threats += _plan_rockets(raid, counts["rocket"], max(arrival - 120.0, 0.0))
    if not threats:
        raise AirwarnError(
            f"no {scenario} threat can reach this zone set from the "
            f"{raid.theater.name} launch areas; try another scenario"
        )
    threats.sort(key=lambda th: (th.launch_s, th.kind))
    for threat in threats:
        threat.threat = raid.next_id(threat.kind)
    _defend(raid, threats)
    return raid, threats


def _split(total: int, shares: tuple[tuple[str, float], ...]) -> dict[str, int]:
    """Whole counts per kind in proportion to shares; every kind gets one when there is room."""
    counts = {kind: (1 if total >= len(shares) else 0) for kind, _ in shares}
    rest = total - sum(counts.values())
    exact = {kind: rest * share for kind, share in shares}
    for kind in counts:
        counts[kind] += int(exact[kind])
    left = total - sum(counts.values())
    for kind, _ in sorted(shares, key=lambda ks: -(exact[ks[0]] - int(exact[ks[0]])))[:left]:
        counts[kind] += 1
    return counts


def simulate(
    zones: ZoneSet, scenario: str, seed: int, *, count: int | None = None, paths: bool = False
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A simulated raid on a zone set: the sensor events (Contract v1 dicts, in delivery order)
    and the truth document. The same zones, scenario and seed give the same result. With
    `paths`, each truth row also holds the threat's true path (see `airwarn.sim.paths`)."""
    raid, threats = plan(zones, scenario, seed, count=count)
    start_ms = parse_time(START)
    events = _events(raid, threats, start_ms)
    truth = _truth(raid, scenario, seed, threats, start_ms)
    if paths:
        from airwarn.sim.paths import threat_path_record

        for row, threat in zip(truth["threats"], threats, strict=True):
            row["path"] = threat_path_record(threat)
    return events, truth


def write_simulation(
    events: list[dict[str, Any]], truth: dict[str, Any], out_dir: str | Path
) -> None:
    """Write `events.jsonl` (one compact JSON object a line) and `truth.json` in a folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    encoder = msgspec.json.Encoder()
    (out / "events.jsonl").write_bytes(b"".join(encoder.encode(e) + b"\n" for e in events))
    (out / "truth.json").write_bytes(msgspec.json.format(encoder.encode(truth), indent=2) + b"\n")
