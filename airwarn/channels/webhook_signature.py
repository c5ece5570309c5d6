"""Webhook signatures: `Airwarn-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`.

The HMAC covers `f"{t}.".encode() + body` with the subscriber's secret (Stripe's scheme): the
receiver learns that airwarn sent these exact bytes, and because the time is signed too, a
captured request replayed later is refused once it is older than the receiver's tolerance.
Receivers need nothing from airwarn to check it (docs/webhooks.md has the snippet);
`verify` is the same check, for Python receivers and the tests.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "Airwarn-Signature"
TOLERANCE_S = 300


def signature(secret: str, t: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `t.body` under `secret`."""
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, t: int | None = None) -> str:
    """The header value for a body sent now (or at `t`)."""
    t = int(time.time()) if t is None else t
    return f"t={t},v1={signature(secret, t, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance_s: int = TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """Whether `header` signs `body` with `secret`, at a time within `tolerance_s` of now."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        t = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance_s:
        return False
    expected = signature(secret, t, body)
    # several v1 values are allowed, so that a secret can be rolled over without a gap
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))
