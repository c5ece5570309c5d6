"""The app under uvicorn, with a stop that no client can hold open.

uvicorn's own stop closes the port, then waits for every connection to end before the app's
lifespan is told to stop; a live feed never ends by itself, so one SSE or WebSocket client
kept a stopping process alive, and a stopping engine kept leading, until that client left.
Here a stop (SIGTERM, SIGINT) first closes the port and calls the app's `wind_down` (the
engine hands its lease over, every live feed is ended), then lets uvicorn wait at most
`GRACE_S` for the connections left before it cuts them.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

import uvicorn

if TYPE_CHECKING:
    from fastapi import FastAPI

GRACE_S = 3  # seconds: what a stop waits for requests in flight, after the live feeds are ended


class Runner(uvicorn.Server):
    """`uvicorn.Server` that says it serves only once it does, and winds the app down first
    when it stops. Give its Config `timeout_graceful_shutdown=GRACE_S` (`config`)."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            self.on_started()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # no new clients while the lease is handed over
        state = getattr(self.config.app, "state", None)
        wind_down = getattr(state, "wind_down", None)  # set by the app's lifespan
        try:
            if wind_down is not None:
                await wind_down()
                await asyncio.sleep(0.1)  # the ended feeds' last writes (WebSocket: close 1001)
        finally:  # whatever winding down met, the connections are shut and the app stopped
            await super().shutdown(sockets)  # then 1012 to a WebSocket still open


def config(
    app: FastAPI, host: str, port: int, forwarded_allow_ips: str | None = None
) -> uvicorn.Config:
    """uvicorn's settings for the app: quiet below warnings, a bounded stop, and the proxies
    whose X-Forwarded-For names the client (None: uvicorn's default, 127.0.0.1, or the
    FORWARDED_ALLOW_IPS environment variable)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=GRACE_S,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
    )
