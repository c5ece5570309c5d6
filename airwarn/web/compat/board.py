"""The zones under alert now, as the compatibility feeds tell it: folded from the decision log.

The feeds speak of alerts that began at a time and have an id (alerts.in.ua's `started_at` and
`id`, the Home Front Command's alert `id`), which the engine does not keep but the decision log
does. The board reads the log's new decisions and keeps, per zone that is not clear, its level,
kind, since when, and the decision that raised it. Only real decisions count: drills and tests
never reach these feeds, whose clients have no way to tell them from a real alert. It reads the
store, not the engine, so whichever process serves HTTP answers the same, and a restarted one
starts from the same truth.

Relayed feeds (`airwarn serve --follow`) have lanes of their own: the board folds each lane
apart and shows, per zone, the lane in force (the highest level; this server's own first on a
tie), as these clients know one level per place. The history skips a clear that left the zone
held by another lane (`in_force`): it was no all-clear.

Conditional requests: the clients send `If-Modified-Since` with the `Last-Modified` they were
given, which has whole seconds. Two changes within one second would share a date, so a client
that saw the first would be told "not modified" after the second. The board therefore dates a
state by when this process first saw it, and until that second is over it sends the second
before it: a client can hold a date only once the state it names can no longer change within
it. An `ETag` (the newest decision's number) is exact, for clients that use it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request

if TYPE_CHECKING:
    from airwarn.service import Service

REFRESH_S = 1.0  # read the log at least this often even when this process wrote nothing
PAGE = 10_000


@dataclass(frozen=True)
class ZoneAlert:
    """One zone that is not clear: at which level, for which kind of threat, since when."""

    zone: str
    level: str  # alert | pre_alert
    kind: str | None
    started_ms: int  # when it left clear
    updated_ms: int  # its newest decision
    first_seq: int  # the decision that took it from clear: the alert's id in the feeds


@dataclass(frozen=True)
class Row:
    """One real decision as the history feeds read it."""

    seq: int
    zone: str
    level: str
    kind: str | None
    t_ms: int


@dataclass(frozen=True)
class Snapshot:
    """The board at one moment; shared by every request that reads it, never changed."""

    seq: int  # the newest decision read
    alerts: Mapping[str, ZoneAlert]  # per zone, the lane in force
    changed_s: float  # wall-clock time this process first saw this state
    updated_ms: int  # the time of the newest real decision (0: none yet)
    built: dict[Any, tuple[Any, Any]] = field(default_factory=dict, compare=False)
    lanes: Mapping[tuple[str, str], ZoneAlert] = field(default_factory=dict, compare=False)

    def last_modified_s(self, now_s: float) -> int:
        second = int(self.changed_s)
        return second if int(now_s) > second else second - 1

    def not_modified(self, request: Request, now_s: float) -> bool:
        """Whether the client already holds this state (If-None-Match, or If-Modified-Since)."""
        tag = request.headers.get("if-none-match")
        if tag is not None:
            return self.etag in {t.strip() for t in tag.split(",")}
        since = request.headers.get("if-modified-since")
        if since is None or int(now_s) <= int(self.changed_s):
            return False
        try:
            since_s = parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, IndexError):
            return False  # a date we cannot read: answer in full
        return since_s >= int(self.changed_s)

    @property
    def etag(self) -> str:
        return f'"{self.seq}"'

    def headers(self, now_s: float) -> dict[str, str]:
        return {
            "Last-Modified": formatdate(self.last_modified_s(now_s), usegmt=True),
            "ETag": self.etag,
            "Cache-Control": "no-cache",
        }

    def once(self, key: Any, build: Callable[[], Any], version: Any = None) -> Any:
        """A body made from this snapshot, made once however many clients ask; `version`
        names what else it depends on (the minute, for a window of time): a new version
        replaces the old, so a snapshot that lives for days keeps one body per key."""
        kept = self.built.get(key)
        if kept is None or kept[0] != version:
            kept = self.built[key] = (version, build())
        return kept[1]


class AlertBoard:
    """The zones under alert now, kept up to date from the store; thread-safe."""

    def __init__(self, service: Service, clock: Callable[[], float] = time.time) -> None:
        self.service = service
        self.clock = clock
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._read_s = 0.0

    def snapshot(self) -> Snapshot:
        """The current state: new decisions are read when this process's engine made some,
        or when the last read is older than REFRESH_S (another process may have)."""
        with self._lock:
            now = self.clock()
            known = self._snapshot
            if (
                known is None
                or known.seq < self.service.engine.seq
                or now - self._read_s >= REFRESH_S
            ):
                known = self._snapshot = self._read(known, now)
                self._read_s = now
            return known

    def _read(self, known: Snapshot | None, now: float) -> Snapshot:
        seq = 0 if known is None else known.seq
        alerts = None if known is None else known.lanes
        folded: dict[tuple[str, str], ZoneAlert] | None = None
        newest_ms = None
        while True:
            rows = self.service.log.level_changes(seq, PAGE)
            if not rows:
                break
            if folded is None:
                folded = dict(alerts or {})  # copy on write: snapshots stay as they were
            for seq, zone, level, status, kind, t_ms, source in rows:
                if status != "actual":
                    continue
                newest_ms = t_ms
                _fold(folded, seq, (zone, source or ""), level, kind, t_ms)
            if len(rows) < PAGE:
                break
        if known is not None and folded is None:
            return known
        if known is None:
            # first read: date the state by its newest decision (never later than now)
            changed = 0.0 if newest_ms is None else min(now, newest_ms / 1000)
        else:
            changed = now if newest_ms is not None else known.changed_s
        updated_ms = (
            newest_ms if newest_ms is not None else (0 if known is None else known.updated_ms)
        )
        lanes = folded if folded is not None else {}
        return Snapshot(seq, in_force(lanes), changed, updated_ms, lanes=lanes)

    def rows(
        self,
        *,
        since_ms: int,
        until_ms: int | None = None,
        zones: Sequence[str] | None = None,
        limit: int = 5000,
    ) -> list[Row]:
        """Real decisions from `since_ms` (inclusive), newest first."""
        return [
            Row(*row)
            for row in self.service.log.real_changes(
                since_ms=since_ms, until_ms=until_ms, zones=zones, limit=limit
            )
        ]

    def raised_before(self, zone: str, before_seq: int) -> Row | None:
        """The decision that raised a zone from clear, for an alert that was already on before
        `before_seq`: walks the zone's decisions back to its last clear."""
        raised = None
        for row in self.service.log.real_changes(zone=zone, before_seq=before_seq, limit=PAGE):
            if row[2] == "clear":
                break
            raised = Row(*row)
        return raised


def _fold(
    lanes: dict[tuple[str, str], ZoneAlert],
    seq: int,
    key: tuple[str, str],
    level: str,
    kind: str | None,
    t_ms: int,
) -> None:
    if level == "clear":
        lanes.pop(key, None)
        return
    was = lanes.get(key)
    lanes[key] = ZoneAlert(
        key[0],
        level,
        kind,
        t_ms if was is None else was.started_ms,
        t_ms,
        seq if was is None else was.first_seq,
    )


_RANK = {"pre_alert": 1, "alert": 2}


def in_force(lanes: Mapping[tuple[str, str], ZoneAlert]) -> dict[str, ZoneAlert]:
    """Per zone, the lane in force: the highest level, this server's own ("") first."""
    best: dict[str, tuple[tuple[int, bool, str], ZoneAlert]] = {}
    for (zone, lane), alert in lanes.items():
        rank = (-_RANK.get(alert.level, 0), lane != "", lane)
        if zone not in best or rank < best[zone][0]:
            best[zone] = (rank, alert)
    return {zone: alert for zone, (_, alert) in best.items()}


def board_of(request: Request) -> AlertBoard:
    """The app's board, made on first use (one per app, kept in its cache)."""
    cache: dict[str, Any] = request.app.state.cache
    board = cache.get("compat.board")
    if board is None:
        board = cache.setdefault("compat.board", AlertBoard(request.app.state.service))
    return board
