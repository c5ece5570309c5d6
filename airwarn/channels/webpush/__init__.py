"""Web Push: warnings to browsers that subscribed to their zones, even with the page closed.

A browser subscribes with the server's VAPID key (`GET /v1/push/key`) and posts its
`PushSubscription` with the zones it wants, or a point (`POST /v1/push/subscriptions`). Each
committed decision for such a zone becomes an outbox row per subscriber in the store
(`outbox.py`); this channel's task sends what is owed (`delivery.py`), retries on 5xx, 429 and
network errors until the warning is `ttl_s` old, and deletes a subscription its push service
says is gone (404, 410). The outbox and its cursor are in the store, so a writer that takes
over after a failover sends what its predecessor still owed, and what it never queued.

Drills and tests go only to subscribers who asked for them (`drills: true`), marked as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import sqlalchemy as sa

from airwarn.channels import targets
from airwarn.channels.webpush import outbox
from airwarn.channels.webpush.api import PushLimits, router_for
from airwarn.channels.webpush.delivery import send
from airwarn.channels.webpush.outbox import Outcome, Owed
from airwarn.channels.webpush.vapid import load_or_create
from airwarn.errors import AirwarnError
from airwarn.ports import WALL_CLOCK

if TYPE_CHECKING:
    from airwarn.service import Published, Service

__all__ = ["PushChannel", "PushLimits"]

log = logging.getLogger(__name__)
POLL_S = 2.0  # a decision that no `publish` announced (a listener before us failed) waits this
BATCH = 1000  # owed rows read per round
KEEP_DONE_S = 24 * 3600  # sent, failed and expired rows are kept this long, then pruned


def _now_ms() -> int:
    return WALL_CLOCK.now_ms()


class PushChannel:
    """The Web Push channel (see the module's docstring); `keys_dir` holds the VAPID key.
    `limits` says which endpoints may subscribe and how many (`PushLimits`)."""

    name = "webpush"

    def __init__(
        self,
        keys_dir: Path,
        *,
        subject: str = "mailto:admin@localhost",
        ttl_s: int = 300,
        timeout_s: float = 5.0,
        retry_s: float = 1.0,
        concurrency: int = 64,
        limits: PushLimits | None = None,
    ) -> None:
        if ttl_s < 1 or timeout_s <= 0 or retry_s <= 0 or concurrency < 1:
            raise AirwarnError(
                f"Web Push needs ttl_s >= 1 (got {ttl_s}), timeout_s > 0 (got "
                f"{timeout_s}), retry_s > 0 (got {retry_s}) and concurrency "
                f">= 1 (got {concurrency})"
            )
        if not subject.startswith(("mailto:", "https://")):
            raise AirwarnError(
                f"the VAPID subject must be a mailto: or https: URL where the "
                f"push services can reach the operator (got {subject!r})"
            )
        self.key = load_or_create(Path(keys_dir), subject)
        self.ttl_s, self.timeout_s, self.retry_s = ttl_s, timeout_s, retry_s
        self.concurrency = concurrency
        self.limits = limits or PushLimits()
        self.router = router_for(self.key, self.limits)
        self._service: Service | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None
        self._busy: set[int] = set()  # subscriptions with sends in flight or not yet recorded
        self._done: list[tuple[int, list[Outcome]]] = []  # finished, not yet recorded
        self._senders: set[asyncio.Task[None]] = set()
        self._pruned_ms = 0
        self._stopping = False

    # -- the Channel protocol ----------------------------------------------------------------

    async def start(self, service: Service) -> None:
        """Begin sending: first what the store says is owed, and every decision after the
        outbox's cursor (the catch-up after a restart or a failover)."""
        if self._task is not None and not self._task.done():
            # a second lifespan of the same app (a test harness may run one per client):
            # one sender per channel is enough, and two would send everything twice
            log.warning(
                "Web Push is already sending from another event loop; this one "
                "serves its HTTP endpoints only"
            )
            return
        self._service = service
        self._busy, self._done = set(), []  # a stopped run's unrecorded sends are resent
        self._stopping = False
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(self.concurrency)
        # connections only to addresses the target rule allows, checked after each lookup
        self._session = aiohttp.ClientSession(
            connector=targets.connector(self.limits.allow_private, limit=self.concurrency)
        )
        self._task = asyncio.create_task(self._run(), name="webpush")

    def publish(self, published: Published) -> None:
        """A committed step: wake the sender, which reads the decisions from the store."""
        loop, wake = self._loop, self._wake
        if published.decisions and loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: we are stopping
                loop.call_soon_threadsafe(wake.set)

    async def stop(self) -> None:
        """Stop sending; what is owed stays in the store for the next writer."""
        if self._loop is not asyncio.get_running_loop():
            return  # not the lifespan that started the sender
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for sender in list(self._senders):
            sender.cancel()
        await asyncio.gather(*self._senders, return_exceptions=True)
        with contextlib.suppress(Exception):  # best effort: unrecorded sends are resent
            await self._record()
        if self._session is not None:
            await self._session.close()
        self._task = self._session = self._loop = self._wake = None

    # -- the sender ----------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None and self._service is not None
        first = True
        while not self._stopping:
            self._wake.clear()
            try:
                if first:
                    await asyncio.to_thread(outbox.owed_now, self._service.db)
                    first = False
                wait_s = await self._round()
            except asyncio.CancelledError:
                raise
            except sa.exc.SQLAlchemyError as exc:  # the store went away: keep trying
                log.warning(
                    "Web Push: the store cannot be read just now (%s); trying again in a second",
                    exc.__class__.__name__,
                )
                wait_s = 1.0
            except Exception:  # a bug: logged in full, and the sender goes on
                log.exception("Web Push: a round failed; trying again in a second")
                wait_s = 1.0
            # not asyncio.wait_for: on 3.11 it swallows a cancel that comes as the event is
            # set (a sender finishing as the app stops), and the loop would never end
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self._wake.wait()

    async def _round(self) -> float:
        """Queue new decisions, record finished sends, start due ones; how long to sleep."""
        assert self._service is not None
        db = self._service.db
        await asyncio.to_thread(outbox.queue_new, db, self._service.zones)
        await self._record()
        now_ms = _now_ms()
        await asyncio.to_thread(outbox.expire, db, now_ms, self.ttl_s)
        if len(self._busy) < 4 * self.concurrency:
            owed = await asyncio.to_thread(outbox.due, db, now_ms, BATCH, self._service.secrets)
            owed.sort(key=lambda o: (o.subscription_id, o.seq, o.id))
            for sub_id, group in groupby(owed, key=lambda o: o.subscription_id):
                if sub_id in self._busy:
                    continue
                self._busy.add(sub_id)
                task = asyncio.create_task(self._send_group(sub_id, list(group)))
                self._senders.add(task)
                task.add_done_callback(self._senders.discard)
        if now_ms - self._pruned_ms > 600_000:
            await asyncio.to_thread(outbox.prune, db, now_ms - KEEP_DONE_S * 1000)
            self._pruned_ms = now_ms
        next_ms = await asyncio.to_thread(outbox.next_due_ms, db)
        if next_ms is None or self._busy:
            return POLL_S  # a finishing sender wakes the loop
        return min(POLL_S, max(0.0, (next_ms - _now_ms()) / 1000))

    async def _send_group(self, sub_id: int, group: list[Owed]) -> None:
        """One subscriber's due pushes, in order; stop at the first that did not go."""
        assert self._slots is not None and self._session is not None and self._wake is not None
        outcomes: list[Outcome] = []
        try:
            async with self._slots:
                for owed in group:
                    try:
                        outcome = await send(
                            self._session,
                            owed,
                            self.key,
                            ttl_s=self.ttl_s,
                            timeout_s=self.timeout_s,
                            retry_s=self.retry_s,
                            now_ms=_now_ms(),
                            allow_private=self.limits.allow_private,
                        )
                    except Exception as exc:  # a bug: never let one row stall the outbox
                        log.exception("Web Push to subscription %s failed", sub_id)
                        outcome = Outcome(owed, "failed", error=repr(exc)[:300])
                    outcomes.append(outcome)
                    if outcome.kind in ("gone", "retry"):
                        break
                    if outcome.kind == "failed":
                        log.warning(
                            "Web Push to subscription %s refused for good: %s",
                            sub_id,
                            outcome.error,
                        )
        finally:
            self._done.append((sub_id, outcomes))
            self._wake.set()

    async def _record(self) -> None:
        """Write finished sends to the store; only then may their subscribers be sent to
        again (an owed row read before its outcome is written would be sent twice)."""
        if not self._done or self._service is None:
            return
        done, self._done = self._done, []
        try:
            await asyncio.to_thread(
                outbox.record,
                self._service.db,
                [o for _, outcomes in done for o in outcomes],
                _now_ms(),
            )
        except BaseException:
            self._done[:0] = done  # not written: try again next round
            raise
        self._busy.difference_update(sub_id for sub_id, _ in done)
