"""One conditional GET of an upstream resource, bounded, with its outcome classified.

`Trouble` is what waiting may cure (the network, a 5xx, 429 rate limiting: retried with
backoff, the source turns `stale` if it lasts); `Failed` is what it will not (a refused token,
a missing path, an answer in another format: the source turns `failed` at once, with the
reason in words, and is retried slowly in case the operator fixes it upstream).

Conditional requests: the last `ETag` and `Last-Modified` are sent back (`If-None-Match`,
`If-Modified-Since`); a 304 means "what you have is current", which keeps the source live
without a body. An answer larger than `max_bytes` is refused, never buffered whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

from airwarn.errors import AirwarnError

MAX_BYTES = 4 * 1024 * 1024
USER_AGENT = "airwarn-follow/1 (+https://github.com/airwarn)"


class Trouble(AirwarnError):
    """The source did not answer usefully this time; retry later."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        self.message = message
        self.retry_after_s = retry_after_s
        super().__init__(message)


class Failed(AirwarnError):
    """The source answers, but not in a way that waiting will fix: say why, retry slowly."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass
class Validators:
    """What makes the next request conditional."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


@dataclass
class Fetched:
    """An answer: its body (None for 304 Not Modified) and headers worth keeping."""

    body: bytes | None
    status: int
    headers: dict[str, str] = field(default_factory=dict)


async def fetch(
    http: httpx.AsyncClient,
    url: str,
    *,
    what: str,
    validators: Validators | None = None,
    headers: dict[str, str] | None = None,
    max_bytes: int = MAX_BYTES,
) -> Fetched:
    """GET `url` (conditionally when `validators` are given) and classify the outcome."""
    sent = {"User-Agent": USER_AGENT, "Accept": "*/*", **(headers or {})}
    if validators is not None:
        sent.update(validators.headers())
    try:
        async with http.stream("GET", url, headers=sent) as response:
            status = response.status_code
            if status == 304:
                return Fetched(None, 304, dict(response.headers))
            if status in (401, 403):
                raise Failed(
                    f"{what} refused the request ({status}): "
                    + (
                        "the token is wrong or revoked; check it"
                        if status == 401
                        else "the token may not read this, or the source refuses this "
                        "address; check the token and where you connect from"
                    )
                )
            if status == 429 or status >= 500:
                raise Trouble(
                    f"{what} answered {status}" + (" (too many requests)" if status == 429 else ""),
                    _retry_after(response.headers.get("retry-after")),
                )
            if status == 404:
                raise Failed(
                    f"{what}: no such path ({url} answered 404); is the URL the "
                    "source's base address?"
                )
            if status >= 300:
                raise Failed(f"{what} answered {status} for {url}; expected 200")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise Failed(
                        f"{what}: the answer is larger than {max_bytes:,} bytes; "
                        "not the source's usual answer, refused"
                    )
                chunks.append(chunk)
            kept = {
                k.lower(): v
                for k, v in response.headers.items()
                if k.lower() in ("etag", "last-modified", "content-type", "x-last-seq")
            }
    except httpx.HTTPError as exc:
        raise Trouble(
            f"{what} cannot be reached: {exc.__class__.__name__}" + (f": {exc}" if str(exc) else "")
        ) from None
    if validators is not None:
        validators.etag = kept.get("etag")
        validators.last_modified = kept.get("last-modified")
    return Fetched(b"".join(chunks), status, kept)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (a number or an HTTP date), if it makes sense."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), 3600.0)
    try:
        import time

        return max(0.0, min(parsedate_to_datetime(value).timestamp() - time.time(), 3600.0))
    except (TypeError, ValueError, IndexError):
        return None


def client(timeout_s: float) -> httpx.AsyncClient:
    """The HTTP client followers share: bounded connections, a timeout on every step, at
    most three redirects (httpx follows only http and https)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s),
        limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
        follow_redirects=True,
        max_redirects=3,
    )
