"""alerts.in.ua's places (its numbers, `location_uid`) → this server's zones.

The packaged crosswalk (`airwarn/data/zones/ua_alarm_regions_crosswalk.csv.gz`, from the
project's data set) gives each number of Ukraine's public alert services (oblasts, raions and
hromadas: the same numbers alerts.in.ua uses) its KATOTTG code. KATOTTG codes nest by prefix
(`UA05` an oblast, `UA0502` a raion in it, `UA0502001...` a hromada in that), and the packaged
Ukrainian layers' zones carry them (a hromada's id, its `raion_id` and `oblast_id`). So a
number covers every zone whose code starts with its unit's code, whatever the layer's level;
a unit smaller than a zone (a hromada's alert on a layer of oblasts) alerts the zone that holds
it: part of it is under alert, and silence must never look like safety.

A zone may also name its number itself (`alerts_in_ua_uid`, as the compatibility feeds read
it). The seven hromadas the crosswalk gives no polygon (Teplodar, Pershotravensk,
Novodnistrovsk...) stand for their raion, for the same reason.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import re

from airwarn.engine.zones import ZoneSet
from airwarn.layers.packaged import CROSSWALK

_KATOTTG = re.compile(r"^UA\d{2,}")
_LEVELS = (4, 6, 9)  # KATOTTG: UA, 2 digits of oblast, 2 of raion, 3 of hromada, then more


@functools.lru_cache(maxsize=1)
def crosswalk() -> dict[int, tuple[str, str, int | None]]:
    """number -> (level, KATOTTG code or "", parent number)."""
    text = gzip.decompress(CROSSWALK.read_bytes()).decode("utf-8")
    out: dict[int, tuple[str, str, int | None]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        parent = (row.get("parent_alarm_id") or "").strip()
        out[int(row["alarm_region_id"])] = (
            row["level"].strip(),
            (row.get("katottg_id") or "").strip(),
            int(parent) if parent.isdigit() else None,
        )
    return out


@functools.lru_cache(maxsize=1)
def katottg_uids() -> dict[str, int]:
    """KATOTTG code -> number, for the units the crosswalk gives a polygon (the compatibility
    feeds number a hromada zone by it)."""
    return {code: uid for uid, (_level, code, _parent) in crosswalk().items() if code}


class UkraineMap:
    """Which zones each alerts.in.ua number covers in a zone set (worked out once per number)."""

    def __init__(self, zones: ZoneSet) -> None:
        self.zones = zones
        self.units = crosswalk()
        # zones by every prefix of their KATOTTG codes (oblast, raion, hromada, whole): a unit
        # covers a zone whose code, or whose raion's or oblast's, starts with the unit's code
        self._within: dict[str, set[str]] = {}
        self._own_code: dict[str, set[str]] = {}  # a zone's own code -> the zone
        self._own: dict[int, list[str]] = {}
        for zone in zones.zones:
            props = zone.properties
            for code in {zone.id, props.get("raion_id"), props.get("oblast_id")}:
                if isinstance(code, str) and _KATOTTG.match(code):
                    for n in (*_LEVELS, len(code)):
                        if n <= len(code):
                            self._within.setdefault(code[:n], set()).add(zone.id)
            if _KATOTTG.match(zone.id):
                self._own_code.setdefault(zone.id, set()).add(zone.id)
            own = props.get("alerts_in_ua_uid")
            if isinstance(own, int | str) and str(own).strip().isdigit():
                self._own.setdefault(int(str(own).strip()), []).append(zone.id)
        self._cache: dict[int, tuple[str, ...]] = {}

    @property
    def usable(self) -> bool:
        """Whether any zone can be reached at all (a KATOTTG code or a number)."""
        return bool(self._within or self._own)

    def zones_of(self, uid: int) -> tuple[str, ...]:
        """The zones number `uid` covers (none if it is unknown here)."""
        found = self._cache.get(uid)
        if found is None:
            found = self._find(uid)
            if len(self._cache) < 20_000:  # a source sending made-up numbers grows nothing
                self._cache[uid] = found
        return found

    def _find(self, uid: int) -> tuple[str, ...]:
        zones = set(self._own.get(uid, ()))
        unit = self.units.get(uid)
        seen = 0
        while unit is not None and not unit[1] and unit[2] is not None and seen < 3:
            unit = self.units.get(unit[2])  # no polygon of its own: its raion stands for it
            seen += 1
        if unit is not None and unit[1]:
            code = unit[1]
            zones |= self._within.get(code, set())
            for n in (*_LEVELS, len(code) - 1):  # a zone larger than the unit holds it
                zones |= self._own_code.get(code[:n], set())
        return tuple(sorted(zones))
