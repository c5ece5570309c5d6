"""Adapter for Israel's Home Front Command alert areas (about 1,450 polygons, each with its own
time to shelter), as published by `amitfin/oref_alert` and `eladnava/pikud-haoref-api`.

Mapping: `segment_id` → `id` (as a string), `migun_time_s` → `shelter_s`, `district_he` →
`region`, `area_en` (else `area_he`) → `name`; every other property is kept as it is.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from airwarn.errors import ZoneError
from airwarn.layers import (
    LayerFeature,
    ZoneDraft,
    build_zones,
    id_text,
    layer_keys,
    read_layer,
    text_or_none,
)
from airwarn.layers.report import ImportResult, agree, examples, plural

HINT = (
    "give the Home Front Command alert areas, e.g. "
    "`airwarn zones import israel ../shared/data/israel/israel_alert_areas.geojson`"
)

# segment_id = 5,000,000 + pikud_haoref_api_id for every area of the 2025 layer; the rule
# recovers a missing segment_id from the other source's id.
_SEGMENT_BASE = 5_000_000


def import_israel(path: str | Path) -> ImportResult:
    """Read Israel's alert-area layer and make one zone per area, with notes on its quirks."""
    features = read_layer(path, hint=HINT)
    _check_layer(layer_keys(features), path)
    result = ImportResult(zones=[], source=str(path))

    drafts: list[ZoneDraft] = []
    numeric_ids = 0
    derived_ids: list[str] = []
    no_id: list[str] = []
    name_from_he: list[str] = []
    no_name: list[str] = []
    no_region: list[str] = []
    from_other_source: list[str] = []
    no_shelter: list[ZoneDraft] = []
    disagree: Counter[tuple[int, int]] = Counter()
    disagree_by_district: Counter[str] = Counter()
    disagree_examples: list[str] = []
    zone_names: dict[str, set[str]] = defaultdict(set)

    for feature in features:
        props = dict(feature.properties)
        raw_id = props.pop("segment_id", None)
        zone_id = id_text(raw_id)
        if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
            numeric_ids += 1
        name = text_or_none(props.get("area_en"))
        if name is None:
            name = text_or_none(props.get("area_he"))
            if name is not None:
                name_from_he.append(name)
        if zone_id is None:
            api_id = id_text(props.get("pikud_haoref_api_id"))
            if api_id is None or not api_id.isdigit():
                no_id.append(_where(feature, name))
                continue
            zone_id = str(_SEGMENT_BASE + int(api_id))
            props["id_rule"] = "5000000 + pikud_haoref_api_id (no segment_id in the source)"
            derived_ids.append(f"{name} → {zone_id}")
        if name is None:
            no_name.append(zone_id)
        region = text_or_none(props.pop("district_he", None))
        if region is None:
            no_region.append(f"{name} ({zone_id})")

        shelter = _seconds(props.pop("migun_time_s", None))
        other = _seconds(props.get("countdown_s_pikud_haoref_api"))
        draft = ZoneDraft(
            id=zone_id,
            shelter_s=shelter if shelter is not None else -1,
            geometry=feature.geometry,
            name=name,
            region=region,
            properties=props,
        )
        if shelter is None:
            if other is not None:
                draft.shelter_s = other
                from_other_source.append(f"{draft.label}: {other} s")
            else:
                no_shelter.append(draft)
        elif other is not None and other != shelter:
            disagree[(shelter, other)] += 1
            disagree_by_district[region or "?"] += 1
            disagree_examples.append(draft.label)
        zone_he, zone_en = text_or_none(props.get("zone_he")), text_or_none(props.get("zone_en"))
        if zone_he and zone_en:
            zone_names[zone_he].add(zone_en)
        drafts.append(draft)

    if no_shelter:
        # The longest time to shelter in the layer warns earliest: the safe side for a zone
        # whose own time is unknown.
        longest = max((d.shelter_s for d in drafts if d.shelter_s >= 0), default=90)
        for draft in no_shelter:
            draft.shelter_s = longest
            draft.properties["shelter_s_assumed"] = True
        result.note(
            f"{len(no_shelter)} areas have no shelter time in either source; given the "
            f"layer's longest, {longest} s (the earliest warning), and marked "
            f"shelter_s_assumed: {examples(d.label for d in no_shelter)}."
        )

    result.note(f"{plural(len(features), 'feature')} read; ids from segment_id.")
    if numeric_ids:
        result.note(
            f"segment_id is a JSON number in {plural(numeric_ids, 'feature')}; "
            'written as strings (e.g. 5000511 → "5000511"), as the contract wants.'
        )
    if derived_ids:
        result.note(
            f"{len(derived_ids)} areas have no segment_id; derived as 5000000 + "
            f"pikud_haoref_api_id (property id_rule): {examples(derived_ids)}."
        )
    if no_id:
        result.note(
            f"{len(no_id)} features have neither segment_id nor pikud_haoref_api_id "
            f"and were dropped: {examples(no_id)}."
        )
    if name_from_he:
        result.note(
            f"{len(name_from_he)} areas have no English name; named in Hebrew "
            f"(area_he): {examples(name_from_he)}."
        )
    if no_name:
        result.note(f"{len(no_name)} areas have no name at all; left unnamed: {examples(no_name)}.")
    if no_region:
        result.note(
            f"{len(no_region)} areas have no district_he; they have no region, so a "
            f"manual alert by region cannot reach them: {examples(no_region)}."
        )
    if from_other_source:
        result.note(
            f"{len(from_other_source)} areas lack migun_time_s; took "
            f"countdown_s_pikud_haoref_api instead: {examples(from_other_source)}."
        )
    if disagree:
        pairs = ", ".join(f"{a} s vs {b} s ×{n}" for (a, b), n in disagree.most_common())
        districts = examples((f"{d} ×{n}" for d, n in disagree_by_district.most_common()), 4)
        result.note(
            f"{sum(disagree.values())} areas where the two sources disagree on the "
            f"time to shelter (migun_time_s vs countdown_s_pikud_haoref_api: {pairs}); "
            "used migun_time_s, the newer value (oref_alert), and kept the other as "
            f"a property. By district: {districts}. Areas: "
            f"{examples(disagree_examples)}."
        )
    zero = [d for d in drafts if d.shelter_s == 0]
    if zero:
        result.note(
            f"{plural(len(zero), 'area')} {agree(len(zero), 'has', 'have')} shelter_s 0 "
            '(the Home Front Command\'s "immediately": too close to the border to reach '
            "a shelter in time); kept as 0, so an alert comes as soon as a threat that "
            "can reach them is seen: "
            f"{examples(f'{d.label}, {d.region}' for d in zero)}."
        )
    spellings = {he: sorted(en) for he, en in zone_names.items() if len(en) > 1}
    if spellings:
        shown = examples(f"{he}: {' / '.join(en)}" for he, en in sorted(spellings.items()))
        result.note(
            f"zone_he has {len(zone_names)} values but zone_en spells "
            f"{len(spellings)} of them several ways ({shown}); kept as given "
            "(zone_* are extra properties; the region is the district)."
        )
    hebrew_by_english: dict[str, list[ZoneDraft]] = defaultdict(list)
    for draft in drafts:
        if draft.name and draft.properties.get("area_he"):
            hebrew_by_english[draft.name].append(draft)
    slips = {
        en: group
        for en, group in hebrew_by_english.items()
        if len({d.properties["area_he"] for d in group}) > 1
    }
    if slips:
        shown = examples(
            f"{en}: " + ", ".join(f"{d.properties['area_he']} {d.id} in {d.region}" for d in group)
            for en, group in sorted(slips.items())
        )
        result.note(
            f"{plural(len(slips), 'English name')} {agree(len(slips), 'is', 'are')} "
            "given to different places (different Hebrew names), most likely a "
            f"transliteration slip upstream; kept as given, ids tell them apart: {shown}."
        )
    regions = {d.region for d in drafts if d.region}
    result.note(
        f"Regions: the {len(regions)} Home Front Command districts (district_he), "
        "in Hebrew as the layer gives them (it has no English district names)."
    )

    build_zones(drafts, result, mosaic=False)
    return result


def _check_layer(keys: set[str], path: str | Path) -> None:
    if "segment_id" in keys or "pikud_haoref_api_id" in keys:
        if "migun_time_s" not in keys and "countdown_s_pikud_haoref_api" not in keys:
            raise ZoneError(
                f"the layer has no time to shelter (migun_time_s); {HINT}", source=str(path)
            )
        return
    if keys & {"hromada_id", "raion_id", "oblast_id"}:
        raise ZoneError(
            "this is a Ukrainian administrative layer, not Israel's alert areas: "
            "use `airwarn zones import ukraine PATH --level hromada|raion|oblast "
            "--shelter-s N`",
            source=str(path),
        )
    raise ZoneError(
        f"no feature has segment_id, so this is not the Home Front Command layer "
        f"(properties found: {', '.join(sorted(keys)[:8]) or 'none'}); {HINT}",
        source=str(path),
    )


def _seconds(value: Any) -> int | None:
    """A time to shelter as whole seconds, or None when missing or not a number >= 0."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            return None
        return int(value)
    if isinstance(value, int | float) and value >= 0 and float(value).is_integer():
        return int(value)
    return None


def _where(feature: LayerFeature, name: str | None) -> str:
    return f"feature {feature.number}" + (f" ({name})" if name else "")
