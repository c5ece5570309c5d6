"""`airwarn serve` and `airwarn tokens`: run the service, and make the tokens that use it."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from airwarn.errors import AirwarnError
from airwarn.store import DEFAULT_URL, connect, migrate
from airwarn.store.audit import cli_client, record_audit
from airwarn.store.tokens import ROLES, create_token, list_tokens, revoke_token

err = Console(stderr=True)
tokens_app = typer.Typer(help="API tokens: one per client, each with one role "
                         f"({', '.join(ROLES)}). Stored hashed; shown once.",
                         no_args_is_help=True)

DbOption = Annotated[str, typer.Option(
    "--db", help="Store URL: sqlite:///FILE (default) or postgresql://user@host:5432/db.")]


def _fail(error: Exception, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@tokens_app.command("create")
def tokens_create(
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    name: Annotated[str | None, typer.Option(
        "--name", help="Who or what uses it (unique); default: ROLE-N.")] = None,
    db: DbOption = DEFAULT_URL,
) -> None:
    """Make a token and print it (only now: the store keeps its hash)."""
    try:
        engine = connect(db)
        migrate(engine)
        if name is None:
            taken = {str(t["name"]) for t in list_tokens(engine)}
            name = next(f"{role}-{n}" for n in range(1, 10_000) if f"{role}-{n}" not in taken)
        now_ms = int(time.time() * 1000)
        token = create_token(engine, role, name, now_ms)
        record_audit(engine, cli_client(), now_ms, "token.create", {"name": name,
                                                                    "role": role})
    except AirwarnError as error:
        raise _fail(error) from None
    err.print(f"token for [bold]{name}[/] (role {role}); keep it, it is not shown again:")
    typer.echo(token)


@tokens_app.command("list")
def tokens_list(db: DbOption = DEFAULT_URL) -> None:
    """The tokens in the store (names and roles, never the tokens)."""
    try:
        engine = connect(db)
        migrate(engine)
        rows = list_tokens(engine)
    except AirwarnError as error:
        raise _fail(error) from None
    table = Table("name", "role", "created (UTC)", "revoked")
    for row in rows:
        table.add_row(str(row["name"]), str(row["role"]), _when(row["created_ms"]),
                      _when(row["revoked_ms"]) if row["revoked_ms"] else "")
    Console().print(table)


@tokens_app.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Argument(help="The token's name.")],
                  db: DbOption = DEFAULT_URL) -> None:
    """Revoke a token at once; requests with it get 401."""
    try:
        engine = connect(db)
        migrate(engine)
        now_ms = int(time.time() * 1000)
        revoke_token(engine, name, now_ms)
        record_audit(engine, cli_client(), now_ms, "token.revoke", {"name": name})
    except AirwarnError as error:
        raise _fail(error) from None
    err.print(f"revoked {name}")


def _when(t_ms: object) -> str:
    from airwarn.contract import format_time

    return format_time(int(t_ms))[:19] if isinstance(t_ms, int) else ""


def serve(
    zones: Annotated[Path | None, typer.Option(
        "--zones", "-z", help="Canonical zone GeoJSON (`airwarn zones import`); default: the "
        "generated demo zone set.")] = None,
    db: DbOption = DEFAULT_URL,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    keys: Annotated[Path, typer.Option(
        "--keys", help="Folder of the CAP signing key and certificate (made on first run).")
    ] = Path("airwarn-keys"),
    clock: Annotated[str, typer.Option(
        help="wall: the server's clock moves the engine (production); events: event times "
        "do, and the replaying client may tick (a lab mode for recorded raids and demos, "
        "never for production: see docs/security.md).")] = "wall",
    max_skew_s: Annotated[float, typer.Option(
        "--max-skew-s", min=0.0, max=300.0, help="Wall clock: how many seconds ahead of the "
        "server's clock a sensor's report may be; later ones are refused.")] = 5.0,
    hold_s: Annotated[int, typer.Option("--hold-s", min=0, help="Seconds a zone stays "
                                        "alerted after its last threat ends.")] = 600,
    sender: Annotated[str | None, typer.Option(
        help="CAP sender; default airwarn@HOSTNAME.")] = None,
    heartbeat_s: Annotated[float, typer.Option(
        "--heartbeat-s", min=0.5, help="Seconds between live-feed heartbeats.")] = 5.0,
    bus: Annotated[str | None, typer.Option(
        help="NATS JetStream URL (nats://host:4222) to run as one of several processes "
        "sharing a PostgreSQL --db; without it this one process does everything.")] = None,
    role: Annotated[str, typer.Option(
        help="With --bus: engine (competes for the lease; the holder writes, the others "
        "stand by) or edge (serves HTTP, SSE, WebSocket and CAP; never writes the log). "
        "all: one process, no bus.")] = "all",
    name: Annotated[str | None, typer.Option(
        help="This process's name on the bus (default HOSTNAME-PID).")] = None,
    lease_s: Annotated[float, typer.Option(
        "--lease-s", min=1.0, help="With --bus: seconds after which a silent leader loses "
        "the lease to a standby; the same on every engine.")] = 3.0,
    answer_timeout_s: Annotated[float, typer.Option(
        "--answer-timeout-s", min=2.0, help="With --bus: seconds an edge waits for the "
        "engine's answer before saying 202 queued.")] = 10.0,
    namespace: Annotated[str, typer.Option(
        "--bus-namespace", help="With --bus: the prefix of this deployment's subjects, "
        "streams and lease, so that several can share one NATS.")] = "airwarn",
    replicas: Annotated[int, typer.Option(
        "--bus-replicas", min=1, max=5, help="With --bus: copies JetStream keeps of each "
        "stream and of the lease (1 on one NATS server; 3 on a cluster of 3).")] = 1,
    mqtt: Annotated[str | None, typer.Option(
        help="MQTT broker for sirens and displays (mqtt://host:1883, mqtts://user:pw@host); "
        "one retained topic per zone, see docs/mqtt.md.")] = None,
    mqtt_prefix: Annotated[str, typer.Option(
        "--mqtt-prefix", help="The topics' prefix: PREFIX/zones/ZONE.")] = "airwarn",
    mqtt_client_id: Annotated[str | None, typer.Option(
        "--mqtt-client-id", help="MQTT client id (default: one per process).")] = None,
    webhooks: Annotated[bool, typer.Option(
        help="Deliver decisions to subscribed webhooks (HMAC-signed; docs/webhooks.md).")
    ] = True,
    push: Annotated[bool, typer.Option(
        help="Web Push to subscribed browsers (VAPID key in --keys; docs/webpush.md).")
    ] = True,
    push_subject: Annotated[str | None, typer.Option(
        "--push-subject", help="How push services reach you (mailto: or https:); default "
        "mailto: the CAP sender.")] = None,
    push_hosts: Annotated[str | None, typer.Option(
        "--push-hosts", help="Comma-separated push service hosts that subscriptions may "
        "name (e.g. fcm.googleapis.com,updates.push.services.mozilla.com,"
        "web.push.apple.com); default: any https host. Set it on a public server.")] = None,
) -> None:
    """Run the service: ingest, operators' actions, live feeds, CAP, the public page.

    One process by default. For a deployment that survives the loss of a machine, run two
    `--role engine` processes and any number of `--role edge` ones on one `--bus` and one
    PostgreSQL `--db` (see the README's "Several processes").
    """
    import uvicorn

    try:
        bus_settings = _bus_settings(bus, role, name, lease_s, answer_timeout_s, db,
                                     namespace, replicas)
        service = build_service(zones, db, keys, clock, hold_s, sender, max_skew_s)
        channels = build_channels(mqtt, mqtt_prefix, mqtt_client_id, webhooks, push, keys,
                                  push_subject or f"mailto:{service.settings.sender}",
                                  push_hosts)
    except AirwarnError as error:
        raise _fail(error) from None
    from airwarn.web import WebSettings, create_app

    app = create_app(service, WebSettings(heartbeat_s=heartbeat_s), channels=channels,
                     bus=bus_settings)
    what = "" if bus_settings is None else f" as {bus_settings.role} on {bus}"
    err.print(f"airwarn serving {len(service.zones)} zones from {db}{what} on "
              f"http://{host}:{port}/ (API docs: /docs)")
    if clock == "events":
        err.print("[bold yellow]event clock:[/] a lab mode for replays and demos, not for "
                  "production: event times drive the clock, and a sensor token may tick it "
                  "(docs/security.md)", highlight=False, soft_wrap=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def build_channels(mqtt: str | None, mqtt_prefix: str, mqtt_client_id: str | None,
                   webhooks: bool, push: bool, keys: Path,
                   push_subject: str = "mailto:admin@localhost",
                   push_hosts: str | None = None) -> list[Any]:
    """The delivery channels asked for. Every process mounts their HTTP endpoints; only the
    process that writes the log (the leading engine, or the one process) delivers."""
    channels: list[Any] = []
    if mqtt is not None:
        from airwarn.channels.mqtt import MqttChannel

        channels.append(MqttChannel(mqtt, prefix=mqtt_prefix, client_id=mqtt_client_id))
    if webhooks:
        from airwarn.channels.webhooks import WebhookChannel

        channels.append(WebhookChannel())
    if push:
        from airwarn.channels.webpush import PushChannel

        hosts = None if push_hosts is None else [
            h.strip() for h in push_hosts.split(",") if h.strip()]
        channels.append(PushChannel(keys, subject=push_subject, endpoint_hosts=hosts))
    return channels


def _bus_settings(bus: str | None, role: str, name: str | None, lease_s: float,
                  answer_timeout_s: float, db: str,
                  namespace: str, replicas: int = 1):  # type: ignore[no-untyped-def]
    from airwarn.bus import BusSettings

    if role not in ("all", "engine", "edge"):
        raise AirwarnError(f"--role is engine, edge or all, not {role!r}")
    if bus is None:
        if role != "all":
            raise AirwarnError(f"--role {role} needs a --bus (nats://127.0.0.1:4222) shared "
                               "by the engine and edge processes")
        return None
    if not bus.startswith(("nats://", "tls://")):
        raise AirwarnError(f"--bus is a NATS URL such as nats://127.0.0.1:4222, not {bus!r}")
    if db.startswith("sqlite"):
        raise AirwarnError("processes on a bus share their store: give a PostgreSQL --db "
                           "(postgresql://host/db) that every process can reach")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,31}", namespace):
        raise AirwarnError(f"--bus-namespace is a letter then up to 31 letters, digits, _ "
                           f"or -, not {namespace!r}")
    return BusSettings(url=bus, role="engine" if role == "all" else role, name=name or "",
                       lease_s=lease_s, answer_timeout_s=answer_timeout_s,
                       namespace=namespace, replicas=replicas)


def build_service(zones: Path | None, db: str, keys: Path, clock: str, hold_s: int,
                  sender: str | None, max_skew_s: float = 5.0
                  ):  # type: ignore[no-untyped-def]
    """The service on these settings, opened (migrated, its log's seal checked, rebuilt)."""
    from airwarn.cap.sign import load_or_create_keys
    from airwarn.engine import EngineConfig
    from airwarn.service import Service, ServiceSettings, zones_fingerprint
    from airwarn.store.secrets import load_store_keys
    from airwarn.zones import ZoneSet, load_zones

    if clock not in ("wall", "events"):
        raise AirwarnError(f"--clock is wall or events, not {clock!r}")
    if zones is None:
        from airwarn.sim.demo_zones import demo_zones

        zone_set = ZoneSet(demo_zones())
    else:
        zone_set = load_zones(zones)
    host = socket.gethostname() or "localhost"
    sender = sender or f"airwarn@{host}"
    domain = sender.rpartition("@")[2] or host
    settings = ServiceSettings(db_url=db, clock=clock, sender=sender,
                               id_prefix=f"urn:airwarn:{domain}:",
                               engine=EngineConfig(hold_s=hold_s), max_skew_s=max_skew_s)
    keys.mkdir(mode=0o700, parents=True, exist_ok=True)
    service = Service(zone_set, zones_fingerprint(zone_set), settings,
                      load_or_create_keys(keys), store_keys=load_store_keys(keys))
    service.open()
    return service
