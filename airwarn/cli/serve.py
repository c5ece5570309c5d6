"""`airwarn serve`: run the service (built by `airwarn.server.build`)."""

from __future__ import annotations

import contextlib
import errno
import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from airwarn.cli.common import LOG_LEVELS, DbOption, configure_logging, err, fail
from airwarn.cli.follow import (
    EveryOption,
    FollowOption,
    HoldOption,
    StaleOption,
    TokenFileOption,
    follow_specs,
)
from airwarn.cli.holds import (
    BallisticReleaseOption,
    CorridorReleaseOption,
    DebrisMarginOption,
    DownElsewhereOption,
    FullHoldOption,
    PassHoldOption,
    PreHoldOption,
    checked_config,
    holds_given,
)
from airwarn.errors import AirwarnError
from airwarn.lanes import MAX_THREATS_PER_SENSOR
from airwarn.store import DEFAULT_URL
from airwarn.urls import shown

if TYPE_CHECKING:
    from airwarn.bus import BusSettings


def serve(
    zones: Annotated[
        str | None,
        typer.Option(
            "--zones",
            "-z",
            show_default=False,
            help="The zones: a zone file (`airwarn zones import` or `export`), or a shipped layer: "
            "israel, ukraine (hromadas), ukraine-raions, ukraine-oblasts; generated is made-up "
            "hexagons for load tests. Default: israel, Israel's 1,449 Home Front Command areas, "
            "shipped in the package.",
        ),
    ] = None,
    db: DbOption = DEFAULT_URL,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    keys: Annotated[
        Path,
        typer.Option(
            "--keys",
            help="The keys folder, made (0700) on first run: the CAP signing key and "
            "certificate (cap-signing-key.pem, cap-signing-cert.pem); store.key, which seals "
            "the log and encrypts the secrets the store keeps (a store opens only with the "
            "store.key it was written with); the Web Push key (vapid_private.pem); and "
            "log-head-* (each store's newest seal: a store cut short is refused). Back the "
            "whole folder up, apart from the store's backups, and keep it private: whoever "
            "holds it can sign CAP as this server, and with the store, rewrite the log. On a "
            "bus every process uses the same keys.",
        ),
    ] = Path("airwarn-keys"),
    clock: Annotated[
        str,
        typer.Option(
            help="wall: the server's clock moves the engine (production); events: event times "
            "do, and the replaying client may tick (a lab mode for recorded raids and demos, "
            "never for production: see docs/security.md)."
        ),
    ] = "wall",
    max_skew_s: Annotated[
        float,
        typer.Option(
            "--max-skew-s",
            min=0.0,
            max=300.0,
            help="Wall clock: how many seconds ahead of the "
            "server's clock a sensor's report may be; later ones are refused.",
        ),
    ] = 5.0,
    max_threats_per_sensor: Annotated[
        int,
        typer.Option(
            "--max-threats-per-sensor",
            min=1,
            help="How many threats one sensor token may hold in the engine at once (in "
            "flight, or lost and still resumable); a report that would start one more is "
            "refused until the sensor ends some (impact or intercepted: a lost one is kept "
            "for its sensor to take up again). Bounds what one faulty or stolen token can "
            "make the engine hold. On a bus, the leading engine's value holds.",
        ),
    ] = MAX_THREATS_PER_SENSOR,
    hold_s: FullHoldOption = 600,
    sender: Annotated[
        str | None,
        typer.Option(
            help="CAP sender; default: the store's, or airwarn@HOSTNAME for a new store "
            "(a store keeps the sender its messages went out as)."
        ),
    ] = None,
    confirm_by_other: Annotated[
        bool,
        typer.Option(
            "--confirm-by-other",
            help="The four-eyes rule: an operator's alert held for confirmation is confirmed "
            "by another operator (another token) than the one who proposed it.",
        ),
    ] = False,
    heartbeat_s: Annotated[
        float, typer.Option("--heartbeat-s", min=0.5, help="Seconds between live-feed heartbeats.")
    ] = 5.0,
    bus: Annotated[
        str | None,
        typer.Option(
            envvar="AIRWARN_BUS",
            help="NATS JetStream URL (nats://host:4222) to run as one of several processes "
            "sharing a PostgreSQL --db; without it this one process does everything. Also "
            "read from AIRWARN_BUS, which keeps a password in the URL out of the process list.",
        ),
    ] = None,
    role: Annotated[
        str,
        typer.Option(
            help="With --bus: engine (competes for the lease; the holder writes, the others "
            "stand by) or edge (serves HTTP, SSE, WebSocket and CAP; never writes the log). "
            "all: one process, no bus."
        ),
    ] = "all",
    name: Annotated[
        str | None, typer.Option(help="This process's name on the bus (default HOSTNAME-PID).")
    ] = None,
    lease_s: Annotated[
        float,
        typer.Option(
            "--lease-s",
            min=1.0,
            help="With --bus: seconds after which a silent leader loses "
            "the lease to a standby; the same on every engine.",
        ),
    ] = 3.0,
    answer_timeout_s: Annotated[
        float,
        typer.Option(
            "--answer-timeout-s",
            min=2.0,
            help="With --bus: seconds an edge waits for the "
            "engine's answer before saying 202 queued.",
        ),
    ] = 10.0,
    namespace: Annotated[
        str,
        typer.Option(
            "--bus-namespace",
            help="With --bus: the prefix of this deployment's subjects, "
            "streams and lease, so that several can share one NATS.",
        ),
    ] = "airwarn",
    replicas: Annotated[
        int,
        typer.Option(
            "--bus-replicas",
            min=1,
            max=5,
            help="With --bus: copies JetStream keeps of each "
            "stream and of the lease (1 on one NATS server; 3 on a cluster of 3).",
        ),
    ] = 1,
    mqtt: Annotated[
        str | None,
        typer.Option(
            envvar="AIRWARN_MQTT",
            help="MQTT broker for sirens and displays (mqtt://host:1883, mqtts://user:pw@host); "
            "one retained topic per zone, see docs/mqtt.md. Also read from AIRWARN_MQTT, which "
            "keeps a password out of the process list.",
        ),
    ] = None,
    mqtt_prefix: Annotated[
        str, typer.Option("--mqtt-prefix", help="The topics' prefix: PREFIX/zones/ZONE.")
    ] = "airwarn",
    mqtt_client_id: Annotated[
        str | None,
        typer.Option("--mqtt-client-id", help="MQTT client id (default: one per process)."),
    ] = None,
    webhooks: Annotated[
        bool,
        typer.Option(
            help="Deliver decisions to subscribed webhooks (HMAC-signed; docs/webhooks.md)."
        ),
    ] = True,
    push: Annotated[
        bool,
        typer.Option(
            help="Web Push to subscribed browsers (VAPID key in --keys; docs/webpush.md)."
        ),
    ] = True,
    push_subject: Annotated[
        str | None,
        typer.Option(
            "--push-subject",
            help="How push services reach you (mailto: or https:); default mailto: the CAP sender.",
        ),
    ] = None,
    tiles: Annotated[
        str | None,
        typer.Option(
            "--tiles",
            show_default=False,
            help="An online tile service the console may switch to beside its offline base map, "
            "as a URL template, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png (mind the "
            "service's usage policy). Default: none; the pages fetch nothing from outside.",
        ),
    ] = None,
    tiles_attribution: Annotated[
        str, typer.Option("--tiles-attribution", help="The credit the tile service asks for.")
    ] = "© OpenStreetMap contributors",
    push_hosts: Annotated[
        str | None,
        typer.Option(
            "--push-hosts",
            help="Comma-separated push service hosts that subscriptions may name "
            "besides the browsers' own (fcm.googleapis.com, push.services.mozilla.com, "
            "push.apple.com, notify.windows.com; each with its subdomains); * for any host.",
        ),
    ] = None,
    push_per_address_hour: Annotated[
        int,
        typer.Option(
            "--push-per-address-hour",
            min=1,
            help="Push subscribe requests one client address may make per hour (429 beyond).",
        ),
    ] = 60,
    push_per_zone: Annotated[
        int,
        typer.Option(
            "--push-per-zone",
            min=1,
            help="Push subscriptions one zone may have (422 beyond): "
            "each costs ~2 ms of CPU per warning there.",
        ),
    ] = 20_000,
    allow_private_targets: Annotated[
        bool,
        typer.Option(
            "--allow-private-targets",
            help="Let webhooks and push endpoints be on loopback, "
            "private and link-local addresses (closed networks only: on a public server anyone "
            "could make this one reach inside).",
        ),
    ] = False,
    rate_per_s: Annotated[
        float,
        typer.Option(
            "--rate-per-s",
            min=0.001,
            help="Requests a second each token (or, without one, each "
            "address) may make on average (429 beyond).",
        ),
    ] = 200.0,
    rate_burst: Annotated[
        int,
        typer.Option(
            "--rate-burst", min=1, help="Requests each token or address may make at once."
        ),
    ] = 5000,
    max_live_per_address: Annotated[
        int,
        typer.Option(
            "--max-live-per-address",
            min=0,
            help="Live feeds (SSE and WebSocket) one address may "
            "hold open at once (429 beyond); 0: no cap. Behind a proxy or load balancer, give "
            "--forwarded-allow-ips, or every client shares the proxy's address and its cap.",
        ),
    ] = 100,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            show_default=False,
            help="Comma-separated addresses or networks (10.0.0.0/8) of the proxies and load "
            "balancers in front of this server, whose X-Forwarded-For and X-Forwarded-Proto "
            "are believed: a client's address is then the one its proxy names, and the "
            "per-address limits (--rate-per-s, --max-live-per-address, "
            "--push-per-address-hour) apply to each client, not to the proxy. Set it whenever "
            "a proxy stands in front; name only your proxies: a client that reaches the "
            "server directly from a trusted address chooses its own address, and * trusts "
            "every address. Default: 127.0.0.1 (or the FORWARDED_ALLOW_IPS environment "
            "variable).",
        ),
    ] = None,
    inbound_cap: Annotated[
        str,
        typer.Option(
            "--inbound-cap",
            help="CAP posted to /v1/cap that no certificate trusted for its "
            "sender verifies (`airwarn trust`): held (for an operator to approve or reject) or "
            "refuse (403, nothing kept). On a bus, the leading engine's setting applies: give "
            "every engine the same.",
        ),
    ] = "held",
    follow: FollowOption = None,
    alerts_in_ua_token_file: TokenFileOption = None,
    follow_every_s: EveryOption = None,
    follow_stale_s: StaleOption = None,
    follow_hold_s: HoldOption = None,
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level", help=f"What the service logs on stderr: {', '.join(LOG_LEVELS)}."
        ),
    ] = "warning",
    ballistic_release_s: BallisticReleaseOption = None,
    corridor_release_s: CorridorReleaseOption = None,
    pass_hold_s: PassHoldOption = None,
    down_elsewhere_hold_s: DownElsewhereOption = None,
    debris_margin_s: DebrisMarginOption = None,
    pre_hold_s: PreHoldOption = None,
) -> None:
    """Run the service: ingest, operators' actions, live feeds, CAP, the public page.

    One process by default, on embedded defaults: a SQLite file, the in-process bus, and
    Israel's 1,449 alert areas shipped in the package. For a deployment that survives the loss
    of a machine, run two `--role engine` processes and any number of `--role edge` ones on one
    `--bus` and one PostgreSQL `--db` (see the README's "Several processes").

    Official feeds are relayed into the zones with --follow (docs/follow.md): their alerts
    are marked with their source on every channel and kept apart from this server's own.

    Examples:

    airwarn serve

    airwarn serve --zones ukraine --port 8080 --mqtt mqtt://127.0.0.1:1883

    airwarn serve --zones zones-il.geojson --clock events --db sqlite:///lab.db

    airwarn serve --db postgresql://postgres@127.0.0.1/airwarn --bus nats://127.0.0.1:4222
    --role engine --name engine-a

    ALERTS_IN_UA_TOKEN=... airwarn serve --zones ukraine --follow alerts.in.ua

    airwarn serve --follow oref --mqtt mqtt://127.0.0.1:1883
    """
    if log_level not in LOG_LEVELS:
        raise fail(f"--log-level is one of {', '.join(LOG_LEVELS)}, not {log_level!r}")
    holds = holds_given(
        ballistic_release_s=ballistic_release_s,
        corridor_release_s=corridor_release_s,
        pass_hold_s=pass_hold_s,
        down_elsewhere_hold_s=down_elsewhere_hold_s,
        debris_margin_s=debris_margin_s,
        pre_hold_s=pre_hold_s,
    )
    checked_config(hold_s, holds)
    configure_logging(log_level)
    if tiles is not None and not _tile_template(tiles):
        raise fail(
            AirwarnError(
                f"--tiles is a URL template with {{z}}, {{x}} and {{y}}, e.g. "
                f"https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png, not "
                f"{tiles!r}"
            )
        )
    from airwarn.server import (
        PLACEHOLDER_PUSH_SUBJECT,
        ChannelSettings,
        ServerSettings,
        build,
        default_push_subject,
    )
    from airwarn.web import WebSettings

    try:
        bus_settings = _bus_settings(
            bus, role, name, lease_s, answer_timeout_s, db, namespace, replicas
        )
        specs = follow_specs(
            follow, alerts_in_ua_token_file, follow_every_s, follow_stale_s, follow_hold_s
        )
        hosts = tuple(
            h.strip().lower().removeprefix("*.").rstrip(".")
            for h in (push_hosts or "").split(",")
            if h.strip()
        )
        web = WebSettings(
            heartbeat_s=heartbeat_s,
            rate_per_s=rate_per_s,
            rate_burst=rate_burst,
            max_live_per_address=max_live_per_address,
            tiles_url=tiles,
            tiles_attribution=tiles_attribution if tiles else None,
        )
        if bus_settings is not None:
            _reach_bus(bus_settings.url)  # bounded: nothing is built for a bus that is not there
        listener = _listen(host, port)  # before the store is made and "serving" is said
    except AirwarnError as error:
        raise fail(error) from None
    try:
        server = build(
            ServerSettings(
                zones=zones,
                db=db,
                keys=keys,
                clock=clock,
                hold_s=hold_s,
                holds=holds,
                sender=sender,
                inbound_cap=inbound_cap,
                max_skew_s=max_skew_s,
                max_threats_per_sensor=max_threats_per_sensor,
                confirm_by_other=confirm_by_other,
                web=web,
                channels=ChannelSettings(
                    mqtt=mqtt,
                    mqtt_prefix=mqtt_prefix,
                    mqtt_client_id=mqtt_client_id,
                    webhooks=webhooks,
                    push=push,
                    push_subject=push_subject,
                    push_hosts=hosts,
                    allow_private_targets=allow_private_targets,
                    push_per_address_hour=push_per_address_hour,
                    push_per_zone=push_per_zone,
                ),
                follow=tuple(specs),
                bus=bus_settings,
            )
        )
    except AirwarnError as error:
        listener.close()
        raise fail(error) from None
    except BaseException:
        listener.close()
        raise
    service = server.service
    if (
        push_subject is None
        and default_push_subject(service.settings.sender) == PLACEHOLDER_PUSH_SUBJECT
    ):
        typer.echo(
            f"note: the CAP sender {service.settings.sender!r} is no address a push "
            f"service accepts as a contact; Web Push names {PLACEHOLDER_PUSH_SUBJECT} "
            "instead. Give --push-subject mailto:you@your.domain (or --sender) on a "
            "public server.",
            err=True,
        )
    what = "" if bus_settings is None else f" as {bus_settings.role} on {bus_settings.shown_url}"

    def started() -> None:  # said once it listens (on a bus: once it joined the bus)
        err.print(
            f"airwarn serving {len(service.zones)} zones from {shown(db)}{what} on "
            f"http://{host}:{port}/ (API docs: /docs)"
        )
        if clock == "events":
            err.print(
                "[bold yellow]event clock:[/] a lab mode for replays and demos, not for "
                "production: event times drive the clock, and a sensor token may tick it "
                "(docs/security.md)",
                highlight=False,
                soft_wrap=True,
            )

    from airwarn.web.runner import Runner, config

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: shut down cleanly, exit 0
        Runner(config(server.app, host, port, forwarded_allow_ips), started).run(sockets=[listener])


def _listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound as uvicorn binds one (IPv6 where the host has a colon, and
    then IPv6 only), before anything is built: a port another server holds is said at once,
    before a store is made or "serving" is printed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        listener.bind((host, port))
    except (OSError, UnicodeError) as error:
        listener.close()
        if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
            raise AirwarnError(
                f"--port {port}: another server listens on {host}:{port} (a forgotten "
                "`airwarn serve` or `airwarn demo`?): stop it or give --port"
            ) from None
        reason = (getattr(error, "strerror", None) or str(error)).lower()
        raise AirwarnError(
            f"--host {host} --port {port}: cannot listen there ({reason}); give an address "
            "of this machine, e.g. --host 127.0.0.1 or --host 0.0.0.0"
        ) from None
    return listener


def _reach_bus(url: str) -> None:
    """NATS answers at `url` within a few seconds, or an AirwarnError naming --bus."""
    import asyncio

    from airwarn.bus.link import reach

    asyncio.run(reach(url))


def _tile_template(url: str) -> bool:
    return url.startswith(("https://", "http://")) and all(
        part in url for part in ("{z}", "{x}", "{y}")
    )


def _bus_settings(
    bus: str | None,
    role: str,
    name: str | None,
    lease_s: float,
    answer_timeout_s: float,
    db: str,
    namespace: str,
    replicas: int = 1,
) -> BusSettings | None:
    from airwarn.bus import BusSettings

    if role not in ("all", "engine", "edge"):
        raise AirwarnError(f"--role is engine, edge or all, not {role!r}")
    if bus is None:
        if role != "all":
            raise AirwarnError(
                f"--role {role} needs a --bus (nats://127.0.0.1:4222) shared "
                "by the engine and edge processes"
            )
        return None
    if not bus.startswith(("nats://", "tls://")):
        raise AirwarnError(f"--bus is a NATS URL such as nats://127.0.0.1:4222, not {shown(bus)!r}")
    if db.startswith("sqlite"):
        raise AirwarnError(
            "processes on a bus share their store: give a PostgreSQL --db "
            "(postgresql://host/db) that every process can reach"
        )
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,31}", namespace):
        raise AirwarnError(
            f"--bus-namespace is a letter then up to 31 letters, digits, _ or -, not {namespace!r}"
        )
    return BusSettings(
        url=bus,
        role="engine" if role == "all" else role,
        name=name or "",
        lease_s=lease_s,
        answer_timeout_s=answer_timeout_s,
        namespace=namespace,
        replicas=replicas,
    )
