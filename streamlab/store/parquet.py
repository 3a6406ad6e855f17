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
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from streamz import Stream
from streamz.sinks import Sink

from ..core.batch import TIME_ATTR
from ..core.checks import check_choice, check_number
from ..errors import ConfigError

__all__ = ["COMPRESSIONS", "ParquetStats", "ToParquet", "read_parquet_frames", "to_parquet"]

COMPRESSIONS = ("zstd", "snappy", "gzip", "brotli", "lz4", "none")
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
META_KEY = b"streamlab"
_PART = re.compile(r"^part-(\d+)\.parquet$")
_NS_PER = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


@dataclass
class ParquetStats:
    """Counters of a ``to_parquet`` sink: rows and bytes in visible files, batches accepted,
    rows waiting in buffers, batches (and their rows) rejected by the schema policy."""

    rows: int = 0
    batches: int = 0
    files: int = 0
    bytes: int = 0
    buffered: int = 0
    rejected: int = 0
    rejected_rows: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@Stream.register_api()
class to_parquet(Sink):
    """Write batches to Parquet files in ``directory`` (created if missing; its parent must
    exist). See the module docstring for files, crash safety and the schema policy.

    ``row_group_rows`` sets the row-group size (the unit a seek skips). Rows still in a buffer
    are not on disk: a crash loses them; a smaller ``rows_per_file`` or ``flush()`` bounds that.
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
        self.errors = Stream(stream_name=f"{self.name}.errors")
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
        self.schema = pa.schema(
            stored,
            metadata={b"pandas": json.dumps(pandas_meta).encode(), META_KEY: json.dumps(ours)},
        )
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
        arrays = []
        for field in self.schema:
            col = x[field.name]
            if isinstance(col.dtype, np.dtype) and col.dtype.kind == "f":
                arrays.append(pa.array(col.to_numpy(), type=field.type))  # NaN stays a value
            else:
                arrays.append(pa.Array.from_pandas(col, type=field.type))
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def _reject(self, x, reason: str) -> list:
        rows = len(x) if hasattr(x, "__len__") else 1
        self.stats.rejected += 1
        self.stats.rejected_rows += rows
        letter = pd.DataFrame(
            {"time": [pd.Timestamp.now(tz="UTC")], "reason": [reason], "rows": [rows]}
        )
        letter.attrs[TIME_ATTR] = "time"
        return self.errors._emit(letter)

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


# -- reading -----------------------------------------------------------------------------------
def read_parquet_frames(
    path,
    *,
    time_column: str | None = None,
    start=None,
    end=None,
    batch_rows: int = 100_000,
    columns: list[str] | None = None,
    stats: dict | None = None,
) -> Iterator[pd.DataFrame]:
    """Frames of at most ``batch_rows`` rows from a Parquet file or a folder of them, in file
    order (by file name: the write order of ``to_parquet``, then by folder) then row order.

    Hive partition folders (``sensor=3``) come back as columns, with the type and position
    they had when ``to_parquet`` wrote them. ``time_column`` (default: the one the writer
    recorded) comes back as ``datetime64[ns, UTC]`` (naive times are taken as UTC) and is named
    in ``df.attrs["time_column"]``. With ``start``/``end`` (times or strings; naive means UTC)
    only rows with ``start <= time < end`` are kept, and row groups and files whose min/max
    statistics show no such row are not read. If ``stats`` is a dict, it is updated with
    counters: ``files``, ``files_skipped``, ``row_groups_read``, ``row_groups_skipped``,
    ``rows_read`` (decoded) and ``rows`` (yielded). Arguments are checked at the call.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> t = pd.date_range("2026-01-01", periods=6, freq="1min", tz="UTC")
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> pd.DataFrame({"t": t, "v": range(6)}).to_parquet(path, row_group_size=2)
    >>> counts = {}
    >>> frames = read_parquet_frames(path, time_column="t", start="2026-01-01 00:03",
    ...                              end="2026-01-01 00:05", stats=counts)
    >>> [df["v"].tolist() for df in frames]
    [[3, 4]]
    >>> counts["row_groups_read"], counts["row_groups_skipped"]
    (2, 1)
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ConfigError(f"path={path!r} does not exist; give a .parquet file or a folder of them")
    check_number("batch_rows", batch_rows, low=1, integer=True)
    lo, hi = _when("start", start), _when("end", end)
    if lo is not None and hi is not None and lo > hi:
        raise ConfigError(f"start={start!r} is after end={end!r}; give start <= end")
    if columns is not None and (
        isinstance(columns, str) or not all(isinstance(c, str) for c in columns)
    ):
        raise ConfigError(f"columns must be a list of column names, not {columns!r}")
    files = _files(path)
    if columns is not None and files:
        known = list(pq.read_schema(files[0][0]).names) + list(files[0][1])
        unknown = [c for c in columns if c not in known]
        if unknown:
            close = difflib.get_close_matches(unknown[0], known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"columns names {unknown[0]!r}, not a column of {files[0][0]!r}; its columns "
                f"are {known}.{hint}"
            )
    counts = stats if stats is not None else {}
    for k in ("files", "files_skipped", "row_groups_read", "row_groups_skipped", "rows_read"):
        counts.setdefault(k, 0)
    counts.setdefault("rows", 0)
    return _frames(files, time_column, lo, hi, batch_rows, columns, counts)


def _when(name: str, value) -> int | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{name}={value!r} is not a time ({exc}); give a Timestamp or a string such "
            "as '2026-01-01T00:00:00Z'"
        ) from None
    if stamp is pd.NaT:
        raise ConfigError(f"{name}={value!r} is not a time; give a Timestamp or None")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.as_unit("ns").value


def _files(path: str) -> list[tuple[str, dict[str, str]]]:
    """``(file, {partition column: raw folder value})`` in reading order."""
    if os.path.isfile(path):
        return [(path, {})]
    found = []
    for folder, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        rel = os.path.relpath(folder, path)
        parts = dict(s.split("=", 1) for s in rel.split(os.sep) if "=" in s) if rel != "." else {}
        for name in names:
            if name.endswith(".parquet") and not name.startswith((".", "_")):
                found.append((name, rel, os.path.join(folder, name), parts))
    found.sort(key=lambda f: (f[0], f[1]))
    return [(f[2], f[3]) for f in found]


def _frames(files, time_column, lo, hi, batch_rows, columns, counts) -> Iterator[pd.DataFrame]:
    seek = lo is not None or hi is not None
    for path, parts in files:
        pf = pq.ParquetFile(path)
        try:
            arrow = pf.schema_arrow
            ours = json.loads((arrow.metadata or {}).get(META_KEY, b"{}"))
            full = (
                pa.ipc.read_schema(pa.py_buffer(base64.b64decode(ours["schema"])))
                if "schema" in ours
                else None
            )
            tcol = time_column or ours.get("time_column")
            if tcol is not None and tcol not in arrow.names:
                raise ConfigError(
                    f"time_column={tcol!r} is not a column of {path!r}; its columns are "
                    f"{arrow.names}"
                )
            if tcol is None and seek:
                raise ConfigError(
                    f"start= and end= need time_column= (the column to seek on); the columns "
                    f"of {path!r} are {arrow.names}"
                )
            if tcol is not None and not pa.types.is_timestamp(arrow.field(tcol).type):
                raise ConfigError(
                    f"time_column={tcol!r} in {path!r} holds {arrow.field(tcol).type}, not "
                    "times; pass time_column= naming a timestamp column"
                )
            groups = _row_groups(pf, tcol, lo, hi) if seek else list(range(pf.num_row_groups))
            counts["row_groups_read"] += len(groups)
            counts["row_groups_skipped"] += pf.num_row_groups - len(groups)
            if not groups:
                counts["files_skipped"] += 1
                continue
            counts["files"] += 1
            order = [f.name for f in full] if full is not None else arrow.names + list(parts)
            wanted = order if columns is None else list(columns)
            read = [c for c in arrow.names if c in wanted or (seek and c == tcol)]
            meta = (full or arrow).metadata
            for batch in pf.iter_batches(batch_size=batch_rows, row_groups=groups, columns=read):
                counts["rows_read"] += batch.num_rows
                table = pa.Table.from_batches([batch])
                if tcol in table.column_names:
                    i = table.schema.get_field_index(tcol)
                    times = table.column(i).cast(pa.timestamp("ns", tz="UTC"))
                    table = table.set_column(i, tcol, times)
                    if seek:
                        table = table.filter(_between(times, lo, hi))
                if not table.num_rows:
                    continue
                for name, raw in parts.items():
                    if name in wanted:
                        typ = (
                            full.field(name).type
                            if full is not None and name in full.names
                            else None
                        )
                        table = table.append_column(name, _constant(raw, typ, table.num_rows))
                table = table.select([c for c in wanted if c in table.column_names])
                df = table.replace_schema_metadata(meta).to_pandas()
                df.attrs = {"origin": path}
                if tcol is not None and tcol in df.columns:
                    df.attrs[TIME_ATTR] = tcol
                counts["rows"] += len(df)
                yield df
        finally:
            pf.close()


def _row_groups(pf: pq.ParquetFile, tcol: str, lo: int | None, hi: int | None) -> list[int]:
    """The row groups whose time statistics do not rule out a row in [lo, hi)."""
    md = pf.metadata
    if lo is not None and hi is not None and lo >= hi:
        return []
    j = next(k for k in range(md.num_columns) if md.schema.column(k).path == tcol)
    scale = _NS_PER[pf.schema_arrow.field(tcol).type.unit]
    keep = []
    for i in range(md.num_row_groups):
        group = md.row_group(i)
        st = group.column(j).statistics
        if group.num_rows == 0 or (st is not None and st.null_count == group.num_rows):
            continue  # no row, or no time: nothing can be in [lo, hi)
        stated = st is not None and st.has_min_max and st.physical_type == "INT64"
        if stated and (
            (lo is not None and st.max_raw * scale < lo)
            or (hi is not None and st.min_raw * scale >= hi)
        ):
            continue
        keep.append(i)
    return keep


def _between(times: pa.ChunkedArray, lo: int | None, hi: int | None):
    typ = pa.timestamp("ns", tz="UTC")
    keep = [pc.greater_equal(times, pa.scalar(lo, typ))] if lo is not None else []
    keep += [pc.less(times, pa.scalar(hi, typ))] if hi is not None else []
    return pc.fill_null(keep[0] if len(keep) == 1 else pc.and_(*keep), False)  # NaT: out


def _constant(raw: str, typ: pa.DataType | None, n: int) -> pa.Array:
    """A partition folder's value repeated ``n`` times, as ``typ`` when it is known."""
    typ = typ or pa.string()
    if raw == HIVE_NULL:
        one = pa.nulls(1, typ)
    else:
        one = pa.array([unquote(raw)], pa.string())
        value_type = typ.value_type if pa.types.is_dictionary(typ) else typ
        try:
            one = one.cast(value_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass  # not the writer's type after all: keep the text
        else:
            if pa.types.is_dictionary(typ):
                one = one.dictionary_encode().cast(typ)
    return one.take(pa.array(np.zeros(n, dtype=np.int32)))
