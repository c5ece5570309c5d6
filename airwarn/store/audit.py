"""The audit log's entries written on their own: refusals at the HTTP door and token changes
made with the CLI. (Steps of the service write theirs in the step's own transaction.)

An entry says who (the token's name, or `cli:<user>` for the command line), with which role,
when, what was done or attempted, and the detail as JSON.
"""

from __future__ import annotations

import getpass
import json
import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from airwarn.store.log import AUDIT_LOG
from airwarn.store.tokens import Client

log = logging.getLogger("airwarn.audit")


def entry(client: Client, t_ms: int, action: str, detail: dict[str, Any],
          reason: str | None = None) -> dict[str, Any]:
    return {"t_ms": t_ms, "who": client.name[:128], "role": client.role[:16], "action": action,
            "reason": reason, "detail": json.dumps(detail, sort_keys=True, default=str)}


def record_audit(db: Engine, client: Client, t_ms: int, action: str, detail: dict[str, Any],
                 reason: str | None = None) -> None:
    """Write one entry now, in a transaction of its own."""
    with db.begin() as conn:
        conn.execute(sa.insert(AUDIT_LOG), [entry(client, t_ms, action, detail, reason)])


def try_record_audit(db: Engine, client: Client, t_ms: int, action: str,
                     detail: dict[str, Any]) -> None:
    """`record_audit` for a refusal that is answered whatever happens: a store that cannot
    take the entry just now is logged, and the refusal still stands."""
    try:
        record_audit(db, client, t_ms, action, detail)
    except sa.exc.SQLAlchemyError as exc:
        log.warning("could not audit %s by %s (%s)", action, client.name,
                    exc.__class__.__name__)


def cli_client() -> Client:
    """Who runs a command on this machine, as the audit log names them."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Client(f"cli:{user}", "cli")
