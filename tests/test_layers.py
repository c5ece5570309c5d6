"""The demo's real layers: downloaded once from a data server, imported, cached; any failure
falls back to the generated zones with a one-line reason and leaves nothing half-written.

The data server is a real HTTP server on this machine serving ../shared/data (the same layout
as the public mirror), or a temporary folder holding a broken copy.
"""

from __future__ import annotations

import contextlib
import functools
import io
import socket
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rich.console import Console

from airwarn.sim import layers
from airwarn.sim.layers import LayerError, demo_zone_set, fetch_layer
from airwarn.zones import load_zones

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not (DATA / "israel").is_dir(),
                                reason=f"the real layers are not in {DATA}")
ISRAEL_ZONES = 1_449  # the importer's count for israel_alert_areas.geojson (all areas valid)
UKRAINE_HROMADAS = 1_768  # the importer's count for ua_hromadas.geojson at hromada level


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def messages() -> tuple[Console, io.StringIO]:
    text = io.StringIO()
    return Console(file=text, width=300, color_system=None), text


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@needs_data
def test_first_run_downloads_and_imports_israel_then_the_cache_serves_without_network(
        tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with data_server(DATA) as url:
        path = fetch_layer("israel", url, cache)
    zones = load_zones(path)
    assert len(zones) == ISRAEL_ZONES
    assert path == cache / "israel" / "zones.geojson"
    source = cache / "israel" / "israel_alert_areas.geojson"
    assert source.read_bytes() == (DATA / "israel" / "israel_alert_areas.geojson").read_bytes()
    assert not [p for p in files_in(cache) if "partial" in p.name]

    # the server is gone: the cache alone answers, for fetch_layer and for the demo
    assert fetch_layer("israel", url, cache) == path
    err, text = messages()
    chosen = demo_zone_set("israel", url, cache, err=err)
    assert chosen.layer == "israel" and len(chosen.zones) == ISRAEL_ZONES
    assert chosen.path == path
    assert "from the cache" in chosen.source
    assert text.getvalue() == ""


@needs_data
def test_ukraine_layer_becomes_hromada_zones_with_the_default_shelter_time(
        tmp_path: Path) -> None:
    with data_server(DATA) as url:
        chosen = demo_zone_set("ukraine", url, tmp_path, err=messages()[0])
    assert chosen.layer == "ukraine"
    assert len(chosen.zones) == UKRAINE_HROMADAS
    assert {z.shelter_s for z in chosen.zones.zones} == {layers.UKRAINE_SHELTER_S}
    assert "downloaded from" in chosen.source


def test_missing_layer_404_falls_back_to_generated_zones_with_the_reason(
        tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    cache = tmp_path / "cache"
    err, text = messages()
    with data_server(empty) as url:
        chosen = demo_zone_set("israel", url, cache, err=err)
    assert chosen.layer == "generated" and chosen.path is None
    line = text.getvalue()
    assert line.count("\n") == 1
    assert f"could not download {url}/israel/israel_alert_areas.geojson" in line
    assert "HTTP 404" in line
    assert line.rstrip().endswith("using the generated zone set")
    assert files_in(cache) == []


def test_unreachable_server_falls_back_to_generated_zones(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    err, text = messages()
    chosen = demo_zone_set("ukraine", url, tmp_path / "cache", err=err)
    assert chosen.layer == "generated"
    assert "could not download" in text.getvalue()
    assert "cannot connect" in text.getvalue()
    assert "using the generated zone set" in text.getvalue()
    assert files_in(tmp_path / "cache") == []


@needs_data
@pytest.mark.parametrize("broken", ["truncated", "html", "no features"])
def test_corrupt_layer_falls_back_and_leaves_no_half_written_cache_file(
        tmp_path: Path, broken: str) -> None:
    real = (DATA / "israel" / "israel_alert_areas.geojson").read_bytes()
    body = {
        "truncated": real[: len(real) // 2],
        "html": b"<html><body>" + b"Service temporarily unavailable. " * 100 + b"</body></html>",
        "no features": b'{"type": "FeatureCollection", "features": []}' + b" " * 2000,
    }[broken]
    served = tmp_path / "mirror"
    (served / "israel").mkdir(parents=True)
    (served / "israel" / "israel_alert_areas.geojson").write_bytes(body)
    cache = tmp_path / "cache"
    err, text = messages()
    with data_server(served) as url:
        with pytest.raises(LayerError, match="not a usable layer"):
            fetch_layer("israel", url, cache)
        assert files_in(cache) == []
        chosen = demo_zone_set("israel", url, cache, err=err)
    assert chosen.layer == "generated"
    assert "is not a usable layer" in text.getvalue()
    assert "using the generated zone set" in text.getvalue()
    assert files_in(cache) == []


@needs_data
def test_a_download_larger_than_a_layer_may_be_is_cut_off(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setattr(layers, "MAX_BYTES", 100_000)
    with data_server(DATA) as url, pytest.raises(LayerError, match="more than"):
        fetch_layer("israel", url, tmp_path)
    assert files_in(tmp_path) == []


def test_offline_without_a_cached_layer_uses_the_generated_zones(tmp_path: Path) -> None:
    err, text = messages()
    # an address that would fail loudly if it were tried
    chosen = demo_zone_set("israel", "http://127.0.0.1:9", tmp_path, offline=True, err=err)
    assert chosen.layer == "generated"
    assert "--offline" in text.getvalue() and "could not download" not in text.getvalue()


def test_unknown_layer_is_refused() -> None:
    with pytest.raises(LayerError, match="unknown layer 'mars'"):
        fetch_layer("mars", "http://127.0.0.1:9", Path("unused"))
