"""Followers run beside the channels: started by the process that writes the log, stopped
with it.

`FollowChannel` has the shape of a channel (`airwarn.channels.Channel`) so that it lives
exactly where the writer lives: in the one process, or on a bus in the leading engine only
(a standby takes over following when it takes over the lease). It delivers nothing
(`publish` does nothing); its router (`/v1/relays`) is mounted on every process.

At start it writes `stopped` for every source the log knows that is no longer followed: its
relayed alerts are cleared, since nobody would ever clear them otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airwarn.contract import Source
from airwarn.engine.zones import ZoneSet
from airwarn.follow.fetch import client
from airwarn.follow.follower import Follower
from airwarn.follow.spec import FollowSpec
from airwarn.follow.wants import _time
from airwarn.ports import WALL_CLOCK

if TYPE_CHECKING:
    from fastapi import APIRouter

    from airwarn.service import Published, Service

log = logging.getLogger(__name__)


def make_feed(spec: FollowSpec, zones: ZoneSet, service: Service | None = None) -> Any:
    """The feed for a spec (errors that show at once, e.g. zones a source cannot reach)."""
    if spec.kind == "alerts.in.ua":
        from airwarn.follow.alertsinua import AlertsInUaFeed

        return AlertsInUaFeed(spec, zones)
    if spec.kind == "oref":
        from airwarn.follow.oref import OrefFeed

        return OrefFeed(spec, zones)
    if spec.kind == "cap":
        from airwarn.follow.capfeed import CapFeed

        return CapFeed(spec, zones, None if service is None else service.db)
    from airwarn.follow.stream import StreamFeed

    return StreamFeed(spec, zones)


class FollowChannel:
    """The followers of one process (see the module's docstring)."""

    name = "follow"

    def __init__(self, specs: Sequence[FollowSpec], zones: ZoneSet) -> None:
        from airwarn.follow.api import router

        self.specs = list(specs)
        names = [spec.name for spec in self.specs]
        duplicate = sorted({n for n in names if names.count(n) > 1})
        if duplicate:
            from airwarn.follow.spec import FollowError

            raise FollowError(f"--follow names {duplicate[0]} twice; follow each source once")
        for spec in self.specs:
            make_feed(spec, zones)  # a source this zone set cannot serve fails at start
        self.router: APIRouter | None = router
        self.followers: list[Follower] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._http: Any = None

    async def start(self, service: Service) -> None:
        from airwarn.follow.sink import ServiceSink

        sink = ServiceSink(service)
        await asyncio.to_thread(self._stop_unfollowed, service, sink)
        timeout = min([5.0, *(spec.stale_s / 3 for spec in self.specs)])
        self._http = client(timeout)
        self.followers = [
            Follower(spec, make_feed(spec, service.zones, service), sink) for spec in self.specs
        ]
        service.relay_health = {f.spec.name: f for f in self.followers}
        self._tasks = [
            asyncio.create_task(self._run(f), name=f"follow {f.spec.name}") for f in self.followers
        ]

    async def _run(self, follower: Follower) -> None:
        while True:
            try:
                await follower.run(self._http)
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not end the following for good
                log.exception("following %s failed; starting again in 5 s", follower.spec.name)
                await asyncio.sleep(5.0)

    def _stop_unfollowed(self, service: Service, sink: Any) -> None:
        followed = {spec.name for spec in self.specs}
        for name, status in service.engine.relays.states().items():
            if name not in followed and status.state != "stopped":
                sink.write(
                    name,
                    [
                        Source(
                            name=name,
                            state="stopped",
                            t=_time(WALL_CLOCK.now_ms()),
                            why="no longer followed (not in --follow)",
                        )
                    ],
                    WALL_CLOCK.now_ms(),
                )

    def publish(self, published: Published) -> None:
        """Followers deliver nothing."""

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._http is not None:
            await self._http.aclose()
            self._http = None
