"""The Home Front Command's area names → this server's zones, in all four of its languages.

The HFC's live feed names areas as its site's language asks (`alerts.json` is Hebrew; its
English, Russian and Arabic pages name the same areas otherwise). Each zone of the packaged
Israeli layer carries all four (`area_he`, `area_en`, `area_ru`, `area_ar`); names are matched
spelling-insensitively (`airwarn.history.matching.name_key`: quotes, spaces and hyphens do not
count). What the Hebrew name alone does not find goes through the history import's matcher
(`IsraelMatcher`): parts of joint names, truncated names, the project's alias table of old
and alternative spellings, a district's name, "the whole country". A zone set without
Hebrew names (not Israel's) is matched by its zones' names and ids.
"""

from __future__ import annotations

from airwarn.engine.zones import ZoneSet
from airwarn.history.matching import IsraelMatcher, load_aliases, name_key
from airwarn.history.places import Place, PlaceSet
from airwarn.history.records import HistoryError

LANGUAGES = ("he", "en", "ru", "ar")


class IsraelNames:
    """Area names → zone ids; unknown names are reported, never guessed."""

    def __init__(self, zones: ZoneSet) -> None:
        self.zones = zones
        by_key: dict[str, set[str]] = {}
        fallback: dict[str, set[str]] = {}
        for zone in zones.zones:
            for lang in LANGUAGES:
                name = zone.properties.get(f"area_{lang}")
                if isinstance(name, str) and name_key(name):
                    by_key.setdefault(name_key(name), set()).add(zone.id)
            for name in (zone.name, zone.id):
                if name and name_key(name):
                    fallback.setdefault(name_key(name), set()).add(zone.id)
        for key, ids in fallback.items():
            by_key.setdefault(key, ids)
        self.by_key = {key: tuple(sorted(ids)) for key, ids in by_key.items()}
        self.regions: dict[str, tuple[str, ...]] = {
            region: tuple(zones.ids[i] for i in members)
            for region, members in zones.regions.items()
        }
        self._matcher: IsraelMatcher | None = None
        if any("area_he" in z.properties for z in zones.zones):
            try:
                self._matcher = IsraelMatcher(_places(zones), load_aliases())
            except HistoryError:
                self._matcher = None  # an alias that names no area here: names only
        self._cache: dict[str, tuple[str, ...]] = {}

    def zones_of(self, name: str) -> tuple[str, ...]:
        """The zones an area name stands for (none: unknown here)."""
        found = self._cache.get(name)
        if found is None:
            found = self._find(name)
            if len(self._cache) < 20_000:
                self._cache[name] = found
        return found

    def _find(self, name: str) -> tuple[str, ...]:
        direct = self.by_key.get(name_key(name))
        if direct:
            return direct
        if self._matcher is None:
            return ()
        match = self._matcher.match(name)
        if match is None or match.kind == "not_a_place":
            return ()
        if match.zone_ids:
            return tuple(sorted(match.zone_ids))
        if match.region is not None:  # a whole district
            return self.regions.get(match.region, ())
        return ()


def _places(zones: ZoneSet) -> PlaceSet:
    """The zone set as the history matcher reads it (areas and outlines are not needed)."""
    return PlaceSet(
        "israel",
        {
            z.id: Place(
                z.id, "area", z.name, z.region, 0.0, z.shelter_s, z.geometry, dict(z.properties)
            )
            for z in zones.zones
        },
    )
