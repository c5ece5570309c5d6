"""airwarn's outgoing CAP 1.2: valid against the OASIS schema, readable by an independent
parser, signed so that a forged or altered message is caught, and plain in words per stage.

Real Israeli zones are read from ../shared/data beside the repository; the schema from
../shared/schemas. Tests that need them skip with the reason when they are absent.
"""

from __future__ import annotations

import json
import os
import stat
from functools import cache
from pathlib import Path

import pytest
from capparselib.parsers import CAPParser
from conftest import DATA, DATA_MISSING, SCHEMAS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from shapely.geometry import MultiPolygon, Polygon, box, shape
from shapely.geometry.base import BaseGeometry

from airwarn.cap import (
    CapSignatureError,
    CapWarning,
    CapZone,
    SigningKeys,
    atom_feed,
    build_cap,
    generate_keypair,
    load_or_create_keys,
    parse_inbound,
    sign,
    to_bytes,
    verify,
)
from airwarn.cap.build import polygon_rings
from airwarn.errors import AirwarnError

CAP = "urn:oasis:names:tc:emergency:cap:1.2"
NS = {"cap": CAP, "ds": "http://www.w3.org/2000/09/xmldsig#", "atom": "http://www.w3.org/2005/Atom"}
XSD = SCHEMAS / "cap12.xsd"
ISRAEL = DATA / "israel" / "israel_alert_areas.geojson"
T0_MS = 1_772_388_009_000  # 2026-03-01T18:00:09Z

needs_xsd = pytest.mark.skipif(not XSD.is_file(), reason=f"CAP 1.2 schema not found at {XSD}")
needs_israel = pytest.mark.skipif(not ISRAEL.is_file(), reason=DATA_MISSING)


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def assert_valid(document: etree._Element | bytes) -> None:
    root = etree.fromstring(document) if isinstance(document, bytes) else document
    xsd = schema()
    assert xsd.validate(root), "\n".join(str(e) for e in xsd.error_log)


@pytest.fixture(scope="session")
def keys() -> SigningKeys:
    return SigningKeys(*generate_keypair("airwarn test signing"))


@pytest.fixture(scope="session")
def other_keys() -> SigningKeys:
    return SigningKeys(*generate_keypair("someone else"))


# -- warnings to build -------------------------------------------------------------------------

SQUARE = CapZone("sq", "Square town", "North", box(34.80, 32.00, 34.83, 32.03))
TWO_ISLANDS = CapZone(
    "isl",
    "Two islands",
    None,
    MultiPolygon([box(34.90, 32.10, 34.92, 32.12), box(34.95, 32.15, 34.97, 32.16)]),
)
HOLED = CapZone(
    "ring",
    None,
    "South",
    Polygon(
        [(35.0, 31.0), (35.1, 31.0), (35.1, 31.1), (35.0, 31.1)],
        [[(35.03, 31.03), (35.07, 31.03), (35.07, 31.07), (35.03, 31.07)]],
    ),
)


def warning(**changes: object) -> CapWarning:
    fields: dict[str, object] = dict(
        identifier="urn:airwarn:example.org:17",
        sender="airwarn@example.org",
        sent_ms=T0_MS,
        status="Actual",
        msg_type="Alert",
        level="alert",
        kind="rocket",
        zones=(SQUARE, TWO_ISLANDS, HOLED),
        threats=("t-1",),
    )
    fields.update(changes)
    return CapWarning(**fields)  # type: ignore[arg-type]


REF = (("urn:airwarn:example.org:16", T0_MS - 60_000),)
CASES = {
    "alert": warning(),
    "pre_alert": warning(level="pre_alert", kind="ballistic", expires_ms=T0_MS + 600_000),
    "all_clear": warning(level="clear", msg_type="Update", references=REF, kind="drone"),
    "update": warning(
        msg_type="Update", references=REF + (("urn:airwarn:example.org:15", T0_MS - 90_000),)
    ),
    "cancel": warning(
        level="clear", msg_type="Cancel", references=REF, note="Sensor fault: no launch took place"
    ),
    "exercise": warning(status="Exercise", kind="cruise"),
    "test": warning(status="Test", kind=None),
    "aircraft": warning(kind="aircraft", zones=(SQUARE,)),
}


@cache
def israeli_zones() -> tuple[CapZone, ...]:
    features = json.loads(ISRAEL.read_text(encoding="utf-8"))["features"]
    wanted = {"Abu Gosh", "Adora", "Sderot", "Ashkelon - South", "Metula"}
    zones = [
        CapZone(
            id=str(f["properties"]["segment_id"]),
            name=f["properties"]["area_en"],
            region=f["properties"]["zone_en"],
            geometry=shape(f["geometry"]),
        )
        for f in features
        if f["geometry"] and f["properties"]["area_en"] in wanted
    ]
    assert len(zones) >= 3, "the sample Israeli zones were not found by name"
    return tuple(zones)


def all_cases() -> list[tuple[str, CapWarning]]:
    cases = list(CASES.items())
    if ISRAEL.is_file():
        cases.append(("israel_alert", warning(zones=israeli_zones())))
        cases.append(
            (
                "israel_clear",
                warning(zones=israeli_zones(), level="clear", msg_type="Update", references=REF),
            )
        )
    return cases


CASE_IDS = [name for name, _ in all_cases()]


@pytest.fixture(params=all_cases(), ids=CASE_IDS)
def case(request: pytest.FixtureRequest) -> CapWarning:
    return request.param[1]


def text(root: etree._Element, path: str) -> str:
    return root.findtext(path, namespaces=NS) or ""


# -- validity ---------------------------------------------------------------------------------


@needs_xsd
def test_every_message_validates_against_cap12_before_and_after_signing(
    case: CapWarning, keys: SigningKeys
) -> None:
    element = build_cap(case)
    assert_valid(element)
    assert_valid(to_bytes(element))
    assert_valid(sign(element, keys))


def test_independent_parser_reads_back_identifier_status_type_and_areas(
    case: CapWarning, keys: SigningKeys
) -> None:
    element = build_cap(case)
    for body in (to_bytes(element), sign(element, keys)):
        alerts = CAPParser(body.decode("utf-8")).as_dict()
        assert len(alerts) == 1
        alert = alerts[0]
        assert str(alert["cap_id"]) == case.identifier
        assert str(alert["cap_status"]) == case.status
        assert str(alert["cap_message_type"]) == case.msg_type
        areas = alert["cap_info"][0]["cap_area"]
        assert [str(a["area_description"]) for a in areas] == [z.name or z.id for z in case.zones]
        # capparselib gives every area the first area's polygons (its own quirk), so only
        # the first area's polygon count can be read back through it.
        first = element.find("cap:info/cap:area", NS)
        assert first is not None
        assert len(areas[0]["polygon"]) == len(first.findall("cap:polygon", NS))


def test_one_area_per_zone_one_polygon_per_part_and_zone_geocodes(case: CapWarning) -> None:
    root = build_cap(case)
    areas = root.findall("cap:info/cap:area", NS)
    assert len(areas) == len(case.zones)
    for area, zone in zip(areas, case.zones, strict=True):
        assert text(area, "cap:areaDesc") == (zone.name or zone.id)
        parts = len(getattr(zone.geometry, "geoms", [zone.geometry]))
        assert 1 <= len(area.findall("cap:polygon", NS)) <= parts
        codes = [
            (text(g, "cap:valueName"), text(g, "cap:value"))
            for g in area.findall("cap:geocode", NS)
        ]
        assert ("airwarn:zone", zone.id) in codes
        assert (("airwarn:region", zone.region) in codes) == (zone.region is not None)


# -- polygons ---------------------------------------------------------------------------------


def polygons_of(root: etree._Element) -> list[list[tuple[float, float]]]:
    """Every <polygon> as (lat, lon) points."""
    return [
        [tuple(float(v) for v in pair.split(",")) for pair in p.text.split()]  # type: ignore[misc]
        for p in root.iterfind(".//cap:polygon", NS)
    ]


def test_polygons_are_closed_with_at_least_four_points(case: CapWarning) -> None:
    for points in polygons_of(build_cap(case)):
        assert len(points) >= 4
        assert points[0] == points[-1]


@needs_israel
def test_polygons_put_latitude_first_an_israeli_zone_reads_lat_31_to_33() -> None:
    for points in polygons_of(build_cap(warning(zones=israeli_zones()))):
        for lat, lon in points:
            assert 29.4 < lat < 33.4 and 34.2 < lon < 35.95


@needs_israel
def test_real_zones_are_simplified_but_still_cover_the_zone() -> None:
    for zone in israeli_zones():
        rings = polygon_rings(zone.geometry)
        outline = MultiPolygon([Polygon(r) for r in rings])
        source_points = sum(
            len(p.exterior.coords) for p in getattr(zone.geometry, "geoms", [zone.geometry])
        )
        assert sum(len(r) for r in rings) <= source_points
        assert outline.buffer(2e-5).covers(zone.geometry)
        # and not much more than the zone: grown by 0.00055 degrees, simplified by 0.0005,
        # so at most about 0.00105 degrees (about 120 m) outside it
        assert outline.difference(zone.geometry.buffer(0.0011)).area < 1e-10


def test_a_hole_is_covered_since_cap_polygons_have_none() -> None:
    rings = polygon_rings(HOLED.geometry)
    assert len(rings) == 1
    assert Polygon(rings[0]).covers(box(35.04, 31.04, 35.06, 31.06))


@pytest.mark.parametrize(
    "geometry",
    [
        Polygon([(35.0, 31.0), (35.00001, 31.0), (35.00001, 31.00001), (35.0, 31.0)]),  # speck
        Polygon([(35.0, 31.0), (35.2, 31.0), (35.2, 31.0000001), (35.0, 31.0)]),  # sliver
        Polygon([(35.0, 31.0), (35.1, 31.0), (35.0, 31.0), (35.1, 31.0)]),  # no area at all
        box(35.0, 31.0, 35.0, 31.1),  # a line
    ],
    ids=["speck", "sliver", "collapsed", "line"],
)
def test_degenerate_zones_still_get_a_closed_four_point_polygon(geometry: BaseGeometry) -> None:
    rings = polygon_rings(geometry)
    assert rings, "a zone with a place must keep a polygon"
    for ring in rings:
        assert len(ring) >= 4 and ring[0] == ring[-1]
        assert Polygon(ring).area > 0


def test_an_empty_geometry_gives_an_area_with_geocodes_only() -> None:
    empty = CapZone("nowhere", "Nowhere", None, Polygon())
    root = build_cap(warning(zones=(empty,)))
    area = root.find("cap:info/cap:area", NS)
    assert area is not None and area.find("cap:polygon", NS) is None
    assert text(area, "cap:geocode/cap:value") == "nowhere"
    if XSD.is_file():
        assert_valid(root)


# -- words and codes per stage ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "responses", "urgency", "severity", "certainty"),
    [
        ("alert", ["Shelter"], "Immediate", "Extreme", "Observed"),
        ("pre_alert", ["Prepare", "Monitor"], "Expected", "Severe", "Possible"),
        ("all_clear", ["AllClear"], "Past", "Minor", "Observed"),
        ("cancel", ["AllClear"], "Past", "Minor", "Unlikely"),
    ],
)
def test_each_stage_carries_its_response_urgency_severity_and_certainty(
    name: str, responses: list[str], urgency: str, severity: str, certainty: str
) -> None:
    info = build_cap(CASES[name]).find("cap:info", NS)
    assert info is not None
    assert [e.text for e in info.findall("cap:responseType", NS)] == responses
    assert (text(info, "cap:urgency"), text(info, "cap:severity"), text(info, "cap:certainty")) == (
        urgency,
        severity,
        certainty,
    )
    assert [e.text for e in info.findall("cap:category", NS)] == ["Security", "Safety"]


def test_words_tell_people_what_to_do_at_each_stage() -> None:
    alert = build_cap(CASES["alert"])
    assert text(alert, "cap:info/cap:event") == "Rocket and missile fire"
    assert "Enter the protected space now and stay 10 minutes" in text(
        alert, "cap:info/cap:instruction"
    )
    assert "Square town" in text(alert, "cap:info/cap:description")
    pre = build_cap(CASES["pre_alert"])
    assert text(pre, "cap:info/cap:event") == "Ballistic missile"
    assert "Alerts are expected in your area in the coming minutes" in text(
        pre, "cap:info/cap:description"
    )
    clear = build_cap(CASES["all_clear"])
    assert text(clear, "cap:info/cap:event") == "Hostile aircraft intrusion (drones)"
    assert "The event has ended. You may leave the protected space" in text(
        clear, "cap:info/cap:instruction"
    )


def test_parameters_carry_level_and_threats_and_expires_when_given() -> None:
    info = build_cap(CASES["pre_alert"]).find("cap:info", NS)
    assert info is not None
    params = {
        text(p, "cap:valueName"): text(p, "cap:value") for p in info.findall("cap:parameter", NS)
    }
    assert params == {"airwarn:level": "pre_alert", "airwarn:threats": "t-1"}
    assert text(info, "cap:expires") == "2026-03-01T18:10:09-00:00"
    assert build_cap(CASES["alert"]).find("cap:info/cap:expires", NS) is None


@pytest.mark.parametrize(("status", "word"), [("Exercise", "EXERCISE"), ("Test", "TEST")])
def test_drills_and_tests_say_so_in_words_not_only_in_status(status: str, word: str) -> None:
    root = build_cap(warning(status=status))
    assert text(root, "cap:status") == status
    assert text(root, "cap:info/cap:headline").startswith(f"{word}: ")
    assert "no real threat" in text(root, "cap:info/cap:description")
    assert "no real threat" in text(root, "cap:note")
    actual = build_cap(warning())
    assert not text(actual, "cap:info/cap:headline").startswith(("EXERCISE", "TEST"))
    assert actual.find("cap:note", NS) is None


def test_sent_is_whole_seconds_with_utc_written_as_minus_zero_as_cap_requires() -> None:
    # CAP 1.2 3.2.1 (sent): no "Z"; UTC is "-00:00"; no fractions of a second.
    root = build_cap(warning(sent_ms=T0_MS + 999))
    assert text(root, "cap:sent") == "2026-03-01T18:00:09-00:00"


def test_update_references_earlier_messages_as_sender_identifier_sent_triples() -> None:
    root = build_cap(CASES["update"])
    assert text(root, "cap:msgType") == "Update"
    assert text(root, "cap:references") == (
        "airwarn@example.org,urn:airwarn:example.org:16,2026-03-01T17:59:09-00:00 "
        "airwarn@example.org,urn:airwarn:example.org:15,2026-03-01T17:58:39-00:00"
    )
    assert build_cap(CASES["alert"]).find("cap:references", NS) is None


def test_cancel_carries_the_operators_reason_in_note_and_description() -> None:
    root = build_cap(CASES["cancel"])
    assert text(root, "cap:msgType") == "Cancel"
    assert text(root, "cap:note") == "Sensor fault: no launch took place"
    assert "Sensor fault" in text(root, "cap:info/cap:description")
    assert "cancelled" in text(root, "cap:info/cap:headline")


def test_our_own_inbound_parser_reads_back_what_we_emit(case: CapWarning) -> None:
    if not XSD.is_file():
        pytest.skip(f"CAP 1.2 schema not found at {XSD}")
    alert = parse_inbound(to_bytes(build_cap(case)))
    assert (alert.identifier, alert.sender, alert.status, alert.msg_type) == (
        case.identifier,
        case.sender,
        case.status,
        case.msg_type,
    )
    assert alert.sent_ms == case.sent_ms // 1000 * 1000
    assert [r[1] for r in alert.references] == [ident for ident, _ in case.references]
    (info,) = alert.infos
    assert [a.geocodes[0] for a in info.areas] == [("airwarn:zone", z.id) for z in case.zones]
    assert not alert.signed


def test_unknown_status_or_level_is_refused() -> None:
    with pytest.raises(ValueError, match="status"):
        build_cap(warning(status="Draft"))
    with pytest.raises(ValueError, match="level"):
        build_cap(warning(level="red"))
    with pytest.raises(ValueError, match="identifier"):
        build_cap(warning(identifier="has space"))


# -- signatures -------------------------------------------------------------------------------


def test_verify_accepts_a_message_signed_with_the_published_certificate(
    case: CapWarning, keys: SigningKeys
) -> None:
    signed = sign(build_cap(case), keys)
    root = verify(signed, keys.cert_pem)
    assert text(root, "cap:identifier") == case.identifier
    signature = etree.fromstring(signed).find("ds:Signature", NS)
    assert signature is not None
    assert signature.getparent() is not None and signature.getnext() is None  # last child
    method = signature.find("ds:SignedInfo/ds:SignatureMethod", NS)
    assert method is not None
    assert method.get("Algorithm") == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


def _tamper(signed: bytes, old: bytes, new: bytes) -> bytes:
    assert old in signed, old
    return signed.replace(old, new, 1)


@pytest.mark.parametrize("change", ["polygon", "headline", "status"])
def test_a_tampered_message_fails_verification(change: str, keys: SigningKeys) -> None:
    signed = sign(build_cap(warning(status="Exercise")), keys)
    if change == "polygon":
        polygon = etree.fromstring(signed).findtext(".//cap:polygon", namespaces=NS)
        assert polygon
        first = polygon.split()[0].encode()
        forged = _tamper(signed, first, first[:-1] + (b"1" if first[-1:] != b"1" else b"2"))
    elif change == "headline":
        forged = _tamper(signed, b"take shelter now", b"take shelter nuw")
    else:
        forged = _tamper(signed, b"<status>Exercise</status>", b"<status>Actual</status>")
    with pytest.raises(CapSignatureError):
        verify(forged, keys.cert_pem)


def test_a_message_signed_with_another_key_fails(
    keys: SigningKeys, other_keys: SigningKeys
) -> None:
    forged = sign(build_cap(warning()), other_keys)
    with pytest.raises(CapSignatureError, match="published certificate|cannot be checked"):
        verify(forged, keys.cert_pem)


def test_an_unsigned_or_garbled_message_fails_with_a_clear_reason(keys: SigningKeys) -> None:
    with pytest.raises(CapSignatureError, match="no XML signature"):
        verify(to_bytes(build_cap(warning())), keys.cert_pem)
    with pytest.raises(CapSignatureError, match="not well-formed"):
        verify(b"<alert", keys.cert_pem)
    assert issubclass(CapSignatureError, AirwarnError)


def test_signing_is_deterministic_and_leaves_the_element_alone(keys: SigningKeys) -> None:
    element = build_cap(warning())
    before = to_bytes(element)
    assert sign(element, keys) == sign(build_cap(warning()), keys)
    assert to_bytes(element) == before


def test_keys_are_made_once_with_a_private_key_only_the_owner_reads(tmp_path: Path) -> None:
    first = load_or_create_keys(tmp_path / "keys")
    key_file = tmp_path / "keys" / "cap-signing-key.pem"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert (tmp_path / "keys" / "cap-signing-cert.pem").read_bytes() == first.cert_pem
    again = load_or_create_keys(tmp_path / "keys")
    assert again == first
    signed = sign(build_cap(warning()), again)
    verify(signed, first.cert_pem)


def test_a_lone_key_without_its_certificate_is_not_silently_replaced(tmp_path: Path) -> None:
    load_or_create_keys(tmp_path)
    (tmp_path / "cap-signing-cert.pem").unlink()
    with pytest.raises(CapSignatureError, match="does not"):
        load_or_create_keys(tmp_path)


# -- Atom ---------------------------------------------------------------------------------------


def test_atom_feed_lists_messages_newest_first_with_cap_identifiers() -> None:
    older = warning(identifier="urn:airwarn:example.org:1", sent_ms=T0_MS - 5_000)
    newest = warning(
        identifier="urn:airwarn:example.org:3",
        sent_ms=T0_MS + 5_000,
        level="clear",
        msg_type="Update",
        references=REF,
    )
    middle = warning(identifier="urn:airwarn:example.org:2", status="Exercise")
    body = atom_feed(
        [
            (older, "https://a.example/v1/cap/1"),
            (newest, "https://a.example/3"),
            (middle, "https://a.example/2"),
        ],
        feed_id="urn:airwarn:example.org:feed",
        title="airwarn CAP",
        updated_ms=T0_MS + 5_000,
        self_url="https://a.example/v1/cap/feed.atom",
    )
    root = etree.fromstring(body)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    entries = root.findall("atom:entry", NS)
    assert [text(e, "atom:id") for e in entries] == [
        "urn:airwarn:example.org:3",
        "urn:airwarn:example.org:2",
        "urn:airwarn:example.org:1",
    ]
    assert [text(e, "atom:updated") for e in entries] == [
        "2026-03-01T18:00:14Z",
        "2026-03-01T18:00:09Z",
        "2026-03-01T18:00:04Z",
    ]
    link = entries[0].find("atom:link", NS)
    assert link is not None
    assert (link.get("rel"), link.get("type"), link.get("href")) == (
        "alternate",
        "application/cap+xml",
        "https://a.example/3",
    )
    assert text(entries[1], "atom:title").startswith("EXERCISE")
    assert text(root, "atom:updated") == "2026-03-01T18:00:14Z"
    assert root.find("atom:link[@rel='self']", NS) is not None
    assert text(root, "atom:author/atom:name") == "airwarn"


# -- the property ----------------------------------------------------------------------------

coordinate = st.floats(min_value=-0.5, max_value=0.5, allow_nan=False)


@st.composite
def zone_geometries(draw: st.DrawFn) -> BaseGeometry:
    lon0 = draw(st.floats(min_value=-179.0, max_value=179.0))
    lat0 = draw(st.floats(min_value=-84.0, max_value=84.0))
    parts = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        points = draw(st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=12))
        scale = draw(st.sampled_from([1e-5, 1e-3, 0.1, 1.0]))
        polygon = Polygon([(lon0 + x * scale, lat0 + y * scale) for x, y in points])
        parts.append(polygon.buffer(0) if not polygon.is_valid else polygon)
    return MultiPolygon(
        [
            p
            for part in parts
            for p in getattr(part, "geoms", [part])
            if isinstance(p, Polygon) and not p.is_empty
        ]
    )


words = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)
ident = st.from_regex(r"[A-Za-z0-9:._@-]{1,40}", fullmatch=True)


@st.composite
def random_warnings(draw: st.DrawFn) -> CapWarning:
    zones = tuple(
        CapZone(
            id=draw(ident),
            name=draw(st.none() | words),
            region=draw(st.none() | words),
            geometry=draw(zone_geometries()),
        )
        for _ in range(draw(st.integers(min_value=1, max_value=3)))
    )
    msg_type = draw(st.sampled_from(["Alert", "Update", "Cancel"]))
    references = (
        ()
        if msg_type == "Alert"
        else tuple(
            draw(
                st.lists(
                    st.tuples(ident, st.integers(min_value=0, max_value=4_000_000_000_000)),
                    min_size=1,
                    max_size=3,
                )
            )
        )
    )
    return CapWarning(
        identifier=draw(ident),
        sender=draw(ident),
        sent_ms=draw(st.integers(min_value=0, max_value=4_000_000_000_000)),
        status=draw(st.sampled_from(["Actual", "Exercise", "Test"])),
        msg_type=msg_type,
        level=draw(st.sampled_from(["pre_alert", "alert", "clear"])),
        kind=draw(
            st.sampled_from(
                [None, "rocket", "ballistic", "cruise", "drone", "aircraft", "unknown", "balloon"]
            )
        ),
        zones=zones,
        references=references,
        threats=tuple(draw(st.lists(ident, max_size=3))),
        note=draw(st.none() | words),
        expires_ms=draw(st.none() | st.integers(min_value=0, max_value=4_000_000_000_000)),
    )


@needs_xsd
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_warnings())
def test_any_warning_on_any_valid_polygons_gives_a_schema_valid_message(w: CapWarning) -> None:
    root = build_cap(w)
    assert_valid(root)
    for points in polygons_of(root):
        assert len(points) >= 4 and points[0] == points[-1]
        assert all(-90 <= lat <= 90 and -180 <= lon <= 180 for lat, lon in points)
    for zone, area in zip(w.zones, root.findall("cap:info/cap:area", NS), strict=True):
        if zone.geometry.is_empty:
            continue
        rings = [Polygon(r) for r in polygon_rings(zone.geometry)]
        # the message's outline covers the zone (up to the rounding to 1e-5 degrees)
        assert MultiPolygon(rings).buffer(2e-5).covers(zone.geometry)
        assert len(area.findall("cap:polygon", NS)) == len(rings)
