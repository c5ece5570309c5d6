"""Moved: `airwarn.layers.ukraine` (see `airwarn.adapters`)."""

from airwarn.layers.ukraine import import_ukraine

__all__ = ["import_ukraine"]
