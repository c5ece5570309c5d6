"""URLs as airwarn shows them: in logs, errors and public answers, never with a secret."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# a secret given as a query parameter (libpq's ?password=, a token)
_SECRET_PARAM = re.compile(r"(?i)([?&](?:password|passwd|pass|token|secret)=)[^&#]*")


def shown(url: str) -> str:
    """`url` with a password in it as `***`, and a lone user part too (NATS reads
    `nats://TOKEN@host` as a token), and a password or token given as a query parameter: for
    a store, bus or broker URL given on the command line. A URL that cannot be read is shown
    as its scheme only."""
    url = _SECRET_PARAM.sub(r"\1***", url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.partition(":")[0] + "://***"
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url
    user, colon, _ = userinfo.partition(":")
    hidden = f"{user}:***" if colon else "***"
    return parts._replace(netloc=f"{hidden}@{host}").geturl()
