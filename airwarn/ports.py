"""The seams between layers, as typed Protocols: what one side needs of the other, no more.

- `Writer`: how an edge (the web routes) writes, answered in the typed structs of
  `airwarn.answers`; on a bus, a write the bus took but no engine answered in time is
  answered `Queued` (HTTP 202), a result and not an error. `airwarn.service.Service` in one process;
  on a bus, `airwarn.bus.runtime.RemoteWriter`, which sends the same calls to the leader.
- `DecisionLog`: the committed record as the read side sees it (`airwarn.store.log.ServiceLog`).
- `ServiceView`: the service's state now, read (zones and their levels, warnings in force,
  threats, CAP messages): `airwarn.service.Service`.
- `Listener`: told each committed step, after the commit, from the writer's thread; must
  return at once (the live hub, each channel's `publish`).
- `Clock`: where "now" comes from at the edges (`WALL_CLOCK`); the engine reads no clock,
  time reaches it only in events.

The web routes reach the writer, the log, the view and the clock through these
(`airwarn.web.state`), never through the service's attributes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

if TYPE_CHECKING:
    from airwarn.answers import (
        ActionAnswer,
        ActiveAlert,
        CancelAnswer,
        InboundAnswer,
        InboundMessage,
        IngestAnswer,
        Queued,
        ThreatView,
    )
    from airwarn.cap.build import CapWarning
    from airwarn.cap.inbound import InboundAlert
    from airwarn.contract import Event
    from airwarn.engine.zones import ZoneSet
    from airwarn.service.writer import Published
    from airwarn.store.tokens import Client


class Writer(Protocol):
    """The write side of the service: each call is one durable step (or a refusal)."""

    def ingest(
        self,
        items: list[tuple[int, Event]],
        rejected: list[dict[str, Any]],
        *,
        client: Client,
        received_ms: int,
        batch_key: str | None = None,
        batch_digest: str | None = None,
    ) -> IngestAnswer | Queued:
        """A sensor's batch: parsed events by line, and the lines that did not parse."""
        ...

    def propose(
        self, request: dict[str, Any], client: Client, received_ms: int
    ) -> ActionAnswer | Queued:
        """An operator's alert or clear, sent or held for confirmation."""
        ...

    def confirm(
        self, action_id: str, client: Client, received_ms: int, confirm_blast_radius: bool
    ) -> ActionAnswer | Queued:
        """The second confirmation of a held action."""
        ...

    def cancel(
        self, identifier: str, reason: str, client: Client, received_ms: int
    ) -> CancelAnswer | Queued:
        """Cancel a CAP message sent in error: clear its zones, send a CAP Cancel."""
        ...

    def inbound(
        self, alert: InboundAlert, body: bytes, client: Client, received_ms: int
    ) -> InboundAnswer | Queued:
        """A CAP message from another agency."""
        ...

    def decide_inbound(
        self,
        inbound_id: int,
        decision: Literal["approve", "reject"],
        client: Client,
        received_ms: int,
        reason: str,
        confirm_blast_radius: bool = False,
    ) -> InboundAnswer | Queued:
        """An operator's approval or rejection of a held inbound CAP message."""
        ...


class DecisionLog(Protocol):
    """The committed record, read."""

    def decisions(self, after: int = 0, limit: int = 1000) -> list[tuple[int, str]]:
        """Decisions after a sequence number, in order: (seq, Contract v1 JSON line)."""
        ...

    def history(
        self,
        *,
        zones: Sequence[str] | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        kind: str | None = None,
        level: str | None = None,
        status: str | None = None,
        before_seq: int | None = None,
        limit: int = 500,
    ) -> list[str]:
        """Decisions matching a filter, newest first, as Contract v1 JSON lines."""
        ...

    def audit(
        self, *, after_id: int = 0, before_id: int | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Audit entries oldest first after `after_id`, or newest first before `before_id`."""
        ...


class ZoneLevels(NamedTuple):
    """The zones' levels at one step: `seq` the newest decision they include (read first, so
    never ahead of them), the real levels, the drills' (status, kind, level) by zone, and
    what each relayed feed holds by zone."""

    seq: int
    levels: dict[str, str]
    drills: dict[str, tuple[str, str, str]]
    relayed: dict[str, dict[str, str]]


class ServiceView(Protocol):
    """The service's state, read: what the public pages, the operators' map and the CAP feed
    show. `airwarn.service.Service`; nothing here writes."""

    @property
    def zones(self) -> ZoneSet: ...

    def zone_levels(self) -> ZoneLevels:
        """Every zone's level now, with the seq it is at."""
        ...

    def active(self) -> list[ActiveAlert]:
        """The warnings in force, per open CAP message."""
        ...

    def threats(self) -> list[ThreatView]:
        """Threats in flight with their predicted regions."""
        ...

    def signed_cap(self, identifier: str) -> bytes | None:
        """A CAP message, signed, as receivers get it."""
        ...

    def recent_warnings(self, limit: int = 100) -> list[CapWarning]:
        """The newest CAP messages, newest first."""
        ...

    def cap_certificate(self) -> bytes:
        """The certificate (PEM) that verifies this server's CAP signatures."""
        ...

    def cap_feed_id(self) -> str:
        """The id of this server's CAP Atom feed."""
        ...

    def inbound_listing(
        self, state: str | None, before_id: int | None, limit: int
    ) -> list[InboundAnswer]:
        """CAP from other agencies, newest first."""
        ...

    def inbound_message(self, inbound_id: int) -> InboundMessage:
        """One inbound CAP message with its XML as received."""
        ...


class Listener(Protocol):
    """Told one committed step (see the module's docstring)."""

    def __call__(self, published: Published, /) -> None: ...


class Clock(Protocol):
    """Milliseconds since the Unix epoch, UTC."""

    def now_ms(self) -> int: ...


class WallClock:
    """The machine's clock."""

    def now_ms(self) -> int:
        return int(time.time() * 1000)


WALL_CLOCK: Clock = WallClock()
