"""The service: accepted events, durably logged, through the engine, to decisions and CAP.

One `Service` owns the engine and is its only writer. Each step (a batch of sensor events, an
operator's action, a clock tick that changes something) runs under one lock: the events are
applied, the decisions they cause and the CAP messages those become are built, and all of it is
committed in one transaction before anyone hears of it. Only then are listeners (the live
feeds) told. A restart replays the event log through a fresh engine, which gives back the same
state and the same decision numbers, so nothing accepted is lost and nothing is sent twice
under another id.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import sqlalchemy as sa

from airwarn.answers import (
    ActionAnswer,
    ActiveAlert,
    CancelAnswer,
    Ignored,
    InboundAnswer,
    InboundMessage,
    IngestAnswer,
    Rejection,
    ThreatView,
)
from airwarn.cap.build import CapWarning
from airwarn.cap.chain import RELAY_LANE, Cause, MessageChain, warning_record
from airwarn.cap.inbound import InboundAlert
from airwarn.cap.sign import SigningKeys
from airwarn.contract import (
    Decision,
    Event,
    Tick,
    encode_decision,
    encode_event,
    format_time,
    parse_event,
)
from airwarn.engine import Engine, EngineConfig
from airwarn.engine.zones import ZoneSet
from airwarn.errors import (
    AirwarnError,
    EventError,
    RequestError,
    UnavailableError,
)
from airwarn.lanes import (
    MAX_THREATS_PER_SENSOR,
    LaneError,
    LaneRefusal,
    LaneSettings,
    SensorLane,
)
from airwarn.ports import Listener, ZoneLevels
from airwarn.service.blast_radius import BlastLimits
from airwarn.store import StoreError, check_file, connect, migrate, store_failure
from airwarn.store.audit import RefusalThrottle
from airwarn.store.integrity import Anchor, check, check_end, genesis, seal
from airwarn.store.log import CAP_MESSAGE, EVENT_LOG, SERVICE_META, ServiceLog, Write, decision_row
from airwarn.store.secrets import StoreKeys, seal_plaintext_secrets
from airwarn.store.tokens import RESERVED, Client

SYSTEM = Client(RESERVED, "system")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceSettings:
    """How the service runs; built once at the edge (CLI, app factory) and passed in."""

    db_url: str = "sqlite:///airwarn.db"
    # wall: the server's clock ticks the engine; events: event times are the clock, a lab mode
    # for replays and demos (a client's ticks move it; see docs/security.md)
    clock: str = "wall"
    max_skew_s: float = 5.0  # how far ahead of the server's clock a sensor's report may be
    max_threats_per_sensor: int = MAX_THREATS_PER_SENSOR  # threats one sensor may hold at once
    sender: str = "airwarn@localhost"  # the CAP <sender>, and the identifiers' prefix
    id_prefix: str = "urn:airwarn:localhost:"
    # True: the sender was asked for, and a store whose messages another sender sent is
    # refused; False: these two are for a new store, and a store already written keeps its own
    # (a standby on another host, a renamed host)
    sender_given: bool = True
    engine: EngineConfig = field(default_factory=EngineConfig)
    blast: BlastLimits = field(default_factory=BlastLimits)
    # the four-eyes rule: an alert held for confirmation is confirmed by another operator
    # than the one who proposed it (another token's name), never by the same
    confirm_by_other: bool = False
    inbound_cap: str = "held"  # CAP that cannot be verified: held for an operator, or refuse


@dataclass(frozen=True)
class Published:
    """What one committed step tells the live feeds (and, on a bus, the other processes)."""

    decisions: list[tuple[int, str]]  # (seq, Contract v1 JSON line)
    messages: list[dict[str, Any]]  # CAP messages: identifier, msg_type, level, status, zones
    events: list[tuple[int, str]] = field(default_factory=list)  # (event seq, JSON body)
    cap: list[dict[str, Any]] = field(default_factory=list)  # CAP rows, for followers' chains


CHAIN_FIELDS = ("seq", "identifier", "sent_ms", "status", "level", "zones", "source")


def zones_fingerprint(zones: ZoneSet) -> str:
    """A hash of the zone set's canonical GeoJSON: the same zones, however the file looks."""
    import msgspec

    from airwarn.engine.zones import zones_to_geojson

    return hashlib.sha256(msgspec.json.encode(zones_to_geojson(zones.zones))).hexdigest()


class Service:
    """The engine behind a durable log; thread-safe, one writer."""

    def __init__(
        self,
        zones: ZoneSet,
        zones_sha256: str,
        settings: ServiceSettings,
        keys: SigningKeys,
        db: sa.engine.Engine | None = None,
        store_keys: StoreKeys | None = None,
    ) -> None:
        self.zones = zones
        self.zones_sha256 = zones_sha256
        self.settings = settings
        self.keys = keys
        # how far the store's decision numbers run ahead of this engine's replay of the log:
        # 0, unless the log was taken over from another engine version at the start
        self._seq_offset = 0
        # the log's seal and the secrets at rest (airwarn.store.secrets); `airwarn serve`
        # always gives them, a library caller without them gets an unkeyed seal
        self.store_keys = store_keys or StoreKeys.unkeyed()
        self.secrets = self.store_keys.secrets
        self.db = db or connect(settings.db_url, durable=True)
        self.log = ServiceLog(self.db)
        self.store_id = ""
        # the record, beside the store key, of how far this server's writers took the store
        self._anchor = (
            None if self.store_keys.folder is None else Anchor(self.store_keys.folder, self.db.url)
        )
        self._head = ""  # the seal of event `_head_seq`, the newest this process wrote or read
        self._head_seq = -1
        self.listeners: list[Listener] = []
        self._lock = threading.RLock()
        self._healthy = False
        self._pending_tick: Tick | None = None
        self.engine = Engine(zones, settings.engine)
        self.chain = MessageChain(zones, settings.sender, settings.id_prefix)
        self._event_seq = 0
        self._cap_seq = 0
        self._signed: dict[str, bytes] = {}  # CAP messages signed for readers, newest last
        self._signed_lock = threading.Lock()
        self.relay_health: dict[str, Any] = {}  # the followers in this process (airwarn.follow)
        self._lanes = LaneSettings(
            settings.clock,
            settings.max_skew_s,
            settings.engine.reorder_window_s,
            settings.max_threats_per_sensor,
        )
        self._refusals = RefusalThrottle()

    # -- life -------------------------------------------------------------------------------

    def open(self) -> None:
        """Migrate the store, check it was written with these zones and sealed with this key,
        rebuild by replay (which checks every event's seal)."""
        check_file(self.db)
        migrate(self.db)
        try:
            self._check_meta()
            sealed = seal_plaintext_secrets(self.db, self.secrets)
        except sa.exc.SQLAlchemyError as exc:
            raise store_failure(exc, self.db.url) from None
        if sealed:
            logger.warning("encrypted %d secrets kept in plain text before 0005", sealed)
        with self._lock:
            self._rebuild(starting=True)

    def _meta(self) -> dict[str, str]:
        config = asdict(self.settings.engine)
        config.pop("profiles", None)
        return {
            "zones_sha256": self.zones_sha256,
            "engine": json.dumps(config, sort_keys=True),
            "id_prefix": self.settings.id_prefix,
            "sender": self.settings.sender,
        }

    def _check_meta(self) -> None:
        wanted = self._meta()
        key_id = self.store_keys.key_id
        end = self._anchor.read() if self._anchor is not None else None
        with self.db.begin() as db:
            stored = dict(db.execute(sa.select(SERVICE_META.c.key, SERVICE_META.c.value)).all())
            if self._anchor is not None:
                # before anything is written: a store wiped or swapped for another is refused
                self._anchor.check_store(end, stored.get("store_id"))
            if not stored:
                stored = {**wanted, "store_id": secrets.token_hex(16), "seal_key_id": key_id}
                db.execute(
                    sa.insert(SERVICE_META), [{"key": k, "value": v} for k, v in stored.items()]
                )
            self._settle_sender(db, stored)
        for key in ("zones_sha256", "engine"):
            value = wanted[key]
            if stored.get(key) != value:
                what = {
                    "zones_sha256": "another zone set",
                    "engine": "other engine settings"
                    + _settings_apart(stored.get("engine"), value),
                }[key]
                raise StoreError(
                    f"the store at {self.db.url!r} holds a log written with {what}; a replay "
                    "with these would not give the same decisions. Start with the same "
                    "--zones and settings, or give a new --db"
                )
        if "store_id" not in stored:
            stored.update(self._seal_unsealed())
        if stored["seal_key_id"] != key_id:
            where = self.store_keys.folder or "no keys folder"
            raise StoreError(
                f"the store at {self.db.url!r} was sealed with store key {stored['seal_key_id']}"
                f", but this server has key {key_id} ({where}): start it with the --keys folder "
                "the store was written with"
            )
        self.store_id = stored["store_id"]

    def _settle_sender(self, db: sa.Connection, stored: dict[str, str]) -> None:
        """The CAP sender and identifier prefix a store's messages go out as stay those its
        log was written with (a later message references the earlier ones by sender and
        identifier): a sender not asked for takes the store's, one asked for must be it."""
        kept = stored.get("sender")
        if kept is None:  # a store from before the sender was kept: its newest message's
            record = db.execute(
                sa.select(CAP_MESSAGE.c.warning).order_by(CAP_MESSAGE.c.seq.desc()).limit(1)
            ).scalar()
            if record is None:  # no message yet: this process's sender is the store's
                stored.update(sender=self.settings.sender, id_prefix=self.settings.id_prefix)
                db.execute(
                    sa.delete(SERVICE_META).where(SERVICE_META.c.key.in_(("sender", "id_prefix")))
                )
                db.execute(
                    sa.insert(SERVICE_META),
                    [{"key": k, "value": stored[k]} for k in ("sender", "id_prefix")],
                )
                return
            kept = str(json.loads(record)["sender"])
            stored["sender"] = kept
            db.execute(sa.insert(SERVICE_META), [{"key": "sender", "value": kept}])
        prefix = stored.get("id_prefix", self.settings.id_prefix)
        if not self.settings.sender_given:
            self.settings = replace(self.settings, sender=kept, id_prefix=prefix)
        elif (kept, prefix) != (self.settings.sender, self.settings.id_prefix):
            raise StoreError(
                f"the store at {self.db.url!r} holds a log written with another CAP sender: "
                f"this store's CAP messages are sent as {kept!r} (identifiers {prefix}…), "
                f"and --sender gives {self.settings.sender!r} (later messages reference "
                f"earlier ones by sender and identifier). Start with --sender {kept}, or "
                "without --sender (the store's is taken), or give a new --db"
            )

    def _seal_unsealed(self) -> dict[str, str]:
        """A store from before the seal (0005): seal its log as it stands, once. From then on
        an event without its seal is refused."""
        store_id, key = secrets.token_hex(16), self.store_keys.chain_key
        previous, sealed = genesis(key, store_id), []
        for step in self.log.steps():
            previous = seal(key, previous, step.event, step.decisions, step.cap)
            sealed.append({"s": step.event["seq"], "h": previous})
        meta = {"store_id": store_id, "seal_key_id": self.store_keys.key_id}
        with self.db.begin() as db:  # the meta row is the lock: a second sealer fails here
            db.execute(sa.insert(SERVICE_META), [{"key": k, "value": v} for k, v in meta.items()])
            if sealed:
                db.execute(
                    sa.update(EVENT_LOG)
                    .where(EVENT_LOG.c.seq == sa.bindparam("s"))
                    .values(hash=sa.bindparam("h")),
                    sealed,
                )
        if sealed:
            logger.warning("sealed the %d events logged before the seal existed", len(sealed))
        return meta

    def _rebuild(self, starting: bool = False) -> None:
        """A fresh engine fed the whole log: the same state and sequence numbers as before.
        `starting`: the process's own start, the one place a log another engine version
        wrote is taken over (`_take_over_log`); a process already running that finds its
        numbers apart from the store's (a follower beside a leader of another version) is
        refused as before."""
        engine = Engine(self.zones, self.settings.engine)
        chain = MessageChain(self.zones, self.settings.sender, self.settings.id_prefix)
        last_event = 0
        key = self.store_keys.chain_key
        # the recorded end first: the store holds at least what it says, even as a leader
        # writes on while this process (a standby, an edge) reads
        end = self._anchor.read() if self._anchor is not None else None
        head, seal_at_end = genesis(key, self.store_id), None
        try:
            for step, sealed in check(self.log.steps(), key, head, 0):
                seq = int(step.event["seq"])
                engine.apply(parse_event(step.event["body"], line=seq))
                last_event, head = seq, sealed
                if end is not None and seq == end.seq:
                    seal_at_end = sealed
            check_end(
                end, last_event, seal_at_end, None if self._anchor is None else self._anchor.path
            )
            # another process may be writing meanwhile (a leader, while this one starts as
            # its standby): read only what the events replayed here caused
            messages = list(self.log.cap_rows(upto_event=last_event))  # oldest first
            chain.restore(messages)
            last_decision = self.log.last_decision_seq(upto_event=last_event)
            cap_seq = messages[-1]["seq"] if messages else 0
            in_step = engine.seq + self._seq_offset == last_decision
            in_force = (
                None if in_step or not starting else self.log.lanes_in_force(upto_event=last_event)
            )
        except sa.exc.SQLAlchemyError as exc:
            self._healthy = False
            raise store_failure(exc, self.db.url) from None
        if in_step:
            engine.seq = last_decision  # numbered on from a take-over at the start, if any
        elif in_force is not None:
            offset = last_decision - engine.seq
            self._take_over_log(engine, in_force, last_decision)  # numbers it on, or refuses
            self._seq_offset = offset
        else:
            raise StoreError(
                f"replaying the log gave {engine.seq} decisions but the store "
                f"holds {last_decision}; the log was written by another engine "
                "version or settings"
            )
        self.engine, self.chain = engine, chain
        self._event_seq, self._cap_seq = last_event, cap_seq
        self._head, self._head_seq = head, last_event
        self._pending_tick = None
        self._healthy = True

    def _take_over_log(
        self, engine: Engine, in_force: dict[tuple[str, str, str], str], last_decision: int
    ) -> None:
        """A log another engine version wrote (an upgrade): its replay decided the past
        otherwise. Going on is safe only where the zones stand now as the store last said
        (every lane of every zone, real, drill and relayed): then this engine numbers its
        decisions on from the store's last, and what it decides next follows from what was
        said. Where they differ (an upgrade in the middle of a raid), it is refused, naming
        the zones, and nothing is written."""
        now: dict[tuple[str, str, str], str] = {
            (zone, "actual", ""): level for zone, level in engine.levels().items()
        }
        now.update(
            ((zone, status, ""), level) for (zone, status), level in engine.drill_levels().items()
        )
        for zone, sources in engine.relayed().items():
            now.update(
                ((zone, "actual", name), level)
                for name, level in sources.items()
                if level != "clear"
            )
        apart = sorted(k for k in in_force.keys() | now.keys() if in_force.get(k) != now.get(k))
        if apart:
            shown = ", ".join(
                f"{zone}{'' if status == 'actual' else f' ({status})'}"
                f"{f' [{source}]' if source else ''}: the store says "
                f"{in_force.get((zone, status, source), 'clear')}, this engine "
                f"{now.get((zone, status, source), 'clear')}"
                for zone, status, source in apart[:5]
            )
            more = f", and {len(apart) - 5} more" if len(apart) > 5 else ""
            raise StoreError(
                f"replaying the log gave {engine.seq} decisions where the store holds "
                f"{last_decision}: it was written by another engine version, and {len(apart)} "
                f"zone lanes stand otherwise now ({shown}{more}). Run the version that wrote "
                "it until those zones are clear (the raid over, its holds run out), then "
                "upgrade; or give a new --db"
            )
        logger.warning(
            "replaying the log gave %d decisions where the store holds %d (it was written by "
            "another engine version); every zone stands as the store last said, so this engine "
            "goes on from decision %d",
            engine.seq,
            last_decision,
            last_decision,
        )
        engine.seq = last_decision

    def _ensure_healthy(self) -> None:
        if not self._healthy:
            self._rebuild()

    # -- following another writer (a standby engine, an edge) -------------------------------

    @property
    def event_seq(self) -> int:
        """The last event this process has applied (its place in the log)."""
        return self._event_seq

    def follow(self, step: Published) -> None:
        """Apply a step another process committed, then tell this process's listeners.

        A step this process has already applied (its own, or one seen twice) is skipped. A
        step that does not carry its events (too large for the bus) or that follows a gap
        is read from the store instead, so a follower never guesses.
        """
        told = step
        with self._lock:
            if step.events and step.events[-1][0] <= self._event_seq:
                return
            if not step.events or step.events[0][0] != self._event_seq + 1:
                told = self.catch_up()
            else:
                try:
                    for seq, body in step.events:
                        self.engine.apply(parse_event(body, line=seq))
                        self._event_seq = seq
                    self.chain.restore(step.cap)
                    if step.cap:
                        self._cap_seq = step.cap[-1]["seq"]
                except EventError:
                    self._healthy = False
                    self._rebuild()
                last = step.decisions[-1][0] if step.decisions else None
                if last is not None and self.engine.seq != last:
                    self._rebuild()  # another engine's numbers: trust the store, not memory
            self._pending_tick = None
        for listener in self.listeners:
            listener(told)

    def reset(self) -> None:
        """Forget what memory holds beyond the log (a clock tick applied but not yet logged,
        when this process stops leading): rebuild from the store."""
        with self._lock:
            self._healthy = False
            self._rebuild()

    def catch_up(self) -> Published:
        """Apply what the store holds beyond this process's place: the events, and the CAP
        messages they caused; what it decided is returned (and was told to no one)."""
        with self._lock:
            try:
                events = list(self.log.events(after=self._event_seq))
                upto = events[-1][0] if events else self._event_seq
                cap = list(self.log.cap_rows(after_seq=self._cap_seq, upto_event=upto))
                last_decision = self.log.last_decision_seq(upto_event=upto)
            except sa.exc.SQLAlchemyError as exc:
                raise UnavailableError(
                    f"the store cannot be read: {exc.__class__.__name__}"
                ) from None
            decisions: list[tuple[int, str]] = []
            for seq, body in events:
                for decision in self.engine.apply(parse_event(body, line=seq)):
                    decisions.append((decision.seq, encode_decision(decision).decode()))
                self._event_seq = seq
            self.chain.restore(cap)
            if cap:
                self._cap_seq = cap[-1]["seq"]
            if self.engine.seq < last_decision:
                self._rebuild()
            self._pending_tick = None
            self._healthy = True
            return Published(decisions, [_summary_of_row(row) for row in cap], events, [])

    # -- the one write path -----------------------------------------------------------------

    def _record(
        self,
        event: Event,
        decisions: list[Decision],
        source: str,
        cause: Cause,
        received_ms: int,
        write: Write,
        published: Published,
    ) -> None:
        """Add an event the engine has applied, and what it caused, to the step's write,
        sealed onto the one before (airwarn.store.integrity)."""
        previous = self._previous_seal()
        self._event_seq += 1
        body = encode_event(event).decode()
        row: dict[str, Any] = {
            "seq": self._event_seq,
            "received_ms": received_ms,
            "source": source,
            "body": body,
        }
        write.events.append(row)
        published.events.append((self._event_seq, body))
        decisions_from, cap_from = len(write.decision_rows), len(write.cap)
        self._add_decisions(decisions, self._event_seq, cause, write, published)
        sealed = seal(
            self.store_keys.chain_key,
            previous,
            row,
            write.decision_rows[decisions_from:],
            write.cap[cap_from:],
        )
        row["hash"] = sealed
        self._head, self._head_seq = sealed, self._event_seq

    def _previous_seal(self) -> str:
        """The seal of the newest event: known when this process wrote or read it, else (a
        follower that starts to lead) read from the store."""
        if self._head_seq == self._event_seq:
            return self._head
        if self._event_seq == 0:
            return genesis(self.store_keys.chain_key, self.store_id)
        stored = self.log.event_hash(self._event_seq)
        if stored is None:
            raise StoreError(
                f"event {self._event_seq} of the log carries no seal; check the "
                "store with `airwarn store verify`"
            )
        return stored

    def _step(
        self,
        items: Iterable[tuple[Event, str, Cause]],
        received_ms: int,
        write: Write,
        rejected: list[dict[str, Any]] | None = None,
        lines: Iterable[int] | None = None,
        finish: Callable[[Write], None] | None = None,
        admit: Callable[[Event], Event] | None = None,
        ignored: list[dict[str, Any]] | None = None,
    ) -> Published:
        """Apply events, build what they cause, commit it all, then tell the listeners.

        An event the engine rejects (a zone it does not know), or that `admit` refuses (the
        sensors' lane, just before it would be applied), changes nothing and is reported in
        `rejected` with its line; one taken but of no use is listed in `ignored` with why. A
        failed commit rebuilds the engine from the log, so the memory never runs ahead of the
        store. `finish` sees the write just before the commit.
        """
        self._ensure_healthy()
        published = Published([], [])
        if self._pending_tick is not None:
            # the clock moved on without a change; log that before the events that follow it,
            # so a replay judges their lateness against the same clock
            self._record(
                self._pending_tick, [], SYSTEM.name, Cause(), received_ms, write, published
            )
            self._pending_tick = None
        line_numbers = iter(lines) if lines is not None else None
        try:
            for event, source, cause in items:
                line = next(line_numbers) if line_numbers is not None else None
                try:
                    if admit is not None:
                        event = admit(event)
                    decisions = self.engine.apply(event)
                except EventError as error:
                    if rejected is None:
                        raise
                    rejected.append(_rejection(error, line))  # the engine changed nothing
                    continue
                if ignored is not None and self.engine.ignored is not None:
                    ignored.append({"line": line, "why": self.engine.ignored})
                self._record(event, decisions, source, cause, received_ms, write, published)
            if finish is not None:
                finish(write)
        except BaseException:
            # whatever failed after the engine moved, memory is now ahead of the store:
            # rebuild it from the log before anything else is applied
            self._healthy = False
            with contextlib.suppress(AirwarnError):
                self._rebuild()
            raise
        return self._commit(write, published)

    def _commit(self, write: Write, published: Published) -> Published:
        try:
            self.log.commit(write)
        except sa.exc.SQLAlchemyError as exc:
            self._healthy = False
            with contextlib.suppress(AirwarnError):
                self._rebuild()
            raise UnavailableError(
                "the store did not take the write "
                f"({exc.__class__.__name__}); nothing of it was kept, "
                "send it again"
            ) from None
        if write.events and self._anchor is not None:
            self._anchor.write(self.store_id, self._head_seq, self._head)
        for listener in self.listeners:
            listener(published)
        return published

    def _add_decisions(
        self,
        decisions: list[Decision],
        event_seq: int,
        cause: Cause,
        write: Write,
        published: Published,
    ) -> None:
        if not decisions:
            return
        for decision in decisions:
            write.decisions.append((event_seq, decision))
            row = decision_row(event_seq, decision)
            write.decision_rows.append(row)
            published.decisions.append((decision.seq, row["body"]))
        for warning in self.chain.warnings(decisions, cause):
            self._cap_seq += 1
            # the message is stored as what it says; its XML is rendered and signed when served
            # (deterministic, so the same bytes every time), off the writer's path
            row = {
                "seq": self._cap_seq,
                "identifier": warning.identifier,
                "event_seq": event_seq,
                "sent_ms": warning.sent_ms,
                "status": warning.status,
                "msg_type": warning.msg_type,
                "level": warning.level,
                "kind": warning.kind,
                "zones": json.dumps([z.id for z in warning.zones]),
                "refs": json.dumps([ident for ident, _ in warning.references]),
                "warning": warning_record(warning),
                "source": warning.source,
            }
            write.cap.append(row)
            published.messages.append(_message_summary(warning))
            published.cap.append(
                {**{k: row[k] for k in CHAIN_FIELDS}, "zones": [z.id for z in warning.zones]}
            )

    # -- sensors ----------------------------------------------------------------------------

    def ingest(
        self,
        items: list[tuple[int, Event]],
        rejected: list[dict[str, Any]],
        *,
        client: Client,
        received_ms: int,
        batch_key: str | None = None,
        batch_digest: str | None = None,
    ) -> IngestAnswer:
        """Take a sensor's batch of parsed events (and the lines that did not parse) on the
        sensors' lane (`airwarn.lanes`); answer what was accepted, what was taken but changed
        nothing and why, and why each other line was rejected.

        A batch with a key already seen gets the first answer and changes nothing, if it is
        the same batch (`batch_digest`, a hash of its body); another body under a used key is
        refused. Attempts at what the lane forbids are written to the audit log."""
        with self._lock:
            self._ensure_healthy()
            lane = SensorLane(self._lanes, client.name, received_ms)
            try:
                lane.refuse_privileged(items)
            except LaneRefusal as refusal:
                entry = self._refusal_entry(client, received_ms, refusal.action, refusal.detail)
                if entry is not None:
                    with contextlib.suppress(AirwarnError):
                        self._commit_or_503(Write(audit=[entry]))
                raise
            key = None if batch_key is None else f"{client.name}:{batch_key}"
            if key is not None:
                try:
                    earlier = self.log.batch_answer(key)
                except sa.exc.SQLAlchemyError:
                    raise UnavailableError("the store cannot be read; retry") from None
                if earlier is not None:
                    answer_json, digest = earlier
                    if digest is not None and batch_digest is not None and digest != batch_digest:
                        raise RequestError(
                            f"Idempotency-Key {batch_key!r} was used for another batch; a "
                            "retry sends the same body under its key, a new batch needs a new "
                            "key",
                            field="Idempotency-Key",
                            value=batch_key,
                        )
                    return IngestAnswer.model_validate(
                        {**json.loads(answer_json), "replayed": True}
                    )
            rejected = list(rejected)
            ignored: list[dict[str, Any]] = []
            refused: list[dict[str, Any]] = []
            first_decision = self.engine.seq + 1
            answers: list[IngestAnswer] = []
            events = [(event, client.name, Cause()) for _, event in items]

            def admit(event: Event) -> Event:
                try:
                    return lane.admit(event, self.engine)
                except LaneError as error:
                    if error.audited:
                        refused.append(
                            {
                                "type": type(event).__name__.lower(),
                                "threat": getattr(event, "threat", None),
                                "why": error.message,
                            }
                        )
                    raise

            def finish(write: Write) -> None:
                logged = sum(1 for e in write.events if e["source"] == client.name)
                answer = IngestAnswer(
                    accepted=logged,
                    rejected=[
                        Rejection.model_validate(r)
                        for r in sorted(rejected, key=lambda r: r.get("line") or 0)
                    ],
                    ignored=[Ignored.model_validate(i) for i in ignored],
                    decisions=len(write.decisions),
                    first_decision_seq=first_decision if write.decisions else None,
                    last_decision_seq=self.engine.seq if write.decisions else None,
                )
                answers.append(answer)
                entry = (
                    None
                    if not refused
                    else self._refusal_entry(
                        client,
                        received_ms,
                        "events.refused",
                        {"refused": len(refused), "lines": refused[:50]},
                    )
                )
                if entry is not None:
                    write.audit.append(entry)
                if key is not None and logged:
                    # a batch that took nothing keeps nothing: a corrected retry under the same
                    # key must be applied, not answered with the old rejection
                    write.batch = (
                        key,
                        received_ms,
                        json.dumps(answer.to_wire(), sort_keys=True),
                        batch_digest,
                    )

            self._step(
                events,
                received_ms,
                Write(),
                rejected,
                [line for line, _ in items],
                finish,
                admit,
                ignored,
            )
            return answers[-1]

    def tick(self, now_ms: int) -> Published | None:
        """Move the clock to `now_ms` (wall-clock mode): timed changes that fall due happen."""
        with self._lock:
            if not self._healthy:
                return None
            clock = self.engine.clock_ms
            if clock is None or now_ms <= clock:
                return None  # before the first event there is nothing to time
            tick = Tick(t=_datetime(now_ms))
            decisions = self.engine.apply(tick)
            if not decisions:
                self._pending_tick = tick
                return None
            self._pending_tick = None
            write, published = Write(), Published([], [])
            self._record(tick, decisions, SYSTEM.name, Cause(), now_ms, write, published)
            try:
                return self._commit(write, published)
            except UnavailableError:
                return None

    def event_time_ms(self, received_ms: int) -> int:
        """The time an operator's action takes effect: now, or in event-clock mode the
        engine's own time (the log's clock), so drills and raids replayed from files agree."""
        if self.settings.clock == "events" and self.engine.clock_ms is not None:
            return self.engine.clock_ms
        return max(received_ms, self.engine.clock_ms or received_ms)

    # -- operators (airwarn.service.operators) ----------------------------------------------

    def propose(self, request: dict[str, Any], client: Client, received_ms: int) -> ActionAnswer:
        """An operator's alert or clear: resolved, checked by the blast-radius guard, and
        either sent at once (drills, tests, clears) or held for a second confirmation."""
        from airwarn.service import operators

        return operators.propose(self, request, client, received_ms)

    def confirm(
        self, action_id: str, client: Client, received_ms: int, confirm_blast_radius: bool
    ) -> ActionAnswer:
        """The second confirmation of a held action, which sends it."""
        from airwarn.service import operators

        return operators.confirm(self, action_id, client, received_ms, confirm_blast_radius)

    def cancel(
        self, identifier: str, reason: str, client: Client, received_ms: int
    ) -> CancelAnswer:
        """The correction path: one action clears every zone an alert sent in error still
        covers and sends a CAP Cancel that references it, on every channel at once."""
        from airwarn.service import operators

        return operators.cancel(self, identifier, reason, client, received_ms)

    # -- inbound CAP (airwarn.service.inbound_cap) ------------------------------------------

    def inbound(
        self, alert: InboundAlert, body: bytes, client: Client, received_ms: int
    ) -> InboundAnswer:
        """A CAP message from another agency: applied, held for an operator, or kept, as its
        signature and sender allow (see `airwarn.service.inbound_cap`). Seen before (same
        sender and identifier): the first answer, nothing changes."""
        from airwarn.service import inbound_cap

        return inbound_cap.take(self, alert, body, client, received_ms)

    def decide_inbound(
        self,
        inbound_id: int,
        decision: Literal["approve", "reject"],
        client: Client,
        received_ms: int,
        reason: str,
        confirm_blast_radius: bool = False,
    ) -> InboundAnswer:
        """An operator approves (applies) or rejects a held inbound CAP message."""
        from airwarn.service import inbound_cap

        return inbound_cap.decide(
            self, inbound_id, decision, client, received_ms, reason, confirm_blast_radius
        )

    def _audit_refusal(
        self,
        client: Client,
        received_ms: int,
        action: str,
        error: AirwarnError,
        detail: dict[str, Any],
    ) -> None:
        """Keep a refused operator's action in the audit log (best effort: the refusal is
        answered whether or not the store takes the entry)."""
        message = getattr(error, "message", None) or str(error)
        entry = self._refusal_entry(client, received_ms, action, {**detail, "error": message})
        if entry is not None:
            with contextlib.suppress(AirwarnError):
                self._commit_or_503(Write(audit=[entry]))

    def _refusal_entry(
        self, client: Client, received_ms: int, action: str, detail: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The audit entry of a refused attempt, or None while the same one (by the same
        client) was audited less than a second ago: a flood is counted, not written each
        time (the next entry says how many were not)."""
        unwritten = self._refusals.admit((client.name, action), received_ms / 1000)
        if unwritten is None:
            return None
        if unwritten:
            detail = {**detail, "more_since_last_entry": unwritten}
        return _audit(client, received_ms, action, None, detail)

    def _commit_or_503(self, write: Write) -> None:
        try:
            self.log.commit(write)
        except sa.exc.SQLAlchemyError as exc:
            raise UnavailableError(
                f"the store did not take the write ({exc.__class__.__name__}); retry"
            ) from None

    # -- reading (airwarn.service.views) ----------------------------------------------------

    def threats(self) -> list[ThreatView]:
        """Threats in flight for the operators' map: last position and predicted region (a
        GeoJSON geometry in WGS84, simplified to ~50 m), with the zones each one holds."""
        from airwarn.service import views

        return views.threats(self)

    def signed_cap(self, identifier: str) -> bytes | None:
        """A CAP message as receivers get it: rendered from its stored record and signed with
        the service's key (and kept, signed, for the next reader)."""
        from airwarn.service import views

        return views.signed_cap(self, identifier)

    def recent_warnings(self, limit: int = 100) -> list[CapWarning]:
        """The newest CAP messages as warnings (what they said), newest first."""
        from airwarn.service import views

        return views.recent_warnings(self, limit)

    def zone_levels(self) -> ZoneLevels:
        """Every zone's level now, with the seq it is at (read first: never ahead)."""
        seq = self.engine.seq
        return ZoneLevels(seq, self.engine.levels(), self.engine.drills(), self.engine.relayed())

    def cap_certificate(self) -> bytes:
        """The certificate (PEM) that verifies this server's CAP signatures."""
        pem: bytes = self.keys.cert_pem
        return pem

    def cap_feed_id(self) -> str:
        """The id of this server's CAP Atom feed."""
        return f"{self.settings.id_prefix}feed"

    def inbound_listing(
        self, state: str | None, before_id: int | None, limit: int
    ) -> list[InboundAnswer]:
        """CAP from other agencies, newest first (`state` filters: held, applied...)."""
        from airwarn.service import inbound_cap

        return inbound_cap.listing(self, state, before_id, limit)

    def inbound_message(self, inbound_id: int) -> InboundMessage:
        """One inbound CAP message with its XML as received."""
        from airwarn.service import inbound_cap

        return inbound_cap.one(self, inbound_id)

    def active(self) -> list[ActiveAlert]:
        """The warnings in force: per open CAP message, its zones' current levels."""
        from airwarn.service import views

        return views.active(self)


def _rejection(error: EventError, line: int | None) -> dict[str, Any]:
    return {
        "line": line if line is not None else error.line,
        "error": error.message,
        "field": error.field,
        "value": error.value if _jsonable(error.value) else repr(error.value),
    }


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _audit(
    client: Client, t_ms: int, action: str, reason: str | None, detail: dict[str, Any]
) -> dict[str, Any]:
    return {
        "t_ms": t_ms,
        "who": client.name,
        "role": client.role,
        "action": action,
        "reason": reason,
        "detail": json.dumps(detail, sort_keys=True, default=str),
    }


def _summary_of_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {
        "identifier": row["identifier"],
        "msg_type": row["msg_type"],
        "level": row["level"],
        "status": row["status"],
        "kind": row["kind"],
        "sent": format_time(row["sent_ms"]),
        "zones": row["zones"],
        "references": row["refs"],
    }
    if row.get("source") is not None:
        out["source"] = row["source"]
    return out


def _message_summary(warning: CapWarning) -> dict[str, Any]:
    out = {
        "identifier": warning.identifier,
        "msg_type": warning.msg_type,
        "level": warning.level,
        "status": warning.status,
        "kind": warning.kind,
        "sent": format_time(warning.sent_ms),
        "zones": [z.id for z in warning.zones],
        "references": [ident for ident, _ in warning.references],
    }
    if warning.source is not None:
        out["source"] = warning.source
    return out


def relay_targets(targets: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The relayed lanes among a message's (lane, zone) pairs: zones by source."""
    out: dict[str, list[str]] = {}
    for lane, zone in sorted(targets):
        if lane.startswith(RELAY_LANE):
            out.setdefault(lane[len(RELAY_LANE) :], []).append(zone)
    return out


def _datetime(t_ms: int) -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=t_ms)


def _settings_apart(stored: str | None, wanted: str) -> str:
    """Which engine settings a store's log was written with differ from these, as flags:
    " (--pass-hold-s 30 there, 60 here)"; "" when the stored ones cannot be read."""
    try:
        before = json.loads(stored or "")
        now = json.loads(wanted)
    except ValueError:
        return ""
    if not isinstance(before, dict):
        return ""

    def shown(value: object) -> str:
        return "the default" if value is None else str(value)

    apart = [
        f"--{name.replace('_', '-')} {shown(before.get(name))} there, {shown(now[name])} here"
        for name in sorted(now)
        if before.get(name) != now[name]
    ]
    return f" ({'; '.join(apart)})" if apart else ""
