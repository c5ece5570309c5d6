"""Finding 2, the headers: every answer of a real `airwarn serve` says how a browser must treat
it. Pages get a Content-Security-Policy that allows only this server's own script and style
files (no inline script, no eval) and no framing; every other answer a policy that allows
nothing; all of them nosniff and no Referer. The pages themselves hold no inline script.

On 50965d2 this fails: no answer carried any of these headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest
from kits.livekit import built_assets
from kits.serverkit import Launcher

from security.served import Served, served

PAGES = ["/", "/console", "/docs"]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    built_assets()
    launcher = Launcher()
    try:
        with served(
            launcher,
            tmp_path_factory.mktemp("headers"),
            "--rate-burst",
            "40",
            "--rate-per-s",
            "0.5",
        ) as found:
            yield found
    finally:
        launcher.close()


def directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def assert_common(answer: httpx.Response) -> None:
    where = f"{answer.request.method} {answer.request.url.path} ({answer.status_code})"
    assert answer.headers.get("x-content-type-options") == "nosniff", where
    assert answer.headers.get("referrer-policy") == "no-referrer", where
    policy = directives(answer.headers.get("content-security-policy", ""))
    assert policy.get("frame-ancestors") == ["'none'"], where
    assert "default-src" in policy, where


def test_every_page_forbids_inline_script_eval_other_origins_and_framing(app: Served) -> None:
    for path in PAGES:
        answer = httpx.get(app.url + path, timeout=10)
        assert answer.headers["content-type"].startswith("text/html"), path
        assert_common(answer)
        policy = directives(answer.headers["content-security-policy"])
        assert policy["default-src"] == ["'self'"], path
        assert policy["script-src"] == ["'self'"], path  # no 'unsafe-inline', no 'unsafe-eval'
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"], path
        assert not any(
            "unsafe" in word or word == "*" for words in policy.values() for word in words
        ), path
        assert answer.headers["x-frame-options"] == "DENY"


def test_every_other_answer_allows_nothing_and_is_never_sniffed(app: Served) -> None:
    answers = [
        httpx.get(app.url + "/v1/zones", timeout=10),
        httpx.get(app.url + "/v1/zones.geojson", timeout=10),
        httpx.get(app.url + "/v1/cap/feed.atom", timeout=10),
        httpx.get(app.url + "/v1/cap/key.pem", timeout=10),
        httpx.get(app.url + "/static/dist/console.js", timeout=10),
        httpx.get(app.url + "/openapi.json", timeout=10),
        httpx.get(app.url + "/nothing-here", timeout=10),
        httpx.post(app.url + "/v1/events", content=b"{}", timeout=10),
        httpx.post(
            app.url + "/v1/events",
            content=b"x" * (9 * 1024 * 1024),
            timeout=30,
            headers=app.auth("sensor"),
        ),
    ]
    codes = {a.status_code for a in answers}
    assert {200, 404, 401, 413} <= codes, codes
    for answer in answers:
        assert_common(answer)
        policy = directives(answer.headers["content-security-policy"])
        assert policy["default-src"] == ["'none'"], answer.request.url.path
        assert "sandbox" in policy
    # refused for its rate: the 429 says so too
    for _ in range(60):
        last = httpx.get(app.url + "/v1/zones/r0c0", timeout=10)
        if last.status_code == 429:
            break
    assert last.status_code == 429
    assert_common(last)


class Markup(HTMLParser):
    """What a page's own markup would run: inline scripts, handler attributes, js: links."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.found.append("an inline <script>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"a {name}= handler on <{tag}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"a javascript: {name} on <{tag}>")
            if name == "style":
                self.found.append(f"an inline style on <{tag}>")


def test_the_pages_hold_no_inline_script_handler_or_style(app: Served) -> None:
    for path in ("/", "/console"):
        markup = Markup()
        markup.feed(httpx.get(app.url + path, timeout=10).text)
        assert markup.found == [], (path, markup.found)
