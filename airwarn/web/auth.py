"""Bearer tokens and roles: who may do what.

`sensor` posts events; `operator` sends and cancels alerts (and reads); `admin` may do all of
it and read the audit log; `reader` reads. Reading the public views needs no token at all,
but a bearer token that is presented must stand, there too; nothing that changes anything can
be done without one. The console's browser presents its
token in an HttpOnly session cookie instead of the header (`airwarn.web.session`), and
then every request that changes something must carry the session's CSRF token too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, cookie_parser
from starlette.types import Scope

from airwarn.errors import ForbiddenError, UnauthorizedError
from airwarn.store.audit import record_refusal
from airwarn.store.tokens import PREFIX, Client, find_client, token_generation
from airwarn.web import state
from airwarn.web.csrf import check_csrf, presented_token
from airwarn.web.limits import IdentityUnavailable
from airwarn.web.tokencache import MAX_TOKEN_CHARS, TokenCache, cache_key

log = logging.getLogger(__name__)

MAY = {
    "ingest": {"sensor", "admin"},
    "operate": {"operator", "admin"},
    "watch": {"operator", "admin"},  # threats in flight: for the operators' map only
    "audit": {"admin"},
    "read": {"reader", "sensor", "operator", "admin"},
}
# the roles from the least trusted up: the one a refusal suggests is the first that may
ROLES = ("reader", "sensor", "operator", "admin")


def a_role(role: str) -> str:
    """A role with its article: "an operator", "a sensor"."""
    return ("an " if role[:1] in ("a", "e", "i", "o", "u") else "a ") + role


# declares the bearer scheme in the OpenAPI document; errors are airwarn's own (below)
SCHEME = HTTPBearer(auto_error=False, description="a token from `airwarn tokens create`")
UNKNOWN_BEARER = (
    "unknown or revoked token: send one that stands (`airwarn tokens list` names them, "
    "`airwarn tokens create` makes one); a public read takes no token at all"
)


async def refuse_unknown_bearer(connection: HTTPConnection) -> None:
    """Every route's first dependency: a request that presents an `Authorization: Bearer`
    token this server does not know (made up, mistyped, revoked) is refused with 401, a public
    read too, so a client learns its token is wrong instead of reading on as anonymous (and a
    live stream opened so, which is bound to its token, is refused alike). The session cookie
    is not looked at here: the browser sends it with every request of this origin, the public
    page's too, which must go on working after the token behind a session is revoked."""
    if connection.scope["type"] != "http":
        return  # a WebSocket is refused by its route, with a close code (airwarn.web.live)
    token = bearer_of(connection.headers)
    if token is not None and await client_of(connection.app, token) is None:
        raise UnauthorizedError(UNKNOWN_BEARER)


def require(permission: str) -> Callable[[Request], Awaitable[Client]]:
    """A FastAPI dependency: the client behind the request's token, if it may do this."""
    allowed = MAY[permission]

    async def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(SCHEME)
    ) -> Client:
        token, from_cookie = presented_token(
            credentials.credentials if credentials is not None else None, request.cookies
        )
        if not token:
            raise UnauthorizedError(
                "this needs a bearer token: send `Authorization: Bearer "
                "<token>`; make one with `airwarn tokens create --role "
                f"{next(role for role in ROLES if role in allowed)}`"
            )
        if from_cookie:
            check_csrf(request, token)
        client = await client_of(request.app, token)
        if client is None:
            raise UnauthorizedError(UNKNOWN_BEARER)
        if client.role not in allowed:
            # a refused attempt is audited under the token's name (best effort, and a flood of
            # them counted in few entries: the refusal stands whatever the store does)
            await run_in_threadpool(
                record_refusal,
                request.app.state.db,
                request.app.state.refusals,
                client,
                state.now_ms(request),
                "access.refused",
                {"method": request.method, "path": request.url.path, "needs": permission},
            )
            raise ForbiddenError(
                f"{a_role(client.role)} token may not do this; it needs one of: "
                + ", ".join(sorted(allowed))
            )
        return client

    return dependency


async def client_of(app: Any, token: str) -> Client | None:
    """The client behind a bearer token, or None if it is unknown or revoked: from the
    process's token cache when it may answer, else from the store (and then remembered)."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    cache: TokenCache = app.state.token_cache
    key = cache_key(token)
    hit, client = cache.lookup(key, time.monotonic())
    if hit:
        return client
    generation = cache.generation  # before the lookup: see TokenCache.remember
    client = await run_in_threadpool(find_client, app.state.db, token)
    cache.remember(key, client, generation, time.monotonic())
    return client


def bearer_of(headers: Any) -> str | None:
    """The token of an `Authorization: Bearer` header (maybe empty), or None when there is
    none (or another scheme)."""
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def watch_revocations(app: Any, on_change: Callable[[], None]) -> None:
    """Read the store's token generation every `recheck_s`, for ever; when it moves, the cache
    forgets every known token and `on_change` tells the live streams bound to tokens to check
    theirs. A store that cannot be read only stops the cache being trusted (after
    `max_stale_s`), so lookups go to the store itself."""
    cache: TokenCache = app.state.token_cache
    while True:
        try:
            generation = await run_in_threadpool(token_generation, app.state.db)
            if cache.observe(generation, time.monotonic()):
                on_change()
        except sa.exc.SQLAlchemyError:
            pass  # the store is away: the cache goes stale by itself
        except Exception:  # a bug must not end the watch: it is logged, and it goes on
            log.exception("reading the token generation failed")
        await asyncio.sleep(cache.settings.recheck_s)


def presented(scope: Scope) -> str | None:
    """The token a request presents (header or session cookie) if it could be one of
    airwarn's, for the rate limiter; None otherwise (then there is nothing to look up)."""
    bearer = cookies = None
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            bearer = rest if scheme.lower() == "bearer" else None
        elif name == b"cookie":
            cookies = cookie_parser(value.decode("latin-1"))
    token, _ = presented_token(bearer, cookies or {})
    return token if token.startswith(PREFIX) and len(token) <= MAX_TOKEN_CHARS else None


async def identity(scope: Scope, token: str) -> str | None:
    """The name of the client `token` authenticates, None if this server does not know it;
    IdentityUnavailable when the store that knows it cannot be read just now."""
    try:
        client = await client_of(scope["app"], token)
    except sa.exc.SQLAlchemyError as exc:
        raise IdentityUnavailable(
            f"the store cannot be read just now to check the token ({exc.__class__.__name__})"
        ) from exc
    return None if client is None else client.name
