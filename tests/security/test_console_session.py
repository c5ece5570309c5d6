"""Finding 2, the token: the console signs in once with its token and then holds it only in an
HttpOnly, Secure, SameSite=Strict cookie, and a request made with that cookie changes nothing
unless it carries the session's CSRF token and comes from this origin. Against a real
`airwarn serve`.

On 50965d2 this fails: there is no session; the console kept the token in sessionStorage.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from kits.serverkit import Launcher

from security.served import Served, served

COOKIE = "__Host-airwarn-session"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    launcher = Launcher()
    try:
        with served(launcher, tmp_path_factory.mktemp("session")) as found:
            yield found
    finally:
        launcher.close()


def sign_in(app: Served, role: str, **headers: str) -> httpx.Response:
    return httpx.post(
        app.url + "/v1/session", json={"token": app.tokens[role]}, headers=headers, timeout=10
    )


def drill(app: Served, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        app.url + "/v1/actions",
        headers=headers,
        timeout=10,
        json={
            "action": "alert",
            "status": "exercise",
            "zones": [app.zone_ids()[0]],
            "reason": "session test",
        },
    )


def levels(app: Served) -> dict[str, str]:
    return {
        z["id"]: (z["drill"] or {}).get("level", "")
        for z in httpx.get(app.url + "/v1/zones", timeout=10).json()
        if z["drill"]
    }


def test_signing_in_sets_an_httponly_secure_strict_cookie_and_never_echoes_the_token(
    app: Served,
) -> None:
    answer = sign_in(app, "operator")
    assert answer.status_code == 200, answer.text
    cookie = answer.headers["set-cookie"]
    name, _, rest = cookie.partition("=")
    assert name == COOKIE
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in rest.split(";")[1:]}
    assert {"httponly", "secure", "samesite", "path", "max-age"} <= set(flags), cookie
    assert flags["samesite"].lower() == "samesite=strict" and flags["path"] == "Path=/"
    assert "domain" not in flags
    assert app.tokens["operator"] not in answer.text
    assert set(answer.json()) == {"name", "role", "csrf"}
    assert answer.headers["cache-control"] == "no-store"
    # the session says who it is, and its CSRF token, and nothing more
    who = httpx.get(
        app.url + "/v1/session",
        timeout=10,
        headers={"Cookie": f"{COOKIE}={app.tokens['operator']}"},
    )
    assert who.json() == answer.json()


def test_only_operators_and_admins_get_a_session(app: Served) -> None:
    assert sign_in(app, "admin").status_code == 200
    for role in ("sensor", "reader"):
        refused = sign_in(app, role)
        assert refused.status_code == 403 and "operator" in refused.json()["error"], role
        assert "set-cookie" not in refused.headers
    unknown = httpx.post(app.url + "/v1/session", json={"token": "aw_" + "x" * 43}, timeout=10)
    assert unknown.status_code == 401 and "set-cookie" not in unknown.headers
    assert httpx.get(app.url + "/v1/session", timeout=10).status_code == 401
    # a session cannot be opened from another site's page (login CSRF)
    assert sign_in(app, "operator", Origin="https://evil.example").status_code == 403


def test_a_request_with_the_cookie_alone_changes_nothing_without_the_csrf_token(
    app: Served,
) -> None:
    csrf = sign_in(app, "operator").json()["csrf"]
    cookie = {"Cookie": f"{COOKIE}={app.tokens['operator']}"}
    before = levels(app)
    for headers in (
        cookie,
        {**cookie, "X-CSRF-Token": "0" * 64},
        {**cookie, "X-CSRF-Token": csrf, "Origin": "https://evil.example"},
        {**cookie, "X-CSRF-Token": csrf, "Origin": "null"},
    ):
        refused = drill(app, headers)
        assert refused.status_code == 403, (headers, refused.text)
        assert (
            "X-CSRF-Token" in refused.json()["error"] or "another site" in refused.json()["error"]
        )
    assert levels(app) == before
    # reading needs no CSRF token; writing with it (from this origin, or no Origin) works
    assert httpx.get(app.url + "/v1/threats", headers=cookie, timeout=10).status_code == 200
    host = app.url.removeprefix("http://")
    sent = drill(app, {**cookie, "X-CSRF-Token": csrf, "Origin": f"http://{host}"})
    assert sent.status_code == 200, sent.text
    assert levels(app) != before
    # a bearer token needs none of this
    assert drill(app, app.auth("operator")).status_code == 200


def test_signing_out_clears_the_cookie(app: Served) -> None:
    answer = httpx.delete(app.url + "/v1/session", timeout=10)
    assert answer.status_code == 204
    assert (
        answer.headers["set-cookie"].startswith(f'{COOKIE}=""')
        or "Max-Age=0" in answer.headers["set-cookie"]
    )
