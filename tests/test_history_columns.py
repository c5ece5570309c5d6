"""Reading a query's rows as numpy columns: the Arrow reader and the DB-API rows give the same
arrays, also where a text column is empty for its first thousands of rows (the Arrow reader
infers types from the first rows)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from airwarn.history.columns import INTEGER, TEXT, arrow_available, read_columns
from airwarn.store import connect

pytest.importorskip(
    "adbc_driver_sqlite",
    reason="the Arrow reader (adbc-driver-sqlite) is not "
    "installed; the DB-API reader is tested through the statistics tests",
)


def test_both_readers_give_the_same_columns_with_empty_text_first(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'a.db'}")
    table = sa.table("t", sa.column("zone"), sa.column("start"))
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (zone TEXT, start INTEGER)")
        # 5,000 rows with no zone, then zones: an Arrow batch of NULLs would be an integer column
        connection.execute(
            sa.insert(table),
            [{"zone": None, "start": i} for i in range(5000)]
            + [{"zone": f"z{i % 7}", "start": 1_700_000_000 + i} for i in range(3000)],
        )
    query = sa.select(sa.func.coalesce(table.c.zone, ""), table.c.start)
    assert arrow_available(engine)
    arrow = read_columns(engine, query, (TEXT, INTEGER), via_arrow=True)
    rows = read_columns(engine, query, (TEXT, INTEGER), via_arrow=False)
    assert arrow is not None and rows is not None
    assert arrow[0].dtype == rows[0].dtype == object
    assert arrow[0].tolist() == rows[0].tolist()
    assert arrow[0][0] is None and arrow[0][-1] == "z3"
    assert arrow[1].dtype == np.int64 and np.array_equal(arrow[1], rows[1])
    empty = read_columns(engine, query.where(table.c.start < 0), (TEXT, INTEGER))
    assert empty is None
    engine.dispose()


def test_only_a_sqlite_file_is_read_through_arrow(tmp_path: Path) -> None:
    assert not arrow_available(sa.create_engine("sqlite://"))
    # (airwarn's own connect creates the file, private to its owner, before anything reads it)
    assert not arrow_available(sa.create_engine(f"sqlite:///{tmp_path / 'not-yet.db'}"))
