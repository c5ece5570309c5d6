"""Webhooks: each committed step POSTed, HMAC-signed, to the subscribers whose zones it touches.

The writer's thread only drops the step in a queue (`publish`); the channel's own task turns it
into durable deliveries (`airwarn.channels.webhook_outbox`), and one sender per subscriber
posts them oldest first, retrying network errors, timeouts, 408, 429 and 5xx with exponential
backoff and jitter (honouring Retry-After) and giving up (the dead-letter list) after
`max_attempts` or at once on any other answer. A subscriber's deliveries leave in order: a
later one waits while an earlier one is retried. Everything owed is in the store, so a new
engine process picks up where the last one stopped. Subscriptions and the replay endpoint are
in `airwarn.channels.webhook_api`; receivers check signatures as docs/webhooks.md shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp
import sqlalchemy as sa

from airwarn.channels import targets
from airwarn.channels import webhook_store as store
from airwarn.channels.webhook_api import webhook_router
from airwarn.channels.webhook_outbox import Step, fill, step_of
from airwarn.channels.webhook_signature import HEADER, signature_header
from airwarn.ports import WALL_CLOCK

if TYPE_CHECKING:
    from fastapi import APIRouter

    from airwarn.service import Published, Service

log = logging.getLogger(__name__)
USER_AGENT = "airwarn-webhooks/1"
IDLE_S = 60.0  # a sender with nothing to send looks again this often, unless woken
MAX_SENDING = 100  # requests under way at once, over all subscribers
MAX_QUEUED_STEPS = 10_000  # beyond this the oldest are dropped: the log has them (see fill)


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    delivered: bool
    retry: bool  # worth another attempt (network, timeout, 408, 429, 5xx)
    error: str | None = None
    retry_after_s: float | None = None


def judge(status: int, retry_after: str | None) -> Outcome:
    """What a receiver's HTTP status means for the delivery."""
    if 200 <= status < 300:
        return Outcome(True, False)
    if status in (408, 429) or status >= 500:
        return Outcome(False, True, f"HTTP {status}", parse_retry_after(retry_after))
    # anything else (a 404, a 401 from a receiver with another secret, a redirect) will not
    # change by asking again: the dead-letter list shows it, and a replay sends it once fixed
    return Outcome(
        False,
        False,
        f"HTTP {status}: the receiver refused it; fix the receiver "
        "or the subscription's url, then replay the dead letters",
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_s(
    attempts: int,
    base_s: float,
    cap_s: float,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """The wait after the `attempts`-th failed attempt: base·2^(n-1), capped, with jitter (a
    random half of it, so that receivers coming back are not hit by every sender at once),
    never less than the receiver's Retry-After, and never more than the cap."""
    full = min(cap_s, base_s * 2 ** min(attempts - 1, 60))
    wait = full * (0.5 + 0.5 * (rng or random).random())
    if retry_after_s is not None:
        wait = max(wait, retry_after_s)
    return min(wait, cap_s)


class WebhookChannel:
    """The webhook channel (see `airwarn.channels.Channel`)."""

    name = "webhooks"

    def __init__(
        self,
        *,
        timeout_s: float = 5.0,
        max_attempts: int = 8,
        backoff_s: float = 1.0,
        max_backoff_s: float = 300.0,
        poll_s: float = 1.0,
        allow_private_targets: bool = False,
    ) -> None:
        # poll_s: how often an idle channel looks at the store for what other processes did
        # (a subscription or a replay asked of an edge server) and for steps it was not told of
        # allow_private_targets: deliver to loopback and private addresses too (closed
        # networks; see airwarn.channels.targets)
        self.timeout_s = timeout_s
        self.allow_private_targets = allow_private_targets
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.poll_s = poll_s
        self.router: APIRouter | None = webhook_router(self.nudge, allow_private_targets)
        self._steps: deque[Published] = deque(maxlen=MAX_QUEUED_STEPS)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._senders: dict[int, tuple[asyncio.Task[None], asyncio.Event]] = {}
        self._db: sa.engine.Engine | None = None
        self._own_db = False
        self._stopping = False  # senders finish the attempt they are making, then return
        self._client: aiohttp.ClientSession | None = None
        self._sending = asyncio.Semaphore(MAX_SENDING)

    # -- the Channel protocol --------------------------------------------------------------

    async def start(self, service: Service) -> None:
        self._db = store.channel_engine(service.db)
        self._secrets = service.secrets
        self._own_db = self._db is not service.db
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        # the pool does not cap connections (waiting for one would count as a timeout against
        # the receiver); the semaphore caps how many requests are under way at once. It
        # connects only to addresses the target rule allows, checked after each DNS lookup.
        self._client = aiohttp.ClientSession(
            connector=targets.connector(self.allow_private_targets, limit=0),
            headers={"User-Agent": USER_AGENT},
            timeout=aiohttp.ClientTimeout(total=self.timeout_s),
        )
        self._sending = asyncio.Semaphore(MAX_SENDING)
        # catch up first: steps committed while no channel listened (a crash between a commit
        # and the outbox, a failover) are queued before anything new
        subscribers, fresh = await self._fill(to_log_end=True)
        self._sync_senders(subscribers, fresh)
        self._task = asyncio.create_task(self._run(), name="webhooks")

    def publish(self, published: Published) -> None:
        if not published.decisions or self._loop is None:
            return
        # deque appends are atomic; when full the oldest fall off, and the gap they leave is
        # read back from the log. Reading the step is left to the channel's own task.
        self._steps.append(published)
        with contextlib.suppress(RuntimeError):  # the loop is closing: the log has the step
            self._loop.call_soon_threadsafe(self._set_wake)

    async def stop(self) -> None:
        # the outbox first (a write in progress commits or not, whole); then let each sender
        # finish the attempt it is making and record it, so a receiver that has answered is
        # not sent the same delivery again by the next process (it would drop it, by its id)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._stopping = True
        senders = [task for task, _ in self._senders.values()]
        for _, wake in self._senders.values():
            wake.set()
        if senders:
            _, late = await asyncio.wait(senders, timeout=self.timeout_s + 2)
            for task in late:
                task.cancel()
            await asyncio.gather(*senders, return_exceptions=True)
        self._senders.clear()
        self._stopping = False
        if self._client is not None:
            await self._client.close()
        if self._db is not None and self._own_db:
            self._db.dispose()
        self._loop = None

    def nudge(self) -> None:
        """Look at the store now (a subscription or replay was just made), from any thread."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._set_wake)

    # -- the outbox ------------------------------------------------------------------------

    def _set_wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _fill(
        self, *, to_log_end: bool, steps: list[Step] | None = None
    ) -> tuple[list[store.Subscriber] | None, set[int]]:
        assert self._db is not None
        try:
            subscribers, fresh, more = await asyncio.to_thread(
                fill, self._db, steps or [], _now_ms(), to_log_end=to_log_end
            )
        except sa.exc.SQLAlchemyError as exc:
            # nothing was queued and no watermark moved: the next look reads it from the log
            log.warning(
                "webhooks: the outbox could not be written (%s); retrying from the log",
                exc.__class__.__name__,
            )
            return None, set()
        if more:
            self._set_wake()
        return subscribers, fresh

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            # not asyncio.wait_for: on 3.11 it can swallow a cancel that comes as the event is
            # set, and stop() would wait for this loop for ever
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_s):
                    await self._wake.wait()
            self._wake.clear()
            steps = []
            while self._steps:
                published = self._steps.popleft()
                step = step_of(published.decisions, published.messages)
                if step is not None:
                    steps.append(step)
            # told of nothing: look at the end of the log (what another process or a lost
            # notification left); told of steps: queue exactly those, filling any gap
            try:
                subscribers, fresh = await self._fill(to_log_end=not steps, steps=steps)
            except Exception:  # a bug must not stop every webhook: the log keeps what is owed
                log.exception("webhooks: the outbox failed; retrying from the log")
                await asyncio.sleep(self.poll_s)
                continue
            self._sync_senders(subscribers, fresh)

    def _sync_senders(self, subscribers: list[store.Subscriber] | None, fresh: set[int]) -> None:
        """One sender per active subscriber; wake those with new deliveries."""
        if subscribers is None:
            return
        active = {sub.id for sub in subscribers}
        for sub_id in list(self._senders):
            if sub_id not in active:
                task, _ = self._senders.pop(sub_id)
                task.cancel()
        for sub_id in active:
            if sub_id not in self._senders or self._senders[sub_id][0].done():
                wake = asyncio.Event()
                task = asyncio.create_task(self._send_all(sub_id, wake), name=f"webhooks-{sub_id}")
                self._senders[sub_id] = (task, wake)
            if sub_id in fresh:
                self._senders[sub_id][1].set()

    # -- sending ---------------------------------------------------------------------------

    async def _send_all(self, sub_id: int, wake: asyncio.Event) -> None:
        """Send a subscriber's deliveries, oldest first, until it is deleted."""
        assert self._db is not None
        while not self._stopping:
            try:
                batch = await asyncio.to_thread(store.pending, self._db, sub_id, self._secrets)
            except sa.exc.SQLAlchemyError as exc:
                log.warning("webhooks: cannot read the outbox (%s)", exc.__class__.__name__)
                await _wait(wake, self.poll_s)
                continue
            if not batch:
                await _wait(wake, IDLE_S)  # woken when something is queued for it
                continue
            if not batch[0].active:
                return  # unsubscribed: what was pending stays in the store, unsent
            for due in batch:
                if self._stopping:
                    return
                wait_s = (due.next_ms - _now_ms()) / 1000
                if wait_s > 0:
                    await _wait(wake, wait_s)
                    break  # look again: a replay or a new delivery may have come meanwhile
                try:
                    async with self._sending:
                        outcome = await self._attempt(sub_id, due)
                except Exception as exc:  # not the receiver's doing: retried like a network
                    log.exception("webhooks: sending %s-%s failed", sub_id, due.key)
                    outcome = Outcome(False, True, f"{exc.__class__.__name__} in the sender")
                state = await self._record(due, outcome)
                if state == "pending":
                    break  # to be retried: the later ones wait their turn

    async def _attempt(self, sub_id: int, due: store.Due) -> Outcome:
        assert self._client is not None
        body = due.payload.encode()
        headers = {
            "Content-Type": "application/json",
            "Webhook-Id": f"{sub_id}-{due.key}",
            "Webhook-Attempt": str(due.attempts + 1),
            HEADER: signature_header(due.secret, body),
        }
        refused = targets.delivery_refusal(due.url, self.allow_private_targets)
        if refused is not None:
            return Outcome(False, False, refused)
        try:
            async with self._client.post(
                due.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                return judge(response.status, response.headers.get("Retry-After"))
        except TimeoutError:
            return Outcome(False, True, f"no answer within {self.timeout_s:g} s")
        except (aiohttp.InvalidURL, ValueError) as exc:
            return Outcome(False, False, f"the url cannot be used ({exc}); subscribe a good one")
        except (aiohttp.ClientError, OSError) as exc:
            why = targets.refused_cause(exc)
            if why is not None:  # its name now points inside: asking again will not help
                return Outcome(False, False, f"{why}: refused{targets.PRIVATE_HINT}"[:500])
            return Outcome(False, True, f"{exc.__class__.__name__}: {exc}"[:500])

    async def _record(self, due: store.Due, outcome: Outcome) -> str:
        """Store what the attempt came to; the delivery's state now."""
        assert self._db is not None
        attempts = due.attempts + 1
        now_ms = _now_ms()
        if outcome.delivered:
            state, next_ms, error, done = "delivered", now_ms, None, now_ms
        elif outcome.retry and attempts < self.max_attempts:
            wait_s = backoff_s(attempts, self.backoff_s, self.max_backoff_s, outcome.retry_after_s)
            state, next_ms, error, done = (
                "pending",
                now_ms + int(wait_s * 1000),
                outcome.error,
                None,
            )
        else:
            error = (
                outcome.error
                if not outcome.retry
                else (f"gave up after {attempts} attempts; the last: {outcome.error}")
            )
            state, next_ms, done = "dead", now_ms, now_ms
        while True:
            try:
                await asyncio.to_thread(
                    store.record_attempt,
                    self._db,
                    due.id,
                    state=state,
                    attempts=attempts,
                    next_ms=next_ms,
                    error=error,
                    done_ms=done,
                )
                return state
            except sa.exc.SQLAlchemyError as exc:
                # unrecorded, a delivered one would be sent again: keep trying to record it
                log.warning("webhooks: cannot record a delivery (%s)", exc.__class__.__name__)
                await asyncio.sleep(self.poll_s)


async def _wait(event: asyncio.Event, timeout_s: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()
    event.clear()


def _now_ms() -> int:
    return WALL_CLOCK.now_ms()
