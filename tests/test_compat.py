"""The compatibility feeds, read by the published clients, unmodified, pointed at a local airwarn.

`oref` and `pikudhaoref` read the Home Front Command's shapes for a rocket raid on real Israeli
alert areas; `alerts-in-ua` reads the alerts.in.ua-style API for a drone raid on real Ukrainian
hromadas. The clients call their services' real host names over HTTPS; `tlstunnel` points those
names at airwarn by environment only (a proxy and a CA bundle), as a deployment would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import alerts_in_ua
import oref
import pytest
import requests
from alerts_in_ua.air_raid_alert_oblast_statuses import AirRaidAlertOblastStatuses
from alerts_in_ua.location_uid_resolver import LocationUidResolver
from conftest import end, feed, manual, open_service, require_data, tick, track
from fastapi import FastAPI
from fastapi.testclient import TestClient
from kits.tlstunnel import pointed_at
from pikudhaoref import SyncClient
from starlette.routing import Mount

from airwarn.engine import physics
from airwarn.engine.zones import ZoneSet
from airwarn.service import Service
from airwarn.store.tokens import Client, create_token
from airwarn.web import WebSettings, create_app
from airwarn.web.compat.alertsinua import places as ua_locations
from airwarn.web.compat.alertsinua import routes as alertsinua
from airwarn.web.compat.board import AlertBoard
from airwarn.web.compat.homefront import routes as oref_feed

SENSOR = Client("sensor-1", "sensor")
ROCKETS, AIRCRAFT, PRE_ALERT = (
    "ירי רקטות וטילים",
    "חדירת כלי טיס עוין",
    "בדקות הקרובות צפויות להתקבל התרעות באזורך",
)
CHERNIHIV, KYIV = "Чернігівська область", "м. Київ"


@pytest.fixture(scope="session")
def israel() -> ZoneSet:
    """The real alert areas of the Gaza envelope and the western Negev (about 40)."""
    from airwarn.layers.israel import import_israel

    result = import_israel(require_data("israel", "israel_alert_areas.geojson"))
    return ZoneSet(
        [
            z
            for z in result.zones
            if 31.40 < z.properties["lat"] < 31.60 and 34.45 < z.properties["lon"] < 34.70
        ]
    )


@pytest.fixture(scope="session")
def ukraine() -> ZoneSet:
    """The real hromadas of Chernihiv oblast, and Kyiv City (59 zones)."""
    from airwarn.layers.ukraine import import_ukraine

    result = import_ukraine(require_data("ukraine", "ua_hromadas.geojson"), "hromada", 90)
    return ZoneSet([z for z in result.zones if z.properties.get("oblast_uk") in (CHERNIHIV, KYIV)])


def compat_app(service: Service) -> FastAPI:
    """The app with both compatibility routers, mounted as create_app is to mount them:
    before the static files, since Tzeva Adom's city list lives under /static/."""
    app = create_app(service, WebSettings(heartbeat_s=0.5, rate_burst=10_000))
    app.include_router(oref_feed.router)
    app.include_router(alertsinua.router)
    routes = app.router.routes
    for mount in [r for r in routes if isinstance(r, Mount)]:
        routes.remove(mount)
        routes.append(mount)
    return app


class Answers:
    """Records each answer's path and status on the way out (an observer, not a double)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, int]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def record(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.seen.append((scope["path"], message["status"]))
            await send(message)

        await self.app(scope, receive, record)


@dataclass
class Served:
    service: Service
    token: str
    answers: Answers
    connects: list[str]

    def send(self, *events: Any) -> None:
        for answer in feed(self.service, list(events), SENSOR, int(time.time() * 1000)):
            assert "accepted" not in answer or not answer["rejected"], answer

    def statuses(self, path_end: str) -> list[int]:
        return [status for path, status in self.answers.seen if path.endswith(path_end)]


@contextmanager
def served(
    zones: ZoneSet,
    url: str,
    keys: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    **engine: Any,
) -> Iterator[Served]:
    service = open_service(zones, url, keys, **engine)
    token = create_token(service.db, "reader", "reader-1", 0)
    answers = Answers(compat_app(service))
    try:
        with pointed_at(answers, tmp_path, monkeypatch) as tunnel:
            yield Served(service, token, answers, tunnel.connects)
    finally:
        service.db.dispose()


def rocket(
    launch: tuple[float, float], target: tuple[float, float], threat: str = "R1"
) -> tuple[list[Any], float]:
    """Noise-free reports of a rocket flown with the physics model; and its impact time."""
    beta = 8000.0
    v0 = physics.aim(*launch, *target, beta_kg_m2=beta, loft_deg=45.0)
    flight = physics.fly(physics.geodetic_to_ecef(*launch, 0.0), v0, 0.0, beta, record=True)
    assert flight.impact is not None
    events, last = [], -1.0
    for ts, (r, v) in zip(flight.times_s, flight.states, strict=True):
        if ts < 3.0 or ts - last < 1.0:
            continue
        last = ts
        lat, lon, h = physics.ecef_to_geodetic(*r)
        east, north, up = physics.ecef_to_enu_vector(lat, lon, v)
        events.append(
            track(
                threat, ts, lat, lon, kind="rocket", alt_m=h, sigma_m=30, vel_mps=[east, north, up]
            )
        )
    return events, flight.impact.t_s


def hebrew(zones: ZoneSet, zone_ids: Any) -> set[str]:
    return {zones.zones[zones.index_of[z]].properties["area_he"] for z in zone_ids}


# -- the Home Front Command's shapes --------------------------------------------------------


def test_oref_clients_see_the_zones_a_rocket_alerts_and_nothing_once_it_is_over(
    israel, store_url, signing_keys, tmp_path, monkeypatch
):
    with served(israel, store_url, signing_keys, tmp_path, monkeypatch) as s:
        assert oref.check_alert() is False  # no alert: an empty body, as the HFC sends
        oref.init(extra_languages=["he"])  # the areas, from GetDistricts.aspx
        reports, impact_s = rocket((31.45, 34.40), (31.525, 34.596))  # Gaza to Sderot
        s.send(*reports)
        truth = s.service.engine.levels()
        alerted = [z for z, level in truth.items() if level == "alert"]
        assert alerted, "the rocket alerted no zone"
        names = hebrew(israel, alerted)

        # oref filters by area number (a name makes its check raise, and check_alert say False)
        numbers = [loc.id for loc in oref.loader.locations() if loc.name.he in names]
        alert = oref.check_alert(numbers)
        assert (alert.category, alert.title) == ("1", ROCKETS)
        assert {loc.name.he for loc in alert.unfiltered_locations} == names
        assert {loc.name.he for loc in alert.locations} == names
        assert {loc.name.en for loc in alert.locations} == {
            israel.zones[israel.index_of[z]].name for z in alerted
        }
        assert oref.translate(alert, "en")[0] == "Rocket and missile fire"
        with SyncClient(update_interval=3600) as pikud:  # loads Tzeva Adom's city list first
            sirens = pikud.current_sirens
            assert {siren.city.name.he for siren in sirens} == names
            assert {siren.city.countdown.seconds for siren in sirens} <= {
                israel.zones[israel.index_of[z]].shelter_s for z in alerted
            }

            s.send(end("R1", impact_s), tick(impact_s + 601))  # the hold is over
            assert s.service.engine.levels() == {}
            assert oref.check_alert() is False
            assert pikud.current_sirens == []
            history = pikud.get_history()  # GetAlarmsHistory.aspx, the last day
            assert {siren.city for siren in history} >= names  # with any zone pre-alerted
        assert {
            "www.oref.org.il:443",
            "alerts-history.oref.org.il:443",
            "www.tzevaadom.co.il:443",
        } <= set(s.connects)


def test_the_live_feed_shows_each_category_in_turn_and_the_history_all_at_once(
    israel, tmp_path, signing_keys, monkeypatch
):
    url = f"sqlite:///{tmp_path / 'airwarn.db'}"
    rockets, drones, soon = israel.ids[0:2], israel.ids[2:3], israel.ids[3:5]
    with served(israel, url, signing_keys, tmp_path, monkeypatch) as s:
        s.send(
            manual("alert", 0, zones=list(rockets), category="rocket"),
            manual("alert", 1, zones=list(drones), category="drone"),
            manual("pre_alert", 2, zones=list(soon)),
        )
        live = "https://www.oref.org.il/warningMessages/alert/Alerts.json"
        seen = {}
        for _ in range(3):
            body = requests.get(live, timeout=10).json()
            seen[body["cat"]] = (body["title"], set(body["data"]), body["id"])
        assert {cat: value[:2] for cat, value in seen.items()} == {
            "1": (ROCKETS, hebrew(israel, rockets)),
            "6": (AIRCRAFT, hebrew(israel, drones)),
            "10": (PRE_ALERT, hebrew(israel, soon)),
        }
        assert len({value[2] for value in seen.values()}) == 3  # an id per alert

        history_url = "https://www.oref.org.il/warningMessages/alert/History/AlertsHistory.json"
        first = requests.get(history_url, timeout=10)
        history = first.json()
        assert {(h["data"], h["category"], h["title"]) for h in history} == (
            {(n, 1, ROCKETS) for n in hebrew(israel, rockets)}
            | {(n, 2, AIRCRAFT) for n in hebrew(israel, drones)}
            | {(n, 14, PRE_ALERT) for n in hebrew(israel, soon)}
        )
        assert [h["alertDate"] for h in history] == sorted(
            (h["alertDate"] for h in history), reverse=True
        )
        assert history[-1]["alertDate"] == "2026-03-01 20:00:00"  # Israel's local time
        again = requests.get(
            history_url, timeout=10, headers={"If-Modified-Since": first.headers["Last-Modified"]}
        )
        assert again.status_code == 304 and again.content == b""

        s.send(manual("clear", 20, zones=list(rockets)))
        history = requests.get(history_url, timeout=10).json()
        assert {(h["data"], h["category"]) for h in history if h["title"] == "האירוע הסתיים"} == {
            (n, 13) for n in hebrew(israel, rockets)
        }
        cats = {requests.get(live, timeout=10).json()["cat"] for _ in range(4)}
        assert cats == {"6", "10"}


# -- alerts.in.ua's shapes -------------------------------------------------------------------


def drone_over_chernihiv() -> list[Any]:
    """A drone flying south at 50 m/s towards Chernihiv, reported every 10 s for 2 minutes."""
    return [
        track(
            "D1",
            10 * i,
            52.0 - 10 * i * 50 / 111_000,
            31.3,
            kind="drone",
            vel_mps=[0.0, -50.0, 0.0],
        )
        for i in range(13)
    ]


def test_alerts_in_ua_client_lists_hromadas_raions_and_cities_as_the_raid_covers_them(
    ukraine, store_url, signing_keys, tmp_path, monkeypatch
):
    places = {z.id: z.properties for z in ukraine.zones}
    koriukivskyi = [z for z, p in places.items() if p["raion_uk"] == "Корюківський район"]
    with served(ukraine, store_url, signing_keys, tmp_path, monkeypatch) as s:
        client = alerts_in_ua.Client(s.token)
        assert len(client.get_active_alerts()) == 0
        s.send(*drone_over_chernihiv())
        s.send(
            manual("alert", 125, region="Kyiv City", category="drone"),
            manual("alert", 126, zones=koriukivskyi, category="drone"),
        )
        truth = s.service.engine.levels()
        hromadas = {
            z: level
            for z, level in truth.items()
            if places[z]["oblast_uk"] == CHERNIHIV and z not in koriukivskyi
        }
        assert "alert" in hromadas.values() and "pre_alert" in hromadas.values()

        alerts = client.get_active_alerts()
        assert all(a.alert_type == "air_raid" and a.finished_at is None for a in alerts)
        [kyiv] = alerts.get_alerts_by_location_type("city")
        assert (
            kyiv.location_title,
            kyiv.location_uid,
            kyiv.location_oblast_uid,
            kyiv.alert_level,
        ) == (KYIV, "31", 31, "red")
        [raion] = alerts.get_alerts_by_location_type("raion")
        assert (
            raion.location_title,
            raion.location_uid,
            raion.location_oblast,
            raion.location_oblast_uid,
            raion.calculated,
        ) == ("Корюківський район", "144", CHERNIHIV, 25, True)
        expected = {
            (
                f"{places[z]['name_uk']} територіальна громада",
                {"alert": "red", "pre_alert": "yellow"}[level],
            )
            for z, level in hromadas.items()
        }
        got = alerts.get_alerts_by_location_type("hromada")
        assert {(a.location_title, a.alert_level) for a in got} == expected
        # each hromada named with its own raion (the drone's corridor reaches past the Chernihiv
        # raion it flies over: a hard turn is within a drone's reach)
        assert {(a.location_oblast, a.location_oblast_uid, a.location_raion) for a in got} == {
            (CHERNIHIV, 25, places[z]["raion_uk"]) for z in hromadas
        }
        assert (CHERNIHIV, 25, "Чернігівський район") in {
            (a.location_oblast, a.location_oblast_uid, a.location_raion) for a in got
        }
        assert str(alerts.get_last_updated_at()) == "2026-03-01 20:02:06+02:00"  # Kyiv time

        statuses = {o.location_title: o for o in client.get_air_raid_alert_statuses_by_oblast()}
        assert statuses[KYIV].status == "active" and statuses[CHERNIHIV].status == "partly"
        assert {t for t, o in statuses.items() if o.status != "no_alert"} == {KYIV, CHERNIHIV}
        assert client.get_air_raid_alert_status(KYIV, include_alert_level=True).is_red()
        assert client.get_air_raid_alert_status(144).status == "active"
        assert (
            client.get_air_raid_alert_status(CHERNIHIV, oblast_level_only=True).status == "no_alert"
        )
        by_uid = {st.uid: st for st in client.get_air_raid_alert_statuses()}
        assert (by_uid[31].status, by_uid[25].status, by_uid[144].status) == (
            "active",
            "partly",
            "active",
        )
        assert 29 not in by_uid  # Crimea: airwarn has no zones there, so no letter

        s.send(
            end("D1", 200, reason="intercepted"),
            manual("clear", 201, region="Kyiv City"),
            manual("clear", 202, zones=koriukivskyi),
            tick(900),
        )
        assert s.service.engine.levels() == {}
        assert len(client.get_active_alerts()) == 0
        past = client.get_alerts_history(CHERNIHIV)  # the last week
        assert {a.location_title for a in past if a.location_type == "hromada"} >= {
            t for t, _ in expected
        }
        assert all(a.is_finished() for a in past)
        assert {"api.alerts.in.ua:443"} == set(s.connects)


def test_if_modified_since_gets_304_and_the_client_answers_from_its_cache_until_a_change(
    ukraine, tmp_path, signing_keys, monkeypatch
):
    url = f"sqlite:///{tmp_path / 'airwarn.db'}"
    with served(ukraine, url, signing_keys, tmp_path, monkeypatch) as s:
        s.send(manual("alert", 0, region="Kyiv City"))
        client = alerts_in_ua.Client(s.token)
        first = client.get_active_alerts()
        assert s.statuses("active.json") == [200]
        cached = client.get_active_alerts()  # sends If-Modified-Since: nothing changed
        assert s.statuses("active.json") == [200, 304]
        assert [a.id for a in cached] == [a.id for a in first]

        # two changes within one second, the client served between them: its date must not
        # hide the second change, even when it asks again after that second
        first_zone, second_zone = [
            z.id for z in ukraine.zones if z.properties["name_uk"] in ("Чернігівська", "Ніжинська")
        ]
        time.sleep(1.02 - time.time() % 1)  # at the start of a second
        s.send(manual("alert", 5, zones=[first_zone]))
        assert len(client.get_active_alerts()) == 2
        s.send(manual("alert", 6, zones=[second_zone]))
        other = requests.get(
            "https://api.alerts.in.ua/v1/iot/active_air_raid_alerts.json",
            headers={"Authorization": f"Bearer {s.token}"},
            timeout=10,
        )
        assert other.status_code == 200  # another client: the change is seen in that second
        time.sleep(1.02 - time.time() % 1)  # the next second
        asked = len(s.statuses("active.json"))
        assert len(client.get_active_alerts()) == 3, "a change was hidden behind 304"
        assert 304 not in s.statuses("active.json")[asked:]
        time.sleep(1.1)  # the last change's second is over: the client's date holds now
        client.get_active_alerts()
        client.get_active_alerts()
        assert s.statuses("active.json")[-1] == 304


def test_alerts_in_ua_needs_an_airwarn_token_and_the_hfc_feed_none(
    ukraine, tmp_path, signing_keys, monkeypatch
):
    url = f"sqlite:///{tmp_path / 'airwarn.db'}"
    with served(ukraine, url, signing_keys, tmp_path, monkeypatch):
        with pytest.raises(alerts_in_ua.errors.UnauthorizedError):
            alerts_in_ua.Client("not-an-airwarn-token").get_active_alerts()
        answer = requests.get(
            "https://www.oref.org.il/WarningMessages/alert/alerts.json", timeout=10
        )
        assert answer.status_code == 200 and answer.content == b""


# -- behaviour apart from the clients --------------------------------------------------------


@pytest.fixture
def http(ukraine, tmp_path, signing_keys) -> Iterator[tuple[TestClient, Service, dict]]:
    service = open_service(ukraine, f"sqlite:///{tmp_path / 'airwarn.db'}", signing_keys)
    token = create_token(service.db, "reader", "reader-1", 0)
    with TestClient(compat_app(service)) as client:
        yield client, service, {"Authorization": f"Bearer {token}"}
    service.db.dispose()


def ingest(service: Service, *events: Any) -> None:
    feed(service, list(events), SENSOR)


def test_drills_and_tests_never_reach_the_compatibility_feeds(http):
    client, service, auth = http
    ingest(
        service,
        manual("alert", 0, region="Kyiv City", status="exercise"),
        manual("alert", 1, region="Kyiv City", status="test"),
    )
    assert service.engine.drills()
    assert client.get("https://www.oref.org.il/WarningMessages/alert/alerts.json").content == b""
    assert client.get("/v1/alerts/active.json", headers=auth).json()["alerts"] == []
    assert (
        client.get("/v1/iot/active_air_raid_alerts_by_oblast.json", headers=auth).json() == "N" * 27
    )


def test_an_alert_on_before_the_period_keeps_its_start_in_the_history(http):
    client, service, auth = http
    ingest(service, manual("alert", 0, region="Kyiv City"))
    ingest(service, tick(2 * 86_400))  # two days on, still on: no decision in the last day
    [on] = client.get("/v1/regions/31/alerts/day_ago.json", headers=auth).json()["alerts"]
    assert (on["started_at"], on["finished_at"]) == ("2026-03-01T18:00:00.000Z", None)
    ingest(service, manual("clear", 2 * 86_400 + 60, region="Kyiv City"))
    [over] = client.get("/v1/regions/31/alerts/day_ago.json", headers=auth).json()["alerts"]
    assert (over["id"], over["started_at"], over["finished_at"]) == (
        on["id"],
        "2026-03-01T18:00:00.000Z",
        "2026-03-03T18:01:00.000Z",
    )
    answer = client.get("/v1/regions/9999/alerts/week_ago.json", headers=auth)
    assert answer.status_code == 404 and "9999" in answer.json()["error"]
    answer = client.get("/v1/regions/31/alerts/year_ago.json", headers=auth)
    assert answer.status_code == 422


def test_a_restarted_process_serves_the_same_alerts_from_the_store(ukraine, tmp_path, signing_keys):
    url = f"sqlite:///{tmp_path / 'airwarn.db'}"
    first = open_service(ukraine, url, signing_keys)
    token = create_token(first.db, "reader", "reader-1", 0)
    auth = {"Authorization": f"Bearer {token}"}
    ingest(first, *drone_over_chernihiv())
    with TestClient(compat_app(first)) as client:
        before = client.get("/v1/alerts/active.json", headers=auth).json()
    first.db.dispose()
    again = open_service(ukraine, url, signing_keys)  # a new writer, e.g. after a failover
    with TestClient(compat_app(again)) as client:
        after = client.get("/v1/alerts/active.json", headers=auth).json()
    again.db.dispose()
    assert before["alerts"] and after == before


def test_a_date_never_names_a_state_that_may_still_change_within_its_second(
    ukraine, tmp_path, signing_keys
):
    service = open_service(ukraine, f"sqlite:///{tmp_path / 'airwarn.db'}", signing_keys)
    now = [1_000_000.2]
    board = AlertBoard(service, clock=lambda: now[0])
    first = board.snapshot()
    ingest(service, manual("alert", 0, region="Kyiv City"))
    now[0] = 1_000_000.4
    changed = board.snapshot()
    assert changed.seq > first.seq and changed.changed_s == 1_000_000.4
    assert changed.last_modified_s(now[0]) == 999_999  # the second is not over yet
    now[0] = 1_000_001.0
    assert changed.last_modified_s(now[0]) == 1_000_000
    service.db.dispose()


# -- the published numbers -------------------------------------------------------------------


def test_the_location_numbers_are_alerts_in_ua_s_own():
    published = LocationUidResolver().uid_to_location
    assert published == ua_locations.UID_TO_LOCATION
    order = tuple(AirRaidAlertOblastStatuses.LOCATIONS)
    assert order == ua_locations.OBLAST_ORDER


def test_every_raion_of_the_real_layer_has_its_number_but_crimea_s():
    import csv

    with open(require_data("ukraine", "ua_hromadas_attributes.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    raions = {(r["oblast_uk"], r["raion_uk"]) for r in rows if r["raion_uk"]}
    missing = {
        (o, r)
        for o, r in raions
        if ua_locations.normal_name(r) not in ua_locations.LOCATION_TO_UID
        and ua_locations.normal_name(o) != KYIV
    }
    assert missing and {o for o, _ in missing} == {"Автономна Республіка Крим"}
    oblasts = {ua_locations.normal_name(r["oblast_uk"]) for r in rows}
    assert oblasts <= set(ua_locations.OBLAST_ORDER)
