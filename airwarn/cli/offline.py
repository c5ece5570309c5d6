"""`airwarn replay`, `simulate` and `evaluate`: the offline chain, from a raid with ground
truth to decisions to scores, deterministic and with no server."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from airwarn.cli.common import FAILURE, USAGE, err, fail, file_error, say_error
from airwarn.cli.holds import (
    BallisticReleaseOption,
    CorridorReleaseOption,
    DebrisMarginOption,
    DownElsewhereOption,
    FullHoldOption,
    PassHoldOption,
    PreHoldOption,
    checked_config,
    holds_given,
)
from airwarn.contract import Status
from airwarn.engine.policy import POLICIES
from airwarn.engine.replay import replay_lines
from airwarn.engine.zones import ZoneSet
from airwarn.errors import AirwarnError, EventError

ZonesOption = Annotated[
    Path,
    typer.Option(
        "--zones",
        "-z",
        help="A shipped layer (israel, ukraine, ukraine-raions, ukraine-oblasts, or generated: "
        "made-up hexagons) or a canonical zone GeoJSON (see `airwarn zones export` and "
        "`airwarn zones import`).",
    ),
]


def _load_zones(path: Path) -> ZoneSet:
    """A zone file, or a shipped layer by name (israel, ukraine), as `serve --zones` takes."""
    from airwarn.layers.packaged import resolve_zones

    try:
        return resolve_zones(path)
    except AirwarnError as error:
        raise fail(error, USAGE) from None


def _read_truth(path: Path) -> dict[str, Any]:
    """The truth of a simulated raid (`airwarn simulate`'s truth.json), or an error that names
    `--truth` and says what it should be."""
    import msgspec

    try:
        doc = msgspec.json.decode(path.read_bytes())
    except OSError as error:
        raise fail(file_error("--truth", path, error), USAGE) from None
    except msgspec.DecodeError as error:
        raise fail(
            AirwarnError(
                f"--truth {path}: not a truth.json from `airwarn simulate` ({error}); "
                "the decisions go in --decisions, the events in --events"
            ),
            USAGE,
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("threats"), list):
        raise fail(
            AirwarnError(
                f"--truth {path}: not a truth.json from `airwarn simulate` "
                "(an object with a list of threats)"
            ),
            USAGE,
        )
    return doc


def replay(
    zones: ZonesOption,
    events: Annotated[
        Path,
        typer.Option(
            "--events", "-e", help="Events, JSON Lines (Contract v1); `-` reads standard input."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Where to write the decisions (JSON Lines); `-` writes standard output.",
        ),
    ],
    hold_s: FullHoldOption = 600,
    policy: Annotated[
        str, typer.Option(help="engine (the smart policy), or a reference: reach, region.")
    ] = "engine",
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="Report invalid lines on stderr and go on, instead of stopping at the first.",
        ),
    ] = False,
    ballistic_release_s: BallisticReleaseOption = None,
    corridor_release_s: CorridorReleaseOption = None,
    pass_hold_s: PassHoldOption = None,
    down_elsewhere_hold_s: DownElsewhereOption = None,
    debris_margin_s: DebrisMarginOption = None,
    pre_hold_s: PreHoldOption = None,
) -> None:
    """Run the engine offline over an event file: deterministic, byte for byte.

    Example: airwarn replay --zones israel --events sim/events.jsonl --out d.jsonl

    The holds (how long a zone stays warned after each way a threat leaves it) have safe
    defaults; shorter ones alert less and flap more. Give the same holds to `evaluate`.
    """
    if policy not in POLICIES:
        raise fail(
            AirwarnError(f"--policy must be one of {', '.join(POLICIES)}, not {policy!r}"), USAGE
        )
    config = checked_config(
        hold_s,
        holds_given(
            ballistic_release_s=ballistic_release_s,
            corridor_release_s=corridor_release_s,
            pass_hold_s=pass_hold_s,
            down_elsewhere_hold_s=down_elsewhere_hold_s,
            debris_margin_s=debris_margin_s,
            pre_hold_s=pre_hold_s,
        ),
    )
    zone_set = _load_zones(zones)
    chosen = POLICIES[policy](zone_set)

    def report_skip(error: EventError) -> None:
        err.print(f"skipped: {error}", highlight=False, markup=False, soft_wrap=True)

    try:
        source = sys.stdin.buffer if str(events) == "-" else events.open("rb")
    except OSError as error:
        raise fail(file_error("--events", events, error), USAGE) from None
    try:
        if str(out) != "-":
            out.parent.mkdir(parents=True, exist_ok=True)  # as `simulate --out` makes its folder
        sink = sys.stdout.buffer if str(out) == "-" else out.open("wb")
    except OSError as error:
        raise fail(file_error("--out", out, error), USAGE) from None
    total = events.stat().st_size if str(events) != "-" else None
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    try:
        with progress, source, sink:
            task = progress.add_task("replay", total=total)
            result = replay_lines(
                zone_set,
                source,
                sink,
                config=config,
                policy=chosen,
                skip_invalid=skip_invalid,
                on_skip=report_skip,
                on_line=lambda n: progress.advance(task, n),
            )
    except EventError as error:
        say_error(error)
        err.print("Fix the line, or pass --skip-invalid to report and skip invalid lines.")
        raise typer.Exit(FAILURE) from None
    stats = result.stats
    summary = (
        f"{stats.events} events, {result.decisions} decisions; {stats.duplicates} "
        f"duplicates and {stats.stale} stale reports ignored, {stats.reordered} reordered"
    )
    if result.skipped:
        summary += f"; {result.skipped} invalid lines skipped"
    err.print(summary, highlight=False, soft_wrap=True)


def simulate(
    zones: ZonesOption,
    scenario: Annotated[str, typer.Option(help="rockets, ballistic, drones, cruise or mixed.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Folder for events.jsonl and truth.json (made if missing)."
        ),
    ],
    seed: Annotated[int, typer.Option(help="Same zones, scenario and seed: same bytes.")] = 1,
    count: Annotated[
        int | None, typer.Option(min=1, help="Threats in the raid (default: the scenario's own).")
    ] = None,
    truth_paths: Annotated[
        bool,
        typer.Option(
            "--truth-paths",
            help="Also write each threat's true path in truth.json (for "
            "`airwarn evaluate --policy path-oracle`; always there with the flags below).",
        ),
    ] = False,
    sensor: Annotated[
        str | None,
        typer.Option(
            help="A named cell of the sensor sweep, e.g. honest, noise-300, interval-15, "
            "acquire-late, shelter-180 (the list: airwarn/sim/conditions.py). The flags below "
            "set single knobs, on top of it if given.",
            show_default=False,
        ),
    ] = None,
    noise_m: Annotated[
        float | None,
        typer.Option(
            "--noise-m",
            help="Declared 1-sigma position error of every report, 10-2000 m.",
            show_default=False,
        ),
    ] = None,
    interval_s: Annotated[
        float | None,
        typer.Option(
            "--interval-s",
            help="Seconds between two reports of a threat, 0.5-60.",
            show_default=False,
        ),
    ] = None,
    acquire: Annotated[
        str | None,
        typer.Option(
            help="When threats are first seen: launch, default (the kind's own), mid (halfway), "
            "late (the last fifth of the flight, at most 120 s).",
            show_default=False,
        ),
    ] = None,
    body: Annotated[
        str | None,
        typer.Option(
            help="Rockets and ballistic missiles: sleek or draggy bodies (the ends of the kind's "
            "plausible range), or default.",
            show_default=False,
        ),
    ] = None,
    shelter_s: Annotated[
        int | None,
        typer.Option(
            "--shelter-s",
            help="One time to shelter for every zone, 15-900 s; the zone file "
            "with it is written beside the raid (zones.geojson): replay and evaluate with it.",
            show_default=False,
        ),
    ] = None,
    maneuver: Annotated[
        str | None,
        typer.Option(
            help="Drones and cruise missiles: turn, reverse, loiter, speedup, mixed or none.",
            show_default=False,
        ),
    ] = None,
    error_scale: Annotated[
        float | None,
        typer.Option(
            "--error-scale",
            help="Each report's true error is this many times the sigma_m it declares, "
            "0.25-10 (e.g. 3: a sensor that claims a third of the error it makes). Default: "
            "0.9-1.25, drawn per threat.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Make a raid with ground truth on a zone set: noisy sensor reports and where each threat
    really came down.

    Flights are physical (gravity on the WGS84 Earth, drag; drones and cruise missiles on
    waypoint routes with bounded turns); some threats are intercepted. Launch areas follow the
    zone set: Israel's, Ukraine's, or generic ones around any other set.

    With --sensor or any knob flag the raid (same threats, same targets) is made by the harder
    simulator: imperfect sensors (biased, correlated errors; dropped, doubled and late
    reports) under the chosen conditions. Without them the output is as it always was.

    Examples:
    airwarn simulate --zones israel --scenario rockets --seed 3 --out sim/
    airwarn simulate --zones israel --scenario rockets --noise-m 300
    --interval-s 5 --acquire launch --body draggy --out sim/
    airwarn simulate --zones ukraine --scenario ballistic --shelter-s 180 --out sim/
    airwarn simulate --zones ukraine --scenario drones --maneuver turn --out sim/
    airwarn simulate --zones israel --scenario cruise --sensor interval-15
    --out sim/
    """
    from airwarn.sim.conditions import cell, merge, with_shelter
    from airwarn.sim.scenarios import SCENARIOS, write_simulation
    from airwarn.sim.scenarios import simulate as make_raid

    if scenario not in SCENARIOS:
        raise fail(
            AirwarnError(f"--scenario must be one of {', '.join(SCENARIOS)}, not {scenario!r}"),
            USAGE,
        )
    try:
        conditions = merge(
            None if sensor is None else cell(sensor),
            noise_m=noise_m,
            interval_s=interval_s,
            acquire=acquire,
            body=body,
            shelter_s=shelter_s,
            maneuver=maneuver,
            error_scale=error_scale,
        )
    except AirwarnError as error:
        raise fail(error, USAGE) from None
    zone_set = _load_zones(zones)
    try:
        if conditions is None:
            events, truth = make_raid(zone_set, scenario, seed, count=count, paths=truth_paths)
        else:
            from airwarn.engine.zones import write_zones
            from airwarn.sim.hardraid import simulate_under

            zone_set = with_shelter(zone_set, conditions.shelter_s)
            events, truth = simulate_under(zone_set, scenario, seed, conditions, count=count)
        write_simulation(events, truth, out)
        if conditions is not None and conditions.shelter_s is not None:
            write_zones(zone_set.zones, out / "zones.geojson")
    except (AirwarnError, OSError) as error:
        raise fail(error, USAGE) from None
    impacts = sum(1 for t in truth["threats"] if t["impact"])
    err.print(
        f"{len(truth['threats'])} threats ({impacts} impacting), {len(events)} events: "
        f"{out / 'events.jsonl'}, {out / 'truth.json'}",
        highlight=False,
        soft_wrap=True,
    )
    if conditions is not None and conditions.shelter_s is not None:
        err.print(
            f"every zone at {conditions.shelter_s} s to shelter: replay and evaluate "
            f"with --zones {out / 'zones.geojson'}",
            highlight=False,
            soft_wrap=True,
        )


def evaluate(
    zones: ZonesOption,
    truth: Annotated[Path, typer.Option(help="truth.json from `airwarn simulate`.")],
    decisions: Annotated[
        Path, typer.Option(help="Decisions (JSON Lines) to score, e.g. from `airwarn replay`.")
    ],
    policy: Annotated[
        list[str] | None,
        typer.Option(
            help="Also run a reference policy on the same events and score it alongside: reach "
            "(every zone within reach of the latest report), region (whole regions), or an oracle "
            "floor: path-oracle (knows each threat's true path, not where it comes down; needs a "
            "truth made with --truth-paths), impact-oracle (knows the impact point and time), "
            "state-oracle (knows where each drone or cruise missile is and how it flies, not "
            "where it will turn; needs --truth-paths), sensor-oracle (the engine itself fed a "
            "perfect sensor: its margins, not its sensor's errors; needs --truth-paths). "
            "Repeat for several."
        ),
    ] = None,
    events: Annotated[
        Path | None,
        typer.Option(
            help="The events behind the decisions, for "
            "--policy (default: events.jsonl beside the "
            "truth)."
        ),
    ] = None,
    hold_s: FullHoldOption = 600,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
    status: Annotated[
        Status,
        typer.Option(
            help="Which lane to score: actual (the real warnings; a drill's, a test's and "
            "relayed feeds' are left out), or exercise or test (a drill's or a test's, such as "
            "a raid `airwarn drill` posted, scored against its truth)."
        ),
    ] = "actual",
    ballistic_release_s: BallisticReleaseOption = None,
    corridor_release_s: CorridorReleaseOption = None,
    pass_hold_s: PassHoldOption = None,
    down_elsewhere_hold_s: DownElsewhereOption = None,
    debris_margin_s: DebrisMarginOption = None,
    pre_hold_s: PreHoldOption = None,
) -> None:
    """Score decisions against ground truth: missed and late impacts, warning times, the
    over-alert factor (alerted area x time over the ideal) and flaps (a zone alerted, released
    and alerted again by the same threat), per kind of threat.

    Beside the ceilings (reach, region), the oracle floors show what no policy can beat. The
    references run with the holds given: give those the decisions were made with.

    Example: airwarn evaluate --zones israel --truth sim/truth.json
    --decisions d.jsonl --policy reach --policy region --policy path-oracle
    --policy impact-oracle --policy state-oracle --policy sensor-oracle
    """
    import msgspec

    from airwarn.contract import decode_decision
    from airwarn.engine.replay import iter_events, run_policy
    from airwarn.sim.evaluate import format_table, score, score_to_dict
    from airwarn.sim.oracles import ORACLES, run_oracle

    config = checked_config(
        hold_s,
        holds_given(
            ballistic_release_s=ballistic_release_s,
            corridor_release_s=corridor_release_s,
            pass_hold_s=pass_hold_s,
            down_elsewhere_hold_s=down_elsewhere_hold_s,
            debris_margin_s=debris_margin_s,
            pre_hold_s=pre_hold_s,
        ),
    )
    zone_set = _load_zones(zones)
    truth_doc = _read_truth(truth)
    try:
        handle = decisions.open("rb")
    except OSError as error:
        raise fail(file_error("--decisions", decisions, error), USAGE) from None
    try:
        with handle:
            ours = [decode_decision(line) for line in handle if line.strip()]
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise fail(
            AirwarnError(f"--decisions {decisions}: not decisions from `airwarn replay` ({error})"),
            USAGE,
        ) from None
    try:
        scores = {"engine": score(zone_set, truth_doc, ours, hold_s=hold_s, status=status)}
        references = [*(n for n in POLICIES if n != "engine"), *ORACLES]
        for name in policy or []:
            if name not in references:
                raise AirwarnError(f"--policy must be one of {', '.join(references)}, not {name!r}")
            source = events or truth.parent / "events.jsonl"
            if not source.exists():
                raise AirwarnError(
                    f"--events {source}: no such file (--policy {name} replays the events "
                    "behind the decisions; give them with --events)"
                )
            if name in ORACLES:
                theirs = run_oracle(zone_set, truth_doc, iter_events(source), name, config)
            else:
                theirs = run_policy(zone_set, source, name, config)
            scores[name] = score(zone_set, truth_doc, theirs, hold_s=hold_s, status=status)
    except (AirwarnError, OSError) as error:
        raise fail(error, USAGE) from None
    if as_json:
        typer.echo(msgspec.json.encode({k: score_to_dict(v) for k, v in scores.items()}))
    else:
        Console().print(format_table(scores))
