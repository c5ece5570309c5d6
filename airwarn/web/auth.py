"""Bearer tokens and roles: who may do what.

`sensor` posts events; `operator` sends and cancels alerts (and reads); `admin` may do all of
it and read the audit log; `reader` reads. Reading the public views needs no token at all;
nothing that changes anything can be done without one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from airwarn.errors import ForbiddenError, UnauthorizedError
from airwarn.store.tokens import Client, find_client

MAY = {
    "ingest": {"sensor", "admin"},
    "operate": {"operator", "admin"},
    "watch": {"operator", "admin"},  # threats in flight: for the operators' map only
    "audit": {"admin"},
    "read": {"reader", "sensor", "operator", "admin"},
}


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require(permission: str) -> Callable[[Request], Awaitable[Client]]:
    """A FastAPI dependency: the client behind the request's token, if it may do this."""
    allowed = MAY[permission]

    async def dependency(request: Request) -> Client:
        token = bearer(request)
        if token is None:
            raise UnauthorizedError("this needs a bearer token: send `Authorization: Bearer "
                                    "<token>`; make one with `airwarn tokens create --role "
                                    f"{sorted(allowed)[0]}`")
        cache: dict[str, Client | None] = request.app.state.token_cache
        if token not in cache:
            cache[token] = await run_in_threadpool(find_client, request.app.state.db, token)
        client = cache[token]
        if client is None:
            raise UnauthorizedError("unknown or revoked token")
        if client.role not in allowed:
            raise ForbiddenError(f"a {client.role} token may not do this; it needs one of: "
                                 + ", ".join(sorted(allowed)))
        return client

    return dependency
