"""Real zones with no network: the demo's layers come from the package, and `airwarn zones
update` rebuilds Israel's areas from their public sources, checked by SHA-256, over HTTP,
file:// or a folder, giving up on a silent server within seconds and keeping nothing partial.

The upstream files are made here in the sources' own formats (oref_alert's generated Python
tables and zipped polygons, pikud-haoref-api's cities.json) from the shipped layer, and served
by a real HTTP server on this machine laid out as the raw-file host is.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from airwarn.engine.zones import ZoneSet, load_zones
from airwarn.errors import ZoneError
from airwarn.layers.download import DownloadError, fetch
from airwarn.layers.packaged import load_layer
from airwarn.layers.upstream import ISRAEL_SOURCES, SourceFile, update_israel
from airwarn.sim.layers import demo_zone_set

ISRAEL_ZONES = 1_449
UKRAINE_HROMADAS = 1_768


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def data_server(directory: Path) -> Iterator[str]:
    """Serve a folder over HTTP on a free local port; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def upstream_mirror(folder: Path, zones: ZoneSet) -> dict[str, SourceFile]:
    """Write the Israeli zones as the upstream repositories publish them, under folder laid
    out as OWNER/REPO/COMMIT/PATH; return the sources with these files' checksums."""
    info, shelter, district, polygons, cities = {}, {}, {}, {}, []
    for zone in zones.zones:
        props = zone.properties
        area = props["area_he"]
        segment = int(zone.id)
        info[area] = {"lat": props["lat"], "lon": props["lon"], "segment": segment}
        shelter[area] = zone.shelter_s
        district[area] = zone.region
        ring = (
            zone.geometry.geoms[0] if zone.geometry.geom_type == "MultiPolygon" else zone.geometry
        )
        polygons[area] = [[lat, lon] for lon, lat in ring.exterior.coords[:-1]]
        cities.append(
            {
                "id": segment - 5_000_000,
                "name": area,
                "name_en": zone.name,
                "name_ru": props.get("area_ru"),
                "name_ar": props.get("area_ar"),
                "zone": props.get("zone_he"),
                "zone_en": props.get("zone_en"),
                "countdown": props.get("countdown_s_pikud_haoref_api"),
            }
        )
    made = {
        "info": f'"""GENERATED FILE."""\n\nAREA_INFO: dict[str, dict] = {info!r}\n',
        "shelter": f"AREA_TO_MIGUN_TIME: dict[str, int] = {shelter!r}\n",
        "district": f"AREA_TO_DISTRICT = {district!r}\n",
        "names": json.dumps(cities, ensure_ascii=False),
    }
    sources = {}
    for key, source in ISRAEL_SOURCES.items():
        path = folder / source.repo / source.commit / source.path
        path.parent.mkdir(parents=True, exist_ok=True)
        if key == "polygons":
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("area_to_polygon.json", json.dumps(polygons))
        else:
            path.write_text(made[key], encoding="utf-8")
        sources[key] = replace(source, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    return sources


@pytest.fixture(scope="module")
def israel() -> ZoneSet:
    return load_layer("israel")


def test_the_demo_shows_israels_real_areas_from_the_package_with_no_network() -> None:
    chosen = demo_zone_set("israel")
    assert len(chosen.zones) == ISRAEL_ZONES
    assert chosen.title == "Israel's 1,449 Home Front Command alert areas"
    assert "Home Front Command" in (chosen.zones.attribution or "")
    assert {z.shelter_s for z in chosen.zones.zones} == {0, 15, 30, 45, 60, 90}


def test_the_demo_on_ukraine_shows_its_hromadas() -> None:
    chosen = demo_zone_set("ukraine")
    assert len(chosen.zones) == UKRAINE_HROMADAS
    assert chosen.title == "Ukraine's 1,768 hromadas (shelter 90 s each)"
    assert "© Мінрегіон" in (chosen.zones.attribution or "")


def test_the_demo_takes_the_generated_grid_or_a_zone_file(tmp_path: Path) -> None:
    assert demo_zone_set("generated").layer == "generated"
    exported = tmp_path / "mine.geojson"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "airwarn.cli",
            "zones",
            "export",
            "ukraine-oblasts",
            "--out",
            str(exported),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    chosen = demo_zone_set(str(exported))
    assert len(chosen.zones) == 27 and chosen.layer == "mine"


def test_an_unknown_layer_is_refused_with_the_choices() -> None:
    with pytest.raises(ZoneError, match="israel, ukraine, ukraine-raions, ukraine-oblasts"):
        demo_zone_set("mars")


def test_update_rebuilds_israel_from_its_sources_over_http_checking_each_checksum(
    tmp_path: Path, israel: ZoneSet
) -> None:
    sources = upstream_mirror(tmp_path / "mirror", israel)
    said: list[str] = []
    with data_server(tmp_path / "mirror") as url:
        result = update_israel(url, sources=sources, say=said.append)
    assert [line.split("/")[-1] for line in said] == [
        "area_to_polygon.json.zip",
        "area_info.py",
        "area_to_migun_time.py",
        "area_to_district.py",
        "cities.json",
    ]
    assert all(line.startswith(f"fetching {url}/") for line in said)
    rebuilt = {z.id: z for z in result.zones}
    assert set(rebuilt) == set(israel.ids)
    for zone in israel.zones:
        again = rebuilt[zone.id]
        assert (again.name, again.region, again.shelter_s) == (
            zone.name,
            zone.region,
            zone.shelter_s,
        )


def test_update_reads_a_file_url_or_a_folder_as_well(tmp_path: Path, israel: ZoneSet) -> None:
    sources = upstream_mirror(tmp_path / "mirror", israel)
    by_url = update_israel((tmp_path / "mirror").as_uri(), sources=sources, say=lambda _: None)
    by_path = update_israel(str(tmp_path / "mirror"), sources=sources, say=lambda _: None)
    assert len(by_url.zones) == len(by_path.zones) == ISRAEL_ZONES


def test_a_file_whose_checksum_differs_is_refused_and_nothing_is_kept(
    tmp_path: Path, israel: ZoneSet
) -> None:
    sources = upstream_mirror(tmp_path / "mirror", israel)
    names = sources["names"]
    tampered = tmp_path / "mirror" / names.repo / names.commit / names.path
    tampered.write_text(
        tampered.read_text(encoding="utf-8").replace("Abu Gosh", "Abu G0sh"), encoding="utf-8"
    )
    with (
        data_server(tmp_path / "mirror") as url,
        pytest.raises(
            DownloadError, match=f"cities.json has SHA-256 .*not the expected {names.sha256}"
        ),
    ):
        update_israel(url, sources=sources, say=lambda _: None)


def test_the_real_sources_are_pinned_to_a_commit_with_their_checksums() -> None:
    for source in ISRAEL_SOURCES.values():
        assert len(source.commit) == 40 and len(source.sha256) == 64
        assert source.repo in ("amitfin/oref_alert", "eladnava/pikud-haoref-api")
        assert source.location("https://raw.githubusercontent.com").startswith(
            f"https://raw.githubusercontent.com/{source.repo}/{source.commit}/"
        )


def test_a_missing_file_says_which_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out" / "file.zip"
    target.parent.mkdir()
    with data_server(tmp_path) as url, pytest.raises(DownloadError, match="HTTP 404"):
        fetch(f"{url}/nothing/here.zip", target, say=lambda _: None)
    with pytest.raises(DownloadError, match="no file at"):
        fetch(str(tmp_path / "nothing.zip"), target, say=lambda _: None)
    assert files_in(tmp_path / "out") == []


def test_a_server_that_never_answers_is_given_up_within_seconds(tmp_path: Path) -> None:
    said: list[str] = []
    with silent_server() as url:
        begun = time.monotonic()
        with pytest.raises(DownloadError, match="no answer within 5 s; gave up"):
            fetch(f"{url}/area_info.py", tmp_path / "area_info.py", say=said.append)
        waited = time.monotonic() - begun
    assert said == [f"fetching {url}/area_info.py"]  # said before the wait, not after
    assert waited < 8, waited
    assert files_in(tmp_path) == []


def test_nothing_listening_is_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DownloadError, match="cannot connect"):
        fetch(f"{url}/x", tmp_path / "x", say=lambda _: None)
    assert files_in(tmp_path) == []


def test_a_download_larger_than_a_source_may_be_is_cut_off(tmp_path: Path) -> None:
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "big.bin").write_bytes(b"x" * 300_000)
    (tmp_path / "out").mkdir()
    with data_server(tmp_path / "served") as url, pytest.raises(DownloadError, match="more than"):
        fetch(f"{url}/big.bin", tmp_path / "out" / "big.bin", say=lambda _: None, max_bytes=100_000)
    assert files_in(tmp_path / "out") == []


def test_zones_update_command_writes_a_zone_file_and_compares_it_to_the_shipped_one(
    tmp_path: Path, israel: ZoneSet
) -> None:
    sources = upstream_mirror(tmp_path / "mirror", israel)
    # files made here cannot match the pinned checksums: fetch them as another --ref (one
    # ref names the commit in both repositories)
    ref = "test-ref"
    for source in sources.values():
        moved = tmp_path / "mirror" / source.repo / ref / source.path
        moved.parent.mkdir(parents=True, exist_ok=True)
        moved.write_bytes(
            (tmp_path / "mirror" / source.repo / source.commit / source.path).read_bytes()
        )
    out = tmp_path / "zones-il.geojson"
    with data_server(tmp_path / "mirror") as url:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "airwarn.cli",
                "zones",
                "update",
                "israel",
                "--from",
                url,
                "--ref",
                ref,
                "--out",
                str(out),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": "200"},
        )
    assert result.returncode == 0, result.stderr
    assert f"fetching {url}/amitfin/oref_alert/{ref}/" in result.stderr
    assert "(not checked: --ref test-ref)" in result.stderr
    assert (
        "Against the shipped layer: 0 areas new, 0 gone, 0 with another time to shelter"
        in result.stderr
    )
    assert len(load_zones(out)) == ISRAEL_ZONES
    assert not [p for p in files_in(tmp_path) if "partial" in p.name]


def test_zones_update_refuses_a_layer_it_cannot_rebuild(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "airwarn.cli",
            "zones",
            "update",
            "ukraine",
            "--out",
            str(tmp_path / "x.geojson"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "only israel" in result.stderr
    assert files_in(tmp_path) == []
