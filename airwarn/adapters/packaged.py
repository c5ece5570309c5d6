"""Moved: `airwarn.layers.packaged` (see `airwarn.adapters`)."""

from airwarn.layers.packaged import GENERATED, LAYERS, packaged_layer, resolve_zones

__all__ = ["GENERATED", "LAYERS", "packaged_layer", "resolve_zones"]
