"""CAP from other agencies: every real sample in ../shared/data/cap-samples is read, or refused
with a reason that names what is wrong and where; hostile XML is refused without harm.

The samples are read from beside the repository (never copied into it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DATA, DATA_MISSING, SCHEMAS
from lxml import etree
from pyproj import Geod
from shapely.geometry import Point, Polygon

from airwarn.cap import CapError, InboundAlert, SigningKeys, generate_keypair, parse_inbound, sign
from airwarn.cap.inbound import circle
from airwarn.cap.trust import judge
from airwarn.errors import AirwarnError

SAMPLES = DATA / "cap-samples"
BROKEN = {"invalid.cap", "canada_errors.cap", "noaa_errors.cap"}

pytestmark = [
    pytest.mark.skipif(
        not (SCHEMAS / "cap12.xsd").is_file(),
        reason=f"CAP 1.2 schema not found at {SCHEMAS / 'cap12.xsd'}",
    ),
]
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=DATA_MISSING)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def read(name: str) -> InboundAlert:
    return parse_inbound(sample(name), source=name)


def sample_names() -> list[str]:
    return sorted(p.name for p in SAMPLES.glob("*.cap")) if SAMPLES.is_dir() else []


# -- every sample -----------------------------------------------------------------------------


@needs_samples
def test_the_samples_folder_holds_the_files_these_tests_expect() -> None:
    assert set(sample_names()) >= BROKEN
    assert len(sample_names()) >= 10


@needs_samples
@pytest.mark.parametrize("name", [n for n in sample_names() if n not in BROKEN])
def test_every_good_sample_parses_with_sensible_fields(name: str) -> None:
    alert = read(name)
    assert alert.identifier and " " not in alert.identifier
    assert alert.sender
    assert 1_000_000_000_000 < alert.sent_ms < 2_000_000_000_000  # 2001..2033
    assert alert.status in {"Actual", "Exercise", "System", "Test", "Draft"}
    assert alert.msg_type in {"Alert", "Update", "Cancel", "Ack", "Error"}
    assert alert.scope in {"Public", "Restricted", "Private"}
    assert alert.signed == ("signed" in name)
    for info in alert.infos:
        assert info.event and info.urgency and info.severity and info.certainty
        for area in info.areas:
            assert area.description
            for shape in (*area.polygons, *area.circles):
                minx, miny, maxx, maxy = shape.bounds
                assert -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


@needs_samples
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_every_broken_sample_is_refused_as_a_cap_error(name: str) -> None:
    with pytest.raises(CapError) as caught:
        read(name)
    assert caught.value.source == name
    assert caught.value.line is not None
    assert isinstance(caught.value, AirwarnError)


# -- good samples, checked by hand against the files ------------------------------------------


@needs_samples
def test_canada_update_has_two_languages_two_areas_each_and_its_references() -> None:
    alert = read("canada.cap")
    assert alert.identifier == "2.49.0.1.124.6bddbc91.2012"
    assert alert.sender == "cap@ec.gc.ca"
    assert alert.msg_type == "Update" and alert.cap_version == "1.2"
    assert [i.language for i in alert.infos] == ["en-CA", "fr-CA"]
    assert [len(i.areas) for i in alert.infos] == [2, 2]
    english = alert.infos[0]
    assert (english.event, english.urgency, english.severity, english.certainty) == (
        "thunderstorm",
        "Past",
        "Minor",
        "Observed",
    )
    assert english.response_types == ("AllClear",)
    assert english.areas[0].description == "Windsor - Leamington - Essex County"
    assert english.expires_ms == 1_336_004_400_000  # 2012-05-03T00:20:00-00:00
    assert len(alert.references) == 2
    assert all(sender == "cap@ec.gc.ca" for sender, _, _ in alert.references)
    windsor = english.areas[0].polygons[0]
    # "42.3481,-82.9314 ..." is lat,lon: Windsor, Ontario sits at lon -83, lat 42
    assert windsor.contains(Point(-82.9, 42.2))


@needs_samples
def test_canada_signed_reports_signed_and_lists_all_nine_references() -> None:
    alert = read("canada_signed.cap")
    assert alert.signed
    assert alert.identifier == "2.49.0.1.124.f2c83f5f.2013"
    assert len(alert.references) == 9
    assert alert.references[0] == (
        "cap-pac@ec.gc.ca",
        "2.49.0.1.124.726d2331.2013",
        1_358_976_660_000,
    )
    assert [len(i.areas) for i in alert.infos] == [2, 2]


@needs_samples
def test_australian_fire_circle_becomes_a_25_km_disc_on_the_ground() -> None:
    alert = read("australia.cap")
    assert alert.identifier == "tag:www.rfs.nsw.gov.au2011-10-06:40184"
    area = alert.infos[0].areas[0]
    assert area.description == "Yerong Creek Structure Fire"
    (disc,) = area.circles
    assert isinstance(disc, Polygon)
    assert disc.contains(Point(147.0598, -35.3888))
    geod = Geod(ellps="WGS84")
    distances = [geod.inv(147.0598, -35.3888, lon, lat)[2] for lon, lat in disc.exterior.coords]
    assert all(abs(d - 25_000) < 1 for d in distances)


@needs_samples
def test_cap_11_earthquake_is_read_as_12_and_its_zero_radius_circle_is_a_point() -> None:
    alert = read("earthquake.cap")
    assert alert.cap_version == "1.1"
    assert alert.identifier == "USGS-earthquakes-us2010apcd.6.20100831T000925.496Z"
    (info,) = alert.infos
    assert info.event == "Earthquake"
    (area,) = info.areas
    assert area.circles == (Point(-173.274, -16.053),)


@needs_samples
def test_signed_cap_11_and_a_message_with_no_info_are_both_fine() -> None:
    assert read("earthquake_signed.cap").signed
    bare = read("no_optional_fields.cap")
    assert bare.infos == () and bare.references == () and bare.note is None


@needs_samples
def test_tsunami_warning_reference_and_geocodes() -> None:
    alert = read("wcatwc-warning.cap")
    assert alert.identifier == "PAAQ-2-lqw6d6"
    assert alert.references == (("PAAQ", "PAAQ-1-lqw6d6", 1_314_960_955_000),)
    (info,) = alert.infos
    assert info.urgency == "Immediate"
    assert len(info.areas) == 1 and len(info.areas[0].geocodes) == 2


@needs_samples
def test_nws_flash_flood_watch_keeps_its_local_offset() -> None:
    alert = read("weather.cap")
    assert alert.cap_version == "1.1"
    (info,) = alert.infos
    assert info.event == "Flash Flood Watch"
    assert info.expires_ms == 1_283_191_200_000  # 2010-08-30T12:00:00-06:00 = 18:00 UTC
    assert info.areas[0].geocodes[0][0]


# -- broken samples: what is actually wrong in each -------------------------------------------


@needs_samples
def test_invalid_sample_is_refused_for_its_missing_scope() -> None:
    with pytest.raises(CapError) as caught:
        read("invalid.cap")
    error = caught.value
    # <scope> is required between <msgType> and <info>; the file skips it (line 9 is <info>).
    assert error.line == 9
    assert error.field == "/alert/info[1]"
    assert "scope" in str(error) and "not valid CAP 1.2" in str(error)


@needs_samples
def test_canada_errors_sample_is_refused_for_its_empty_references() -> None:
    with pytest.raises(CapError) as caught:
        read("canada_errors.cap")
    error = caught.value
    assert error.line == 12
    assert error.field == "/alert/references"
    assert "references element is empty" in str(error)


@needs_samples
def test_noaa_errors_sample_is_refused_for_its_empty_urgency() -> None:
    with pytest.raises(CapError) as caught:
        read("noaa_errors.cap")
    error = caught.value
    # urgency, severity and certainty are all empty; the first named is urgency on line 17.
    assert error.line == 17
    assert error.field == "/alert/info[1]/urgency"
    assert "The value '' is not an element of the set" in str(error)
    assert "2 more schema errors" in str(error)


def test_noaa_style_polygon_with_stray_commas_is_refused_naming_the_point() -> None:
    body = _alert(
        area="<area><areaDesc>Humboldt</areaDesc><polygon>+41.12,-117.61 "
        "+41.06,-117.47 +40.85,-118.09, +41.12,-117.61</polygon></area>"
    )
    with pytest.raises(CapError, match=r"'\+40.85,-118.09,' is not a 'lat,lon' point") as e:
        parse_inbound(body)
    assert e.value.field == "/alert/info[1]/area[1]/polygon[1]"


# -- hand-made bad input ----------------------------------------------------------------------


def _alert(area: str = "", extra: str = "", info: bool = True) -> bytes:
    info_xml = (
        (
            f"<info><category>Safety</category><event>Test</event><urgency>Unknown"
            f"</urgency><severity>Unknown</severity><certainty>Unknown</certainty>{area}"
            "</info>"
        )
        if info
        else ""
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x-1</identifier>'
        f"<sender>s@example.org</sender><sent>2026-03-01T18:00:09+02:00</sent>"
        f"<status>Actual</status><msgType>Alert</msgType><scope>Public</scope>{extra}"
        f"{info_xml}</alert>"
    ).encode()


def test_a_minimal_hand_made_alert_parses() -> None:
    alert = parse_inbound(_alert())
    assert alert.sent_ms == 1_772_380_809_000  # 16:00:09 UTC
    assert alert.infos[0].areas == ()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "body is empty"),
        (b"   \n", "body is empty"),
        (b"not xml at all", "not well-formed XML"),
        (b"<alert><unclosed></alert>", "not well-formed XML"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"/>', "root element is 'feed'"),
        (b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.0"/>', "a CAP message is an <alert>"),
    ],
)
def test_input_that_is_not_cap_at_all_is_refused_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(CapError, match=reason):
        parse_inbound(body)


@pytest.mark.parametrize(
    ("polygon", "reason"),
    [
        ("", "polygon is empty"),
        ("1,1 2,2 1,1", "has 3 points"),
        ("1,1 2,2 3,1 1,2", "not closed"),
        ("91,1 2,2 3,1 91,1", "outside WGS84"),
        ("1,1 2,2 3,3 1,1", "encloses no area"),
        ("1;1 2,2 3,1 1;1", "not a 'lat,lon' point"),
    ],
)
def test_bad_polygons_are_refused_naming_the_area_and_line(polygon: str, reason: str) -> None:
    body = _alert(
        area=f"<area><areaDesc>A</areaDesc></area><area><areaDesc>B</areaDesc>"
        f"<polygon>{polygon}</polygon></area>"
    )
    with pytest.raises(CapError, match=reason) as caught:
        parse_inbound(body)
    assert caught.value.field == "/alert/info[1]/area[2]/polygon[1]"
    assert caught.value.line == 2


@pytest.mark.parametrize(
    ("circle_text", "reason"),
    [
        ("1,1", "a circle is 'lat,lon radius_km'"),
        ("1,1 far", "not a number of kilometres"),
        ("1,1 -5", "negative"),
    ],
)
def test_bad_circles_are_refused(circle_text: str, reason: str) -> None:
    body = _alert(area=f"<area><areaDesc>A</areaDesc><circle>{circle_text}</circle></area>")
    with pytest.raises(CapError, match=reason):
        parse_inbound(body)


@pytest.mark.parametrize("tag", ["identifier", "sender"])
def test_an_identifier_or_sender_longer_than_a_store_keeps_is_refused_naming_it(tag: str) -> None:
    long = "x" * 257
    body = _alert().replace(b"x-1" if tag == "identifier" else b"s@example.org", long.encode())
    with pytest.raises(CapError, match=f"the {tag} is 257 characters long; at most 256") as caught:
        parse_inbound(body)
    assert caught.value.field == f"/alert/{tag}"
    same = _alert().replace(
        b"x-1" if tag == "identifier" else b"s@example.org", long[:256].encode()
    )
    assert getattr(parse_inbound(same), tag) == long[:256]


def test_a_malformed_reference_is_refused() -> None:
    with pytest.raises(CapError, match="is not 'sender,identifier,sent'"):
        parse_inbound(_alert(extra="<references>a,b</references>"))
    with pytest.raises(CapError, match="not a CAP time"):
        parse_inbound(_alert(extra="<references>a,b,yesterday</references>"))


def test_entity_bombs_and_external_entities_are_refused_unexpanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier>'
        "</alert>"
    ).encode()
    with pytest.raises(CapError, match="DOCTYPE is not allowed") as caught:
        parse_inbound(xxe)
    assert "TOP-SECRET" not in str(caught.value)
    laughs = ['<!ENTITY l0 "ha">'] + [
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE alert [' + "".join(laughs) + "]>"
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&l9;'
        "</identifier></alert>"
    ).encode()
    with pytest.raises(CapError):
        parse_inbound(bomb)


def test_oversized_input_is_refused_before_parsing() -> None:
    with pytest.raises(CapError, match="more than the 1000 accepted"):
        parse_inbound(_alert() + b" " * 1000, max_bytes=1000)


def test_circle_is_true_to_its_radius_far_from_the_equator() -> None:
    disc = circle(25.0, 70.0, 10_000.0)
    geod = Geod(ellps="WGS84")
    for lon, lat in disc.exterior.coords:
        assert abs(geod.inv(25.0, 70.0, lon, lat)[2] - 10_000.0) < 0.5
    # a degree of longitude is short up there: the disc is wider in degrees than tall
    minx, miny, maxx, maxy = disc.bounds
    assert (maxx - minx) > 2.5 * (maxy - miny)


# -- whose signature: airwarn.cap.trust.judge ---------------------------------------------------


def _signed_alert(keys: SigningKeys) -> bytes:
    return sign(etree.fromstring(_alert()), keys)


def test_a_signature_verifies_only_with_a_certificate_trusted_for_the_sender() -> None:
    sender, other = (SigningKeys(*generate_keypair(n)) for n in ("sender", "other"))
    body = _signed_alert(sender)
    verdict = judge(
        body, "s", [("sha256:other", other.cert_pem), ("sha256:sender", sender.cert_pem)]
    )
    assert verdict.trust == "verified" and verdict.fingerprint == "sha256:sender"
    assert parse_inbound(verdict.signed).identifier == parse_inbound(body).identifier
    assert judge(body, "s", [("sha256:other", other.cert_pem)]).trust == "untrusted"
    assert "no certificate is trusted for s" in judge(body, "s", []).why
    assert judge(_alert(), "s", [("sha256:sender", sender.cert_pem)]).trust == "unsigned"
    # a word changed after signing
    changed = body.replace(b"<status>Actual</status>", b"<status>Exercise</status>")
    assert changed != body
    assert "does not verify" in judge(changed, "s", [("x", sender.cert_pem)]).why


def test_a_relays_signature_beside_the_originators_does_not_hide_it() -> None:
    originator, relay = (SigningKeys(*generate_keypair(n)) for n in ("originator", "relay"))
    relayed = sign(etree.fromstring(_signed_alert(originator)), relay)  # NAADS does this
    assert relayed.count(b"SignatureValue>") == 4  # two signatures
    assert judge(relayed, "s", [("o", originator.cert_pem)]).trust == "verified"
    assert judge(relayed, "s", [("r", relay.cert_pem)]).trust == "untrusted"


@needs_samples
def test_the_real_signed_samples_are_untrusted_with_the_reason() -> None:
    """Environment Canada's Signature Ids have spaces (not an xs:ID) and its algorithm is
    RSA-SHA1; USGS's is signed with a bare key. Neither verifies; each answer says why."""
    canada = judge(sample("canada_signed.cap"), "cap-pac@ec.gc.ca", [("ec", _ec_certificate())])
    assert canada.trust == "untrusted" and "xs:ID" in canada.why
    assert (
        "no certificate is trusted"
        in judge(sample("earthquake_signed.cap"), "http://www.cisn.org/ncmc.html", []).why
    )


def _ec_certificate() -> bytes:
    dsig = "{http://www.w3.org/2000/09/xmldsig#}"
    root = etree.fromstring(sample("canada_signed.cap"))
    (signature,) = [
        s for s in root.findall(f"{dsig}Signature") if s.get("Id") == "Environment Canada"
    ]
    der = "".join(signature.find(f".//{dsig}X509Certificate").text.split())
    return (
        "-----BEGIN CERTIFICATE-----\n"
        + "\n".join(der[i : i + 64] for i in range(0, len(der), 64))
        + "\n-----END CERTIFICATE-----\n"
    ).encode()
