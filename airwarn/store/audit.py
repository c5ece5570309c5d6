"""The audit log's entries written on their own: refusals at the HTTP door and token changes
made with the CLI. (Steps of the service write theirs in the step's own transaction.)

An entry says who (the token's name, or `cli:<user>` for the command line), with which role,
when, what was done or attempted, and the detail as JSON.
"""

from __future__ import annotations

import getpass
import json
import logging
import threading
from collections import OrderedDict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from airwarn.store.log import AUDIT_LOG
from airwarn.store.tokens import Client

log = logging.getLogger(__name__)


def entry(
    client: Client, t_ms: int, action: str, detail: dict[str, Any], reason: str | None = None
) -> dict[str, Any]:
    return {
        "t_ms": t_ms,
        "who": client.name[:128],
        "role": client.role[:16],
        "action": action,
        "reason": reason,
        "detail": json.dumps(detail, sort_keys=True, default=str),
    }


def record_audit(
    db: Engine,
    client: Client,
    t_ms: int,
    action: str,
    detail: dict[str, Any],
    reason: str | None = None,
) -> None:
    """Write one entry now, in a transaction of its own."""
    with db.begin() as conn:
        conn.execute(sa.insert(AUDIT_LOG), [entry(client, t_ms, action, detail, reason)])


def try_record_audit(
    db: Engine, client: Client, t_ms: int, action: str, detail: dict[str, Any]
) -> None:
    """`record_audit` for a refusal that is answered whatever happens: a store that cannot
    take the entry just now is logged, and the refusal still stands."""
    try:
        record_audit(db, client, t_ms, action, detail)
    except sa.exc.SQLAlchemyError as exc:
        log.warning("could not audit %s by %s (%s)", action, client.name, exc.__class__.__name__)


def record_refusal(
    db: Engine,
    throttle: RefusalThrottle,
    client: Client,
    t_ms: int,
    action: str,
    detail: dict[str, Any],
) -> None:
    """Audit a refused attempt, at most once a second for the same one (see RefusalThrottle);
    best effort, like `try_record_audit`."""
    unwritten = throttle.admit((client.name, action, str(detail.get("path", ""))), t_ms / 1000)
    if unwritten is None:
        return
    if unwritten:
        detail = {**detail, "more_since_last_entry": unwritten}
    try_record_audit(db, client, t_ms, action, detail)


def cli_client() -> Client:
    """Who runs a command on this machine, as the audit log names them."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Client(f"cli:{user}", "cli")


class RefusalThrottle:
    """At most one audit entry every `every_s` for the same refused attempt (who, what): a
    flood of refusals (a stolen token retrying in a loop) is kept as entries that count it,
    not as one write per request that the writer would wait behind. Bounded: past `size`
    keys, the longest unused is forgotten. Thread-safe."""

    def __init__(self, every_s: float = 1.0, size: int = 4096) -> None:
        self.every_s = every_s
        self.size = size
        self._seen: OrderedDict[tuple[str, ...], tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, key: tuple[str, ...], now_s: float) -> int | None:
        """None: do not write this one (it is counted); else write it, with the number of
        the same refusals not written since the last entry."""
        with self._lock:
            last, unwritten = self._seen.pop(key, (float("-inf"), 0))
            if now_s - last < self.every_s:
                self._seen[key] = (last, unwritten + 1)
                return None
            self._seen[key] = (now_s, 0)
            while len(self._seen) > self.size:
                self._seen.popitem(last=False)
            return unwritten
