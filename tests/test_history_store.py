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


def test_a_store_of_the_older_schema_takes_a_kind_as_long_as_a_category_after_upgrade(
    store: Engine,
) -> None:
    # decision_log.kind and cap_message.kind were 32 wide where an operator's category may be
    # 64 (PostgreSQL refused the write on every attempt); what a store held stays as it was
    migrate(store, "0007_relay")
    row = {"seq": 1, "event_seq": 1, "t_ms": 0, "zone": "z", "level": "alert", "status": "actual"}
    insert = sa.text(
        "INSERT INTO decision_log (seq, event_seq, t_ms, zone, level, status, kind, body) "
        "VALUES (:seq, :event_seq, :t_ms, :zone, :level, :status, :kind, '{}')"
    )
    with store.begin() as db:
        db.execute(insert, {**row, "kind": "drone"})
    migrate(store)
    category = "c" * 64
    with store.begin() as db:
        db.execute(insert, {**row, "seq": 2, "kind": category})
    with store.connect() as db:
        kinds = db.execute(sa.text("SELECT kind FROM decision_log ORDER BY seq")).scalars().all()
    assert kinds == ["drone", category]
    if store.dialect.name != "sqlite":  # SQLite holds a VARCHAR to no length at all
        widths = {
            table: {c["name"]: c["type"] for c in sa.inspect(store).get_columns(table)}
            for table in ("decision_log", "cap_message")
        }
        assert widths["decision_log"]["kind"].length == widths["cap_message"]["kind"].length == 64


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
