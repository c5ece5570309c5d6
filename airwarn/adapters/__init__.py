"""Moved to `airwarn.layers` (zone-layer importers). These re-exports stay only until
`airwarn/sim/layers.py` and `bench/sweep.py`, being changed elsewhere now, import the new
name; then this package goes."""
