"""Finding 2: the pages are safe to open. Every string a sensor, an operator, a zone layer or an
inbound CAP message can set carries a script payload; a real `airwarn serve` shows them on the
operator console (to an operator and to an admin) and on the public page, in Debian's chromium.
No payload may run (a global tally that every payload would add to stays empty, no dialog opens),
none may become an element, the Content-Security-Policy must never have had to block one (so
the pages render them as text, and the policy is a second wall, not the only one), and the
operator's token must not be readable by any script on the console.

On 50965d2 this fails: the threat id's payload runs from the map's tooltip, and the token is in
sessionStorage.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

import httpx
import pytest
from conftest import grid_zones
from kits.livekit import ARTIFACTS, built_assets, chromium
from kits.serverkit import Launcher

from airwarn.engine import physics
from security.served import Served, served


def payload(tag: str) -> str:
    """A string that runs script, tallying `tag`, wherever it is taken for HTML."""
    return f"<img src=x onerror=__xss.push('{tag}')><svg onload=__xss.push('{tag}')>"


def short(tag: str) -> str:
    """A payload for fields of at most 64 characters."""
    return f"<img src=x onerror=__xss.push('{tag}')>"


# before any page script: the tally, and the dialogs a payload might open, noted
TALLY = """
window.__xss = [];
for (const name of ["alert", "confirm", "prompt"]) {
  window[name] = (...args) => { window.__xss.push(name + ":" + args.join(" ")); };
}
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sample || ""));
});
"""
# what a payload that became markup would leave behind
BORN = "img[src='x'], [onerror], [onload], script:not([src]), iframe, object, embed"

ZONE_A, ZONE_B = "r3c2" + short("zone-id-a"), "r5c0" + short("zone-id-b")
IDS = {"r3c2": ZONE_A, "r5c0": ZONE_B}


def layer(folder: Path) -> Path:
    """The test grid, every property of every zone a payload (and two zones' ids)."""
    collection = grid_zones()
    for feature in collection["features"]:
        props = feature["properties"]
        plain = props["id"]
        props["id"] = IDS.get(plain, plain)
        props["name"] = f"Zone {plain} " + payload(f"zone-name-{plain}")
        props["region"] = payload(f"zone-region-{props['region']}")
        for key in ("area_he", "area_ar", "area_ru", "area_en", "name_uk", "name_en", "note"):
            props[key] = f"{key} {plain} " + payload(f"zone-{key}")
    path = folder / "zones.geojson"
    path.write_text(json.dumps(collection))
    return path


def rocket_half_flight(now: datetime) -> list[dict[str, Any]]:
    """A rocket toward the grid's zone r3c2, reported for the first half of its flight (still in
    flight: the console shows it), its threat id a payload."""
    launch, target = (31.20, 34.50), (31.575, 34.725)
    beta = 8000.0
    v0 = physics.aim(*launch, *target, beta_kg_m2=beta, loft_deg=45.0)
    flight = physics.fly(physics.geodetic_to_ecef(*launch, 0.0), v0, 0.0, beta, record=True)
    assert flight.impact is not None
    half = flight.times_s[-1] / 2
    start = now - timedelta(seconds=half)
    events, last = [], -1.0
    for ts, (r, v) in zip(flight.times_s, flight.states, strict=True):
        if ts < 3.0 or ts > half or ts - last < 1.0:
            continue
        last = ts
        lat, lon, h = physics.ecef_to_geodetic(*r)
        east, north, up = physics.ecef_to_enu_vector(lat, lon, v)
        t = (start + timedelta(seconds=ts)).isoformat(timespec="milliseconds")
        events.append(
            {
                "type": "track",
                "threat": "T" + payload("threat-id")[:120],
                "kind": "rocket",
                "t": t.replace("+00:00", "Z"),
                "lat": lat,
                "lon": lon,
                "alt_m": h,
                "sigma_m": 30,
                "vel_mps": [east, north, up],
            }
        )
    return events


def inbound_cap(zone_box: tuple[float, float, float, float]) -> bytes:
    """A CAP alert from 'another agency' whose every free-text field is a payload."""
    lon0, lat0, lon1, lat1 = zone_box
    ring = " ".join(
        f"{lat},{lon}"
        for lon, lat in ((lon0, lat0), (lon1, lat0), (lon1, lat1), (lon0, lat1), (lon0, lat0))
    )
    sent = datetime.now(UTC).replace(microsecond=0).isoformat()
    text = {
        key: escape(payload(f"cap-{key}"))
        for key in (
            "note",
            "senderName",
            "headline",
            "description",
            "instruction",
            "areaDesc",
            "contact",
            "web",
        )
    }
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>cap-javascript:__xss.push('cap-identifier')</identifier>
  <sender>javascript:__xss.push('cap-sender')@neighbour.example</sender>
  <sent>{sent}</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <note>{text["note"]}</note>
  <info>
    <language>en-US</language>
    <category>Safety</category>
    <event>{escape(short("cap-event"))}</event>
    <urgency>Immediate</urgency>
    <severity>Extreme</severity>
    <certainty>Observed</certainty>
    <senderName>{text["senderName"]}</senderName>
    <headline>{text["headline"]}</headline>
    <description>{text["description"]}</description>
    <instruction>{text["instruction"]}</instruction>
    <web>{text["web"]}</web>
    <contact>{text["contact"]}</contact>
    <area>
      <areaDesc>{text["areaDesc"]}</areaDesc>
      <polygon>{ring}</polygon>
    </area>
  </info>
</alert>""".encode()


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A server whose zone layer, sensors, operators and a CAP sender have all been hostile."""
    built_assets()
    folder = tmp_path_factory.mktemp("xss")
    launcher = Launcher()
    names = {"operator": "op" + short("token-name"), "sensor": "sensor" + short("sensor-name")}
    try:
        with served(launcher, folder, "--zones", str(layer(folder)), names=names) as app:
            now = datetime.now(UTC)
            posted = app.post_events(rocket_half_flight(now))
            assert posted.status_code == 200 and posted.json()["decisions"], posted.text
            operator = app.auth("operator")
            drill = httpx.post(
                app.url + "/v1/actions",
                headers=operator,
                timeout=10,
                json={
                    "action": "alert",
                    "status": "exercise",
                    "zones": ["r0c0"],
                    "reason": payload("operator-reason"),
                    "category": short("operator-category"),
                },
            )
            assert drill.status_code == 200, drill.text
            real = httpx.post(
                app.url + "/v1/actions",
                headers=operator,
                timeout=10,
                json={
                    "action": "alert",
                    "zones": ["r5c5"],
                    "reason": payload("operator-reason-2"),
                    "category": short("operator-category-2"),
                },
            )
            assert real.status_code == 200, real.text
            confirmed = httpx.post(
                app.url + real.json()["confirm"], headers=operator, timeout=10, json={}
            )
            assert confirmed.status_code == 200, confirmed.text
            active = httpx.get(app.url + "/v1/alerts/active", timeout=10).json()
            exercise = next(a for a in active if a["status"] == "exercise")
            cancelled = httpx.post(
                f"{app.url}/v1/alerts/{quote(exercise['identifier'], safe='')}/cancel",
                headers=operator,
                timeout=10,
                json={"reason": payload("cancel-reason")},
            )
            assert cancelled.status_code == 200, cancelled.text
            # inbound CAP from a sensor bound to that sender: unsigned, so it is held until an
            # operator approves it (with a hostile reason too)
            sender = "javascript:__xss.push('cap-sender')@neighbour.example"
            launcher.run(["trust", "bind", names["sensor"], sender, "--db", app.db_url], folder)
            cap = httpx.post(
                app.url + "/v1/cap",
                content=inbound_cap((34.61, 31.66, 34.64, 31.68)),
                headers={**app.auth("sensor"), "Content-Type": "application/cap+xml"},
                timeout=30,
            )
            assert cap.status_code == 202 and cap.json()["state"] == "held", cap.text
            approved = httpx.post(
                f"{app.url}/v1/inbound-cap/{cap.json()['id']}/approve",
                headers=operator,
                timeout=30,
                json={"reason": payload("cap-approval")},
            )
            assert approved.status_code == 200, approved.text
            yield app
    finally:
        launcher.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as found:
        yield found


def open_page(browser: Any, url: str, init: str = "") -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_init_script(TALLY + init)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    return context, page, dialogs


def assert_nothing_ran(page: Any, dialogs: list[str], where: str) -> None:
    assert page.evaluate("window.__xss") == [], f"payloads ran on {where}"
    assert dialogs == [], f"a payload opened a dialog on {where}"
    assert page.eval_on_selector_all(BORN, "nodes => nodes.map(n => n.outerHTML)") == [], (
        f"a payload became markup on {where}"
    )
    assert page.evaluate("window.__violations") == [], (
        f"the Content-Security-Policy had to block something on {where}: a payload was taken "
        "for markup, or the page itself breaks the policy"
    )


def sign_in(page: Any, token: str) -> None:
    page.fill("#login-token", token)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("body[data-ready='1'][data-feed='live']", timeout=20_000)


def test_the_console_shows_every_hostile_string_as_text_to_an_operator(browser, attacked) -> None:
    context, page, dialogs = open_page(browser, attacked.url + "/console")
    token = attacked.tokens["operator"]
    sign_in(page, token)
    # the threat in flight, its id on the map's label as text
    # attached, maybe hidden: labels that would overlap another (this one is long) are hidden
    page.wait_for_selector(".aw-threat-label", state="attached", timeout=10_000)
    label = page.text_content(".aw-threat-label")
    assert "<img src=x onerror=__xss.push('threat-id')>" in label
    # the timeline (threat ids, kinds, categories) and the active alerts (CAP identifier)
    page.wait_for_selector("#timeline li[data-level='alert']")
    assert "operator-category-2" in page.text_content("#timeline")
    page.wait_for_selector("#active li[data-identifier]:nth-child(2)")
    # a zone's card: every name and property of the layer; its recent history
    page.click(f'path[data-zone="{ZONE_A}"]', force=True)
    page.wait_for_selector("#zone-card h3")
    page.wait_for_selector("#zone-card ol li time")
    assert "zone-name-r3c2" in page.text_content("#zone-card")
    # the send form: regions, the selection's names
    page.click("#tab-send")
    assert "zone-region-band0" in page.text_content("#send-region")
    page.select_option("#send-region", index=1)
    page.check("input[name=status][value=actual]")
    page.fill("#send-reason", payload("typed-reason"))
    page.click("#send-submit")
    page.wait_for_selector("#confirm[open]")
    assert "zone-name" in page.text_content("#confirm-zones")
    page.click("#confirm-cancel")
    page.click("#tab-alerts")
    page.click("#active li[data-status='actual'] .aw-cancel-alert")
    assert "cap-javascript" in page.text_content("#cancel-what") or page.is_visible(
        "#cancel-dialog"
    )
    page.click("#cancel-back")
    page.wait_for_timeout(1500)  # two more rounds of the threats' poll and the live feed
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "security-console-payloads.png"))
    assert_nothing_ran(page, dialogs, "the console (operator)")
    # the token: in no storage, no cookie script can read, not in the page, not in an answer
    found = page.evaluate(
        """async (token) => {
        const seen = [];
        if (document.cookie.includes(token)) seen.push("document.cookie");
        for (const [name, store] of [["sessionStorage", sessionStorage],
                                     ["localStorage", localStorage]]) {
          for (let i = 0; i < store.length; i++) {
            if (String(store.getItem(store.key(i))).includes(token)) seen.push(name);
          }
        }
        if (document.documentElement.outerHTML.includes(token)) seen.push("the DOM");
        for (const input of document.querySelectorAll("input, textarea")) {
          if (input.value.includes(token)) seen.push("an input");
        }
        const answer = await (await fetch("/v1/session")).text();
        if (answer.includes(token)) seen.push("GET /v1/session");
        return seen;
    }""",
        token,
    )
    assert found == [], f"the operator's token is readable by page script from {found}"
    cookies = {c["name"]: c for c in context.cookies()}
    session = next(c for name, c in cookies.items() if "session" in name)
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Strict"
    context.close()


def test_the_audit_log_shows_hostile_reasons_and_names_as_text_to_an_admin(
    browser, attacked
) -> None:
    context, page, dialogs = open_page(browser, attacked.url + "/console")
    sign_in(page, attacked.tokens["admin"])
    page.click("#tab-audit")
    page.wait_for_selector("#audit tr[data-action]")
    shown = page.text_content("#audit")
    assert "operator-reason" in shown and "token-name" in shown and "cancel-reason" in shown
    assert "cap-approval" in shown  # the approval of the held inbound CAP
    page.wait_for_timeout(500)
    assert_nothing_ran(page, dialogs, "the console's audit log (admin)")
    context.close()


def test_the_public_page_shows_every_hostile_name_and_kind_as_text(browser, attacked) -> None:
    zones = ["r0c0", ZONE_A, ZONE_B, "r5c5", "r1c1"]
    places = [
        {"key": f"k{i}", "zone": zone, "label": "home", "lat": None, "lon": None}
        for i, zone in enumerate(zones)
    ]
    init = f"localStorage.setItem('airwarn.places', {json.dumps(json.dumps(places))});"
    context, page, dialogs = open_page(
        browser, f"{attacked.url}/?zone={quote(ZONE_B, safe='')}", init
    )
    page.wait_for_selector("body[data-zones-loaded='yes']", timeout=30_000)
    page.wait_for_selector("#feed[data-state='live']", timeout=15_000)
    page.wait_for_selector(f"article[data-zone=\"{ZONE_A}\"][data-state='alert']")
    cards = page.text_content("#cards")
    assert "zone-area_en" in cards and "operator-category-2" in cards
    page.fill("#search", "Zone")
    page.wait_for_selector("#results li")
    for lang in ("he", "uk", "ru", "ar", "en"):
        page.select_option("#lang", lang)
        page.fill("#search", "area")
        page.wait_for_selector("#results li")
    page.click("#results li button")
    page.wait_for_timeout(1000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "security-public-payloads.png"))
    assert_nothing_ran(page, dialogs, "the public page")
    context.close()
