"""Real zone layers for the demo: downloaded once from a public mirror, imported, and cached.

Real layers cannot ship in the repository (their licences and size). The demo fetches one from
a server that holds the same layout as `../shared/data` (`israel/israel_alert_areas.geojson`,
`ukraine/ua_hromadas.geojson`), imports it with the same adapter as `airwarn zones import`, and
keeps both the source file and the canonical zone file in a cache, so later runs need no
network. Nothing half-downloaded or half-imported is ever left in the cache: each file is
written beside its final name and moved into place only once the import has succeeded.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from airwarn.adapters.israel import import_israel
from airwarn.adapters.report import ImportResult
from airwarn.adapters.ukraine import import_ukraine
from airwarn.errors import AirwarnError
from airwarn.zones import ZoneSet, load_zones, write_zones

# The public mirror of the data set, laid out like ../shared/data. It is a placeholder that has
# not been verified from the machine this was written on (it reaches no web site); point
# --data-url at any server holding the same layout, e.g. `python -m http.server` in a copy of
# the data folder.
DEFAULT_DATA_URL = "https://airwarn.github.io/airwarn-data"
TIMEOUT_S = 30.0
MIN_BYTES = 1_000  # a real layer is megabytes; less is an error page or a truncated file
MAX_BYTES = 200 * 1024 * 1024
UKRAINE_SHELTER_S = 90  # Ukraine's layers carry no time to shelter; 90 s, as in the README


@dataclass(frozen=True)
class Layer:
    """A real layer the demo can use: where it lives under the data URL, and its import."""

    name: str
    path: str  # relative to the data URL
    title: str
    importer: Callable[[Path], ImportResult]


LAYERS: dict[str, Layer] = {
    "israel": Layer("israel", "israel/israel_alert_areas.geojson",
                    "Israel's Home Front Command alert areas", import_israel),
    "ukraine": Layer("ukraine", "ukraine/ua_hromadas.geojson",
                     f"Ukraine's hromadas (shelter {UKRAINE_SHELTER_S} s)",
                     lambda path: import_ukraine(path, "hromada", UKRAINE_SHELTER_S)),
}


class LayerError(AirwarnError):
    """A layer could not be downloaded or imported; the message says why in a few words."""


def layer_url(name: str, data_url: str) -> str:
    return f"{data_url.rstrip('/')}/{_layer(name).path}"


def cached_zones(name: str, cache_dir: Path) -> Path:
    """Where the canonical zone file of a layer is cached (it may not exist yet)."""
    return cache_dir / name / "zones.geojson"


def fetch_layer(name: str, data_url: str, cache_dir: Path, progress: Console | None = None
                ) -> Path:
    """The canonical zone file for layer `name`: from the cache, else downloaded and imported.

    `progress` is the console (stderr) to draw a download bar on when it is a terminal.
    Raises `LayerError` when the layer cannot be had; the cache then holds nothing new.
    """
    layer = _layer(name)
    zones_path = cached_zones(name, cache_dir)
    if zones_path.is_file():
        return zones_path
    folder = zones_path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LayerError(f"cannot make the cache folder {folder}: {error.strerror}") from None
    source = folder / Path(layer.path).name
    if not source.is_file():
        _download(layer_url(name, data_url), source, progress)
    _import(layer, source, zones_path)
    return zones_path


def _layer(name: str) -> Layer:
    if name not in LAYERS:
        raise LayerError(f"unknown layer {name!r}: choose one of {', '.join(LAYERS)}")
    return LAYERS[name]


def _download(url: str, target: Path, progress: Console | None) -> None:
    """Stream `url` into `target`, atomically: a temporary file, moved into place at the end."""
    fd, partial_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".partial",
                                        dir=target.parent)
    partial = Path(partial_name)
    try:
        with os.fdopen(fd, "wb") as sink:
            _stream(url, sink, progress)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _stream(url: str, sink: BinaryIO, progress: Console | None) -> None:
    try:
        with httpx.stream("GET", url, timeout=TIMEOUT_S, follow_redirects=True) as response:
            if response.status_code != 200:
                raise LayerError(f"HTTP {response.status_code} {response.reason_phrase}")
            declared = response.headers.get("content-length")
            total = int(declared) if declared and declared.isdigit() else None
            if total is not None and total > MAX_BYTES:
                raise LayerError(f"the server offers {total:,} bytes, more than the "
                                 f"{MAX_BYTES:,} a layer may have")
            bar = Progress("[progress.description]{task.description}", BarColumn(),
                           DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                           console=progress, transient=True,
                           disable=progress is None or not progress.is_terminal)
            received = 0
            with bar:
                task = bar.add_task(f"downloading {url.rsplit('/', 1)[-1]}", total=total)
                for chunk in response.iter_bytes():
                    received += len(chunk)
                    if received > MAX_BYTES:
                        raise LayerError(f"the download passed {MAX_BYTES:,} bytes, more than "
                                         "a layer may have")
                    sink.write(chunk)
                    bar.advance(task, len(chunk))
    except httpx.TimeoutException:
        raise LayerError(f"no answer within {TIMEOUT_S:.0f} s") from None
    except httpx.HTTPError as error:
        raise LayerError(_reason(error)) from None
    except OSError as error:
        raise LayerError(f"cannot write the cache: {error.strerror}") from None
    if total is not None and received != total:
        raise LayerError(f"the download stopped after {received:,} of {total:,} bytes")
    if received < MIN_BYTES:
        raise LayerError(f"only {received:,} bytes, too few for a zone layer")


def _reason(error: httpx.HTTPError) -> str:
    """A few words for a network failure (httpx's messages can run to several lines)."""
    text = str(error).strip().splitlines()
    detail = text[-1] if text else ""
    kind = "cannot connect" if isinstance(error, httpx.ConnectError) else type(error).__name__
    return f"{kind}: {detail}" if detail else kind


def _import(layer: Layer, source: Path, zones_path: Path) -> None:
    """Import the source layer into a canonical zone file, checked by reading it back.

    A source file that fails to import is removed, so that the next run downloads it again
    instead of failing on the same broken copy."""
    partial = zones_path.with_name(zones_path.name + ".partial")
    try:
        result = layer.importer(source)
        write_zones(result.zones, partial)
        load_zones(partial)
        os.replace(partial, zones_path)
    except AirwarnError as error:
        source.unlink(missing_ok=True)
        raise LayerError(f"{source.name} is not a usable layer: {_one_line(error)}") from None
    except OSError as error:
        raise LayerError(f"cannot write the cache: {error.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 160 else text[:157] + "..."


@dataclass(frozen=True)
class DemoZones:
    """The zone set the demo runs on, and a line saying where it came from."""

    zones: ZoneSet
    source: str
    layer: str  # israel, ukraine or generated
    path: Path | None = None  # the canonical zone file; None for the generated set


def demo_zone_set(layer: str, data_url: str, cache_dir: Path, *, offline: bool = False,
                  err: Console | None = None) -> DemoZones:
    """The demo's zones: the layer (cached, or downloaded unless `offline`), else the
    generated set, with a one-line reason on `err` when a wanted layer could not be had."""
    from airwarn.sim.demo_zones import demo_zones

    def generated(reason: str | None) -> DemoZones:
        if reason is not None and err is not None:
            err.print(f"[yellow]{reason}; using the generated zone set[/]", highlight=False,
                      soft_wrap=True)
        zones = ZoneSet(demo_zones())
        return DemoZones(zones, f"{len(zones)} generated zones (no real layer)", "generated",
                         None)

    if layer == "generated":
        return generated(None)
    title = _layer(layer).title
    cached = cached_zones(layer, cache_dir)
    if offline and not cached.is_file():
        return generated(f"--offline and no cached {layer} layer in {cache_dir}")
    url = layer_url(layer, data_url)
    was_cached = cached.is_file()
    try:
        path = fetch_layer(layer, data_url, cache_dir, err)
        zones = load_zones(path)
    except LayerError as error:
        return generated(f"could not download {url} ({error})")
    except AirwarnError as error:  # a cached zone file that no longer loads
        cached.unlink(missing_ok=True)
        return generated(f"the cached {layer} zones in {cached} do not load "
                         f"({_one_line(error)}), removed them")
    how = "from the cache" if was_cached else f"downloaded from {url}, cached"
    return DemoZones(zones, f"{len(zones)} zones: {title} ({how} in {path.parent})", layer,
                     path)
