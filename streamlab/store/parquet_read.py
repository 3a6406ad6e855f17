"""Reading Parquet back: ``read_parquet_frames(path, start=, end=)``, in frames, skipping the
files and row groups whose time statistics cannot match (see ``parquet.py`` for the writer)."""

from __future__ import annotations

import base64
import difflib
import json
import os
from collections.abc import Iterator
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..core.batch import TIME_ATTR
from ..core.checks import check_number
from ..errors import ConfigError
from .parquet import _NS_PER, HIVE_NULL, META_KEY

__all__ = ["read_parquet_frames"]


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
