"""`airwarn store`: look after a store (check its log's seal) without serving it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer
from sqlalchemy.engine import make_url

from airwarn.cli.common import FAILURE, USAGE, DbOption, err, fail
from airwarn.errors import AirwarnError
from airwarn.store import (
    DEFAULT_URL,
    check_file,
    connect,
    current_revision,
    head_revision,
    store_failure,
)

app = typer.Typer(
    help="Look after a store: check its event log's seal.\n\n"
    "Every event the server stores is sealed with the key in its keys folder; `serve` checks "
    "the log's end at each start, and `store verify` checks all of it (after a restore, or "
    "when in doubt).\n\n"
    "Examples:\n\n"
    "airwarn store verify\n\n"
    "airwarn store verify --db postgresql://airwarn@db:5432/airwarn --keys /etc/airwarn/keys",
    no_args_is_help=True,
)


@app.command("verify")
def verify(
    db: DbOption = DEFAULT_URL,
    keys: Annotated[
        Path,
        typer.Option("--keys", help="The keys folder the store was written with (its store.key)."),
    ] = Path("airwarn-keys"),
    first: Annotated[int, typer.Option("--from", min=1, help="First event to check.")] = 1,
    last: Annotated[
        int | None,
        typer.Option("--to", min=1, help="Last event to check (default: the end of the log)."),
    ] = None,
    accept_end: Annotated[
        bool,
        typer.Option(
            "--accept-end",
            help="After checking the whole log, take its end as this server's "
            "record of it (once, after restoring a backup on purpose).",
        ),
    ] = False,
) -> None:
    """Check that every event from --from to --to holds its seal (it, the decisions and the
    CAP messages it caused are as written, none dropped) and, to the end of the log, that
    nothing was cut from its end. Exits 1 naming the first event at fault.

    Examples:

    airwarn store verify --db sqlite:///airwarn.db --keys airwarn-keys

    airwarn store verify --from 1000 --to 2000
    """
    from airwarn.store.integrity import Anchor, verify_log
    from airwarn.store.log import SERVICE_META, ServiceLog
    from airwarn.store.secrets import load_store_keys

    if accept_end and (first != 1 or last is not None):
        raise fail("--accept-end checks the whole log: leave out --from and --to", USAGE)
    try:
        if not keys.is_dir() or not (keys / "store.key").exists():
            raise AirwarnError(
                f"{keys} holds no store.key; give the --keys folder the store was written with"
            )
        parsed = make_url(db) if "://" in db else None
        if (
            parsed is not None
            and parsed.get_backend_name() == "sqlite"
            and parsed.database
            and not Path(parsed.database).exists()
        ):
            raise AirwarnError(f"there is no SQLite store at {parsed.database}")
        engine = connect(db)
        url = engine.url
        try:
            check_file(engine)
            revision = current_revision(engine)
            meta: dict[str, str] = {}
            if revision != head_revision() and not (accept_end and revision is None):
                raise AirwarnError(
                    "this store's schema is not the newest (or it is empty): "
                    "start `airwarn serve` on it once, which upgrades it"
                )
            if revision is not None:
                with engine.connect() as conn:
                    meta = dict(
                        conn.execute(sa.select(SERVICE_META.c.key, SERVICE_META.c.value)).all()
                    )
            store_keys = load_store_keys(keys)
            if accept_end and "store_id" not in meta:
                Anchor(keys, url).clear()
                err.print(
                    "this store holds no service log: the record of the log's end is "
                    "forgotten, and the next start begins a new one"
                )
                return
            done = verify_log(
                ServiceLog(engine),
                meta,
                store_keys,
                engine.url,
                first,
                last,
                check_recorded_end=not accept_end,
            )
        except sa.exc.SQLAlchemyError as exc:
            raise store_failure(exc, engine.url) from None
        finally:
            engine.dispose()
    except AirwarnError as error:
        raise fail(error, FAILURE) from None
    if done.count == 0:
        err.print(f"no events from {first} on: nothing to check")
    else:
        err.print(
            f"verified {done.count} events ({done.first} to {done.last}): each holds its seal"
        )
    if done.end is not None:
        err.print(f"the log reaches the end this server recorded (event {done.end})")
    if accept_end:
        anchor = Anchor(keys, url)
        anchor.write(meta["store_id"], done.last, done.head)
        anchor.close()
        err.print(f"recorded event {done.last} as the end of this store's log")
