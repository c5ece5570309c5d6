"""The store: one schema on SQLite and PostgreSQL, made and upgraded by the shipped migrations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import postgres_engine
from sqlalchemy.engine import Engine

from airwarn.history.tables import metadata
from airwarn.store import StoreError, connect, current_revision, head_revision, migrate


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = connect(f"sqlite:///{tmp_path / 'airwarn.db'}")
        yield engine
        engine.dispose()
    else:
        yield from postgres_engine()


def test_migrate_creates_the_schema_and_is_idempotent(store: Engine) -> None:
    assert current_revision(store) is None
    migrate(store)
    migrate(store)  # a second run is a no-op
    # the newest revision, whichever it is (later concepts add 0002_... on top of 0001_history)
    assert current_revision(store) == head_revision() is not None
    assert {"history_import", "history_alert", "history_zone", "history_unmatched"} <= set(
        sa.inspect(store).get_table_names()
    )


def test_core_tables_mirror_the_migrated_schema(store: Engine) -> None:
    migrate(store)
    inspector = sa.inspect(store)
    for table in metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name


def test_sqlite_store_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'a.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_missing_folder_or_an_unknown_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        connect(f"sqlite:///{tmp_path / 'no' / 'such' / 'a.db'}")
    with pytest.raises(StoreError, match="unsupported store"):
        connect("mysql://localhost/airwarn")
    with pytest.raises(StoreError, match="not a store URL"):
        connect("not a url")
