"""The store: one schema, SQLite by default and PostgreSQL by URL, managed by migrations.

`connect(url)` gives a SQLAlchemy engine (SQLite files get WAL and foreign keys on);
`migrate(url)` upgrades the schema to the newest revision with alembic. The migrations ship
inside the package (`airwarn/store/migrations/versions/`), run programmatically, so no
alembic.ini is needed at run time. A new concept adds a revision there (`0002_...`), never
edits an old one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url

from airwarn.errors import AirwarnError

DEFAULT_URL = "sqlite:///airwarn.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

__all__ = [
    "DEFAULT_URL",
    "StoreError",
    "check_file",
    "connect",
    "current_revision",
    "head_revision",
    "migrate",
    "store_failure",
]


class StoreError(AirwarnError):
    """The store cannot be reached or used: a bad URL, a missing driver, a folder that is not
    there."""


def store_failure(exc: Exception, url: Any) -> AirwarnError:
    """What to tell the user when the store fails under a read or a write: a store going away
    (a restart) is retried; a file that is not a database, or a damaged one, is not."""
    from airwarn.errors import UnavailableError

    orig = getattr(exc, "orig", exc)
    where = (
        url.render_as_string(hide_password=True) if hasattr(url, "render_as_string") else str(url)
    )
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if (
        isinstance(exc, sa.exc.DatabaseError)
        and not isinstance(exc, sa.exc.OperationalError)
        or "malformed" in text
        or "not a database" in text
    ):
        return StoreError(
            f"the store at {where} cannot be read ({text}): the file is damaged "
            "or truncated. Restore it from a backup; `airwarn store verify` "
            "checks a store before it is used"
        )
    return UnavailableError(f"the store at {where} cannot be read just now ({text}); retry")


def _create_private(path: Path) -> None:
    """Make an SQLite file readable by its owner only (SQLite makes its -wal and -shm files
    with the same mode): it holds the log, tokens' hashes and sealed secrets."""
    import os

    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return
    except OSError as exc:
        raise StoreError(f"cannot create the SQLite file {path}: {exc.strerror}") from None


def _warn_if_shared(path: Path) -> None:
    import logging
    import stat

    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        logging.getLogger(__name__).warning(
            "%s can be read by others than its owner (mode %o); chmod 600 it", path, mode
        )


def _sqlite_pragmas(synchronous: str) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers (stats, the web app) run while a writer writes; foreign keys are
        # off by default in SQLite and the schema relies on ON DELETE CASCADE.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    return on_connect


def connect(url: str, *, durable: bool = False, **options: Any) -> Engine:
    """A SQLAlchemy engine for a store URL: `sqlite:///airwarn.db` or
    `postgresql+psycopg://user@host:5432/db`.

    `durable` makes every SQLite commit reach the disk before it returns (synchronous=FULL):
    the service acknowledges an event only after that. Imports of history, which can be
    re-run, use the faster NORMAL. `options` go to `sqlalchemy.create_engine`.
    """
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise StoreError(
            f"{url!r} is not a store URL; use e.g. sqlite:///airwarn.db or "
            "postgresql+psycopg://postgres@127.0.0.1:5432/airwarn"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database).expanduser().resolve()
            if not path.parent.is_dir():
                raise StoreError(
                    f"the folder of the SQLite file {database} does not exist; "
                    "create it or give another --db"
                )
            _create_private(path)
            if durable:  # the service's own connection: once per process
                _warn_if_shared(path)
    elif backend == "postgresql":
        if parsed.drivername == "postgresql":  # psycopg 3 is the driver airwarn ships with
            parsed = parsed.set(drivername="postgresql+psycopg")
        # after a server restart the pooled connections are dead: test each on checkout
        # (a round trip of well under a millisecond on a LAN) rather than fail one request
        options.setdefault("pool_pre_ping", True)
    else:
        raise StoreError(
            f"unsupported store {backend!r}: airwarn stores in SQLite "
            "(sqlite:///FILE) or PostgreSQL (postgresql+psycopg://...)"
        )
    try:
        engine = sa.create_engine(parsed, **options)
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"the driver for {backend} is not installed ({exc.name}); for "
            "PostgreSQL: pip install 'psycopg[binary]>=3.1'"
        ) from None
    if backend == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas("FULL" if durable else "NORMAL"))
    return engine


def check_file(engine: Engine) -> None:
    """For an SQLite store, SQLite's own quick check of every page (a few hundred MB a
    second): a truncated or damaged file is refused here with what to do, not met later as a
    traceback halfway through a replay. PostgreSQL checks its own pages."""
    if engine.url.get_backend_name() != "sqlite":
        return
    try:
        with engine.connect() as conn:
            found = [str(row[0]) for row in conn.exec_driver_sql("PRAGMA quick_check(3)")]
    except sa.exc.DatabaseError as exc:
        raise store_failure(exc, engine.url) from None
    if found != ["ok"]:
        raise StoreError(
            f"the store at {engine.url.database} is damaged or truncated (SQLite "
            f"finds: {'; '.join(found)}). Restore it from a backup"
        )


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(url: str | Engine, revision: str = "head") -> None:
    """Upgrade the store's schema to `revision` (default: the newest), creating it if empty.

    Safe to run any number of times: a store already at the revision is left as it is.
    """
    from alembic import command

    engine = connect(url) if isinstance(url, str) else url
    try:
        command.upgrade(_alembic_config(engine), revision)
    except sa.exc.OperationalError as exc:
        failure = store_failure(exc, engine.url)
        if isinstance(failure, StoreError):
            raise failure from None
        raise StoreError(f"cannot reach the store at {engine.url!r}: {exc.orig}") from None
    except sa.exc.DatabaseError as exc:
        raise store_failure(exc, engine.url) from None


def head_revision() -> str:
    """The newest revision the package ships."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision a store is at, or None when it has never been migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
