"""Attacking a real `airwarn serve`: a deployment per test module, tokens per role, events at
the server's own wall-clock time, and direct access to the store an attacker may reach."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from conftest import grid_zones, postgres_schema
from kits.serverkit import Launcher, Server

from airwarn.engine.zones import write_zones, zones_from_geojson
from airwarn.store import connect

# a drone at the middle of the grid (6 x 6 zones of 0.05 degrees from 31.4 N, 34.6 E): one
# report puts the zones around it at alert
CENTRE = (31.55, 34.75)


def wall(offset_s: float = 0.0) -> str:
    """RFC 3339 UTC, `offset_s` from now."""
    moment = datetime.now(UTC) + timedelta(seconds=offset_s)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def drone(
    threat: str, offset_s: float = 0.0, lat: float = CENTRE[0], lon: float = CENTRE[1], **extra: Any
) -> dict[str, Any]:
    return {
        "type": "track",
        "threat": threat,
        "kind": "drone",
        "t": wall(offset_s),
        "lat": lat,
        "lon": lon,
        "vel_mps": [40.0, 0.0, 0.0],
        **extra,
    }


def ended(threat: str, offset_s: float = 0.0, reason: str = "intercepted") -> dict[str, Any]:
    return {"type": "end", "threat": threat, "t": wall(offset_s), "reason": reason}


class Deployment:
    """One `airwarn serve` on its own store and keys, with a token per name."""

    def __init__(
        self, launcher: Launcher, folder: Path, db: str, *extra: str, clock: str = "wall"
    ) -> None:
        self.launcher = launcher
        self.folder = folder
        self.db = db
        self.keys = folder / "keys"
        self.zones = folder / "zones.geojson"
        if not self.zones.exists():
            write_zones(zones_from_geojson(grid_zones()).zones, self.zones)
        self.server = Server(
            launcher,
            [
                "--zones",
                str(self.zones),
                "--db",
                db,
                "--keys",
                str(self.keys),
                "--clock",
                clock,
                "--heartbeat-s",
                "1",
                *extra,
            ],
            folder / "serve.log",
        )
        self.tokens: dict[str, str] = {}

    @property
    def url(self) -> str:
        return self.server.url

    def cli(self, *args: str) -> str:
        return self.launcher.run(list(args), self.folder)

    def token(self, role: str, name: str) -> str:
        if name not in self.tokens:
            self.tokens[name] = self.cli(
                "tokens", "create", "--role", role, "--name", name, "--db", self.db
            ).strip()
        return self.tokens[name]

    def http(self, name: str | None = None) -> httpx.Client:
        headers = {} if name is None else {"Authorization": f"Bearer {self.tokens[name]}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0)

    def post(self, name: str, *events: dict[str, Any], **headers: str) -> httpx.Response:
        import json

        body = "\n".join(json.dumps(e) for e in events).encode()
        with self.http(name) as http:
            return http.post(
                "/v1/events",
                content=body,
                headers={"Content-Type": "application/x-ndjson", **headers},
            )

    def levels(self) -> dict[str, str]:
        with self.http() as http:
            zones = http.get("/v1/zones").json()
        return {z["id"]: z["level"] for z in zones if z["level"] != "clear"}

    def health(self) -> dict[str, Any]:
        with self.http() as http:
            return http.get("/healthz").json()  # type: ignore[no-any-return]

    def audit(self, admin: str = "auditor") -> list[dict[str, Any]]:
        self.token("admin", admin)
        with self.http(admin) as http:
            answer = http.get("/v1/audit", params={"limit": 5000})
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def rows(self, query: str, **params: Any) -> list[Any]:
        """Rows read straight from the store (what an attacker with the file or the database
        account sees)."""
        engine = connect(self.db)
        try:
            with engine.connect() as db:
                return list(db.execute(sa.text(query), params).all())
        finally:
            engine.dispose()

    def execute(self, statement: str, **params: Any) -> None:
        """A write straight into the store, past airwarn."""
        engine = connect(self.db)
        try:
            with engine.begin() as db:
                db.execute(sa.text(statement), params)
        finally:
            engine.dispose()

    def wait_for(self, check: Any, timeout_s: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            value = check()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.05)


@pytest.fixture(scope="session")
def launcher() -> Iterator[Launcher]:
    kit = Launcher()
    try:
        yield kit
    finally:
        kit.close()


@contextlib.contextmanager
def store_at(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'airwarn.db'}"
    else:
        with postgres_schema() as url:
            yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def deployment(
    request: pytest.FixtureRequest, launcher: Launcher, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """One wall-clock server per module and store, shared by the module's tests (each test
    uses threat ids and zones of its own)."""
    folder = tmp_path_factory.mktemp(f"deploy-{request.param}")
    with store_at(request.param, folder) as db:
        served = Deployment(launcher, folder, db)
        served.server.start()
        try:
            yield served
        finally:
            served.server.stop()
