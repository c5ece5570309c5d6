"""One source followed: its feed's observations turned into relay events, and its health kept.

The follower asks its feed for observations and writes what changed (`wants.changes`) through
the sink (the service's one write path). It keeps the source's health as `source` events, each
written once per change:

- `starting` when it begins (a restarted server has not heard from the source yet; what the
  source last said stands meanwhile, marked as not current);
- `live` when the source answers (with a note, if some of its places lie in no zone here);
- `stale` when it has not answered for `stale_s` (a watchdog, also while a request hangs);
- `failed` when it answers in a way waiting will not fix (a refused token, a changed format).

A failing source is asked again with exponential backoff and jitter (`Retry-After` honoured):
from the polling interval doubling to a minute while it is in trouble, every 30 s to 5 minutes
while it has failed. Nothing here blocks the service: writes run in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

from airwarn.contract import Event, Source
from airwarn.engine.relay import Lane, SourceStatus
from airwarn.errors import AirwarnError
from airwarn.follow.feed import Feed, Observation
from airwarn.follow.fetch import Failed, Trouble
from airwarn.follow.spec import FollowSpec
from airwarn.follow.wants import _time, changes

log = logging.getLogger(__name__)
TROUBLE_MAX_S = 60.0
FAILED_S = (30.0, 300.0)


class Sink(Protocol):
    """Where a follower reads the lanes it relayed and writes what changed."""

    def lanes(self, source: str) -> dict[str, Lane]:
        """The source's lanes, by zone id."""

    def state(self, source: str) -> SourceStatus | None:
        """The source's health as last logged."""

    def write(self, source: str, events: list[Event], received_ms: int) -> None:
        """Apply and log the events (their times become the service's)."""


@dataclass
class Health:
    """What this process knows of the source beyond the log (for /v1/relays)."""

    polls: int = 0
    not_modified: int = 0
    errors: int = 0
    last_ok_ms: int | None = None
    last_error: str | None = None
    note: str | None = None


class Follower:
    """Follows one source until cancelled."""

    def __init__(
        self, spec: FollowSpec, feed: Feed, sink: Sink, clock: Callable[[], float] = time.time
    ) -> None:
        self.spec = spec
        self.feed = feed
        self.sink = sink
        self.clock = clock
        self.health = Health()
        self._last_ok_s = clock()  # the watchdog counts from the start
        self._failures = 0

    async def run(self, http: httpx.AsyncClient) -> None:
        await self._state("starting", None)
        iterator: AsyncIterator[Observation] | None = None
        try:
            while True:
                try:
                    if iterator is None:
                        iterator = self.feed.watch(http).__aiter__()
                    observation = await self._next(iterator)
                except Trouble as trouble:
                    await _closed(iterator)
                    iterator = None
                    self._failures += 1
                    self.health.errors += 1
                    self.health.last_error = trouble.message
                    delay = min(
                        TROUBLE_MAX_S,
                        max(self.spec.every_s, 0.25) * 2 ** min(self._failures - 1, 8),
                    )
                    delay *= 0.5 + random.random() / 2  # noqa: S311 (jitter, no secret)
                    if trouble.retry_after_s is not None:
                        delay = max(delay, trouble.retry_after_s)
                    log.warning(
                        "%s: %s; asking again in %.1f s", self.spec.name, trouble.message, delay
                    )
                    await self._wait(delay)
                    continue
                except Failed as failed:
                    await _closed(iterator)
                    iterator = None
                    self._failures += 1
                    self.health.errors += 1
                    self.health.last_error = failed.message
                    log.error("%s: %s", self.spec.name, failed.message)
                    await self._state("failed", failed.message)
                    delay = min(FAILED_S[1], FAILED_S[0] * 2 ** min(self._failures - 1, 4))
                    await self._wait(delay * (0.5 + random.random() / 2))  # noqa: S311 (jitter)
                    continue
                await self._take(observation)
        finally:
            await _closed(iterator)

    async def _take(self, observation: Observation) -> None:
        now_s = self.clock()
        self._last_ok_s = now_s
        self._failures = 0
        self.health.polls += 1
        self.health.last_ok_ms = int(now_s * 1000)
        if observation.wants is None:  # the same as before, note and all
            self.health.not_modified += 1
        else:
            self.health.note = observation.note
            lanes = await asyncio.to_thread(self.sink.lanes, self.spec.name)
            events = changes(
                self.spec.name,
                observation.wants,
                lanes,
                int(now_s * 1000),
                clear_since_ms=observation.clear_since_ms,
            )
            if events:
                await self._write(list(events))
        await self._state("live", self.health.note)

    async def _next(self, iterator: AsyncIterator[Observation]) -> Observation:
        """The feed's next observation; meanwhile, the source turns stale at its time."""
        task = asyncio.ensure_future(iterator.__anext__())
        try:
            while True:
                left = self._last_ok_s + self.spec.stale_s - self.clock()
                done, _ = await asyncio.wait(
                    {task},
                    timeout=max(left, 0.0)
                    if left > 0
                    else None
                    if self._is("stale", "failed")
                    else 0.0,
                )
                if done:
                    try:
                        return task.result()
                    except StopAsyncIteration:
                        raise Trouble(f"{self.spec.name}: the feed ended") from None
                await self._stale()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _wait(self, seconds: float) -> None:
        """Sleep before asking again; the source turns stale meanwhile if its time comes."""
        end = self.clock() + seconds
        while (left := end - self.clock()) > 0:
            stale_in = self._last_ok_s + self.spec.stale_s - self.clock()
            if stale_in <= 0 and not self._is("stale", "failed"):
                await self._stale()
                continue
            await asyncio.sleep(min(left, stale_in) if stale_in > 0 else left)

    async def _stale(self) -> None:
        if self._is("stale", "failed"):
            return
        silent = self.clock() - self._last_ok_s
        why = f"no answer for {silent:.0f} s"
        if self.health.last_error:
            why += f": {self.health.last_error}"
        await self._state("stale", why)

    def _is(self, *states: str) -> bool:
        known = self.sink.state(self.spec.name)
        return known is not None and known.state in states

    async def _state(self, state: str, why: str | None) -> None:
        known = self.sink.state(self.spec.name)
        if known is not None and (known.state, known.why, known.url) == (state, why, self.spec.url):
            return
        event = Source(
            name=self.spec.name,
            state=state,  # type: ignore[arg-type]
            t=_time(int(self.clock() * 1000)),
            why=None if why is None else why[:500],
            url=self.spec.url[:500],
        )
        if state != "live":
            log.warning("%s is %s%s", self.spec.name, state, f": {why}" if why else "")
        await self._write([event])

    async def _write(self, events: list[Event]) -> None:
        try:
            await asyncio.to_thread(
                self.sink.write, self.spec.name, events, int(self.clock() * 1000)
            )
        except AirwarnError as error:  # the store is away: the next answer writes it again
            log.error(
                "%s: cannot write what the source said (%s); will try again", self.spec.name, error
            )


async def _closed(iterator: AsyncIterator[Observation] | None) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()
