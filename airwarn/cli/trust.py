"""`airwarn trust`: which CAP senders are trusted, with which certificates, and which tokens may
speak for them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from airwarn.cli.common import DbOption, err, fail
from airwarn.errors import AirwarnError
from airwarn.ports import WALL_CLOCK
from airwarn.store import DEFAULT_URL, connect, migrate

app = typer.Typer(
    help="CAP from other agencies: trusted senders and their certificates, and the tokens "
    "bound to them.\n\n"
    "A message posted to /v1/cap is applied at once only when its XML signature verifies with "
    "a certificate trusted for its <sender>; anything else is held for an operator (or "
    "refused, with `serve --inbound-cap refuse`). A token posts CAP only as the senders bound "
    "to it.\n\n"
    "Example:\n\n"
    "airwarn trust add alerts@neighbour.example --key neighbour-cap.pem\n\n"
    "airwarn tokens create --role sensor --name relay-1 --cap-sender alerts@neighbour.example",
    no_args_is_help=True,
)

Sender = Annotated[
    str,
    typer.Argument(
        help="The CAP <sender>, exactly as its messages write it, e.g. alerts@neighbour.example."
    ),
]


def _store(db: str):  # type: ignore[no-untyped-def]
    engine = connect(db)
    migrate(engine)
    return engine


@app.command("add")
def add(
    sender: Sender,
    key: Annotated[
        Path,
        typer.Option(
            "--key",
            help="The sender's X.509 certificate, PEM (-----BEGIN CERTIFICATE-----), "
            "as it publishes it, fetched over a channel you trust.",
        ),
    ],
    db: DbOption = DEFAULT_URL,
) -> None:
    """Trust a certificate for a sender's CAP: its signed messages are applied at once.

    A sender may have several certificates: add the new one before it rolls its key over,
    then remove the old one.

    Example: airwarn trust add alerts@neighbour.example --key neighbour-cap.pem
    """
    from airwarn.store.trust import add_trusted

    try:
        pem = key.read_bytes()
        trusted = add_trusted(_store(db), sender, pem, WALL_CLOCK.now_ms(), str(key))
    except (AirwarnError, OSError) as error:
        raise fail(error) from None
    err.print(
        f"trusted for {sender}: {trusted.subject} ({trusted.fingerprint}), valid until "
        f"{_when(trusted.not_after_ms)}",
        highlight=False,
        markup=False,
    )


@app.command("remove")
def remove(
    sender: Sender,
    fingerprint: Annotated[
        str | None,
        typer.Option(
            "--fingerprint",
            help="Only this certificate (sha256:..., see `airwarn trust "
            "list`); default: every certificate of the sender.",
        ),
    ] = None,
    db: DbOption = DEFAULT_URL,
) -> None:
    """Stop trusting a sender's certificates; its next messages are held (or refused).

    Example: airwarn trust remove alerts@neighbour.example
    """
    from airwarn.store.trust import remove_trusted

    try:
        removed = remove_trusted(_store(db), sender, fingerprint)
    except AirwarnError as error:
        raise fail(error) from None
    err.print(
        f"{removed} certificate{'s' if removed > 1 else ''} of {sender} no longer trusted",
        highlight=False,
        markup=False,
    )


@app.command("list")
def listing(db: DbOption = DEFAULT_URL) -> None:
    """The trusted senders with their certificates, and the tokens bound to each sender.

    Example: airwarn trust list --db postgresql://postgres@127.0.0.1:5432/airwarn
    """
    from airwarn.store.trust import bindings, trusted_keys

    try:
        engine = _store(db)
        keys, bound = trusted_keys(engine), bindings(engine)
    except AirwarnError as error:
        raise fail(error) from None
    tokens: dict[str, list[str]] = {}
    for token, sender in bound:
        tokens.setdefault(sender, []).append(token)
    table = Table("sender", "certificate", "subject", "valid until (UTC)", "tokens")
    for key in keys:
        table.add_row(
            key.sender,
            key.fingerprint,
            key.subject,
            _when(key.not_after_ms),
            ", ".join(tokens.pop(key.sender, [])),
        )
    for sender, names in sorted(tokens.items()):
        table.add_row(sender, "(none: its messages are held)", "", "", ", ".join(names))
    Console(width=200).print(table)


@app.command("bind")
def bind(
    token: Annotated[str, typer.Argument(help="The token's name (`airwarn tokens list`).")],
    sender: Sender,
    db: DbOption = DEFAULT_URL,
) -> None:
    """Let a token post CAP as a sender (a token posts as no sender it is not bound to).

    Example: airwarn trust bind relay-1 alerts@neighbour.example
    """
    from airwarn.store.trust import bind_sender

    try:
        bind_sender(_store(db), token, sender, WALL_CLOCK.now_ms())
    except AirwarnError as error:
        raise fail(error) from None
    err.print(f"{token} may post CAP as {sender}", highlight=False, markup=False)


@app.command("unbind")
def unbind(
    token: Annotated[str, typer.Argument(help="The token's name.")],
    sender: Sender,
    db: DbOption = DEFAULT_URL,
) -> None:
    """Stop a token posting CAP as a sender.

    Example: airwarn trust unbind relay-1 alerts@neighbour.example
    """
    from airwarn.store.trust import unbind_sender

    try:
        unbind_sender(_store(db), token, sender)
    except AirwarnError as error:
        raise fail(error) from None
    err.print(f"{token} may no longer post CAP as {sender}", highlight=False, markup=False)


def _when(t_ms: int) -> str:
    from airwarn.contract import format_time

    return format_time(int(t_ms))[:19]
