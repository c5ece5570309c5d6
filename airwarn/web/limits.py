"""Bounds on input: the size of a request body, the rate of requests, and live connections.

All are plain ASGI middleware, so they act before any handler reads a byte. A client is the
identity its token authenticates (the token's name, whichever of the header or the console's
session cookie presents it), and otherwise, with no token or one the server does not know, its
address: an IPv4 address, or the /64 an IPv6 address belongs to (one subscriber's share, which
they can vary at will). Raw header text is never a key, so inventing tokens gains nothing.
WebSocket upgrades and Server-Sent Events opens count as requests; live connections (SSE and
WebSocket) are also capped per address while they stay open. Every table here is bounded.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airwarn.errors import UnavailableError

UNKNOWN_BURST = 20.0  # unknown tokens one address may present at once...
UNKNOWN_PER_S = 1.0  # ...and then per second, before they are no longer looked up
Presented = Callable[[Scope], str | None]
Identify = Callable[[Scope, str], Awaitable[str | None]]


@functools.lru_cache(maxsize=4096)  # parsing an address costs more than the rest of a check
def address_key(host: str) -> str:
    """A client address as a rate-limit key: IPv4 as is (also when IPv4-mapped), IPv6 by its
    /64, anything else (a test client's name, a Unix socket) as given."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return str(address)


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return address_key(client[0]) if client else "?"


@dataclass
class Buckets:
    """A token bucket per key: `rate_per_s` requests a second on average, `burst` at once.
    At most `max_keys` buckets are kept; beyond that the one used longest ago is forgotten
    (it would be full again after burst/rate seconds idle anyway)."""

    rate_per_s: float
    burst: float
    max_keys: int = 50_000
    levels: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def peek(self, key: str, now: float) -> float:
        """The seconds `key` would have to wait now (0: it may go), counting nothing."""
        level, last = self.levels.get(key, (self.burst, now))
        level = min(self.burst, level + (now - last) * self.rate_per_s)
        return 0.0 if level >= 1.0 else (1.0 - level) / self.rate_per_s

    def take(self, key: str, now: float) -> float:
        """0 if a request may go now (and count it), else the seconds to wait."""
        level, last = self.levels.pop(key, (self.burst, now))
        level = min(self.burst, level + (now - last) * self.rate_per_s)
        wait = 0.0
        if level >= 1.0:
            level -= 1.0
        else:
            wait = (1.0 - level) / self.rate_per_s
        self.levels[key] = (level, now)  # newest last
        while len(self.levels) > self.max_keys:
            self.levels.popitem(last=False)
        return wait


async def _refuse(
    send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _refuse_upgrade(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    message: str,
    headers: list[tuple[bytes, bytes]],
) -> None:
    """Refuse a WebSocket before accepting it: an HTTP answer where the server can send one
    (the ASGI denial-response extension), else a close (which clients see as a 403)."""
    connect = await receive()
    if connect["type"] != "websocket.connect":
        return
    if "websocket.http.response" in scope.get("extensions", {}):
        body = json.dumps({"error": message}).encode()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *headers,
                ],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})


STORE_AWAY_RETRY_S = 2.0  # what every 503 of a store that is away says (airwarn.web.app)


class IdentityUnavailable(UnavailableError):
    """The identify callback could not tell who a token is (its store is away): the request
    is answered 503, to be retried, rather than counted against an address or a client."""


async def refuse(
    scope: Scope, receive: Receive, send: Send, status: int, message: str, retry_after_s: float
) -> None:
    headers = [(b"retry-after", str(max(1, int(retry_after_s + 0.999))).encode())]
    if scope["type"] == "websocket":
        await _refuse_upgrade(scope, receive, send, status, message, headers)
    else:
        await _refuse(send, status, message, headers)


class BodyLimit:
    """Refuse bodies over `max_bytes` with 413, whether or not they say their length."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = (
            f"the request body is larger than {self.max_bytes} bytes; send it in smaller batches"
        )
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    too_large = int(value) > self.max_bytes
                except ValueError:
                    await _refuse(send, 400, "Content-Length is not a number", [])
                    return
                if too_large:
                    await _refuse(send, 413, message, [])
                    return
        seen = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            incoming = await receive()
            if incoming["type"] == "http.request":
                seen += len(incoming.get("body", b""))
                if seen > self.max_bytes:
                    # answer 413 now, and tell the app the client is gone: whatever it
                    # makes of that is not sent
                    refused = True
                    await _refuse(send, 413, message, [])
                    return {"type": "http.disconnect"}
            return incoming

        async def guarded_send(outgoing: Message) -> None:
            if not refused:
                await send(outgoing)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise


class RateLimit:
    """Refuse requests (WebSocket upgrades included) over a client's rate with 429 and
    Retry-After. `presented` finds a request's token, `identify` names the identity it
    authenticates (None: unknown). An address whose requests presented `UNKNOWN_BURST` unknown
    tokens lately has no more looked up here until its failures drain (`UNKNOWN_PER_S`): its
    requests count as its address's, so a flood of invented tokens is refused by address
    without a store lookup each. (A good token from that address meanwhile counts as the
    address's too, until the flood stops.)"""

    def __init__(
        self,
        app: ASGIApp,
        rate_per_s: float,
        burst: int,
        presented: Presented,
        identify: Identify,
        max_keys: int = 50_000,
    ) -> None:
        self.app = app
        self.buckets = Buckets(rate_per_s, float(burst), max_keys)
        self.unknown = Buckets(
            min(rate_per_s, UNKNOWN_PER_S), min(float(burst), UNKNOWN_BURST), max_keys
        )  # failed lookups, by address
        self.presented = presented
        self.identify = identify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        address = client_address(scope)
        token = self.presented(scope)
        identity = None
        if token is not None and self.unknown.peek(address, now) == 0:
            try:
                identity = await self.identify(scope, token)
            except IdentityUnavailable as exc:
                await refuse(
                    scope,
                    receive,
                    send,
                    503,
                    f"{exc}; retry after the time in Retry-After",
                    STORE_AWAY_RETRY_S,
                )
                return
            if identity is None:
                self.unknown.take(address, now)
        key = "id:" + identity if identity is not None else "addr:" + address
        wait = self.buckets.take(key, now)
        if wait > 0:
            who = "this token" if identity is not None else "this address"
            await refuse(
                scope,
                receive,
                send,
                429,
                f"too many requests from {who}; slow down and retry after the time in Retry-After",
                wait,
            )
            return
        await self.app(scope, receive, send)


class LiveLimit:
    """At most `per_address` live connections (WebSocket, and GETs of `paths`: the SSE feeds)
    open at once from one address; one more is refused with 429. Counts drop to zero and are
    forgotten as connections close, so the table holds only addresses with one open."""

    def __init__(self, app: ASGIApp, per_address: int, paths: Collection[str]) -> None:
        self.app = app
        self.per_address = per_address
        self.paths = frozenset(paths)
        self.open: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        live = scope["type"] == "websocket" or (
            scope["type"] == "http"
            and scope["path"] in self.paths
            and scope["method"] in ("GET", "HEAD")
        )
        if not live or self.per_address <= 0:
            await self.app(scope, receive, send)
            return
        address = client_address(scope)
        held = self.open.get(address, 0)
        if held >= self.per_address:
            await refuse(
                scope,
                receive,
                send,
                429,
                f"this address has {held} live feeds open, "
                f"the most one address may hold; close one (one feed can serve every "
                "screen of a page) or ask the operator to raise "
                "--max-live-per-address",
                5.0,
            )
            return
        self.open[address] = held + 1
        try:
            await self.app(scope, receive, send)
        finally:
            left = self.open[address] - 1
            if left:
                self.open[address] = left
            else:
                del self.open[address]
