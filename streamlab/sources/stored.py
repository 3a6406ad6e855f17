"""Replaying what streamlab stored: SQLite tables and Parquet files, with seek by time.

``replay("run.db", start=T1, end=T2)`` looks up T1 in the table's time index (a B-tree: the
cost grows with log n, not with the size of the recording); a Parquet file skips the row groups
whose time statistics cannot match. A SQLite replay comes out in time order; a Parquet one in
file order, which is time order for data written in time order (a recording), but not across
the folders of a ``partition_by`` dataset. Either is paced like any replay.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core.batch import ARRIVAL_TIME, TIME_ATTR
from ..errors import ConfigError
from .paced import PacedSource

__all__ = ["SQLITE_SUFFIXES", "StoredReplay", "is_stored"]

SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
RECORDING_TABLE = "recording"


def is_stored(path: Path) -> str | None:
    """``"sqlite"``, ``"parquet"`` or ``None`` for a path."""
    name = path.name.lower()
    if name.endswith(SQLITE_SUFFIXES):
        return "sqlite"
    if name.endswith(".parquet") or (path.is_dir() and any(path.rglob("*.parquet"))):
        return "parquet"
    return None


class StoredReplay(PacedSource):
    """A SQLite table or Parquet data replayed as a stream (see ``streamlab.replay``)."""

    def __init__(
        self,
        path,
        kind,
        *,
        table,
        time_column,
        speed,
        start,
        end,
        loop,
        max_rows,
        stream_name,
        clock=None,
    ) -> None:
        self.path = Path(path)
        self.kind = kind
        self.start_at, self.end_at = start, end
        if kind == "sqlite":
            from ..store.sqlite import Store

            store = Store(self.path)
            tables = store.tables()
            if table is None:
                table = (
                    RECORDING_TABLE
                    if RECORDING_TABLE in tables
                    else (tables[0] if len(tables) == 1 else None)
                )
            if table not in tables:
                raise ConfigError(
                    f"table={table!r} is not in {str(self.path)!r}; its tables "
                    f"are {tables}: pass table=",
                    param="table",
                    value=table,
                )
            columns: dict[str, Any] = store.dtypes(table)
        else:
            import pyarrow.parquet as pq

            columns = (
                dict.fromkeys(pq.read_schema(next(iter(_parquet_files(self.path)))).names)
                if self.path.is_dir()
                else dict.fromkeys(pq.read_schema(self.path).names)
            )
        self.table = table
        if time_column is None and ARRIVAL_TIME in columns:
            time_column = ARRIVAL_TIME  # a recording: replay its arrival timing
        if time_column is not None and time_column not in columns:
            raise ConfigError(
                f"time_column={time_column!r} is not a column of "
                f"{str(self.path)!r}; its columns are {list(columns)}",
                param="time_column",
                value=time_column,
            )
        if (start is not None or end is not None) and time_column is None:
            raise ConfigError(
                "start= and end= need time_column= (the column to seek on)",
                param="time_column",
                value=None,
            )
        super().__init__(
            speed=speed,
            time_column=time_column,
            max_rows=max_rows,
            stream_name=stream_name or f"replay({self.path.name!r})",
            clock=clock,
        )
        self.loop_forever = bool(loop)
        self.read_stats: dict = {}

    def _reader(self) -> Iterator:
        if self.kind == "sqlite":
            from ..store.sqlite import read_sqlite_frames

            return read_sqlite_frames(
                self.path,
                self.table,
                time_column=self.time_column,
                start=self.start_at,
                end=self.end_at,
                batch_rows=self.max_rows,
            )
        from ..store.parquet_read import read_parquet_frames

        return read_parquet_frames(
            self.path,
            time_column=self.time_column,
            start=self.start_at,
            end=self.end_at,
            batch_rows=self.max_rows,
            stats=self.read_stats,
        )

    def _frames(self) -> Iterator:
        while True:
            for df in self._reader():
                if self.time_column is not None:
                    df.attrs[TIME_ATTR] = self.time_column
                yield df, int(df.memory_usage(index=False).sum()), []
                if self.stopped:
                    return
            if not self.loop_forever:
                return


def _parquet_files(path: Path):
    return sorted(p for p in path.rglob("*.parquet") if not p.name.startswith((".", "_")))
