"""CAP 1.2 as receivers get it from the running service, and CAP taken in from other agencies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from capparselib.parsers import CAPParser
from conftest import DATA, DATA_MISSING, SCHEMAS, act, as_action, end, manual, open_service, track
from fastapi.testclient import TestClient
from lxml import etree
from shapely.geometry import box

from airwarn.cap import (
    CapSignatureError,
    CapWarning,
    CapZone,
    SigningKeys,
    build_cap,
    generate_keypair,
    sign,
    to_bytes,
    verify,
)
from airwarn.contract import encode_event
from airwarn.store.tokens import create_token
from airwarn.store.trust import add_trusted, bind_sender
from airwarn.web import WebSettings, create_app

NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}


@pytest.fixture(scope="module")
def xsd() -> etree.XMLSchema:
    path = SCHEMAS / "cap12.xsd"
    if not path.exists():
        pytest.skip(f"the CAP 1.2 schema is not at {path}")
    return etree.XMLSchema(etree.parse(str(path)))


@pytest.fixture
def api(grid, store_url, signing_keys) -> Iterator[tuple[TestClient, dict[str, str]]]:
    service = open_service(grid, store_url, signing_keys)
    auth = {
        role: {"Authorization": f"Bearer {create_token(service.db, role, role, 0)}"}
        for role in ("sensor", "operator", "admin")
    }
    with TestClient(create_app(service, WebSettings(rate_burst=10_000))) as http:
        yield http, auth
    service.db.dispose()


def _raid(http: TestClient, auth: dict[str, dict[str, str]]) -> None:
    events = [
        track("D1", s, 31.5, 34.2 + 0.0015 * s, kind="drone", vel_mps=[140.0, 0.0, 0.0])
        for s in range(0, 400, 4)
    ]
    events.append(end("D1", 400, "intercepted"))
    body = b"\n".join(encode_event(e) for e in events)
    answer = http.post("/v1/events", content=body, headers=auth["sensor"])
    assert answer.json()["accepted"] == len(events)
    act(http, auth["operator"], as_action(manual("alert", 401, zones=["r5c5"], status="exercise")))
    late = http.post(
        "/v1/events",
        headers=auth["sensor"],
        content=encode_event(track("X9", 1200, 29.0, 30.0, kind="unknown")),
    )
    assert late.json()["accepted"] == 1


def test_every_served_message_is_valid_signed_cap_that_an_independent_parser_reads(
    api, xsd
) -> None:
    http, auth = api
    _raid(http, auth)
    cert = http.get("/v1/cap/key.pem").content
    assert cert.startswith(b"-----BEGIN CERTIFICATE-----")
    feed = etree.fromstring(http.get("/v1/cap/feed.atom").content)
    links = [
        e.get("href")
        for e in feed.iter("{http://www.w3.org/2005/Atom}link")
        if e.get("type") == "application/cap+xml"
    ]
    assert len(links) >= 4
    seen = set()
    for link in links:
        body = http.get(link.split("testserver", 1)[1]).content
        document = etree.fromstring(body)
        assert xsd.validate(document), xsd.error_log
        verify(body, cert)
        (parsed,) = CAPParser(body.decode()).as_dict()
        seen.add(
            (
                str(parsed["cap_message_type"]),
                str(parsed["cap_status"]),
                document.findtext("cap:info/cap:responseType", namespaces=NS),
            )
        )
    # the three stages and the drill, each a message of its own
    assert ("Alert", "Actual", "Shelter") in seen or ("Update", "Actual", "Shelter") in seen
    assert any(status == "Actual" and response == "AllClear" for _, status, response in seen)
    assert any(status == "Exercise" for _, status, _ in seen)
    assert any(response in ("Prepare", "Monitor") for _, _, response in seen)


def test_a_tampered_message_fails_verification(api) -> None:
    http, auth = api
    _raid(http, auth)
    cert = http.get("/v1/cap/key.pem").content
    link = (
        etree.fromstring(http.get("/v1/cap/feed.atom").content)
        .find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}id")
        .text
    )
    body = http.get(f"/v1/cap/{link}").content
    verify(body, cert)
    for old, new in (
        (b"<status>Actual</status>", b"<status>Exercise</status>"),
        (b"<status>Exercise</status>", b"<status>Actual</status>"),
    ):
        if old in body:
            with pytest.raises(CapSignatureError):
                verify(body.replace(old, new), cert)
            break
    else:
        pytest.fail("no status element to tamper with")


NEIGHBOUR = "alerts@neighbour.example"


@pytest.fixture(scope="module")
def neighbour_keys() -> SigningKeys:
    """The other agency's own signing key (made here: a throwaway)."""
    return SigningKeys(*generate_keypair(NEIGHBOUR))


def _foreign(
    identifier: str,
    msg_type: str = "Alert",
    status: str = "Actual",
    refs: tuple[tuple[str, int], ...] = (),
    keys: SigningKeys | None = None,
) -> bytes:
    zone = CapZone(
        id="x1", name="two towns", region=None, geometry=box(34.61, 31.41, 34.69, 31.44)
    )  # inside r0c0 and r0c1
    warning = CapWarning(
        identifier=identifier,
        sender=NEIGHBOUR,
        sent_ms=1_772_388_000_000,
        status=status,
        msg_type=msg_type,
        level="clear" if msg_type == "Cancel" else "alert",
        kind="rocket",
        zones=(zone,),
        references=refs,
        note="sent in error" if msg_type == "Cancel" else None,
    )
    element = build_cap(warning)
    return to_bytes(element) if keys is None else sign(element, keys)


def test_a_signed_cap_alert_from_a_trusted_agency_warns_the_zones_its_area_covers(
    api, neighbour_keys: SigningKeys
) -> None:
    http, auth = api
    db = http.app.state.service.db
    bind_sender(db, "sensor", NEIGHBOUR, 0)
    add_trusted(db, NEIGHBOUR, neighbour_keys.cert_pem, 0)
    headers = {**auth["sensor"], "Content-Type": "application/cap+xml"}
    answer = http.post("/v1/cap", content=_foreign("n-1", keys=neighbour_keys), headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["applied"] is True and answer.json()["zones"] == ["r0c0", "r0c1"]
    assert answer.json()["trust"] == "verified"
    levels = {z["id"]: z["level"] for z in http.get("/v1/zones").json() if z["level"] != "clear"}
    assert levels == {"r0c0": "alert", "r0c1": "alert"}
    again = http.post("/v1/cap", content=_foreign("n-1", keys=neighbour_keys), headers=headers)
    assert again.json()["duplicate"] is True
    cancel = http.post(
        "/v1/cap",
        content=_foreign("n-2", "Cancel", refs=(("n-1", 1_772_388_000_000),), keys=neighbour_keys),
        headers=headers,
    )
    assert cancel.json()["applied"] is True
    assert [m["msg_type"] for m in cancel.json()["messages"]] == ["Cancel"]
    assert all(z["level"] == "clear" for z in http.get("/v1/zones").json())


def test_an_unsigned_cap_alert_is_held_for_an_operator_and_warns_no_one(api) -> None:
    http, auth = api
    bind_sender(http.app.state.service.db, "sensor", NEIGHBOUR, 0)
    headers = {**auth["sensor"], "Content-Type": "application/cap+xml"}
    answer = http.post("/v1/cap", content=_foreign("n-1"), headers=headers)
    assert answer.status_code == 202, answer.text
    assert answer.json()["state"] == "held" and answer.json()["trust"] == "unsigned"
    assert all(z["level"] == "clear" for z in http.get("/v1/zones").json())


def test_the_cap_samples_of_other_agencies_are_taken_or_refused_with_a_reason(api) -> None:
    http, auth = api
    folder = DATA / "cap-samples"
    if not folder.exists():
        pytest.skip(DATA_MISSING)
    headers = {**auth["sensor"], "Content-Type": "application/cap+xml"}
    outcome = {}
    for path in sorted(Path(folder).glob("*.cap")):
        sender = etree.fromstring(path.read_bytes()).findtext("{*}sender")
        if sender and " " not in sender.strip():
            bind_sender(http.app.state.service.db, "sensor", sender.strip(), 0)
        answer = http.post("/v1/cap", content=path.read_bytes(), headers=headers)
        outcome[path.name] = answer.status_code
        if answer.status_code == 422:
            assert answer.json()["error"], path.name
        else:
            assert answer.status_code == 200, (path.name, answer.text)
            # abroad: kept, but no zone of this zone set is touched
            assert answer.json()["applied"] is False and answer.json()["zones"] == []
    assert {name for name, code in outcome.items() if code == 422} >= {
        "invalid.cap",
        "canada_errors.cap",
        "noaa_errors.cap",
    }
    assert sum(code == 200 for code in outcome.values()) >= 6
    assert all(z["level"] == "clear" for z in http.get("/v1/zones").json())
