"""Moved: `airwarn.layers.israel` (see `airwarn.adapters`)."""

from airwarn.layers.israel import import_israel

__all__ = ["import_israel"]
