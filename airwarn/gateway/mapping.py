"""Radar records to Contract v1 events: a `track` for each position, an `end` (reason `lost`)
for each end of track.

- **Threat ids** are `CAT-SAC-SIC-TRACK` (`062-25-10-1001`). Trackers reuse track numbers, and
  airwarn refuses reports of a threat that has ended, so a number seen again after its end of
  track is a new threat, `062-25-10-1001.2`; those generations are kept in a small file so a
  restarted gateway names tracks as before.
- **Times**: ASTERIX carries the time of day (1/128 s), not the date. With a fixed `date` (a
  recording, a lab run) the first record is on that date and each later one is put on the day
  that keeps it nearest its predecessor, so a raid may run past midnight; without, the day that
  puts it nearest the wall clock (a live feed).
- **Kinds** come from the user's rules (`kinds.py`), decided on a track's first record and kept
  for its life, as the engine keeps a threat's first kind.
- **Accuracy**: `sigma_m` is the larger of the record's two position standard deviations
  (I062/500 APC, I048/210), else the configured default, else left out (the engine's default
  for the kind).
- **Limits**: CAT062 heights end at 62.4 km and climb rates at 1,040 m/s; a record at either
  limit is forwarded as it is and counted (`at_ceiling`): a ballistic missile in mid-course does
  not fit the format, and its predictions are wrong (see docs/inputs.md).
- **Velocity**: `vel_mps` needs all three components: CAT062's I062/185 with I062/220; CAT048
  has no vertical rate, so its reports go without (the engine estimates velocity from
  positions).
"""

from __future__ import annotations

import json
import math
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from airwarn.contract import format_time
from airwarn.gateway.decode import RadarRecord
from airwarn.gateway.kinds import Facts, KindRules
from airwarn.gateway.polar import RadarSite, SystemPlane

DAY_MS = 86_400_000
MAX_TRACKS = 200_000  # kinds remembered for live tracks (least recently seen forgotten first)
ALT_RANGE_M = (-500.0, 2_000_000.0)  # Contract v1's
# I062/130 and I062/220 (16 bits of 6.25 ft, of 6.25 ft/min) end here: a ballistic missile
# above 62 km, or climbing faster than 1 km/s, reads as if it were at the limit
CEILING_062_M = 204_793.75 * 0.3048 - 1.0
CLIMB_LIMIT_062_MPS = 204_793.75 * 0.3048 / 60 - 0.1


class DayClock:
    """Dates for times of day."""

    def __init__(self, day: date | None) -> None:
        self._start_ms = (
            None
            if day is None
            else int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
        )
        self._last_ms: int | None = None

    def resolve(self, tod_s: float, now_ms: int) -> int:
        tod_ms = round(tod_s * 1000)
        if self._start_ms is not None and self._last_ms is None:
            self._last_ms = self._start_ms + tod_ms
            return self._last_ms
        reference = now_ms if self._start_ms is None else self._last_ms
        assert reference is not None
        day = reference - reference % DAY_MS
        candidates = (day - DAY_MS + tod_ms, day + tod_ms, day + DAY_MS + tod_ms)
        t_ms = min(candidates, key=lambda c: abs(c - reference))
        if self._start_ms is not None:
            self._last_ms = t_ms
        return t_ms


class Generations:
    """How many times each track number has ended, kept in a JSON file if given one."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.ended: dict[str, int] = {}
        if path is not None and path.exists():
            self.ended = {str(k): int(v) for k, v in json.loads(path.read_text()).items()}

    def threat_id(self, key: str) -> str:
        n = self.ended.get(key, 0)
        return key if n == 0 else f"{key}.{n + 1}"

    def end(self, key: str) -> None:
        self.ended[key] = self.ended.get(key, 0) + 1
        if self.path is not None:
            scratch = self.path.with_suffix(".tmp")
            scratch.write_text(json.dumps(self.ended, separators=(",", ":")))
            os.replace(scratch, self.path)


@dataclass
class MapCounts:
    tracks: int = 0
    ends: int = 0
    no_track_number: int = 0
    no_time: int = 0
    no_position: int = 0
    simulated: int = 0  # dropped: the source marks them simulated
    at_ceiling: int = 0  # forwarded, but a height or climb rate at its field's limit
    unknown_radar: dict[str, int] = field(default_factory=dict)  # CAT048 from unconfigured
    kinds: dict[str, int] = field(default_factory=dict)  # new tracks by kind

    @property
    def skipped(self) -> int:
        return (
            self.no_track_number
            + self.no_time
            + self.no_position
            + self.simulated
            + sum(self.unknown_radar.values())
        )


@dataclass(frozen=True)
class MappingSettings:
    rules: KindRules = field(default_factory=KindRules)
    radars: dict[tuple[int, int], RadarSite] = field(default_factory=dict)
    planes: dict[tuple[int, int], SystemPlane] = field(default_factory=dict)
    default_sigma_m: float | None = None
    day: date | None = None
    accept_simulated: bool = False
    generations_file: Path | None = None


class Mapper:
    """Records in, event objects out (plain dicts in Contract v1's shape)."""

    def __init__(self, settings: MappingSettings) -> None:
        self.settings = settings
        self.clock = DayClock(settings.day)
        self.generations = Generations(settings.generations_file)
        self.kinds: OrderedDict[str, str] = OrderedDict()
        self.counts = MapCounts()
        # the records of a datablock mostly share their time of day: the last one's time
        self._last_stamp: tuple[float, int] | None = None
        self._last_t = ""

    def events(self, record: RadarRecord, now_ms: int) -> list[dict[str, Any]]:
        counts = self.counts
        if record.simulated and not self.settings.accept_simulated:
            counts.simulated += 1
            return []
        if record.track_number is None:
            counts.no_track_number += 1
            return []
        if record.tod_s is None:
            counts.no_time += 1
            return []
        position = self._position(record)
        if position is None and not record.end:
            return []
        key = f"{record.category:03d}-{record.sac}-{record.sic}-{record.track_number}"
        threat = self.generations.threat_id(key)
        stamp = (record.tod_s, now_ms)
        if stamp == self._last_stamp:  # the same date as the last: resolve() would say so
            t = self._last_t
        else:
            t = self._last_t = format_time(self.clock.resolve(record.tod_s, now_ms))
            self._last_stamp = stamp
        out: list[dict[str, Any]] = []
        if position is not None:
            out.append(self._track(record, threat, t, position))
        if record.end:
            out.append({"type": "end", "threat": threat, "t": t, "reason": "lost"})
            counts.ends += 1
            self.kinds.pop(threat, None)
            self.generations.end(key)
        return out

    def _position(self, record: RadarRecord) -> tuple[float, float] | None:
        if record.lat is not None and record.lon is not None:
            return record.lat, record.lon
        source = (record.sac, record.sic)
        if record.x_m is not None and record.y_m is not None:
            plane = self.settings.planes.get(source)
            if plane is not None:
                return plane.to_geodetic(record.x_m, record.y_m)
        elif record.rho_m is not None and record.theta_deg is not None:
            radar = self.settings.radars.get(source)
            if radar is None:
                name = f"{record.sac}/{record.sic}"
                self.counts.unknown_radar[name] = self.counts.unknown_radar.get(name, 0) + 1
                return None
            return radar.to_geodetic(record.rho_m, record.theta_deg, _height(record))
        if not record.end:
            self.counts.no_position += 1
        return None

    def _track(
        self, record: RadarRecord, threat: str, t: str, position: tuple[float, float]
    ) -> dict[str, Any]:
        lat, lon = position
        alt = _height(record)
        event: dict[str, Any] = {
            "type": "track",
            "threat": threat,
            "kind": "unknown",
            "t": t,
            "lat": round(lat, 7),
            "lon": round(lon, 7),
            "alt_m": round(min(max(alt, ALT_RANGE_M[0]), ALT_RANGE_M[1]), 1),
        }
        if record.category == 62 and (
            alt >= CEILING_062_M
            or (record.climb_mps is not None and abs(record.climb_mps) >= CLIMB_LIMIT_062_MPS)
        ):
            self.counts.at_ceiling += 1
        sigmas = [s for s in (record.sigma_x_m, record.sigma_y_m) if s]
        sigma = max(sigmas) if sigmas else self.settings.default_sigma_m
        if sigma:
            event["sigma_m"] = round(sigma, 1)
        east = north = None
        if record.vx_mps is not None and record.vy_mps is not None:
            east, north = record.vx_mps, record.vy_mps
            plane = self.settings.planes.get((record.sac, record.sic))
            if plane is not None:
                east, north = plane.to_east_north(lat, lon, east, north)
            if record.climb_mps is not None:
                event["vel_mps"] = [round(east, 2), round(north, 2), round(record.climb_mps, 2)]
        speed = (
            math.hypot(east, north) if east is not None and north is not None else record.speed_mps
        )
        kind = self.kinds.get(threat)
        if kind is None:
            kind = self.settings.rules.kind_of(Facts(record, speed, alt, record.climb_mps))
            self.counts.kinds[kind] = self.counts.kinds.get(kind, 0) + 1
            self.kinds[threat] = kind
            if len(self.kinds) > MAX_TRACKS:
                self.kinds.popitem(last=False)
        else:
            self.kinds.move_to_end(threat)
        event["kind"] = kind
        self.counts.tracks += 1
        return event


def _height(record: RadarRecord) -> float:
    """Geometric height if measured, else the flight level (pressure altitude: the ISA
    approximation), else the ground."""
    if record.alt_m is not None:
        return record.alt_m
    if record.fl_m is not None:
        return record.fl_m
    return 0.0
