"""Channels: how committed decisions leave airwarn for sirens (MQTT), other servers
(webhooks) and browsers (Web Push).

A channel is fed by the process that writes the log (the engine: `--role engine` or `all`),
once per committed step, in order. It never blocks that writer: `publish` hands the step to
the channel's own task and returns. After a restart or an engine failover `start` is called
again on the new writer, and the channel catches up from the store by itself (MQTT
republishes every zone's current level; webhooks and Web Push send what their delivery
tables say is still owed), so a lost process loses no warning, and receivers drop repeats by
decision `seq` or CAP identifier.

A channel may also bring HTTP endpoints (subscriptions, a replay endpoint) as `router`; those
are mounted on every process that serves HTTP (edges too), and read and write the shared
store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fastapi import APIRouter

    from airwarn.service import Published, Service


class Channel(Protocol):
    """What the app's lifespan needs of a channel. One that keeps a connection (MQTT) also
    says whether it has it now, as `connected`: the writing process is not ready without it
    (`airwarn.web.readiness`)."""

    name: str
    router: APIRouter | None

    async def start(self, service: Service) -> None:
        """Begin delivering (on the app's event loop), catching up from the store first."""

    def publish(self, published: Published) -> None:
        """One committed step, from the writer's thread; must return at once."""

    async def stop(self) -> None:
        """Stop delivering; what is owed stays owed (in the store) for the next writer."""
