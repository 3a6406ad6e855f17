"""``Store``: query a SQLite file written by streamlab, list its tables, see its query plans.

Read-only connections (``mode=ro``): a notebook can query while a stream writes (WAL). Columns
come back with the pandas dtypes they were written with (:func:`~.sqlite_schema.restore`).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError, StoreError
from .sqlite_schema import META, restore
from .sqlite_write import explain

__all__ = ["Store"]


class Store:
    """A SQLite file written by streamlab: query it, list its tables, see its query plans.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> from streamz import Stream
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.db"
    >>> src = Stream(); sink = src.to_sqlite(path, "t", indexes=["k"])
    >>> src.emit(pd.DataFrame({"k": ["a", "b"], "v": [1.5, 2.5]}))
    >>> Store(path).tables()
    ['t']
    >>> Store(path).query("SELECT * FROM t WHERE k = ?", ("b",))
       k    v
    0  b  2.5
    """

    def __init__(self, path: Any, *, timeout: float = 5.0) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(
                f"no database at {str(self.path)!r}; write one with "
                "stream.to_sqlite(path, table) first"
            )
        self.timeout = timeout

    def connect(self) -> sqlite3.Connection:
        """A new read-only connection to the file (the caller closes it)."""
        try:
            return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=self.timeout)
        except sqlite3.Error as exc:
            raise explain(exc, self.path, self.timeout) from exc

    def _reading(self) -> contextlib.closing[sqlite3.Connection]:
        """:meth:`connect` for one ``with`` block, closed at its end (a sqlite3 connection's
        own ``with`` commits, it does not close)."""
        return contextlib.closing(self.connect())

    def tables(self) -> list[str]:
        """The tables streamlab wrote (not its own bookkeeping), by name."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name "
                "NOT LIKE '_streamlab%' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            ).fetchall()
        return [r[0] for r in rows]

    def dtypes(self, table: str) -> dict[str, str]:
        """The pandas dtype each column of ``table`` was written with (``{}``: none known)."""
        with self._reading() as conn:
            try:
                return dict(
                    conn.execute(
                        f"SELECT col, dtype FROM {META} WHERE tbl = ?", (table,)
                    ).fetchall()
                )
            except sqlite3.OperationalError:
                return {}

    def query(self, sql: str, params: Any = (), *, table: str | None = None) -> pd.DataFrame:
        """Run ``sql``; columns of ``table`` (default: the first table after FROM) come back
        with the dtypes they were written with."""
        if table is None:
            found = re.search(r"\bFROM\s+\"?([A-Za-z_][A-Za-z0-9_]*)", sql, re.IGNORECASE)
            table = found.group(1) if found else None
        with self._reading() as conn:
            try:
                df = pd.read_sql_query(sql, conn, params=params, dtype_backend="numpy_nullable")
            except (sqlite3.Error, pd.errors.DatabaseError) as exc:
                raise StoreError(f"query failed on {str(self.path)!r}: {exc}") from exc
        return restore(df, self.dtypes(table) if table else {})

    def explain(self, sql: str, params: Any = ()) -> pd.DataFrame:
        """SQLite's query plan for ``sql``, one row per step, and whether it uses an index."""
        with self._reading() as conn:
            rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        plan = pd.DataFrame(rows, columns=["id", "parent", "notused", "detail"])
        plan["uses_index"] = plan["detail"].str.contains(
            r"USING (?:COVERING )?INDEX|"
            r"USING INTEGER PRIMARY KEY"
        )
        return plan[["id", "parent", "detail", "uses_index"]]
