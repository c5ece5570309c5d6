"""Finding 8: limits that hold. A client is the identity its token authenticates, or its
address when it has no token the server knows, never the raw text of a header; WebSocket
upgrades and SSE opens count; one address holds at most so many live feeds; the limiter's own
table is bounded. Against a real `airwarn serve` (the table's bound in process).

On 50965d2 this fails: a new invented token each time was never limited (the key was the
header's last 16 characters), WebSocket upgrades were never refused, one address held as many
live feeds as it opened, and the limiter kept every key it ever saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kits.serverkit import Launcher
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from security.served import Served, served


@pytest.fixture(scope="module")
def launcher() -> Iterator[Launcher]:
    kit = Launcher()
    try:
        yield kit
    finally:
        kit.close()


def ws_url(app: Served) -> str:
    return app.url.replace("http://", "ws://") + "/v1/ws"


def hammer(app: Served, count: int, headers: Any = None, path: str = "/healthz") -> list[int]:
    """Status codes of `count` GETs; `headers` a dict, or a function of the request's number."""
    with httpx.Client(base_url=app.url, timeout=10) as http:
        return [
            http.get(path, headers=headers(i) if callable(headers) else headers).status_code
            for i in range(count)
        ]


def test_inventing_a_new_token_for_each_request_does_not_escape_the_limit(
    launcher, tmp_path
) -> None:
    with served(launcher, tmp_path, "--rate-burst", "10", "--rate-per-s", "0.1") as app:
        invented = hammer(
            app, 25, lambda i: {"Authorization": f"Bearer aw_{secrets.token_urlsafe(32)}"}
        )
        assert invented.count(429) >= 14, invented
        # nor does varying a header that is not a token at all
        noise = hammer(app, 5, lambda i: {"Authorization": f"Basic {secrets.token_hex(8)}"})
        assert set(noise) == {429}, noise


def test_each_token_has_its_own_budget_and_requests_without_one_share_their_address(
    launcher, tmp_path
) -> None:
    with served(launcher, tmp_path, "--rate-burst", "8", "--rate-per-s", "0.1") as app:
        sensor = hammer(app, 12, app.auth("sensor"))
        assert sensor[:8] == [200] * 8 and sensor[-1] == 429, sensor
        # the same address, another identity: its own budget; no token: the address's
        assert hammer(app, 3, app.auth("reader")) == [200] * 3
        anonymous = hammer(app, 12)  # (the start-up's health checks spent some already)
        assert anonymous[0] == 200 and anonymous[-1] == 429, anonymous
        assert hammer(app, 1, app.auth("operator")) == [200]
        # the console's session cookie is the same identity as its token
        cookie = {"Cookie": f"__Host-airwarn-session={app.tokens['sensor']}"}
        assert hammer(app, 1, cookie) == [429]
        refused = httpx.get(app.url + "/healthz", headers=app.auth("sensor"))
        assert int(refused.headers["Retry-After"]) >= 1
        assert "this token" in refused.json()["error"]


def test_websocket_upgrades_and_sse_opens_count_against_the_rate(launcher, tmp_path) -> None:
    with served(
        launcher,
        tmp_path,
        "--rate-burst",
        "6",
        "--rate-per-s",
        "0.1",
        "--max-live-per-address",
        "0",
    ) as app:
        refused = None
        for _ in range(10):
            try:
                with connect(ws_url(app), open_timeout=5):
                    pass
            except InvalidStatus as exc:
                refused = exc.response
                break
        assert refused is not None, "ten WebSocket upgrades in a row were all accepted"
        assert refused.status_code == 429
        assert b"too many requests" in refused.body
        # the address's budget is spent: an SSE open is refused as well
        with httpx.stream("GET", app.url + "/v1/stream", timeout=10) as stream:
            assert stream.status_code == 429


def test_one_address_holds_at_most_so_many_live_feeds(launcher, tmp_path) -> None:
    with (
        served(launcher, tmp_path, "--max-live-per-address", "3") as app,
        contextlib.ExitStack() as feeds,
    ):
        for _ in range(2):
            stream = feeds.enter_context(httpx.stream("GET", app.url + "/v1/stream", timeout=10))
            assert stream.status_code == 200
        socket = feeds.enter_context(connect(ws_url(app), open_timeout=5))
        socket.recv(timeout=5)  # the first heartbeat: it is live
        with httpx.stream("GET", app.url + "/v1/stream", timeout=10) as fourth:
            assert fourth.status_code == 429
            fourth.read()
            assert "live feeds open" in fourth.json()["error"]
            assert "--max-live-per-address" in fourth.json()["error"]
        with pytest.raises(InvalidStatus) as caught:
            connect(ws_url(app), open_timeout=5)
        assert caught.value.response.status_code == 429
        assert httpx.get(app.url + "/healthz", timeout=10).json()["live_clients"] == 3
        # one closes: another may open (as soon as the server has seen it close)
        socket.close()
        opened = []
        for _ in range(50):
            with httpx.stream("GET", app.url + "/v1/stream", timeout=10) as again:
                opened.append(again.status_code)
            if opened[-1] == 200:
                break
            time.sleep(0.1)
        assert opened[-1] == 200, opened


# -- the limiter's own table ---------------------------------------------------------------


def test_invented_tokens_and_many_addresses_never_grow_the_limiter_past_its_bound() -> None:
    from airwarn.web.auth import presented
    from airwarn.web.limits import RateLimit

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    looked_up = []

    async def unknown(_scope: Any, token: str) -> None:
        looked_up.append(token)
        return  # every token invented: the server knows none

    limiter = RateLimit(
        app, rate_per_s=1.0, burst=5, presented=presented, identify=unknown, max_keys=100
    )

    async def run() -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(_message: Any) -> None:
            pass

        for i in range(5000):
            token = f"aw_{secrets.token_urlsafe(32)}"
            scope = {
                "type": "http",
                "method": "GET",
                "path": "/v1/zones",
                "headers": [(b"authorization", f"Bearer {token}".encode())],
                "client": (f"2001:db8:{i:x}::{i % 7:x}", 1234),
            }
            await limiter(scope, receive, send)
            assert len(limiter.buckets.levels) <= 100
            assert not any(token[-16:] in key for key in limiter.buckets.levels)

    asyncio.run(run())
    assert len(limiter.unknown.levels) <= 100


def test_an_address_that_keeps_inventing_tokens_has_them_looked_up_no_more() -> None:
    from airwarn.web.auth import presented
    from airwarn.web.limits import RateLimit

    looked_up = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def unknown(_scope: Any, token: str) -> None:
        looked_up.append(token)
        return

    limiter = RateLimit(app, rate_per_s=0.01, burst=5, presented=presented, identify=unknown)
    statuses: list[int] = []

    async def run() -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: Any) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        for _ in range(50):
            token = f"aw_{secrets.token_urlsafe(32)}"
            await limiter(
                {
                    "type": "http",
                    "method": "GET",
                    "path": "/",
                    "client": ("203.0.113.9", 1),
                    "headers": [(b"authorization", f"Bearer {token}".encode())],
                },
                receive,
                send,
            )

    asyncio.run(run())
    assert len(looked_up) == 5  # the store is asked for the first few only
    assert statuses.count(429) == 45


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcdefgh"), st.floats(0, 3)), max_size=300),
    st.integers(1, 10),
)
def test_the_buckets_hold_their_rate_and_their_bound(
    calls: list[tuple[str, float]], max_keys: int
) -> None:
    from airwarn.web.limits import Buckets

    rate, burst = 2.0, 4.0
    buckets = Buckets(rate, burst, max_keys)
    now, allowed = 0.0, {}
    for key, step in calls:
        now += step
        if buckets.take(key, now) == 0:
            allowed.setdefault(key, []).append(now)
        assert len(buckets.levels) <= max_keys
    if max_keys >= 8:  # never evicted: each key within burst + rate × time
        for times in allowed.values():
            for i, t0 in enumerate(times):
                within = [t for t in times[i:] if t - t0 <= 1.0]
                assert len(within) <= burst + rate * 1.0


def test_a_store_that_is_away_while_a_token_is_checked_answers_503_not_500() -> None:
    """The limiter asks who a token is before any route runs; when the store cannot answer
    (PostgreSQL restarting), the client hears 503 with Retry-After and its request is not
    counted against it or its address."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from airwarn.web.limits import IdentityUnavailable, RateLimit

    down = {"now": True}

    async def identify(_scope: Any, _token: str) -> str | None:
        if down["now"]:
            raise IdentityUnavailable("the store cannot be read just now")
        return "sensor-1"

    async def ok(_request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = RateLimit(
        Starlette(routes=[Route("/", ok)]),
        rate_per_s=0.001,
        burst=2,
        presented=lambda _scope: "aw_token",
        identify=identify,
    )
    with TestClient(app) as http:
        answers = [http.get("/") for _ in range(5)]
        assert {a.status_code for a in answers} == {503}, [a.text for a in answers]
        assert answers[0].headers["retry-after"] == "2"
        assert "store" in answers[0].text
        down["now"] = False  # back: the outage cost the client none of its burst
        assert [http.get("/").status_code for _ in range(3)] == [200, 200, 429]
