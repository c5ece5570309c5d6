"""Finding 6: no server-side request forgery. Webhook and Web Push targets inside (loopback,
private, link-local, multicast, reserved, unspecified, IPv4 in IPv6, numbers in any form) are
refused when subscribed, with a 422 naming the field and why; a name is checked again at each
delivery, after DNS, and the connection goes to exactly the address that was checked; push
endpoints are the browsers' push services unless --push-hosts widens them; anonymous push
subscriptions are capped per address and per zone. Each attacks a real `airwarn serve`.

On 50965d2 every one of these failed: all the addresses below were taken (201), deliveries went
to loopback, any https host was a push endpoint and 1,000 anonymous subscriptions were taken.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import sqlalchemy as sa
from aiohttp.abc import AbstractResolver, ResolveResult
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from kits.serverkit import Launcher

from security.served import Served, served

# (the target, words the refusal must hold)
INSIDE = [
    ("127.0.0.1", "loopback"),
    ("2130706433", "loopback"),
    ("0x7f.1", "loopback"),
    ("0x7f000001", "loopback"),
    ("0177.0.0.1", "loopback"),
    ("127.1", "loopback"),
    ("[::1]", "loopback"),
    ("localhost", "localhost"),
    ("LocalHost.", "localhost"),
    ("[2001:db8::1]", "private"),
    ("[::ffff:169.254.169.254]", "IPv4-mapped"),
    ("[::ffff:127.0.0.1]", "IPv4-mapped"),
    ("[::127.0.0.1]", "IPv4-compatible"),
    ("169.254.169.254", "link-local"),
    ("[fe80::1]", "link-local"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("[fc00::1]", "private"),
    ("100.64.0.1", "not a public"),
    ("0.0.0.0", "unspecified"),
    ("[::]", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("[ff02::1]", "multicast"),
    ("240.0.0.1", "private"),
    ("[64:ff9b::a9fe:a9fe]", "link-local"),
    ("[2002:7f00:1::]", "loopback"),
    ("192.0.2.10", "private"),
]


class Receiver:
    """An HTTP server on 127.0.0.1 that records every request it gets."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length") or 0)
                outer.requests.append(
                    {
                        "path": self.path,
                        "host": self.headers.get("Host"),
                        "body": self.rfile.read(length),
                    }
                )
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def launcher() -> Iterator[Launcher]:
    kit = Launcher()
    try:
        yield kit
    finally:
        kit.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def wait_for(check: Callable[[], Any], timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def browser_keys() -> dict[str, str]:
    """A browser's subscription keys: a real P-256 point and a 16-byte auth secret."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"p256dh": b64url(point), "auth": b64url(os.urandom(16))}


def subscribe_push(app: Served, endpoint: str, zones: list[str]) -> httpx.Response:
    return httpx.post(
        app.url + "/v1/push/subscriptions",
        timeout=10,
        json={"endpoint": endpoint, "keys": browser_keys(), "zones": zones},
    )


def exercise(app: Served, zone: str) -> None:
    """A drill on one zone, sent at once: a decision for every channel."""
    answer = httpx.post(
        app.url + "/v1/actions",
        headers=app.auth("operator"),
        timeout=10,
        json={
            "action": "alert",
            "status": "exercise",
            "zones": [zone],
            "reason": "drill for the ssrf test",
        },
    )
    assert answer.status_code == 200, answer.text


# -- refused when subscribed ------------------------------------------------------------------


def test_webhooks_to_addresses_inside_are_refused_with_a_422_naming_the_url_and_why(
    launcher, tmp_path
) -> None:
    with served(launcher, tmp_path) as app:
        for host, words in INSIDE:
            url = f"http://{host}:8080/hook"
            answer = httpx.post(
                app.url + "/v1/webhooks",
                headers=app.auth("admin"),
                timeout=10,
                json={"name": "inside", "url": url},
            )
            assert answer.status_code == 422, (url, answer.text)
            error = answer.json()
            assert error["field"] == "$.url", (url, error)
            assert words.lower() in error["error"].lower(), (url, error)
            assert "--allow-private-targets" in error["error"]
        assert httpx.get(app.url + "/v1/webhooks", headers=app.auth("admin")).json() == []
        # a public address is taken (it need not answer now)
        taken = httpx.post(
            app.url + "/v1/webhooks",
            headers=app.auth("admin"),
            timeout=10,
            json={"name": "outside", "url": "https://93.184.215.14/hook"},
        )
        assert taken.status_code == 201, taken.text


def test_push_endpoints_are_the_browsers_push_services_unless_push_hosts_adds_more(
    launcher, tmp_path
) -> None:
    with served(launcher, tmp_path) as app:
        zone = app.zone_ids()[0]
        for endpoint in (
            "https://fcm.googleapis.com/fcm/send/abc:def",
            "https://updates.push.services.mozilla.com/wpush/v2/gAAA",
            "https://web.push.apple.com/QGx1",
            "https://wns2-par02p.notify.windows.com/w/?token=BQYA",
        ):
            answer = subscribe_push(app, endpoint, [zone])
            assert answer.status_code == 201, (endpoint, answer.text)
        for endpoint in (
            "https://push.example.com/x",
            "https://fcm.googleapis.com.evil.example/x",
            "https://evilpush.apple.com/x",
            "https://10.0.0.1/x",
            "https://169.254.169.254/latest/meta-data/",
            "http://fcm.googleapis.com/fcm/send/x",
        ):
            answer = subscribe_push(app, endpoint, [zone])
            assert answer.status_code == 422, (endpoint, answer.text)
            assert answer.json()["field"] == "$.endpoint"
    # --push-hosts widens the list; the rule on addresses still holds for every host
    with served(launcher, tmp_path / "wide", "--push-hosts", "push.example.com,10.0.0.1") as app:
        zone = app.zone_ids()[0]
        assert subscribe_push(app, "https://push.example.com/x", [zone]).status_code == 201
        assert subscribe_push(app, "https://fcm.googleapis.com/x", [zone]).status_code == 201
        refused = subscribe_push(app, "https://10.0.0.1/x", [zone])
        assert refused.status_code == 422 and "private" in refused.json()["error"]


def test_anonymous_push_endpoints_inside_are_refused_with_a_422_naming_the_endpoint(
    launcher, tmp_path
) -> None:
    with served(launcher, tmp_path, "--push-hosts", "*", "--push-per-address-hour", "1000") as app:
        zone = app.zone_ids()[0]
        for host, words in INSIDE:
            endpoint = f"https://{host}:8443/push/x"
            answer = subscribe_push(app, endpoint, [zone])
            assert answer.status_code == 422, (endpoint, answer.text)
            error = answer.json()
            assert error["field"] == "$.endpoint", (endpoint, error)
            assert words.lower() in error["error"].lower(), (endpoint, error)
        with sa.create_engine(app.db_url).connect() as db:
            assert db.execute(sa.text("SELECT count(*) FROM push_subscription")).scalar() == 0


def test_anonymous_push_subscriptions_are_capped_per_address_and_per_zone(
    launcher, tmp_path
) -> None:
    with served(launcher, tmp_path, "--push-per-address-hour", "3", "--push-per-zone", "2") as app:
        first, second = app.zone_ids()[:2]
        endpoint = "https://fcm.googleapis.com/fcm/send/{}"
        assert subscribe_push(app, endpoint.format(1), [first]).status_code == 201
        assert subscribe_push(app, endpoint.format(2), [first]).status_code == 201
        full = subscribe_push(app, endpoint.format(3), [first])
        assert full.status_code == 422, full.text
        assert full.json()["field"] == "$.zones" and full.json()["value"] == first
        assert "--push-per-zone" in full.json()["error"]
        over = subscribe_push(app, endpoint.format(4), [second])
        assert over.status_code == 429, over.text
        assert int(over.headers["Retry-After"]) >= 1
        assert "per hour" in over.json()["error"] or "in the last hour" in over.json()["error"]
        with sa.create_engine(app.db_url).connect() as db:
            assert db.execute(sa.text("SELECT count(*) FROM push_subscription")).scalar() == 2


# -- checked again at delivery, after DNS ------------------------------------------------------


def test_a_webhook_whose_name_now_points_inside_is_not_delivered_and_says_why(
    launcher, tmp_path, receiver
) -> None:
    """A subscription made while its name pointed outside, which now resolves to loopback (a
    DNS rebinding): stored straight in the store, as the API would have taken it then."""
    from airwarn.channels import webhook_store as store
    from airwarn.store.secrets import load_store_keys

    with served(launcher, tmp_path) as app:
        engine = sa.create_engine(app.db_url)
        secrets = load_store_keys(tmp_path / "keys").secrets  # the server's own key
        ids = {}
        for name, url in (
            ("rebound", f"http://localhost:{receiver.port}/rebound"),
            ("number", f"http://2130706433:{receiver.port}/number"),
        ):
            with engine.connect() as conn:
                after = store.last_decision_seq(conn)
            row = {
                "name": name,
                "url": url,
                "zones": None,
                "statuses": ["actual", "exercise", "test"],
                "secret": "whsec_x",
                "created_ms": 0,
                "created_by": "admin-1",
                "seen_seq": after,
            }
            ids[name] = store.create_subscriber(
                engine,
                row,
                store.audit_entry("admin-1", "admin", 0, "webhook.create", {"name": name}),
                secrets,
            )
        exercise(app, app.zone_ids()[0])
        for name, sub_id in ids.items():
            dead = wait_for(
                lambda sub_id=sub_id: httpx.get(
                    f"{app.url}/v1/webhooks/{sub_id}/dead", headers=app.auth("admin")
                ).json()
            )
            assert "loopback" in dead[0]["last_error"], (name, dead)
            assert "--allow-private-targets" in dead[0]["last_error"]
        assert receiver.requests == []
        engine.dispose()


def test_a_push_endpoint_whose_name_now_points_inside_is_not_sent_to(
    launcher, tmp_path, receiver
) -> None:
    from airwarn.channels.webpush.subscriptions import Subscription, add
    from airwarn.store.secrets import load_store_keys

    with served(launcher, tmp_path, "--push-subject", "mailto:ops@example.org") as app:
        engine = sa.create_engine(app.db_url)
        secrets = load_store_keys(tmp_path / "keys").secrets  # the server's own key
        zone = app.zone_ids()[0]
        keys = browser_keys()
        add(
            engine,
            Subscription(
                f"https://localhost:{receiver.port}/push/x",
                keys["p256dh"],
                keys["auth"],
                [zone],
                None,
                "en",
                True,
            ),
            secrets,
        )
        exercise(app, zone)

        def outcome() -> list[Any]:
            with engine.connect() as db:
                return db.execute(
                    sa.text("SELECT state, last_error FROM push_outbox WHERE state != 'owed'")
                ).all()

        state, error = wait_for(outcome)[0]
        assert state == "failed" and "loopback" in error, (state, error)
        assert receiver.requests == []
        engine.dispose()


class Answers(AbstractResolver):
    """A stand-in DNS (no name server can be set up here): each lookup gets the next answer."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.asked = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = self.answers[min(self.asked, len(self.answers) - 1)]
        self.asked += 1
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        pass


def test_the_connection_goes_to_the_address_the_check_saw_and_a_mixed_answer_is_refused(
    receiver,
) -> None:
    from airwarn.channels.targets import GuardedResolver, TargetRefused

    async def post(resolver: AbstractResolver) -> int:
        connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.post(f"http://hooks.example:{receiver.port}/hook", data=b"{}") as response,
        ):
            return response.status

    # the name resolves to loopback: with private targets allowed, aiohttp connects to the
    # very address the resolver checked and returned (the receiver), under the name
    allowed = Answers(["127.0.0.1"])
    assert asyncio.run(post(GuardedResolver(True, allowed))) == 201
    assert receiver.requests[-1]["host"] == f"hooks.example:{receiver.port}"
    # not allowed: refused before any connection, and an answer that mixes a public address
    # with one inside is refused whole (aiohttp may try any of them)
    for answer in (["127.0.0.1"], ["93.184.215.14", "10.0.0.1"], ["::ffff:127.0.0.1"]):
        with pytest.raises(aiohttp.ClientConnectorError) as caught:
            asyncio.run(post(GuardedResolver(False, Answers(answer))))
        assert isinstance(caught.value.os_error, TargetRefused), answer
    assert len(receiver.requests) == 1


def test_with_allow_private_targets_a_closed_network_receiver_is_subscribed_and_delivered(
    launcher, tmp_path, receiver
) -> None:
    with served(launcher, tmp_path, "--allow-private-targets") as app:
        url = f"http://127.0.0.1:{receiver.port}/hook"
        answer = httpx.post(
            app.url + "/v1/webhooks",
            headers=app.auth("admin"),
            timeout=10,
            json={"name": "siren-lan", "url": url, "statuses": ["actual", "exercise"]},
        )
        assert answer.status_code == 201, answer.text
        exercise(app, app.zone_ids()[0])
        wait_for(lambda: receiver.requests)
        assert receiver.requests[0]["path"] == "/hook"


def test_the_serve_flag_is_documented(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from airwarn.cli import app

    shown = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"}).output
    assert "--allow-private-targets" in shown and "--push-per-zone" in shown
