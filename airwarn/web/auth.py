"""Bearer tokens and roles: who may do what.

`sensor` posts events; `operator` sends and cancels alerts (and reads); `admin` may do all of
it and read the audit log; `reader` reads. Reading the public views needs no token at all;
nothing that changes anything can be done without one.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from airwarn.errors import ForbiddenError, UnauthorizedError
from airwarn.store.audit import record_refusal
from airwarn.store.tokens import Client, find_client

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
        token = credentials.credentials.strip() if credentials is not None else ""
        if not token:
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
            # a refused attempt is audited under the token's name (best effort, and a flood of
            # them counted in few entries: the refusal stands whatever the store does)
            await run_in_threadpool(record_refusal, request.app.state.db,
                                    request.app.state.refusals, client,
                                    int(time.time() * 1000), "access.refused",
                                    {"method": request.method, "path": request.url.path,
                                     "needs": permission})
            raise ForbiddenError(f"a {client.role} token may not do this; it needs one of: "
                                 + ", ".join(sorted(allowed)))
        return client

    return dependency
