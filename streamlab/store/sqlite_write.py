"""The SQLite write path: open a file in WAL mode, create a table and its indexes from the first
batch, and write each batch in one transaction (adding new columns, refusing changed types).

Plain code, no streamz: :class:`TableWriter` is what the ``to_sqlite`` sink node holds, and a
script can use it directly. Failures raise :class:`~streamlab.errors.StoreError` with what
happened and what to do (:func:`explain`); a batch refused by the schema policy raises
:class:`~streamlab.errors.BatchRejected` (a ``StoreError``) before anything is written.

Examples
--------
>>> import tempfile, pathlib, pandas as pd
>>> path = pathlib.Path(tempfile.mkdtemp()) / "w.db"
>>> w = TableWriter(path, "t")
>>> w.write(pd.DataFrame({"k": ["a"], "v": [1.5]})), w.write(pd.DataFrame({"k": ["b"], "n": [2]}))
(False, True)
>>> w.write(pd.DataFrame({"v": ["text"]}))
Traceback (most recent call last):
...
streamlab.errors.BatchRejected: column 'v' changed type from float64 to str; cast it back (or write to a new table)
>>> w.close()
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.batch import ARRIVAL_TIME, time_column
from ..errors import BatchRejected, ConfigError, StoreError
from .sqlite_schema import META, column_values, compatible, quote, sql_type, unstorable

__all__ = ["TableWriter", "connect", "explain"]


def connect(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection in autocommit mode with the WAL journal (readers do not block the writer)."""
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.Error as exc:
        raise explain(exc, path, timeout) from exc
    return conn


def explain(exc: Exception, path: Path, timeout: float) -> StoreError:
    """A sqlite3 error as a :class:`StoreError` that says what to do."""
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return StoreError(
            f"{str(path)!r} is read-only ({text}); make the file and its folder "
            "writable, or write to another path"
        )
    if "locked" in text or "busy" in text:
        return StoreError(
            f"{str(path)!r} stayed locked by another connection for more than "
            f"{timeout:g} s ({text}); close the other writer or raise timeout="
        )
    if "unable to open" in text:
        return StoreError(
            f"cannot open {str(path)!r} ({text}); check the folder exists and is writable"
        )
    return StoreError(f"{str(path)!r}: {text}")


class TableWriter:
    """One table of one SQLite file, written one transaction per batch.

    The connection opens with the first batch (:meth:`write`) and stays open until
    :meth:`close`; the next batch opens it again. ``mode="replace"`` drops the table at the
    first opening only, and again after :meth:`start_over`. ``indexes``: the columns that get a
    B-tree index (``None``: the batch's event-time column and ``arrival_time``, those present).
    """

    def __init__(
        self,
        path: Path,
        table: str,
        *,
        indexes: list[str] | None = None,
        mode: str = "append",
        timeout: float = 5.0,
    ) -> None:
        self.path, self.table, self.indexes = Path(path), table, indexes
        self.mode, self.timeout = mode, timeout
        self.conn: sqlite3.Connection | None = None
        self.columns: dict[str, str] = {}  # column -> pandas dtype string (while open)
        self._replaced = False  # mode="replace" drops the table once, not at each reopening

    def write(self, df: pd.DataFrame) -> bool:
        """Write one batch now (one transaction); True if it added columns. Raises
        :class:`~streamlab.errors.BatchRejected` for a batch the schema refuses, :class:`StoreError` on failure."""
        conn = self.conn if self.conn is not None else self._open(df)
        known = self.columns
        new = [c for c in df.columns if c not in known]
        changed = [
            c
            for c in df.columns
            if c in known and known[c] != str(df[c].dtype) and not compatible(known[c], df[c].dtype)
        ]
        why = unstorable(df)
        if why:
            raise BatchRejected(why)
        if changed:
            raise BatchRejected(
                f"column {changed[0]!r} changed type from {known[changed[0]]}"
                f" to {df[changed[0]].dtype}; cast it back (or write to a new table)"
            )
        cols = list(df.columns)
        sql = (
            f"INSERT INTO {quote(self.table)} ({', '.join(map(quote, cols))}) "
            f"VALUES ({', '.join('?' * len(cols))})"
        )
        rows = zip(*[column_values(df[c]) for c in cols], strict=True)
        try:
            conn.execute("BEGIN IMMEDIATE")
            for c in new:
                conn.execute(
                    f"ALTER TABLE {quote(self.table)} ADD COLUMN {quote(c)} {sql_type(df[c].dtype)}"
                )
                self._remember(conn, c, df[c].dtype)
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise explain(exc, self.path, self.timeout) from exc
        known.update({c: str(df[c].dtype) for c in new})
        return bool(new)

    def _open(self, df: pd.DataFrame) -> sqlite3.Connection:
        conn = connect(self.path, self.timeout)
        try:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {META} (tbl TEXT, col TEXT, dtype TEXT, "
                "PRIMARY KEY (tbl, col))"
            )
            if self.mode == "replace" and not self._replaced:
                conn.execute(f"DROP TABLE IF EXISTS {quote(self.table)}")
                conn.execute(f"DELETE FROM {META} WHERE tbl = ?", (self.table,))
                self._replaced = True
            known = dict(
                conn.execute(
                    f"SELECT col, dtype FROM {META} WHERE tbl = ?", (self.table,)
                ).fetchall()
            )
            if not known:
                defs = ", ".join(f"{quote(c)} {sql_type(df[c].dtype)}" for c in df.columns)
                conn.execute(f"CREATE TABLE IF NOT EXISTS {quote(self.table)} ({defs})")
                for c in df.columns:
                    self._remember(conn, c, df[c].dtype)
                known = {c: str(df[c].dtype) for c in df.columns}
            self._index(conn, known, [time_column(df), ARRIVAL_TIME])
        except sqlite3.Error as exc:
            conn.close()
            raise explain(exc, self.path, self.timeout) from exc
        except ConfigError:
            conn.close()
            raise
        self.conn, self.columns = conn, known
        return conn

    def _index(self, conn: sqlite3.Connection, known: dict[str, str], default: list) -> None:
        """Create the indexes asked for (by default the ``default`` columns the table has)."""
        present = [c for c in dict.fromkeys(default) if c in known]
        indexes = self.indexes if self.indexes is not None else present
        missing = [c for c in indexes if c not in known]
        if missing:
            raise ConfigError(
                f"indexes names {missing} that table {self.table!r} does not "
                f"have; its columns are {list(known)}"
            )
        for c in indexes:
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS {quote(f'ix_{self.table}_{c}')} "
                f"ON {quote(self.table)} ({quote(c)})"
            )

    def _remember(self, conn: sqlite3.Connection, column: str, dtype: Any) -> None:
        conn.execute(
            f"INSERT OR REPLACE INTO {META} VALUES (?, ?, ?)", (self.table, column, str(dtype))
        )

    def start_over(self) -> None:
        """The stream starts again: with ``mode="replace"`` the next batch replaces the table
        again (so a second run leaves what the first left); ``append`` goes on appending."""
        if self.mode == "replace":
            self.close()
            self._replaced = False

    def close(self) -> None:
        """Close the connection (the next batch opens it again)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
