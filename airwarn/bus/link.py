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
from airwarn.urls import shown

log = logging.getLogger(__name__)
# the first connection is given this long; once made, it is remade for ever
FIRST_CONNECT_S = 5.0


def unreachable(url: str, why: str) -> UnavailableError:
    return UnavailableError(
        f"--bus {shown(url)}: cannot reach NATS there ({why}): start nats-server with JetStream "
        "(nats-server -js), or check the URL and port"
    )


async def reach(url: str, timeout_s: float = FIRST_CONNECT_S) -> None:
    """Connect to NATS once and leave, within `timeout_s`; UnavailableError naming --bus if
    it cannot be reached (a start-up check, before anything is built)."""
    errors: list[Exception] = []

    async def error(exc: Exception) -> None:  # nats would log a traceback for each try
        errors.append(exc)

    nc = NatsClient()
    try:
        await asyncio.wait_for(
            nc.connect(
                servers=[url],
                allow_reconnect=False,
                max_reconnect_attempts=1,  # with allow_reconnect off: one try
                reconnect_time_wait=0.25,  # type: ignore[arg-type]  # a float works; typed int
                connect_timeout=max(1, int(timeout_s)),
                error_cb=error,
            ),
            timeout_s,
        )
    except Exception as exc:  # noqa: BLE001 - nats raises many kinds; all mean "not there"
        raise unreachable(url, _why(errors[-1] if errors else exc, timeout_s)) from None
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


def _why(exc: BaseException, timeout_s: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer in {timeout_s:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: nothing listens on that port"
    reason = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
    return str(reason).lower()


class Link:
    """One NATS connection, with JetStream and the lease bucket. The first connection is
    bounded (`FIRST_CONNECT_S`: a process started where NATS is not must say so and stop, not
    wait unseen); once made, it is remade for ever."""

    def __init__(self, settings: BusSettings) -> None:
        self.settings = settings
        self.nc: NatsClient | None = None
        self.js: JetStreamContext | None = None
        self.kv: KeyValue | None = None
        self.on_reconnect: list[Callable[[], Awaitable[None]]] = []
        self.closing = False  # a planned stop: its disconnection is no loss

    async def connect(self) -> None:
        async def reconnected() -> None:
            log.warning("bus: reconnected to %s", self.settings.shown_url)
            for callback in self.on_reconnect:
                with contextlib.suppress(Exception):
                    await callback()

        async def disconnected() -> None:
            if self.closing:
                log.info("bus: stopped; disconnected from %s", self.settings.shown_url)
            else:
                log.warning("bus: lost %s; reconnecting", self.settings.shown_url)

        async def error(exc: Exception) -> None:
            log.debug("bus: %s", exc)

        nc = NatsClient()
        try:
            await asyncio.wait_for(
                nc.connect(
                    servers=[self.settings.url],
                    name=self.settings.name or None,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.25,  # type: ignore[arg-type]  # a float works
                    connect_timeout=3,
                    ping_interval=2,
                    max_outstanding_pings=2,
                    allow_reconnect=True,
                    reconnected_cb=reconnected,
                    disconnected_cb=disconnected,
                    error_cb=error,
                ),
                FIRST_CONNECT_S,
            )
        except Exception as exc:  # noqa: BLE001 - nats raises many kinds; all mean "not there"
            with contextlib.suppress(Exception):
                await nc.close()
            raise unreachable(self.settings.url, _why(exc, FIRST_CONNECT_S)) from None
        self.nc = nc
        self.js = nc.jetstream(timeout=5)
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
