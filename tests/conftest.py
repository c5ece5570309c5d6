"""Shared fixtures: small hand-made zone sets, event builders, and the real data folder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from airwarn.contract import parse_event
from airwarn.zones import ZoneSet, zones_from_geojson

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SCHEMAS = Path(__file__).resolve().parents[1].parent / "shared" / "schemas"
T0 = datetime(2026, 3, 1, 18, 0, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    """RFC 3339 time `seconds` after T0."""
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def grid_zones(
    rows: int = 6, cols: int = 6, lon0: float = 34.6, lat0: float = 31.4, step: float = 0.05,
    shelter_s: int = 60, regions: int = 2,
) -> dict[str, Any]:
    """A rows x cols grid of square zones (ids `r{row}c{col}`), split into `regions` bands."""
    features = []
    for r in range(rows):
        for c in range(cols):
            x0, y0 = lon0 + c * step, lat0 + r * step
            ring = [[x0, y0], [x0 + step, y0], [x0 + step, y0 + step], [x0, y0 + step], [x0, y0]]
            features.append({
                "type": "Feature",
                "properties": {"id": f"r{r}c{c}", "shelter_s": shelter_s,
                               "name": f"Zone {r}-{c}", "region": f"band{c * regions // cols}"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            })
    return {"type": "FeatureCollection", "features": features}


@pytest.fixture(scope="session")
def grid() -> ZoneSet:
    return zones_from_geojson(grid_zones())


def track(threat: str, t: float, lat: float, lon: float, kind: str = "drone", **extra: Any):
    body = {"type": "track", "threat": threat, "kind": kind, "t": at(t), "lat": lat, "lon": lon}
    body.update(extra)
    return parse_event(_json(body))


def end(threat: str, t: float, reason: str = "impact"):
    return parse_event(_json({"type": "end", "threat": threat, "t": at(t), "reason": reason}))


def manual(action: str, t: float, zones: list[str] | None = None, region: str | None = None,
           **extra: Any):
    body: dict[str, Any] = {"type": "manual", "action": action, "t": at(t), "by": "op-1"}
    if zones is not None:
        body["zones"] = zones
    if region is not None:
        body["region"] = region
    body.update(extra)
    return parse_event(_json(body))


def tick(t: float):
    return parse_event(_json({"type": "tick", "t": at(t)}))


def _json(body: dict[str, Any]) -> bytes:
    import msgspec

    return msgspec.json.encode(body)


def require_data(*parts: str) -> Path:
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not found at {path} (the shared data folder is beside the repo)")
    return path
