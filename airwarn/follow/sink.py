"""The service as a follower's sink: relayed lanes read, and relay events written through the
service's one write path (the same lock, log and commit as every other step), so that what is
relayed is durable before any channel hears of it and a replay gives the same decisions."""

from __future__ import annotations

import msgspec

from airwarn.cap.chain import Cause
from airwarn.contract import Event, Relay
from airwarn.engine.relay import Lane, SourceStatus
from airwarn.service import Service
from airwarn.service.writer import _datetime
from airwarn.store.log import Write


class ServiceSink:
    def __init__(self, service: Service) -> None:
        self.service = service

    def lanes(self, source: str) -> dict[str, Lane]:
        with self.service._lock:
            engine = self.service.engine
            return {engine.zones.ids[i]: lane for i, lane in engine.relays.lanes_of(source).items()}

    def state(self, source: str) -> SourceStatus | None:
        return self.service.engine.relays.states().get(source)

    def write(self, source: str, events: list[Event], received_ms: int) -> None:
        service = self.service
        with service._lock:
            service._ensure_healthy()
            t = _datetime(service.event_time_ms(received_ms))
            items: list[tuple[Event, str, Cause]] = []
            for event in events:
                note = f"relayed from {source}"
                if isinstance(event, Relay) and event.category:
                    note += f" ({event.category})"
                items.append(
                    (
                        msgspec.structs.replace(event, t=t),
                        f"follow:{source}"[:128],
                        Cause(note=note),
                    )
                )
            service._step(items, received_ms, Write())
