"""API tokens: one per client, each with one role, stored only as a SHA-256 hash.

A token is 256 random bits, so a plain hash is as strong as a slow one and lets every request
be checked with one indexed lookup. The token itself is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from airwarn.errors import ContractError

ROLES: tuple[str, ...] = ("sensor", "operator", "admin", "reader")
PREFIX = "aw_"
RESERVED = "airwarn"  # the source the service logs its own clock ticks under

API_TOKEN = sa.table(
    "api_token",
    sa.column("id"),
    sa.column("name"),
    sa.column("role"),
    sa.column("token_sha256"),
    sa.column("created_ms"),
    sa.column("revoked_ms"),
)
# bumped by every revocation, in its transaction: serving processes read it a few times a
# second and forget the tokens they remembered when it moves (airwarn.web.tokencache)
TOKEN_GENERATION = sa.table("token_generation", sa.column("id"), sa.column("generation"))


class TokenError(ContractError):
    """A token cannot be made or revoked as asked."""


@dataclass(frozen=True)
class Client:
    """Who a request comes from: the token's name and role."""

    name: str
    role: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, role: str, name: str, now_ms: int) -> str:
    """Make a token for `role` under a `name` no live token has (a revoked token's name may be
    taken again: its replacement keeps the threat ids, audit entries and CAP senders that hang
    on the name); return it (it is not stored)."""
    if role not in ROLES:
        raise TokenError(
            f"unknown role {role!r}; use one of {', '.join(ROLES)}", field="role", value=role
        )
    if not name or len(name) > 128:
        raise TokenError(
            "a token needs a name of 1 to 128 characters (who or what uses it)",
            field="name",
            value=name,
        )
    if name == RESERVED:
        raise TokenError(
            f"the name {RESERVED!r} is the service's own (its clock ticks in the "
            "log); pick another",
            field="name",
            value=name,
        )
    token = PREFIX + secrets.token_urlsafe(32)
    try:
        with engine.begin() as db:
            db.execute(
                sa.insert(API_TOKEN).values(
                    name=name, role=role, token_sha256=digest(token), created_ms=now_ms
                )
            )
    except sa.exc.IntegrityError:  # a live token has the name (a revoked one gives it up)
        raise TokenError(
            f"a live token is named {name!r} already: to replace it under this name, revoke "
            f"it first with `airwarn tokens revoke {name}`; or pick another name",
            field="name",
            value=name,
        ) from None
    return token


def find_client(engine: Engine, token: str) -> Client | None:
    """The client a token belongs to, or None if it is unknown or revoked."""
    with engine.connect() as db:
        row = db.execute(
            sa.select(API_TOKEN.c.name, API_TOKEN.c.role).where(
                API_TOKEN.c.token_sha256 == digest(token), API_TOKEN.c.revoked_ms.is_(None)
            )
        ).first()
    return None if row is None else Client(str(row[0]), str(row[1]))


def revoke_token(engine: Engine, name: str, now_ms: int) -> None:
    """Revoke a token; every serving process refuses it within a second (see
    `token_generation`)."""
    with engine.begin() as db:
        done = db.execute(
            sa.update(API_TOKEN)
            .where(API_TOKEN.c.name == name, API_TOKEN.c.revoked_ms.is_(None))
            .values(revoked_ms=now_ms)
        ).rowcount
        if not done:
            raise TokenError(f"no active token named {name!r}", field="name", value=name)
        bumped = db.execute(
            sa.update(TOKEN_GENERATION)
            .where(TOKEN_GENERATION.c.id == 1)
            .values(generation=TOKEN_GENERATION.c.generation + 1)
        ).rowcount
        if not bumped:  # the row was lost: a new one still moves every process's reading
            db.execute(sa.insert(TOKEN_GENERATION).values(id=1, generation=1 + _token_count(db)))


def token_generation(engine: Engine) -> int:
    """The store's revocation counter: when it moves, remembered tokens may be stale."""
    with engine.connect() as db:
        value = db.execute(
            sa.select(TOKEN_GENERATION.c.generation).where(TOKEN_GENERATION.c.id == 1)
        ).scalar()
    return int(value or 0)


def list_tokens(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as db:
        rows = db.execute(
            sa.select(
                API_TOKEN.c.name, API_TOKEN.c.role, API_TOKEN.c.created_ms, API_TOKEN.c.revoked_ms
            ).order_by(API_TOKEN.c.id)
        )
        return [dict(row) for row in rows.mappings()]


def _token_count(db: sa.Connection) -> int:
    """A number no reader can have seen as the generation while the row was missing (they read
    0), nor before (every revocation added one; there are fewer revocations than tokens)."""
    return int(db.execute(sa.select(sa.func.count()).select_from(API_TOKEN)).scalar() or 0)
