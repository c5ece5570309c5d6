"""What a source holds now, per zone, and the relay events that bring the engine's lane there.

A feed says what its source holds (`Want` per zone id); the engine's lane for the source holds
what was relayed before (`airwarn.engine.relay.Lane`). `changes` is the difference as `relay`
events, one per group of zones that share a level, a category, an id and a time, clears
first. A want that leaves its category or id unsaid (None) keeps the lane's: a reconnect that
learns only the levels changes nothing. Pure: the same inputs give the same events, in the
same order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from airwarn.contract import Relay
from airwarn.engine.relay import Lane

LEVELS = {"pre_alert": 1, "alert": 2}
ACTIONS = {1: "pre_alert", 2: "alert"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Want:
    """What the source says of one zone: a level (1 pre-alert, 2 alert), its own word for the
    threat, its own id for the alert, and its own time of the change (ms), when it gives one."""

    level: int
    category: str | None = None
    alert_id: str | None = None
    since_ms: int | None = None


def merge(wants: Mapping[str, Want], zone: str, want: Want) -> None:
    """Put `want` on `zone` unless the zone already has a higher level (several of a source's
    alerts may cover one zone: an oblast's and a hromada's, a rocket's and a drone's)."""
    have = wants.get(zone)
    if (
        have is None
        or want.level > have.level
        or (want.level == have.level and (want.since_ms or 0) > (have.since_ms or 0))
    ):
        wants[zone] = want  # type: ignore[index]


def changes(
    source: str,
    wants: Mapping[str, Want],
    lanes: Mapping[str, Lane],
    t_ms: int,
    *,
    by: str | None = None,
    clear_since_ms: int | None = None,
) -> list[Relay]:
    """The relay events that take the lanes (zone id -> lane) to the wants."""
    t = _time(t_ms)
    cleared = sorted(zone for zone in lanes if zone not in wants)
    out: list[Relay] = []
    if cleared:
        out.append(
            Relay(
                source=source,
                action="clear",
                t=t,
                zones=cleared,
                by=by,
                since=None if clear_since_ms is None else _time(clear_since_ms),
            )
        )
    groups: dict[tuple[int, str | None, str | None, int | None], list[str]] = {}
    for zone, want in wants.items():
        lane = lanes.get(zone)
        category, alert_id = _category(want.category), _text(want.alert_id)
        if lane is not None and lane.level == want.level:
            # what the source does not say (a category, an id) is what it said before
            if category is None and alert_id is None:
                continue
            if (category or lane.category, alert_id or lane.alert_id) == (
                lane.category,
                lane.alert_id,
            ):
                continue
            category, alert_id = category or lane.category, alert_id or lane.alert_id
        key = (want.level, category, alert_id, want.since_ms)
        groups.setdefault(key, []).append(zone)
    for (level, category, alert_id, since_ms), zones in sorted(
        groups.items(),
        key=lambda item: (item[0][0], item[0][1] or "", item[0][2] or "", item[0][3] or 0),
    ):
        out.append(
            Relay(
                source=source,
                action=ACTIONS[level],  # type: ignore[arg-type]
                t=t,
                zones=sorted(zones),
                category=category,
                id=alert_id,
                since=None if since_ms is None else _time(since_ms),
                by=by,
            )
        )
    return out


def _category(text: str | None) -> str | None:
    """A category as the store keeps it: at most 32 printable characters, cut at a word."""
    cleaned = _text(text, 1000)
    if cleaned is None or len(cleaned) <= 32:
        return cleaned
    cut = cleaned[:33].rsplit(" ", 1)[0].rstrip(" ,;:(-")
    return cut if cut and len(cut) <= 32 else cleaned[:32]


def _text(text: str | None, limit: int = 128) -> str | None:
    if text is None:
        return None
    cleaned = "".join(c for c in str(text) if c.isprintable()).strip()
    return cleaned[:limit] or None


def _time(t_ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=t_ms)
