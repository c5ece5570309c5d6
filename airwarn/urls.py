"""URLs as airwarn shows them: in logs, errors and public answers, never with a secret."""

from __future__ import annotations

from urllib.parse import urlsplit


def shown(url: str) -> str:
    """`url` with a password in it as `***`, and a lone user part too (NATS reads
    `nats://TOKEN@host` as a token): for a bus or broker URL given on the command line."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url
    user, colon, _ = userinfo.partition(":")
    hidden = f"{user}:***" if colon else "***"
    return parts._replace(netloc=f"{hidden}@{host}").geturl()
