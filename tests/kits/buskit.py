"""An airwarn deployment on the bus for tests and benchmarks: two engines and an edge, as
real `airwarn serve` processes on one PostgreSQL store and one NATS namespace."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from kits.serverkit import Launcher, Server

NATS_URL = "nats://127.0.0.1:4222"


class Cluster:
    """Two engines and an edge on one PostgreSQL schema and one NATS namespace."""

    def __init__(
        self,
        launcher: Launcher,
        folder: Path,
        zones: Path,
        db: str,
        *,
        lease_s: float = 3.0,
        prefix: str = "t",
    ) -> None:
        self.namespace = prefix + uuid.uuid4().hex[:10]
        common = [
            "--zones",
            str(zones),
            "--db",
            db,
            "--keys",
            str(folder / "keys"),
            "--clock",
            "events",
            "--heartbeat-s",
            "1",
            "--bus",
            NATS_URL,
            "--bus-namespace",
            self.namespace,
            "--lease-s",
            str(lease_s),
        ]
        self.engines = [
            Server(launcher, [*common, "--role", "engine", "--name", name], folder / f"{name}.log")
            for name in ("engine-a", "engine-b")
        ]
        self.edge = Server(
            launcher, [*common, "--role", "edge", "--name", "edge"], folder / "edge.log"
        )
        self.token = ""  # a sensor's token, when the caller makes one

    def start(self) -> None:
        self.engines[0].start()
        self.wait_for_leader()
        self.engines[1].start()
        self.edge.start()

    def stop(self) -> None:
        """Stop every process and delete the namespace's streams and lease bucket."""
        for server in (self.edge, *self.engines):
            server.stop()
        drop_namespace(self.namespace)

    def leader(self) -> Server | None:
        for server in self.engines:
            if server.pid is not None and (bus_health(server) or {}).get("leading"):
                return server
        return None

    def wait_for_leader(self, timeout_s: float = 30.0, poll_s: float = 0.02) -> Server:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            leader = self.leader()
            if leader is not None:
                return leader
            time.sleep(poll_s)
        raise AssertionError(f"no engine took the lease in {timeout_s} s")


def bus_health(server: Server, http: httpx.Client | None = None) -> dict[str, Any] | None:
    """The bus part of a process's /healthz, or None if it does not answer."""
    try:
        answer = (http or httpx).get(server.url + "/healthz", timeout=1.0)
        return answer.json()["bus"]  # type: ignore[no-any-return]
    except (httpx.TransportError, ValueError, KeyError):
        return None


def drop_namespace(namespace: str) -> None:
    """Delete a namespace's streams and lease bucket from the machine's NATS, so that runs do
    not pile up (each steps stream reserves JetStream storage)."""
    import nats

    from airwarn.bus import BusSettings

    settings = BusSettings(namespace=namespace)

    async def drop() -> None:
        with contextlib.suppress(Exception):
            nc = await nats.connect(NATS_URL, connect_timeout=3, max_reconnect_attempts=3)
            try:
                js = nc.jetstream()
                for stream in (
                    settings.requests_stream,
                    settings.steps_stream,
                    f"KV_{settings.lease_bucket}",
                ):
                    with contextlib.suppress(nats.js.errors.NotFoundError):
                        await js.delete_stream(stream)
            finally:
                await nc.close()

    asyncio.run(drop())
