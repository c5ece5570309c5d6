"""Could a rocket's end, by its time alone, free the zones of its last region it could not
have come down in then? (A measured idea, not in the engine: BENCHMARKS.md, "Tried and
dropped".)

    python bench/rocket_end_band.py --country israel --cell sparse-60 --seeds 3
    python bench/rocket_end_band.py --cell sparse-30 --after-s 5 --before-s 5 --margin-m 500

An `end` with reason `impact` carries a time, no place. Where the engine's last state of the
rocket could have come down *at that time* is narrower than its last impact region: bodies of
every plausible drag land apart in time as well as in place, and so do the errors of height
and climb rate. For each rocket of the cached sweep raids that ends by impact, the last state
is flown to the ground for bodies from the sleekest to the draggiest and, for the nominal
drag, with each axis of the state's error (1 sigma either way); the impact's place and time
are taken as jointly normal in that error, conditioned on an impact between `--after-s`
before the end's time (an end told late) and `--before-s` after it (an end told at the
sensor's last contact, before the hit), and drawn at the engine's 3.5 sigma, grown by
`--margin-m` (a sensor's bias the state cannot see). Prints how many true impacts fell outside
that band, how many zones hit it would have cut from their hold, and the area of the zones
the engine holds at the end against those the band meets.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sweep import RESULTS, _sim_version, raid, zone_set  # noqa: E402

from airwarn.contract import End, parse_event, to_ms  # noqa: E402
from airwarn.engine import Engine, physics  # noqa: E402
from airwarn.engine.predict.ballistic import K_SIGMA  # noqa: E402
from airwarn.engine.projection import LocalProjection  # noqa: E402
from airwarn.engine.tracks import BallisticTrack  # noqa: E402
from airwarn.sim.conditions import CELLS  # noqa: E402

_RING = np.linspace(0.0, 2.0 * math.pi, 24, endpoint=False)


def _impact(state: np.ndarray, kappa: float, projection: LocalProjection) -> np.ndarray | None:
    """(x m, y m, fall s) of a body flown from the state with this inverse ballistic coefficient."""
    r = (float(state[0]), float(state[1]), float(state[2]))
    v = (float(state[3]), float(state[4]), float(state[5]))
    impact = physics.fly(r, v, 0.0, 1.0 / kappa, max_s=3600.0).impact
    if impact is None:
        return None
    x, y = projection.to_xy(impact.lon, impact.lat)
    return np.array([x, y, impact.t_s])


def band(
    track: BallisticTrack,
    projection: LocalProjection,
    end_ms: int,
    after_s: float,
    before_s: float,
    margin_m: float,
) -> shapely.Geometry | None:
    """Where the track's last state could have come down with its impact in [end - after_s,
    end + before_s], in local metres; None when a body does not come down."""
    x = track.x.astype(float)
    P = track.covariance
    nominal = float(x[6])
    # the joint error of (x, y, fall time) from the state's error, by its principal axes
    values, vectors = np.linalg.eigh(P[:6, :6])
    S = np.zeros((3, 3))
    for value, vector in zip(values.tolist(), vectors.T, strict=True):
        if value <= 0:
            continue
        step = vector * math.sqrt(value)
        up = _impact(x[:6] + step, nominal, projection)
        down = _impact(x[:6] - step, nominal, projection)
        if up is None or down is None:
            return None
        column = (up - down) / 2.0
        S += np.outer(column, column)
    t_var = max(float(S[2, 2]), 1e-9)
    gain = S[:2, 2] / t_var
    conditioned = S[:2, :2] - np.outer(S[:2, 2], S[:2, 2]) / t_var
    w, V = np.linalg.eigh(conditioned)
    ellipse = (
        V @ (np.sqrt(np.clip(w, 0, None))[:, None] * np.stack([np.cos(_RING), np.sin(_RING)]))
    ) * K_SIGMA
    t_sigma = math.sqrt(t_var)
    low_s = (end_ms - track.t_ms) / 1000.0 - after_s
    high_s = (end_ms - track.t_ms) / 1000.0 + before_s
    sleek, draggy = track.kappa_range(K_SIGMA)
    bodies = [_impact(x, kappa, projection) for kappa in np.geomspace(sleek, draggy, 7).tolist()]
    if any(b is None for b in bodies):
        return None
    points = []
    for a, b in zip(bodies, bodies[1:], strict=False):
        assert a is not None and b is not None
        for share in (0.0, 1 / 3, 2 / 3, 1.0):
            body = a + share * (b - a)
            # a body counts if its impact time, moved by the state's error, meets the window
            if body[2] + K_SIGMA * t_sigma < low_s or body[2] - K_SIGMA * t_sigma > high_s:
                continue
            for t in (low_s, high_s):
                dt = max(-K_SIGMA * t_sigma, min(K_SIGMA * t_sigma, t - body[2]))
                centre = body[:2] + gain * dt
                points.append(centre[:, None] + ellipse)
    if not points:
        return shapely.Polygon()
    hull = shapely.MultiPoint(np.concatenate(points, axis=1).T).convex_hull
    return hull.buffer(margin_m)


def _ends(country: str, cell: str, seeds: int):
    """Each rocket that ends by impact in the cached raids of a cell: the zones, its track and
    the zones it holds just before its end, the end's time (ms) and its true impact."""
    conditions = CELLS[cell]
    zones = zone_set(country, None if conditions is None else conditions.shelter_s)
    for seed in range(1, seeds + 1):
        lines, truth = raid(country, "rockets", cell, seed, RESULTS / "sweep-cache", _sim_version())
        impacts = {t["threat"]: t["impact"] for t in truth["threats"] if t.get("impact")}
        engine = Engine(zones)
        for line in lines:
            event = parse_event(line)
            threat = engine._threats.get(getattr(event, "threat", ""))
            if isinstance(event, End) and event.reason == "impact" and threat is not None:
                track = threat.view.track
                impact = impacts.get(event.threat)
                assert isinstance(track, BallisticTrack)
                if impact is not None and track.velocity_known:
                    yield zones, track, sorted(threat.alert_seen_ms), to_ms(event.t), impact
            engine.apply(event)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--country", choices=["israel", "ukraine"], default="israel")
    parser.add_argument("--cell", choices=list(CELLS), action="append")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 1..N of each cell")
    parser.add_argument("--after-s", type=float, default=10.0, help="an end told this late")
    parser.add_argument("--before-s", type=float, default=5.0, help="an end told this early")
    parser.add_argument("--margin-m", type=float, default=1500.0, help="a bias unseen")
    args = parser.parse_args()
    print(
        "| cell | rockets ended by impact | truth outside the band | zones hit cut | held km² "
        "at the end: engine → the band's |"
    )
    print("|---|---|---|---|---|")
    for cell in args.cell or ["honest", "sparse-30", "sparse-60"]:
        rockets = outside = cut = 0
        held_km2 = kept_km2 = 0.0
        for zones, track, held, end_ms, impact in _ends(args.country, cell, args.seeds):
            region = band(
                track, zones.projection, end_ms, args.after_s, args.before_s, args.margin_m
            )
            kept = (
                held
                if region is None
                else [z for z in held if zones.shapes_m[z].intersects(region)]
            )
            x, y = zones.projection.to_xy(impact["lon"], impact["lat"])
            rockets += 1
            outside += region is not None and not region.contains(shapely.Point(x, y))
            hit = zones.zone_at(impact["lon"], impact["lat"])
            cut += hit is not None and hit in held and hit not in kept
            held_km2 += sum(float(zones.area_km2[z]) for z in held)
            kept_km2 += sum(float(zones.area_km2[z]) for z in kept)
        share = f" ({kept_km2 / held_km2 - 1:+.1%})" if held_km2 else ""
        print(
            f"| {cell} | {rockets} | {outside} | {cut} | {held_km2:.1f} → {kept_km2:.1f}{share} |"
        )


if __name__ == "__main__":
    main()
