"""Parquet through pyarrow: ``stream.to_parquet(directory)`` and ``read_parquet_frames(path)``.

Files. The sink buffers batches (as Arrow tables) and writes a file each time a buffer reaches
``rows_per_file`` rows: ``part-000000.parquet``, ``part-000001.parquet``... in write order
(after the highest number already in the folder), row groups of ``row_group_rows`` rows, min/max
statistics on. A file holds whole batches (it can exceed ``rows_per_file`` by less than one
batch). With ``partition_by`` each partition has its own buffer and hive folder
(``sensor=3/part-000004.parquet``): the folder name holds the column, the file does not.

Crash safety. A file is written under a hidden name (``.part-000004.parquet.tmp``, ignored by
pyarrow, pandas and this reader), fsynced, renamed with ``os.replace``, its folder fsynced: after
a crash (even ``kill -9``) every visible file is whole and, without ``partition_by``, every
batch is wholly in the files or not at all. A killed writer may leave a ``.tmp`` file behind.

Schema. The first batch fixes it: tz-aware times, nullable integers, strings, bool,
categories, and float64 bit for bit (NaN stays NaN with its payload, not NULL). The index is not
stored. Drift policy: a later batch with a new or missing column, a changed dtype (``int64`` to
``float64`` included) or values that do not convert to the fixed type is not written: it goes
to ``.errors`` as one row (``time``, ``reason``, ``rows``) and counts in ``stats.rejected``; no
file ever has another schema. A column that is all ``None`` in the first batch is fixed as type
``null``: give it a dtype. Columns in another order are put back in order.
"""

from __future__ import annotations

import base64
import difflib
import json
import os
import re
from dataclasses import dataclass
from urllib.parse import quote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from streamz.sinks import Sink

from ..core.batch import TIME_ATTR
from ..core.checks import check_choice, check_number
from ..core.pandas_compat import PANDAS_ATTRS
from ..core.registry import register_step
from ..core.stats import StepStats
from ..core.step import Step
from ..errors import ConfigError

__all__ = ["COMPRESSIONS", "ParquetStats", "ToParquet", "to_parquet"]

COMPRESSIONS = ("zstd", "snappy", "gzip", "brotli", "lz4", "none")
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
META_KEY = b"streamlab"
_PART = re.compile(r"^part-(\d+)\.parquet$")
_NS_PER = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


@dataclass
class ParquetStats(StepStats):
    """Counters of a ``to_parquet`` sink: rows and bytes in visible files, batches accepted,
    rows waiting in buffers, batches (and their rows) rejected by the schema policy."""

    rows: int = 0
    batches: int = 0
    files: int = 0
    bytes: int = 0
    buffered: int = 0
    rejected: int = 0
    rejected_rows: int = 0


@register_step(kind="sink")
class to_parquet(Step, Sink):
    """Write batches to Parquet files in ``directory`` (created if missing; its parent must
    exist). See the module docstring for files, crash safety and the schema policy.

    ``row_group_rows`` sets the row-group size (the unit a seek skips). Rows still in a buffer
    are not on disk: a crash loses them; a smaller ``rows_per_file`` or ``flush()`` bounds that.
    When every source feeding the sink has stopped, what is buffered is written (``release()``).
    Empty batches are ignored. ``.stats`` counts rows and bytes in files, batches, buffered
    rows and rejected batches; ``.errors`` is the stream of rejected batches.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> from streamz import Stream
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> src = Stream()
    >>> sink = src.to_parquet(folder, rows_per_file=4)
    >>> for i in range(3):
    ...     src.emit(pd.DataFrame({"k": ["a", "b"], "v": [i, i + 0.5]}))
    >>> sorted(p.name for p in folder.iterdir()), sink.stats.buffered
    (['part-000000.parquet'], 2)
    >>> _ = sink.end_of_input()
    >>> pd.read_parquet(folder)["v"].tolist(), sink.stats.files
    ([0.0, 0.5, 1.0, 1.5, 2.0, 2.5], 2)
    >>> _ = src.emit(pd.DataFrame({"k": ["c"], "v": ["x"]}))
    >>> sink.stats.rejected
    1
    """

    SIDE_OUTPUTS = ("errors",)

    def __init__(
        self,
        upstream,
        directory,
        *,
        rows_per_file: int = 1_000_000,
        partition_by: str | list[str] | None = None,
        compression: str = "zstd",
        row_group_rows: int = 131_072,
        stream_name: str | None = None,
    ) -> None:
        path = os.fspath(directory)
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise ConfigError(
                f"directory={path!r}: its parent folder {parent!r} does not exist; "
                "create it first (os.makedirs) or write somewhere else"
            )
        if os.path.exists(path) and not os.path.isdir(path):
            raise ConfigError(f"directory={path!r} is a file; give a folder (made if missing)")
        super().__init__(upstream, stream_name=stream_name or f"to_parquet({path})")
        self.directory = path
        self.rows_per_file = check_number("rows_per_file", rows_per_file, low=1, integer=True)
        self.row_group_rows = check_number("row_group_rows", row_group_rows, low=1, integer=True)
        self.partition_by = _names("partition_by", partition_by)
        name = "none" if compression is None else compression
        name = name.lower() if isinstance(name, str) else name
        self.compression = check_choice("compression", name, COMPRESSIONS)
        self.stats = ParquetStats()
        self.make_side_outputs(self.name)
        self.schema: pa.Schema | None = None  # of the files (partition columns left out)
        self._columns: list[str] = []
        self._dtypes: dict[str, object] = {}
        self._buffers: dict[tuple, list] = {}  # partition key -> [folder, rows, tables]
        self._next: int | None = None

    # -- batches in -----------------------------------------------------------------------------
    def update(self, x, who=None, metadata=None):
        if not isinstance(x, pd.DataFrame):
            return self._reject(x, f"not a DataFrame but {type(x).__name__}")
        if not len(x):
            return None
        if self.schema is None:
            try:
                self._fix_schema(x)
            except (pa.ArrowException, ValueError, TypeError) as exc:
                if isinstance(exc, ConfigError):
                    raise
                return self._reject(x, f"cannot be stored as Parquet: {exc}")
        reason = self._drift(x, x.dtypes)
        if reason:
            return self._reject(x, reason)
        if list(x.columns) != self._columns:
            x = x[self._columns]
        try:
            table = self._to_arrow(x)
        except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
            return self._reject(x, f"values do not fit the schema fixed by the first batch: {exc}")
        self.stats.batches += 1
        self.stats.buffered += len(x)
        if not self.partition_by:
            self._add((), table)
            return None
        keys = list(self.partition_by)
        groups = x.groupby(keys, sort=False, dropna=False, observed=True).indices
        for key, rows in groups.items():
            key = key if isinstance(key, tuple) else (key,)
            self._add(key, table if len(groups) == 1 else table.take(rows))
        return None

    def _add(self, key: tuple, table: pa.Table) -> None:
        buf = self._buffers.get(key)
        if buf is None:
            folder = "/".join(
                f"{c}={_segment(v)}" for c, v in zip(self.partition_by, key, strict=True)
            )
            buf = self._buffers[key] = [folder, 0, []]
        buf[1] += table.num_rows
        buf[2].append(table)
        if buf[1] >= self.rows_per_file:
            self._write(key)

    def _fix_schema(self, x: pd.DataFrame) -> None:
        missing = [c for c in self.partition_by if c not in x.columns]
        if missing:
            close = difflib.get_close_matches(str(missing[0]), map(str, x.columns), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"partition_by column {missing[0]!r} is not in the first batch; its columns "
                f"are {list(x.columns)}.{hint}"
            )
        if len(set(self.partition_by)) >= len(x.columns):
            raise ConfigError(
                f"partition_by={list(self.partition_by)} names every column; leave at least "
                "one column to store in the files"
            )
        full = pa.Schema.from_pandas(x, preserve_index=False)
        for i, field in enumerate(full):  # category codes may outgrow int8 in later batches
            if pa.types.is_dictionary(field.type):
                wide = pa.dictionary(pa.int32(), field.type.value_type, field.type.ordered)
                full = full.set(i, field.with_type(wide))
        pandas_meta = json.loads(full.metadata[b"pandas"])
        tcol = x.attrs.get(TIME_ATTR)
        keep = tcol if tcol in x.columns and tcol not in self.partition_by else None
        pandas_meta["attributes"] = {TIME_ATTR: keep} if keep else {}
        full = full.with_metadata({b"pandas": json.dumps(pandas_meta).encode()})
        ours = {
            "format": 1,
            "time_column": keep,
            "partition_by": list(self.partition_by),
            "schema": base64.b64encode(full.serialize().to_pybytes()).decode(),
        }
        stored = [f for f in full if f.name not in self.partition_by]
        pandas_meta["columns"] = [
            c for c in pandas_meta["columns"] if c["name"] not in self.partition_by
        ]
        metadata = {b"pandas": json.dumps(pandas_meta).encode(), META_KEY: json.dumps(ours)}
        if pandas_meta["attributes"]:  # what pandas' own to_parquet writes beside it
            metadata[PANDAS_ATTRS] = json.dumps(pandas_meta["attributes"]).encode()
        self.schema = pa.schema(stored, metadata=metadata)
        self._columns = list(x.columns)
        self._dtypes = {c: _dtype_key(x[c].dtype) for c in self._columns}

    def _drift(self, x: pd.DataFrame, dtypes: pd.Series) -> str | None:
        if list(x.columns) != self._columns:
            new = [f"new column {c!r}" for c in x.columns if c not in self._dtypes]
            gone = [f"missing column {c!r}" for c in self._columns if c not in x.columns]
            if new or gone or len(x.columns) != len(self._columns):
                what = (new + gone + ["duplicate column names"])[0]
                return f"{what}; the schema fixed by the first batch has columns {self._columns}"
        for c, dtype in dtypes.items():
            if _dtype_key(dtype) != self._dtypes[c]:
                was = self._dtypes[c] if isinstance(self._dtypes[c], str) else "category"
                return f"column {c!r} changed type from {was} to {dtype}"
        return None

    def _to_arrow(self, x: pd.DataFrame) -> pa.Table:
        schema = self.schema
        assert schema is not None  # fixed by the first batch (_fix_schema) before any write
        arrays = []
        for field in schema:
            col = x[field.name]
            if isinstance(col.dtype, np.dtype) and col.dtype.kind == "f":
                arrays.append(pa.array(col.to_numpy(), type=field.type))  # NaN stays a value
            else:
                arrays.append(pa.Array.from_pandas(col, type=field.type))
        return pa.Table.from_arrays(arrays, schema=schema)

    def _reject(self, x, reason: str) -> list:
        rows = len(x) if hasattr(x, "__len__") else 1
        self.stats.rejected += 1
        self.stats.rejected_rows += rows
        letter = pd.DataFrame(
            {"time": [pd.Timestamp.now(tz="UTC").as_unit("ns")], "reason": [reason], "rows": [rows]}
        )
        letter.attrs[TIME_ATTR] = "time"
        return self.to_side("errors", letter)

    # -- files out ------------------------------------------------------------------------------
    def _write(self, key: tuple) -> str:
        folder_name, rows, tables = self._buffers[key]
        folder = os.path.join(self.directory, folder_name) if folder_name else self.directory
        if self._next is None:
            self._next = _next_part(self.directory)
        _make_folders(self.directory, folder)
        name = f"part-{self._next:06d}.parquet"
        final, tmp = os.path.join(folder, name), os.path.join(folder, f".{name}.tmp")
        try:
            pq.write_table(
                pa.concat_tables(tables),
                tmp,
                row_group_size=self.row_group_rows,
                compression=self.compression,
                write_statistics=True,
            )
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise  # the buffer is kept: the next batch or flush() tries again
        _fsync_dir(folder)
        del self._buffers[key]
        self._next += 1
        self.stats.files += 1
        self.stats.rows += rows
        self.stats.buffered -= rows
        self.stats.bytes += os.path.getsize(final)
        return final

    def flush(self) -> list[str]:
        """Write every buffer now (a last, smaller file each); return the paths written."""
        return [self._write(key) for key in list(self._buffers)]

    def end_of_input(self) -> list:
        """The input ended: write what is buffered (called by streamlab sources)."""
        self.flush()
        return []

    def release(self) -> None:
        """Every source feeding the sink has stopped (``stop()`` mid-stream included): write
        what is buffered, so that nothing waits in memory for a pipeline that may be dropped.
        (A file is written whole or not at all; if writing fails the rows stay buffered.)"""
        self.flush()


ToParquet = to_parquet


def _names(param: str, value) -> tuple[str, ...]:
    names = () if value is None else (value,) if isinstance(value, str) else value
    if (
        not isinstance(names, list | tuple)
        or not all(isinstance(n, str) for n in names)
        or (value is not None and not names)
    ):
        raise ConfigError(
            f"{param} must be a column name or a non-empty list of names, not {value!r}"
        )
    return tuple(names)


def _dtype_key(dtype):
    if isinstance(dtype, pd.CategoricalDtype):  # any categories: the values are strings etc.
        return ("category", str(dtype.categories.dtype), dtype.ordered)
    return str(dtype)


def _segment(value) -> str:
    """A partition value as a folder-name segment (percent-encoded, as pyarrow reads it)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return HIVE_NULL
    return quote(str(value), safe=" ")


def _next_part(directory: str) -> int:
    """One past the highest ``part-N.parquet`` already under ``directory`` (0 if none)."""
    found = [_PART.match(n) for _, _, names in os.walk(directory) for n in names]
    return max((int(m.group(1)) + 1 for m in found if m), default=0)


def _make_folders(root: str, folder: str) -> None:
    """Create ``folder`` (and ``root``) if missing; fsync each parent that got a new entry."""
    missing = []
    path = folder
    while not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for path in reversed(missing):
        os.makedirs(path, exist_ok=True)
        _fsync_dir(os.path.dirname(path) or ".")


def _fsync_dir(folder: str) -> None:
    if os.name == "posix":  # Windows cannot open a folder to fsync it
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
