"""The console's session: the operator's token in an HttpOnly cookie, out of page scripts' reach.

`POST /v1/session` with `{"token": ...}` checks an operator's or admin's token and answers with
a cookie that holds it: `HttpOnly` (no script can read it, so a script injected into the page
could not send the token anywhere), `Secure` (sent only over HTTPS; browsers treat localhost
as secure), `SameSite=Strict` (never sent on a request another site starts) and the `__Host-`
prefix (for this host only). The token is checked on every request as a bearer token is, so a
revoked token ends its sessions too. `GET /v1/session` says who is signed in and gives the CSRF
token that requests which change something must carry (`airwarn.web.csrf`); `DELETE` signs out.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from airwarn.answers import SessionAnswer
from airwarn.errors import ForbiddenError, UnauthorizedError
from airwarn.store.tokens import Client
from airwarn.web.auth import MAY, a_role, client_of
from airwarn.web.csrf import COOKIE, MAX_TOKEN_CHARS, csrf_of, presented_token, same_origin
from airwarn.web.errors import ERRORS

router = APIRouter(tags=["session"], responses=ERRORS)
SESSION_S = 12 * 3600  # a shift; the browser forgets the cookie afterwards
CONSOLE_ROLES = MAY["operate"]  # a session exists for the operators' console only


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(
        min_length=1,
        max_length=MAX_TOKEN_CHARS,
        description="an operator or admin token (`airwarn tokens create`)",
    )


def _answer(client: Client, token: str, response: Response) -> SessionAnswer:
    response.headers["Cache-Control"] = "no-store"
    return SessionAnswer(name=client.name, role=client.role, csrf=csrf_of(token))


@router.post(
    "/v1/session",
    summary="Sign the console in: an HttpOnly session cookie for an operator or admin token",
)
async def sign_in(body: SignIn, request: Request, response: Response) -> SessionAnswer:
    if not same_origin(request):
        raise ForbiddenError(
            "refused: a console session can be opened only from the console's own page"
        )
    token = body.token.strip()
    client = await client_of(request.app, token)
    if client is None:
        raise UnauthorizedError("unknown or revoked token")
    if client.role not in CONSOLE_ROLES:
        raise ForbiddenError(
            f"{a_role(client.role)} token may not operate the console; it needs "
            "one of: " + ", ".join(sorted(CONSOLE_ROLES))
        )
    response.set_cookie(
        COOKIE, token, max_age=SESSION_S, path="/", secure=True, httponly=True, samesite="strict"
    )
    return _answer(client, token, response)


@router.get("/v1/session", summary="Who the console's session cookie signs in, and its CSRF token")
async def who(request: Request, response: Response) -> SessionAnswer:
    token, from_cookie = presented_token(None, request.cookies)
    client = await client_of(request.app, token) if from_cookie else None
    if client is None or client.role not in CONSOLE_ROLES:
        raise UnauthorizedError("no console session: sign in with POST /v1/session")
    return _answer(client, token, response)


@router.delete("/v1/session", status_code=204, summary="Sign the console out")
async def sign_out() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response
