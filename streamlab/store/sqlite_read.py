"""``read_sqlite_frames``: a table written by ``to_sqlite`` read back in batches, in time order,
seeking through the time column's index (``streamlab.replay`` of a ``.db`` file uses it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from ..errors import ConfigError
from .sqlite_query import Store
from .sqlite_schema import frame_from_rows, ns, quote, restore

__all__ = ["read_sqlite_frames"]


def read_sqlite_frames(
    path: Any,
    table: str,
    *,
    time_column: str | None = None,
    start: Any = None,
    end: Any = None,
    batch_rows: int = 100_000,
) -> Iterator[pd.DataFrame]:
    """Rows of ``table`` in ``time_column`` order (rowid order without one), ``batch_rows``
    at a time, from ``start`` (inclusive) to ``end`` (exclusive). With an index on the time
    column, seeking to ``start`` is a B-tree lookup, not a scan.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> from streamz import Stream
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.db"
    >>> src = Stream(); sink = src.to_sqlite(path, "t")
    >>> t = pd.date_range("2026-01-01", periods=5, freq="s", tz="UTC")
    >>> src.emit(pd.DataFrame({"time": t, "v": range(5)}))
    >>> frames = read_sqlite_frames(path, "t", time_column="time", start=t[1], batch_rows=2)
    >>> [f["v"].tolist() for f in frames]
    [[1, 2], [3, 4]]
    >>> next(read_sqlite_frames(path, "t"))["time"].dtype == t.dtype  # as it was written
    True
    """
    store = Store(path)
    dtypes = store.dtypes(table)
    if not dtypes:
        raise ConfigError(
            f"no table {table!r} written by streamlab in {str(path)!r}; its "
            f"tables are {store.tables()}"
        )
    where, params = [], []
    if time_column is None:
        if start is not None or end is not None:
            raise ConfigError("start= and end= need time_column= (the column to seek on)")
        order = "rowid"
    else:
        order = quote(time_column)
        if start is not None:
            where.append(f"{order} >= ?")
            params.append(ns(start))
        if end is not None:
            where.append(f"{order} < ?")
            params.append(ns(end))
    sql = (
        f"SELECT * FROM {quote(table)}"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY {order}"
    )
    conn = store.connect()
    try:
        cursor = conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        while rows := cursor.fetchmany(batch_rows):
            yield restore(frame_from_rows(rows, names, dtypes), dtypes)
    finally:
        conn.close()
