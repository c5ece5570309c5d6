"""Calibration of impact regions: where the true impact falls in each region the engine stated.

`PredictionRecorder` wraps a policy and, read-only, notes every new impact estimate the policy
keeps on a rocket's or ballistic missile's `ThreatView.prediction` (the engine is unchanged:
the recorder stands where the policy stands and passes every call through). `coverage` then
measures each estimate against the truth:

- **d**, the Mahalanobis-style distance of the true impact from the region's centre in units
  of its semi-axes: d = sqrt((a / along_m)² + (c / cross_m)²), with a and c the true impact's
  offsets along and across the region's heading. d ≤ 1 is inside the stated region.
- **time to impact** of the estimate: the true impact time less the time of the state the
  estimate comes from (`made_ms`).

The region's semi-axes are K_SIGMA (3.5) standard deviations of the predicted impact (plus half
the spread between the draggiest and sleekest bodies, plus a minimum radius), so the ellipse
scaled by s holds, if the stated uncertainty were exact and Gaussian, a share
1 - exp(-(K_SIGMA s)² / 2) of impacts: the *stated probability*. The observed coverage is the
share of estimates with d ≤ s. Where the observed share is above the stated one the region is
wider than it needs to be (over-cautious, which costs alerted area); below, it is too narrow
(which risks a miss). The spread and minimum radius make the stated figure a lower bound.

Threats intercepted in flight count too: the harder simulator's truth says where they would
have come down (`would_impact`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from airwarn.contract import parse_time
from airwarn.engine.policy import Assessment, Policy, ThreatView
from airwarn.engine.zones import ZoneSet

# Bins of time to impact (s): the first alerts come minutes out, the sharpest estimates seconds.
TIME_BINS_S: tuple[float, ...] = (0.0, 10.0, 30.0, 60.0, 120.0, 300.0, math.inf)
SCALES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0)


def stated_probability(scale: float, k_sigma: float | None = None) -> float:
    """The share of impacts an exact Gaussian region scaled by `scale` holds."""
    if k_sigma is None:
        from airwarn.engine.predict.ballistic import K_SIGMA

        k_sigma = K_SIGMA
    return 1.0 - math.exp(-((k_sigma * scale) ** 2) / 2.0)


class PredictionRecorder:
    """A policy that passes every call to another and notes each new impact estimate."""

    def __init__(self, inner: Policy) -> None:
        self.inner = inner
        self.name = inner.name
        self.estimates: list[tuple[str, Any]] = []  # (threat id, estimate), in order made
        self._last: dict[str, int] = {}

    def assess(self, threat: ThreatView, now_ms: int) -> Assessment:
        found = self.inner.assess(threat, now_ms)
        estimate = getattr(threat, "prediction", None)
        if estimate is not None and self._last.get(threat.id) != id(estimate):
            self._last[threat.id] = id(estimate)
            self.estimates.append((threat.id, estimate))
        return found

    def __getattr__(self, name: str) -> Any:  # anything else a policy may offer the engine
        return getattr(self.inner, name)


@dataclass(frozen=True)
class Coverage:
    """One estimate against the truth."""

    threat: str
    kind: str
    to_impact_s: float  # true impact time - the estimate's state time
    d: float  # true impact in units of the region's semi-axes
    along_m: float
    cross_m: float
    time_error_s: float  # estimated - true impact time
    before_earliest: bool  # the true impact came before the stated earliest time


def coverage(
    zones: ZoneSet, truth: Mapping[str, Any], estimates: Iterable[tuple[str, Any]]
) -> list[Coverage]:
    """Each estimate of a threat whose impact (or would-be impact) the truth knows."""
    rows = {str(r["threat"]): r for r in truth.get("threats") or []}
    out = []
    impacts: dict[str, tuple[float, float, int, str] | None] = {}
    for threat_id, estimate in estimates:
        if threat_id not in impacts:
            row = rows.get(threat_id)
            where = None if row is None else (row.get("impact") or row.get("would_impact"))
            if where is None or row is None:
                impacts[threat_id] = None
            else:
                x, y = zones.projection.to_xy(float(where["lon"]), float(where["lat"]))
                impacts[threat_id] = (x, y, parse_time(where["t"]), str(row.get("kind")))
        found = impacts[threat_id]
        if found is None:
            continue
        x, y, t_ms, kind = found
        dx, dy = x - estimate.x_m, y - estimate.y_m
        s, c = math.sin(estimate.heading_rad), math.cos(estimate.heading_rad)
        along, across = dx * s + dy * c, dx * c - dy * s
        d = math.hypot(along / estimate.along_m, across / estimate.cross_m)
        out.append(
            Coverage(
                threat_id,
                kind,
                (t_ms - estimate.made_ms) / 1000.0,
                d,
                estimate.along_m,
                estimate.cross_m,
                (estimate.t_ms - t_ms) / 1000.0,
                t_ms < estimate.t_earliest_ms,
            )
        )
    return out


def time_bin(to_impact_s: float) -> str:
    """The label of a time-to-impact bin, e.g. '30-60 s'."""
    for lo, hi in zip(TIME_BINS_S, TIME_BINS_S[1:], strict=False):
        if to_impact_s < hi:
            return f"{lo:.0f}+ s" if hi == math.inf else f"{lo:.0f}-{hi:.0f} s"
    return f"{TIME_BINS_S[-2]:.0f}+ s"


def bin_labels() -> list[str]:
    return [time_bin(lo) for lo in TIME_BINS_S[:-1]]


def summarise(ds: Sequence[float]) -> dict[str, Any]:
    """Count, median d, share inside the region and the observed share at each scale."""
    values = np.asarray(ds, dtype=float)
    if not len(values):
        return {"n": 0}
    return {
        "n": int(len(values)),
        "d_median": float(np.median(values)),
        "d_p95": float(np.percentile(values, 95)),
        "inside": float(np.mean(values <= 1.0)),
        "observed": {f"{s:g}": float(np.mean(values <= s)) for s in SCALES},
    }
