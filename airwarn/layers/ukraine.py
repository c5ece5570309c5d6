"""Adapter for Ukraine's administrative units (hromadas → raions → oblasts, KATOTTG codes).

Ukraine's air-raid alerts mostly cover whole oblasts; finer zones are what a localized system
adds. Any level can be imported from its own file, or from a finer file by dissolving its units
(hromadas into raions or oblasts, raions into oblasts). The layers have no time to shelter, so
the operator gives one for every zone (`shelter_s`).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Literal

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from airwarn.errors import ZoneError
from airwarn.layers import (
    LayerFeature,
    ZoneDraft,
    build_zones,
    id_text,
    layer_keys,
    polygonal,
    read_layer,
    text_or_none,
)
from airwarn.layers.report import ImportResult, agree, examples, plural

Level = Literal["hromada", "raion", "oblast"]
LEVELS: tuple[str, ...] = ("hromada", "raion", "oblast")
_RANK = {"hromada": 0, "raion": 1, "oblast": 2}
_ID_FIELD = {"hromada": "hromada_id", "raion": "raion_id", "oblast": "oblast_id"}
_FILE = {
    "hromada": "ua_hromadas.geojson",
    "raion": "ua_raions.geojson",
    "oblast": "ua_oblasts.geojson",
}

HINT = (
    "give a Ukrainian layer, e.g. `airwarn zones import ukraine "
    "../shared/data/ukraine/ua_hromadas.geojson --level hromada --shelter-s 90`"
)

# Units the file leaves without a KATOTTG code although they have one. Kyiv City's code is the
# national classifier's (also OpenStreetMap's `katotth` tag); keyed by the file's ocha_pcode.
_KNOWN_KATOTTG = {"UA8000000": "UA80000000000093317"}

# Lakes, lymans and the Chornobyl Exclusion Zone are "state territories", outside every hromada.
_STATE_TERRITORY = "Державні території"


def import_ukraine(path: str | Path, level: Level | str, shelter_s: int) -> ImportResult:
    """Read a Ukrainian layer and make one zone per unit of `level`, each with `shelter_s`.

    A finer layer serves a coarser level by dissolving (union of the units that share a raion
    or oblast id); a coarser layer cannot serve a finer level, which is an error.
    """
    if level not in LEVELS:
        raise ZoneError(
            f"unknown level {level!r}: choose hromada (about 1,770 communities), "
            "raion (138 districts) or oblast (27 regions), e.g. --level raion",
            field="--level",
            value=level,
        )
    if isinstance(shelter_s, bool) or not isinstance(shelter_s, int) or shelter_s < 0:
        raise ZoneError(
            "the time to shelter is whole seconds, 0 or more, e.g. --shelter-s 90 "
            "(Ukraine's layers carry none, so it is given once for every zone)",
            field="--shelter-s",
            value=shelter_s,
        )
    features = read_layer(path, hint=HINT)
    source_level = _layer_level(layer_keys(features), path)
    if _RANK[source_level] > _RANK[level]:
        raise ZoneError(
            f"{Path(path).name} holds {source_level}s, which cannot be split into {level}s; "
            f"give a file of {level}s or finer, e.g. ../shared/data/ukraine/{_FILE[level]}"
            + ("" if level == "hromada" else " or ../shared/data/ukraine/ua_hromadas.geojson"),
            source=str(path),
        )

    result = ImportResult(zones=[], source=str(path))
    article = "an" if source_level == "oblast" else "a"
    result.note(
        f"{plural(len(features), 'feature')} read from {article} {source_level} layer; "
        f"importing at level {level}."
    )
    if source_level == "hromada":
        _note_hromada_layer(features, result)
    if source_level == level:
        drafts = _unit_drafts(features, level, shelter_s, result)
    else:
        drafts = _dissolved_drafts(features, source_level, level, shelter_s, result)
    result.note(
        f"Ukraine's layers carry no time to shelter: every zone has shelter_s "
        f"{shelter_s}, as given (--shelter-s)."
    )
    build_zones(drafts, result, mosaic=True)
    return result


def _layer_level(keys: set[str], path: str | Path) -> str:
    """Which administrative level a layer holds, from the id fields its features carry."""
    for level in LEVELS:
        if _ID_FIELD[level] in keys:
            return level
    if "segment_id" in keys or "migun_time_s" in keys:
        raise ZoneError(
            "this is Israel's alert-area layer, not a Ukrainian one: use "
            "`airwarn zones import israel PATH`",
            source=str(path),
        )
    raise ZoneError(
        "no feature has hromada_id, raion_id or oblast_id, so this is not a "
        f"Ukrainian administrative layer (properties found: "
        f"{', '.join(sorted(keys)[:8]) or 'none'}); {HINT}",
        source=str(path),
    )


def _unit_drafts(
    features: list[LayerFeature], level: str, shelter_s: int, result: ImportResult
) -> list[ZoneDraft]:
    """One draft per feature of a layer imported at its own level."""
    id_field = _ID_FIELD[level]
    drafts: list[ZoneDraft] = []
    derived: dict[str, list[str]] = defaultdict(list)
    no_name: list[str] = []
    present_ids: list[str] = []
    for feature in features:
        props = dict(feature.properties)
        zone_id = id_text(props.pop(id_field, None))
        name = text_or_none(props.get("name_en")) or text_or_none(props.get("name_uk"))
        if level == "oblast":
            region = name  # an oblast is its own region
        else:
            region = text_or_none(props.pop("oblast_en", None)) or text_or_none(
                props.get("oblast_uk")
            )
        if zone_id is None:
            zone_id, rule, kind = _derived_id(props, name, id_field, feature.number)
            props["id_rule"] = rule
            derived[kind].append(f"{name} → {zone_id}")
        else:
            present_ids.append(zone_id)
        if name is None:
            no_name.append(zone_id)
        drafts.append(
            ZoneDraft(
                id=zone_id,
                shelter_s=shelter_s,
                geometry=feature.geometry,
                name=name,
                region=region,
                properties=props,
            )
        )
    if derived:
        total = sum(len(v) for v in derived.values())
        parts = " ".join(
            f"({n}) {kind}: {examples(items, 8)}."
            for n, (kind, items) in enumerate(derived.items(), start=1)
        )
        result.note(
            f"{plural(total, 'feature')} {agree(total, 'has', 'have')} no {id_field}. "
            f"{parts} All are kept, none dropped: without them the mosaic has holes where a "
            "threat would alert no zone; people work or travel there (the Chornobyl plant's "
            "staff, boats on the lakes); and their raions and oblasts include them. Each "
            "carries the rule in property id_rule."
        )
    repeats = Counter(present_ids)
    dup = {k: n for k, n in repeats.items() if n > 1}
    empty = len(features) - len(present_ids)
    if dup:
        result.note(
            f"{plural(len(dup), 'id')} of {id_field} occur more than once: "
            f"{examples(f'{k} ×{n}' for k, n in dup.items())}; handled below."
        )
    else:
        text = (
            f"No two features share an id ({id_field}): the {len(present_ids):,} present "
            "are unique."
        )
        if empty > 1:
            text += (
                f" The only repeated value is the empty one ({empty} features, i.e. "
                f"{empty - 1} repeats if read as an id), handled above."
            )
        result.note(text)
    if no_name:
        result.note(
            f"{plural(len(no_name), 'unit')} {agree(len(no_name), 'has', 'have')} "
            f"no name in English or Ukrainian; left unnamed: {examples(no_name)}."
        )
    return drafts


def _derived_id(
    props: dict[str, Any], name: str | None, id_field: str, number: int
) -> tuple[str, str, str]:
    """A stable id for a unit the file leaves without one: (id, rule, kind of unit).

    Rules, in order: a known official KATOTTG code (Kyiv City); else the OCHA P-code; else the
    parent raion's id and the slug of the English name (`UA5108-oz-yalpuh`), which stays the
    same as long as the unit keeps its name and raion.
    """
    pcode = text_or_none(props.get("ocha_pcode"))
    if pcode is not None and pcode in _KNOWN_KATOTTG:
        return (
            _KNOWN_KATOTTG[pcode],
            f"official KATOTTG code, missing from the source (ocha_pcode {pcode})",
            "a unit whose official KATOTTG code the file lacks; id = that code",
        )
    if pcode is not None:
        return (
            pcode,
            f"ocha_pcode (the source has no {id_field})",
            "units with an OCHA P-code only; id = ocha_pcode",
        )
    parent = text_or_none(props.get("raion_id")) or text_or_none(props.get("oblast_id")) or "UA"
    slug = re.sub(r"[^a-z0-9]+", "-", (name or "").lower()).strip("-") or f"feature-{number}"
    rule = f"raion_id + '-' + slug of name_en (the source has no {id_field})"
    if text_or_none(props.get("type_uk")) == _STATE_TERRITORY:
        kind = (
            f"state territories outside every hromada, with few or no residents (type_uk "
            f"'{_STATE_TERRITORY}': lakes, lymans, the Chornobyl Exclusion Zone); "
            "id = raion_id + '-' + slug of name_en"
        )
    elif name and name == text_or_none(props.get("raion_en")):
        kind = (
            "named after the whole raion: land of that raion in no council; "
            "id = raion_id + '-' + slug of name_en"
        )
    else:
        kind = "without a code; id = raion_id + '-' + slug of name_en"
    return f"{parent}-{slug}", rule, kind


def _note_hromada_layer(features: list[LayerFeature], result: ImportResult) -> None:
    """Notes on what the hromada file holds besides hromadas (Crimea, Kyiv, Sevastopol)."""
    props = [f.properties for f in features]
    crimea = [p for p in props if p.get("is_crimea_legacy_council") is True]
    if crimea:
        sevastopol_codes = [
            p.get("name_en") for p in crimea if str(p.get("koatuu_old") or "").startswith("85")
        ]
        text = (
            f"{plural(len(crimea), 'feature')} {agree(len(crimea), 'is a', 'are')} "
            "pre-reform Crimean council"
            f"{'' if len(crimea) == 1 else 's'} (is_crimea_legacy_council), not hromadas: "
            "Crimea, under occupation, never went through the 2020 reform. Kept as zones "
            "(region 'Avtonomna Respublika Krym'), flagged by that property."
        )
        if sevastopol_codes:
            text += (
                f" {len(sevastopol_codes)} of them carry Sevastopol's old KOATUU codes "
                f"(85…): {examples(sevastopol_codes)}."
            )
        result.note(text)
    oblasts = {text_or_none(p.get("oblast_id")) for p in props}
    if "UA01" in oblasts and "UA85" not in oblasts:
        result.note(
            "No feature has oblast_id UA85 (Sevastopol City): this file puts "
            "Sevastopol's councils and the land around it under Crimea (UA01, raion "
            "UA0102), and the city itself (about 66 km² around 44.62N 33.53E) is in no "
            "feature, so a point there finds no zone. For a Sevastopol zone, import "
            "ua_raions.geojson or ua_oblasts.geojson, which have it."
        )
    kyiv = [p for p in props if text_or_none(p.get("oblast_id")) == "UA80"]
    if kyiv:
        result.note(
            "Kyiv City (oblast_id UA80) is one unit and a region of its own, "
            "separate from Kyivska oblast (UA32) around it."
        )


def _dissolved_drafts(
    features: list[LayerFeature],
    source_level: str,
    level: str,
    shelter_s: int,
    result: ImportResult,
) -> list[ZoneDraft]:
    """Merge the units of a finer layer that share a raion or oblast id into one draft each."""
    key = _ID_FIELD[level]
    groups: dict[str, list[tuple[LayerFeature, BaseGeometry]]] = defaultdict(list)
    no_key: list[str] = []
    no_area: list[str] = []
    repaired: list[str] = []
    for feature in features:
        name = text_or_none(feature.properties.get("name_en")) or f"feature {feature.number}"
        group_id = id_text(feature.properties.get(key))
        if group_id is None:
            no_key.append(name)
            continue
        geometry = _geometry(feature)
        fixed = polygonal(geometry) if geometry is not None else None
        if fixed is None:
            no_area.append(name)
            continue
        if not geometry.is_valid:  # type: ignore[union-attr]
            repaired.append(name)
        groups[group_id].append((feature, fixed))
    if no_key:
        result.note(
            f"{plural(len(no_key), 'feature')} {agree(len(no_key), 'has', 'have')}"
            f" no {key}, so belong to no {level}, and were left out: "
            f"{examples(no_key)}."
        )
    if no_area:
        result.note(
            f"{plural(len(no_area), 'feature')} without a usable polygon were left "
            f"out of the dissolve: {examples(no_area)}."
        )
    if repaired:
        result.note(
            f"{plural(len(repaired), 'invalid polygon')} repaired with "
            f"shapely.make_valid before the dissolve: {examples(repaired)}."
        )

    prefix = "raion" if level == "raion" else "oblast"
    drafts: list[ZoneDraft] = []
    mixed_names: list[str] = []
    for group_id in sorted(groups):
        members = groups[group_id]
        first = members[0][0].properties
        names = {text_or_none(f.properties.get(f"{prefix}_en")) for f, _ in members}
        if len(names) > 1:
            mixed_names.append(f"{group_id}: {' / '.join(sorted(n or '?' for n in names))}")
        unit_name = text_or_none(first.get(f"{prefix}_en")) or text_or_none(
            first.get(f"{prefix}_uk")
        )
        props: dict[str, Any] = {
            "name_en": text_or_none(first.get(f"{prefix}_en")),
            "name_uk": text_or_none(first.get(f"{prefix}_uk")),
        }
        if level == "raion":
            region = text_or_none(first.get("oblast_en")) or text_or_none(first.get("oblast_uk"))
            props["name_uk_legacy"] = text_or_none(first.get("raion_uk_legacy"))
            props["oblast_id"] = text_or_none(first.get("oblast_id"))
            props["oblast_uk"] = text_or_none(first.get("oblast_uk"))
        else:
            region = unit_name
            if source_level == "hromada":
                props["n_raions"] = len({f.properties.get("raion_id") for f, _ in members})
        props[f"n_{source_level}s"] = len(members)
        props["dissolved_from"] = source_level
        geometry = shapely.union_all([g for _, g in members])
        drafts.append(
            ZoneDraft(
                id=group_id,
                shelter_s=shelter_s,
                geometry=geometry,
                name=unit_name,
                region=region,
                properties=props,
            )
        )
    if mixed_names:
        result.note(
            f"{plural(len(mixed_names), level)} {agree(len(mixed_names), 'has', 'have')}"
            " members that disagree on its name; the first is used: "
            f"{examples(mixed_names)}."
        )
    result.note(
        f"Dissolved {plural(sum(len(m) for m in groups.values()), source_level)} into "
        f"{plural(len(drafts), level)} by {key} (shapely.union_all); each zone counts "
        f"its members in n_{source_level}s and keeps {key} as its id."
    )
    return drafts


def _geometry(feature: LayerFeature) -> BaseGeometry | None:
    if not feature.geometry:
        return None
    try:
        geometry = shape(feature.geometry)
    except Exception:  # shapely raises several types for broken GeoJSON
        return None
    return None if geometry.is_empty else geometry
