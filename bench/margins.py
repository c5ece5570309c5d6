"""What each of the engine's margins costs a drone's or cruise missile's alert, against the
state oracle (the corridor's geometry fed a perfect sensor, with no margin) and the path oracle.

    python bench/margins.py --kind cruise --country israel --cell honest --seeds 2
    python bench/margins.py --kind drones --kind cruise --country israel --country ukraine

Reads raids that `bench/sweep.py` cached (simulated and cached when missing) and replays each
through the engine as it is and with one margin taken away at a time, then through the two
oracles (`airwarn.sim.oracles`), all with the default lifecycle. Prints the alerted area x time
(km2 h) of the raid's kind and each variant's share of the engine's, with missed and late
impacts: a variant is not a proposal (each margin is there for a threat or a sensor the sweep
also flies), it says where the engine's alert goes beyond the state oracle's.

- `oracle end`: when a threat comes down, the zone under the end of its true path keeps the
  full hold and the others go (the oracles' end), not those within the debris radius of the
  last fix and as far as the threat could have flown since;
- `no dash`: the kind's `dash_factor` 1 (no speeding up beyond the speed seen within the
  horizon);
- `no min radius`: the kind's `min_radius_m` 0 (the buffer is 3 sigma of position alone);
- `no keep margin`: `KEEP_MARGIN` 0 and `KEEP_SILENCE_S` 0 (a held zone is let go as soon as
  its reach in any direction misses it);
- `no lead`: the kind's `lead_s` 0 (a zone falls due at its shelter time alone).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sweep import KINDS, RESULTS, _sim_version, lost_apart, raid, zone_set  # noqa: E402

from airwarn.contract import parse_event  # noqa: E402
from airwarn.engine import EngineConfig, run  # noqa: E402
from airwarn.engine import policy as policies  # noqa: E402
from airwarn.engine.threat_kinds import PROFILES  # noqa: E402
from airwarn.sim.conditions import CELLS  # noqa: E402
from airwarn.sim.evaluate import score  # noqa: E402
from airwarn.sim.oracles import ORACLES, PathOracle  # noqa: E402

VARIANTS = (
    "engine",
    "oracle end",
    "no dash",
    "no min radius",
    "no keep margin",
    "no lead",
    "state-oracle",
    "path-oracle",
)


@contextmanager
def _no_keep_margin() -> Iterator[None]:
    saved = policies.KEEP_MARGIN, policies.KEEP_SILENCE_S
    policies.KEEP_MARGIN, policies.KEEP_SILENCE_S = 0.0, 0.0
    try:
        yield
    finally:
        policies.KEEP_MARGIN, policies.KEEP_SILENCE_S = saved


def _profile(kind: str, **changes: Any) -> EngineConfig:
    profiles = dict(PROFILES)
    profiles[kind] = dataclasses.replace(profiles[kind], **changes)
    return EngineConfig(profiles=profiles)


def variant_km2h(country: str, scenario: str, cell: str, seed: int) -> dict[str, tuple]:
    """(alert km2 h, missed, late) of the raid's kind, per variant."""
    conditions = CELLS[cell]
    zones = zone_set(country, None if conditions is None else conditions.shelter_s)
    lines, truth = raid(country, scenario, cell, seed, RESULTS / "sweep-cache", _sim_version())
    events = [parse_event(line) for line in lines]
    _, tracked = lost_apart(truth)
    kind = KINDS[scenario]
    out: dict[str, tuple] = {}
    for name in VARIANTS:
        config = EngineConfig()
        policy: Any = policies.SmartPolicy(zones)
        if name == "oracle end":
            policy.ending = PathOracle(zones, truth).ending
        elif name == "no dash":
            config = _profile(kind, dash_factor=1.0)
        elif name == "no min radius":
            config = _profile(kind, min_radius_m=0.0)
        elif name == "no lead":
            config = _profile(kind, lead_s=0)
        elif name in ORACLES:
            policy = ORACLES[name](zones, truth)
        with _no_keep_margin() if name == "no keep margin" else nullcontext():
            decisions = list(run(zones, events, config, policy))
        mine = score(zones, tracked, decisions, hold_s=config.hold_s).per_kind.get(kind)
        out[name] = (0.0, 0, 0) if mine is None else (mine.alert_km2h, mine.missed, mine.late)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=["drones", "cruise"], action="append")
    parser.add_argument("--country", choices=["israel", "ukraine"], action="append")
    parser.add_argument("--cell", choices=list(CELLS), action="append")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 1..N of each cell")
    args = parser.parse_args()
    rows = []
    for scenario in args.kind or ["drones", "cruise"]:
        for country in args.country or ["israel", "ukraine"]:
            for cell in args.cell or ["honest"]:
                shares: dict[str, list[float]] = {name: [] for name in VARIANTS}
                missed_late = dict.fromkeys(VARIANTS, (0, 0))
                for seed in range(1, args.seeds + 1):
                    found = variant_km2h(country, scenario, cell, seed)
                    base = found["engine"][0]
                    for name, (km2h, missed, late) in found.items():
                        if base:
                            shares[name].append(km2h / base)
                        m, lt = missed_late[name]
                        missed_late[name] = (m + missed, lt + late)
                    print(
                        f"{scenario} {country} {cell} seed {seed}: "
                        + ", ".join(f"{n} {v[0]:.1f}" for n, v in found.items()),
                        file=sys.stderr,
                    )
                rows.append((scenario, country, cell, shares, missed_late))
    print(
        "| kind | country | cell | "
        + " | ".join(f"{n} ÷ engine" for n in VARIANTS[1:])
        + " | missed, late: "
        + ", ".join(VARIANTS)
        + " |"
    )
    print("|" + "---|" * (len(VARIANTS) + 3))
    for scenario, country, cell, shares, missed_late in rows:
        cells = [f"{statistics.median(shares[n]):.2f}" if shares[n] else "–" for n in VARIANTS[1:]]
        counts = "; ".join(f"{m}, {lt}" for m, lt in missed_late.values())
        print(f"| {scenario} | {country} | {cell} | " + " | ".join(cells) + f" | {counts} |")


if __name__ == "__main__":
    main()
