"""The zone sets the demo runs on: the real layers shipped in the package, or made-up ones.

Israel's Home Front Command areas and Ukraine's hromadas, raions and oblasts ship inside the
package (see `airwarn.layers.packaged`), so the demo shows real zones with no network and no
download. `generated` is a made-up hexagon grid, and any zone file can be given instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from airwarn.engine.zones import ZoneSet
from airwarn.layers.packaged import GENERATED, LAYERS, packaged_layer, resolve_zones

# the demo's layer names: the shipped layers, and the generated grid
CHOICES = (*LAYERS, GENERATED)


@dataclass(frozen=True)
class DemoZones:
    """The zone set the demo runs on, a phrase saying what it is, and a short name for its
    store's folder."""

    zones: ZoneSet
    title: str  # e.g. "Israel's 1,449 Home Front Command alert areas"
    layer: str  # a shipped layer's name, generated, or the zone file's stem


def demo_zone_set(layer: str) -> DemoZones:
    """The demo's zones: a shipped layer by name, `generated`, or a zone file's path.
    Raises ZoneError (with the choices) for anything else."""
    zones = resolve_zones(layer)
    count = f"{len(zones):,}"
    if layer in LAYERS and not Path(layer).exists():
        title = packaged_layer(layer).title.replace("'s ", f"'s {count} ", 1)
        if packaged_layer(layer).shelter_s is not None:
            title += f" (shelter {packaged_layer(layer).shelter_s} s each)"
        return DemoZones(zones, title, layer)
    if layer == GENERATED and not Path(layer).exists():
        return DemoZones(zones, f"{count} made-up hexagonal zones (not a real place's)", GENERATED)
    name = Path(layer).name.split(".")[0] or "zones"
    return DemoZones(zones, f"the {count} zones of {layer}", name)
