"""Import a history file into the store: match, check, and write it in one transaction.

One import per source kind (`ukraine-official`, ..., `israel-eranyariv`): importing a newer file
of a kind replaces the older one, so that no alert is counted twice. Re-importing the same file
with the same alias table and layers changes nothing (a fingerprint of all three is kept).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from airwarn.history import israel, ukraine
from airwarn.history.matching import (
    AliasTable,
    IsraelMatcher,
    UkraineMatcher,
    load_aliases,
)
from airwarn.history.places import (
    ISRAEL_LAYER,
    UKRAINE_LAYERS,
    PlaceSet,
    israel_places,
    ukraine_places,
)
from airwarn.history.records import HistoryError, ImportOutcome
from airwarn.history.tables import (
    history_alert,
    history_import,
    history_unmatched,
    history_zone,
)

IMPORTER_VERSION = "1"
CROSSWALK = "ua_alarm_regions_crosswalk.csv"
Progress = Callable[[int], None]

SOURCES: dict[str, str] = {
    "ukraine-official": "ukraine",
    "ukraine-volunteer": "ukraine",
    "ukraine-consolidated": "ukraine",
    "israel-dleshem": "israel",
    "israel-eranyariv": "israel",
}
_UKRAINE = {
    "ukraine-official": ukraine.import_official,
    "ukraine-volunteer": ukraine.import_volunteer,
    "ukraine-consolidated": ukraine.import_consolidated,
}
_ISRAEL = {"israel-dleshem": israel.import_dleshem, "israel-eranyariv": israel.import_eranyariv}


@dataclass
class ImportReport:
    """What an import did: `imported`, `replaced` (an older import of the kind) or `unchanged`."""

    source: str
    status: str
    file_name: str
    summary: dict[str, Any]
    seconds: float = 0.0
    replaced_file: str | None = None


@dataclass
class Inputs:
    """Where the layers, crosswalk and aliases come from (defaults: beside the history file)."""

    layers: Path | None = None
    crosswalk: Path | None = None
    aliases: Path | None = None
    _places: dict[tuple[str, str], PlaceSet] = field(default_factory=dict)
    _alias_table: AliasTable | None = None

    def alias_table(self) -> AliasTable:
        if self._alias_table is None:
            self._alias_table = load_aliases(self.aliases)
        return self._alias_table

    def layer_files(self, zone_set: str, history: Path) -> list[Path]:
        if zone_set == "ukraine":
            folder = self.layers or history.resolve().parent.parent
            return [folder / name for name in UKRAINE_LAYERS.values()]
        if self.layers is not None:
            return [self.layers / ISRAEL_LAYER if self.layers.is_dir() else self.layers]
        return [history.resolve().parent.parent / ISRAEL_LAYER]

    def places(self, zone_set: str, history: Path) -> PlaceSet:
        files = self.layer_files(zone_set, history)
        key = (zone_set, str(files[0]))
        if key not in self._places:
            self._places[key] = (
                ukraine_places(files[0].parent)
                if zone_set == "ukraine"
                else israel_places(files[0])
            )
        return self._places[key]

    def crosswalk_file(self, history: Path) -> Path:
        return self.crosswalk or history.resolve().parent.parent / CROSSWALK


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        raise HistoryError(
            f"no file at {path}; give the path of a history file, e.g. "
            "../shared/data/ukraine/alerts/official_data_en_upto_2024-04-23.csv"
        ) from None
    except OSError as exc:
        raise HistoryError(f"cannot read the file: {exc.strerror}", source=str(path)) from None
    return digest.hexdigest()


def resolve_source(kind: str, path: Path) -> str:
    """The source kind of a file: as given, or for `israel` the format its header shows."""
    if kind == "israel":
        return israel.detect_format(path)
    if kind not in SOURCES:
        raise HistoryError(
            f"unknown source {kind!r}; choose one of {', '.join(['israel', *SOURCES])}",
            field="SOURCE",
        )
    return kind


def import_file(
    engine: Engine,
    kind: str,
    path: str | Path,
    inputs: Inputs | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one history file into a migrated store; see the module docstring."""
    began = time.perf_counter()
    path = Path(path)
    if path.is_dir():
        raise HistoryError(
            f"{path} is a folder; give a history file, or use `airwarn history import all FOLDER`"
        )
    inputs = inputs or Inputs()
    source = resolve_source(kind, path)
    zone_set = SOURCES[source]
    sha = file_sha256(path)
    extra = [file_sha256(p) for p in inputs.layer_files(zone_set, path) if p.is_file()]
    if zone_set == "ukraine" and inputs.crosswalk_file(path).is_file():
        extra.append(file_sha256(inputs.crosswalk_file(path)))
    fingerprint = hashlib.sha256(
        "|".join([sha, inputs.alias_table().sha256, IMPORTER_VERSION, *extra]).encode()
    ).hexdigest()
    with engine.connect() as connection:
        existing = connection.execute(
            sa.select(history_import).where(history_import.c.source == source)
        ).first()
    if existing is not None and existing.fingerprint == fingerprint:
        return ImportReport(
            source,
            "unchanged",
            existing.file_name,
            json.loads(existing.summary),
            time.perf_counter() - began,
        )

    places = inputs.places(zone_set, path)
    if zone_set == "ukraine":
        matcher_u = UkraineMatcher(places, inputs.crosswalk_file(path))
        outcome = _UKRAINE[source](path, matcher_u, progress)
        _ukraine_candidates(outcome, matcher_u)
    else:
        matcher_i = IsraelMatcher(places, inputs.alias_table())
        outcome = _ISRAEL[source](path, matcher_i, progress)
        _israel_candidates(outcome, matcher_i, places)
    summary = outcome.summary()
    _write(engine, outcome, places, sha, fingerprint, summary)
    return ImportReport(
        source,
        "replaced" if existing is not None else "imported",
        path.name,
        summary,
        time.perf_counter() - began,
        existing.file_name if existing is not None else None,
    )


def _ukraine_candidates(outcome: ImportOutcome, matcher: UkraineMatcher) -> None:
    levels = {a.place: a.level for a in outcome.alerts if a.zone_id is None}
    for name, entry in outcome.unmatched.items():
        level = levels.get(name, "oblast")
        entry.candidates = matcher.closest(name.split(",")[0], level)


def _israel_candidates(outcome: ImportOutcome, matcher: IsraelMatcher, places: PlaceSet) -> None:
    """Closest spellings, and the zones most often alerted with each unmatched name (the
    evidence the alias table is written from)."""
    zones_by_event: dict[str, set[str]] = defaultdict(set)
    events_of: dict[str, set[str]] = defaultdict(set)
    for row in outcome.alerts:
        if row.zone_id is not None:
            zones_by_event[row.event_key].add(row.zone_id)
        elif row.place in outcome.unmatched:
            events_of[row.place].add(row.event_key)
    for name, entry in outcome.unmatched.items():
        events = events_of.get(name, set())
        companions: Counter[str] = Counter(z for e in events for z in zones_by_event[e])
        with_ = [
            f"{places.places[z].properties.get('area_he') or z} (alerted with it in "
            f"{n} of {len(events)})"
            for z, n in companions.most_common(3)
        ]
        entry.candidates = matcher.closest(name) + with_


def _write(
    engine: Engine,
    outcome: ImportOutcome,
    places: PlaceSet,
    sha: str,
    fingerprint: str,
    summary: dict[str, Any],
) -> None:
    """Replace the source's import, its alerts and unmatched names, and the zone copies."""
    zone_rows = [
        {
            "zone_set": places.zone_set,
            "zone_id": p.zone_id,
            "level": p.level,
            "name": p.name,
            "region": p.region,
            "area_km2": round(p.area_km2, 3),
            "shelter_s": p.shelter_s,
            "geometry": shapely.to_geojson(shapely.set_precision(places.simplified(p), 1e-4)),
        }
        for p in places.places.values()
    ]
    with engine.begin() as connection:
        old = connection.execute(
            sa.select(history_import.c.id).where(history_import.c.source == outcome.source)
        ).scalar()
        if old is not None:
            # explicit deletes (not only ON DELETE CASCADE): the same on every store
            connection.execute(history_alert.delete().where(history_alert.c.import_id == old))
            connection.execute(
                history_unmatched.delete().where(history_unmatched.c.import_id == old)
            )
            connection.execute(history_import.delete().where(history_import.c.id == old))
        connection.execute(history_zone.delete().where(history_zone.c.zone_set == places.zone_set))
        connection.execute(history_zone.insert(), zone_rows)
        inserted = connection.execute(
            history_import.insert().values(
                source=outcome.source,
                file_name=outcome.file_name,
                file_sha256=sha,
                fingerprint=fingerprint,
                imported_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                rows_read=outcome.rows_read,
                alerts=len(outcome.alerts),
                summary=json.dumps(summary, ensure_ascii=False),
            )
        ).inserted_primary_key
        assert inserted is not None
        import_id = inserted[0]
        columns = (
            "import_id",
            "source",
            "zone_set",
            "line",
            "event_key",
            "place",
            "level",
            "match",
            "zone_id",
            "region",
            "category",
            "started_s",
            "ended_s",
            "utc_offset_s",
            "flags",
        )
        # plain DB-API executemany with tuples: several times faster than dicts through Core
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        # our own column names and placeholders only: no value is formatted into the SQL
        sql = (
            f"INSERT INTO history_alert ({', '.join(columns)}) "  # noqa: S608
            f"VALUES ({', '.join([mark] * len(columns))})"
        )
        head = (import_id, outcome.source, outcome.zone_set)
        batch = [
            head
            + (
                r.line,
                r.event_key,
                r.place,
                r.level,
                r.match,
                r.zone_id,
                r.region,
                r.category,
                r.started_s,
                r.ended_s,
                r.utc_offset_s,
                r.flags,
            )
            for r in outcome.alerts
        ]
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for first in range(0, len(batch), 50_000):
            cursor.executemany(sql, batch[first : first + 50_000])
        cursor.close()
        if outcome.unmatched:
            connection.execute(
                history_unmatched.insert(),
                [
                    {
                        "import_id": import_id,
                        "name": name,
                        "mentions": u.mentions,
                        "first_line": u.first_line,
                        "candidates": json.dumps(u.candidates, ensure_ascii=False),
                    }
                    for name, u in outcome.unmatched.items()
                ],
            )


def find_histories(folder: str | Path) -> list[tuple[str, Path]]:
    """Every history file under a data folder, with its source kind, in a stable order."""
    folder = Path(folder)
    patterns = [
        ("ukraine-official", "**/official_data_en_*.csv"),
        ("ukraine-volunteer", "**/volunteer_data_en_*.csv"),
        ("ukraine-consolidated", "**/oblast_events_consolidated_*.csv"),
        ("israel", "**/israel-alerts_*.csv"),
        ("israel", "**/alertHistory_*.csv*"),
    ]
    found: list[tuple[str, Path]] = []
    for kind, pattern in patterns:
        for path in sorted(folder.glob(pattern)):
            found.append((kind, path))
    if not found:
        raise HistoryError(
            f"no alert history under {folder}; expected e.g. ukraine/alerts/"
            "official_data_en_*.csv or israel/alerts/alertHistory_*.csv.gz "
            "(the layout of ../shared/data)",
            source=str(folder),
        )
    return found
