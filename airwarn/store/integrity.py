"""The log's seal: every logged event carries a MAC chained to the one before it.

    seal(n) = HMAC-SHA256(key, seal(n-1) | event n | the decisions and CAP messages it caused)
    seal(0) = HMAC-SHA256(key, "airwarn event log v1" | the store's id)

with the key from `store.key` (`airwarn.store.secrets`), kept apart from the store. Replaying
the log checks every seal before the event is applied, so a start-up refuses a log in which an
event, a decision or a CAP message was edited, or an event dropped, and names the first event
at fault. Cutting events from the end leaves a shorter chain that still holds; the writer
therefore records the newest seal it committed, per store URL, in `log-head-<hash of the URL>`
beside the key (the `Anchor`), and a store that ends before that record, or holds another
event there, is refused
too, and so is another store (or an empty one) where that record says this one was. Whoever
holds both the store and the keys folder can rewrite anything: the seal defends
the store against those who reach only the store (see docs/security.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from airwarn.store import StoreError

log = logging.getLogger(__name__)
GENESIS = b"airwarn event log v1\0"
EVENT_FIELDS = ("seq", "received_ms", "source", "body")
DECISION_FIELDS = ("seq", "event_seq", "t_ms", "zone", "level", "status", "kind", "body")
CAP_FIELDS = (
    "seq",
    "identifier",
    "event_seq",
    "sent_ms",
    "status",
    "msg_type",
    "level",
    "kind",
    "zones",
    "refs",
    "warning",
)
_encode = msgspec.json.Encoder().encode


class IntegrityError(StoreError):
    """The log does not match its seal: `seq` is the first event at fault."""

    def __init__(self, seq: int, why: str) -> None:
        self.seq = seq
        super().__init__(
            f"the event log fails its integrity check at event {seq}: {why}. "
            "Nothing was started; restore the store from a backup, or find "
            "what changed it (`airwarn store verify` checks any range)"
        )


def genesis(key: bytes, store_id: str) -> str:
    return hmac.new(key, GENESIS + store_id.encode(), hashlib.sha256).hexdigest()


def seal(
    key: bytes,
    previous: str,
    event: dict[str, Any],
    decisions: Sequence[dict[str, Any]],
    cap: Sequence[dict[str, Any]],
) -> str:
    """The seal of one event (a row of event_log), given the seal of the one before."""
    mac = hmac.new(key, bytes.fromhex(previous), hashlib.sha256)
    # one JSON array: [event fields, [each decision's fields], [each CAP row's fields]]
    mac.update(
        _encode(
            [
                [event[f] for f in EVENT_FIELDS],
                [[row[f] for f in DECISION_FIELDS] for row in decisions],
                [[row[f] for f in CAP_FIELDS] for row in cap],
            ]
        )
    )
    return mac.hexdigest()


@dataclass
class Step:
    """One logged event with what it caused, as read back for checking."""

    event: dict[str, Any]
    decisions: list[dict[str, Any]]
    cap: list[dict[str, Any]]


def check(
    steps: Iterator[Step], key: bytes, previous: str, after: int
) -> Iterator[tuple[Step, str]]:
    """Each step with its seal, in order from event `after` + 1, once the seal is found to
    hold; an IntegrityError names the first event that fails."""
    expected = after + 1
    for step in steps:
        seq = int(step.event["seq"])
        if seq != expected:
            raise IntegrityError(
                expected, f"event {expected} is missing (the log goes on at event {seq})"
            )
        stored = step.event.get("hash")
        if stored is None:
            raise IntegrityError(seq, "it carries no seal")
        sealed = seal(key, previous, step.event, step.decisions, step.cap)
        if not hmac.compare_digest(sealed, str(stored)):
            raise IntegrityError(
                seq,
                "it, or a decision or CAP message it caused, is not "
                "what was written (or the keys folder is not the one that "
                "sealed it)",
            )
        previous = sealed
        expected += 1
        yield step, sealed


@dataclass(frozen=True)
class End:
    """What a writer recorded of the store at a URL: its id, its newest event and seal."""

    store_id: str
    seq: int
    mac: str


class Anchor:
    """The newest event a writer committed to the store at a URL, kept beside the store key:
    a store there that ends before it was cut; one with another id was wiped or replaced.
    Written in place after each commit (a fixed-size record, no fsync: after a crash it may
    lag behind the store, never run ahead)."""

    SIZE = 160

    def __init__(self, folder: Path, url: Any) -> None:
        self.url = _plain_url(url)
        self.path = folder / f"log-head-{hashlib.sha256(self.url.encode()).hexdigest()[:16]}"
        self._fd: int | None = None

    def read(self) -> End | None:
        """The record, or None if there is none (or it cannot be read: a torn write after a
        power cut is not taken for an attack)."""
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot read %s (%s); the end of the log is not checked", self.path, exc)
            return None
        with contextlib.suppress(ValueError):
            store_id, seq, mac = text.split()
            if len(mac) == 64:
                bytes.fromhex(mac)
                return End(store_id, int(seq), mac)
        log.warning("%s is not a record of the log's end; the end is not checked", self.path)
        return None

    def write(self, store_id: str, seq: int, mac: str) -> None:
        record = f"{store_id} {seq} {mac}".ljust(self.SIZE - 1).encode() + b"\n"
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.pwrite(self._fd, record, 0)
        except OSError as exc:  # the store has the step: a missed record only weakens a check
            log.warning("cannot record the log's end in %s (%s)", self.path, exc)

    def clear(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)

    def check_store(self, end: End | None, store_id: str | None) -> None:
        """Refuse a store that is not the one recorded here (None: a store with no log)."""
        if end is None or end.store_id == store_id:
            return
        found = "no service log at all" if store_id is None else f"another store ({store_id})"
        raise StoreError(
            f"this server wrote {end.seq} events to the store at {self.url} (recorded in "
            f"{self.path}), but it now holds {found}: it was wiped, truncated or replaced. If "
            "that was done on purpose (a new store, a restored backup), accept it once with "
            "`airwarn store verify --accept-end`"
        )

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _plain_url(url: Any) -> str:
    """A store URL as the record names it: an SQLite file by its absolute path, a server
    without its password."""
    from sqlalchemy.engine import make_url

    parsed = make_url(str(url)) if not hasattr(url, "render_as_string") else url
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return "sqlite:///" + str(Path(parsed.database).expanduser().resolve())
    parsed = parsed.set(drivername=parsed.get_backend_name())  # the same with any driver
    return str(parsed.render_as_string(hide_password=True))


def check_end(anchor: End | None, last_seq: int, seal_at: str | None, where: Path | None) -> None:
    """Refuse a log that ends before the recorded end, or holds another event there."""
    if anchor is None:
        return
    seq, mac = anchor.seq, anchor.mac
    if last_seq < seq:
        raise StoreError(
            f"the event log ends at event {last_seq}, but this server recorded event {seq} as "
            f"written ({where}): events were cut from its end. If a backup was restored on "
            "purpose, accept its end once with `airwarn store verify --accept-end`"
        )
    if seal_at is not None and not hmac.compare_digest(seal_at, mac):
        raise IntegrityError(
            seq,
            "it is not the event this server recorded as written there "
            f"({where}): the log was rewritten from there back",
        )


@dataclass(frozen=True)
class Verified:
    """What `verify_log` checked: events `first` to `last` (`count` of them) hold their seal;
    `end` is the recorded end the log was checked against (None when there is none)."""

    first: int
    last: int
    count: int
    head: str
    end: int | None


def verify_log(
    log: Any,
    meta: dict[str, str],
    keys: Any,
    url: Any,
    first: int = 1,
    last: int | None = None,
    *,
    check_recorded_end: bool = True,
) -> Verified:
    """Check the seals of events `first` to `last` (default: to the end) against the store key
    and, when the range runs to the end, the recorded end (unless told not to: a backup
    restored on purpose). `log` is a ServiceLog, `meta` the store's service_meta, `keys` its
    StoreKeys, `url` where the store is."""
    if "store_id" not in meta:
        raise StoreError(
            "this store's log has no seal yet: it was written before 0005, or "
            "holds no service log; `airwarn serve` seals it at its next start"
        )
    if meta.get("seal_key_id") != keys.key_id:
        raise StoreError(
            f"this store was sealed with store key {meta.get('seal_key_id')}, "
            f"but {keys.folder} holds key {keys.key_id}: give the --keys folder "
            "the store was written with"
        )
    after = max(first, 1) - 1
    if after == 0:
        previous = genesis(keys.chain_key, meta["store_id"])
    else:
        stored = log.event_hash(after)
        if stored is None:
            raise StoreError(
                f"there is no sealed event {after} to start after; the log "
                f"ends at event {log.last_event_seq()}"
            )
        previous = str(stored)
    anchor = Anchor(keys.folder, url) if keys.folder is not None else None
    end = anchor.read() if anchor is not None and last is None and check_recorded_end else None
    if anchor is not None:
        anchor.check_store(end, meta["store_id"])
    count, seq, head, seal_at_end = 0, after, previous, None
    for step, sealed in check(log.steps(after, last), keys.chain_key, previous, after):
        count, seq, head = count + 1, int(step.event["seq"]), sealed
        if end is not None and seq == end.seq:
            seal_at_end = sealed
    if last is None:
        check_end(end, seq, seal_at_end, None if anchor is None else anchor.path)
    return Verified(after + 1, seq, count, head, None if end is None else end.seq)
