"""The public page in a real browser (Debian's chromium under Playwright), on Israel's real alert
areas and a wall-clock server: a watched place's alert counts down its shelter time, the page
turns right-to-left in Hebrew, pre-alert, drill and "event ended" are states of their own, the
self-test is marked TEST, and a silent feed says NO CONNECTION instead of looking safe."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from conftest import open_service
from kits.livekit import ARTIFACTS, Server, built_assets, chromium
from playwright.sync_api import expect

from airwarn.store.tokens import create_token
from airwarn.web import WebSettings

ABU_GOSH = ("5000511", 31.8068, 35.1104)  # 90 s to shelter; אבו גוש
KIRYAT_SHMONA = "5001637"  # 15 s to shelter, far in the north
EILAT = "5000004"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


@pytest.fixture(scope="module")
def israel():
    from airwarn.layers.packaged import load_layer

    return load_layer("israel")  # shipped in the package: no ../shared needed


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    built_assets()
    with chromium() as browser:
        yield browser


@dataclass
class Live:
    server: Server
    token: str

    def post(self, *events: dict[str, Any]) -> dict[str, Any]:
        """Sensor events on /v1/events; manual actions, as operators send them, through
        /v1/actions (proposed, then confirmed)."""
        answer: dict[str, Any] = {}
        sensed = [e for e in events if e["type"] != "manual"]
        if sensed:
            posted = httpx.post(
                f"{self.server.url}/v1/events",
                timeout=10,
                content="\n".join(json.dumps(e) for e in sensed),
                headers={"Authorization": f"Bearer {self.token}"},
            )
            assert posted.status_code == 200, posted.text
            assert not posted.json()["rejected"], posted.text
            answer = dict(posted.json())
        for event in (e for e in events if e["type"] == "manual"):
            request = {
                k: v
                for k, v in event.items()
                if k in ("action", "zones", "region", "status", "category")
            }
            answer = self.act({**request, "reason": "a test of the public page"})
            if answer["state"] == "pending":
                confirmed = httpx.post(
                    f"{self.server.url}{answer['confirm']}",
                    timeout=10,
                    json={"confirm_blast_radius": True},
                    headers={"Authorization": f"Bearer {self.token}"},
                )
                assert confirmed.status_code == 200, confirmed.text
                answer = dict(confirmed.json())
        return answer

    def act(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.server.url}/v1/actions",
            json=body,
            timeout=10,
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


@pytest.fixture
def live(israel, tmp_path, signing_keys) -> Iterator[Live]:
    service = open_service(
        israel, f"sqlite:///{tmp_path / 'public.db'}", signing_keys, clock="wall"
    )
    token = create_token(service.db, "admin", "chief", 0)
    try:
        with Server(service, WebSettings(heartbeat_s=1.0)) as server:
            # open SSE streams never end by themselves: do not wait for them at the end
            server.server.force_exit = True
            yield Live(server, token)
    finally:
        service.db.dispose()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def manual(action: str, zones: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "type": "manual",
        "action": action,
        "zones": zones,
        "t": now(),
        "by": "op-test",
        **extra,
    }


def open_page(
    browser: Any,
    url: str,
    viewport: dict[str, int] = PHONE,
    places: list[dict[str, str]] | None = None,
) -> Any:
    page = browser.new_page(viewport=viewport, locale="en-US")
    if places is not None:
        page.add_init_script(  # the places a person saved before, on the first load only
            "if (!localStorage.getItem('airwarn.places')) "
            f"localStorage.setItem('airwarn.places', {json.dumps(json.dumps(places))})"
        )
    page.goto(url)
    page.wait_for_selector("#feed[data-state=live]", timeout=10_000)
    return page


def card(page: Any, zone: str) -> Any:
    return page.locator(f"#cards [data-zone='{zone}']")


def wait_state(page: Any, zone: str, state: str, timeout_ms: int = 10_000) -> None:
    try:
        page.wait_for_selector(
            f"#cards [data-zone='{zone}'][data-state='{state}']", timeout=timeout_ms
        )
    except Exception:
        cards = page.eval_on_selector_all(
            "#cards .card", "cs => cs.map(c => [c.dataset.zone, c.dataset.state])"
        )
        raise AssertionError(f"zone {zone} never showed {state}; the cards: {cards}") from None


def remaining(page: Any, zone: str) -> int:
    return int(card(page, zone).locator(".count-n").get_attribute("data-remaining"))


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"public-{name}.png"), full_page=False)


def test_a_place_in_an_alerted_zone_counts_down_its_shelter_time_then_says_the_event_ended(
    live: Live, browser: Any
) -> None:
    zone, lat, lon = ABU_GOSH
    page = open_page(browser, f"{live.server.url}/?lat={lat}&lon={lon}")
    wait_state(page, zone, "clear")
    assert "Abu Gosh" in card(page, zone).inner_text()

    live.post(manual("alert", [zone], category="missiles"))
    wait_state(page, zone, "alert")
    first = remaining(page, zone)
    assert 84 <= first <= 90
    text = card(page, zone).inner_text()
    assert "ALERT" in text and "Go to the protected space now." in text
    assert "rockets and missiles" in text
    expect(page.locator("#announcer")).to_contain_text("Go to the protected", timeout=30_000)
    time.sleep(2.2)
    later = remaining(page, zone)
    assert first - 4 <= later <= first - 2, (first, later)
    shot(page, "alert-phone")

    # a page opened late counts from the decision's time, not from its own start
    late = open_page(browser, f"{live.server.url}/?lat={lat}&lon={lon}")
    wait_state(late, zone, "alert")
    assert abs(remaining(late, zone) - remaining(page, zone)) <= 1
    late.close()

    live.post(manual("clear", [zone]))
    wait_state(page, zone, "ended")
    ended = card(page, zone).inner_text()
    assert "EVENT ENDED" in ended and "You may leave the protected space." in ended
    assert page.locator(".count-n").count() == 0
    shot(page, "ended-phone")
    page.close()


def test_hebrew_lays_the_page_out_right_to_left_and_names_the_zone_in_hebrew(
    live: Live, browser: Any
) -> None:
    zone, lat, lon = ABU_GOSH
    live.post(manual("alert", [zone], category="missiles"))
    page = open_page(browser, f"{live.server.url}/?lat={lat}&lon={lon}", viewport=DESKTOP)
    wait_state(page, zone, "alert")
    page.wait_for_selector("body[data-zones-loaded=yes]", timeout=15_000)
    page.select_option("#lang", "he")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("document.documentElement.lang") == "he"
    text = card(page, zone).inner_text()
    assert "אבו גוש" in text and "היכנסו למרחב המוגן עכשיו." in text
    assert "ירי רקטות וטילים" in text
    # read in one step: a render between finding the card and reading its style would leave a
    # detached element, whose computed style is empty
    direction = "getComputedStyle(document.querySelector('.card-head')).direction"
    assert page.evaluate(direction) == "rtl"
    page.wait_for_selector("body[data-outline-loaded=yes]", timeout=20_000)
    shot(page, "alert-he-desktop")

    # the choice is remembered; Arabic is right-to-left too, Russian is not
    page.reload()
    page.wait_for_selector("#feed[data-state=live]")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.locator("#lang").input_value() == "he"
    page.select_option("#lang", "ar")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert "آبو غوش" in card(page, zone).inner_text()
    page.select_option("#lang", "ru")
    assert page.evaluate("document.documentElement.dir") == "ltr"
    assert "ТРЕВОГА" in card(page, zone).inner_text()
    page.close()


def test_pre_alert_drill_and_places_found_by_name_are_each_told_apart(
    live: Live, browser: Any
) -> None:
    zone, lat, lon = ABU_GOSH
    places = [
        {"key": "home", "zone": zone, "label": "home"},
        {"key": "family", "zone": KIRYAT_SHMONA, "label": "family"},
    ]
    page = open_page(browser, f"{live.server.url}/", places=places)
    wait_state(page, zone, "clear")
    wait_state(page, KIRYAT_SHMONA, "clear")

    # a drone 45 km west heading for Abu Gosh: a pre-alert there, not an alert
    t0 = datetime.now(UTC).timestamp()
    reports = []
    for i in range(3):
        stamp = (
            datetime.fromtimestamp(t0 - 4 + 2 * i, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
        reports.append(
            {
                "type": "track",
                "threat": "D1",
                "kind": "drone",
                "t": stamp,
                "lat": lat,
                "lon": lon - 45 / 95 + i * 100 / 95_000,
                "alt_m": 300,
                "vel_mps": [50, 0, 0],
            }
        )
    live.post(*reports)
    wait_state(page, zone, "pre_alert")
    pre = card(page, zone).inner_text()
    assert "PRE-ALERT" in pre and "in the coming minutes" in pre and "hostile drone" in pre
    assert card(page, zone).locator(".count-n").count() == 0

    # an exercise alert in Kiryat Shmona is a drill, never an alert
    live.act(
        {
            "action": "alert",
            "zones": [KIRYAT_SHMONA],
            "reason": "school drill",
            "status": "exercise",
            "category": "missiles",
        }
    )
    wait_state(page, KIRYAT_SHMONA, "exercise")
    drill = card(page, KIRYAT_SHMONA).inner_text()
    assert "EXERCISE — NOT A REAL ALERT" in drill and "This is a drill." in drill
    assert "Go to the protected space now." not in drill
    shot(page, "pre-alert-and-drill-phone")
    # a siren test there starts and ends during the drill: the drill goes on, and says so
    for action in ("alert", "clear"):
        live.act(
            {"action": action, "zones": [KIRYAT_SHMONA], "reason": "siren test", "status": "test"}
        )
    page.wait_for_timeout(2_000)  # the live feed brings both within milliseconds
    wait_state(page, KIRYAT_SHMONA, "exercise", timeout_ms=1_000)

    # find a place by its name in another language, accents and case aside, and keep it
    page.wait_for_selector("body[data-zones-loaded=yes]", timeout=15_000)
    page.select_option("#label-pick", "work")
    page.fill("#search", "ЭЙЛАТ")
    page.locator(f"#results [data-zone='{EILAT}']").click()
    page.click("#candidate-add")
    wait_state(page, EILAT, "clear")
    page.reload()
    page.wait_for_selector("#feed[data-state=live]")
    wait_state(page, EILAT, "clear")
    assert "Work" in card(page, EILAT).inner_text()
    assert page.locator("#cards .card").count() == 3
    page.close()


def test_the_self_test_shows_a_sample_alert_marked_test_and_sounds_it(
    live: Live, browser: Any
) -> None:
    page = open_page(browser, f"{live.server.url}/?lang=en")
    page.click("#selftest")
    dialog = page.locator("#selftest-dialog")
    dialog.wait_for(state="visible")
    text = dialog.inner_text()
    assert "TEST — THIS IS NOT A REAL ALERT" in text
    assert "Nothing is happening." in text
    page.wait_for_selector("#selftest-dialog[data-tone]")
    assert dialog.get_attribute("data-tone") == "played"
    expect(page.locator("#announcer")).to_contain_text("not a real alert", timeout=30_000)
    shot(page, "selftest-phone")
    page.click("#selftest-close")
    dialog.wait_for(state="hidden")
    page.close()


def test_a_silent_feed_says_no_connection_instead_of_looking_safe(live: Live, browser: Any) -> None:
    zone, lat, lon = ABU_GOSH
    page = open_page(browser, f"{live.server.url}/?lat={lat}&lon={lon}")
    wait_state(page, zone, "clear")
    # the page learns the server's heartbeat period from two beats (stale after three missed)
    time.sleep(1.5)
    live.server.__exit__()
    page.wait_for_selector("#feed[data-state=stale]", timeout=10_000)
    assert page.locator("#stale").is_visible()
    assert "NO CONNECTION — do not rely on this page; listen for sirens." in (
        page.locator("#stale").inner_text()
    )
    wait_state(page, zone, "unknown")
    assert "STATUS UNKNOWN" in card(page, zone).inner_text()
    # the announcer is emptied and refilled 60 ms later (so screen readers read it again)
    expect(page.locator("#announcer")).to_contain_text("listen for sirens", timeout=5_000)
    shot(page, "no-connection-phone")
    page.close()
