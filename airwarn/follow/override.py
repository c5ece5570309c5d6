"""An operator acts on a relayed alert: clears it here (until the source itself clears it), or
follows the source again. Audited under the operator's name, with the reason, like every
manual action; the decisions it causes carry the operator in `source.by`."""

from __future__ import annotations

from typing import Any, Literal

from airwarn.cap.chain import Cause
from airwarn.contract import Relay
from airwarn.errors import NotFoundError, RequestError
from airwarn.service import Service
from airwarn.service.writer import _audit, _datetime
from airwarn.store.log import Write
from airwarn.store.tokens import Client


def override(
    service: Service,
    source: str,
    action: Literal["clear", "follow"],
    zones: list[str] | None,
    reason: str,
    client: Client,
    received_ms: int,
) -> dict[str, Any]:
    """Clear (or follow again) the source's lane for `zones` (None: every zone it holds)."""
    with service._lock:
        service._ensure_healthy()
        engine = service.engine
        held = {engine.zones.ids[i]: lane for i, lane in engine.relays.lanes_of(source).items()}
        if source not in engine.relays.states() and not held:
            raise NotFoundError(f"no relayed source called {source!r}; see GET /v1/relays")
        if zones is None:
            targets = sorted(held)
        else:
            unknown = [z for z in zones if z not in engine.zones.index_of]
            if unknown:
                raise RequestError(
                    "no zone with that id in the zone set", field="$.zones", value=unknown[0]
                )
            targets = sorted(set(zones))
        acted = sorted(
            z
            for z in targets
            if z in held and ((held[z].overruled_by is None) == (action == "clear"))
        )
        write = Write()
        write.audit.append(
            _audit(
                client,
                received_ms,
                f"relay.{action}",
                reason,
                {"source": source, "zones": len(acted)},
            )
        )
        if not acted:
            service._commit_or_503(write)
            return {"source": source, "action": action, "zones": [], "decisions": []}
        event = Relay(
            source=source,
            action="clear" if action == "clear" else "alert",
            t=_datetime(service.event_time_ms(received_ms)),
            zones=acted,
            by=client.name,
            override=True,
            reason=reason,
        )
        published = service._step([(event, client.name, Cause(note=reason))], received_ms, write)
        return {
            "source": source,
            "action": action,
            "zones": acted,
            "decisions": [seq for seq, _ in published.decisions],
            "messages": published.messages,
        }
