"""Contract v1 events to ASTERIX records (CAT062 system tracks or CAT048 target reports), with
libasterix: the inverse of `decode.py`, for making test feeds from simulated raids.

Values beyond what a field can hold are clipped to its limit and counted in `EncodeCounts`
(I062/130 holds heights up to 62.4 km, I062/220 climb rates up to 1,040 m/s, I048/040 ranges up
to 256 NM): a ballistic missile near its apogee does not fit CAT062.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from airwarn.gateway.decode import CAT048_EDITIONS, CAT062_EDITIONS, FT, NM
from airwarn.gateway.polar import RadarSite

DAY_S = 86_400.0
MAX_DATABLOCK = 1400  # bytes: one datablock fits an Ethernet frame


@dataclass
class EncodeCounts:
    records: int = 0
    clipped: dict[str, int] = field(default_factory=dict)  # field -> records clipped

    def clip(self, name: str, value: float, low: float, high: float) -> float:
        if low <= value <= high:
            return value
        self.clipped[name] = self.clipped.get(name, 0) + 1
        return min(max(value, low), high)


@dataclass(frozen=True)
class Source:
    sac: int
    sic: int
    simulated: bool = True  # mark records as simulated (I062/080 SIM, I048/020 SIM)


class Cat062Encoder:
    """System track records from track and end events (I062/010, 015, 040, 070, 080, 105,
    130, 185, 220, 500)."""

    category = 62

    def __init__(self, source: Source, edition: str = "1.21") -> None:
        self.spec = CAT062_EDITIONS[edition]
        self.source = source
        self.counts = EncodeCounts()
        self._lsb_ft = 6.25  # I062/130 and I062/220

    def record(self, event: dict[str, Any], track_number: int, tod_s: float) -> Any:
        c = self.counts
        items: dict[str, Any] = {
            "010": (("SAC", self.source.sac), ("SIC", self.source.sic)),
            "015": 0,
            "040": track_number,
            "070": (tod_s, "s"),
        }
        end = event["type"] == "end"
        # I062/080: group 1 (MON SPI MRH SRC CNF), group 2 (SIM TSE TSB FPC AFF STP KOS)
        sim = 1 if self.source.simulated else 0
        items["080"] = (0b0011000, (sim << 6) | ((1 if end else 0) << 5))
        if not end:
            items["105"] = (("LAT", (event["lat"], "°")), ("LON", (event["lon"], "°")))
            alt_ft = c.clip("alt_m", event.get("alt_m", 0.0) / FT, -204_800.0, 204_793.75)
            items["130"] = (alt_ft, "ft")
            vel = event.get("vel_mps")
            if vel is not None:
                items["185"] = (
                    ("VX", (c.clip("vel_mps", vel[0], -8192.0, 8191.75), "m/s")),
                    ("VY", (c.clip("vel_mps", vel[1], -8192.0, 8191.75), "m/s")),
                )
                climb = c.clip("climb", vel[2] / FT * 60.0, -204_800.0, 204_793.75)
                items["220"] = (climb, "ft/min")
            sigma = event.get("sigma_m")
            if sigma is not None:
                s = c.clip("sigma_m", sigma, 0.0, 32_767.5)
                items["500"] = {"APC": (("X", (s, "m")), ("Y", (s, "m")))}
        c.records += 1
        return self.spec.cv_record.create(items)

    def datablock(self, records: list[Any]) -> bytes:
        return bytes(self.spec.create(records).unparse().to_bytes())


class Cat048Encoder:
    """Monoradar target reports from one radar (I048/010, 140, 020, 040, 110, 161, 170, 200,
    210): polar positions from the radar's site, 3D heights, ground speed and heading."""

    category = 48

    def __init__(self, source: Source, site: RadarSite, edition: str = "1.32") -> None:
        self.spec = CAT048_EDITIONS[edition]
        self.source = source
        self.site = site
        self.counts = EncodeCounts()

    def in_range(self, event: dict[str, Any]) -> bool:
        rho, _ = self.site.to_polar(event["lat"], event["lon"], event.get("alt_m", 0.0))
        return rho < 256 * NM and event.get("alt_m", 0.0) < 204_775 * FT

    def record(self, event: dict[str, Any], track_number: int, tod_s: float) -> Any:
        c = self.counts
        sim = 1 if self.source.simulated else 0
        end = event["type"] == "end"
        items: dict[str, Any] = {
            "010": (("SAC", self.source.sac), ("SIC", self.source.sic)),
            "140": (tod_s, "s"),
            # TYP 1 (single PSR detection), SIM
            "020": ((1 << 4) | (sim << 3),),
            "161": (0, track_number),
            # CNF RAD(PSR) DOU MAH CDM, then TRE GHO SUP TCC
            "170": (0b0010000, (1 if end else 0) << 6),
        }
        if not end:
            alt = event.get("alt_m", 0.0)
            rho, theta = self.site.to_polar(event["lat"], event["lon"], alt)
            items["040"] = (
                ("RHO", (c.clip("rho", rho / NM, 0.0, 255.99609375), "NM")),
                ("THETA", (theta % 360.0, "°")),
            )
            items["110"] = (0, (c.clip("alt_m", alt / FT, -204_800.0, 204_775.0), "ft"))
            vel = event.get("vel_mps")
            if vel is not None:
                speed = math.hypot(vel[0], vel[1]) / NM
                heading = math.degrees(math.atan2(vel[0], vel[1])) % 360.0
                items["200"] = (
                    ("GSP", (c.clip("speed", speed, 0.0, 3.99993896484375), "NM/s")),
                    ("HDG", (heading, "°")),
                )
            sigma = event.get("sigma_m")
            if sigma is not None:
                s = c.clip("sigma_m", sigma / NM, 0.0, 255 / 128)
                items["210"] = (("SIGX", (s, "NM")), ("SIGY", (s, "NM")), ("SIGV", 0), ("SIGH", 0))
        c.records += 1
        return self.spec.cv_record.create(items)

    def datablock(self, records: list[Any]) -> bytes:
        return bytes(self.spec.create(records).unparse().to_bytes())


def time_of_day_s(t_ms: int) -> float:
    """The ASTERIX time of day of an epoch time, in its 1/128 s steps."""
    return round((t_ms % 86_400_000) / 1000.0 * 128) / 128 % DAY_S
