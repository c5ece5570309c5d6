"""Security headers on every HTTP answer: what a browser may do with a page or a document.

A page (any `text/html` answer: the public page, the console, the API docs) gets a
Content-Security-Policy that lets it run only the scripts and styles this server serves as
files: no inline script, no `eval`, no plugin, nothing from another origin, and no framing
(`frame-ancestors 'none'`, so it cannot be laid under another site's clicks). Everything else
(JSON, CAP, feeds, scripts) gets a policy that allows nothing at all, so a document opened
directly in a browser can run nothing either. Every answer says `nosniff` (a browser takes the
content type as given, never guesses HTML or script from JSON), sends no Referer, and, over
HTTPS, asks browsers to keep to HTTPS. The policy is set here, once, and replaces any a route
may have set, so that it holds on every page alike.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def page_policy(image_origin: str | None = None) -> str:
    """The pages' policy; `image_origin` (an online tile service the operator configured with
    `serve --tiles`) is the one other place images may come from."""
    images = "'self' data:" + (f" {image_origin}" if image_origin else "")
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; font-src 'self'; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


PAGE_POLICY = page_policy()
DOCUMENT_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
# the public page asks for the visitor's position (to find their zone); nothing else is needed
PERMISSIONS = "geolocation=(self), camera=(), microphone=(), payment=(), usb=()"
COMMON: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_OURS = {
    b"content-security-policy",
    b"permissions-policy",
    b"strict-transport-security",
    *(name for name, _ in COMMON),
}
_DOCUMENT = [*COMMON, (b"content-security-policy", DOCUMENT_POLICY.encode())]


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP answer, whatever route made it."""

    def __init__(
        self, app: ASGIApp, hsts_max_age_s: int = 31_536_000, image_origin: str | None = None
    ) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_max_age_s}".encode()
        self.page = [
            *COMMON,
            (b"content-security-policy", page_policy(image_origin).encode()),
            (b"permissions-policy", PERMISSIONS.encode()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in _OURS
                ]
                content_type = next(
                    (value for name, value in headers if name.lower() == b"content-type"), b""
                )
                headers += self.page if content_type.lower().startswith(b"text/html") else _DOCUMENT
                if secure:
                    headers.append((b"strict-transport-security", self.hsts))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
