"""How a browser's console session presents its token, and proves a request is its own.

The console keeps the operator's token in an `HttpOnly; Secure; SameSite=Strict` cookie
(`airwarn.web.session` sets it), where no page script can read it. A cookie goes with every
request the browser makes to this origin, though, so a request authenticated by the cookie
alone could have been started by another site (cross-site request forgery). Three things stop
that: `SameSite=Strict` (the browser does not attach the cookie to requests started from
another site), the `Origin` check (a browser names the page that started a request; another
origin is refused) and the CSRF token: every request that changes something must carry
`X-CSRF-Token`, a value derived from the session's token, which the console reads from
`GET /v1/session` and another site cannot read at all. A bearer token in the `Authorization`
header needs none of this: a browser never adds that header by itself.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from airwarn.errors import ForbiddenError

COOKIE = "__Host-airwarn-session"  # __Host-: only over HTTPS, for this host, path /
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_TOKEN_CHARS = 256  # far longer than any token airwarn makes


def presented_token(bearer: str | None, cookies: Mapping[str, str]) -> tuple[str, bool]:
    """The token a request presents, and whether it came from the session cookie: the
    `Authorization` header wins; "" when there is none."""
    token = (bearer or "").strip()
    if token:
        return token[: MAX_TOKEN_CHARS + 1], False
    token = cookies.get(COOKIE, "").strip()
    return token[: MAX_TOKEN_CHARS + 1], bool(token)


def csrf_of(token: str) -> str:
    """The session's CSRF token: a one-way function of its token, so that every process
    derives the same one and nothing need be stored; knowing it reveals nothing of the token."""
    return hashlib.sha256(b"airwarn csrf\0" + token.encode()).hexdigest()


def same_origin(connection: HTTPConnection) -> bool:
    """False when the browser says the request comes from a page of another origin."""
    origin = connection.headers.get("origin")
    if origin is None:
        return True  # not sent by every browser on same-origin requests; the token decides
    host = connection.headers.get("host", "")
    return origin != "null" and urlsplit(origin).netloc.lower() == host.lower()


def check_csrf(connection: HTTPConnection, token: str) -> None:
    """Refuse (403) a cookie-authenticated request that changes something unless it comes
    from this origin with the session's CSRF token."""
    if connection.scope.get("method", "GET") in SAFE_METHODS:
        return
    if not same_origin(connection):
        raise ForbiddenError(
            "refused: this request was started by a page of another site "
            f"({connection.headers.get('origin')}); the console's session "
            "works only from its own pages"
        )
    sent = connection.headers.get(CSRF_HEADER.lower(), "")
    if not hmac.compare_digest(sent.encode(), csrf_of(token).encode()):
        raise ForbiddenError(
            f"refused: a request made with the console's session cookie must "
            f"carry the {CSRF_HEADER} header that GET /v1/session gives; send "
            "it, or use `Authorization: Bearer <token>` instead of the cookie"
        )
