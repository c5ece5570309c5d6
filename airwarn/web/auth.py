"""Bearer tokens and roles: who may do what.

`sensor` posts events; `operator` sends and cancels alerts (and reads); `admin` may do all of
it and read the audit log; `reader` reads. Reading the public views needs no token at all;
nothing that changes anything can be done without one. The console's browser presents its
token in an HttpOnly session cookie instead of the header (`airwarn.web.session`), and
then every request that changes something must carry the session's CSRF token too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser
from starlette.types import Scope

from airwarn.errors import ForbiddenError, UnauthorizedError
from airwarn.store.tokens import PREFIX, Client, find_client
from airwarn.web.csrf import MAX_TOKEN_CHARS, check_csrf, presented_token

MAY = {
    "ingest": {"sensor", "admin"},
    "operate": {"operator", "admin"},
    "watch": {"operator", "admin"},  # threats in flight: for the operators' map only
    "audit": {"admin"},
    "read": {"reader", "sensor", "operator", "admin"},
}


# declares the bearer scheme in the OpenAPI document; errors are airwarn's own (below)
SCHEME = HTTPBearer(auto_error=False, description="a token from `airwarn tokens create`")


def require(permission: str) -> Callable[[Request], Awaitable[Client]]:
    """A FastAPI dependency: the client behind the request's token, if it may do this."""
    allowed = MAY[permission]

    async def dependency(request: Request,
                         credentials: HTTPAuthorizationCredentials | None = Depends(SCHEME)
                         ) -> Client:
        token, from_cookie = presented_token(
            credentials.credentials if credentials is not None else None, request.cookies)
        if not token:
            raise UnauthorizedError("this needs a bearer token: send `Authorization: Bearer "
                                    "<token>`; make one with `airwarn tokens create --role "
                                    f"{sorted(allowed)[0]}`")
        if from_cookie:
            check_csrf(request, token)
        client = await client_for(request.app, token)
        if client is None:
            raise UnauthorizedError("unknown or revoked token")
        if client.role not in allowed:
            raise ForbiddenError(f"a {client.role} token may not do this; it needs one of: "
                                 + ", ".join(sorted(allowed)))
        return client

    return dependency


async def client_for(app: FastAPI, token: str) -> Client | None:
    """The client a token belongs to (None: unknown or revoked), through the app's cache."""
    cache: dict[str, Client | None] = app.state.token_cache
    if token not in cache:
        cache[token] = await run_in_threadpool(find_client, app.state.db, token)
    return cache[token]


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
    """The name of the client `token` authenticates, None if this server does not know it."""
    client = await client_for(scope["app"], token)
    return None if client is None else client.name
