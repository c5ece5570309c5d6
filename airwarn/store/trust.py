"""Trusted CAP senders and the tokens that may speak for them, kept in the store.

A *trusted sender* is a CAP `<sender>` with one or more X.509 certificates: a message that
names that sender and carries a signature one of them verifies may be applied at once. A
*binding* lets an API token (by name) post CAP as a sender; a token posts as no one else.
Both are managed with `airwarn trust` and read by the service for every inbound message, so a
change takes effect with the next message, on every process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy.engine import Engine

from airwarn.errors import ContractError
from airwarn.store.tokens import API_TOKEN

TRUSTED_SENDER = sa.table(
    "trusted_sender",
    sa.column("sender"),
    sa.column("fingerprint"),
    sa.column("certificate"),
    sa.column("subject"),
    sa.column("not_after_ms"),
    sa.column("added_ms"),
)
CAP_SENDER = sa.table(
    "cap_sender", sa.column("token_name"), sa.column("sender"), sa.column("added_ms")
)
# CAP 1.2 3.2.1: the sender "MUST NOT include spaces, commas or restricted characters (< and &)"
SENDER = re.compile(r"[^\s,<&]{1,256}")


class TrustError(ContractError):
    """A sender, certificate or binding cannot be stored as asked."""


@dataclass(frozen=True)
class TrustedKey:
    """One certificate trusted for one sender."""

    sender: str
    fingerprint: str  # "sha256:" + hex of the certificate's DER
    certificate: bytes  # PEM
    subject: str
    not_after_ms: int


def check_sender(sender: str) -> str:
    if not SENDER.fullmatch(sender):
        raise TrustError(
            f"{sender!r} is not a CAP sender: 1 to 256 characters with no spaces, "
            "commas, < or & (CAP 1.2 3.2.1), e.g. alerts@agency.example",
            field="sender",
            value=sender,
        )
    return sender


def read_certificate(pem: bytes, source: str = "the key") -> x509.Certificate:
    """The one X.509 certificate in `pem`, or TrustError saying what was given instead."""
    if b"PRIVATE KEY-----" in pem:
        raise TrustError(
            f"{source} holds a private key; give the sender's certificate "
            "(-----BEGIN CERTIFICATE-----), which is public. Never share a "
            "private key",
            field="key",
        )
    if b"-----BEGIN PUBLIC KEY-----" in pem and b"CERTIFICATE-----" not in pem:
        raise TrustError(
            f"{source} holds a bare public key; airwarn checks signatures against "
            "the sender's X.509 certificate (-----BEGIN CERTIFICATE-----), as "
            "CAP signers publish it",
            field="key",
        )
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise TrustError(
            f"{source} is not a PEM certificate (-----BEGIN CERTIFICATE-----); "
            "ask the sender for the certificate its CAP signatures verify with",
            field="key",
        ) from None
    if len(certificates) != 1:
        raise TrustError(
            f"{source} holds {len(certificates)} certificates; give one per "
            "`airwarn trust add` (the one that signs the sender's CAP)",
            field="key",
        )
    return certificates[0]


def add_trusted(
    engine: Engine, sender: str, pem: bytes, now_ms: int, source: str = "the key"
) -> TrustedKey:
    """Trust `pem`'s certificate for `sender`'s messages (beside any it already has)."""
    check_sender(sender)
    certificate = read_certificate(pem, source)
    key = TrustedKey(
        sender=sender,
        fingerprint="sha256:" + certificate.fingerprint(hashes.SHA256()).hex(),
        certificate=certificate.public_bytes(serialization.Encoding.PEM),
        subject=certificate.subject.rfc4514_string()[:512],
        not_after_ms=int(certificate.not_valid_after_utc.timestamp() * 1000),
    )
    try:
        with engine.begin() as db:
            db.execute(
                sa.insert(TRUSTED_SENDER).values(
                    sender=key.sender,
                    fingerprint=key.fingerprint,
                    certificate=key.certificate.decode(),
                    subject=key.subject,
                    not_after_ms=key.not_after_ms,
                    added_ms=now_ms,
                )
            )
    except sa.exc.IntegrityError:
        raise TrustError(
            f"this certificate ({key.fingerprint}) is trusted for {sender} already", field="key"
        ) from None
    return key


def remove_trusted(engine: Engine, sender: str, fingerprint: str | None = None) -> int:
    """Stop trusting `sender`'s certificates (one, by fingerprint, or all); how many."""
    query = sa.delete(TRUSTED_SENDER).where(TRUSTED_SENDER.c.sender == sender)
    if fingerprint is not None:
        query = query.where(TRUSTED_SENDER.c.fingerprint == fingerprint)
    with engine.begin() as db:
        removed = int(db.execute(query).rowcount)
    if not removed:
        what = f"the certificate {fingerprint} is not" if fingerprint else "no certificate is"
        raise TrustError(
            f"{what} trusted for {sender!r}; see `airwarn trust list`", field="sender", value=sender
        )
    return removed


def trusted_keys(engine: Engine, sender: str | None = None) -> list[TrustedKey]:
    """The certificates trusted for `sender` (or for every sender), oldest first."""
    query = sa.select(
        TRUSTED_SENDER.c.sender,
        TRUSTED_SENDER.c.fingerprint,
        TRUSTED_SENDER.c.certificate,
        TRUSTED_SENDER.c.subject,
        TRUSTED_SENDER.c.not_after_ms,
    ).order_by(TRUSTED_SENDER.c.sender, TRUSTED_SENDER.c.added_ms)
    if sender is not None:
        query = query.where(TRUSTED_SENDER.c.sender == sender)
    with engine.connect() as db:
        return [
            TrustedKey(str(row[0]), str(row[1]), str(row[2]).encode(), str(row[3]), int(row[4]))
            for row in db.execute(query)
        ]


def bind_sender(engine: Engine, token_name: str, sender: str, now_ms: int) -> None:
    """Let the token named `token_name` post CAP as `sender`."""
    check_sender(sender)
    with engine.begin() as db:
        exists = db.execute(
            sa.select(API_TOKEN.c.id).where(
                API_TOKEN.c.name == token_name, API_TOKEN.c.revoked_ms.is_(None)
            )
        ).first()
        if exists is None:
            raise TrustError(
                f"no active token named {token_name!r}; see `airwarn tokens list`",
                field="token",
                value=token_name,
            )
        bound = db.execute(
            sa.select(CAP_SENDER.c.sender).where(
                CAP_SENDER.c.token_name == token_name, CAP_SENDER.c.sender == sender
            )
        ).first()
        if bound is None:
            db.execute(
                sa.insert(CAP_SENDER).values(token_name=token_name, sender=sender, added_ms=now_ms)
            )


def unbind_sender(engine: Engine, token_name: str, sender: str) -> None:
    with engine.begin() as db:
        done = db.execute(
            sa.delete(CAP_SENDER).where(
                CAP_SENDER.c.token_name == token_name, CAP_SENDER.c.sender == sender
            )
        ).rowcount
    if not done:
        raise TrustError(
            f"the token {token_name!r} is not bound to {sender!r}", field="sender", value=sender
        )


def bound_senders(engine: Engine, token_name: str) -> set[str]:
    """The CAP senders the token named `token_name` may speak as."""
    with engine.connect() as db:
        return {
            str(sender)
            for (sender,) in db.execute(
                sa.select(CAP_SENDER.c.sender).where(CAP_SENDER.c.token_name == token_name)
            )
        }


def bindings(engine: Engine) -> list[tuple[str, str]]:
    """Every (token name, sender) binding, by sender."""
    with engine.connect() as db:
        return [
            (str(t), str(s))
            for t, s in db.execute(
                sa.select(CAP_SENDER.c.token_name, CAP_SENDER.c.sender).order_by(
                    CAP_SENDER.c.sender, CAP_SENDER.c.token_name
                )
            )
        ]
