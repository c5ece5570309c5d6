"""What the request limits cost: the ASGI middleware in front of every route, per request.

    python bench/bench_limits.py                 # 100,000 requests per case
    python bench/bench_limits.py --requests 20000 --json

The middleware airwarn puts before every route (security headers, body size, the rate limiter
with its identity lookup, the cap on live feeds) is run over an app that answers 204 at once,
in this process, on a real SQLite store with a real token: a bearer token the server knows (its
lookup cached, as after the first request), no token (keyed by address), the console's session
cookie, and an invented token each time (a store lookup each, until an address has presented
20; then keyed by its address, unlooked-up), from 1,000 addresses and from one. Requests come
from 1,000 addresses in turn unless said. The bare app's own cost is subtracted. Compare with
what one ingest request costs (bench_ingest.py: a batch of 100 reports takes tens of ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from airwarn.cap.sign import load_or_create_keys
from airwarn.engine import EngineConfig
from airwarn.engine.zones import ZoneSet
from airwarn.service import Service, ServiceSettings, zones_fingerprint
from airwarn.sim.demo_zones import demo_zones
from airwarn.store.tokens import create_token
from airwarn.web import WebSettings, create_app
from airwarn.web.auth import identity, presented
from airwarn.web.headers import SecurityHeaders
from airwarn.web.limits import BodyLimit, LiveLimit, RateLimit
from airwarn.web.live import SSE_PATHS


async def answer(_scope: Any, _receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def discard(_message: Any) -> None:
    pass


def stack(settings: WebSettings) -> Any:
    """The middleware create_app puts in front of the routes, in the same order."""
    inner = LiveLimit(answer, per_address=settings.max_live_per_address, paths=SSE_PATHS)
    # a rate no case reaches: what is measured is a request let through (the unknown-token
    # check keeps its own bounds)
    inner = RateLimit(
        inner,
        rate_per_s=1e9,
        burst=10**9,
        presented=presented,
        identify=identity,
        max_keys=settings.max_rate_keys,
    )
    return SecurityHeaders(BodyLimit(inner, max_bytes=settings.max_body_bytes))


async def per_request_us(
    target: Any, app: Any, requests: int, headers: Any, one_address: bool = False
) -> float:
    """Microseconds per request through `target`; `headers(i)` the request's headers; from
    1,000 addresses in turn, or all from one."""
    started = time.perf_counter()
    for i in range(requests):
        client = ("203.0.113.7" if one_address else f"10.0.{i % 200}.{i % 250}", 5000)
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/v1/events",
            "app": app,
            "headers": headers(i),
            "client": client,
            "scheme": "http",
            "query_string": b"",
        }
        await target(scope, receive, discard)
    return 1e6 * (time.perf_counter() - started) / requests


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=int, default=100_000, help="requests per case (default: %(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-limits-") as tmp:
        zones = ZoneSet(demo_zones())
        settings = ServiceSettings(
            db_url=f"sqlite:///{Path(tmp) / 'a.db'}",
            clock="events",
            sender="bench@example.org",
            id_prefix="urn:airwarn:example.org:",
            engine=EngineConfig(),
        )
        service = Service(
            zones, zones_fingerprint(zones), settings, load_or_create_keys(Path(tmp) / "keys")
        )
        service.open()
        token = create_token(service.db, "sensor", "bench", 0)
        web = WebSettings()
        app = create_app(service, web)
        limited = stack(web)
        known = [(b"authorization", f"Bearer {token}".encode())]
        cookie = [(b"cookie", f"__Host-airwarn-session={token}".encode())]
        cases = {
            "known bearer token": lambda i: known,
            "no token (by address)": lambda i: [],
            "session cookie": lambda i: cookie,
            "invented tokens, 1,000 addresses": lambda i: [
                (b"authorization", f"Bearer aw_{secrets.token_urlsafe(32)}".encode())
            ],
            "invented tokens, one address": lambda i: [
                (b"authorization", f"Bearer aw_{secrets.token_urlsafe(32)}".encode())
            ],
        }
        results: dict[str, float] = {}

        async def run() -> None:
            await per_request_us(limited, app, 1000, cases["known bearer token"])  # warm up
            bare = await per_request_us(answer, app, args.requests, lambda i: known)
            results["bare app (subtracted)"] = bare
            for name, headers in cases.items():
                count = args.requests if "invented" not in name else args.requests // 10
                results[name] = (
                    await per_request_us(
                        limited, app, count, headers, one_address="one address" in name
                    )
                    - bare
                )

        asyncio.run(run())
        service.db.dispose()
    if args.json:
        print(json.dumps({"requests": args.requests, "us_per_request": results}, indent=2))
        return
    print(f"{'case':<34} {'µs per request':>15}")
    for name, value in results.items():
        print(f"{name:<34} {value:>15.1f}")
    print(
        f"({args.requests:,} requests a case; invented tokens {args.requests // 10:,})",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
