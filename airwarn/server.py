"""The one place that assembles a server: frozen settings in, a built server out.

`build(ServerSettings(...))` opens the service (its store migrated, its log's seal checked,
its state rebuilt from the log), makes the delivery channels and the followers asked for,
and puts the HTTP app over them (`airwarn.web.create_app`) with the lifespan made here
(`lifespan`), which only starts and stops what was built: the live hub, the channels, the
engine's wall-clock ticker, or, on a bus, the bus runtime that runs them in the leading
engine. `airwarn serve` and `airwarn demo` both call it; nothing here reads flags or the
environment.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airwarn.errors import AirwarnError, SettingError
from airwarn.lanes import MAX_THREATS_PER_SENSOR
from airwarn.ports import WALL_CLOCK, Clock
from airwarn.store import DEFAULT_URL

if TYPE_CHECKING:
    from fastapi import FastAPI

    from airwarn.bus import BusSettings
    from airwarn.channels import Channel
    from airwarn.engine.zones import ZoneSet
    from airwarn.follow.spec import FollowSpec
    from airwarn.service import Service
    from airwarn.web import WebSettings

# the VAPID contact when the CAP sender is no address a push service takes (see below)
PLACEHOLDER_PUSH_SUBJECT = "mailto:airwarn@push-contact.invalid"


def _web_settings() -> WebSettings:
    from airwarn.web import WebSettings

    return WebSettings()


@dataclass(frozen=True)
class ChannelSettings:
    """The delivery channels a server runs (none by default)."""

    mqtt: str | None = None  # broker URL: mqtt://host:1883, mqtts://user:pw@host
    mqtt_prefix: str = "airwarn"
    mqtt_client_id: str | None = None
    webhooks: bool = False
    push: bool = False
    push_subject: str | None = None  # default: mailto: the CAP sender (if push takes it)
    push_hosts: tuple[str, ...] = ()  # push service hosts allowed beside the known ones
    allow_private_targets: bool = False
    push_per_address_hour: int = 60
    push_per_zone: int = 20_000


@dataclass(frozen=True)
class ServerSettings:
    """Everything a server is built from; made once at the edge (the CLI, the demo)."""

    # a ZoneSet, a zone file, a shipped layer's name, or None for Israel's shipped areas
    zones: ZoneSet | str | None = None
    db: str = DEFAULT_URL
    keys: Path = Path("airwarn-keys")  # the CAP signing key, the store's and VAPID keys
    clock: str = "wall"  # wall (production) or events (a lab mode: event times move it)
    hold_s: int = 600
    # the other holds given (`airwarn.engine.holds`), by name; those left out keep their defaults
    holds: Mapping[str, int] = field(default_factory=dict)
    sender: str | None = None  # CAP sender; default airwarn@HOSTNAME
    inbound_cap: str = "held"
    max_skew_s: float = 5.0
    max_threats_per_sensor: int = MAX_THREATS_PER_SENSOR
    confirm_by_other: bool = False  # the four-eyes rule for alerts held for confirmation
    web: WebSettings = field(default_factory=_web_settings)
    channels: ChannelSettings = ChannelSettings()
    # the official feeds relayed; None: no follower at all, (): none, and any source
    # followed before is stopped (its relayed alerts cleared)
    follow: tuple[FollowSpec, ...] | None = None
    bus: BusSettings | None = None  # None: this one process does everything


@dataclass(frozen=True)
class Server:
    """A built server: the HTTP app (run it with uvicorn) over its opened service."""

    app: FastAPI
    service: Service
    channels: tuple[Channel, ...]
    settings: ServerSettings


def build(settings: ServerSettings) -> Server:
    """The server on these settings, its service opened; nothing started yet (the app's
    lifespan starts the channels, the ticker and the bus)."""
    from airwarn.web import create_app

    service = build_service(
        settings.zones,
        settings.db,
        settings.keys,
        settings.clock,
        settings.hold_s,
        settings.sender,
        settings.inbound_cap,
        settings.max_skew_s,
        settings.max_threats_per_sensor,
        settings.holds,
        settings.confirm_by_other,
    )
    try:
        chosen = settings.channels
        channels = build_channels(
            chosen.mqtt,
            chosen.mqtt_prefix,
            chosen.mqtt_client_id,
            chosen.webhooks,
            chosen.push,
            settings.keys,
            chosen.push_subject or default_push_subject(service.settings.sender),
            chosen.push_hosts,
            chosen.allow_private_targets,
            chosen.push_per_address_hour,
            chosen.push_per_zone,
        )
        if settings.follow is not None:
            channels.append(build_follow(service, settings.follow))
        app = create_app(
            service,
            settings.web,
            channels=channels,
            bus=settings.bus,
            lifespan=lifespan(service, settings.web, channels, settings.bus),
        )
    except BaseException:
        service.db.dispose()
        raise
    return Server(app=app, service=service, channels=tuple(channels), settings=settings)


def lifespan(
    service: Service,
    settings: WebSettings,
    channels: Sequence[Channel] = (),
    bus: BusSettings | None = None,
    clock: Clock = WALL_CLOCK,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """What runs beside the app, started when it starts and stopped when it stops, and only
    what was built: the live hub fed each committed step; without a bus, the channels and
    (on the wall clock) the engine's ticker; on a bus, the bus runtime, which runs them in
    whichever process leads. A stop begins with `app.state.wind_down()` (see
    `airwarn.web.runner`), then leaves this context."""
    import asyncio

    from starlette.concurrency import run_in_threadpool

    from airwarn.web import live, public
    from airwarn.web.auth import watch_revocations
    from airwarn.web.hub import Hub

    @contextlib.asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        hub = Hub(asyncio.get_running_loop(), service.engine.seq, settings.max_backlog)
        app.state.hub = hub
        service.listeners.append(hub.publish)
        # the outline takes a second or more for a national zone set: start it now, off the
        # event loop, so the first map to ask for it waits the least
        app.state.outline = asyncio.ensure_future(
            run_in_threadpool(public.outline_of, service.zones)
        )
        beats = asyncio.create_task(hub.beat(settings.heartbeat_s))
        revocations = asyncio.create_task(
            watch_revocations(app, lambda: live.recheck_token_streams(app))
        )
        ticker = runtime = None
        wall = service.settings.clock == "wall"
        if bus is None:
            if wall:
                ticker = asyncio.create_task(_tick(service, settings.tick_s, clock))
            for channel in channels:
                await channel.start(service)
                service.listeners.append(channel.publish)
        else:
            from airwarn.bus.runtime import BusRuntime

            runtime = BusRuntime(
                service,
                bus,
                channels,
                (lambda: _tick(service, settings.tick_s, clock)) if wall else None,
            )
            await runtime.start()
            app.state.runtime = runtime
            hub.fresh = runtime.following  # no heartbeat while it hears no leader
            app.state.writer = runtime.writer

        async def wind_down() -> None:
            """A stop's first step, before the server waits for its clients: end every live
            feed, so that none holds the stop open (its client resumes elsewhere from its last
            id); then, on a bus, hand the lease over."""
            hub.close()
            if runtime is not None:
                await runtime.resign()

        app.state.wind_down = wind_down
        try:
            yield
        finally:
            if runtime is not None:
                await runtime.stop()
            else:
                for channel in channels:
                    service.listeners.remove(channel.publish)
                    await channel.stop()
            service.listeners.remove(hub.publish)
            app.state.outline.cancel()
            beats.cancel()
            revocations.cancel()
            if ticker is not None:
                ticker.cancel()

    return run


async def _tick(service: Service, tick_s: float, clock: Clock) -> None:
    """Move the engine's clock every `tick_s` (wall-clock mode)."""
    import asyncio

    from starlette.concurrency import run_in_threadpool

    while True:
        await asyncio.sleep(tick_s)
        with contextlib.suppress(AirwarnError):
            await run_in_threadpool(service.tick, clock.now_ms())


def build_service(
    zones: Any,
    db: str,
    keys: Path,
    clock: str,
    hold_s: int,
    sender: str | None,
    inbound_cap: str = "held",
    max_skew_s: float = 5.0,
    max_threats_per_sensor: int = MAX_THREATS_PER_SENSOR,
    holds: Mapping[str, int] | None = None,
    confirm_by_other: bool = False,
) -> Service:
    """The service on these settings, opened (migrated, its log's seal checked, rebuilt from
    its log). `zones` is a ZoneSet, a zone file, a shipped layer's name, or None for the
    shipped Israeli layer; `holds`, the holds other than `hold_s` (`airwarn.engine.holds`)."""
    from airwarn.cap.sign import load_or_create_keys
    from airwarn.engine.holds import with_holds
    from airwarn.engine.zones import ZoneSet
    from airwarn.layers.packaged import resolve_zones
    from airwarn.service import Service, ServiceSettings, zones_fingerprint
    from airwarn.service.inbound_cap import POLICIES
    from airwarn.store import StoreError
    from airwarn.store.secrets import KEY_FILE as STORE_KEY_FILE
    from airwarn.store.secrets import load_store_keys, sealed_with
    from airwarn.urls import shown

    if clock not in ("wall", "events"):
        raise SettingError(f"the clock is wall or events, not {clock!r}", setting="clock")
    if inbound_cap not in POLICIES:
        raise SettingError(
            f"the inbound CAP policy is {' or '.join(POLICIES)}, not {inbound_cap!r}",
            setting="inbound_cap",
        )
    engine = with_holds(hold_s, holds)
    zone_set = zones if isinstance(zones, ZoneSet) else resolve_zones(zones)
    # a sender not given is airwarn@HOSTNAME on a new store; a store already written keeps its
    # own (`Service.open`), so a standby on another host or a renamed host sends as before
    host = socket.gethostname() or "localhost"
    chosen = sender or f"airwarn@{host}"
    domain = chosen.rpartition("@")[2] or host
    settings = ServiceSettings(
        db_url=db,
        clock=clock,
        sender=chosen,
        id_prefix=f"urn:airwarn:{domain}:",
        sender_given=sender is not None,
        engine=engine,
        inbound_cap=inbound_cap,
        max_skew_s=max_skew_s,
        max_threats_per_sensor=max_threats_per_sensor,
        confirm_by_other=confirm_by_other,
    )
    if not (keys / STORE_KEY_FILE).exists():
        seal = sealed_with(db)
        if seal is not None:
            # a wrong or empty --keys: refused before a key is made in it
            raise StoreError(
                f"the store at {shown(db)} was sealed with store key {seal}, but --keys {keys} "
                f"holds no store key ({STORE_KEY_FILE}): start with the --keys folder the store "
                "was written with, or a copy of it (nothing was written into this one)"
            )
    keys.mkdir(mode=0o700, parents=True, exist_ok=True)
    service = Service(
        zone_set,
        zones_fingerprint(zone_set),
        settings,
        load_or_create_keys(keys),
        store_keys=load_store_keys(keys),
    )
    service.open()
    return service


def build_channels(
    mqtt: str | None,
    mqtt_prefix: str,
    mqtt_client_id: str | None,
    webhooks: bool,
    push: bool,
    keys: Path,
    push_subject: str = "mailto:admin@localhost",
    push_hosts: tuple[str, ...] | None = None,
    allow_private_targets: bool = False,
    push_per_address_hour: int = 60,
    push_per_zone: int = 20_000,
) -> list[Any]:
    """The delivery channels asked for. Every process mounts their HTTP endpoints; only the
    process that writes the log (the leading engine, or the one process) delivers."""
    channels: list[Any] = []
    if mqtt is not None:
        from airwarn.channels.mqtt import MqttChannel

        channels.append(MqttChannel(mqtt, prefix=mqtt_prefix, client_id=mqtt_client_id))
    if webhooks:
        from airwarn.channels.webhooks import WebhookChannel

        channels.append(WebhookChannel(allow_private_targets=allow_private_targets))
    if push:
        from airwarn.channels.webpush import PushChannel, PushLimits
        from airwarn.channels.webpush.subscriptions import KNOWN_PUSH_HOSTS

        limits = PushLimits(
            endpoint_hosts=(*KNOWN_PUSH_HOSTS, *(push_hosts or ())),
            allow_private=allow_private_targets,
            per_address_hour=push_per_address_hour,
            per_zone=push_per_zone,
        )
        channels.append(PushChannel(keys, subject=push_subject, limits=limits))
    return channels


def build_follow(service: Service, specs: tuple[FollowSpec, ...]) -> Any:
    """The followers of the official feeds asked for (also with none: a source followed
    before and no longer is then stopped, its relayed alerts cleared)."""
    from airwarn.follow.channel import FollowChannel

    if specs and service.settings.clock != "wall":
        raise SettingError(
            "relaying live feeds needs the wall clock", setting="follow", needs={"clock": "wall"}
        )
    return FollowChannel(list(specs), service.zones)


def default_push_subject(sender: str) -> str:
    """The VAPID contact when none is given: the CAP sender, if push services can take it.
    They refuse an address whose domain has no dot (a bare host name such as `airwarn@vm`);
    then a placeholder in the reserved `.invalid` domain keeps Web Push working (the CLI
    asks for a real contact)."""
    domain = sender.rpartition("@")[2]
    return f"mailto:{sender}" if "." in domain else PLACEHOLDER_PUSH_SUBJECT
