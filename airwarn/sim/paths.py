"""True flight paths in the truth document, and the zones they pass over.

`truth.json` may carry, per threat, the path it really flew (`airwarn simulate --truth-paths`,
and always for raids made under `--sensor`/sweep conditions):

    "path": {"t_s": [...], "lat": [...], "lon": [...], "alt_m": [...]}

`t_s` are seconds after the truth's `start`, ascending; positions are WGS84 degrees (6
decimals) and heights above the ellipsoid (m). The path runs from launch to where the threat
came down, to its interception for an intercepted one, or, for a lost track, on to where it
would have come down. It is sampled every second for rockets and ballistic missiles and every
2 s (at most) for drones and cruise missiles, with the last point exactly at its end: straight
lines between samples are within tens of metres of the flight (a drone turning at 10°/s bends
its 2 s chord by 7 m).

The oracles in `airwarn.sim.oracles` read paths back with `read_path` and find the zones each
passes over with `zone_visits`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import shapely

from airwarn.contract import parse_time
from airwarn.engine.zones import ZoneSet
from airwarn.errors import AirwarnError

BALLISTIC_STEP_S = 1.0
ROUTE_STEP_S = 2.0


class _Sample(Protocol):
    lat: float
    lon: float
    alt_m: float


class _Path(Protocol):
    def at(self, t_s: float) -> _Sample: ...


def path_record(path: _Path, t_from_s: float, t_to_s: float, step_s: float) -> dict[str, Any]:
    """A path sampled every `step_s` from `t_from_s` to `t_to_s` (both included), as truth
    stores it."""
    count = max(1, math.ceil((t_to_s - t_from_s) / step_s - 1e-9))
    times = [t_from_s + i * step_s for i in range(count)] + [t_to_s]
    samples = [path.at(t) for t in times]
    return {
        "t_s": [round(t, 3) for t in times],
        "lat": [round(s.lat, 6) for s in samples],
        "lon": [round(s.lon, 6) for s in samples],
        "alt_m": [round(s.alt_m, 1) for s in samples],
    }


class _Threat(Protocol):
    kind: str
    path: Any
    launch_s: float
    impact: tuple[float, float, float]
    end_reason: str
    end_s: float


def threat_path_record(threat: _Threat) -> dict[str, Any]:
    """A planned threat's path for the truth: from launch to where it came down, or to its
    interception."""
    end_s = threat.end_s if threat.end_reason == "intercepted" else threat.impact[2]
    step = BALLISTIC_STEP_S if threat.kind in ("rocket", "ballistic") else ROUTE_STEP_S
    return path_record(threat.path, threat.launch_s, max(end_s, threat.launch_s), step)


@dataclass(frozen=True)
class TruePath:
    """A threat's true path on the zone set's map: times (ms) and positions (m)."""

    t_ms: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray


def read_path(
    zones: ZoneSet, truth: Mapping[str, Any], threat: Mapping[str, Any]
) -> TruePath | None:
    """The path of one truth row on the zone set's map, or None when the row has none."""
    record = threat.get("path")
    if not record:
        return None
    start_ms = parse_time(truth["start"])
    t_ms = start_ms + np.round(np.asarray(record["t_s"], dtype=float) * 1000).astype(np.int64)
    lon = np.asarray(record["lon"], dtype=float)
    lat = np.asarray(record["lat"], dtype=float)
    if not (len(t_ms) == len(lon) == len(lat)) or len(t_ms) == 0:
        raise AirwarnError(
            f"truth: the path of {threat.get('threat')!r} has t_s, lat and lon "
            "of different lengths; make the raid again with airwarn simulate"
        )
    xy = shapely.get_coordinates(
        zones.projection.geometry_to_xy(shapely.multipoints(np.column_stack([lon, lat])))
    )
    return TruePath(t_ms, xy[:, 0].copy(), xy[:, 1].copy())


@dataclass(frozen=True)
class Visits:
    """Each pass of a path over a zone: the zone, and when the path enters and leaves it
    (to within a sample: entry at the start of the first segment that meets the zone, exit
    at the end of the last, so a visit is never shorter than the truth)."""

    zone: np.ndarray  # zone indexes
    enter_ms: np.ndarray
    exit_ms: np.ndarray


def zone_visits(zones: ZoneSet, path: TruePath) -> Visits:
    """The zones a path passes over (its ground track meets them), one row per pass."""
    n = len(path.t_ms)
    if n == 1:
        hits = zones.tree.query(shapely.points(path.x_m, path.y_m), predicate="intersects")
        seg, zone = hits[0], hits[1]
        t = path.t_ms
        return Visits(zone.astype(np.int64), t[seg], t[seg])
    coords = np.stack(
        [
            np.column_stack([path.x_m[:-1], path.y_m[:-1]]),
            np.column_stack([path.x_m[1:], path.y_m[1:]]),
        ],
        axis=1,
    )
    segments = shapely.linestrings(coords)
    seg, zone = zones.tree.query(segments, predicate="intersects")
    if not len(seg):
        empty = np.zeros(0, dtype=np.int64)
        return Visits(empty, empty, empty)
    order = np.lexsort((seg, zone))
    seg, zone = seg[order], zone[order]
    # A new pass starts where the zone changes or a segment is skipped.
    starts = np.ones(len(seg), dtype=bool)
    starts[1:] = (zone[1:] != zone[:-1]) | (seg[1:] != seg[:-1] + 1)
    first = np.flatnonzero(starts)
    last = np.append(first[1:] - 1, len(seg) - 1)
    return Visits(zone[first].astype(np.int64), path.t_ms[seg[first]], path.t_ms[seg[last] + 1])
