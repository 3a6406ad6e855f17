"""SQLite: the embedded default store. A sink that writes batches in transactions, a ``Store``
to query what it kept, and a reader that seeks through a time index.

Each batch is one transaction: after a crash (even ``kill -9``) the file opens and holds every
committed batch whole and no part of the others. The journal is WAL, so readers (a notebook
querying while a stream writes) do not block the writer. Column types round-trip exactly: a
small table ``_streamlab_columns`` remembers each column's pandas dtype. Event times are stored
as INTEGER nanoseconds since the epoch (exact, and indexed as numbers); ``Store.query`` turns them
back into ``datetime64[ns, UTC]``; in raw SQL compare them with ``streamlab.store.ns(...)``.

Floats are bit-exact, NaN (stored as NULL) and infinities included, with one exception SQLite
imposes: ``-0.0`` comes back as ``0.0`` (it stores a REAL with no fraction as an integer). Use
Parquet when the sign of zero matters.

The connection opens with the first batch and closes when every source feeding the sink has
stopped (``release()``, called by the sources); a source started again opens it again.

Schema drift, stated once: a batch with a new column adds it to the table (``ALTER TABLE``,
counted in ``stats.schema_changes``); a batch whose column changed type (text in an integer
column) is not written: it goes to the sink's ``.errors`` stream with the reason, and the
stream goes on. A write that fails (read-only file, a lock held too long) does the same.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from streamz.sinks import Sink

from ..core.batch import time_column
from ..core.checks import check_choice, check_number
from ..core.registry import register_step
from ..core.stats import Stats
from ..core.step import Step
from ..errors import ConfigError, StoreError

__all__ = ["Store", "StoreError", "ns", "read_sqlite_frames", "to_sqlite"]

META = "_streamlab_columns"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ns(when) -> int:
    """A time as the INTEGER nanoseconds the store keeps, for hand-written SQL.

    Examples
    --------
    >>> ns("2026-01-01T00:00:01Z")
    1767225601000000000
    """
    stamp = pd.Timestamp(when)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.value


def _quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _sql_type(dtype) -> str:
    kind = getattr(dtype, "kind", "O")
    return {
        "i": "INTEGER",
        "u": "INTEGER",
        "b": "INTEGER",
        "M": "INTEGER",
        "m": "INTEGER",
        "f": "REAL",
    }.get(kind, "TEXT")


def _column_values(s: pd.Series) -> list:
    """A column as the Python values sqlite3 binds: times and durations as int ns, missing
    as None."""
    if s.dtype.kind in "Mm":
        values = (s.dt.as_unit("ns") if s.dt.unit != "ns" else s).array.asi8.tolist()
        if s.isna().any():
            for i in np.flatnonzero(s.isna().to_numpy()).tolist():
                values[i] = None
        return values
    if s.dtype.kind == "f" and not isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
        return s.tolist()  # NaN is stored as NULL by SQLite itself
    if s.hasnans if hasattr(s, "hasnans") else s.isna().any():
        return s.astype(object).where(s.notna(), None).tolist()
    return s.tolist()


_STORABLE = (str, bytes, int, float, bool, type(None))


def _python_objects(df: pd.DataFrame) -> str | None:
    """Why a batch cannot be stored, if a column holds Python objects SQLite has no type for
    (tuples, lists, dicts...): named, not a binding error about "parameter 2"."""
    for col in df.columns:
        s = df[col]
        if s.dtype != object or pd.api.types.infer_dtype(s, skipna=True) in (
            "string",
            "bytes",
            "integer",
            "floating",
            "boolean",
            "empty",
        ):
            continue
        odd = next((v for v in s if not isinstance(v, _STORABLE) and v is not pd.NA), None)
        if odd is not None:
            return (
                f"column {col!r} holds {type(odd).__name__} values; SQLite stores numbers, "
                "text and bytes: convert the column (e.g. to JSON text) first"
            )
    return None


def _connect(path: Path, timeout: float) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.Error as exc:
        raise _explain(exc, path, timeout) from exc
    return conn


def _explain(exc: Exception, path: Path, timeout: float) -> StoreError:
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


@register_step(kind="sink")
class to_sqlite(Step, Sink):
    """Write every batch to a SQLite table, one transaction per batch.

    The table is created from the first batch (``mode="replace"`` drops it first); each column
    in ``indexes`` gets a B-tree index (default: the batch's event-time column and, in a
    recording, ``arrival_time``).
    See the module docstring for crash safety, time columns and the schema-drift policy.

    Examples
    --------
    >>> import tempfile, pathlib, streamlab
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.db"
    >>> src = streamlab.generate("sine", rows=2000, batch_rows=500)
    >>> sink = src.to_sqlite(path, "readings")
    >>> _ = streamlab.run(src)
    >>> store = streamlab.Store(path)
    >>> store.query("SELECT count(*) AS n FROM readings")["n"].tolist(), sink.stats.batches
    ([2000], 4)
    >>> store.explain("SELECT * FROM readings WHERE time >= 0")["uses_index"].all()
    np.True_
    """

    SIDE_OUTPUTS = ("errors",)

    def __init__(
        self, upstream, path, table, *, indexes=None, mode="append", timeout=5.0, stream_name=None
    ) -> None:
        super().__init__(upstream, stream_name=stream_name or f"to_sqlite({table})")
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise ConfigError(
                f"cannot write {str(self.path)!r}: folder "
                f"{str(self.path.parent)!r} does not exist; create it first"
            )
        if not _NAME.match(str(table)) or str(table).startswith("_streamlab"):
            raise ConfigError(f"table must be a plain name (letters, digits, _), not {table!r}")
        self.table = str(table)
        self.indexes = (
            None if indexes is None else [indexes] if isinstance(indexes, str) else list(indexes)
        )
        self.mode = check_choice("mode", mode, ("append", "replace"))
        self.timeout = check_number("timeout", timeout, low=0)
        self.stats = Stats()
        self.make_side_outputs(self.name)
        self._conn: sqlite3.Connection | None = None
        self._columns: dict[str, str] | None = None  # column -> pandas dtype string
        self._replaced = False  # mode="replace" drops the table once, not at each reopening

    def update(self, x: pd.DataFrame, who=None, metadata=None):
        try:
            self.write(x)
        except StoreError as exc:
            return self._reject(x, str(exc))
        return None

    def write(self, df: pd.DataFrame) -> None:
        """Write one batch now (one transaction); raises on failure."""
        if not len(df.columns):
            return
        conn = self._ready(df)
        new = [c for c in df.columns if c not in self._columns]
        changed = [
            c
            for c in df.columns
            if c in self._columns
            and self._columns[c] != str(df[c].dtype)
            and not _compatible(self._columns[c], df[c].dtype)
        ]
        unstorable = _python_objects(df)
        if unstorable:
            raise _Rejected(unstorable)
        if changed:
            raise _Rejected(
                f"column {changed[0]!r} changed type from {self._columns[changed[0]]}"
                f" to {df[changed[0]].dtype}; cast it back (or write to a new table)"
            )
        cols = list(df.columns)
        sql = (
            f"INSERT INTO {_quote(self.table)} ({', '.join(map(_quote, cols))}) "
            f"VALUES ({', '.join('?' * len(cols))})"
        )
        rows = zip(*[_column_values(df[c]) for c in cols], strict=True)
        try:
            conn.execute("BEGIN IMMEDIATE")
            for c in new:
                conn.execute(
                    f"ALTER TABLE {_quote(self.table)} ADD COLUMN {_quote(c)} "
                    f"{_sql_type(df[c].dtype)}"
                )
                self._remember(conn, c, df[c].dtype)
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise _explain(exc, self.path, self.timeout) from exc
        if new:
            self.stats.schema_changes += 1
            self._columns.update({c: str(df[c].dtype) for c in new})
        self.stats.count_batch(rows=len(df))

    def _ready(self, df: pd.DataFrame) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        conn = _connect(self.path, self.timeout)
        try:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {META} (tbl TEXT, col TEXT, dtype TEXT, "
                "PRIMARY KEY (tbl, col))"
            )
            if self.mode == "replace" and not self._replaced:
                conn.execute(f"DROP TABLE IF EXISTS {_quote(self.table)}")
                conn.execute(f"DELETE FROM {META} WHERE tbl = ?", (self.table,))
                self._replaced = True
            known = dict(
                conn.execute(
                    f"SELECT col, dtype FROM {META} WHERE tbl = ?", (self.table,)
                ).fetchall()
            )
            if not known:
                defs = ", ".join(f"{_quote(c)} {_sql_type(df[c].dtype)}" for c in df.columns)
                conn.execute(f"CREATE TABLE IF NOT EXISTS {_quote(self.table)} ({defs})")
                for c in df.columns:
                    self._remember(conn, c, df[c].dtype)
                known = {c: str(df[c].dtype) for c in df.columns}
            default = [c for c in dict.fromkeys([time_column(df), "arrival_time"]) if c in known]
            indexes = self.indexes if self.indexes is not None else default
            missing = [c for c in indexes if c not in known]
            if missing:
                raise ConfigError(
                    f"indexes names {missing} that table {self.table!r} does not "
                    f"have; its columns are {list(known)}"
                )
            for c in indexes:
                conn.execute(
                    f"CREATE INDEX IF NOT EXISTS {_quote(f'ix_{self.table}_{c}')} "
                    f"ON {_quote(self.table)} ({_quote(c)})"
                )
        except sqlite3.Error as exc:
            conn.close()
            raise _explain(exc, self.path, self.timeout) from exc
        except ConfigError:
            conn.close()
            raise
        self._conn, self._columns = conn, known
        return conn

    def _remember(self, conn, column: str, dtype) -> None:
        conn.execute(
            f"INSERT OR REPLACE INTO {META} VALUES (?, ?, ?)", (self.table, column, str(dtype))
        )

    def _reject(self, df: pd.DataFrame, reason: str):
        self.stats.dropped += 1
        rejected = pd.DataFrame(
            {
                "time": [pd.Timestamp.now(tz="UTC").as_unit("ns")],
                "reason": [reason],
                "rows": [len(df)],
            }
        )
        return self.to_side("errors", rejected)

    def reset(self) -> None:
        """Its source starts again: ``mode="replace"`` replaces the table again (so a second
        run leaves what the first left); ``append`` appends, as asked."""
        if self.mode == "replace":
            self.close()
            self._replaced = False

    def close(self) -> None:
        """Close the database connection (the next batch opens it again)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def release(self) -> None:
        """Every source feeding the sink has stopped: close the connection (see ``close``)."""
        self.close()


class _Rejected(StoreError):
    pass


def _compatible(stored: str, dtype) -> bool:
    """Same column, harmless difference: an int column arriving as float (NaN), a text column
    whose dtype spelling differs (object vs str), or a time in another unit."""
    kind = getattr(dtype, "kind", "O")
    stored_kind = pd.api.types.pandas_dtype(stored).kind if stored not in ("str", "string") else "O"
    if stored_kind == kind or {stored_kind, kind} <= {"O", "U", "S"}:
        return True
    return stored_kind in "iu" and kind == "f"


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

    def __init__(self, path, *, timeout: float = 5.0) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(
                f"no database at {str(self.path)!r}; write one with "
                "stream.to_sqlite(path, table) first"
            )
        self.timeout = timeout

    def _conn(self) -> sqlite3.Connection:
        try:
            return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=self.timeout)
        except sqlite3.Error as exc:
            raise _explain(exc, self.path, self.timeout) from exc

    def tables(self) -> list[str]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name "
                "NOT LIKE '_streamlab%' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            ).fetchall()
        return [r[0] for r in rows]

    def dtypes(self, table: str) -> dict[str, str]:
        with self._conn() as conn:
            try:
                return dict(
                    conn.execute(
                        f"SELECT col, dtype FROM {META} WHERE tbl = ?", (table,)
                    ).fetchall()
                )
            except sqlite3.OperationalError:
                return {}

    def query(self, sql: str, params=(), *, table: str | None = None) -> pd.DataFrame:
        """Run ``sql``; columns of ``table`` (default: the first table after FROM) come back
        with the dtypes they were written with."""
        if table is None:
            found = re.search(r"\bFROM\s+\"?([A-Za-z_][A-Za-z0-9_]*)", sql, re.IGNORECASE)
            table = found.group(1) if found else None
        conn = self._conn()
        try:
            df = pd.read_sql_query(sql, conn, params=params, dtype_backend="numpy_nullable")
        except (sqlite3.Error, pd.errors.DatabaseError) as exc:
            raise StoreError(f"query failed on {str(self.path)!r}: {exc}") from exc
        finally:
            conn.close()
        return restore(df, self.dtypes(table) if table else {})

    def explain(self, sql: str, params=()) -> pd.DataFrame:
        """SQLite's query plan for ``sql``, one row per step, and whether it uses an index."""
        with self._conn() as conn:
            rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        plan = pd.DataFrame(rows, columns=["id", "parent", "notused", "detail"])
        plan["uses_index"] = plan["detail"].str.contains(
            r"USING (?:COVERING )?INDEX|"
            r"USING INTEGER PRIMARY KEY"
        )
        return plan[["id", "parent", "detail", "uses_index"]]


def restore(df: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """Give columns read from SQLite back the pandas dtypes they were written with: times and
    durations in their unit and zone, float32, booleans, nullable types, categories (with the
    categories the stored values hold).

    Examples
    --------
    >>> raw = pd.DataFrame({"t": [1_500_000_000], "x": [0.5], "d": [None]})
    >>> back = restore(raw, {"t": "datetime64[s, UTC]", "x": "float32", "d": "timedelta64[us]"})
    >>> back.dtypes.astype(str).tolist(), back["t"].iloc[0]
    (['datetime64[s, UTC]', 'float32', 'timedelta64[us]'], Timestamp('1970-01-01 00:00:01+0000', tz='UTC'))
    """
    for col in df.columns:
        want = dtypes.get(col)
        s = df[col]
        if want is None:
            if isinstance(s.dtype, pd.Float64Dtype):
                df[col] = s.astype("float64")
            continue
        try:
            target = pd.api.types.pandas_dtype(want)
        except (TypeError, ValueError):  # written by another pandas: keep what SQL gave
            continue
        kind = getattr(target, "kind", "O")
        numpy = not isinstance(target, pd.api.extensions.ExtensionDtype)
        if kind in "Mm":
            ns = s.to_numpy(dtype="int64", na_value=np.iinfo(np.int64).min)
            if kind == "m":
                values = pd.to_timedelta(ns, unit="ns")
            else:
                tz = getattr(target, "tz", None)
                values = pd.to_datetime(ns, unit="ns", utc=tz is not None)
                values = values.tz_convert(tz) if tz is not None else values
            df[col] = pd.Series(values, index=df.index).astype(target)
        elif kind == "f" and numpy:
            df[col] = s.to_numpy(dtype="float64", na_value=np.nan).astype(target)
        elif kind == "b" and numpy:
            df[col] = s.astype("bool")
        elif isinstance(target, pd.CategoricalDtype) and pd.api.types.is_string_dtype(s.dtype):
            df[col] = s.astype("str").astype(target)  # text categories, as pandas makes them
        else:
            with contextlib.suppress(TypeError, ValueError):
                df[col] = s.astype(target)
    return df


def read_sqlite_frames(
    path,
    table: str,
    *,
    time_column: str | None = None,
    start=None,
    end=None,
    batch_rows: int = 100_000,
) -> Iterator[pd.DataFrame]:
    """Rows of ``table`` in ``time_column`` order (rowid order without one), ``batch_rows``
    at a time, from ``start`` (inclusive) to ``end`` (exclusive). With an index on the time
    column, seeking to ``start`` is a B-tree lookup, not a scan."""
    store = Store(path)
    dtypes = store.dtypes(table)
    if not dtypes:
        raise ConfigError(
            f"no table {table!r} written by streamlab in {str(path)!r}; its "
            f"tables are {store.tables()}"
        )
    where, params = [], []
    if (start is not None or end is not None) and time_column is None:
        raise ConfigError("start= and end= need time_column= (the column to seek on)")
    if start is not None:
        where.append(f"{_quote(time_column)} >= ?")
        params.append(ns(start))
    if end is not None:
        where.append(f"{_quote(time_column)} < ?")
        params.append(ns(end))
    order = _quote(time_column) if time_column else "rowid"
    sql = (
        f"SELECT * FROM {_quote(table)}"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY {order}"
    )
    conn = store._conn()
    try:
        cursor = conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        while rows := cursor.fetchmany(batch_rows):
            yield restore(_frame(rows, names, dtypes), dtypes)
    finally:
        conn.close()


def _frame(rows: list[tuple], names: list[str], dtypes: dict[str, str]) -> pd.DataFrame:
    """Rows from sqlite3 as a frame, integers (and times) kept exact even next to NULLs."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    out = {}
    for name, values in zip(names, columns, strict=True):
        want = dtypes.get(name, "")
        if want.startswith("datetime64") or want.lower().startswith(("int", "uint", "bool")):
            out[name] = pd.array(values, dtype="Int64")
        elif want.startswith("float"):
            out[name] = np.array(values, dtype="float64")
        else:
            out[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(out, columns=names)
