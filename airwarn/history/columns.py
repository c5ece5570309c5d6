"""Read a query's rows as numpy columns. A statistics query reads 100,000 rows and more, and
how they are fetched is most of its time.

On a SQLite file, with `adbc-driver-sqlite` installed, the rows come as Arrow columns (C all the
way, about half the CPU time of Python's sqlite3, which makes a Python object of every value);
otherwise, and on PostgreSQL, through the DB-API cursor. Both give the same arrays: text columns
as object arrays, integer columns as int64.

Text columns must never be NULL in the query (write `coalesce(x, '')`): the Arrow reader infers
a column's type from its first rows, and a NULL there would make a text column an integer one.
The empty text comes back as None, which no store value is (the importers write None).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

try:  # optional: the fast path
    import pyarrow.compute as pc
    from adbc_driver_sqlite import dbapi as adbc_sqlite
except ImportError:  # pragma: no cover - depends on what is installed
    adbc_sqlite = None  # type: ignore[assignment]

TEXT, INTEGER = "text", "integer"


def arrow_available(engine: Engine) -> bool:
    """Whether this store can be read through Arrow: a SQLite file and the driver installed."""
    database = engine.url.database
    return (
        adbc_sqlite is not None
        and engine.dialect.name == "sqlite"
        and bool(database)
        and database != ":memory:"
        and Path(str(database)).is_file()
    )


def read_columns(
    engine: Engine, query: sa.Select[Any], kinds: Sequence[str], *, via_arrow: bool | None = None
) -> list[np.ndarray] | None:
    """The query's columns (`kinds`: TEXT or INTEGER for each), or None if it has no rows.

    `via_arrow`: None reads through Arrow whenever it can; True or False forces the reader
    (True fails where Arrow cannot read the store).
    """
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    if via_arrow is None:
        via_arrow = arrow_available(engine)
    if via_arrow:
        return _read_arrow(str(engine.url.database), sql, kinds)
    return _read_rows(engine, sql, kinds)


def _read_arrow(database: str, sql: str, kinds: Sequence[str]) -> list[np.ndarray] | None:
    if adbc_sqlite is None:
        raise RuntimeError("adbc-driver-sqlite is not installed")
    with adbc_sqlite.connect(database) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        table = cursor.fetch_arrow_table()
    if table.num_rows == 0:
        return None
    out = []
    for index, kind in enumerate(kinds):
        column = table.column(index)
        if kind == TEXT:
            # each distinct text once as a Python object, then picked by index: no object per row
            encoded = pc.dictionary_encode(column).combine_chunks()
            values = np.array(encoded.dictionary.to_pylist() + [""], dtype=object)
            values[values == ""] = None
            out.append(values[encoded.indices.to_numpy()])
        else:
            out.append(column.to_numpy().astype(np.int64))
    return out


def _read_rows(engine: Engine, sql: str, kinds: Sequence[str]) -> list[np.ndarray] | None:
    with engine.connect() as connection:
        # raw DB-API rows: several times faster than ORM-style Row objects for 100k rows
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(sql)
        rows = cursor.fetchall()
        cursor.close()
    if not rows:
        return None
    # one 2-D object array, then columns: about twice as fast as zip(*rows) per column
    table = np.array(rows, dtype=object)
    out = []
    for index, kind in enumerate(kinds):
        if kind == TEXT:
            values = table[:, index].copy()
            values[values == ""] = None
            out.append(values)
        else:
            out.append(table[:, index].astype(np.int64))
    return out
