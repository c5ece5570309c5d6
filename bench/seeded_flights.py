"""Seeded flights of drones and cruise missiles through the engine: how far ahead of each zone
the threat truly enters it was alerted, beyond the zone's shelter time (the margin; < 0: late).

    python bench/seeded_flights.py OUT.jsonl SEED0 NSEEDS [KINDS] [MIXES] [STYLES] [VARIANT]
    # the surge flights of docs/engine.md, "A report overdue" (this tree, then a worktree):
    python bench/seeded_flights.py /tmp/surge.jsonl 0 10 cruise,drone \
        1s_sil,5s_sil,10s_sil,20s_sil,abrupt_sil,burst_sil surge honest
    PYTHONPATH=<worktree> python bench/seeded_flights.py /tmp/surge-before.jsonl 0 10 ...
    # within the kinds' envelopes, every report timing:
    python bench/seeded_flights.py /tmp/man.jsonl 0 20 drone,cruise \
        1s,2s,rand1_40,1s_silences,abrupt,bursts,stop,jitter man,dash honest

Its own world, apart from `airwarn.sim`: a grid of square zones (a drone's 0.02°, a cruise
missile's 0.05°) with shelter times of 30, 60 or 90 s; each flight is flown at 0.1 s steps
from 120 s west of the grid, heading east-ish. Styles: `straight`; `man` (turns at up to the
kind's turn rate towards new headings, and speed changes within its dash); `dash` (the same,
always dashing); `surge` (flying near its kind's slowest and, through each silence of its
sensor longer than 15 s, speeding up at its kind's acceleration to its kind's ceiling).
Report timings (MIXES): every 1 or 2 s, random 1-40 s, runs of 1 s with silences, an abrupt
change of cadence, bursts, a stop, jitter; `Ns_sil`, `abrupt_sil`, `burst_sil`: runs every N
s, of 1 s then one report 20-60 s later, or bursts, each followed by a silence of 30-150 s.
VARIANT: `honest`, `under3` and `under10` (errors 3 and 10 times the stated sigma), `late`
(30 % of reports delivered up to 20 s late), `latency5`, `latency10` (positions that many
seconds old), `sig300`, `novel` (no velocity). Zones entered within their shelter time (and
20 s) of the start, or after the last report plus the kind's timeout, are left out. Writes one
JSON line per flight and prints, per kind, timing and style: zone entries, late, alerted less
than the shelter time and 5 s ahead while reported, and the least margin.
"""

from __future__ import annotations

import json
import math
import random
import sys
from datetime import UTC, datetime, timedelta

import msgspec
import numpy as np
import shapely

from airwarn.contract import parse_event, parse_time
from airwarn.engine import Engine
from airwarn.engine.threat_kinds import PROFILES
from airwarn.engine.zones import zones_from_geojson

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(s: float) -> str:
    return (T0 + timedelta(seconds=s)).isoformat().replace("+00:00", "Z")


def ev(body):
    return parse_event(msgspec.json.encode(body))


GRIDS = {}


def grid_for(kind):
    if kind in GRIDS:
        return GRIDS[kind]
    step = 0.02 if kind == "drone" else 0.05
    n = 30 if kind == "drone" else 40
    lon0, lat0 = 34.6, 31.4
    rng = random.Random(7)
    feats = []
    for r in range(n):
        for c in range(n):
            x0, y0 = lon0 + c * step, lat0 + r * step
            ring = [[x0, y0], [x0 + step, y0], [x0 + step, y0 + step], [x0, y0 + step], [x0, y0]]
            feats.append(
                {
                    "type": "Feature",
                    "properties": {
                        "id": f"r{r}c{c}",
                        "shelter_s": rng.choice([30, 60, 90]),
                        "name": "z",
                    },
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
            )
    zs = zones_from_geojson({"type": "FeatureCollection", "features": feats})
    GRIDS[kind] = (zs, lon0, lat0, step, n)
    return GRIDS[kind]


def fly(rng, kind, duration_s, style, surges=()):
    """Truth at 0.1 s: arrays t, x, y, vx, vy (local metres from the grid centre)."""
    p = PROFILES[kind]
    lo = p.speed_min_mps + 0.3 * (p.speed_max_mps - p.speed_min_mps)
    v0 = rng.uniform(lo, p.speed_max_mps)
    cap = p.dash_factor * v0
    if style == "surge":
        v0 = rng.uniform(
            p.speed_min_mps, p.speed_min_mps + 0.1 * (p.speed_max_mps - p.speed_min_mps)
        )
        cap = p.dash_factor * p.speed_max_mps
    if style == "slowfast":
        v0 = rng.uniform(p.speed_min_mps, 0.7 * p.speed_max_mps)
        cap = p.dash_factor * p.speed_max_mps
    omega_max = math.radians(p.turn_rate_dps)
    zs, lon0, lat0, step, n = grid_for(kind)
    half_m = n * step * 95_000 / 2
    # start 120 s of flight west of the grid's west edge, somewhere along it, heading east-ish
    x = -half_m - 60 * v0
    y = rng.uniform(-0.5, 0.5) * half_m
    heading = math.pi / 2 + rng.uniform(-0.3, 0.3)
    v = v0
    dt = 0.1
    T, X, Y, VX, VY = [], [], [], [], []
    t = 0.0
    seg_end, omega, target_v = 0.0, 0.0, v0
    goal = heading
    spd_end = 0.0
    while t <= duration_s:
        if style != "straight":
            if t >= seg_end and abs(goal - heading) < 1e-9:
                # a new heading goal (east-ish overall), then fly to it at a turn rate
                goal = math.pi / 2 + rng.uniform(-1.6, 1.6)
                rate = omega_max * (1.0 if rng.random() < 0.6 else rng.uniform(0.3, 1.0))
                omega = rate if goal > heading else -rate
                seg_end = t + rng.uniform(3, 40)
            if style == "surge":
                target_v = cap if any(a <= t < b for a, b in surges) else v0
            elif t >= spd_end:
                target_v = cap if (style in ("dash", "slowfast") or rng.random() < 0.5) else v0
                spd_end = t + rng.uniform(10, 60)
        # turn towards the goal, stopping on it
        if omega and (
            (omega > 0 and heading + omega * dt >= goal)
            or (omega < 0 and heading + omega * dt <= goal)
        ):
            heading_next = goal
            omega_now = 0.0
        else:
            heading_next = heading + omega * dt
            omega_now = omega
        T.append(t)
        X.append(x)
        Y.append(y)
        VX.append(v * math.sin(heading))
        VY.append(v * math.cos(heading))
        # step
        if v < target_v:
            v = min(target_v, v + p.accel_mps2 * dt)
        elif v > target_v:
            v = max(target_v, v - p.accel_mps2 * dt)
        heading = heading_next
        if not omega_now:
            omega = 0.0
        x += v * math.sin(heading) * dt
        y += v * math.cos(heading) * dt
        t = round(t + dt, 1)
    return np.array(T), np.array(X), np.array(Y), np.array(VX), np.array(VY)


def report_times(rng, mix, duration_s):
    out, t = [], 0.0
    while t < duration_s:
        if mix == "1s":
            out.append(t)
            t += 1.0
        elif mix == "2s":
            out.append(t)
            t += 2.0
        elif mix == "rand1_40":
            out.append(t)
            t += rng.uniform(1, 40)
        elif mix == "1s_silences":
            for _ in range(rng.randint(5, 60)):
                out.append(t)
                t += 1.0
            t += rng.uniform(10, 170) - 1.0
        elif mix == "abrupt":
            for _ in range(rng.randint(20, 120)):
                out.append(t)
                t += 1.0
            for _ in range(rng.randint(1, 4)):
                t += 59.0
                out.append(t)
                t += 1.0
        elif mix == "bursts":
            for _ in range(rng.randint(2, 5)):
                out.append(t)
                t += rng.uniform(0.001, 0.1)
            t += rng.uniform(5, 60)
        elif mix.endswith("s_sil"):
            step = float(mix[:-5])
            for _ in range(rng.randint(3, 15)):
                out.append(t)
                t += step
            t += rng.uniform(30, 150) - step
        elif mix == "abrupt_sil":
            for _ in range(rng.randint(20, 60)):
                out.append(t)
                t += 1.0
            t += rng.uniform(20, 60) - 1.0
            out.append(t)
            t += rng.uniform(40, 150)
        elif mix == "burst_sil":
            for _ in range(rng.randint(2, 5)):
                out.append(t)
                t += rng.uniform(0.001, 0.1)
            t += rng.uniform(20, 90)
        elif mix == "stop":
            stop = rng.uniform(60, 400)
            while t < stop:
                out.append(t)
                t += 1.0
            break
        elif mix == "jitter":
            out.append(t)
            t += rng.choice([0.05, 1.0, 1.0, 3.0, 7.0, 15.0, 30.0])
    return [round(s, 3) for s in out if s < duration_s]


def run_flight(
    seed,
    kind,
    mix,
    style,
    sigma=100.0,
    with_vel=True,
    late=False,
    duration_s=600.0,
    err_mult=1.0,
    latency_s=0.0,
):
    """One flight through a fresh engine: per zone entry (zone, entry s, shelter s, margin s,
    whether after the last report), and the alerted zone-hours."""
    rng = random.Random(seed)
    zs, lon0, lat0, step, n = grid_for(kind)
    rng2 = random.Random(seed * 7919 + 1)
    times = report_times(rng2, mix, duration_s)
    surges = []
    for a, b in zip(times, [*times[1:], duration_s + 1], strict=True):
        if b - a > 15:
            surges.append((a, b))
    T, X, Y, VX, VY = fly(rng, kind, duration_s, style, surges)
    proj = zs.projection
    lonlat = shapely.get_coordinates(
        proj.geometry_to_lonlat(shapely.multipoints(np.column_stack([X, Y])))
    )
    lon_all, lat_all = lonlat[:, 0], lonlat[:, 1]
    p = PROFILES[kind]
    events = []  # (delivery s, order, event)
    for k, ts in enumerate(times):
        i = max(0, int(round((ts - latency_s) * 10)))
        ex = float(X[i]) + rng.gauss(0, sigma * err_mult)
        ey = float(Y[i]) + rng.gauss(0, sigma * err_mult)
        lon, lat = proj.to_lonlat(ex, ey)
        body = {
            "type": "track",
            "threat": "T1",
            "kind": kind,
            "t": at(ts),
            "lat": lat,
            "lon": lon,
            "sigma_m": sigma,
        }
        if with_vel:
            vs = p.velocity_sigma_mps
            body["vel_mps"] = [
                float(VX[i]) + rng.gauss(0, vs),
                float(VY[i]) + rng.gauss(0, vs),
                0.0,
            ]
        delay = 0.0
        if late and rng.random() < 0.3:
            delay = rng.uniform(0, 20)
        events.append((ts + delay, k, body))
    events.sort(key=lambda e: (e[0], e[1]))
    engine = Engine(zs)
    out = []
    for deliver, _, body in events:
        if late:
            out += engine.apply(ev({"type": "tick", "t": at(deliver)}))
        out += engine.apply(ev(body))
    out += engine.flush()
    start = parse_time(at(0))
    timeline: dict[str, list[tuple[float, str]]] = {}
    for d in out:
        timeline.setdefault(d.zone, []).append(((parse_time(d.t) - start) / 1000, d.level))
    # entries
    col = np.floor((lon_all - lon0) / step).astype(int)
    row = np.floor((lat_all - lat0) / step).astype(int)
    inside = (col >= 0) & (col < n) & (row >= 0) & (row < n)
    last_report = times[-1]
    horizon = last_report + p.timeout_s
    entries = {}
    prev = None
    for i in range(len(T)):
        z = (row[i], col[i]) if inside[i] else None
        if z is not None and z != prev:
            zid = f"r{z[0]}c{z[1]}"
            if zid not in entries:
                entries[zid] = T[i]
        prev = z
    res = []
    for zid, ent in entries.items():
        shelter = int(zs.shelter_s[zs.index_of[zid]])
        if ent < shelter + 20 or ent > horizon:
            continue
        level_at, since = "clear", None
        for t, lvl in timeline.get(zid, []):
            if t > ent:
                break
            if lvl == "alert" and level_at != "alert":
                since = t
            level_at = lvl
        margin = (ent - since - shelter) if level_at == "alert" else -999.0
        res.append((zid, round(float(ent), 1), shelter, round(margin, 2), bool(ent > last_report)))
    return res, _alert_zone_h(times, timeline)


def _alert_zone_h(times: list[float], timeline: dict[str, list[tuple[float, str]]]) -> float:
    """Zone-hours at alert in a flight, to its last report and 300 s more."""
    seconds = 0.0
    for changes in timeline.values():
        for (t, level), (t_next, _) in zip(
            changes, [*changes[1:], (times[-1] + 300, None)], strict=True
        ):
            if level == "alert":
                seconds += t_next - t
    return seconds / 3600


def main():
    outp, s0, ns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    kinds = sys.argv[4].split(",") if len(sys.argv) > 4 else ["drone", "cruise"]
    mixes = (
        sys.argv[5].split(",")
        if len(sys.argv) > 5
        else ["1s", "2s", "rand1_40", "1s_silences", "abrupt", "bursts", "stop", "jitter"]
    )
    styles = sys.argv[6].split(",") if len(sys.argv) > 6 else ["man"]
    variant = sys.argv[7] if len(sys.argv) > 7 else "honest"
    late = variant == "late"
    kw = {
        "under3": {"err_mult": 3.0},
        "under10": {"err_mult": 10.0},
        "latency5": {"latency_s": 5.0},
        "latency10": {"latency_s": 10.0},
        "sig300": {"sigma": 300.0},
        "novel": {"with_vel": False},
    }.get(variant, {})
    summary: dict[tuple[str, str, str], list[float]] = {}
    with open(outp, "w") as f:
        for seed in range(s0, s0 + ns):
            for kind in kinds:
                for mix in mixes:
                    for style in styles:
                        res, zone_h = run_flight(seed, kind, mix, style, late=late, **kw)
                        f.write(
                            json.dumps(
                                {
                                    "seed": seed,
                                    "kind": kind,
                                    "mix": mix,
                                    "style": style,
                                    "late": variant,
                                    "res": res,
                                }
                            )
                            + "\n"
                        )
                        f.flush()
                        row = summary.setdefault((kind, mix, style), [0, 0, 0, math.inf, 0.0])
                        row[0] += len(res)
                        row[1] += sum(1 for z in res if z[3] < 0)
                        row[2] += sum(1 for z in res if z[3] < 5 and not z[4])
                        row[3] = min([row[3], *(z[3] for z in res)])
                        row[4] += zone_h
    print(
        "| kind | reports | style | zone entries | late | < shelter + 5 s, reported "
        "| least margin s | alert zone-h |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for (kind, mix, style), (n, late_n, short, least, zone_h) in sorted(summary.items()):
        print(
            f"| {kind} | {mix} | {style} | {n} | {late_n} | {short} | {least:.1f} | {zone_h:.1f} |"
        )
    total = [sum(row[i] for row in summary.values()) for i in (0, 1, 2, 4)]
    print(f"| all | | | {total[0]} | {total[1]} | {total[2]} | | {total[3]:.1f} |")


if __name__ == "__main__":
    main()
