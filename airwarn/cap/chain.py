"""Which CAP messages a step's decisions become, and which earlier messages each one updates.

Decisions are per zone; people and receivers want one message per warning. The decisions of
one step that share a time, a status, a level, a kind and a lane become one message naming all
their zones. Per zone and lane the newest message is remembered, so that an update, an
all-clear or a cancellation `references` exactly the messages it supersedes for the zones it
names. The lanes are the statuses (real alerts, drills and tests are separate chains) and, for
relayed feeds, `relay:<source>`: a relayed alert and this server's own never update each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airwarn.cap.build import CapWarning, CapZone
from airwarn.contract import Decision, RelayedFrom, parse_time
from airwarn.engine.zones import ZoneSet

CAP_STATUS = {"actual": "Actual", "exercise": "Exercise", "test": "Test"}
RELAY_LANE = "relay:"


def lane_of(status: str, source: str | None) -> str:
    """A message chain's lane: the status, or `relay:<source>` for a relayed feed's."""
    return status if source is None else RELAY_LANE + source


@dataclass(frozen=True)
class Cause:
    """What the input that caused the decisions says about them."""

    cancels: str | None = None  # the identifier of a message sent in error
    note: str | None = None  # the operator's reason


def warning_record(warning: CapWarning) -> str:
    """What a message says, as stored: everything but the zones' shapes (the zone set has them)."""
    return json.dumps(
        {
            "identifier": warning.identifier,
            "sender": warning.sender,
            "sent_ms": warning.sent_ms,
            "status": warning.status,
            "msg_type": warning.msg_type,
            "level": warning.level,
            "kind": warning.kind,
            "zones": [z.id for z in warning.zones],
            "references": [list(ref) for ref in warning.references],
            "threats": list(warning.threats),
            "note": warning.note,
            **(
                {}
                if warning.source is None
                else {"source": warning.source, "source_t_ms": warning.source_t_ms}
            ),
        },
        sort_keys=True,
    )


class MessageChain:
    """The newest message per (lane, zone), and the rules that make the next messages."""

    def __init__(self, zones: ZoneSet, sender: str, id_prefix: str) -> None:
        self.zones = zones
        self.sender = sender
        self.id_prefix = id_prefix
        self.open: dict[tuple[str, str], tuple[str, int]] = {}

    def restore(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Rebuild the chains from stored messages, oldest first."""
        for row in rows:
            self._record(
                row["identifier"],
                row["sent_ms"],
                lane_of(row["status"].lower(), row.get("source")),
                row["level"],
                row["zones"],
            )

    def zones_of(self, identifier: str) -> list[tuple[str, str]]:
        """(lane, zone) pairs whose newest message is `identifier`."""
        return [key for key, (ident, _) in self.open.items() if ident == identifier]

    def warnings(self, decisions: list[Decision], cause: Cause = Cause()) -> list[CapWarning]:
        groups: dict[tuple[str, str, str, str | None, str | None, str | None], list[Decision]] = {}
        for decision in decisions:
            status: str = decision.status if isinstance(decision.status, str) else "actual"
            source = decision.source if isinstance(decision.source, RelayedFrom) else None
            key = (
                decision.t,
                status,
                decision.level,
                decision.kind,
                None if source is None else source.name,
                None if source is None else source.t,
            )
            groups.setdefault(key, []).append(decision)
        out = []
        for (t, status, level, kind, source_name, source_t), members in groups.items():
            lane = lane_of(status, source_name)
            zone_ids = [d.zone for d in members]
            refs = sorted(
                {self.open[(lane, z)] for z in zone_ids if (lane, z) in self.open},
                key=lambda ref: (ref[1], ref[0]),
            )
            if level == "clear" and cause.cancels is not None:
                msg_type = "Cancel"
            else:
                msg_type = "Update" if refs else "Alert"
            sent_ms = parse_time(t)
            identifier = f"{self.id_prefix}{members[0].seq}"
            threats = sorted({threat for d in members for threat in d.threats})
            cap_zones = tuple(self.cap_zone(z) for z in zone_ids)
            out.append(
                CapWarning(
                    identifier=identifier,
                    sender=self.sender,
                    sent_ms=sent_ms,
                    status=CAP_STATUS[status],
                    msg_type=msg_type,
                    level=level,
                    kind=kind,
                    zones=cap_zones,
                    references=tuple(refs),
                    threats=tuple(threats),
                    note=cause.note,
                    source=source_name,
                    source_t_ms=None if source_t is None else parse_time(source_t),
                )
            )
            self._record(identifier, sent_ms, lane, level, zone_ids)
        return out

    def _record(
        self, identifier: str, sent_ms: int, lane: str, level: str, zone_ids: Iterable[str]
    ) -> None:
        for zone in zone_ids:
            if level == "clear":
                self.open.pop((lane, zone), None)
            else:
                self.open[(lane, zone)] = (identifier, sent_ms)

    def warning_from(self, record: str) -> CapWarning:
        """The warning a stored record describes, with its zones' shapes from the zone set."""
        data = json.loads(record)
        return CapWarning(
            identifier=data["identifier"],
            sender=data["sender"],
            sent_ms=data["sent_ms"],
            status=data["status"],
            msg_type=data["msg_type"],
            level=data["level"],
            kind=data["kind"],
            zones=tuple(self.cap_zone(z) for z in data["zones"]),
            references=tuple((ident, sent) for ident, sent in data["references"]),
            threats=tuple(data["threats"]),
            note=data["note"],
            source=data.get("source"),
            source_t_ms=data.get("source_t_ms"),
        )

    def cap_zone(self, zone_id: str) -> CapZone:
        zone = self.zones.zones[self.zones.index_of[zone_id]]
        return CapZone(id=zone.id, name=zone.name, region=zone.region, geometry=zone.geometry)
