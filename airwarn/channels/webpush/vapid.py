"""The server's VAPID identity (RFC 8292): one P-256 key, made on first run and kept.

Browsers bind a subscription to the public key they were given (`applicationServerKey`), so the
key must outlive restarts and be the same on every process that serves `/v1/push/key`: keep the
folder on shared or copied storage. Losing the key means every browser must subscribe again.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from airwarn.errors import AirwarnError

KEY_FILE = "vapid_private.pem"
TOKEN_LIFE_S = 12 * 3600  # RFC 8292 allows at most 24 h; push services reject longer
log = logging.getLogger(__name__)


class PushKeyError(AirwarnError):
    """The VAPID key file cannot be used."""


def b64url(data: bytes) -> str:
    """Base64url without padding, as Web Push writes keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Bytes from base64url with or without padding; ValueError if it is not base64url."""
    if not text or any(c not in _B64URL for c in text.rstrip("=")):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def origin(endpoint: str) -> str:
    """The audience a push service checks: the endpoint's scheme, host and port."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


class VapidKey:
    """The key, its public half as browsers want it, and signed headers per push service."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, subject: str) -> None:
        self.vapid = Vapid02(private_key)
        self.subject = subject
        point = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.application_server_key = b64url(point)  # what pushManager.subscribe takes
        self._signed: dict[str, tuple[float, dict[str, str]]] = {}

    def headers(self, endpoint: str, now_s: float | None = None) -> dict[str, str]:
        """`Authorization: vapid t=<JWT>,k=<key>` for the endpoint's push service.

        One token per push service serves every push to it until an hour before it expires:
        signing is cheap, but not free across a national fan-out.
        """
        now_s = time.time() if now_s is None else now_s
        audience = origin(endpoint)
        cached = self._signed.get(audience)
        if cached is not None and cached[0] - 3600 > now_s:
            return cached[1]
        exp = int(now_s) + TOKEN_LIFE_S
        signed = self.vapid.sign({"aud": audience, "sub": self.subject, "exp": exp})
        self._signed[audience] = (exp, signed)
        return signed


def load_or_create(folder: Path, subject: str) -> VapidKey:
    """The key in `folder`, made there on first run (readable by its owner only)."""
    folder = Path(folder)
    path = folder / KEY_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        _create(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise PushKeyError(
            f"{path} is not an unencrypted PEM private key ({exc}); restore "
            "it from a backup, or remove it to make a new one (every browser "
            "must then subscribe again)"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise PushKeyError(
            f"{path} holds a key that is not EC P-256, which VAPID needs; "
            "remove it to make a new one (every browser must then subscribe "
            "again)"
        )
    if path.stat().st_mode & 0o077:
        log.warning("%s can be read by others than its owner; chmod 600 it", path)
    return VapidKey(key, subject)


def _create(path: Path) -> None:
    """Write a new key with mode 0600 from the start, and atomically: two processes starting
    at once end up sharing one key, never each its own."""
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process got there first
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
