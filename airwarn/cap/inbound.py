"""CAP from other agencies: checked against the CAP 1.2 schema, then summarised.

Parsing is safe against hostile input: a size limit, no network, no DTD (so no external
entities and no entity expansion bombs). CAP 1.1 documents are read as CAP 1.2 (1.2 only
added values; what a 1.1 document may hold, 1.2 accepts) and say so in `cap_version`.
Whatever is wrong is named with its line and element, e.g. `line 17, field
/alert/info/urgency: ...`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import shapely
from lxml import etree
from pyproj import CRS, Transformer
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from airwarn.errors import ContractError, UnavailableError

CAP12_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP11_NS = "urn:oasis:names:tc:emergency:cap:1.1"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
# The OASIS schema: shipped beside this module when packaged, else the project's shared copy.
SCHEMA_PATHS = (
    Path(__file__).with_name("cap12.xsd"),
    Path.home() / ".cache" / "airwarn" / "cap12.xsd",
    Path(__file__).resolve().parents[3] / "shared" / "schemas" / "cap12.xsd",
)
SCHEMA_URL = "http://docs.oasis-open.org/emergency/cap/v1.2/CAP-v1.2.xsd"
MAX_BYTES = 2 * 1024 * 1024
NAME_MAX = 256  # an identifier's or a sender's characters: as wide as the store keeps them
# Circles become polygons with this many segments per quarter turn.
CIRCLE_QUAD_SEGS = 16

_C = f"{{{CAP12_NS}}}"
_NS_IN_TEXT = re.compile(r"\{urn:oasis:names:tc:emergency:cap:1\.[12]\}")
_NS_PREFIX = re.compile(r"\bns\d+:")
_SCHEMA_LOCK = threading.Lock()


class CapError(ContractError):
    """A CAP document is unusable: not XML, not valid CAP 1.2, or a bad polygon or time.

    As with every ContractError, `line` is 1-based and `field` names the element as a path
    such as `/alert/info[1]/area[2]/polygon[1]`.
    """


@dataclass(frozen=True)
class InboundArea:
    """One `<area>`: shapes in WGS84 lon/lat, geocodes as (valueName, value)."""

    description: str
    polygons: tuple[Polygon, ...]
    circles: tuple[BaseGeometry, ...]  # Polygon, or Point for a zero radius
    geocodes: tuple[tuple[str, str], ...]

    @property
    def geometry(self) -> BaseGeometry:
        """All the area's shapes as one geometry (empty when it has only geocodes)."""
        return unary_union([*self.polygons, *self.circles])


@dataclass(frozen=True)
class InboundInfo:
    """One `<info>` block, summarised."""

    language: str
    categories: tuple[str, ...]
    event: str
    response_types: tuple[str, ...]
    urgency: str
    severity: str
    certainty: str
    headline: str | None
    description: str | None
    instruction: str | None
    effective_ms: int | None
    onset_ms: int | None
    expires_ms: int | None
    areas: tuple[InboundArea, ...]


@dataclass(frozen=True)
class InboundAlert:
    """A CAP message from elsewhere, valid and summarised."""

    identifier: str
    sender: str
    sent_ms: int
    status: str
    msg_type: str
    scope: str
    note: str | None
    references: tuple[tuple[str, str, int], ...]  # (sender, identifier, sent_ms)
    infos: tuple[InboundInfo, ...]
    signed: bool  # carries an XML signature (not verified here: see airwarn.cap.trust.judge)
    cap_version: str  # "1.2", or "1.1" read as 1.2


def parse_inbound(
    data: bytes, *, source: str | None = None, max_bytes: int = MAX_BYTES
) -> InboundAlert:
    """The CAP message in `data`, or CapError naming what is wrong and where."""
    if not data or not data.strip():
        raise CapError("the body is empty; send one CAP <alert> document", source=source)
    if len(data) > max_bytes:
        raise CapError(
            f"the document is {len(data)} bytes, more than the {max_bytes} accepted", source=source
        )
    root = _parse_xml(data, source)
    version = _cap_version(root, source)
    if version == "1.1":
        for element in root.iter():
            if isinstance(element.tag, str) and element.tag.startswith(f"{{{CAP11_NS}}}"):
                element.tag = _C + etree.QName(element).localname
    _validate(root, source)
    return _Reader(source).alert(root, version)


# -- inside ---------------------------------------------------------------------------------


def schema_path() -> Path:
    """Where the CAP 1.2 schema is read from."""
    for path in SCHEMA_PATHS:
        if path.is_file():
            return path
    raise UnavailableError(
        "taking CAP in needs the OASIS CAP 1.2 schema, found in none of "
        + ", ".join(str(p) for p in SCHEMA_PATHS)
        + f"; save {SCHEMA_URL} as {SCHEMA_PATHS[1]}"
    )


@cache
def _schema() -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(schema_path()), parser))


def _validate(root: etree._Element, source: str | None) -> None:
    schema = _schema()
    # One schema object, one error log: validations take turns.
    with _SCHEMA_LOCK:
        if schema.validate(root):
            return
        errors = list(schema.error_log)
    raise _schema_error(root, errors, source)


def _parse_xml(data: bytes, source: str | None) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise CapError(f"not well-formed XML: {exc.msg}", line=line, source=source) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        # CAP has no DTD; a DOCTYPE is how entity bombs and external entities get in.
        raise CapError("a DOCTYPE is not allowed in a CAP document", line=1, source=source)
    return root


def _cap_version(root: etree._Element, source: str | None) -> str:
    qname = etree.QName(root)
    if qname.localname != "alert" or qname.namespace not in (CAP12_NS, CAP11_NS):
        raise CapError(
            f"the root element is {qname.localname!r} in namespace {qname.namespace!r}; "
            f"a CAP message is an <alert> in {CAP12_NS!r}",
            line=root.sourceline,
            field="/" + qname.localname,
            source=source,
        )
    return "1.2" if qname.namespace == CAP12_NS else "1.1"


def _schema_error(
    root: etree._Element, errors: list[etree._LogEntry], source: str | None
) -> CapError:
    first = errors[0]
    message = _NS_IN_TEXT.sub("", first.message)
    if len(errors) > 1:
        message += f" ({len(errors) - 1} more schema errors after this one)"
    path = _NS_PREFIX.sub("", first.path or "") or None
    try:
        # libxml2 names the element by an XPath such as /*/*[6]; give its CAP name instead.
        found = root.xpath(first.path, namespaces={"ns0": CAP12_NS}) if first.path else []
    except etree.XPathError:
        found = []
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        path = _path(found[0])
    return CapError(
        f"not valid CAP 1.2: {message}", line=first.line or None, field=path, source=source
    )


class _Reader:
    """Reads a schema-valid alert; checks what the schema cannot (polygons, references)."""

    def __init__(self, source: str | None) -> None:
        self.source = source

    def alert(self, root: etree._Element, version: str) -> InboundAlert:
        return InboundAlert(
            identifier=self._name(root, "identifier"),
            sender=self._name(root, "sender"),
            sent_ms=self._time(root.find(_C + "sent")) or 0,
            status=self._text(root, "status") or "",
            msg_type=self._text(root, "msgType") or "",
            scope=self._text(root, "scope") or "",
            note=self._text(root, "note"),
            references=self._references(root.find(_C + "references")),
            infos=tuple(self._info(info) for info in root.findall(_C + "info")),
            signed=root.find(f"{{{DSIG_NS}}}Signature") is not None,
            cap_version=version,
        )

    def _info(self, info: etree._Element) -> InboundInfo:
        return InboundInfo(
            language=self._text(info, "language") or "en-US",
            categories=tuple(self._texts(info, "category")),
            event=self._text(info, "event") or "",
            response_types=tuple(self._texts(info, "responseType")),
            urgency=self._text(info, "urgency") or "",
            severity=self._text(info, "severity") or "",
            certainty=self._text(info, "certainty") or "",
            headline=self._text(info, "headline"),
            description=self._text(info, "description"),
            instruction=self._text(info, "instruction"),
            effective_ms=self._time(info.find(_C + "effective")),
            onset_ms=self._time(info.find(_C + "onset")),
            expires_ms=self._time(info.find(_C + "expires")),
            areas=tuple(self._area(area) for area in info.findall(_C + "area")),
        )

    def _area(self, area: etree._Element) -> InboundArea:
        geocodes = tuple(
            (self._text(code, "valueName") or "", self._text(code, "value") or "")
            for code in area.findall(_C + "geocode")
        )
        return InboundArea(
            description=self._text(area, "areaDesc") or "",
            polygons=tuple(self._polygon(p) for p in area.findall(_C + "polygon")),
            circles=tuple(self._circle(c) for c in area.findall(_C + "circle")),
            geocodes=geocodes,
        )

    def _polygon(self, element: etree._Element) -> Polygon:
        # CAP 1.2 3.2.4: "lat,lon" pairs separated by spaces, WGS84, at least four pairs,
        # the first and last the same.
        text = (element.text or "").strip()
        if not text:
            raise self._error(
                element,
                "the polygon is empty; CAP wants at least four "
                "'lat,lon' points, the first and last the same",
            )
        points = [self._point(element, pair) for pair in text.split()]
        if len(points) < 4:
            raise self._error(
                element,
                f"the polygon has {len(points)} points; CAP wants at "
                "least four, the first and last the same",
                text,
            )
        if points[0] != points[-1]:
            raise self._error(
                element,
                "the polygon is not closed: its first point "
                f"{text.split()[0]} differs from its last {text.split()[-1]}",
                text,
            )
        polygon = Polygon([(lon, lat) for lat, lon in points])
        if polygon.area <= 0:
            raise self._error(element, "the polygon encloses no area", text)
        return polygon

    def _circle(self, element: etree._Element) -> BaseGeometry:
        # CAP 1.2 3.2.4: "lat,lon radius", the radius in kilometres.
        text = (element.text or "").strip()
        parts = text.split()
        if len(parts) != 2:
            raise self._error(element, "a circle is 'lat,lon radius_km'", text)
        lat, lon = self._point(element, parts[0])
        try:
            radius_km = float(parts[1])
        except ValueError:
            raise self._error(
                element, f"the circle's radius {parts[1]!r} is not a number of kilometres", text
            ) from None
        if not radius_km >= 0:
            raise self._error(element, "the circle's radius is negative", text)
        return circle(lon, lat, radius_km * 1000.0)

    def _point(self, element: etree._Element, pair: str) -> tuple[float, float]:
        parts = pair.split(",")
        try:
            lat, lon = (float(part) for part in parts)
        except ValueError:
            raise self._error(
                element,
                f"{pair!r} is not a 'lat,lon' point (a stray comma or space?)",
                element.text,
            ) from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise self._error(
                element,
                f"the point {pair!r} is outside WGS84 (lat -90..90, "
                "lon -180..180; lat comes first)",
                element.text,
            )
        return lat, lon

    def _references(self, element: etree._Element | None) -> tuple[tuple[str, str, int], ...]:
        if element is None:
            return ()
        text = (element.text or "").strip()
        if not text:
            raise self._error(
                element,
                "the references element is empty; leave it out, or "
                "list the earlier messages as 'sender,identifier,sent' "
                "separated by spaces",
            )
        out = []
        for triple in text.split():
            parts = triple.split(",")
            if len(parts) != 3 or not all(parts):
                raise self._error(
                    element, f"the reference {triple!r} is not 'sender,identifier,sent'", text
                )
            out.append((parts[0], parts[1], self._parse_time(element, parts[2])))
        return tuple(out)

    def _time(self, element: etree._Element | None) -> int | None:
        if element is None:
            return None
        return self._parse_time(element, (element.text or "").strip())

    def _parse_time(self, element: etree._Element, text: str) -> int:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise self._error(
                element, f"{text!r} is not a CAP time such as 2002-05-24T16:49:00-07:00", text
            ) from None
        if moment.tzinfo is None:
            raise self._error(element, f"the time {text!r} has no offset", text)
        return int(moment.timestamp() * 1000)

    def _text(self, parent: etree._Element, tag: str) -> str | None:
        child = parent.find(_C + tag)
        if child is None or child.text is None:
            return None
        return child.text.strip() or None

    def _name(self, parent: etree._Element, tag: str) -> str:
        """A message's identifier or sender: what its later messages and a store name it by,
        up to NAME_MAX characters (the schema sets no length)."""
        text = self._text(parent, tag) or ""
        if len(text) > NAME_MAX:
            raise self._error(
                parent.find(_C + tag),  # found: it has text
                f"the {tag} is {len(text)} characters long; at most {NAME_MAX} are taken",
                text[:NAME_MAX] + "...",
            )
        return text

    def _texts(self, parent: etree._Element, tag: str) -> list[str]:
        return [(child.text or "").strip() for child in parent.findall(_C + tag)]

    def _error(self, element: etree._Element, message: str, value: object = None) -> CapError:
        return CapError(
            message, line=element.sourceline, field=_path(element), value=value, source=self.source
        )


def _path(element: etree._Element) -> str:
    """`/alert/info[1]/area[2]/polygon[1]` for an element of a CAP document."""
    steps = []
    node: etree._Element | None = element
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is None:
            steps.append(name)
        else:
            same = [sibling for sibling in parent if sibling.tag == node.tag]
            steps.append(
                f"{name}[{same.index(node) + 1}]"
                if len(same) > 1 or name in ("info", "area", "polygon", "circle")
                else name
            )
        node = parent
    return "/" + "/".join(reversed(steps))


def circle(lon: float, lat: float, radius_m: float) -> BaseGeometry:
    """A circle on the ground as a lon/lat polygon (a Point for a zero radius).

    Buffered in an azimuthal equidistant projection centred on the circle, where distances
    from the centre are true, so the outline is right at any latitude and any radius.
    """
    if radius_m <= 0:
        return Point(lon, lat)
    to_wgs84 = _from_local(round(lon, 6), round(lat, 6))
    disc = Point(0.0, 0.0).buffer(radius_m, quad_segs=CIRCLE_QUAD_SEGS)
    return shapely.transform(disc, to_wgs84.transform, interleaved=False)


@cache
def _from_local(lon: float, lat: float) -> Transformer:
    local = CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m")
    return Transformer.from_crs(local, CRS.from_epsg(4326), always_xy=True)
