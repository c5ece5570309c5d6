"""What to follow: a source's kind, its URL, the name its lane goes by, and how often to ask.

`--follow KIND` follows the real source at its public address; `--follow KIND:URL` follows a
mirror or a test server speaking the same wire format:

| kind | default URL | name (its lane) | asks every |
|---|---|---|---|
| `alerts.in.ua` | https://api.alerts.in.ua | `alerts.in.ua` | 15 s |
| `oref` | https://www.oref.org.il | `oref.org.il` | 2 s |
| `cap` | (none: give the Atom feed's URL) | `cap:HOST` | 30 s |
| `airwarn` | (none: give the other server's URL) | `airwarn:HOST[:PORT]` | (a live stream) |

Every URL is checked before anything is asked of it: http or https only, a host, no user name
or password in it (a token goes in its own option). The source is an administrator's choice,
but a typo such as `file:///etc/passwd` or `gopher://...` must fail at start with a clear
error, not be fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from airwarn.errors import AirwarnError

KINDS = ("alerts.in.ua", "oref", "cap", "airwarn")
DEFAULT_URLS = {"alerts.in.ua": "https://api.alerts.in.ua", "oref": "https://www.oref.org.il"}
# How often to ask, by kind. alerts.in.ua rations its API per token (a few requests a minute;
# check your token's terms); the Home Front Command's own apps poll alerts.json every 1-2 s;
# CAP feeds change slowly and are often behind a cache; an airwarn pushes (SSE).
EVERY_S = {"alerts.in.ua": 15.0, "oref": 2.0, "cap": 30.0, "airwarn": 1.0}  # airwarn: the
# first wait before reconnecting a live stream that broke off
# A zone that leaves the Home Front Command's live feed without an "event ended" for it stays
# alerted this long: the feed shows an alert for a minute or two, people stay in the shelter
# for ten. (Another airwarn's feed keeps a zone in it through its own hold: give 0 for it.)
HOLD_S = {"alerts.in.ua": 0.0, "oref": 600.0, "cap": 0.0, "airwarn": 0.0}


class FollowError(AirwarnError):
    """A source cannot be followed as given (a bad URL, an unknown kind, a missing token)."""


@dataclass(frozen=True)
class FollowSpec:
    """One source to follow, with its settings."""

    kind: str
    url: str
    name: str
    every_s: float
    stale_s: float  # silence longer than this is `stale` on every channel
    hold_s: float = 0.0
    token: str | None = None  # alerts.in.ua's API token

    def __post_init__(self) -> None:
        if self.every_s <= 0 or self.stale_s <= self.every_s:
            raise FollowError(
                f"following {self.name}: --follow-stale-s ({self.stale_s:g}) "
                f"must be longer than the polling interval ({self.every_s:g} s)"
            )


def parse_spec(
    text: str,
    *,
    token: str | None = None,
    every_s: float | None = None,
    stale_s: float | None = None,
    hold_s: float | None = None,
) -> FollowSpec:
    """`KIND` or `KIND:URL` (see the module's docstring), with the settings' overrides."""
    kind, sep, url = text.strip().partition(":")
    if kind not in KINDS:
        raise FollowError(
            f"--follow {text!r}: the source is one of {', '.join(KINDS)}, "
            "optionally followed by :URL (e.g. alerts.in.ua, "
            "oref:http://127.0.0.1:8001, cap:https://agency.example/alerts.atom,"
            " airwarn:https://warn.example.org)"
        )
    if not sep:
        url = DEFAULT_URLS.get(kind, "")
        if not url:
            raise FollowError(f"--follow {kind} needs the source's URL: --follow {kind}:URL")
    host = check_url(url, f"--follow {kind}")
    if kind == "alerts.in.ua" and not token:
        raise FollowError(
            "alerts.in.ua answers only with an API token: give it with "
            "--alerts-in-ua-token-file FILE or the ALERTS_IN_UA_TOKEN "
            "environment variable (ask api@alerts.in.ua for one)"
        )
    name = {"alerts.in.ua": "alerts.in.ua", "oref": "oref.org.il"}.get(kind, f"{kind}:{host}")
    every = EVERY_S[kind] if every_s is None else every_s
    stale = stale_s if stale_s is not None else max(30.0, 4 * every)
    hold = HOLD_S[kind] if hold_s is None else hold_s
    if hold < 0:
        raise FollowError("--follow-hold-s is 0 or more seconds")
    return FollowSpec(
        kind,
        url.rstrip("/"),
        name[:64],
        every,
        stale,
        hold,
        token if kind == "alerts.in.ua" else None,
    )


def check_url(url: str, what: str) -> str:
    """The host[:port] of an http(s) URL, or a FollowError saying what is wrong with it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FollowError(f"{what}: {url!r} is not a URL (a port that is not a number?)") from None
    if parts.scheme not in ("http", "https"):
        raise FollowError(
            f"{what}: {url!r} is not followed: only http:// and https:// URLs "
            f"are (not {parts.scheme or 'a URL without a scheme'}:)"
        )
    if not parts.hostname:
        raise FollowError(f"{what}: {url!r} names no host; write {parts.scheme}://HOST/...")
    if parts.username is not None or parts.password is not None:
        raise FollowError(
            f"{what}: {url!r} carries a user name or password; give a token "
            "in its own option, never in the URL (URLs end up in logs)"
        )
    return parts.hostname + (f":{port}" if port else "")
