"""One push, sent: encrypted for the browser (RFC 8291, aes128gcm, by pywebpush), signed for
the push service (VAPID, RFC 8292), POSTed, and its answer read as the Web Push protocol
(RFC 8030) means it.

aiohttp rather than httpx: under a fan-out of many pushes in flight to one push service,
httpx's connection pool spends ~10 ms of CPU per request here; aiohttp (which pywebpush itself
uses) about 1 ms.
"""

from __future__ import annotations

import email.utils
import time

import aiohttp
from py_vapid import VapidException
from pywebpush import WebPusher, WebPushException

from airwarn.channels import targets
from airwarn.channels.webpush.outbox import Outcome, Owed
from airwarn.channels.webpush.vapid import VapidKey

MAX_BACKOFF_S = 60.0


async def send(
    session: aiohttp.ClientSession,
    owed: Owed,
    key: VapidKey,
    *,
    ttl_s: int,
    timeout_s: float,
    retry_s: float,
    now_ms: int,
    allow_private: bool = False,
) -> Outcome:
    """Send one owed push and say what became of it. The session's resolver refuses names
    that point inside (`airwarn.channels.targets`); an address written in the URL is
    judged here."""
    refused = targets.delivery_refusal(owed.endpoint, allow_private)
    if refused is not None:
        return Outcome(owed, "failed", error=refused[:300])
    try:
        pusher = WebPusher(
            {"endpoint": owed.endpoint, "keys": {"p256dh": owed.p256dh, "auth": owed.auth}}
        )
        body = pusher.encode(owed.payload.encode(), "aes128gcm")["body"]
        vapid = key.headers(owed.endpoint)
    except (WebPushException, VapidException, ValueError) as exc:  # checked when subscribing
        return Outcome(
            owed, "failed", error=f"cannot encrypt or sign for this subscription: {exc}"[:300]
        )
    ttl_left_s = max(0, ttl_s - (now_ms - owed.born_ms) // 1000)
    headers = {
        **vapid,
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "TTL": str(ttl_left_s),
        "Urgency": owed.urgency,
        "Topic": owed.topic,
    }
    try:
        async with session.post(
            owed.endpoint,
            data=body,
            headers=headers,
            allow_redirects=False,  # a push service answers, never moves
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as response:
            status = response.status
            if status in (200, 201, 202):
                return Outcome(owed, "sent")
            if status in (404, 410):  # the subscription expired or the user revoked it
                return Outcome(owed, "gone", error=f"HTTP {status}")
            error = f"HTTP {status}: {(await response.text(errors='replace'))[:200]}"
            after_s = _retry_after_s(response.headers.get("Retry-After"))
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        why = targets.refused_cause(exc)
        if why is not None:  # its name now points inside: asking again will not help
            return Outcome(owed, "failed", error=f"{why}: refused"[:300])
        return _retry(owed, now_ms, retry_s, None, f"{exc.__class__.__name__}: {exc}"[:300])
    if status == 429 or status >= 500:
        return _retry(owed, now_ms, retry_s, after_s, error)
    # 400 (bad request), 401/403 (our VAPID rejected), 413 (payload too large): sending the
    # same push again would get the same answer
    return Outcome(owed, "failed", error=error)


def _retry(owed: Owed, now_ms: int, retry_s: float, after_s: float | None, error: str) -> Outcome:
    delay_s = after_s if after_s is not None else min(MAX_BACKOFF_S, retry_s * 2**owed.attempts)
    return Outcome(owed, "retry", next_ms=now_ms + int(delay_s * 1000), error=error)


def _retry_after_s(value: str | None) -> float | None:
    """Retry-After as seconds from now: a number of seconds, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, min(MAX_BACKOFF_S * 10, float(value)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(MAX_BACKOFF_S * 10, when.timestamp() - time.time()))
