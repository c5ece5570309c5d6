"""Bounds on input: the size of a request body and the rate of requests per client.

Both are plain ASGI middleware so that they act before any handler reads a byte. A client is
its bearer token when it has one, else its address.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class TokenBucket:
    """`rate_per_s` requests a second on average, `burst` at once."""

    rate_per_s: float
    burst: float
    tokens: dict[str, tuple[float, float]] = field(default_factory=dict)

    def allow(self, key: str, now: float) -> float:
        """0 if the request may go now, else the seconds to wait."""
        level, last = self.tokens.get(key, (self.burst, now))
        level = min(self.burst, level + (now - last) * self.rate_per_s)
        if level >= 1.0:
            self.tokens[key] = (level - 1.0, now)
            return 0.0
        self.tokens[key] = (level, now)
        return (1.0 - level) / self.rate_per_s


async def _refuse(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]
                  ) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuse bodies over `max_bytes` with 413, whether or not they say their length."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = (f"the request body is larger than {self.max_bytes} bytes; send it in "
                   "smaller batches")
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
    """Refuse requests over a client's rate with 429 and Retry-After."""

    def __init__(self, app: ASGIApp, rate_per_s: float, burst: int) -> None:
        self.app = app
        self.bucket = TokenBucket(rate_per_s, float(burst))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        key = _client_key(scope)
        wait = self.bucket.allow(key, time.monotonic())
        if wait > 0 and scope["type"] == "http":
            await _refuse(send, 429, "too many requests; slow down and retry after the "
                          "time in Retry-After", [(b"retry-after", str(int(wait) + 1).encode())])
            return
        await self.app(scope, receive, send)


def _client_key(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            return "token:" + value.decode("latin-1")[-16:]
    client = scope.get("client")
    return "addr:" + (client[0] if client else "?")
