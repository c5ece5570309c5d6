"""The real zone layers and the CAP schema ship inside the package: they load with no network
and no ../shared, every polygon is valid, the tiling is intact, their licences travel with
them, and they are exactly what the build script makes from the project's data set."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
import shapely
from conftest import DATA, DATA_MISSING

from airwarn.errors import ZoneError
from airwarn.layers.packaged import (
    CROSSWALK,
    LAYERS,
    LICENSES_DIR,
    layer_document,
    load_layer,
    manifest,
    packaged_layer,
)

ROOT = Path(__file__).resolve().parents[1]
# The counts the data set's README gives for each layer
EXPECTED = {"israel": 1_449, "ukraine": 1_768, "ukraine-raions": 138, "ukraine-oblasts": 27}
# Neighbouring zones may overlap by rounding slivers (the sources were rounded to 1e-5 or 1e-6
# degrees); more than this would put a point in two zones for real.
MAX_OVERLAP_M2 = 2_000.0


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_shipped_layer_loads_with_valid_polygons_and_unique_ids(name: str) -> None:
    zones = load_layer(name)
    assert len(zones) == EXPECTED[name]
    assert len(set(zones.ids)) == len(zones)
    assert all(zone.geometry.is_valid and not zone.geometry.is_empty for zone in zones.zones)
    assert all(zone.name for zone in zones.zones)
    assert zones.attribution == LAYERS[name].attribution


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_no_two_shipped_zones_overlap_beyond_rounding(name: str) -> None:
    zones = load_layer(name)
    left, right = zones.tree.query(zones.shapes_m, predicate="intersects")
    pairs = left < right
    overlap_m2 = shapely.area(
        shapely.intersection(zones.shapes_m[left[pairs]], zones.shapes_m[right[pairs]])
    )
    worst = int(overlap_m2.argmax())
    assert overlap_m2.max() < MAX_OVERLAP_M2, (
        f"{zones.ids[left[pairs][worst]]} and {zones.ids[right[pairs][worst]]} overlap by "
        f"{overlap_m2.max():.0f} m²"
    )


def test_ukraine_levels_nest_hromadas_into_raions_into_oblasts() -> None:
    oblasts = load_layer("ukraine-oblasts")
    hromadas = load_layer("ukraine")
    total_o = float(oblasts.area_km2.sum())
    total_h = float(hromadas.area_km2.sum())
    # the hromada file lacks Sevastopol City (about 66 km², see its import notes)
    assert 0 < total_o - total_h < 200, (total_o, total_h)


def test_ukraine_gets_a_chosen_time_to_shelter_for_every_zone() -> None:
    assert {z.shelter_s for z in load_layer("ukraine").zones} == {90}
    assert {z.shelter_s for z in load_layer("ukraine-oblasts", shelter_s=120).zones} == {120}
    with pytest.raises(ZoneError, match="0 or more"):
        layer_document("ukraine", shelter_s=-1)


def test_an_unknown_layer_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ZoneError, match="israel, ukraine, ukraine-raions, ukraine-oblasts"):
        packaged_layer("france")


def test_licences_and_attribution_ship_beside_the_data() -> None:
    notice = (LICENSES_DIR / "NOTICE.md").read_text(encoding="utf-8")
    for name, layer in LAYERS.items():
        for licence in layer.licence_files:
            assert (LICENSES_DIR / licence).is_file(), licence
        assert layer.file.split(".")[0] in notice, name
    assert "`israel.geojson.gz`" in notice
    assert "CC BY-SA" in notice and "© Мінрегіон" in notice and "MIT" in notice
    assert "Permission is hereby granted" in (
        LICENSES_DIR / "amitfin+oref_alert__LICENSE.txt"
    ).read_text(encoding="utf-8")


def test_the_crosswalk_of_alert_regions_ships_compressed() -> None:
    rows = gzip.decompress(CROSSWALK.read_bytes()).decode("utf-8").splitlines()
    assert rows[0] == "level,alarm_region_id,name_uk,name_en,parent_alarm_id,katottg_id,match"
    assert len(rows) - 1 == 1_605


def test_the_cap_schema_ships_with_its_oasis_notice() -> None:
    import airwarn.cap.inbound as inbound

    schema = Path(inbound.__file__).with_name("cap12.xsd")
    assert schema.is_file()
    assert "Copyright OASIS Open 2010" in schema.read_text(encoding="utf-8")
    assert "OASIS" in schema.with_name("CAP12-NOTICE.txt").read_text(encoding="utf-8")
    assert inbound.SCHEMA_PATHS[0] == schema


def test_the_manifest_records_the_checksum_of_every_shipped_file() -> None:
    recorded = manifest()
    for name, layer in LAYERS.items():
        entry = recorded["layers"][name]
        assert entry["zones"] == EXPECTED[name]
        assert entry["file_sha256"] == hashlib.sha256(layer.path.read_bytes()).hexdigest()
        canonical = gzip.decompress(layer.path.read_bytes())
        assert entry["canonical_sha256"] == hashlib.sha256(canonical).hexdigest()
        assert msgspec.json.decode(canonical)["attribution"] == layer.attribution


@pytest.mark.skipif(not (DATA / "israel").is_dir(), reason=DATA_MISSING)
def test_the_shipped_layers_are_what_the_build_script_makes_from_the_data_set(
    tmp_path: Path,
) -> None:
    recorded = manifest()
    for entry in recorded["layers"].values():
        source = (DATA / entry["source"]).read_bytes()
        assert hashlib.sha256(source).hexdigest() == entry["source_sha256"], (
            f"{entry['source']} changed since the package data was built: run "
            "python scripts/build_package_data.py"
        )
    # and the script, run again into another folder, makes the same bytes
    out = tmp_path / "airwarn"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_package_data.py"),
            "--data",
            str(DATA),
            "--schemas",
            str(DATA.parent / "schemas"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for layer in LAYERS.values():
        assert (out / "data" / "zones" / layer.file).read_bytes() == layer.path.read_bytes(), (
            layer.file
        )
