"""The sensors' lane: what a client may write on `/v1/events`, and whose threat it speaks of.

A sensor reports tracks and ends of its own threats, and nothing else goes this way:
- a `manual` alert or clear is refused whoever sends it: operators act through `/v1/actions`
  (two steps for a real alert, the blast-radius guard, the audit log);
- relayed feeds' `relay` and `source` events are refused whoever sends them: they enter only
  through the server's own followers (`airwarn serve --follow`);
- a `tick` is refused on a wall-clock server, whose own clock is the only one that moves the
  engine; on the event clock (a lab mode for replays and demos) event times are the clock, so
  the replaying client ticks;
- a threat id is scoped by the sender's name, `<sensor>/<threat>`, so that one sensor can
  neither feed nor end another's track; an `end` for a threat that sensor never reported is
  refused, rather than taken and left to block that threat's reports to come;
- a sensor holds at most `max_threats` threats in the engine's memory (in flight, or lost and
  still resumable): a report that would start one more is refused until it ends some, so one
  sensor cannot take the memory every sensor's threats need;
- on a wall-clock server a report more than `max_skew_s` ahead of the server's clock is
  refused, and on either clock one older than the reorder window (which the engine could no
  longer use) is refused with that reason, never taken and silently dropped.

Pure: the server's time comes in as `received_ms`, the engine's state through `EngineView`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from airwarn.contract import (
    THREAT_MAX,
    End,
    Event,
    Manual,
    Relay,
    Source,
    Tick,
    Track,
    lane_status,
    to_ms,
)
from airwarn.errors import EventError, ForbiddenError

SENSOR_THREAT_MAX = 128  # what a sensor may name; the scoped id adds its name and a `/`
MAX_THREATS_PER_SENSOR = 2_000  # threats one sensor may hold in the engine at once, by default
_PRINTABLE = re.compile(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]*$")


@dataclass(frozen=True)
class LaneSettings:
    clock: str = "wall"  # wall: only the server's clock ticks; events: a lab mode
    max_skew_s: float = 5.0  # how far ahead of the server's clock a report may be
    reorder_window_s: int = 30  # the engine's: older reports are of no use to it
    max_threats: int = MAX_THREATS_PER_SENSOR  # threats one sensor may hold in the engine's memory


class EngineView(Protocol):
    """What the lane asks of the engine (`airwarn.engine.Engine` has it)."""

    clock_ms: int | None

    def threat_state(self, threat_id: str, status: str = "actual") -> str | None: ...

    def holds(self, threat_id: str, status: str = "actual") -> bool: ...

    def threats_held(self, source: str) -> int: ...


class LaneError(EventError):
    """A line a client may not send as it is (rejected with its line; `audited` when it is an
    attempt at what the lane forbids rather than a late or malformed report)."""

    def __init__(
        self, message: str, *, field: str | None = None, value: object = None, audited: bool = False
    ) -> None:
        super().__init__(message, field=field, value=value)
        self.audited = audited


class LaneRefusal(ForbiddenError):
    """A batch that holds what no client may send on this lane (HTTP 403; nothing of the
    batch is taken). `action` and `detail` are what the audit log keeps of the attempt."""

    def __init__(self, message: str, *, line: int, action: str, detail: dict[str, Any]) -> None:
        super().__init__(message, line=line)
        self.action = action
        self.detail = detail


def scoped_threat(sensor: str, threat: str) -> str:
    """`<sensor>/<threat>`, the sensor's name with `%` and `/` escaped: the first `/` always
    ends the name, so no two sensors can make the same id."""
    return _escaped(sensor) + "/" + threat


def threat_owner(threat_id: str) -> tuple[str | None, str]:
    """(sensor, the sensor's own id) of a scoped id; (None, id) for one that is not (an
    operator's, or a log from before ids were scoped)."""
    head, slash, tail = threat_id.partition("/")
    if not slash:
        return None, threat_id
    return head.replace("%2F", "/").replace("%25", "%"), tail


@functools.lru_cache(maxsize=1024)
def _escaped(sensor: str) -> str:
    return sensor.replace("%", "%25").replace("/", "%2F")


class SensorLane:
    """One batch from one client, checked line by line against the lane's rules."""

    def __init__(self, settings: LaneSettings, sensor: str, received_ms: int) -> None:
        self.settings = settings
        self.sensor = sensor
        self.prefix = _escaped(sensor) + "/"
        self.prefix_ok = bool(_PRINTABLE.match(self.prefix))
        self.received_ms = received_ms
        self.skew_ms = int(settings.max_skew_s * 1000)
        self.window_ms = 1000 * settings.reorder_window_s

    def refuse_privileged(self, items: Iterable[tuple[int, Event]]) -> None:
        """A manual action (or, on the wall clock, a tick) anywhere in the batch refuses it
        whole: nothing of a batch that tries is taken."""
        for line, event in items:
            if isinstance(event, Manual):
                raise LaneRefusal(
                    f"line {line}: manual alerts and clears are not taken on /v1/events, "
                    "from any token; an operator sends them with POST /v1/actions (a real "
                    "alert takes a second step there, the blast-radius guard checks its "
                    "reach and the audit log keeps who sent it)",
                    line=line,
                    action="events.manual.refused",
                    detail={
                        "line": line,
                        "action": event.action,
                        "status": event.status,
                        "zones": len(event.zones or []),
                        "region": event.region,
                        "by": event.by,
                    },
                )
            if isinstance(event, Relay | Source):
                kind = "relay" if isinstance(event, Relay) else "source"
                raise LaneRefusal(
                    f"line {line}: relayed feeds enter only through `airwarn serve --follow` "
                    "(and operators act on them at /v1/relays), never as posted events",
                    line=line,
                    action=f"events.{kind}.refused",
                    detail={"line": line},
                )
            if isinstance(event, Tick) and self.settings.clock == "wall":
                raise LaneRefusal(
                    f"line {line}: a tick moves the engine's clock, and on this server only "
                    "its own clock does that; sensors send tracks and ends",
                    line=line,
                    action="events.tick.refused",
                    detail={"line": line, "t": _text(event.t)},
                )

    def admit(self, event: Event, engine: EngineView) -> Event:
        """The event as it is logged (its threat scoped by the sender), or a LaneError."""
        if isinstance(event, Tick):
            return event  # the event clock's ticks: refuse_privileged let them through
        if not isinstance(event, Track | End):  # refuse_privileged has refused the rest
            raise LaneError("only tracks and ends go on this lane", field="$.type", audited=True)
        if len(event.threat) > SENSOR_THREAT_MAX:
            raise LaneError(
                f"a threat id is at most {SENSOR_THREAT_MAX} characters",
                field="$.threat",
                value=event.threat,
            )
        threat = self.prefix + event.threat
        if len(threat) > THREAT_MAX or not self.prefix_ok:
            raise LaneError(
                f"this token's name with the threat id ({threat!r}) is over "
                f"{THREAT_MAX} characters or holds control characters; use a "
                "shorter threat id, or a token with a plainer name",
                field="$.threat",
                value=event.threat,
            )
        t_ms = to_ms(event.t)
        if self.settings.clock == "wall":
            ahead_ms = t_ms - self.received_ms
            if ahead_ms > self.skew_ms:
                raise LaneError(
                    f"`t` is {ahead_ms / 1000:.1f} s ahead of the server's clock; reports "
                    f"more than {self.settings.max_skew_s:g} s in the future are refused "
                    "(check the sensor's clock: NTP)",
                    field="$.t",
                    value=_text(event.t),
                    audited=True,
                )
        newest = engine.clock_ms
        if self.settings.clock == "wall":
            newest = self.received_ms if newest is None else max(newest, self.received_ms)
        if newest is not None and newest - t_ms > self.window_ms:
            raise LaneError(
                f"`t` is {(newest - t_ms) / 1000:.1f} s old, older than the reorder window "
                f"({self.settings.reorder_window_s} s): the engine could no longer use it; "
                "send reports as they are made"
                + (
                    " (to replay a recorded or simulated raid, run the server with --clock events)"
                    if self.settings.clock == "wall"
                    else ""
                ),
                field="$.t",
                value=_text(event.t),
            )
        # a drill's or test's threats are apart from the real ones (their own engine), and
        # count towards what the sensor may hold as the real ones do
        status = lane_status(event)
        if isinstance(event, Track) and not engine.holds(threat, status):
            held = engine.threats_held(self.prefix)
            if held >= self.settings.max_threats and engine.threat_state(threat, status) != "ended":
                raise LaneError(
                    f"this sensor holds {held} threats in flight or lost and resumable, and "
                    f"may hold {self.settings.max_threats}: a report that starts another is "
                    "refused. End those that are over with an `end` of reason impact or "
                    "intercepted (a `lost` one is kept resume_s for its sensor to take up "
                    "again), or raise the server's --max-threats-per-sensor",
                    field="$.threat",
                    value=event.threat,
                    audited=True,
                )
        if isinstance(event, End) and engine.threat_state(threat, status) is None:
            raise LaneError(
                f"this sensor never reported threat {event.threat!r}"
                + ("" if status == "actual" else f" with status {status}")
                + ": a sensor ends only the threats it reported (ids are scoped per sensor, "
                "and a drill's or test's apart from the real ones: an end carries the status "
                "its threat's reports did)",
                field="$.threat",
                value=event.threat,
                audited=True,
            )
        return msgspec.structs.replace(event, threat=threat)


def _text(t: Any) -> str:
    from airwarn.contract import format_time

    return format_time(to_ms(t))
