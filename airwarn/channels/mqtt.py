"""MQTT for sirens and displays: one retained topic per zone holding its current level.

A siren subscribes to its zone's topic and gets, at once and after every reconnect, the level
in force (the broker keeps the last message, `retain`), then every change, each at QoS 1 so a
flaky link delivers it rather than drops it. Drills and tests go to a topic of their own so
that no real siren sounds for them. `{prefix}/status` says whether the feed is alive: the
channel's last will sets it `offline` when the connection dies, and a heartbeat lets a siren
tell a stalled feed from a quiet sky. docs/mqtt.md is the receivers' side of this.

Relayed feeds (`airwarn serve --follow`): a zone's topic holds the level in force there, the
highest of its own and of every relayed source's (this server's own first when they tie),
marked with `source` when a relayed feed holds it; each source's health is a retained topic
`{prefix}/sources/{name}`, and while one is not live (starting, stale, failed) the status says
`stale`, naming it, so that a siren never takes a silent source for a quiet sky.

The channel holds the state the broker should hold (topic -> payload), rebuilt at `start` from
the decision log (the newest decision per zone and lane) and kept current by the decisions
the writer hands over. After every (re)connect it reads what the broker retains and sends
only what differs, in decision order, then says `online`: so a broker that lost its retained
messages, an outage during which zones changed, or an earlier run that left zones alerted all
end in the same state as the log. Decisions are idempotent by `seq`; a gap in the numbers
(a decision committed before this channel listened) is filled from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiomqtt
import sqlalchemy as sa

from airwarn.contract import RelayedFrom, decode_decision, format_time
from airwarn.errors import AirwarnError
from airwarn.ports import WALL_CLOCK
from airwarn.store.log import cancelled
from airwarn.urls import shown

if TYPE_CHECKING:
    from fastapi import APIRouter

    from airwarn.service import Published, Service

log = logging.getLogger(__name__)

QOS = 1
BACKOFF_S = (0.25, 30.0)  # first and longest wait between connection attempts
SYNC_TIMEOUT_S = 10.0  # longest wait for the broker's retained messages after subscribing
STOP_TIMEOUT_S = 5.0
SEND_WINDOW = 100  # publishes awaited together (the client keeps their order)
_STOP = object()
# characters MQTT gives a meaning in topic names, kept out of a zone's topic level
_TOPIC_ESCAPES = {"%": "%25", "/": "%2F", "+": "%2B", "#": "%23", "\x00": "%00"}


@dataclass(frozen=True)
class Broker:
    """Where to connect, from an `mqtt://` or `mqtts://` URL."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool
    cafile: str | None


def parse_url(url: str) -> Broker:
    """`mqtt://[user:password@]host[:port]`, or `mqtts://` for TLS (port 8883, the system's
    trusted CAs unless `?cafile=/path/ca.pem` names the CA to trust)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise AirwarnError(
            f"MQTT URL {shown(url)!r}: the scheme must be mqtt:// or mqtts:// "
            "(for example mqtt://127.0.0.1:1883)"
        )
    if not parts.hostname:
        raise AirwarnError(f"MQTT URL {shown(url)!r} names no host; write mqtt://HOST[:PORT]")
    if parts.path not in ("", "/"):
        raise AirwarnError(
            f"MQTT URL {shown(url)!r} has a path ({parts.path}); the topic prefix is "
            "set apart (prefix=...), the URL only says where the broker is"
        )
    try:
        port = parts.port
    except ValueError:
        raise AirwarnError(
            f"MQTT URL {shown(url)!r}: the port is not a number from 1 to 65535"
        ) from None
    query = parse_qs(parts.query)
    unknown = sorted(set(query) - {"cafile"})
    if unknown:
        raise AirwarnError(
            f"MQTT URL {shown(url)!r}: unknown option {unknown[0]!r}; the only one is "
            "cafile (mqtts:// only)"
        )
    cafile = query["cafile"][-1] if "cafile" in query else None
    tls = parts.scheme == "mqtts"
    if cafile is not None and not tls:
        raise AirwarnError(f"MQTT URL {shown(url)!r}: cafile needs mqtts://")
    return Broker(
        host=parts.hostname,
        port=port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=tls,
        cafile=cafile,
    )


def zone_topic_level(zone: str) -> str:
    """A zone id as one topic level: `/`, `+`, `#`, `%` and NUL percent-encoded."""
    return "".join(_TOPIC_ESCAPES.get(c, c) for c in zone)


def zone_payload(decision_line: str | bytes) -> tuple[int, str, str, bytes]:
    """(seq, lane, zone, payload) for a Contract v1 decision line; the lane is `zones` for
    real levels and `drills` for exercises and tests."""
    seq, lane, zone, body = zone_body(decision_line)
    return seq, lane, zone, _compact(body)


def zone_body(decision_line: str | bytes) -> tuple[int, str, str, dict[str, Any]]:
    """(seq, lane, zone, body) for a decision line; a relayed decision's body names its
    source (`source`, and its official time `since` when it gives one)."""
    decision = decode_decision(decision_line)
    status = decision.status if isinstance(decision.status, str) else "actual"
    lane = "zones" if status == "actual" else "drills"
    body: dict[str, Any] = {
        "zone": decision.zone,
        "level": decision.level,
        "seq": decision.seq,
        "t": decision.t,
        "kind": decision.kind,
        "status": status,
        "threats": decision.threats,
    }
    if isinstance(decision.source, RelayedFrom):
        body["source"] = decision.source.name
        if decision.source.t is not None:
            body["since"] = decision.source.t
    return decision.seq, lane, decision.zone, body


_RANK = {"clear": 0, "pre_alert": 1, "alert": 2}


def in_force(lanes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The body a zone's topic holds, from its lanes (own: "", relayed: the source's name):
    the highest level, this server's own first on a tie; when all are clear, the newest."""
    if all(body["level"] == "clear" for body in lanes.values()):
        return max(lanes.values(), key=lambda body: body["seq"])
    return min(lanes.items(), key=lambda item: (-_RANK[item[1]["level"]], item[0]))[1]


def _compact(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _now() -> str:
    return format_time(WALL_CLOCK.now_ms())


class MqttChannel:
    """Zone levels to an MQTT broker: retained, QoS 1, with a last will and a heartbeat."""

    name = "mqtt"
    router: APIRouter | None = None

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "airwarn",
        client_id: str | None = None,
        heartbeat_s: float = 5.0,
        keepalive_s: int = 10,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.broker = parse_url(url)  # a bad URL fails at startup, not on the first alert
        prefix = prefix.strip("/")
        if not prefix or any(c in prefix for c in "+#\x00"):
            raise AirwarnError(
                f"MQTT prefix {prefix!r}: give a topic such as airwarn or "
                "site/airwarn, without + or #"
            )
        if heartbeat_s <= 0 or keepalive_s < 1:
            raise AirwarnError("MQTT heartbeat_s and keepalive_s must be positive")
        self.prefix = prefix
        self.client_id = client_id or f"airwarn-{uuid.uuid4().hex[:12]}"
        self.heartbeat_s = heartbeat_s
        self.keepalive_s = keepalive_s
        if tls_context is None and self.broker.tls:
            try:
                tls_context = ssl.create_default_context(cafile=self.broker.cafile)
            except (OSError, ssl.SSLError) as exc:
                raise AirwarnError(
                    f"MQTT cafile {self.broker.cafile!r} cannot be used "
                    f"({exc}); give the broker's CA certificate as a PEM file"
                ) from None
        self._tls_context = tls_context
        self.status_topic = f"{prefix}/status"
        self.heartbeat_topic = f"{prefix}/heartbeat"
        # what the broker should retain, topic -> (decision seq, payload)
        self._state: dict[str, tuple[int, bytes]] = {}
        # a zone topic's lanes, topic -> {"" (its own) or a relayed source's name: body}; a
        # drills topic's, topic -> {"exercise" or "test": body} (a zone may be under both)
        self._lanes: dict[str, dict[str, dict[str, Any]]] = {}
        self.sources: dict[str, dict[str, Any]] = {}  # relayed sources' health, by name
        self.last_seq: int | None = None  # None until the log has been read
        self.connected = False
        self.last_sync: dict[str, int] = {}  # what the last (re)connect found and sent
        self._service: Service | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: asyncio.Queue[Any] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._online = b""
        # decision seq -> the CAP message its clear cancels, for decisions not yet taken
        self._cancels: dict[int, str] = {}

    # -- the Channel protocol -----------------------------------------------------------

    async def start(self, service: Service) -> None:
        """Begin in the background: read the log, connect, catch the broker up; never wait
        for the broker, so a broker that is down does not hold up the service."""
        self._service = service
        self._loop = asyncio.get_running_loop()
        self._inbox = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="airwarn-mqtt")

    def publish(self, published: Published) -> None:
        """From the writer's thread: hand the step's decisions over and return."""
        loop = self._loop
        if loop is None:
            return
        items: list[Any] = []
        if any(body.startswith('{"type":"source"') for _, body in published.events):
            items.append(_Sources(self._source_states()))  # the writer holds the engine
        if published.decisions:
            items.append(list(published.decisions))
        cancels = step_cancellations(published.decisions, published.messages)
        with contextlib.suppress(RuntimeError):  # the loop is closed: the next start catches up
            if cancels:  # before the decisions they mark (the loop keeps the order)
                loop.call_soon_threadsafe(self._cancels.update, cancels)
            for item in items:
                loop.call_soon_threadsafe(self._inbox.put_nowait, item)

    async def stop(self) -> None:
        """Say `offline` (retained) and disconnect cleanly, so no last will is sent."""
        task, self._task = self._task, None
        if task is None:
            return
        self._inbox.put_nowait(_STOP)
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_TIMEOUT_S)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task
        self._loop = None

    # -- the channel's task -------------------------------------------------------------

    async def _run(self) -> None:
        """The channel's life; a fault of its own is logged and the channel begins again
        from the log, since a siren feed that silently stops is worse than one that stalls."""
        while True:
            try:
                await self._connect_and_serve()
                return
            except Exception:
                log.exception("MQTT channel fault; starting again from the decision log")
                self.connected = False
            if await self._wait_stop(BACKOFF_S[1] / 3):
                return

    async def _connect_and_serve(self) -> None:
        if not await self._load():
            return
        backoff = BACKOFF_S[0]
        outage_logged = False
        while True:
            try:
                async with self._client() as client:
                    backoff, outage_logged = BACKOFF_S[0], False
                    await self._sync(client)
                    if await self._serve(client):
                        return
            except aiomqtt.MqttError as exc:
                if not outage_logged:
                    log.warning(
                        "MQTT broker %s:%d: %s; retrying with backoff up to %.0f s, "
                        "levels are kept and sent on reconnect",
                        self.broker.host,
                        self.broker.port,
                        exc,
                        BACKOFF_S[1],
                    )
                    outage_logged = True
            finally:
                self.connected = False
            # while the broker is away, keep the state current so the reconnect sends it
            if await self._absorb_for(backoff):
                return
            backoff = min(backoff * 2, BACKOFF_S[1])

    async def _load(self) -> bool:
        """The state from the log; retried while the store cannot be read. False: stopped."""
        assert self._service is not None
        wait = BACKOFF_S[0]
        while True:
            try:
                last, bodies, cancels = await asyncio.to_thread(self._read_log)
                break
            except sa.exc.SQLAlchemyError as exc:
                log.warning(
                    "MQTT: the decision log cannot be read (%s); retrying", exc.__class__.__name__
                )
            if await self._wait_stop(wait):
                return False
            wait = min(wait * 2, BACKOFF_S[1])
        self._state.clear()
        self._lanes.clear()
        self._cancels = {seq: said for seq, said in self._cancels.items() if seq > last}
        self._cancels.update(cancels)
        for body in bodies:
            self._remember(body, self._cancels.pop(decode_decision(body).seq, None))
        self.last_seq = last
        self._take_sources(await asyncio.to_thread(self._source_states))
        return True

    def _read_log(self) -> tuple[int, list[str], dict[int, str]]:
        """The newest decision per zone and lane, and which of them a CAP Cancel said."""
        assert self._service is not None
        last, bodies = self._service.log.latest_per_zone()
        seqs = [decode_decision(body).seq for body in bodies]
        return last, bodies, self._service.log.cancellations(seqs)

    def _source_states(self) -> dict[str, dict[str, Any]]:
        """The relayed sources' health as the engine holds it (read under the writer's lock)."""
        service = self._service
        if service is None:
            return {}
        with service._lock:
            states = service.engine.relays.states()
        return {
            name: {"source": name, "state": s.state, "since": format_time(s.since_ms), "why": s.why}
            for name, s in states.items()
        }

    def _take_sources(self, states: dict[str, dict[str, Any]]) -> list[tuple[str, bytes]]:
        """New source health into the state: (topic, payload) to send, status last."""
        self.sources = states
        owed = []
        for name, body in states.items():
            topic = f"{self.prefix}/sources/{zone_topic_level(name)}"
            payload = _compact(body)
            if self._state.get(topic, (0, b""))[1] != payload:
                self._state[topic] = (0, payload)
                owed.append((topic, payload))
        return owed

    def _status(self, since: str | None = None) -> bytes:
        """`online`, or `stale` naming the relayed sources that are not live."""
        stale = sorted(
            n
            for n, body in self.sources.items()
            if body["state"] in ("starting", "stale", "failed")
        )
        body: dict[str, Any] = {
            "state": "stale" if stale else "online",
            "seq": self.last_seq,
            "since": since or _now(),
            "client_id": self.client_id,
        }
        if stale:
            body["stale"] = stale
        if self.sources:
            body["sources"] = {n: b["state"] for n, b in self.sources.items()}
        return _compact(body)

    def _client(self) -> aiomqtt.Client:
        offline = _compact(
            {"state": "offline", "reason": "connection lost", "client_id": self.client_id}
        )
        client = aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            username=self.broker.username,
            password=self.broker.password,
            identifier=self.client_id,
            will=aiomqtt.Will(self.status_topic, offline, qos=QOS, retain=True),
            keepalive=self.keepalive_s,
            tls_context=self._tls_context,
            timeout=10,
            clean_session=True,
        )
        client.pending_calls_threshold = 2 * SEND_WINDOW  # a window in flight is expected
        return client

    async def _sync(self, client: aiomqtt.Client) -> None:
        """Make what the broker retains equal the state, then say `online`."""
        retained = await self._retained(client)
        await self._absorb_now()
        sources = f"{self.prefix}/sources/"
        stale = [
            (topic, b"" if topic.startswith(sources) else self._reset(topic, payload))
            for topic, payload in retained.items()
            if topic not in self._state and payload and not _is_clear(payload)
        ]
        changed = sorted(
            (seq, topic, payload)
            for topic, (seq, payload) in self._state.items()
            if retained.get(topic) != payload
        )
        owed = stale + [(topic, payload) for _, topic, payload in changed]
        await self._send(client, owed)
        self.last_sync = {"sent": len(changed), "reset": len(stale), "retained": len(retained)}
        self._online = self._status()
        await client.publish(self.status_topic, self._online, qos=QOS, retain=True)
        self.connected = True
        log.info(
            "MQTT: online at %s:%d, %d retained topics sent, %d reset",
            self.broker.host,
            self.broker.port,
            len(changed),
            len(stale),
        )

    async def _retained(self, client: aiomqtt.Client) -> dict[str, bytes]:
        """What the broker retains under the zone and drill topics: subscribe, then read until
        a marker published after the subscription comes back (the broker sends retained
        messages first)."""
        marker = f"{self.prefix}/sync/{self.client_id}/{uuid.uuid4().hex}"
        topics = [
            f"{self.prefix}/zones/+",
            f"{self.prefix}/drills/+",
            f"{self.prefix}/sources/+",
            marker,
        ]
        # QoS 0 here: a broker queues at most so many QoS 1 messages for a client (Mosquitto:
        # max_queued_messages 1000) and drops the rest, which a national zone set exceeds
        await client.subscribe([(topic, 0) for topic in topics])
        await client.publish(marker, b"", qos=QOS)
        retained: dict[str, bytes] = {}
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SYNC_TIMEOUT_S):
                async for message in client.messages:
                    topic = message.topic.value
                    if topic == marker:
                        break
                    if message.retain:
                        retained[topic] = bytes(message.payload)
        await client.unsubscribe(topics)
        return retained

    async def _serve(self, client: aiomqtt.Client) -> bool:
        """Send decisions as they come and a heartbeat when it is due; True once stopped."""
        await client.subscribe(self.status_topic, qos=QOS)
        watch = asyncio.create_task(self._watch_status(client))
        try:
            while True:
                getter = asyncio.ensure_future(self._inbox.get())
                done, _ = await asyncio.wait(
                    {getter, watch}, timeout=self.heartbeat_s, return_when=asyncio.FIRST_COMPLETED
                )
                if watch in done:
                    getter.cancel()
                    watch.result()  # the connection died: raises MqttError
                    raise aiomqtt.MqttError("the broker closed the connection")
                if getter not in done:
                    getter.cancel()
                    await self._send(client, self._drain_owed(await self._catch_up_missed()))
                    beat: dict[str, Any] = {"seq": self.last_seq, "t": _now()}
                    stale = json.loads(self._online).get("stale")
                    if stale:
                        beat["stale"] = stale
                    await client.publish(self.heartbeat_topic, _compact(beat), qos=0)
                    continue
                item = getter.result()
                if isinstance(item, _Sources):
                    owed = self._take_sources(item.states)
                    await self._send(client, self._drain_owed(owed))
                    status = self._status()
                    if (
                        json.loads(status).get("state") != json.loads(self._online).get("state")
                        or owed
                    ):
                        self._online = status
                        await client.publish(self.status_topic, status, qos=QOS, retain=True)
                    continue
                if item is _STOP:
                    watch.cancel()  # or it would answer our own `offline` with `online`
                    await client.publish(
                        self.status_topic,
                        _compact(
                            {
                                "state": "offline",
                                "reason": "stopped",
                                "seq": self.last_seq,
                                "t": _now(),
                                "client_id": self.client_id,
                            }
                        ),
                        qos=QOS,
                        retain=True,
                    )
                    return True
                owed = await self._accept(item)
                await self._send(client, self._drain_owed(owed))
        finally:
            watch.cancel()

    async def _watch_status(self, client: aiomqtt.Client) -> None:
        """Set `online` again if `offline` appears while this feed is up: the last will of an
        earlier connection (or process) that the broker noticed late."""
        async for message in client.messages:
            if message.topic.value != self.status_topic:
                continue
            with contextlib.suppress(ValueError, TypeError):
                said = json.loads(bytes(message.payload))
                if said.get("state") == "offline":
                    await client.publish(self.status_topic, self._online, qos=QOS, retain=True)
        raise aiomqtt.MqttError("the broker closed the connection")

    async def _absorb_for(self, seconds: float) -> bool:
        """Take decisions into the state (nothing sent) for a while; True if told to stop."""
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                async with asyncio.timeout(left):
                    item = await self._inbox.get()
            except TimeoutError:
                return False
            if item is _STOP:
                return True
            if isinstance(item, _Sources):
                self._take_sources(item.states)
            else:
                await self._accept(item)
        return False

    async def _absorb_now(self) -> None:
        """Take every decision already handed over into the state (a stop stays queued)."""
        items = []
        while not self._inbox.empty():
            items.append(self._inbox.get_nowait())
        for item in items:
            if item is _STOP:
                self._inbox.put_nowait(_STOP)
            elif isinstance(item, _Sources):
                self._take_sources(item.states)
            else:
                await self._accept(item)

    def _drain_owed(self, owed: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        """More decisions already waiting join the same send (a raid comes in bursts)."""
        while not self._inbox.empty():
            item = self._inbox.get_nowait()
            if item is _STOP or isinstance(item, _Sources):
                self._inbox.put_nowait(item)  # after what is owed is sent
                break
            owed += self._accept_now(item)
        return owed

    # -- state --------------------------------------------------------------------------

    async def _accept(self, decisions: list[tuple[int, str]]) -> list[tuple[str, bytes]]:
        """Decisions in seq order into the state; those seen are skipped, a gap is filled
        from the log. Returns (topic, payload) to send, in order."""
        assert self.last_seq is not None
        first = min((seq for seq, _ in decisions), default=0)
        owed: list[tuple[str, bytes]] = []
        if first > self.last_seq + 1:
            owed += await self._fill_gap(first - 1)
        return owed + self._accept_now(decisions)

    def _accept_now(self, decisions: Iterable[tuple[int, str]]) -> list[tuple[str, bytes]]:
        assert self.last_seq is not None
        owed = []
        for seq, line in decisions:
            cancels = self._cancels.pop(seq, None)
            if seq <= self.last_seq:
                continue
            owed += self._remember(line, cancels)
            self.last_seq = seq
        return owed

    async def _fill_gap(self, until: int) -> list[tuple[str, bytes]]:
        """Decisions committed while nothing listened (before `start` was wired, say)."""
        assert self._service is not None and self.last_seq is not None
        owed: list[tuple[str, bytes]] = []
        while self.last_seq < until:
            rows = await asyncio.to_thread(self._service.log.decisions, self.last_seq, 1000)
            rows = [(seq, body) for seq, body in rows if seq <= until]
            if not rows:
                break
            cancels = await asyncio.to_thread(
                self._service.log.cancellations, [seq for seq, _ in rows]
            )
            self._cancels.update(cancels)
            owed += self._accept_now(rows)
        return owed

    async def _catch_up_missed(self) -> list[tuple[str, bytes]]:
        """A quiet moment: if the engine counts more decisions than reached the channel, take
        the committed ones from the log (a decision the writer is still committing is not
        there yet and comes through `publish` as usual)."""
        assert self._service is not None and self.last_seq is not None
        if self._service.engine.seq <= self.last_seq:
            return []
        try:
            return await self._fill_gap(self._service.engine.seq)
        except sa.exc.SQLAlchemyError:
            return []

    def _remember(self, line: str, cancels: str | None = None) -> list[tuple[str, bytes]]:
        """A decision into the state; what its topic now says, if that changed. `cancels`:
        the CAP message a clear cancels (an alert sent in error), which sirens must not take
        for an all-clear."""
        seq, lane, zone, body = zone_body(line)
        if cancels:
            body["cancels"] = cancels
        topic = f"{self.prefix}/{lane}/{zone_topic_level(zone)}"
        lanes = self._lanes.setdefault(topic, {})
        lanes[body.get("source", "") if lane == "zones" else body["status"]] = body
        body = in_force(lanes)
        seq = body["seq"]
        payload = _compact(body)
        if self._state.get(topic, (0, b""))[1] == payload:
            return []
        self._state[topic] = (seq, payload)
        return [(topic, payload)]

    def _reset(self, topic: str, retained: bytes) -> bytes:
        """A clear for a topic an earlier run left set that the log knows nothing of (another
        store, or zones since removed): as of the log's last decision."""
        zone, status = unquote(topic.rsplit("/", 1)[1]), "actual"
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            said = json.loads(retained)
            zone, status = str(said.get("zone", zone)), str(said.get("status", status))
        return _compact(
            {
                "zone": zone,
                "level": "clear",
                "seq": self.last_seq,
                "t": _now(),
                "kind": None,
                "status": status,
                "threats": [],
            }
        )

    # -- sending --------------------------------------------------------------------------

    async def _send(self, client: aiomqtt.Client, owed: list[tuple[str, bytes]]) -> None:
        """Publish retained at QoS 1, in order, a window at a time: each publish goes out in
        the order it is called and the broker keeps a client's order per topic."""
        for start in range(0, len(owed), SEND_WINDOW):
            window = owed[start : start + SEND_WINDOW]
            results = await asyncio.gather(
                *(
                    client.publish(topic, payload, qos=QOS, retain=True)
                    for topic, payload in window
                ),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, BaseException):
                    raise result  # the rest is sent again by the sync after the reconnect

    async def _wait_stop(self, seconds: float) -> bool:
        try:
            async with asyncio.timeout(seconds):
                while True:
                    item = await self._inbox.get()
                    if item is _STOP:
                        return True
                    # decisions before the log is read are in the log: nothing is lost
        except TimeoutError:
            return False


@dataclass(frozen=True)
class _Sources:
    """The relayed sources' health changed (handed over by the writer)."""

    states: dict[str, dict[str, Any]]


def step_cancellations(
    decisions: Iterable[tuple[int, str]], messages: Iterable[dict[str, Any]]
) -> dict[int, str]:
    """Of a step's decisions, the clears its CAP Cancel messages said, each with the message
    it cancels (as `ServiceLog.cancellations` reads them from the log)."""
    said: dict[tuple[str, str, str | None], str] = {}
    for message in messages:
        if message["msg_type"] == "Cancel":
            for zone in message["zones"]:
                key = (zone, str(message["status"]).lower(), message.get("source"))
                said[key] = cancelled(message["references"])
    if not said:
        return {}
    out = {}
    for seq, line in decisions:
        decision = decode_decision(line)
        if decision.level != "clear":
            continue
        status = decision.status if isinstance(decision.status, str) else "actual"
        source = decision.source.name if isinstance(decision.source, RelayedFrom) else None
        identifier = said.get((decision.zone, status, source))
        if identifier:
            out[seq] = identifier
    return out


def _is_clear(payload: bytes) -> bool:
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        return bool(json.loads(payload).get("level") == "clear")
    return False
