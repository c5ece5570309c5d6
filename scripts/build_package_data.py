"""Build the data airwarn ships, from the project's data set (../shared/data by default).

    python scripts/build_package_data.py [--data ../shared/data] [--schemas ../shared/schemas]
                                          [--out airwarn]

Writes, under airwarn/:
- data/zones/{israel,ukraine-hromadas,ukraine-raions,ukraine-oblasts}.geojson.gz: each real
  layer imported with the same adapter as `airwarn zones import` (Ukraine at 90 s to shelter),
  as a canonical zone file, gzip-compressed. Not simplified: every polygon is the imported one.
- data/zones/ua_alarm_regions_crosswalk.csv.gz: the alert services' region ids -> KATOTTG.
- data/zones/MANIFEST.json: each source file's and output's SHA-256, counts, the notes.
- data/licenses/: the licence texts of the sources, and NOTICE.md saying whose is what.
- cap/cap12.xsd: the OASIS CAP 1.2 schema, and cap/CAP12-NOTICE.txt.

The output is deterministic (gzip without a time stamp): run it twice, get the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import sys
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from airwarn.engine.zones import zones_from_geojson, zones_to_geojson  # noqa: E402
from airwarn.layers.israel import import_israel  # noqa: E402
from airwarn.layers.packaged import LAYERS, UKRAINE_SHELTER_S  # noqa: E402
from airwarn.layers.ukraine import import_ukraine  # noqa: E402

SOURCES = {
    "israel": ("israel/israel_alert_areas.geojson", lambda p: import_israel(p)),
    "ukraine": (
        "ukraine/ua_hromadas.geojson",
        lambda p: import_ukraine(p, "hromada", UKRAINE_SHELTER_S),
    ),
    "ukraine-raions": (
        "ukraine/ua_raions.geojson",
        lambda p: import_ukraine(p, "raion", UKRAINE_SHELTER_S),
    ),
    "ukraine-oblasts": (
        "ukraine/ua_oblasts.geojson",
        lambda p: import_ukraine(p, "oblast", UKRAINE_SHELTER_S),
    ),
}
CROSSWALK = "ukraine/ua_alarm_regions_crosswalk.csv"
LICENCES = (
    "amitfin+oref_alert__LICENSE.txt",
    "eladnava+pikud-haoref-api__LICENSE.txt",
    "justinelliotmeyers+Ukraine_2020__TERMS_OF_USE.txt",
    "Vadimkin+ukrainian-air-raid-sirens-dataset__LICENSE.txt",
)

CAP_NOTICE = """\
cap12.xsd: the XML schema of the Common Alerting Protocol version 1.2, an OASIS Standard.
Copyright OASIS Open 2010. All Rights Reserved (as its first line says).

OASIS publishes its standards' schemas for anyone to implement them; they are distributed
under the OASIS Intellectual Property Rights Policy:
https://www.oasis-open.org/policies-guidelines/ipr/
The copy shipped here is unchanged; it was taken from google/cap-library (Apache-2.0), via
the airwarn project's data set. airwarn uses it to check CAP messages it receives.
"""

NOTICE = """\
# Data shipped with airwarn, and whose it is

airwarn's own code is Apache-2.0. The data below is not airwarn's: each part keeps its
upstream licence, whose text is in this folder. Cite it wherever you show or pass on the data.

- `israel.geojson.gz`: Israel's {israel} Home Front Command alert areas, each with its time
  to shelter. The Home Front Command's data, via `amitfin/oref_alert` (metadata, polygons;
  MIT, `amitfin+oref_alert__LICENSE.txt`) and `eladnava/pikud-haoref-api` (names in four
  languages; Apache-2.0, `eladnava+pikud-haoref-api__LICENSE.txt`).
- `ukraine-hromadas.geojson.gz`: Ukraine's {ukraine} hromadas (with Kyiv City, lakes and
  exclusion-zone territories, pre-reform Crimean councils); `ukraine-raions.geojson.gz`: its
  {raions} raions; `ukraine-oblasts.geojson.gz`: its {oblasts} oblasts. Minregion's
  territorial-communities layer via `vadymnes/gis_files`, Kyiv City and Sevastopol via
  `justinelliotmeyers/Ukraine_2020`, names and P-codes from OCHA COD-AB. CC BY-SA,
  © Мінрегіон (Minregion) (`justinelliotmeyers+Ukraine_2020__TERMS_OF_USE.txt`).
- `ua_alarm_regions_crosswalk.csv.gz`: the region ids of Ukraine's public air-raid alert
  services → KATOTTG units. `Vadimkin/ukrainian-air-raid-sirens-dataset`, MIT
  (`Vadimkin+ukrainian-air-raid-sirens-dataset__LICENSE.txt`).

Minregion asks that maps shown on screen credit it in a corner of the map: airwarn's pages do
(«© Мінрегіон»). Changes made here: each layer was imported into airwarn's zone format (ids,
names, regions, times to shelter; Ukraine's layers carry no time to shelter, so every zone
gets 90 s, which `airwarn zones export ukraine --shelter-s N` changes); no geometry was
simplified. The CAP 1.2 schema in airwarn/cap/ is © OASIS Open (see CAP12-NOTICE.txt there).
"""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--schemas", type=Path, default=ROOT.parent / "shared" / "schemas")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "airwarn",
        help="the package folder to write into (default: this checkout's)",
    )
    args = parser.parse_args()
    if not (args.data / "israel").is_dir():
        print(
            f"no data set at {args.data}: give --data (the layout of ../shared/data)",
            file=sys.stderr,
        )
        return 2
    zones_dir = args.out / "data" / "zones"
    licenses_dir = args.out / "data" / "licenses"
    (args.out / "cap").mkdir(parents=True, exist_ok=True)
    zones_dir.mkdir(parents=True, exist_ok=True)
    licenses_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, object] = {
        "built_by": "scripts/build_package_data.py",
        "layers": {},
    }
    counts = {}
    for name, (relative, importer) in SOURCES.items():
        layer = LAYERS[name]
        source = args.data / relative
        raw = source.read_bytes()
        result = importer(source)
        document = zones_to_geojson(result.zones, layer.attribution)
        encoded = msgspec.json.encode(document) + b"\n"
        zones_from_geojson(msgspec.json.decode(encoded))  # it loads back, or this fails
        packed = gzip.compress(encoded, compresslevel=9, mtime=0)
        (zones_dir / layer.file).write_bytes(packed)
        counts[name] = len(result.zones)
        manifest["layers"][name] = {  # type: ignore[index]
            "file": layer.file,
            "title": layer.title,
            "zones": len(result.zones),
            "source": relative,
            "source_sha256": sha256(raw),
            "canonical_sha256": sha256(encoded),
            "file_sha256": sha256(packed),
            "attribution": layer.attribution,
            "licence": layer.licence,
            "notes": result.notes,
        }
        print(
            f"{name}: {len(result.zones):,} zones, {len(encoded):,} bytes, "
            f"{len(packed):,} compressed -> {zones_dir / layer.file}"
        )
    crosswalk = (args.data / CROSSWALK).read_bytes()
    packed = gzip.compress(crosswalk, compresslevel=9, mtime=0)
    (zones_dir / "ua_alarm_regions_crosswalk.csv.gz").write_bytes(packed)
    manifest["crosswalk"] = {
        "file": "ua_alarm_regions_crosswalk.csv.gz",
        "source": CROSSWALK,
        "source_sha256": sha256(crosswalk),
        "file_sha256": sha256(packed),
        "rows": crosswalk.count(b"\n") - 1,
        "licence": "MIT (Vadimkin/ukrainian-air-raid-sirens-dataset)",
    }
    (zones_dir / "MANIFEST.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    for licence in LICENCES:
        shutil.copyfile(args.data / "LICENSES" / licence, licenses_dir / licence)
    (licenses_dir / "NOTICE.md").write_text(
        NOTICE.format(
            israel=f"{counts['israel']:,}",
            ukraine=f"{counts['ukraine']:,}",
            raions=counts["ukraine-raions"],
            oblasts=counts["ukraine-oblasts"],
        ),
        encoding="utf-8",
    )
    schema = args.schemas / "cap12.xsd"
    shutil.copyfile(schema, args.out / "cap" / "cap12.xsd")
    (args.out / "cap" / "CAP12-NOTICE.txt").write_text(CAP_NOTICE, encoding="utf-8")
    print(f"crosswalk, licences and the CAP 1.2 schema copied; manifest {zones_dir}/MANIFEST.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
