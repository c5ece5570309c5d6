"""What the service's state reads as for the routes: threats in flight, the warnings in force,
the newest CAP messages, and a message signed as receivers get it. Reads only: nothing here
writes the log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airwarn.answers import ActiveAlert, ThreatView
from airwarn.cap.build import CapWarning, build_cap
from airwarn.cap.chain import RELAY_LANE
from airwarn.cap.sign import sign
from airwarn.contract import format_time
from airwarn.lanes import threat_owner

if TYPE_CHECKING:
    from airwarn.service.writer import Service


def threats(service: Service) -> list[ThreatView]:
    """Threats in flight for the operators' map: last position and predicted region (a
    GeoJSON geometry in WGS84, simplified to ~50 m), with the zones each one holds."""
    from shapely.geometry import mapping

    with service._lock:
        states = service.engine.threats()
    out = []
    for state in states:
        report = state.last_report
        region = None
        if state.region_m is not None and not state.region_m.is_empty:
            shape = service.zones.projection.geometry_to_lonlat(state.region_m)
            region = mapping(shape.simplify(0.0005, preserve_topology=True))
        sensor, threat = threat_owner(state.id)
        out.append(
            ThreatView(
                id=state.id,
                sensor=sensor,
                threat=threat,
                kind=state.kind,
                t=None if report is None else format_time(report.t_ms),
                lat=None if report is None else report.lat,
                lon=None if report is None else report.lon,
                alt_m=None if report is None else report.alt_m,
                alert_zones=state.alert_zones,
                pre_alert_zones=state.pre_alert_zones,
                region=region,
            )
        )
    return out


def signed_cap(service: Service, identifier: str) -> bytes | None:
    """A CAP message as receivers get it: rendered from its stored record and signed with
    the service's key (and kept, signed, for the next reader)."""
    cached = service._signed.get(identifier)
    if cached is not None:
        return cached
    record = service.log.cap_warning(identifier)
    if record is None:
        return None
    signed = sign(build_cap(service.chain.warning_from(record)), service.keys)
    with service._signed_lock:
        if len(service._signed) >= 2000:
            service._signed.pop(next(iter(service._signed)))
        service._signed[identifier] = signed
    return signed


def recent_warnings(service: Service, limit: int = 100) -> list[CapWarning]:
    """The newest CAP messages as warnings (what they said), newest first."""
    return [service.chain.warning_from(record) for record in service.log.cap_recent(limit)]


def active(service: Service) -> list[ActiveAlert]:
    """The warnings in force: per open CAP message, its zones' current levels."""
    with service._lock:
        levels = service.engine.levels()
        drills = service.engine.drill_levels()
        relayed = service.engine.relayed()
        by_message: dict[str, dict[str, Any]] = {}
        for (lane, zone), (identifier, sent_ms) in sorted(service.chain.open.items()):
            source = lane[len(RELAY_LANE) :] if lane.startswith(RELAY_LANE) else None
            status = "actual" if source is not None else lane
            if source is not None:
                level = relayed.get(zone, {}).get(source)
            else:
                level = levels.get(zone) if status == "actual" else drills.get((zone, status))
            if level is None or level == "clear":
                continue
            entry = by_message.setdefault(
                identifier,
                {
                    "identifier": identifier,
                    "sent": format_time(sent_ms),
                    "status": status,
                    "zones": [],
                    "levels": {},
                },
            )
            if source is not None:
                entry["source"] = source
            entry["zones"].append(zone)
            entry["levels"][zone] = level
        return [
            ActiveAlert.model_validate(entry)
            for entry in sorted(by_message.values(), key=lambda e: e["identifier"])
        ]
