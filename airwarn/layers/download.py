"""Fetching a source file: from a URL (http, https, file://) or a local path, with its checksum
checked, bounded in size and time, said aloud, and never left half-written.

Every fetch prints what it fetches first. A server that does not answer, or stops answering,
is given up on after a few seconds with a one-line reason; the target appears only once the
whole file has arrived and matched its SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import httpx

from airwarn.errors import AirwarnError

TIMEOUT_S = 5.0  # to connect, and between two pieces of an answer
TOTAL_S = 60.0  # for the whole file, however it trickles in
MAX_BYTES = 50 * 1024 * 1024


class DownloadError(AirwarnError):
    """A source could not be fetched, or was not what was expected; the message says why."""


def is_url(location: str) -> bool:
    return urlparse(location).scheme in ("http", "https", "file")


def join(base: str, relative: str) -> str:
    """`relative` under `base`, where base is a URL or a folder."""
    if is_url(base):
        return base.rstrip("/") + "/" + relative.lstrip("/")
    return str(Path(base) / relative)


def fetch(
    location: str,
    target: Path,
    *,
    sha256: str | None = None,
    say: Callable[[str], None] = print,
    max_bytes: int = MAX_BYTES,
    timeout_s: float = TIMEOUT_S,
    total_s: float = TOTAL_S,
) -> str:
    """Copy `location` (http(s) URL, file:// URL or path) to `target`; return its SHA-256.

    With `sha256`, a file whose checksum differs is refused (DownloadError) and not kept.
    """
    say(f"fetching {location}")
    fd, partial_name = tempfile.mkstemp(
        prefix=target.name + ".", suffix=".partial", dir=target.parent
    )
    partial = Path(partial_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as sink:
            scheme = urlparse(location).scheme
            if scheme in ("http", "https"):
                _stream(location, sink, digest, max_bytes, timeout_s, total_s)
            else:
                _copy(_local_path(location), sink, digest, max_bytes)
        got = digest.hexdigest()
        if sha256 is not None and got != sha256:
            raise DownloadError(
                f"{location} has SHA-256 {got}, not the expected {sha256}: "
                "the source changed or the copy is damaged; nothing was kept"
            )
        os.replace(partial, target)
        return got
    finally:
        partial.unlink(missing_ok=True)


def _local_path(location: str) -> Path:
    parsed = urlparse(location)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise DownloadError(
                f"{location}: a file:// URL names a file on this machine (file:///path/to/file)"
            )
        return Path(url2pathname(unquote(parsed.path)))
    return Path(location)


def _copy(path: Path, sink: object, digest: hashlib._Hash, max_bytes: int) -> None:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DownloadError(
                f"{path} has {size:,} bytes, more than the {max_bytes:,} a source may have"
            )
        with path.open("rb") as source:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                sink.write(chunk)  # type: ignore[attr-defined]
    except FileNotFoundError:
        raise DownloadError(f"no file at {path}") from None
    except IsADirectoryError:
        raise DownloadError(f"{path} is a folder, not a file") from None
    except OSError as error:
        raise DownloadError(f"cannot read {path}: {error.strerror}") from None


def _stream(
    url: str, sink: object, digest: hashlib._Hash, max_bytes: int, timeout_s: float, total_s: float
) -> None:
    started = time.monotonic()
    received = 0
    try:
        with httpx.stream("GET", url, timeout=timeout_s, follow_redirects=True) as response:
            if response.status_code != 200:
                raise DownloadError(f"{url}: HTTP {response.status_code} {response.reason_phrase}")
            declared = response.headers.get("content-length")
            total = int(declared) if declared and declared.isdigit() else None
            if total is not None and total > max_bytes:
                raise DownloadError(
                    f"{url} offers {total:,} bytes, more than the {max_bytes:,} a source may have"
                )
            for chunk in response.iter_bytes():
                received += len(chunk)
                if received > max_bytes:
                    raise DownloadError(
                        f"{url} passed {max_bytes:,} bytes, more than a source may have"
                    )
                if time.monotonic() - started > total_s:
                    raise DownloadError(
                        f"{url} sent only {received:,} bytes in {total_s:.0f} s; gave up"
                    )
                digest.update(chunk)
                sink.write(chunk)  # type: ignore[attr-defined]
    except httpx.TimeoutException:
        raise DownloadError(
            f"{url}: no answer within {timeout_s:.0f} s; gave up (offline? "
            "behind a proxy? give --from a copy of the files)"
        ) from None
    except httpx.HTTPError as error:
        raise DownloadError(f"{url}: {_reason(error)}") from None
    if total is not None and received != total:
        raise DownloadError(f"{url} stopped after {received:,} of {total:,} bytes")


def _reason(error: httpx.HTTPError) -> str:
    """A few words for a network failure (httpx's messages can run to several lines)."""
    lines = str(error).strip().splitlines()
    detail = lines[-1] if lines else ""
    kind = "cannot connect" if isinstance(error, httpx.ConnectError) else type(error).__name__
    return f"{kind} ({detail})" if detail else kind
