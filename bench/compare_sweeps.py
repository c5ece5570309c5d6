"""Two sweeps of the same raids side by side: what an engine change did, per kind and country.

    python bench/compare_sweeps.py bench/results/BEFORE.json bench/results/AFTER.json \
        [--cell sparse-30 --cell sparse-60 ...]

Both files are `bench/sweep.py` results (`--out NAME` writes NAME.json). For each kind and
country: missed and late impacts (those of tracks the sensors lost apart, as the sweep counts
them), the engine's over-alert after over before (the median row and the range), flaps per 100
alerted zones over all rows, and how many rows meet every target (`--skip` leaves cells out of
it); the engine (and the state and sensor oracles' floors, where the sweep ran them) against
the references and floors; then one line per kind, country and cell named with `--cell`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sweep import meets_every_target  # noqa: E402


def _rows(path: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    document = json.loads(path.read_text())
    return {(s["scenario"], s["country"], s["cell"]): s for s in document["summaries"]}


def _engine(summary: dict[str, Any]) -> dict[str, Any]:
    return summary["policies"]["engine"]


def _flaps(rows: list[dict[str, Any]]) -> float:
    engines = [_engine(r) for r in rows]
    zones = sum(e["alerted_zones"] for e in engines)
    return 100.0 * sum(e["flaps"] for e in engines) / zones if zones else 0.0


def _met(rows: list[dict[str, Any]]) -> int:
    """Rows meeting every target (the goal of 3 and the floors' own checks aside, as in
    `bench/sweep.py`'s tables)."""
    return sum(meets_every_target(r["checks"]) for r in rows)


def _cell_line(before: dict[str, Any] | None, after: dict[str, Any]) -> str:
    a = _engine(after)

    def side(e: dict[str, Any]) -> str:
        lost = f", lost {e['missed_lost']}/{e['lost_impacts']}" if e["lost_impacts"] else ""
        over = "–" if e["over_alert"] is None else f"{e['over_alert']:.1f}"
        flaps = "–" if e["flaps_per_100"] is None else f"{e['flaps_per_100']:.2f}"
        return f"missed {e['missed']}, late {e['late']}{lost}, over-alert {over}, flaps {flaps}"

    head = f"| {after['scenario']} | {after['country']} | {after['cell']} | {a['impacts']} | "
    if before is None:
        return head + f"– | {side(a)} |"
    return head + f"{side(_engine(before))} | {side(a)} |"


def _against(rows: list[dict[str, Any]], policy: str, mine: str = "engine") -> list[float]:
    """One policy's over-alert (the engine's) over another's, per row that has both."""
    out = []
    for row in rows:
        other = row["policies"].get(policy, {}).get("over_alert")
        factor = row["policies"].get(mine, {}).get("over_alert")
        if other and factor is not None:
            out.append(factor / other)
    return out


def _spread(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--cell", action="append", help="cells to show one by one")
    parser.add_argument("--skip", action="append", default=[], help="cells left out of the summary")
    args = parser.parse_args()
    before, after = _rows(args.before), _rows(args.after)
    shared = sorted(k for k in before.keys() & after.keys() if k[2] not in args.skip)
    groups: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for key in shared:
        groups.setdefault(key[:2], []).append(key)
    print(
        "| kind | country | rows | missed, late (before → after) | lost impacts missed "
        "(before → after) | over-alert after ÷ before: median (range) | flaps per 100, all "
        "rows (before → after) | rows meeting every target (before → after) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for (kind, country), keys in sorted(groups.items()):
        b = [before[k] for k in keys]
        a = [after[k] for k in keys]
        ratios = [
            _engine(y)["over_alert"] / _engine(x)["over_alert"]
            for x, y in zip(b, a, strict=True)
            if _engine(x)["over_alert"] and _engine(y)["over_alert"] is not None
        ]

        def total(rows: list[dict[str, Any]], field: str) -> int:
            return sum(_engine(r)[field] for r in rows)

        print(
            f"| {kind} | {country} | {len(keys)} | "
            f"{total(b, 'missed')}, {total(b, 'late')} → {total(a, 'missed')}, "
            f"{total(a, 'late')} | {total(b, 'missed_lost')} → {total(a, 'missed_lost')} "
            f"of {total(a, 'lost_impacts')} | "
            f"{_spread(ratios)} | "
            f"{_flaps(b):.2f} → {_flaps(a):.2f} | {_met(b)} → {_met(a)} |"
        )
    print()
    print(
        "| kind | country | after: over-alert, median row (range) | engine ÷ region | "
        "engine ÷ path-oracle | engine ÷ state-oracle | state-oracle ÷ path-oracle | "
        "state-oracle ÷ region | engine ÷ sensor-oracle | sensor-oracle ÷ state-oracle | "
        "sensor-oracle ÷ path-oracle | sensor-oracle ÷ region |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (kind, country), keys in sorted(groups.items()):
        a = [after[k] for k in keys]
        print(
            f"| {kind} | {country} | "
            f"{_spread([x for r in a if (x := _engine(r)['over_alert']) is not None])} | "
            f"{_spread(_against(a, 'region'))} | {_spread(_against(a, 'path-oracle'))} | "
            f"{_spread(_against(a, 'state-oracle'))} | "
            f"{_spread(_against(a, 'path-oracle', 'state-oracle'))} | "
            f"{_spread(_against(a, 'region', 'state-oracle'))} | "
            f"{_spread(_against(a, 'sensor-oracle'))} | "
            f"{_spread(_against(a, 'state-oracle', 'sensor-oracle'))} | "
            f"{_spread(_against(a, 'path-oracle', 'sensor-oracle'))} | "
            f"{_spread(_against(a, 'region', 'sensor-oracle'))} |"
        )
    if args.cell:
        print()
        print("| kind | country | cell | impacts | before | after |")
        print("|---|---|---|---|---|---|")
        for key in sorted(after):
            if key[2] in args.cell:
                print(_cell_line(before.get(key), after[key]))


if __name__ == "__main__":
    main()
