"""`airwarn serve` and `airwarn tokens`: run the service, and make the tokens that use it."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from airwarn.errors import AirwarnError
from airwarn.store import DEFAULT_URL, connect, migrate
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
        token = create_token(engine, role, name, int(time.time() * 1000))
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
        revoke_token(engine, name, int(time.time() * 1000))
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
        help="wall: the server's clock moves the engine (production); events: only event "
        "times do (replaying recorded raids).")] = "wall",
    hold_s: Annotated[int, typer.Option("--hold-s", min=0, help="Seconds a zone stays "
                                        "alerted after its last threat ends.")] = 600,
    sender: Annotated[str | None, typer.Option(
        help="CAP sender; default airwarn@HOSTNAME.")] = None,
    heartbeat_s: Annotated[float, typer.Option(
        "--heartbeat-s", min=0.5, help="Seconds between live-feed heartbeats.")] = 5.0,
) -> None:
    """Run the service: ingest, operators' actions, live feeds, CAP, the public page."""
    import uvicorn

    try:
        service = build_service(zones, db, keys, clock, hold_s, sender)
    except AirwarnError as error:
        raise _fail(error) from None
    from airwarn.web import WebSettings, create_app

    app = create_app(service, WebSettings(heartbeat_s=heartbeat_s))
    err.print(f"airwarn serving {len(service.zones)} zones from {db} on "
              f"http://{host}:{port}/ (API docs: /docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def build_service(zones: Path | None, db: str, keys: Path, clock: str, hold_s: int,
                  sender: str | None):  # type: ignore[no-untyped-def]
    """The service on these settings, opened (migrated and rebuilt from its log)."""
    from airwarn.cap.sign import load_or_create_keys
    from airwarn.engine import EngineConfig
    from airwarn.service import Service, ServiceSettings, zones_fingerprint
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
                               engine=EngineConfig(hold_s=hold_s))
    keys.mkdir(parents=True, exist_ok=True)
    service = Service(zone_set, zones_fingerprint(zone_set), settings,
                      load_or_create_keys(keys))
    service.open()
    return service
