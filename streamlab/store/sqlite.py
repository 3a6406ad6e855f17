"""SQLite: the embedded default store. ``stream.to_sqlite(path, table)`` writes batches in
transactions; :class:`~.sqlite_query.Store` queries what it kept; :func:`read_sqlite_frames`
reads it back through a time index.

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

This module is the node; the parts live beside it: the type mapping in ``sqlite_schema``, the
write path in ``sqlite_write`` (neither imports streamz), ``Store`` in ``sqlite_query`` and the
reader in ``sqlite_read``. Their public names are importable from here too.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
from streamz.sinks import Sink

from ..core.checks import check_choice, check_number
from ..core.registry import register_step
from ..core.stats import Stats
from ..core.step import Step
from ..errors import ConfigError, StoreError
from .sqlite_query import Store as Store
from .sqlite_read import read_sqlite_frames as read_sqlite_frames
from .sqlite_schema import NAME
from .sqlite_schema import ns as ns
from .sqlite_write import TableWriter

__all__ = ["Store", "StoreError", "ns", "read_sqlite_frames", "to_sqlite"]


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
        self,
        upstream: Any,
        path: Any,
        table: str,
        *,
        indexes: str | list[str] | None = None,
        mode: str = "append",
        timeout: float = 5.0,
        stream_name: str | None = None,
    ) -> None:
        super().__init__(upstream, stream_name=stream_name or f"to_sqlite({table})")
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise ConfigError(
                f"cannot write {str(self.path)!r}: folder "
                f"{str(self.path.parent)!r} does not exist; create it first"
            )
        if not NAME.match(str(table)) or str(table).startswith("_streamlab"):
            raise ConfigError(f"table must be a plain name (letters, digits, _), not {table!r}")
        self.table = str(table)
        self.indexes = (
            None if indexes is None else [indexes] if isinstance(indexes, str) else list(indexes)
        )
        self.mode = check_choice("mode", mode, ("append", "replace"))
        self.timeout = check_number("timeout", timeout, low=0)
        self.stats = Stats()
        self.make_side_outputs(self.name)
        self._writer = TableWriter(
            self.path, self.table, indexes=self.indexes, mode=self.mode, timeout=self.timeout
        )

    @property
    def _conn(self) -> sqlite3.Connection | None:
        """The open connection (``None`` between runs)."""
        return self._writer.conn

    def update(self, x: pd.DataFrame, who: Any = None, metadata: Any = None) -> Any:
        try:
            self.write(x)
        except StoreError as exc:
            return self._reject(x, str(exc))
        return None

    def write(self, df: pd.DataFrame) -> None:
        """Write one batch now (one transaction); raises on failure."""
        if not len(df.columns):
            return
        if self._writer.write(df):
            self.stats.schema_changes += 1
        self.stats.count_batch(rows=len(df))

    def _reject(self, df: pd.DataFrame, reason: str) -> list:
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
        self._writer.start_over()

    def close(self) -> None:
        """Close the database connection (the next batch opens it again)."""
        self._writer.close()

    def release(self) -> None:
        """Every source feeding the sink has stopped: close the connection (see ``close``)."""
        self.close()
