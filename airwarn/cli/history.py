"""The `airwarn history` commands: import real alert histories, measure alert fatigue, and show
it (statistics, comparisons, an offline HTML report, CSV and Parquet exports)."""

from __future__ import annotations

import csv
import gzip
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.engine import Engine

from airwarn.cli.common import FAILURE, INTERRUPTED, USAGE, DbOption, err, fail
from airwarn.errors import AirwarnError
from airwarn.history import fatigue
from airwarn.history.imports import ImportReport, Inputs, find_histories, import_file
from airwarn.history.records import HistoryError
from airwarn.history.stats import (
    GROUPINGS,
    compute,
    load_alerts,
    needed_fields,
    sources,
    zone_labels,
)
from airwarn.store import DEFAULT_URL, connect, migrate

DATA = "../shared/data"
app = typer.Typer(
    help="Alert history: import real alert histories, measure alert fatigue, and show it.\n\n"
    "Examples: two commands from the histories to a report:\n\n"
    f"airwarn history import all {DATA}\n\n"
    "airwarn history report --out report/\n\n"
    "The store is SQLite by default (airwarn.db in the current folder); give another with "
    "--db or the AIRWARN_DB environment variable, e.g. "
    "--db postgresql+psycopg://postgres@127.0.0.1:5432/airwarn.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(
    help="Import an alert history into the store, attached to canonical zones.\n\n"
    "Every alert is matched to a zone (Ukraine: KATOTTG oblasts, raions, hromadas through the "
    "crosswalk; Israel: the Home Front Command areas, with the alias table). Names that match "
    "nothing are kept and reported with their closest candidates; time zones, overlaps, "
    "unterminated and absurd alerts are handled by rule and reported. Re-importing the same "
    "file changes nothing; a newer file of the same source replaces the older.\n\n"
    "Examples:\n\n"
    f"airwarn history import all {DATA}\n\n"
    f"airwarn history import ukraine-official {DATA}/ukraine/alerts/"
    "official_data_en_upto_2024-04-23.csv\n\n"
    f"airwarn history import israel {DATA}/israel/alerts/alertHistory_eranyariv_flat.csv.gz",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(import_app, name="import")
out = Console(soft_wrap=True)


def _db_url(db: str) -> str:
    """A store URL; a bare file path means a SQLite file."""
    return db if "://" in db else f"sqlite:///{db}"


LayersOption = Annotated[
    Path | None,
    typer.Option(
        "--layers",
        show_default=False,
        help="The zone layers: for Ukraine the folder with ua_oblasts/ua_raions/ua_hromadas"
        ".geojson, for Israel israel_alert_areas.geojson. Default: found beside the history "
        "file's folder, as in ../shared/data.",
    ),
]
CrosswalkOption = Annotated[
    Path | None,
    typer.Option(
        "--crosswalk",
        show_default=False,
        help="Ukraine's alarm-region crosswalk (ua_alarm_regions_crosswalk.csv). Default: beside "
        "the layers.",
    ),
]
AliasOption = Annotated[
    Path | None,
    typer.Option(
        "--aliases",
        show_default=False,
        help="An alias table to use instead of the one shipped (airwarn/data/"
        "history_aliases.csv), e.g. a copy you extended.",
    ),
]
SourceOption = Annotated[
    str,
    typer.Option(
        "--source",
        "-s",
        show_default=False,
        help="Which imported history: ukraine-official, ukraine-volunteer, ukraine-consolidated, "
        "israel-dleshem or israel-eranyariv (see `airwarn history sources`).",
    ),
]


@contextmanager
def _errors() -> Iterator[None]:
    """User errors exit 2 with what to do; anything else exits 1 without a traceback."""
    try:
        yield
    except typer.Exit:
        raise
    except AirwarnError as error:
        raise fail(error, USAGE) from None
    except KeyboardInterrupt:
        err.print("interrupted; nothing was half-written (each import is one transaction)")
        raise typer.Exit(INTERRUPTED) from None
    except Exception as error:  # the edge of the program: report, never a traceback
        raise fail(
            f"unexpected {type(error).__name__}: {error}. This is a bug; please report "
            "it with the command you ran.",
            FAILURE,
        ) from None


def _engine(db: str, *, create: bool) -> Engine:
    url = _db_url(db)
    if not create and url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            raise HistoryError(
                f"no store at {path}; import histories first, e.g. "
                f"`airwarn history import all {DATA}`, or give --db",
                field="--db",
            )
    engine = connect(url)
    migrate(engine)
    return engine


@app.callback()
def history() -> None:
    """Alert history: import, measure, compare, show."""


def _count_lines(path: Path) -> int:
    opener: Callable[..., Any] = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rb") as handle:
        return max(
            0, sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")) - 1
        )


def _run_imports(db: str, files: list[tuple[str, Path]], inputs: Inputs) -> None:
    with _errors():
        engine = _engine(db, create=True)
        progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        )
        reports: list[ImportReport] = []
        with progress:
            for kind, path in files:
                task = progress.add_task(
                    f"{kind} {path.name}", total=_count_lines(path) if path.is_file() else None
                )

                def advance(n: int, task: TaskID = task) -> None:
                    progress.advance(task, n)

                reports.append(import_file(engine, kind, path, inputs, advance))
                progress.remove_task(task)
        for report in reports:
            _print_report(report)


def _print_report(report: ImportReport) -> None:
    s = report.summary
    if report.status == "unchanged":
        err.print(
            f"[bold]{report.source}[/]: {report.file_name} is already imported with the "
            "same alias table and layers; nothing changed.",
            highlight=False,
        )
        return
    verb = (
        "Imported"
        if report.status == "imported"
        else (f"Replaced the import of {report.replaced_file} with")
    )
    rate = f"{s['zone_rate']:.2%} of {'rows' if s['zone_set'] == 'ukraine' else 'area mentions'}"
    err.print(
        f"[bold green]{verb}[/] {report.file_name} as [bold]{report.source}[/]: "
        f"{s['rows_read']:,} rows → {s['alerts']:,} alert rows in {report.seconds:.1f} s; "
        f"matched to a zone: {rate}"
        + (
            f" ({s['place_rate']:.2%} to a zone or district)"
            if s["place_rate"] != s["zone_rate"]
            else ""
        )
        + ".",
        highlight=False,
    )
    for note in s["notes"]:
        err.print(f"  • {note}", highlight=False, markup=False, soft_wrap=True)


def _import_command(kind: str, example: str) -> Callable[..., None]:
    def command(
        path: Path = typer.Argument(  # noqa: B008 (typer's way; the help names the example)
            ..., metavar="FILE", show_default=False, help=f"The history file, e.g. {example}"
        ),
        db: DbOption = DEFAULT_URL,
        layers: LayersOption = None,
        crosswalk: CrosswalkOption = None,
        aliases: AliasOption = None,
    ) -> None:
        _run_imports(db, [(kind, path)], Inputs(layers, crosswalk, aliases))

    return command


_IMPORTS = {
    "ukraine-official": (
        f"{DATA}/ukraine/alerts/official_data_en_upto_2024-04-23.csv",
        "Ukraine's official alert export (UTC): oblast, raion and hromada "
        "alerts. Fixes the row with oblast and raion swapped.",
    ),
    "ukraine-volunteer": (
        f"{DATA}/ukraine/alerts/volunteer_data_en_upto_2024-10-10.csv",
        "The volunteer channel's oblast alerts (UTC); `naive` ends are imputed and flagged.",
    ),
    "ukraine-consolidated": (
        # (a pattern the shell expands: the file's own name is too long for a line of help)
        f"{DATA}/ukraine/alerts/oblast_events_consolidated_*.csv",
        "The consolidated oblast series (UTC); flags its ~600-day event "
        "and the other absurd lengths.",
    ),
    "israel": (
        f"{DATA}/israel/alerts/alertHistory_eranyariv_flat.csv.gz",
        "An Israeli history (local time, DST handled), either format: the message "
        "archive (israel-alerts_dleshem_*.csv) or the flat one "
        "(alertHistory_eranyariv_flat.csv.gz, gzip or not).",
    ),
}
for _kind, (_example, _help) in _IMPORTS.items():
    import_app.command(
        _kind, help=f"{_help}\n\nExample:\n\nairwarn history import {_kind} {_example}"
    )(_import_command(_kind, _example))


@import_app.command("all")
def import_all(
    folder: Annotated[
        Path,
        typer.Argument(
            metavar="FOLDER",
            show_default=False,
            help=f"A data folder laid out as {DATA} (ukraine/alerts, israel/alerts).",
        ),
    ],
    db: DbOption = DEFAULT_URL,
    aliases: AliasOption = None,
) -> None:
    """Import every history found in a data folder (five files in ../shared/data).

    Example:

    airwarn history import all ../shared/data
    """
    with _errors():
        files = find_histories(folder)
    _run_imports(db, files, Inputs(aliases=aliases))


@app.command("sources")
def sources_command(
    db: DbOption = DEFAULT_URL,
    notes: Annotated[bool, typer.Option("--notes", help="Also print every import note.")] = False,
) -> None:
    """List the imported histories: rows, alerts, match rates.

    Example: airwarn history sources --notes
    """
    with _errors():
        known = sources(_engine(db, create=False))
    # narrow enough for 80 columns: the file and the import time go under the table
    table = Table(
        "source",
        "rows",
        "alert rows",
        "to a zone",
        "zone or district",
        "unmatched names",
        box=None,
        padding=(0, 1),
    )
    for name, s in known.items():
        table.add_row(
            name,
            f"{s['rows_read']:,}",
            f"{s['alerts']:,}",
            f"{s['zone_rate']:.2%}",
            f"{s['place_rate']:.2%}",
            f"{s['unmatched_names']:,} ({s['unmatched_mentions']:,}×)",
        )
    out.print(table)
    for name, s in known.items():
        out.print(
            f"  {name}: {s['file_name']}, imported {s['imported_at']} UTC",
            highlight=False,
            markup=False,
        )
    if notes:
        for name, s in known.items():
            out.print(f"[bold]{name}[/]")
            for note in s["notes"]:  # type: ignore[attr-defined]
                out.print(f"  • {note}", markup=False, highlight=False)


@app.command("unmatched")
def unmatched_command(
    source: SourceOption,
    db: DbOption = DEFAULT_URL,
    limit: Annotated[int, typer.Option(min=1, help="How many names, most mentioned first.")] = 30,
) -> None:
    """Names that matched no zone, with their closest candidates and the zones most often
    alerted with them: the evidence to extend the alias table with.

    Example: airwarn history unmatched --source israel-dleshem --limit 20
    """
    import sqlalchemy as sa

    from airwarn.history.tables import history_import, history_unmatched

    with _errors():
        engine = _engine(db, create=False)
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(history_unmatched)
                .join(history_import)
                .where(history_import.c.source == source)
                .order_by(history_unmatched.c.mentions.desc(), history_unmatched.c.name)
            ).all()
        if not rows and source not in sources(engine):
            raise HistoryError(
                f"source {source!r} is not imported; see `airwarn history sources`",
                field="--source",
            )
    table = Table("name", "mentions", "first line", "closest candidates")
    for row in rows[:limit]:
        table.add_row(
            row.name,
            f"{row.mentions:,}",
            str(row.first_line),
            "; ".join(json.loads(row.candidates)),
        )
    out.print(table)
    out.print(f"{len(rows):,} unmatched names in all ({sum(r.mentions for r in rows):,} mentions).")


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command("stats")
def stats_command(
    source: SourceOption,
    by: Annotated[str, typer.Option(help=f"Group by {', '.join(GROUPINGS)}.")] = "zone",
    zone: Annotated[
        str | None, typer.Option(help="Only this zone (id or name), e.g. UA63 or Kiryat Shmona.")
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(help="Only this region (oblast or district), e.g. 'Kharkivska oblast'."),
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="From this UTC date.")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="To this UTC date, inclusive.")
    ] = None,
    category: Annotated[
        str | None,
        typer.Option(
            help="Israel only: rockets, hostile_aircraft, infiltration, earthquake, drill."
        ),
    ] = None,
    exact_ends: Annotated[
        bool,
        typer.Option(
            "--exact-ends",
            help="Leave alerts whose end the source imputed out of hours and durations.",
        ),
    ] = False,
    sort: Annotated[str, typer.Option(help="hours, alerts or key.")] = "hours",
    limit: Annotated[int, typer.Option(min=0, help="Rows to show (0: all).")] = 25,
    fmt: Annotated[Format, typer.Option("--format", help="table, csv or json.")] = Format.table,
    db: DbOption = DEFAULT_URL,
) -> None:
    """Statistics per zone, region, month or year: alerts, hours under alert, median and
    longest duration, alerts at night (22:00-06:00 local), longest quiet spell. The method and
    limits are printed under every table.

    Examples:

    airwarn history stats --source ukraine-official --by region

    airwarn history stats --source ukraine-consolidated --by month --region 'Kharkivska oblast'

    airwarn history stats --source israel-eranyariv --by zone --since 2023-10-07 --limit 10
    """
    with _errors():
        engine = _engine(db, create=False)
        alerts = load_alerts(
            engine,
            source,
            exact_ends=exact_ends,
            category=category,
            fields=needed_fields(by, region),
        )
        result = compute(
            alerts,
            by,
            zone_labels(engine, alerts.zone_set),
            zone=zone,
            region=region,
            since=_date(since),
            until=_date(until),
        )
        if sort not in ("hours", "alerts", "key"):
            raise HistoryError("--sort is hours, alerts or key", field="--sort")
    rows = result.rows
    if sort == "key" or by in ("month", "year"):
        rows = (
            sorted(rows, key=lambda r: r.key) if sort == "key" or by in ("month", "year") else rows
        )
    if sort == "hours" and by in ("zone", "region"):
        rows = sorted(rows, key=lambda r: -r.hours)
    elif sort == "alerts":
        rows = sorted(rows, key=lambda r: -r.alerts)
    shown = rows[:limit] if limit else rows
    records = [_record(r, by) for r in shown]
    if fmt is Format.json:
        sys.stdout.write(
            json.dumps(
                {"source": source, "by": by, "rows": records, "method": result.method},
                ensure_ascii=False,
            )
            + "\n"
        )
        return
    if fmt is Format.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(records[0]) if records else ["key"])
        writer.writeheader()
        writer.writerows(records)
        return
    table = Table(
        *(records[0].keys() if records else ["key"]),
        title=f"{source} by {by}"
        + (f" ({len(shown)} of {len(rows)})" if len(shown) < len(rows) else ""),
    )
    for record in records:
        table.add_row(
            *(
                "–" if v is None else f"{v:,}" if isinstance(v, int) else str(v)
                for v in record.values()
            )
        )
    out.print(table)
    for line in result.method:
        out.print(f"• {line}", markup=False, highlight=False)


def _date(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _record(row: Any, by: str) -> dict[str, Any]:
    record: dict[str, Any] = {by: row.key}
    if by == "zone":
        record.update(name=row.label, region=row.region)
    record.update(
        alerts=row.alerts,
        hours=round(row.hours, 1),
        median_min=None if row.median_min is None else round(row.median_min, 1),
        longest_min=None if row.longest_min is None else round(row.longest_min, 1),
        night=row.night,
    )
    if by in ("zone", "region"):
        record["quiet_days"] = round(row.quiet_days, 1)
    else:
        record["zones"] = int(row.extra.get("zones", 0))
    return record


@app.command("compare")
def compare_command(db: DbOption = DEFAULT_URL) -> None:
    """Alert-fatigue comparisons the data supports, each with its method and limits:
    Ukraine's hours under alert as issued vs oblast-wide; Israel's areas per alert by year.

    Example: airwarn history compare
    """
    with _errors():
        engine = _engine(db, create=False)
        known = sources(engine)
        comparisons = []
        if "ukraine-official" in known:
            comparisons.append(fatigue.ukraine_finer_alerts(engine))
        israeli = [s for s in known if s.startswith("israel-")]
        if israeli:
            comparisons.append(fatigue.israel_areas_per_alert(engine, israeli))
        if not comparisons:
            raise HistoryError(
                "nothing to compare: import ukraine-official or an Israeli "
                f"history first (`airwarn history import all {DATA}`)"
            )
    for comparison in comparisons:
        table = Table(*comparison.columns, title=comparison.title)
        for row in comparison.rows:
            table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
        out.print(table)
        if comparison.headline:
            out.print(comparison.headline, highlight=False)
        for line in comparison.method:
            out.print(f"• Method: {line}", markup=False, highlight=False)
        for line in comparison.limits:
            out.print(f"• Limit: {line}", markup=False, highlight=False)
        out.print()


@app.command("report")
def report_command(
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out", "-o", show_default=False, help="Folder for index.html (made if missing)."
        ),
    ],
    db: DbOption = DEFAULT_URL,
) -> None:
    """Write a self-contained HTML report (index.html, readable offline, no tile server): maps
    coloured by hours under alert, monthly series, duration distributions, the comparisons,
    and every import note.

    Example: airwarn history report --out report/
    """
    from airwarn.history.report import write_report

    with _errors():
        engine = _engine(db, create=False)
        path = write_report(engine, out_dir)
    err.print(
        f"[bold green]Wrote[/] {path} ({path.stat().st_size / 1e6:.1f} MB); open it in a "
        "browser, no network needed.",
        highlight=False,
    )


class ExportFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"
    both = "both"


@app.command("export")
def export_command(
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out", "-o", show_default=False, help="Folder for the files (made if missing)."
        ),
    ],
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="csv, parquet or both.")
    ] = ExportFormat.both,
    db: DbOption = DEFAULT_URL,
) -> None:
    """Export the alerts (ISO times, zones, flags), the zones, per-zone statistics and the
    unmatched names of every imported history, as CSV and/or Parquet.

    Example: airwarn history export --out export/ --format parquet
    """
    from airwarn.history.export import export_all

    with _errors():
        engine = _engine(db, create=False)
        written = export_all(engine, out_dir, fmt.value)
    for path in written:
        err.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", highlight=False)
