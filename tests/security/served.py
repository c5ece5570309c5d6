"""A real `airwarn serve` for the security tests: a fresh SQLite store, a token per role, the
server started by serverkit's forking launcher (a fresh process, started in a second or two),
and the flags each test gives it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from kits.serverkit import Launcher, Server

ROLES = ("sensor", "operator", "admin", "reader")


@dataclass
class Served:
    """A running server and what a test needs to talk to it."""

    server: Server
    db_url: str
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.url

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def zone_ids(self) -> list[str]:
        return [z["id"] for z in httpx.get(self.url + "/v1/zones", timeout=30).json()]

    def post_events(self, events: list[dict[str, Any]], role: str = "sensor") -> httpx.Response:
        body = "\n".join(json.dumps(e) for e in events)
        return httpx.post(
            self.url + "/v1/events",
            content=body,
            timeout=30,
            headers={**self.auth(role), "Content-Type": "application/x-ndjson"},
        )


@contextlib.contextmanager
def served(
    launcher: Launcher, folder: Path, *flags: str, names: dict[str, str] | None = None
) -> Iterator[Served]:
    """`airwarn serve FLAGS` on a new store in `folder`, event clock, with a token per role
    (named `names[role]` when given)."""
    folder.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{folder / 'airwarn.db'}"
    tokens = {}
    for role in ROLES:
        name = (names or {}).get(role, f"{role}-1")
        out = launcher.run(
            ["tokens", "create", "--role", role, "--name", name, "--db", db_url], folder
        )
        tokens[role] = out.strip().splitlines()[-1]
    server = Server(
        launcher,
        [
            "--db",
            db_url,
            "--keys",
            str(folder / "keys"),
            "--clock",
            "events",
            "--heartbeat-s",
            "1",
            *flags,
        ],
        folder / "serve.log",
    )
    server.start()
    try:
        yield Served(server, db_url, tokens)
    finally:
        server.stop()
