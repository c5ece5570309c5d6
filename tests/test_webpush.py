"""Web Push as browsers get it: subscribe, a raid, a push only the subscriber can read.

No outside push service is reachable here, so a small HTTP server on 127.0.0.1 plays the push
service (the one fake in these tests): it takes the POSTs the channel sends and answers as
told. Everything else is real: the service and app on SQLite and PostgreSQL, pywebpush's
encryption, and the subscriber's side done as a browser does it, with its own P-256 key and
auth secret, decrypting with http_ece.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import http_ece
import pytest
import sqlalchemy as sa
from conftest import manual, open_service, post_feed, track
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from fastapi.testclient import TestClient

from airwarn.channels.webpush import PushChannel, PushLimits
from airwarn.channels.webpush.vapid import KEY_FILE
from airwarn.service import Service
from airwarn.store.tokens import create_token
from airwarn.web import WebSettings, create_app

SUBJECT = "mailto:ops@airwarn.test"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- the stand-in push service ----------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushService:
    """An HTTP server on 127.0.0.1 that records each push and answers with the next status
    scripted for its path (201, as push services do, when nothing is scripted)."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    script: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def endpoint(self, name: str) -> str:
        return f"{self.origin}/push/{name}"

    def answer(self, name: str, *statuses: int, **headers: str) -> None:
        self.script[f"/push/{name}"] = [(s, headers) for s in statuses]

    def to(self, name: str) -> list[Received]:
        with self.changed:
            return [r for r in self.received if r.path == f"/push/{name}"]

    def wait(self, name: str, count: int, timeout_s: float = 8.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while len(got := [r for r in self.received if r.path == f"/push/{name}"]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{name} got {len(got)} pushes, expected {count}")
                self.changed.wait(left)
            return got


@pytest.fixture
def push_service() -> Iterator[PushService]:
    state: dict[str, PushService] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as push services do

        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            service = state["it"]
            with service.changed:
                service.received.append(Received(self.path, dict(self.headers.items()), body))
                queue = service.script.get(self.path) or [(201, {})]
                status, headers = queue.pop(0) if len(queue) > 1 else queue[0]
                service.changed.notify_all()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 256  # the default 5 resets connections under a fan-out
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    state["it"] = PushService(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["it"]
    server.shutdown()
    server.server_close()


# -- a browser's side ---------------------------------------------------------------------------


@dataclass
class Browser:
    """A subscriber's keys, made as a browser makes them: a P-256 pair and 16 random bytes."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self, **wants: Any) -> dict[str, Any]:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
            **wants,
        }

    def read(self, push: Received) -> dict[str, Any]:
        assert push.headers["Content-Encoding"] == "aes128gcm"
        plain = http_ece.decrypt(
            push.body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
        )
        return dict(json.loads(plain))


# -- the app with the channel -------------------------------------------------------------------


@dataclass
class App:
    http: TestClient
    service: Service
    admin: dict[str, str]

    def post(self, *events: Any) -> dict[str, Any]:
        """Sensor events on /v1/events, manual actions through /v1/actions."""
        answers = post_feed(self.http, list(events), self.admin)
        assert all(not answer["rejected"] for answer in answers), answers
        return answers[-1]

    def subscribe(self, browser: Browser, **wants: Any) -> dict[str, Any]:
        answer = self.http.post("/v1/push/subscriptions", json=browser.subscription(**wants))
        assert answer.status_code == 201, answer.text
        return dict(answer.json())


def running(service: Service, channels: list[PushChannel]) -> TestClient:
    return TestClient(
        create_app(service, WebSettings(heartbeat_s=0.5, rate_burst=10_000), channels=channels)
    )


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    return tmp_path / "vapid"


# the stand-in push service is on this machine: a closed network's settings
LOCAL_PUSH = PushLimits(
    endpoint_hosts=("127.0.0.1", "localhost"), allow_private=True, per_address_hour=10_000
)


def channel(keys_dir: Path, **options: Any) -> PushChannel:
    return PushChannel(
        keys_dir,
        subject=SUBJECT,
        timeout_s=2.0,
        **{"retry_s": 0.05, "limits": LOCAL_PUSH, **options},
    )


@pytest.fixture
def app(grid, tmp_path, signing_keys, keys_dir) -> Iterator[App]:
    service = open_service(grid, f"sqlite:///{tmp_path / 'push.db'}", signing_keys)
    token = create_token(service.db, "admin", "admin-1", 0)
    with running(service, [channel(keys_dir)]) as http:
        yield App(http, service, {"Authorization": f"Bearer {token}"})
    service.db.dispose()


def rows(service: Service, table: str) -> list[dict[str, Any]]:
    with service.db.connect() as db:
        return [
            dict(r) for r in db.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1")).mappings()
        ]


def settled(service: Service, timeout_s: float = 10.0) -> None:
    """Wait until no push is owed (every outbox row sent, expired, failed or gone): the
    channel sends only what is owed, so from here nothing more is sent. The outbox has no
    API to read it by, hence the table."""
    deadline = time.monotonic() + timeout_s
    while any(r["state"] == "owed" for r in rows(service, "push_outbox")):
        assert time.monotonic() < deadline, rows(service, "push_outbox")
        time.sleep(0.02)


def check_vapid(push: Received, served_key: str, audience: str) -> dict[str, Any]:
    """The VAPID token (RFC 8292) is signed by the key the server serves, for this push
    service, and still valid; its claims."""
    scheme, _, params = push.headers["Authorization"].partition(" ")
    assert scheme == "vapid"
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    assert parts["k"] == served_key
    header, claims, signature = parts["t"].split(".")
    assert json.loads(unb64url(header)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64url(signature)
    assert len(raw) == 64
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(served_key))
    public.verify(
        encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:])),
        f"{header}.{claims}".encode(),
        ec.ECDSA(hashes.SHA256()),
    )
    decoded = dict(json.loads(unb64url(claims)))
    assert decoded["aud"] == audience
    assert time.time() < decoded["exp"] <= time.time() + 24 * 3600
    return decoded


# -- the tests ----------------------------------------------------------------------------------


def test_a_browser_in_a_raided_zone_gets_a_push_only_it_can_read_signed_with_the_served_key(
    grid, store_url, signing_keys, keys_dir, push_service
) -> None:
    service = open_service(grid, store_url, signing_keys)
    token = create_token(service.db, "admin", "admin-1", 0)
    with running(service, [channel(keys_dir)]) as http:
        app = App(http, service, {"Authorization": f"Bearer {token}"})
        served = http.get("/v1/push/key").json()["key"]
        browser = Browser(push_service.endpoint("near"))
        assert app.subscribe(browser, zones=["r0c0"], lang="en-GB")["zones"] == ["r0c0"]
        app.post(track("T1", 0, 31.425, 34.625, kind="drone"))
        push = push_service.wait("near", 1)[0]
        message = browser.read(push)
        assert (message["zone"], message["level"], message["kind"]) == ("r0c0", "alert", "drone")
        assert message["status"] == "actual" and message["title"] == "Zone 0-0"
        assert "shelter" in message["text"] and "60 s" in message["text"]
        decision = json.loads(service.log.history(zones=["r0c0"])[0])
        assert message["seq"] == decision["seq"] and message["t"] == decision["t"]
        cap = [m for m in service.log.cap_rows() if "r0c0" in m["zones"]]
        assert message["identifier"] == cap[0]["identifier"]
        assert push.headers["Urgency"] == "high"
        assert 0 < int(push.headers["TTL"]) <= 300
        claims = check_vapid(push, served, push_service.origin)
        assert claims["sub"] == SUBJECT
        # another key cannot read it
        with pytest.raises(Exception):  # noqa: B017, PT011 - http_ece raises InvalidTag or ECEException
            Browser(browser.endpoint, auth=browser.auth).read(push)
        settled(service)  # the known last step: nothing is owed, so nothing more is sent
        assert len(push_service.to("near")) == 1  # one decision for r0c0, one push
        assert [r["state"] for r in rows(service, "push_outbox")] == ["sent"]
    service.db.dispose()


def test_a_subscription_by_point_reaches_the_zone_holding_the_point_and_not_a_far_one(
    app: App, push_service: PushService
) -> None:
    here, far = Browser(push_service.endpoint("here")), Browser(push_service.endpoint("far"))
    answer = app.subscribe(here, point={"lat": 31.42, "lon": 34.63}, lang="he")
    assert answer["zones"] == ["r0c0"] and answer["point"] == {"lat": 31.42, "lon": 34.63}
    app.subscribe(far, zones=["r5c5"])
    app.post(manual("alert", 0, zones=["r0c0"]))
    message = here.read(push_service.wait("here", 1)[0])
    assert (message["zone"], message["level"]) == ("r0c0", "alert")
    assert "מרחב" in message["text"]  # in the language it asked for
    app.post(manual("alert", 1, zones=["r5c5"]))
    assert far.read(push_service.wait("far", 1)[0])["zone"] == "r5c5"
    settled(app.service)
    assert len(push_service.to("here")) == 1 and len(push_service.to("far")) == 1
    stored = rows(app.service, "push_subscription")
    assert [(s["lat"], s["lon"], s["zones"]) for s in stored] == [
        (31.42, 34.63, None),
        (None, None, '["r5c5"]'),
    ]


def test_drills_reach_only_those_who_asked_and_say_they_are_drills(app: App, push_service) -> None:
    keen, plain = Browser(push_service.endpoint("keen")), Browser(push_service.endpoint("plain"))
    app.subscribe(keen, zones=["r2c2"], drills=True)
    app.subscribe(plain, zones=["r2c2"])
    app.post(manual("alert", 0, zones=["r2c2"], status="exercise"))
    drill = keen.read(push_service.wait("keen", 1)[0])
    assert drill["status"] == "exercise" and drill["text"].startswith("DRILL: ")
    assert drill["title"].startswith("DRILL: ")
    app.post(manual("alert", 1, zones=["r2c2"]))  # a real one reaches both
    assert plain.read(push_service.wait("plain", 1)[0])["status"] == "actual"
    assert [keen.read(p)["status"] for p in push_service.wait("keen", 2)] == ["exercise", "actual"]
    assert push_service.to("keen")[0].headers["Urgency"] == "normal"


def test_a_push_service_that_says_gone_removes_the_subscription(
    grid, store_url, signing_keys, keys_dir, push_service
) -> None:
    service = open_service(grid, store_url, signing_keys)
    token = create_token(service.db, "admin", "admin-1", 0)
    with running(service, [channel(keys_dir)]) as http:
        app = App(http, service, {"Authorization": f"Bearer {token}"})
        gone, kept = Browser(push_service.endpoint("gone")), Browser(push_service.endpoint("ok"))
        push_service.answer("gone", 410)
        app.subscribe(gone, zones=["r1c1"])
        app.subscribe(kept, zones=["r1c1"])
        app.post(manual("alert", 0, zones=["r1c1"]))
        push_service.wait("gone", 1)
        push_service.wait("ok", 1)
        deadline = time.monotonic() + 5
        while len(rows(service, "push_subscription")) != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [s["endpoint"] for s in rows(service, "push_subscription")] == [kept.endpoint]
        assert {r["subscription_id"] for r in rows(service, "push_outbox")} == {
            rows(service, "push_subscription")[0]["id"]
        }
        app.post(manual("clear", 1, zones=["r1c1"]))
        push_service.wait("ok", 2)
        settled(service)
        assert len(push_service.to("gone")) == 1  # nothing more to the dead endpoint
    service.db.dispose()


def test_a_push_service_error_is_retried_until_the_push_is_taken(app: App, push_service) -> None:
    browser = Browser(push_service.endpoint("flaky"))
    push_service.answer("flaky", 503, 500, 429, 201)
    app.subscribe(browser, zones=["r3c3"])
    app.post(manual("alert", 0, zones=["r3c3"]))
    pushes = push_service.wait("flaky", 4)
    # the same warning each time, freshly encrypted
    assert len({browser.read(p)["seq"] for p in pushes}) == 1
    assert len({p.body for p in pushes}) == 4
    deadline = time.monotonic() + 5
    while [r["state"] for r in rows(app.service, "push_outbox")] != ["sent"]:
        assert time.monotonic() < deadline, rows(app.service, "push_outbox")
        time.sleep(0.05)
    row = rows(app.service, "push_outbox")[0]
    assert row["attempts"] == 4 and row["last_error"] is None


def test_pushes_to_one_browser_keep_their_order_when_one_is_retried(app: App, push_service) -> None:
    browser = Browser(push_service.endpoint("ordered"))
    push_service.answer("ordered", 503, 201)
    push_service.script["/push/ordered"][0] = (503, {"Retry-After": "1"})
    app.subscribe(browser, zones=["r3c3"])
    alert = app.post(manual("alert", 0, zones=["r3c3"]))["first_decision_seq"]
    push_service.wait("ordered", 1)
    clear = app.post(manual("clear", 1, zones=["r3c3"]))["first_decision_seq"]
    pushes = push_service.wait("ordered", 3)
    assert [browser.read(p)["seq"] for p in pushes] == [alert, alert, clear]


def test_a_warning_the_push_service_cannot_take_within_the_ttl_is_given_up(
    grid, tmp_path, signing_keys, keys_dir, push_service
) -> None:
    service = open_service(grid, f"sqlite:///{tmp_path / 'ttl.db'}", signing_keys)
    token = {"Authorization": f"Bearer {create_token(service.db, 'admin', 'admin-1', 0)}"}
    push_service.answer("down", 503)
    with running(service, [channel(keys_dir, ttl_s=1, retry_s=0.2)]) as http:
        app = App(http, service, token)
        app.subscribe(Browser(push_service.endpoint("down")), zones=["r2c2"])
        app.post(manual("alert", 0, zones=["r2c2"]))
        deadline = time.monotonic() + 5
        while [r["state"] for r in rows(service, "push_outbox")] != ["expired"]:
            assert time.monotonic() < deadline, rows(service, "push_outbox")
            time.sleep(0.05)
        tries = len(push_service.to("down"))
        assert 2 <= tries <= 6  # 0.2 s, 0.4 s, 0.8 s apart, then too late
        assert [int(p.headers["TTL"]) for p in push_service.to("down")][0] == 1
        settled(service)  # expired: nothing owed, so no more tries
        assert len(push_service.to("down")) == tries
    service.db.dispose()


def test_a_restart_sends_what_was_owed_and_what_was_never_queued(
    grid, store_url, signing_keys, keys_dir, push_service
) -> None:
    browser = Browser(push_service.endpoint("waiting"))
    push_service.answer("waiting", 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 201)
    service = open_service(grid, store_url, signing_keys)
    token = {"Authorization": f"Bearer {create_token(service.db, 'admin', 'admin-1', 0)}"}
    # the first writer queues the alert but its push service keeps failing; it stops
    with running(service, [channel(keys_dir, retry_s=10.0)]) as http:
        app = App(http, service, token)
        app.subscribe(browser, zones=["r4c4"])
        first = app.post(manual("alert", 0, zones=["r4c4"]))["first_decision_seq"]
        push_service.wait("waiting", 1)
    assert [r["state"] for r in rows(service, "push_outbox")] == ["owed"]
    # a decision committed while no push channel runs at all
    with running(service, []) as http:
        second = App(http, service, token).post(manual("clear", 1, zones=["r4c4"]))[
            "first_decision_seq"
        ]
    assert second == first + 1
    service.db.dispose()
    # a new writer on the same store sends both, in order
    push_service.answer("waiting", 201)
    service = open_service(grid, store_url, signing_keys)
    with running(service, [channel(keys_dir)]):
        pushes = push_service.wait("waiting", 3)
        assert [browser.read(p)["seq"] for p in pushes[1:]] == [first, second]
        assert [browser.read(p)["level"] for p in pushes[1:]] == ["alert", "clear"]
        settled(service)
        assert len(push_service.to("waiting")) == 3
    service.db.dispose()


GOOD = Browser("http://127.0.0.1:9/push/x").subscription()


BAD = [  # (what is changed in a good subscription, the field named, words in the answer)
    (
        {"keys": {**GOOD["keys"], "p256dh": GOOD["keys"]["p256dh"][:40]}},
        "$.keys.p256dh",
        "65 bytes",
    ),
    (
        {"keys": {**GOOD["keys"], "p256dh": b64url(b"\x04" + b"\x01" * 64)}},
        "$.keys.p256dh",
        "not a point",
    ),
    ({"keys": {**GOOD["keys"], "auth": b64url(os.urandom(15))}}, "$.keys.auth", "16 bytes"),
    ({"zones": ["r0c0", "atlantis"]}, "$.zones[1]", "no zone with that id"),
    ({"zones": None, "point": {"lat": 40.0, "lon": 30.0}}, "$.point", "no zone covers"),
    ({"zones": ["r0c0"], "point": {"lat": 31.42, "lon": 34.63}}, "$.zones", "exactly one"),
    ({"zones": None}, "$.point", "exactly one"),
    ({"endpoint": "http://push.example.com/x"}, "$.endpoint", "https"),
    ({"endpoint": "ftp://127.0.0.1/x"}, "$.endpoint", "https"),
    ({"endpoint": "https://push.example.com:99999/x"}, "$.endpoint", "https"),
    ({"keys": {**GOOD["keys"], "auth": "not base64!"}}, "$.keys.auth", "pattern"),
    ({"lang": "english please"}, "$.lang", "pattern"),
]


def test_a_bad_subscription_is_refused_naming_the_field_and_nothing_is_stored(app: App) -> None:
    for change, field_name, words in BAD:
        body = {**GOOD, "zones": ["r0c0"], **change}
        body = {k: v for k, v in body.items() if v is not None or k == "expirationTime"}
        answer = app.http.post("/v1/push/subscriptions", json=body)
        assert answer.status_code == 422, (change, answer.text)
        error = answer.json()
        assert error.get("field") == field_name or error["error"].startswith(field_name + ":"), (
            change,
            error,
        )
        assert words in json.dumps(error), (change, error)
        assert GOOD["keys"]["auth"] not in answer.text  # the secret is never echoed
    assert rows(app.service, "push_subscription") == []
    assert rows(app.service, "push_subscription_zone") == []
    # the same body, put right, is taken
    assert (
        app.http.post("/v1/push/subscriptions", json={**GOOD, "zones": ["r0c0"]}).status_code == 201
    )


def test_a_browser_unsubscribes_with_its_auth_secret_and_no_one_else_can(app: App) -> None:
    browser = Browser("http://localhost:9/push/mine")
    subscription = browser.subscription(zones=["r0c0"])
    app.subscribe(browser, zones=["r0c0"])
    # subscribing again from the same browser changes what it asked for
    again = app.http.post("/v1/push/subscriptions", json={**subscription, "zones": ["r0c1"]})
    assert again.status_code == 200 and again.json()["created"] is False
    assert [z["zone"] for z in rows(app.service, "push_subscription_zone")] == ["r0c1"]
    # other keys on the same endpoint are refused
    other = Browser(browser.endpoint).subscription(zones=["r0c0"])
    assert app.http.post("/v1/push/subscriptions", json=other).status_code == 409
    wrong = app.http.request("DELETE", "/v1/push/subscriptions", json=other)
    assert wrong.status_code == 404
    assert len(rows(app.service, "push_subscription")) == 1
    right = app.http.request("DELETE", "/v1/push/subscriptions", json=subscription)
    assert right.status_code == 204
    assert rows(app.service, "push_subscription") == []
    assert rows(app.service, "push_subscription_zone") == []


def test_the_vapid_key_is_made_once_readable_by_its_owner_only_and_served(
    app: App, keys_dir
) -> None:
    path = keys_dir / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    served = app.http.get("/v1/push/key").json()["key"]
    assert len(unb64url(served)) == 65 and unb64url(served)[0] == 4
    assert channel(keys_dir).key.application_server_key == served  # kept across restarts
    assert channel(keys_dir.parent / "other").key.application_server_key != served
