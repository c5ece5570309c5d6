"""One CAP 1.2 message from one warning: what people read and what receivers match on.

A `CapWarning` is one message's worth of decisions (one stage, one kind, one status, some zones);
`build_cap` turns it into an `<alert>` that validates against the OASIS CAP 1.2 schema. The
zones go out twice: as `<polygon>`s for receivers that target by place, and as `<geocode>`s
(`airwarn:zone`, `airwarn:region`) for receivers that know airwarn's zone ids.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import shapely
from lxml import etree
from shapely.geometry import GeometryCollection, MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
_C = f"{{{CAP_NS}}}"

# Outlines are simplified to keep messages small; 0.0005 degrees is about 55 m.
SIMPLIFY_DEG = 0.0005
# Five decimals of a degree are about a metre: finer than any alert zone needs.
DECIMALS = 5
# How many zone names the description lists before it says "and N more".
NAMES_LISTED = 12

EVENTS = {
    "rocket": "Rocket and missile fire",
    "ballistic": "Ballistic missile",
    "cruise": "Cruise missile",
    "drone": "Hostile aircraft intrusion (drones)",
    "aircraft": "Hostile aircraft intrusion",
    "unknown": "Air threat",
}
DEFAULT_EVENT = "Air threat"
STATUSES = ("Actual", "Exercise", "Test")
MSG_TYPES = ("Alert", "Update", "Cancel")
LEVELS = ("pre_alert", "alert", "clear")


@dataclass(frozen=True)
class CapZone:
    """One zone as CAP shows it: `geometry` in WGS84 lon/lat (Polygon or MultiPolygon)."""

    id: str
    name: str | None
    region: str | None
    geometry: BaseGeometry


@dataclass(frozen=True)
class CapWarning:
    """One message's worth of decisions: a stage, a kind and a status for some zones."""

    identifier: str  # unique per message and deterministic, e.g. "urn:airwarn:example.org:17"
    sender: str  # e.g. "airwarn@example.org"
    sent_ms: int  # ms since the epoch, UTC
    status: str  # Actual | Exercise | Test
    msg_type: str  # Alert | Update | Cancel
    level: str  # pre_alert | alert | clear (clear: the event has ended)
    kind: str | None  # rocket | ballistic | cruise | drone | aircraft | unknown | None (manual)
    zones: tuple[CapZone, ...]
    references: tuple[tuple[str, int], ...] = ()  # (identifier, sent_ms) this one supersedes
    threats: tuple[str, ...] = ()
    note: str | None = None  # the operator's reason; required for Cancel
    expires_ms: int | None = None
    language: str = "en-US"
    source: str | None = None  # the official feed it relays (airwarn.engine.relay), if it does
    source_t_ms: int | None = None  # that feed's own time of the change


@dataclass(frozen=True)
class _Stage:
    """What one stage asks of people, in CAP's codes and in words."""

    response: tuple[str, ...]
    urgency: str
    severity: str
    certainty: str
    headline: str
    description: str
    instruction: str


# The codes per stage, after CAP 1.2 section 3.2.2:
# - alert: the threat is in flight now (Observed) and the zone is within its reach; people
#   must act at once (Immediate) against a threat to life (Extreme): Shelter.
# - pre_alert: alerts may follow within minutes (Expected, "within the next hour"); whether
#   this zone is reached is not yet known (Possible); Prepare and Monitor.
# - clear: the event is over (Past, Minor, Observed): AllClear.
# - Cancel: the earlier message was sent in error; nothing is expected (Unlikely): AllClear.
_STAGES = {
    "alert": _Stage(
        response=("Shelter",),
        urgency="Immediate",
        severity="Extreme",
        certainty="Observed",
        headline="{event}: take shelter now",
        description="{event} threatens {areas}.",
        instruction="Enter the protected space now and stay 10 minutes.",
    ),
    "pre_alert": _Stage(
        response=("Prepare", "Monitor"),
        urgency="Expected",
        severity="Severe",
        certainty="Possible",
        headline="{event}: alerts expected soon",
        description="Alerts are expected in your area in the coming minutes: {areas}.",
        instruction="Stay near a protected space and follow the instructions that follow.",
    ),
    "clear": _Stage(
        response=("AllClear",),
        urgency="Past",
        severity="Minor",
        certainty="Observed",
        headline="{event}: the event has ended",
        description="The event has ended in {areas}.",
        instruction="The event has ended. You may leave the protected space.",
    ),
    "cancel": _Stage(
        response=("AllClear",),
        urgency="Past",
        severity="Minor",
        certainty="Unlikely",
        headline="{event}: earlier message cancelled",
        description="The earlier message for {areas} is cancelled: {note}",
        instruction="The earlier message was cancelled. You may leave the protected space.",
    ),
}

_DRILL_WORDS = {
    "Exercise": ("EXERCISE", "This is an exercise. There is no real threat."),
    "Test": ("TEST", "This is a test message. There is no real threat."),
}


def cap_time(ms: int) -> str:
    """A CAP dateTime with seconds precision.

    CAP 1.2 (3.3.2, `sent`) forbids "Z" and writes UTC as "-00:00"; fractions of a second do
    not fit its pattern and are dropped (floored, so that a time never moves later).
    """
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"


def build_cap(warning: CapWarning) -> etree._Element:
    """The CAP 1.2 `<alert>` for `warning`, valid against the OASIS schema."""
    _check(warning)
    alert = etree.Element(_C + "alert", nsmap={None: CAP_NS})
    _sub(alert, "identifier", warning.identifier)
    _sub(alert, "sender", warning.sender)
    _sub(alert, "sent", cap_time(warning.sent_ms))
    _sub(alert, "status", warning.status)
    _sub(alert, "msgType", warning.msg_type)
    if warning.source is not None:
        _sub(alert, "source", f"relayed from {warning.source}")
    _sub(alert, "scope", "Public")
    note = warning.note
    if note is None and warning.status in _DRILL_WORDS:
        note = _DRILL_WORDS[warning.status][1]
    if note:
        _sub(alert, "note", note)
    if warning.references:
        # CAP 1.2 3.2.1: space-separated "sender,identifier,sent" triples.
        _sub(
            alert,
            "references",
            " ".join(
                f"{warning.sender},{identifier},{cap_time(sent_ms)}"
                for identifier, sent_ms in warning.references
            ),
        )
    _info(alert, warning)
    return alert


def to_bytes(element: etree._Element) -> bytes:
    """UTF-8 XML with its declaration."""
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8")


def event_text(kind: str | None) -> str:
    """The CAP `event` in words for a threat kind."""
    return EVENTS.get(kind or "", DEFAULT_EVENT)


def headline(warning: CapWarning) -> str:
    """The one line people see first, marked for drills."""
    text = _stage(warning).headline.format(event=event_text(warning.kind))
    if warning.status in _DRILL_WORDS:
        text = f"{_DRILL_WORDS[warning.status][0]}: {text}"
    if warning.source is not None:
        text = f"{warning.source}: {text}"
    return text


@functools.lru_cache(maxsize=20_000)
def _zone_polygons(geometry: BaseGeometry) -> tuple[str, ...]:
    """A zone's CAP polygons: zones do not change, so each is worked out once."""
    return tuple(cap_polygon(ring) for ring in polygon_rings(geometry))


def polygon_rings(geometry: BaseGeometry) -> list[list[tuple[float, float]]]:
    """The closed outer rings (lon, lat) that CAP gets for a zone, simplified and rounded.

    The outline is grown by the simplification tolerance before it is simplified, so the
    simplified ring still covers the zone: nobody inside a zone falls outside its message.
    Holes are dropped (CAP polygons have none), which also only covers more. A part too thin
    to keep an area falls back to its convex hull, then to its bounding box.
    """
    if geometry.is_empty:
        return []
    original = geometry
    if not geometry.is_valid:
        geometry = _repaired(geometry)
    # Grown a little more than the tolerance, with coarse round corners (whose chords fall
    # 8% short of the radius), so that the outline stays outside the zone everywhere.
    grown = geometry.buffer(1.1 * SIMPLIFY_DEG, quad_segs=2)
    outline = grown
    for tolerance in (SIMPLIFY_DEG, SIMPLIFY_DEG / 4):
        # GEOS can cut a little deeper than the tolerance near a ring's start; check.
        simplified = grown.simplify(tolerance, preserve_topology=True)
        if simplified.covers(geometry):
            outline = simplified
            break
    rings = []
    for part in _polygons(outline):
        ring = _rounded_ring(part)
        if ring is None:
            ring = _rounded_ring(part.convex_hull)
        if ring is None:
            ring = _rounded_ring(_box_around(part))
        if ring is not None:
            rings.append(ring)
    # A repair can drop a part that has collapsed to a spike or a sliver; whatever the zone
    # is, its message must cover it: then its grown convex hull does.
    outline_kept = shapely.union_all([Polygon(r) for r in rings]) if rings else None
    if outline_kept is None or not outline_kept.buffer(2 * 10.0**-DECIMALS).covers(original):
        hull = original.convex_hull.buffer(1.1 * SIMPLIFY_DEG, quad_segs=2)
        ring = _rounded_ring(hull) or _rounded_ring(_box_around(hull))
        rings = [ring] if ring is not None else rings
    return rings


def cap_polygon(ring: Iterable[tuple[float, float]]) -> str:
    """A CAP `<polygon>` value: "lat,lon lat,lon ..." from (lon, lat) points."""
    return " ".join(f"{_num(lat)},{_num(lon)}" for lon, lat in ring)


# -- inside ---------------------------------------------------------------------------------


def _check(warning: CapWarning) -> None:
    for name, value, allowed in (
        ("status", warning.status, STATUSES),
        ("msg_type", warning.msg_type, MSG_TYPES),
        ("level", warning.level, LEVELS),
    ):
        if value not in allowed:
            raise ValueError(
                f"CapWarning.{name} must be one of {', '.join(allowed)}, got {value!r}"
            )
    for field, text in (("identifier", warning.identifier), ("sender", warning.sender)):
        # CAP 1.2 3.2.1: no spaces, commas or restricted characters (< and &).
        if not text or any(c in text for c in " ,<&") or any(c.isspace() for c in text):
            raise ValueError(
                f"CapWarning.{field} must be non-empty without spaces, commas, "
                f"'<' or '&', got {text!r}"
            )


def _stage(warning: CapWarning) -> _Stage:
    return _STAGES["cancel" if warning.msg_type == "Cancel" else warning.level]


def _info(alert: etree._Element, warning: CapWarning) -> None:
    stage = _stage(warning)
    event = event_text(warning.kind)
    info = _sub(alert, "info")
    _sub(info, "language", warning.language)
    # Air attack is a military threat (Security) against which the public acts (Safety).
    _sub(info, "category", "Security")
    _sub(info, "category", "Safety")
    _sub(info, "event", event)
    for response in stage.response:
        _sub(info, "responseType", response)
    _sub(info, "urgency", stage.urgency)
    _sub(info, "severity", stage.severity)
    _sub(info, "certainty", stage.certainty)
    _sub(
        info,
        "eventCode",
        children=(("valueName", "airwarn:kind"), ("value", warning.kind or "manual")),
    )
    if warning.source_t_ms is not None:
        _sub(info, "onset", cap_time(warning.source_t_ms))
    if warning.expires_ms is not None:
        _sub(info, "expires", cap_time(warning.expires_ms))
    _sub(info, "senderName", "airwarn")
    _sub(info, "headline", headline(warning))
    reason = (warning.note or "").strip() or "no reason was given."
    description = stage.description.format(
        event=event, areas=_area_names(warning.zones), note=reason
    )
    if warning.status in _DRILL_WORDS:
        description = f"{_DRILL_WORDS[warning.status][1]} {description}"
    _sub(info, "description", description)
    _sub(info, "instruction", stage.instruction)
    _sub(info, "parameter", children=(("valueName", "airwarn:level"), ("value", warning.level)))
    if warning.threats:
        _sub(
            info,
            "parameter",
            children=(("valueName", "airwarn:threats"), ("value", " ".join(warning.threats))),
        )
    if warning.source is not None:
        _sub(
            info,
            "parameter",
            children=(("valueName", "airwarn:relayed-from"), ("value", warning.source)),
        )
    for zone in warning.zones:
        area = _sub(info, "area")
        _sub(area, "areaDesc", zone.name or zone.id)
        for polygon in _zone_polygons(zone.geometry):
            _sub(area, "polygon", polygon)
        _sub(area, "geocode", children=(("valueName", "airwarn:zone"), ("value", zone.id)))
        if zone.region:
            _sub(
                area, "geocode", children=(("valueName", "airwarn:region"), ("value", zone.region))
            )


def _area_names(zones: tuple[CapZone, ...]) -> str:
    names = [zone.name or zone.id for zone in zones]
    if not names:
        return "no named area"
    if len(names) > NAMES_LISTED:
        shown = ", ".join(names[:NAMES_LISTED])
        return f"{shown} and {len(names) - NAMES_LISTED} more areas"
    return ", ".join(names)


def _sub(
    parent: etree._Element,
    tag: str,
    text: str | None = None,
    children: Iterable[tuple[str, str]] = (),
) -> etree._Element:
    element = etree.SubElement(parent, _C + tag)
    if text is not None:
        element.text = text
    for child_tag, child_text in children:
        _sub(element, child_tag, child_text)
    return element


def _polygons(geometry: BaseGeometry) -> Iterator[Polygon]:
    if isinstance(geometry, Polygon):
        if not geometry.is_empty:
            yield geometry
    elif isinstance(geometry, MultiPolygon | GeometryCollection):
        for part in geometry.geoms:
            yield from _polygons(part)


def _rounded_ring(polygon: BaseGeometry) -> list[tuple[float, float]] | None:
    if not isinstance(polygon, Polygon) or polygon.is_empty or polygon.area <= 0:
        return None
    ring: list[tuple[float, float]] = []
    for x, y in polygon.exterior.coords:
        point = (round(x, DECIMALS), round(y, DECIMALS))
        if not ring or point != ring[-1]:
            ring.append(point)
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    # CAP 1.2 3.2.4: at least four points, the first and last the same.
    if len(set(ring)) < 3 or len(ring) < 4:
        return None
    return ring


def _repaired(geometry: BaseGeometry) -> BaseGeometry:
    """A valid geometry covering all of `geometry`: overlapping parts are joined, not cut out
    (GEOS's default repair would turn an overlap into a hole, leaving people unwarned)."""
    try:
        return shapely.make_valid(geometry, method="structure")
    except TypeError:  # shapely < 2.1 has only the "linework" repair
        return unary_union([shapely.make_valid(part) for part in _polygons(geometry)])


def _box_around(geometry: BaseGeometry) -> Polygon:
    minx, miny, maxx, maxy = geometry.bounds
    pad = 10.0**-DECIMALS
    return box(minx - pad, miny - pad, maxx + pad, maxy + pad)


def _num(value: float) -> str:
    text = f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
