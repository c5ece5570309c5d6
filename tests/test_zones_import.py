"""Importing real zone layers (Israel's alert areas, Ukraine's units) into Contract v1 zones.

The layers are read from ../shared/data beside the repository (never copied into it); the
tests skip, saying so, when that folder is absent. Hand-made layers cover what the real ones
lack (a bow-tie ring, duplicate ids).
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import shapely
from conftest import DATA_MISSING
from shapely.geometry import Polygon
from typer.testing import CliRunner

from airwarn.cli.zones import app
from airwarn.engine.zones import ZoneSet, load_zones, write_zones
from airwarn.errors import ZoneError
from airwarn.layers import polygonal
from airwarn.layers.israel import import_israel
from airwarn.layers.report import ImportResult
from airwarn.layers.ukraine import import_ukraine

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ISRAEL = DATA / "israel" / "israel_alert_areas.geojson"
DISTRICTS = DATA / "israel" / "israel_districts.csv"
HROMADAS = DATA / "ukraine" / "ua_hromadas.geojson"
RAIONS = DATA / "ukraine" / "ua_raions.geojson"
OBLASTS = DATA / "ukraine" / "ua_oblasts.geojson"

needs_data = pytest.mark.skipif(
    not DATA.is_dir(),
    reason=DATA_MISSING,
)


def _need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path.name} not found in {path.parent}")
    return path


def _notes(result: ImportResult) -> str:
    return "\n".join(result.notes)


def _flat(text: str) -> str:
    """Console output with its line wrapping undone, for substring checks."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def israel() -> ImportResult:
    return import_israel(_need(ISRAEL))


@pytest.fixture(scope="module")
def hromadas() -> ImportResult:
    return import_ukraine(_need(HROMADAS), "hromada", 90)


@pytest.fixture(scope="module")
def raions_from_file() -> ImportResult:
    return import_ukraine(_need(RAIONS), "raion", 90)


@pytest.fixture(scope="module")
def raions_dissolved() -> ImportResult:
    return import_ukraine(_need(HROMADAS), "raion", 90)


@pytest.fixture(scope="module")
def oblasts_from_file() -> ImportResult:
    return import_ukraine(_need(OBLASTS), "oblast", 120)


@pytest.fixture(scope="module")
def oblasts_dissolved() -> ImportResult:
    return import_ukraine(_need(HROMADAS), "oblast", 120)


# Israel: the Home Front Command's alert areas


@needs_data
def test_israel_gives_one_zone_per_area_with_unique_string_ids(israel: ImportResult) -> None:
    assert len(israel.zones) == 1449
    ids = [z.id for z in israel.zones]
    assert all(isinstance(i, str) and i.isdigit() for i in ids)
    assert len(set(ids)) == len(ids)
    assert len(ZoneSet(israel.zones)) == 1449
    assert "segment_id is a JSON number in 1,449 features" in _notes(israel)


@needs_data
def test_israel_shelter_times_are_the_layers(israel: ImportResult) -> None:
    # The data README counts 0 s ×3 over its CSV, which adds two whole-country aliases
    # (segment 0, no polygon); the polygon layer has one area at 0 s: Avivim.
    assert israel.shelter_counts == {90: 875, 60: 170, 45: 139, 30: 126, 15: 138, 0: 1}
    zero = [z for z in israel.zones if z.shelter_s == 0]
    assert [(z.id, z.name) for z in zero] == [("5001604", "Avivim")]
    assert "shelter_s 0" in _notes(israel) and "Avivim (5001604)" in _notes(israel)


@needs_data
def test_israel_regions_are_the_33_districts(israel: ImportResult) -> None:
    with _need(DISTRICTS).open(encoding="utf-8") as f:
        districts = {row["district_he"].removeprefix("מחוז ") for row in csv.DictReader(f)}
    assert len(israel.regions) == 33
    assert set(israel.regions) == districts
    assert all(z.region for z in israel.zones)


@needs_data
def test_abu_gosh_shelters_in_90_s_in_its_district(israel: ImportResult) -> None:
    zone = next(z for z in israel.zones if z.id == "5000511")
    assert (zone.name, zone.shelter_s, zone.region) == ("Abu Gosh", 90, "בית שמש")
    # the names in four languages and the other source's fields stay as properties
    assert zone.properties["area_he"] == "אבו גוש"
    assert zone.properties["area_ru"] == "Абу Гош"
    assert zone.properties["zone_en"] == "Judea Foothills"
    assert zone.properties["countdown_s_pikud_haoref_api"] == 90
    assert "segment_id" not in zone.properties and "migun_time_s" not in zone.properties


@needs_data
def test_israel_uses_migun_time_where_the_sources_disagree(israel: ImportResult) -> None:
    disagree = [
        z for z in israel.zones if z.properties["countdown_s_pikud_haoref_api"] != z.shelter_s
    ]
    assert len(disagree) == 172
    assert {(z.shelter_s, z.properties["countdown_s_pikud_haoref_api"]) for z in disagree} == {
        (90, 60)
    }
    note = next(n for n in israel.notes if "disagree" in n)
    assert note.startswith("172 areas") and "used migun_time_s" in note


@needs_data
def test_israel_notes_name_the_other_quirks(israel: ImportResult) -> None:
    notes = _notes(israel)
    assert "Invalid rings: none" in notes
    assert "Adora (5000271)" in notes  # the one MultiPolygon
    assert "Kafr Misr" in notes  # one English name for two different places


# Ukraine: hromadas, raions, oblasts


@needs_data
def test_ukraine_hromadas_keep_every_feature_with_unique_ids(hromadas: ImportResult) -> None:
    assert len(hromadas.zones) == 1768
    ids = [z.id for z in hromadas.zones]
    assert len(set(ids)) == 1768
    katottg = [i for i in ids if re.fullmatch(r"UA\d{17}", i)]
    assert len(katottg) == 1762  # 1,761 from the file + Kyiv City's code
    assert len(ZoneSet(hromadas.zones)) == 1768
    assert set(hromadas.shelter_counts) == {90}


@needs_data
def test_ukraine_hromadas_without_id_get_documented_ids(hromadas: ImportResult) -> None:
    by_id = {z.id: z for z in hromadas.zones}
    derived = {z.id: z.name for z in hromadas.zones if "id_rule" in z.properties}
    assert derived == {
        "UA80000000000093317": "Kyiv City",
        "UA5108-oz-yalpuh": "oz. Yalpuh",
        "UA5104-oz-sasyk": "oz Sasyk",
        "UA5104-dnistrovskyi-lyman": "Dnistrovskyi lyman",
        "UA5110-kuialnytskyi-lyman": "Kuialnytskyi lyman",
        "UA3210-chornobylska-zona-vidchuzhennia": "Chornobylska Zona Vidchuzhennia",
        "UA0102-bakhchysaraiskyi-raion": "Bakhchysaraiskyi raion",
    }
    assert by_id["UA80000000000093317"].region == "Kyiv City"
    note = next(n for n in hromadas.notes if "no hromada_id" in n)
    assert note.startswith("7 features have no hromada_id")
    for zone_id, name in derived.items():
        assert f"{name} → {zone_id}" in note
    assert "kept, none dropped" in note
    # the "6 duplicate ids" are the 7 empty ones; no real id repeats
    assert "The only repeated value is the empty one (7 features, i.e. 6 repeats" in (
        _notes(hromadas)
    )


@needs_data
def test_ukraine_hromada_region_is_its_oblast(hromadas: ImportResult) -> None:
    zone = next(z for z in hromadas.zones if z.id == "UA68040190000021840")
    assert (zone.name, zone.region) == ("Zinkivska", "Khmelnytska oblast")
    assert zone.properties["oblast_id"] == "UA68"
    assert zone.properties["raion_id"] == "UA6804"
    assert zone.properties["name_uk"] == "Зіньківська"
    assert len(hromadas.regions) == 26  # 24 oblasts, Crimea, Kyiv City; no Sevastopol here


@needs_data
def test_ukraine_hromada_notes_report_crimea_sevastopol_and_gaps(hromadas: ImportResult) -> None:
    notes = _notes(hromadas)
    crimea = [z for z in hromadas.zones if z.properties.get("is_crimea_legacy_council")]
    assert len(crimea) == 296
    assert "296 features are pre-reform Crimean councils" in notes
    assert "oblast_id UA85 (Sevastopol City)" in notes
    assert "58 zones are MultiPolygons" in notes
    assert re.search(r"\d+ gaps \(holes between zones", notes)
    assert "Invalid rings: none" in notes


@needs_data
def test_raion_level_from_the_raion_file(raions_from_file: ImportResult) -> None:
    with RAIONS.open(encoding="utf-8") as f:
        expected = {feature["properties"]["raion_id"] for feature in json.load(f)["features"]}
    assert len(raions_from_file.zones) == 138
    assert {z.id for z in raions_from_file.zones} == expected
    zone = next(z for z in raions_from_file.zones if z.id == "UA6804")
    assert (zone.name, zone.region) == ("Khmelnytskyi raion", "Khmelnytska oblast")


@needs_data
def test_raion_level_by_dissolving_hromadas_matches_the_raion_file(
    raions_dissolved: ImportResult, raions_from_file: ImportResult
) -> None:
    dissolved = {z.id: z for z in raions_dissolved.zones}
    official = {z.id: z for z in raions_from_file.zones}
    # The hromada file has no Sevastopol City (UA8500): see its note.
    assert set(official) - set(dissolved) == {"UA8500"}
    assert len(dissolved) == 137
    for zone_id, zone in dissolved.items():
        assert zone.region == official[zone_id].region
        if zone_id == "UA0102":  # holds part of Sevastopol's land in the hromada file
            continue
        ref = official[zone_id].geometry
        assert zone.geometry.symmetric_difference(ref).area < 1e-3 * ref.area, zone_id
    with HROMADAS.open(encoding="utf-8") as f:
        members = Counter(feature["properties"]["raion_id"] for feature in json.load(f)["features"])
    assert all(z.properties["n_hromadas"] == members[z.id] for z in dissolved.values())
    assert "Dissolved 1,768 hromadas into 137 raions" in _notes(raions_dissolved)


@needs_data
def test_oblast_level_from_the_oblast_file(oblasts_from_file: ImportResult) -> None:
    assert len(oblasts_from_file.zones) == 27
    assert all(z.region == z.name for z in oblasts_from_file.zones)
    assert set(oblasts_from_file.shelter_counts) == {120}
    sevastopol = next(z for z in oblasts_from_file.zones if z.id == "UA85")
    assert sevastopol.name == "Sevastopol City"


@needs_data
def test_oblast_level_by_dissolving_hromadas_matches_the_oblast_file(
    oblasts_dissolved: ImportResult, oblasts_from_file: ImportResult
) -> None:
    dissolved = {z.id: z for z in oblasts_dissolved.zones}
    official = {z.id: z for z in oblasts_from_file.zones}
    assert set(official) - set(dissolved) == {"UA85"}
    for zone_id, zone in dissolved.items():
        assert zone.region == zone.name == official[zone_id].name
        if zone_id == "UA01":  # Crimea holds most of Sevastopol's land in the hromada file
            continue
        ref = official[zone_id].geometry
        assert zone.geometry.symmetric_difference(ref).area < 1e-3 * ref.area, zone_id
    assert dissolved["UA68"].properties["n_raions"] == 3


@needs_data
def test_oblast_level_by_dissolving_raions() -> None:
    result = import_ukraine(_need(RAIONS), "oblast", 60)
    assert len(result.zones) == 27
    assert "Dissolved 138 raions into 27 oblasts" in _notes(result)


@needs_data
@pytest.mark.parametrize(
    ("path", "level"), [(OBLASTS, "raion"), (OBLASTS, "hromada"), (RAIONS, "hromada")]
)
def test_a_coarser_file_cannot_serve_a_finer_level(path: Path, level: str) -> None:
    with pytest.raises(ZoneError, match="cannot be split"):
        import_ukraine(_need(path), level, 90)


@needs_data
def test_unknown_level_and_negative_shelter_are_refused() -> None:
    with pytest.raises(ZoneError, match="choose hromada"):
        import_ukraine(_need(OBLASTS), "county", 90)
    with pytest.raises(ZoneError, match="0 or more"):
        import_ukraine(_need(OBLASTS), "oblast", -5)


@needs_data
def test_each_adapter_refuses_the_other_countrys_layer() -> None:
    with pytest.raises(ZoneError, match="zones import ukraine"):
        import_israel(_need(OBLASTS))
    with pytest.raises(ZoneError, match="zones import israel"):
        import_ukraine(_need(ISRAEL), "oblast", 90)


# Round trip through the canonical file


@needs_data
@pytest.mark.parametrize("which", ["israel", "hromadas"])
def test_zones_survive_a_round_trip_through_the_canonical_file(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    result: ImportResult = request.getfixturevalue(which)
    path = tmp_path / "zones.geojson"
    write_zones(result.zones, path)
    loaded = load_zones(path)
    assert loaded.ids == tuple(z.id for z in result.zones)
    for before, after in zip(result.zones, loaded.zones, strict=True):
        assert (after.name, after.region, after.shelter_s) == (
            before.name,
            before.region,
            before.shelter_s,
        )
        assert after.properties == before.properties
        assert shapely.equals_exact(after.geometry, before.geometry, tolerance=0)


# Hand-made layers: what the real ones lack


def _israel_layer(tmp_path: Path, features: list[dict[str, Any]]) -> Path:
    path = tmp_path / "areas.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
    )
    return path


def _area(
    segment_id: int | None,
    name: str,
    ring: list[tuple[float, float]],
    shelter_s: int = 90,
    **extra: Any,
) -> dict[str, Any]:
    props = {
        "segment_id": segment_id,
        "area_en": name,
        "area_he": name,
        "migun_time_s": shelter_s,
        "countdown_s_pikud_haoref_api": shelter_s,
        "district_he": "דן",
        **extra,
    }
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
    }


def _square(x: float, y: float, size: float = 0.01) -> list[tuple[float, float]]:
    return [(x, y), (x + size, y), (x + size, y + size), (x, y + size), (x, y)]


# A ring that crosses itself: two triangles meeting at (34.805, 32.005).
BOW_TIE = [(34.80, 32.00), (34.81, 32.01), (34.81, 32.00), (34.80, 32.01), (34.80, 32.00)]


def test_a_bow_tie_ring_is_repaired_into_its_two_triangles() -> None:
    bow_tie = Polygon(BOW_TIE)
    assert not bow_tie.is_valid
    fixed = polygonal(bow_tie)
    assert fixed is not None and fixed.is_valid
    assert fixed.geom_type == "MultiPolygon" and len(fixed.geoms) == 2
    assert fixed.area == pytest.approx(0.01 * 0.01 / 2)


def test_an_import_repairs_a_bow_tie_and_says_so(tmp_path: Path) -> None:
    path = _israel_layer(
        tmp_path, [_area(5000001, "Bow", BOW_TIE), _area(5000002, "Square", _square(34.82, 32.0))]
    )
    result = import_israel(path)
    zone = next(z for z in result.zones if z.id == "5000001")
    assert zone.geometry.is_valid and zone.geometry.geom_type == "MultiPolygon"
    note = next(n for n in result.notes if "repaired" in n)
    assert note.startswith("1 geometry was invalid and repaired with shapely.make_valid")
    assert "Bow (5000001): Self-intersection" in note
    write_zones(result.zones, tmp_path / "out.geojson")
    assert len(load_zones(tmp_path / "out.geojson")) == 2


def test_duplicate_ids_merge_pieces_of_one_place_and_rename_different_places(
    tmp_path: Path,
) -> None:
    path = _israel_layer(
        tmp_path,
        [
            _area(5000010, "Split", _square(34.80, 32.0)),
            _area(5000010, "Split", _square(34.90, 32.0)),  # another piece of the same place
            _area(5000020, "First", _square(35.00, 32.0)),
            _area(5000020, "Second", _square(35.10, 32.0)),  # a different place, same id
            _area(None, "No segment", _square(35.20, 32.0), pikud_haoref_api_id=77),
            {
                "type": "Feature",
                "properties": {"segment_id": 5000030, "migun_time_s": 15},
                "geometry": {"type": "Point", "coordinates": [35.3, 32.0]},
            },
        ],
    )
    result = import_israel(path)
    by_id = {z.id: z for z in result.zones}
    assert set(by_id) == {"5000010", "5000020", "5000020-2", "5000077"}
    assert by_id["5000010"].geometry.geom_type == "MultiPolygon"
    assert by_id["5000020-2"].name == "Second"
    assert by_id["5000020-2"].properties["source_id"] == "5000020"
    notes = _notes(result)
    assert "merged into one zone" in notes and "5000020 → 5000020-2" in notes
    assert "No segment → 5000077" in notes
    assert "no area" in notes and "(Point)" in notes


def test_a_missing_layer_file_names_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ZoneError, match="no file at .*israel_alert_areas.geojson"):
        import_israel(tmp_path / "nope.geojson")


# The command line


runner = CliRunner()


@needs_data
def test_cli_imports_israel_into_a_file_that_loads(tmp_path: Path) -> None:
    out = tmp_path / "zones-israel.geojson"
    result = runner.invoke(app, ["import", "israel", str(_need(ISRAEL)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(load_zones(out)) == 1449
    summary = _flat(result.stderr)
    assert "Wrote 1,449 zones" in summary
    assert "Regions: 33" in summary
    assert "90 s ×875" in summary and "0 s ×1" in summary
    assert "172 areas where the two sources disagree" in summary
    assert result.stdout == ""
    assert not list(tmp_path.glob("*.partial"))


@needs_data
def test_cli_imports_ukraine_to_the_default_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app, ["import", "ukraine", str(_need(OBLASTS)), "--level", "oblast", "--shelter-s", "120"]
    )
    assert result.exit_code == 0, result.output
    zones = load_zones(tmp_path / "zones-ukraine-oblast.geojson")
    assert len(zones) == 27 and set(zones.shelter_s.tolist()) == {120}


def test_cli_missing_file_exits_2_naming_file_and_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nope.geojson"
    result = runner.invoke(app, ["import", "israel", str(missing)])
    assert result.exit_code == 2
    message = _flat(result.stderr)
    assert f"no file at {missing}" in message
    assert "israel_alert_areas.geojson" in message  # the fix: which file to give
    assert "Traceback" not in result.output


@needs_data
def test_cli_unknown_level_exits_2_listing_the_levels() -> None:
    result = runner.invoke(
        app, ["import", "ukraine", str(_need(HROMADAS)), "--level", "county", "--shelter-s", "90"]
    )
    assert result.exit_code == 2
    message = _flat(result.stderr)
    assert "county" in message and "hromada" in message and "oblast" in message
    assert "Traceback" not in result.output


@needs_data
def test_cli_wrong_layer_exits_2_pointing_to_the_right_command(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["import", "israel", str(_need(HROMADAS)), "--out", str(tmp_path / "z.geojson")]
    )
    assert result.exit_code == 2
    assert "airwarn zones import ukraine" in _flat(result.stderr)
    assert not (tmp_path / "z.geojson").exists()


def test_cli_help_teaches_with_real_paths() -> None:
    result = runner.invoke(app, ["import", "ukraine", "--help"])
    assert result.exit_code == 0
    text = _flat(result.output)
    assert "../shared/data/ukraine/ua_hromadas.geojson" in text
    assert "--shelter-s" in text


def test_zones_list_names_every_shipped_layer_and_the_made_up_one() -> None:
    from airwarn.layers.packaged import LAYERS, manifest

    result = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    counts = manifest()["layers"]
    for name in LAYERS:
        row = next(line for line in result.output.splitlines() if line.split()[:1] == [name])
        assert f"{counts[name]['zones']:,}" in row.split()
    assert "generated (made-up hexagons)" in " ".join(result.output.split())
