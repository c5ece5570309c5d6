"""Alert history: import real alert histories, attach them to canonical zones, measure alert
fatigue, and show it.

Modules, one concept each: `records` (what an import produces), `places` (the canonical zones
of each country, through `airwarn.layers`), `matching` (names and aliases to zones),
`ukraine` and `israel` (one importer per source format), `imports` (writing an import to the
store, idempotently), `stats` (statistics per zone, region and period), `fatigue` (the
comparisons the data supports), `report` (the offline HTML report) and `export` (CSV, Parquet).
"""
