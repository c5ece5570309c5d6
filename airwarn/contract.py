"""Contract v1: the events airwarn takes in and the decisions it gives out.

Events are JSON Lines, one object per line, tagged by `type`. Times are RFC 3339; inside
airwarn every time is an integer count of milliseconds since the Unix epoch (`*_ms`), so that
arithmetic on times is exact and replays are byte for byte the same.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, get_args

import msgspec

from airwarn.errors import EventError

Kind = Literal["rocket", "ballistic", "cruise", "drone", "aircraft", "unknown"]
KINDS: tuple[str, ...] = get_args(Kind)
Level = Literal["clear", "pre_alert", "alert"]
LEVELS: tuple[str, ...] = get_args(Level)
EndReason = Literal["impact", "intercepted", "lost"]
Action = Literal["alert", "pre_alert", "clear"]  # an operator's, or a followed source's
# An operator's alert is real (`actual`) unless it is a drill (`exercise`) or a check of the
# system (`test`); those never touch the real levels and every channel marks them as such.
Status = Literal["actual", "exercise", "test"]
STATUSES: tuple[str, ...] = get_args(Status)

# Text that goes on to CAP (XML) and to screens: printable, no control characters.
_PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]*$"
Text = Annotated[str, msgspec.Meta(pattern=_PRINTABLE, max_length=500)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=_PRINTABLE)]
# A sensor names its threats in up to 128 characters; a server logs them scoped by the
# sensor's name (`<sensor>/<threat>`, see airwarn.lanes), which a log replays as they are.
THREAT_MAX = 257
ThreatId = Annotated[str, msgspec.Meta(min_length=1, max_length=THREAT_MAX, pattern=_PRINTABLE)]
Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
Altitude = Annotated[float, msgspec.Meta(ge=-500.0, le=2_000_000.0)]
Sigma = Annotated[float, msgspec.Meta(gt=0.0, le=1_000_000.0)]
Velocity = Annotated[
    list[Annotated[float, msgspec.Meta(ge=-20_000.0, le=20_000.0)]],
    msgspec.Meta(min_length=3, max_length=3),
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


class Track(msgspec.Struct, tag="track", forbid_unknown_fields=True, kw_only=True):
    """A sensor's position report of one threat.

    `status` (optional, an extension of Contract v1 as a manual action's is) marks a drill's
    (`exercise`) or a system test's (`test`) simulated threat: it runs in an engine of its
    own, never changes a zone's real level, and every decision it causes carries the status.
    Absent, or `actual`: a real threat."""

    threat: ThreatId
    kind: Kind
    t: datetime
    lat: Latitude
    lon: Longitude
    alt_m: Altitude = 0.0
    sigma_m: Sigma | None = None
    vel_mps: Velocity | None = None
    # a drill's or a test's simulated threat: its own engine, apart from the real levels
    status: Status | msgspec.UnsetType = msgspec.UNSET


class End(msgspec.Struct, tag="end", forbid_unknown_fields=True, kw_only=True):
    """A threat is over: it hit the ground, was intercepted, or was lost by the sensors."""

    threat: ThreatId
    t: datetime
    reason: EndReason
    status: Status | msgspec.UnsetType = msgspec.UNSET  # the lane of the threat it ends


class Manual(
    msgspec.Struct, tag="manual", forbid_unknown_fields=True, kw_only=True, omit_defaults=True
):
    """An operator's alert or clear for named zones or a whole region.

    Two optional fields extend Contract v1 without breaking it: `status` (a drill or a test
    runs on its own lane, apart from the real levels) and `cancels` (a clear that corrects an
    alert sent in error names that alert, so every channel can send a cancellation).
    """

    action: Action
    t: datetime
    zones: list[Name] | None = None
    region: Name | None = None
    category: Annotated[str, msgspec.Meta(max_length=64, pattern=_PRINTABLE)] | None = None
    by: Name | None = None
    reason: Text | None = None
    status: Status = "actual"
    cancels: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=256, pattern=_PRINTABLE)] | None
    ) = None


class Tick(msgspec.Struct, tag="tick", forbid_unknown_fields=True, kw_only=True):
    """The clock moves on with nothing else to report (a live server sends these)."""

    t: datetime


SourceName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$")
]
SourceText = Annotated[str, msgspec.Meta(max_length=128, pattern=_PRINTABLE)]
# a relayed feed's word for the threat; the store's `kind` holds up to 64 (an operator's)
Category = Annotated[str, msgspec.Meta(max_length=32, pattern=_PRINTABLE)]


class Relay(
    msgspec.Struct, tag="relay", forbid_unknown_fields=True, kw_only=True, omit_defaults=True
):
    """An official feed's alert or clear for some zones, relayed (`airwarn serve --follow`).

    A lane of its own per `source`: it never changes the zones' own levels, and its decisions
    carry `source`. `t` is when this server learned it; `since` the source's own time of the
    change, `id` its own name for the alert, `category` its own word for the threat. With
    `override`, an operator (`by`) clears what the source says for these zones until the
    source itself clears them (`action: clear`), or follows the source again (`alert`).
    """

    source: SourceName
    action: Action
    t: datetime
    zones: list[Name]
    category: Category | None = None
    id: SourceText | None = None
    since: datetime | None = None
    by: Name | None = None
    override: bool = False
    reason: Text | None = None


SourceStateName = Literal["starting", "live", "stale", "failed", "stopped"]
SOURCE_STATES: tuple[str, ...] = ("starting", "live", "stale", "failed", "stopped")


class Source(
    msgspec.Struct, tag="source", forbid_unknown_fields=True, kw_only=True, omit_defaults=True
):
    """A relayed feed's health changed: `live` (answering), `stale` (silent past its limit),
    `failed` (answering with an error that waiting will not cure: a bad token, a changed
    format), `starting` (not heard from yet), `stopped` (no longer followed). Silence is never
    safety: while a source is not live, what it last said stands, marked as not current."""

    name: SourceName
    state: SourceStateName
    t: datetime
    why: Text | None = None
    url: Text | None = None


Event = Track | End | Manual | Tick | Relay | Source


class RelayedFrom(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Where a relayed decision comes from: the feed, its id for the alert, its own time of
    the change, and who overrode it here (an operator), if anyone did."""

    name: str
    id: str | None = None
    t: str | None = None
    by: str | None = None


class Decision(msgspec.Struct, kw_only=True):
    """One change of one zone's level. `t` is when the change takes effect.

    Two optional fields extend Contract v1 for relayed feeds: `source` marks a decision of a
    relayed lane (absent: this server's own), and `in_force` is the level another lane still
    holds the zone at, when that is higher than `level` (a clear that is not an all-clear).
    """

    seq: int
    t: str
    zone: str
    level: Level
    threats: list[str]
    kind: str | None
    status: Status | msgspec.UnsetType = msgspec.UNSET  # only drills and tests carry it
    source: RelayedFrom | msgspec.UnsetType = msgspec.UNSET  # only relayed decisions
    in_force: Level | msgspec.UnsetType = msgspec.UNSET


_decoder = msgspec.json.Decoder(Event)
_generic = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()
_PATH = re.compile(r"at `(\$[^`]*)`")


def to_ms(t: datetime) -> int:
    """Milliseconds since the epoch for an aware datetime (exact, no float rounding)."""
    return (t - _EPOCH) // _MS


def format_time(t_ms: int) -> str:
    """RFC 3339 UTC with milliseconds, as every decision carries it."""
    return _format_second(t_ms // 1000) + f"{t_ms % 1000:03d}Z"


@functools.lru_cache(maxsize=256)
def _format_second(t_s: int) -> str:
    # decisions come in bursts within the same second: format each second once
    return (_EPOCH + timedelta(seconds=t_s)).strftime("%Y-%m-%dT%H:%M:%S.")


def parse_time(text: str) -> int:
    """Parse an RFC 3339 time (with `Z` or an offset) to milliseconds since the epoch."""
    try:
        dt = msgspec.json.decode(msgspec.json.encode(text), type=datetime)
    except msgspec.ValidationError as exc:
        raise EventError(f"not an RFC 3339 time: {exc}", value=text) from None
    if dt.tzinfo is None:
        raise EventError("time has no zone offset; write it as UTC with a trailing Z", value=text)
    return to_ms(dt)


def _value_at(raw: bytes, path: str) -> Any:
    """The value a JSON path such as `$.zones[0]` points at, for error messages; None if absent."""
    try:
        node: Any = _generic.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    for key, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path[1:]):
        try:
            node = node[key] if key else node[int(index)]
        except (KeyError, IndexError, TypeError):
            return None
    return node


# the fields of an event that take one of a few words, and the words (for a refusal's text)
_CHOICES: dict[str, tuple[str, ...]] = {
    "$.kind": KINDS,
    "$.reason": get_args(EndReason),
    "$.action": get_args(Action),
    "$.status": STATUSES,
}


def parse_event(raw: bytes | str, line: int | None = None) -> Event:
    """Decode and validate one event; an EventError names the line, the field and the value."""
    if isinstance(raw, str):
        raw = raw.encode()
    try:
        event = _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _PATH.search(text)
        field = match.group(1) if match else None
        message = _PATH.sub("", text).rstrip(" -")
        if "Object missing required field" in message:
            name = message.split("`")[1]
            field = f"{field}.{name}" if field and field != "$" else f"$.{name}"
            message = f"required field `{name}` is missing"
        elif "Expected `object`, got `array`" in message and field is None:
            message = (
                "each line must be one JSON object, not an array: send JSON Lines, one "
                "event per line"
            )
        elif "Expected `object`, got" in message and field is None:
            message = "each line must be one JSON object"
        elif "Invalid enum value" in message and field in _CHOICES:
            name = field.removeprefix("$.")
            message = f"{message}; `{name}` is one of {', '.join(_CHOICES[field])}"
        elif "Invalid value" in message and field == "$.type":
            message = "`type` must be one of track, end, manual, tick, relay, source"
        elif "Expected `str` matching regex" in message:
            message = "control characters are not allowed in text"
        elif "Object contains unknown field" in message:
            name = message.split("`")[1]
            field = f"{field}.{name}" if field and field != "$" else f"$.{name}"
            message = f"unknown field `{name}` (check its spelling against Contract v1)"
        value = _value_at(raw, field) if field else None
        raise EventError(message, line=line, field=field, value=value) from None
    except msgspec.DecodeError as exc:
        raise EventError(f"not valid JSON: {exc}", line=line) from None
    except RecursionError:
        raise EventError(
            "the JSON nests too deeply; an event is one flat object", line=line
        ) from None
    if event.t.tzinfo is None or (
        isinstance(event, Relay) and event.since is not None and event.since.tzinfo is None
    ):
        raise EventError(
            "time has no zone offset; write it as UTC with a trailing Z",
            line=line,
            field="$.t" if event.t.tzinfo is None else "$.since",
            value=_value_at(raw, "$.t" if event.t.tzinfo is None else "$.since"),
        )
    if isinstance(event, Manual) and (event.zones is None) == (event.region is None):
        raise EventError(
            "a manual action names either `zones` (a list of zone ids) or `region`, not both "
            "and not neither",
            line=line,
            field="$.zones",
        )
    return event


def read_events(
    lines: Iterable[bytes],
    *,
    skip_invalid: bool = False,
    on_skip: Any = None,
) -> Iterator[tuple[int, Event]]:
    """Yield (line number, event) from JSON Lines; blank lines are passed over.

    With `skip_invalid`, an invalid line is handed to `on_skip(error)` and skipped;
    without it, the first invalid line raises.
    """
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            yield number, parse_event(raw, line=number)
        except EventError as error:
            if not skip_invalid:
                raise
            if on_skip is not None:
                on_skip(error)


def encode_decision(decision: Decision) -> bytes:
    """One decision as one JSON line (no trailing newline); field order is fixed."""
    return _encoder.encode(decision)


def decode_decision(raw: bytes | str) -> Decision:
    return msgspec.json.decode(raw, type=Decision)


def encode_event(event: Event) -> bytes:
    return _encoder.encode(event)


def lane_status(event: Track | End) -> str:
    """The lane a sensor's event belongs to: `actual` unless it says `exercise` or `test`."""
    status = event.status
    return "actual" if isinstance(status, msgspec.UnsetType) else status
