"""`airwarn tokens`: the API tokens, one per client, each with one role."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from airwarn.cli.common import DbOption, err, fail
from airwarn.errors import AirwarnError
from airwarn.ports import WALL_CLOCK
from airwarn.store import DEFAULT_URL, connect, migrate
from airwarn.store.audit import cli_client, record_audit
from airwarn.store.tokens import ROLES, create_token, list_tokens, revoke_token

# the flag (or argument) of each field a token's or a binding's error may name
CREATE_FLAGS = {"role": "--role", "name": "--name", "sender": "--cap-sender"}
REVOKE_FLAGS = {"name": "NAME"}

app = typer.Typer(
    help="API tokens: one per client, each with one role "
    f"({', '.join(ROLES)}). Stored hashed; shown once.\n\n"
    "Examples:\n\n"
    "SENSOR=$(airwarn tokens create --role sensor --name radar-1)\n\n"
    "airwarn tokens list\n\n"
    "airwarn tokens revoke radar-1",
    no_args_is_help=True,
)


@app.command("create")
def tokens_create(
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Who or what uses it (unique); default: ROLE-N.")
    ] = None,
    cap_sender: Annotated[
        list[str] | None,
        typer.Option(
            "--cap-sender",
            help="A CAP <sender> this token may post CAP as (repeat for more); "
            "see `airwarn trust`.",
        ),
    ] = None,
    db: DbOption = DEFAULT_URL,
) -> None:
    """Make a token and print it on standard output (only now: the store keeps its hash).

    Examples:

    SENSOR=$(airwarn tokens create --role sensor --name radar-1)

    airwarn tokens create --role operator --name op-7 --db postgresql://postgres@127.0.0.1/airwarn

    airwarn tokens create --role sensor --name relay-1 --cap-sender alerts@neighbour.example
    """
    from airwarn.store.trust import bind_sender, check_sender

    try:
        for sender in cap_sender or []:
            check_sender(sender)
        engine = connect(db)
        migrate(engine)
        if name is None:
            taken = {str(t["name"]) for t in list_tokens(engine)}
            name = next(f"{role}-{n}" for n in range(1, 10_000) if f"{role}-{n}" not in taken)
        now_ms = WALL_CLOCK.now_ms()
        token = create_token(engine, role, name, now_ms)
        for sender in cap_sender or []:
            bind_sender(engine, name, sender, now_ms)
        record_audit(engine, cli_client(), now_ms, "token.create", {"name": name, "role": role})
    except AirwarnError as error:
        raise fail(error, flags=CREATE_FLAGS) from None
    err.print(f"token for [bold]{name}[/] (role {role}); keep it, it is not shown again:")
    typer.echo(token)


@app.command("list")
def tokens_list(db: DbOption = DEFAULT_URL) -> None:
    """The tokens in the store (names and roles, never the tokens).

    Example: airwarn tokens list --db sqlite:///airwarn-demo/israel/live.db
    """
    try:
        engine = connect(db)
        migrate(engine)
        rows = list_tokens(engine)
    except AirwarnError as error:
        raise fail(error) from None
    table = Table("name", "role", "created (UTC)", "revoked")
    for row in rows:
        table.add_row(
            str(row["name"]),
            str(row["role"]),
            _when(row["created_ms"]),
            _when(row["revoked_ms"]) if row["revoked_ms"] else "",
        )
    Console().print(table)


@app.command("revoke")
def tokens_revoke(
    name: Annotated[str, typer.Argument(help="The token's name.")], db: DbOption = DEFAULT_URL
) -> None:
    """Revoke a token: every running process refuses it within a second (requests get 401,
    live streams opened with it close), with no restart and no bus needed.

    Example: airwarn tokens revoke radar-1 --db postgresql://airwarn@db:5432/airwarn
    """
    try:
        engine = connect(db)
        migrate(engine)
        now_ms = WALL_CLOCK.now_ms()
        revoke_token(engine, name, now_ms)
        record_audit(engine, cli_client(), now_ms, "token.revoke", {"name": name})
    except AirwarnError as error:
        raise fail(error, flags=REVOKE_FLAGS) from None
    err.print(f"revoked {name}")


def _when(t_ms: object) -> str:
    from airwarn.contract import format_time

    return format_time(int(t_ms))[:19] if isinstance(t_ms, int) else ""
