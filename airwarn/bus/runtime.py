"""A process on the bus: following the log, competing for the lease, leading when it holds it.

`BusRuntime.start` runs in the app's lifespan. Every process follows the committed steps
(`airwarn.steps`, healed from the store when one is missed); an engine process also tries for
the lease and, while it holds it, is the one writer: it takes the write requests, ticks the
clock, feeds the channels and publishes what it commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig

from airwarn.answers import (
    ActionAnswer,
    Answer,
    CancelAnswer,
    InboundAnswer,
    IngestAnswer,
    Queued,
)
from airwarn.bus import BusSettings
from airwarn.bus.codec import decode_step, encode_step, error_answer, raise_error
from airwarn.bus.link import Link
from airwarn.bus.requests import execute
from airwarn.errors import AirwarnError, UnavailableError
from airwarn.service import Published, Service

if TYPE_CHECKING:
    from airwarn.channels import Channel
    from airwarn.ports import Writer

log = logging.getLogger(__name__)
LEADER_KEY = "engine"
# a request fetched by an engine that died goes to the next one after this; the engine says
# "still working" on what it holds every ACK_WAIT_S / 3, so a slow request is not sent twice
ACK_WAIT_S = 1.5


def key_ids(service: Service, channels: Sequence[Channel]) -> dict[str, str]:
    """Short fingerprints of the keys every process must share, as each reads its own --keys
    folder: the CAP certificate (each process signs a message when it is read, so a reader
    that fetched the certificate from one edge must verify what another serves) and the Web
    Push key (browsers subscribe with one process's, the engine sends with its own)."""
    ids = {"cap": hashlib.sha256(service.keys.cert_pem).hexdigest()[:16]}
    for channel in channels:
        push_key = getattr(channel, "key", None)  # airwarn.channels.webpush.PushChannel
        server_key = getattr(push_key, "application_server_key", None)
        if isinstance(server_key, str):
            ids["push"] = hashlib.sha256(server_key.encode()).hexdigest()[:16]
    return ids


KEY_FILES = {
    "cap": "CAP signing key (cap-signing-key.pem, cap-signing-cert.pem)",
    "push": "Web Push key (vapid_private.pem)",
}


def process_name(settings: BusSettings) -> str:
    name = settings.name or f"{socket.gethostname()}-{os.getpid()}"
    return re.sub(r"[^A-Za-z0-9_-]", "-", name)[:64]


class BusRuntime:
    """What a process does on the bus; `writer` is what its HTTP routes write through."""

    def __init__(
        self,
        service: Service,
        settings: BusSettings,
        channels: Sequence[Channel] = (),
        tick: Callable[[], Any] | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.channels = list(channels)
        self.tick = tick  # a coroutine function the leader runs (the wall clock), or None
        self.name = process_name(settings)
        self.link = Link(settings)
        self.leading = False
        self.led_since: float | None = None  # time.time() the lease was taken
        self.writer: Writer = RemoteWriter(self)  # the same port as Service, over the bus
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._duties: list[asyncio.Task[Any]] = []
        self._lease: asyncio.Task[None] | None = None
        self._applying: asyncio.Task[None] | None = None  # the request being applied
        self._outbox: asyncio.Queue[Published] = asyncio.Queue()
        self._last_beat = 0
        self._heard_at = time.monotonic()  # the leader's last beat, or this process's start
        self.key_ids = key_ids(service, channels)
        self._keys_apart: list[str] = []  # the keys the leader's beat says differ from ours
        self._feeding = False  # the channels were started (by leading) and not stopped since
        self.loop: asyncio.AbstractEventLoop | None = None

    # -- life -------------------------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self.link.connect()
        nc = self.link.nc
        assert nc is not None
        # listen first, then read the store: a step committed in between is seen either way
        await nc.subscribe(self.settings.subject("steps"), cb=self._on_step)
        await nc.subscribe(self.settings.subject("beat"), cb=self._on_beat)
        await nc.subscribe(self.settings.subject(f"answers.{self.name}.*"), cb=self._on_answer)
        self.link.on_reconnect.append(self._heal)
        await asyncio.to_thread(self.service.follow, Published([], []))
        self.service.listeners.append(self._committed)
        self._tasks.append(asyncio.create_task(self._publish_steps()))
        if self.settings.role == "engine":
            self._lease = asyncio.create_task(self._lease_loop())
            self._tasks.append(self._lease)

    async def resign(self) -> None:
        """The first step of a stop: compete no more, stop leading (the request being applied
        is finished and answered first) and delete the lease, so that a standby takes over
        at once rather than after the lease. Following goes on until `stop`."""
        if self._lease is not None:
            self._lease.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lease
            self._lease = None
        was_leading = self.leading
        await self._step_down(follow_on=False)
        await self._stop_channels()  # a step-down the cancel cut short left them running
        if was_leading and self.link.kv is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.link.kv.delete(LEADER_KEY), self.settings.lease_s)

    async def stop(self) -> None:
        await self.resign()
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(ValueError):
            self.service.listeners.remove(self._committed)
        await self.link.close()

    def status(self) -> dict[str, Any]:
        return {
            "role": self.settings.role,
            "name": self.name,
            "leading": self.leading,
            "led_since": self.led_since,
        }

    def following(self) -> bool:
        """Whether what this process holds is current: it leads, or it is connected and has
        heard a leader's beat within twice the lease (a takeover after a leader died takes
        about one lease: every edge is not dropped by its load balancer meanwhile, and a
        sensor's post is queued for the next leader, 202, rather than refused)."""
        nc = self.link.nc
        if nc is None or not nc.is_connected:
            return False
        return self.leading or time.monotonic() - self._heard_at <= 2 * self.settings.lease_s

    def problems(self) -> list[str]:
        """What keeps this process from doing its part on the bus now, as sentences
        (`airwarn.web.readiness`): no connection to NATS, or, not leading, no beat of a leader
        for longer than the lease (every follower heals from the store, but what it serves
        may be stale until a leader is heard again)."""
        nc = self.link.nc
        if nc is None or not nc.is_connected:
            # the URL is in the log (`Link`), not in a public answer
            return ["bus: not connected to NATS"]
        if self.leading:
            return []
        found = []
        silent_s = time.monotonic() - self._heard_at
        if not self.following():
            found.append(
                f"bus: no leader heard for {silent_s:.0f} s (more than twice the lease, "
                f"{self.settings.lease_s:g} s): what this process serves may be stale"
            )
        found.extend(
            f"keys: this process's {KEY_FILES[name]} is not the leader's: give every process "
            "a copy of the same --keys folder"
            for name in self._keys_apart
        )
        return found

    # -- following ------------------------------------------------------------------------

    async def _on_step(self, msg: Msg) -> None:
        if self.leading:
            return  # our own
        try:
            step = decode_step(msg.data)
            await asyncio.to_thread(self.service.follow, step)
        except AirwarnError as exc:
            log.warning("bus: could not follow a step (%s); healing from the store later", exc)

    async def _on_beat(self, msg: Msg) -> None:
        """The leader's place in the log: behind where it was a beat ago means a step was
        missed (a reconnect, a full buffer): read it from the store."""
        self._heard_at = time.monotonic()
        with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
            beat = json.loads(msg.data)
            if not self.leading:
                self._compare_keys(beat.get("keys") or {}, str(beat.get("leader")))
            seq = int(beat["event_seq"])
            if not self.leading and self.service.event_seq < self._last_beat:
                await self._heal()
            self._last_beat = seq

    def _compare_keys(self, theirs: dict[str, str], leader: str) -> None:
        """Which of the keys the leader's beat names this process has another of; said in
        the log when that changes (and by `problems` while it lasts)."""
        apart = sorted(k for k, v in theirs.items() if k in self.key_ids and self.key_ids[k] != v)
        if apart != self._keys_apart:
            for name in apart:
                log.error(
                    "keys: %s's %s (%s) is not this process's (%s): readers and browsers get "
                    "one or the other by the process they reach; give every process a copy of "
                    "the same --keys folder",
                    leader,
                    KEY_FILES[name],
                    theirs[name],
                    self.key_ids[name],
                )
            self._keys_apart = apart

    async def _heal(self) -> None:
        if not self.leading:
            with contextlib.suppress(AirwarnError):
                await asyncio.to_thread(self.service.follow, Published([], []))

    # -- leading --------------------------------------------------------------------------

    async def _lease_loop(self) -> None:
        kv = self.link.kv
        assert kv is not None
        me = self.name.encode()
        revision: int | None = None
        renewed = 0.0
        while True:
            try:
                if revision is None:
                    with contextlib.suppress(nats.js.errors.KeyWrongLastSequenceError):
                        revision = await kv.create(LEADER_KEY, me)
                        renewed = time.monotonic()
                        await self._become_leader()
                else:
                    revision = await kv.update(LEADER_KEY, me, last=revision)
                    renewed = time.monotonic()
                    await self._beat()
            except (
                nats.js.errors.KeyWrongLastSequenceError,
                nats.js.errors.KeyNotFoundError,
                nats.js.errors.KeyDeletedError,
            ):
                revision = None
                await self._step_down()
            except (TimeoutError, nats.errors.Error, OSError) as exc:
                # cannot tell whether we still hold it; past the lease, assume not
                log.warning("bus: lease check failed (%s)", exc.__class__.__name__)
                if self.leading and time.monotonic() - renewed > self.settings.lease_s:
                    revision = None
                    await self._step_down()
            # renew often: a leader on a loaded machine may be late by seconds, and the
            # lease must not lapse under it (a standby polls; a beat is sent each renewal)
            await asyncio.sleep(self.settings.lease_s / 6 if self.leading else 0.2)

    async def _become_leader(self) -> None:
        # what the last leader committed but did not publish: read it, tell our listeners,
        # then tell every follower to do the same
        await asyncio.to_thread(self.service.follow, Published([], []))
        self.leading = True
        self.led_since = time.time()
        self._keys_apart = []  # its keys are the leader's now: the others compare with them
        log.warning("bus: %s leads from event %d", self.name, self.service.event_seq)
        with contextlib.suppress(Exception):
            await self.link.publish(
                self.settings.subject("steps"),
                encode_step(Published([], [])),
                {"Nats-Msg-Id": f"lead-{uuid.uuid4().hex}"},
            )
        self._feeding = True
        for channel in self.channels:
            await channel.start(self.service)
            self.service.listeners.append(channel.publish)
        self._duties.append(asyncio.create_task(self._take_requests()))
        if self.tick is not None:
            self._duties.append(asyncio.create_task(self.tick()))
        await self._beat()

    async def _step_down(self, *, follow_on: bool = True) -> None:
        if not self.leading:
            return
        self.leading = False
        self.led_since = None
        log.warning("bus: %s no longer leads", self.name)
        for task in self._duties:
            task.cancel()
        self._duties.clear()
        applying = self._applying
        if applying is not None and not applying.done():
            # a request half applied when the lease went: let it commit and be answered, so
            # that the next leader reads it from the store rather than racing it
            await asyncio.wait([applying], timeout=self.settings.lease_s)
            if applying.done() and not applying.cancelled() and applying.exception():
                log.warning("bus: the last request failed (%s)", applying.exception())
        await self._stop_channels()
        # a leader's engine may have moved its clock without logging it (a quiet tick): as a
        # follower it must hold exactly what the log says, as the new leader does
        if follow_on:
            with contextlib.suppress(AirwarnError):
                await asyncio.to_thread(self.service.reset)

    async def _stop_channels(self) -> None:
        """Stop feeding the channels, once: from a step-down, or from a stop that cut one
        short (a lease loop cancelled while it stepped down)."""
        if not self._feeding:
            return
        self._feeding = False
        for channel in self.channels:
            with contextlib.suppress(ValueError):
                self.service.listeners.remove(channel.publish)
            await channel.stop()

    async def _beat(self) -> None:
        nc = self.link.nc
        if nc is not None and nc.is_connected:
            await nc.publish(
                self.settings.subject("beat"),
                json.dumps(
                    {
                        "leader": self.name,
                        "event_seq": self.service.event_seq,
                        "keys": self.key_ids,
                    }
                ).encode(),
            )

    def _committed(self, published: Published) -> None:
        """A step this process committed (from the writer's thread): queue it for the bus."""
        if self.leading and published.events and self.loop is not None:
            self.loop.call_soon_threadsafe(self._outbox.put_nowait, published)

    async def _publish_steps(self) -> None:
        """Committed steps to the bus, in order; retried until stored (the id makes a
        retry harmless)."""
        while True:
            step = await self._outbox.get()
            data = encode_step(step)
            headers = {"Nats-Msg-Id": f"step-{step.events[-1][0]}"}
            while True:
                try:
                    await self.link.publish(self.settings.subject("steps"), data, headers)
                    break
                except (TimeoutError, nats.errors.Error, OSError):
                    await asyncio.sleep(0.25)

    async def _take_requests(self) -> None:
        js = self.link.js
        assert js is not None
        config = ConsumerConfig(ack_wait=ACK_WAIT_S, max_deliver=-1, max_ack_pending=256)
        while True:
            sub = None
            try:
                sub = await js.pull_subscribe(
                    self.settings.subject("requests"),
                    durable="engine",
                    stream=self.settings.requests_stream,
                    config=config,
                )
                while True:
                    try:
                        msgs = await sub.fetch(16, timeout=1)
                    except nats.errors.TimeoutError:
                        continue
                    keep = asyncio.create_task(_still_working(msgs))
                    begun = 0
                    try:
                        for msg in msgs:
                            # shielded: stepping down cancels this loop between requests,
                            # never in the middle of one (see `_step_down`)
                            self._applying = asyncio.create_task(self._handle(msg))
                            begun += 1
                            await asyncio.shield(self._applying)
                    finally:
                        applying = self._applying
                        if begun and applying is not None and not applying.done():
                            # cancelled while one is applied (`_step_down` waits for it):
                            # JetStream hears it is worked on until it is answered
                            applying.add_done_callback(_cancel_when_done(keep))
                        else:
                            keep.cancel()
                        for msg in msgs[begun:]:
                            # never begun: to the next leader at once, not after ACK_WAIT_S
                            with contextlib.suppress(Exception):
                                await msg.nak()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the bus went away: wait, then rebind
                log.warning(
                    "bus: taking requests failed (%s); retrying", str(exc) or type(exc).__name__
                )
                await asyncio.sleep(0.5)
            finally:
                if sub is not None:
                    # a pull subscription left behind holds what it was last sent, unread,
                    # and the connection's drain at a stop waits for that for ever
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()

    async def _handle(self, msg: Msg) -> None:
        reply = (msg.headers or {}).get("Airwarn-Reply")
        try:
            request = json.loads(msg.data)
        except ValueError:
            await msg.term()
            return
        answer = await asyncio.to_thread(execute, self.service, request)
        unavailable = answer.get("error", {}).get("type") == "UnavailableError"
        if unavailable and time.time() * 1000 > request.get("deadline_ms", 0):
            # the edge has already said "queued": keep it, and try again in a moment
            await msg.nak(delay=1.0)
            return
        nc = self.link.nc
        if reply and nc is not None:
            with contextlib.suppress(Exception):
                await nc.publish(reply, json.dumps(answer, default=str).encode())
        await msg.ack()

    # -- edges' writes --------------------------------------------------------------------

    async def _on_answer(self, msg: Msg) -> None:
        future = self._waiting.get(msg.subject.rpartition(".")[2])
        if future is not None and not future.done():
            future.set_result(json.loads(msg.data))

    async def request(self, request: dict[str, Any]) -> dict[str, Any] | Queued:
        """Send a write to the leading engine and wait for its answer; `Queued` when the bus
        took it but no engine answered in time."""
        assert self.loop is not None
        timeout = self.settings.answer_timeout_s
        request_id = uuid.uuid4().hex
        request["deadline_ms"] = int((time.time() + max(timeout - 1.5, timeout / 2)) * 1000)
        reply = self.settings.subject(f"answers.{self.name}.{request_id}")
        future: asyncio.Future[dict[str, Any]] = self.loop.create_future()
        self._waiting[request_id] = future
        try:
            try:
                await self.link.publish(
                    self.settings.subject("requests"),
                    json.dumps(request).encode(),
                    {"Nats-Msg-Id": request_id, "Airwarn-Reply": reply},
                )
            except (TimeoutError, nats.errors.Error, OSError) as exc:
                raise UnavailableError(
                    f"the bus did not take the request ({exc.__class__.__name__}); nothing "
                    "was accepted: retry"
                ) from None
            try:
                answer = await asyncio.wait_for(future, timeout)
            except TimeoutError:
                return Queued.waited(request_id, timeout)
        finally:
            self._waiting.pop(request_id, None)
        if "error" in answer:
            raise_error(answer)
        return answer["ok"]


def _cancel_when_done(task: asyncio.Task[Any]) -> Callable[[asyncio.Task[None]], None]:
    """A done-callback that cancels `task` (the "still working" of a batch) when the request
    applied last is answered."""

    def cancel(_done: asyncio.Task[None]) -> None:
        task.cancel()

    return cancel


async def _still_working(msgs: list[Msg]) -> None:
    """Tell JetStream, while requests are held, that their engine is alive."""
    while True:
        await asyncio.sleep(ACK_WAIT_S / 3)
        for msg in msgs:
            if not msg.is_acked:
                with contextlib.suppress(Exception):
                    await msg.in_progress()


AnswerT = TypeVar("AnswerT", bound=Answer)


def _typed(kind: type[AnswerT], answer: dict[str, Any] | Queued) -> AnswerT | Queued:
    """The leader's answer as the struct it was sent as (or the bus's `Queued`)."""
    return answer if isinstance(answer, Queued) else kind.model_validate(answer)


def _who(client: Any) -> list[str]:
    return [client.name, client.role]


class RemoteWriter:
    """The write side of `Service`, over the bus: the same calls, answered by the leader."""

    def __init__(self, runtime: BusRuntime) -> None:
        self.runtime = runtime

    def _call(self, request: dict[str, Any]) -> dict[str, Any] | Queued:
        loop = self.runtime.loop
        if loop is None:
            raise UnavailableError("this process has not joined the bus yet; retry")
        return asyncio.run_coroutine_threadsafe(self.runtime.request(request), loop).result()

    def ingest(
        self,
        items: list[tuple[int, Any]],
        rejected: list[dict[str, Any]],
        *,
        client: Any,
        received_ms: int,
        batch_key: str | None = None,
        batch_digest: str | None = None,
    ) -> IngestAnswer | Queued:
        from airwarn.bus.codec import ingest_request

        key = batch_key if batch_key is not None else f"bus:{uuid.uuid4().hex}"
        answer = self._call(ingest_request(items, rejected, client, received_ms, key, batch_digest))
        if batch_key is None and not isinstance(answer, Queued):
            answer.pop("replayed", None)
        return _typed(IngestAnswer, answer)

    def propose(
        self, request: dict[str, Any], client: Any, received_ms: int
    ) -> ActionAnswer | Queued:
        return _typed(
            ActionAnswer,
            self._call(
                {
                    "op": "propose",
                    "request": request,
                    "client": _who(client),
                    "received_ms": received_ms,
                }
            ),
        )

    def confirm(
        self, action_id: str, client: Any, received_ms: int, confirm_blast_radius: bool
    ) -> ActionAnswer | Queued:
        return _typed(
            ActionAnswer,
            self._call(
                {
                    "op": "confirm",
                    "action_id": action_id,
                    "client": _who(client),
                    "received_ms": received_ms,
                    "blast": confirm_blast_radius,
                }
            ),
        )

    def cancel(
        self, identifier: str, reason: str, client: Any, received_ms: int
    ) -> CancelAnswer | Queued:
        return _typed(
            CancelAnswer,
            self._call(
                {
                    "op": "cancel",
                    "identifier": identifier,
                    "reason": reason,
                    "client": _who(client),
                    "received_ms": received_ms,
                }
            ),
        )

    def inbound(
        self, alert: Any, body: bytes, client: Any, received_ms: int
    ) -> InboundAnswer | Queued:
        from airwarn.bus.codec import blob

        return _typed(
            InboundAnswer,
            self._call(
                {
                    "op": "inbound",
                    "body": blob(body),
                    "client": _who(client),
                    "received_ms": received_ms,
                }
            ),
        )

    def decide_inbound(
        self,
        inbound_id: int,
        decision: str,
        client: Any,
        received_ms: int,
        reason: str,
        confirm_blast_radius: bool = False,
    ) -> InboundAnswer | Queued:
        return _typed(
            InboundAnswer,
            self._call(
                {
                    "op": "inbound_decide",
                    "inbound_id": inbound_id,
                    "decision": decision,
                    "reason": reason,
                    "client": _who(client),
                    "received_ms": received_ms,
                    "blast": confirm_blast_radius,
                }
            ),
        )

    def relay_override(
        self,
        source: str,
        action: str,
        zones: list[str] | None,
        reason: str,
        client: Any,
        received_ms: int,
    ) -> dict[str, Any] | Queued:
        return self._call(
            {
                "op": "relay_override",
                "source": source,
                "action": action,
                "zones": zones,
                "reason": reason,
                "client": _who(client),
                "received_ms": received_ms,
            }
        )


__all__ = ["BusRuntime", "RemoteWriter", "error_answer"]
