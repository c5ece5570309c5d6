"""The connection to NATS: the streams and the lease bucket airwarn needs, made if missing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import (
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.kv import KeyValue

from airwarn.bus import BusSettings
from airwarn.errors import UnavailableError

log = logging.getLogger(__name__)


class Link:
    """One NATS connection, reconnecting for ever, with JetStream and the lease bucket."""

    def __init__(self, settings: BusSettings) -> None:
        self.settings = settings
        self.nc: NatsClient | None = None
        self.js: JetStreamContext | None = None
        self.kv: KeyValue | None = None
        self.on_reconnect: list[Callable[[], Awaitable[None]]] = []
        self.closing = False  # a planned stop: its disconnection is no loss

    async def connect(self) -> None:
        async def reconnected() -> None:
            log.warning("bus: reconnected to %s", self.settings.url)
            for callback in self.on_reconnect:
                with contextlib.suppress(Exception):
                    await callback()

        async def disconnected() -> None:
            if self.closing:
                log.info("bus: stopped; disconnected from %s", self.settings.url)
            else:
                log.warning("bus: lost %s; reconnecting", self.settings.url)

        async def error(exc: Exception) -> None:
            log.debug("bus: %s", exc)

        try:
            self.nc = await nats.connect(
                servers=[self.settings.url],
                name=self.settings.name or None,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.25,
                connect_timeout=3,
                ping_interval=2,
                max_outstanding_pings=2,
                allow_reconnect=True,
                reconnected_cb=reconnected,
                disconnected_cb=disconnected,
                error_cb=error,
            )
        except Exception as exc:  # noqa: BLE001 - nats raises many kinds; all mean "not there"
            raise UnavailableError(
                f"cannot reach NATS at {self.settings.url} ({exc.__class__.__name__}): start "
                "nats-server with JetStream (-js), or give the right bus URL"
            ) from None
        self.js = self.nc.jetstream(timeout=5)
        await self._ensure()

    async def _ensure(self) -> None:
        """The streams and the bucket, with the settings this version expects."""
        assert self.js is not None
        s = self.settings
        replicas = s.replicas
        configs = [
            StreamConfig(
                name=s.requests_stream,
                subjects=[s.subject("requests")],
                storage=StorageType.FILE,
                retention=RetentionPolicy.WORK_QUEUE,
                num_replicas=replicas,
                duplicate_window=120.0,
                max_age=24 * 3600.0,
            ),
            StreamConfig(
                name=s.steps_stream,
                subjects=[s.subject("steps")],
                storage=StorageType.FILE,
                retention=RetentionPolicy.LIMITS,
                num_replicas=replicas,
                duplicate_window=120.0,
                max_age=7 * 24 * 3600.0,
                max_bytes=2 * 1024**3,
            ),
        ]
        for config in configs:
            try:
                await self.js.add_stream(config)
            except nats.js.errors.BadRequestError:
                await self.js.update_stream(config)
        kv_config = KeyValueConfig(
            bucket=s.lease_bucket,
            ttl=self.settings.lease_s,
            history=1,
            storage=StorageType.FILE,
            replicas=replicas,
        )
        try:
            self.kv = await self.js.create_key_value(kv_config)
        except nats.js.errors.BadRequestError as exc:
            raise UnavailableError(
                f"the NATS bucket {s.lease_bucket} exists with another lease time ({exc}); "
                "run every engine with the same lease time, or delete the bucket"
            ) from None

    async def publish(
        self, subject: str, data: bytes, headers: dict[str, str] | None = None
    ) -> Any:
        """Publish to a stream and wait for it to be stored."""
        assert self.js is not None
        return await self.js.publish(subject, data, headers=headers)

    async def close(self) -> None:
        self.closing = True
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.drain(), 2)
            with contextlib.suppress(Exception):
                await self.nc.close()
