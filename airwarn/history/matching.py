"""Names in alert histories → canonical zones: exact names, normalized spellings, parts of
multi-place names, truncated names, the project's alias table, and legacy area codes.

Every lookup says how it matched (`Match.kind`), so that the import can report how much of each
source rests on which rule; a name that matches nothing is kept by the caller with its closest
candidates (`closest`).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from airwarn.history.places import PlaceSet
from airwarn.history.records import HistoryError

ALIAS_FILE = "history_aliases.csv"
# Israeli area names in the histories are cut at about 30 characters; a cut name this long
# that starts exactly one known name is that name.
TRUNCATED_MIN_CHARS = 24
_LEGACY_CODE = re.compile(r"^(?P<prefix>.*?)\s*(?P<code>\d+)$")
# The Home Front Command's names for "the whole country" (no polygon of its own).
_WHOLE_COUNTRY = {"כלהארץ", "ברחביהארץ"}
_QUOTES = str.maketrans({"״": '"', "”": '"', "“": '"', "׳": "'", "`": "'", "’": "'"})


def name_key(name: str) -> str:
    """A spelling-insensitive key: unified quotes, no spaces, hyphens or dashes, lower case.

    The histories write `בת-ים` and `בת ים`, `אשדוד - יא` and `אשדוד -יא`, `נתיב הל''ה` and
    `נתיב הל"ה` for one place; none of the 1,449 area names collide under this key.
    """
    text = name.translate(_QUOTES).replace("''", '"')
    return re.sub(r"[\s\-‐-―־]+", "", text).lower()


@dataclass(frozen=True)
class Match:
    """How a name was found: `kind`, the zones it stands for, and the region if no zone."""

    kind: str
    zone_ids: tuple[str, ...] = ()
    region: str | None = None


@dataclass(frozen=True)
class Alias:
    country: str
    kind: str  # name | legacy_prefix | not_a_place
    name: str
    targets: tuple[str, ...]
    evidence: str


@dataclass
class AliasTable:
    """The project's alias table (`airwarn/data/history_aliases.csv`), written from the data's
    own evidence; each row says which evidence."""

    aliases: list[Alias] = field(default_factory=list)
    sha256: str = ""

    def of(self, country: str, kind: str) -> dict[str, Alias]:
        return {
            name_key(a.name): a for a in self.aliases if a.country == country and a.kind == kind
        }


def load_aliases(path: str | Path | None = None) -> AliasTable:
    """Read an alias table; the default is the one shipped in the package."""
    if path is None:
        data = resources.files("airwarn").joinpath("data", ALIAS_FILE).read_bytes()
        source = f"airwarn/data/{ALIAS_FILE}"
    else:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise HistoryError(
                f"cannot read the alias table: {exc.strerror}", source=str(path), field="--aliases"
            ) from None
        source = str(path)
    lines = data.decode("utf-8").splitlines()
    body = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    aliases = []
    for number, row in enumerate(csv.DictReader(body), start=2):
        try:
            country, kind, name = row["country"].strip(), row["kind"].strip(), row["name"]
            targets = tuple(t.strip() for t in (row["targets"] or "").split("|") if t.strip())
            evidence = row["evidence"] or ""
        except (KeyError, AttributeError):
            raise HistoryError(
                "an alias row needs country, kind, name, targets, evidence",
                source=source,
                line=number,
            ) from None
        if kind not in ("name", "legacy_prefix", "not_a_place"):
            raise HistoryError(
                f"unknown alias kind {kind!r}; use name, legacy_prefix or not_a_place",
                source=source,
                field="kind",
            )
        aliases.append(Alias(country, kind, name.strip(), targets, evidence))
    return AliasTable(aliases, hashlib.sha256(data).hexdigest())


def closest(name: str, choices: dict[str, str], n: int = 3) -> list[str]:
    """Up to `n` known names nearest to `name` (difflib ratio on the keys), best first.

    `choices` maps key → display name.
    """
    keys = difflib.get_close_matches(name_key(name), list(choices), n=n, cutoff=0.5)
    return [choices[k] for k in keys]


class IsraelMatcher:
    """Israeli area mentions (Hebrew names, as in the histories) → alert-area zones."""

    def __init__(self, places: PlaceSet, aliases: AliasTable) -> None:
        self.places = places
        self.by_key: dict[str, str] = {}
        self.display: dict[str, str] = {}
        self.region_of: dict[str, str | None] = {}
        regions: set[str] = set()
        for place in places.places.values():
            he = str(place.properties.get("area_he") or place.name or place.zone_id)
            key = name_key(he)
            self.by_key[key] = place.zone_id
            self.display[key] = he
            self.region_of[place.zone_id] = place.region
            if place.region:
                regions.add(place.region)
        # Parts of names that join several places (`שדרות, איבים`): the histories split them at
        # the commas, so each part stands for the joint area (unless it is an area of its own).
        parts: dict[str, set[str]] = {}
        for key, zone_id in self.by_key.items():
            he = self.display[key]
            if "," in he:
                for part in he.split(","):
                    parts.setdefault(name_key(part), set()).add(zone_id)
        self.by_part = {
            k: next(iter(v)) for k, v in parts.items() if len(v) == 1 and k and k not in self.by_key
        }
        self.regions = {name_key(r): r for r in regions}
        self.names = aliases.of("israel", "name")
        self.prefixes = aliases.of("israel", "legacy_prefix")
        self.not_places = aliases.of("israel", "not_a_place")
        self._zone_by_he = {self.display[k]: z for k, z in self.by_key.items()}
        self._cache: dict[str, Match | None] = {}
        for alias in list(self.names.values()) + list(self.prefixes.values()):
            self._targets(alias.name, alias.targets)  # fail early on a bad alias row

    def _targets(self, name: str, targets: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
        zones: list[str] = []
        region = None
        for target in targets:
            if target.startswith("region:"):
                region = target.removeprefix("region:")
                if name_key(region) not in self.regions:
                    raise HistoryError(
                        f"alias {name!r} points to region {region!r}, which is "
                        "no district of the layer",
                        source=ALIAS_FILE,
                    )
            elif target in self._zone_by_he:
                zones.append(self._zone_by_he[target])
            else:
                raise HistoryError(
                    f"alias {name!r} points to {target!r}, which is no area "
                    "name of the layer; fix the alias table",
                    source=ALIAS_FILE,
                )
        return tuple(zones), region

    def match(self, raw: str) -> Match | None:
        """The zones (or only the region) a mention stands for, or None."""
        if raw in self._cache:
            return self._cache[raw]
        found = self._match(raw)
        self._cache[raw] = found
        return found

    def _match(self, raw: str) -> Match | None:
        key = name_key(raw)
        if not key:
            return None
        zone_id = self.by_key.get(key)
        if zone_id is not None:
            kind = "exact" if self.display[key] == raw.strip() else "normalized"
            return Match(kind, (zone_id,), self.region_of[zone_id])
        if key in self.by_part:
            zone_id = self.by_part[key]
            return Match("part", (zone_id,), self.region_of[zone_id])
        alias = self.names.get(key)
        if alias is not None:
            zones, region = self._targets(alias.name, alias.targets)
            if zones:
                regions = {self.region_of[z] for z in zones}
                return Match("alias", zones, regions.pop() if len(regions) == 1 else None)
            return Match("alias_region", (), region)
        if key in self.not_places:
            return Match("not_a_place")
        if key in self.regions:
            # a mention naming a whole district (the 2014-2019 archive does so)
            return Match("district", (), self.regions[key])
        if key in _WHOLE_COUNTRY:
            return Match("country", tuple(self.region_of), None)
        if len(raw.strip()) >= TRUNCATED_MIN_CHARS:
            starts = [k for k in self.by_key if k.startswith(key)]
            if len(starts) == 1:
                zone_id = self.by_key[starts[0]]
                return Match("truncated", (zone_id,), self.region_of[zone_id])
        code = _LEGACY_CODE.match(raw.strip())
        if code:
            prefix = name_key(code["prefix"])
            if prefix in self.not_places:
                return Match("not_a_place")
            if prefix in self.regions:
                return Match("legacy_code", (), self.regions[prefix])
            alias = self.prefixes.get(prefix)
            if alias is not None:
                _, region = self._targets(alias.name, alias.targets)
                return Match("legacy_code", (), region)
        return None

    def closest(self, raw: str) -> list[str]:
        return closest(raw, self.display)


class UkraineMatcher:
    """Ukrainian oblast, raion and hromada names (English, as the histories write them) →
    KATOTTG zones, through the crosswalk of the public alert services' region ids."""

    def __init__(self, places: PlaceSet, crosswalk: str | Path) -> None:
        self.places = places
        path = Path(crosswalk)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise HistoryError(
                f"cannot read the crosswalk: {exc.strerror}; give it with "
                "--crosswalk, e.g. ../shared/data/ukraine/"
                "ua_alarm_regions_crosswalk.csv",
                source=str(path),
                field="--crosswalk",
            ) from None
        rows = list(csv.DictReader(text.splitlines()))
        need = {"level", "alarm_region_id", "name_en", "parent_alarm_id", "katottg_id"}
        if not rows or not need <= set(rows[0]):
            raise HistoryError(
                f"not the alarm-region crosswalk (needs columns {', '.join(sorted(need))})",
                source=str(path),
                line=1,
            )
        self.oblasts: dict[str, tuple[str, str]] = {}  # name → (alarm id, katottg)
        self.children: dict[tuple[str, str], tuple[str, str]] = {}  # (parent, name) → ids
        self.raion_names: set[str] = set()
        self.names_by_level: dict[str, dict[str, str]] = {"oblast": {}, "raion": {}, "hromada": {}}
        for row in rows:
            name, level = row["name_en"].strip(), row["level"].strip()
            ids = (row["alarm_region_id"].strip(), row["katottg_id"].strip())
            self.names_by_level.setdefault(level, {})[name_key(name)] = name
            if level == "oblast":
                self.oblasts[name] = ids
            else:
                self.children[(row["parent_alarm_id"].strip(), name)] = ids
                if level == "raion":
                    self.raion_names.add(name)
        # oblasts are also known by the layer's own names (the crosswalk lacks Crimea and
        # Sevastopol, whose alerts the histories do not carry, but a name is a name)
        for place in places.places.values():
            if place.level == "oblast" and place.name and place.name not in self.oblasts:
                self.oblasts[place.name] = ("", place.zone_id)
                self.names_by_level["oblast"][name_key(place.name)] = place.name

    def is_oblast(self, name: str) -> bool:
        return name in self.oblasts

    def is_raion(self, name: str) -> bool:
        return name in self.raion_names

    def oblast(self, name: str) -> str | None:
        ids = self.oblasts.get(name.strip())
        return self._zone(ids[1]) if ids else None

    def _child(self, parent: str, name: str) -> tuple[str, str] | None:
        return self.children.get((parent, name.strip()))

    def raion(self, oblast: str, raion: str) -> str | None:
        parent = self.oblasts.get(oblast.strip())
        ids = self._child(parent[0], raion) if parent else None
        return self._zone(ids[1]) if ids else None

    def hromada(self, oblast: str, raion: str, hromada: str) -> str | None:
        parent = self.oblasts.get(oblast.strip())
        raion_ids = self._child(parent[0], raion) if parent else None
        ids = self._child(raion_ids[0], hromada) if raion_ids else None
        return self._zone(ids[1]) if ids else None

    def _zone(self, katottg: str) -> str | None:
        return katottg if katottg and katottg in self.places.places else None

    def region_of(self, zone_id: str) -> str | None:
        return self.places.places[zone_id].region

    def closest(self, name: str, level: str) -> list[str]:
        return closest(name, self.names_by_level.get(level, {}))
