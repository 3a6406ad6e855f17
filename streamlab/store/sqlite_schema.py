"""How pandas columns map to SQLite and back: SQL types, the values sqlite3 binds, what cannot
be stored, which dtype changes are harmless, and the dtypes a read gives back.

Event times and durations are INTEGER nanoseconds; floats are REAL (NaN as NULL); everything
else is TEXT. The pandas dtype of each column is kept in the table
``_streamlab_columns`` (:data:`META`) so a read can give it back exactly (:func:`restore`).
Plain functions: no streamz, no connection.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"t": pd.to_datetime([0, None], utc=True), "v": [1.5, None]})
>>> [sql_type(df[c].dtype) for c in df], column_values(df["t"])
(['INTEGER', 'REAL'], [0, None])
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "META",
    "NAME",
    "column_values",
    "compatible",
    "frame_from_rows",
    "ns",
    "quote",
    "restore",
    "sql_type",
    "unstorable",
]

#: the table that remembers each column's pandas dtype (one row per table and column)
META = "_streamlab_columns"
#: a table name the sink accepts: letters, digits and ``_``
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_STORABLE = (str, bytes, int, float, bool, type(None))


def ns(when: Any) -> int:
    """A time as the INTEGER nanoseconds the store keeps, for hand-written SQL.

    Examples
    --------
    >>> ns("2026-01-01T00:00:01Z")
    1767225601000000000
    """
    stamp = pd.Timestamp(when)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value)


def quote(name: str) -> str:
    """``name`` as an SQL identifier (double quotes, inner quotes doubled)."""
    return '"' + str(name).replace('"', '""') + '"'


def sql_type(dtype: Any) -> str:
    """The SQLite column type for a pandas dtype."""
    kind = getattr(dtype, "kind", "O")
    return {
        "i": "INTEGER",
        "u": "INTEGER",
        "b": "INTEGER",
        "M": "INTEGER",
        "m": "INTEGER",
        "f": "REAL",
    }.get(kind, "TEXT")


def column_values(s: pd.Series) -> list:
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


def unstorable(df: pd.DataFrame) -> str | None:
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


def compatible(stored: str, dtype: Any) -> bool:
    """Same column, harmless difference: an int column arriving as float (NaN), a text column
    whose dtype spelling differs (object vs str), or a time in another unit."""
    kind = getattr(dtype, "kind", "O")
    stored_kind = pd.api.types.pandas_dtype(stored).kind if stored not in ("str", "string") else "O"
    if stored_kind == kind or {stored_kind, kind} <= {"O", "U", "S"}:
        return True
    return stored_kind in "iu" and kind == "f"


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
            stamps = s.to_numpy(dtype="int64", na_value=np.iinfo(np.int64).min)
            if kind == "m":
                values = pd.to_timedelta(stamps, unit="ns")
            else:
                tz = getattr(target, "tz", None)
                values = pd.to_datetime(stamps, unit="ns", utc=tz is not None)
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


def frame_from_rows(rows: list[tuple], names: list[str], dtypes: dict[str, str]) -> pd.DataFrame:
    """Rows from sqlite3 as a frame, integers (and times) kept exact even next to NULLs.

    Examples
    --------
    >>> frame_from_rows([(2**62 + 1, "a"), (None, "b")], ["n", "s"], {"n": "int64"})["n"].tolist()
    [4611686018427387905, <NA>]
    """
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    out: dict[str, Any] = {}
    for name, values in zip(names, columns, strict=True):
        want = dtypes.get(name, "")
        if want.startswith("datetime64") or want.lower().startswith(("int", "uint", "bool")):
            out[name] = pd.array(values, dtype="Int64")
        elif want.startswith("float"):
            out[name] = np.array(values, dtype="float64")
        else:
            out[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(out, columns=names)
