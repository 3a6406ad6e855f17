"""The batch contract: every element on a streamlab stream is a ``pandas.DataFrame``.

A batch may name its event-time column in ``df.attrs["time_column"]``; that column then holds
``datetime64[ns, UTC]`` values. A batch that came off a socket names its peer in
``df.attrs["peer"]`` (``"127.0.0.1:51234"``); one read from a file names it in
``df.attrs["origin"]``.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"t": pd.to_datetime([0, 1], unit="s", utc=True), "x": [1.0, 2.0]})
>>> df = with_time_column(df, "t")
>>> time_column(df)
't'
>>> event_times(df).tolist()
[Timestamp('1970-01-01 00:00:00+0000', tz='UTC'), Timestamp('1970-01-01 00:00:01+0000', tz='UTC')]
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .pandas_compat import column_arrays as column_arrays
from .pandas_compat import with_columns as with_columns

__all__ = [
    "ARRIVAL_TIME",
    "FIRST",
    "LAST",
    "NAT",
    "TIME_ATTR",
    "as_ns",
    "column_arrays",
    "concat_rows",
    "event_ns",
    "event_times",
    "resolve_time_column",
    "rows_by_key",
    "time_column",
    "with_columns",
    "with_time_column",
]

TIME_ATTR = "time_column"
#: the column a recording stamps each batch with (when it arrived), and replays are paced by
ARRIVAL_TIME = "arrival_time"


def concat_rows(frames: list[pd.DataFrame], **kw: Any) -> pd.DataFrame:
    """``pd.concat(frames, **kw)``, without pandas 2's FutureWarning that all-NA columns will
    count for the result's dtypes (pandas 3 does so; pandas 2 keeps its rule, the values are
    the same).

    Examples
    --------
    >>> a = pd.DataFrame({"x": [1.0]})
    >>> concat_rows([a, pd.DataFrame({"x": [2.5]})], ignore_index=True)["x"].tolist()
    [1.0, 2.5]
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "The behavior of DataFrame concatenation with empty or all-NA", FutureWarning
        )
        out: pd.DataFrame = pd.concat(frames, **kw)
        return out


def time_column(df: pd.DataFrame) -> str | None:
    """Name of the batch's event-time column, or ``None`` if it has none.

    >>> time_column(pd.DataFrame({"x": [1]})) is None
    True
    """
    col: str | None = df.attrs.get(TIME_ATTR)
    return col


def resolve_time_column(
    df: pd.DataFrame, on: str | None = None, *, step: str = "this step", required: bool = True
) -> str | None:
    """The event-time column a step uses on ``df``: ``on`` if given, else the one the batch
    names (``df.attrs["time_column"]``). The one place this choice is made, so every step
    refuses the same way: a missing column (``required``) or one not in the batch raises a
    :class:`~streamlab.errors.ConfigError` naming ``on``, the value and the batch's columns.

    Examples
    --------
    >>> df = with_time_column(pd.DataFrame({"t": pd.to_datetime([0], utc=True), "x": [1]}), "t")
    >>> resolve_time_column(df), resolve_time_column(df, "t")
    ('t', 't')
    >>> resolve_time_column(pd.DataFrame({"x": [1]}), step="window('5min')")
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: window('5min') needs an event-time column and this batch names none; pass on='time' (a datetime column) or give the source time_column='time'
    >>> resolve_time_column(df, "when")
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: on='when' is not a column of this batch; its columns are ['t', 'x']
    """
    col = on or time_column(df)
    if col is None:
        if not required:
            return None
        raise ConfigError(
            f"{step} needs an event-time column and this batch names none",
            param="on",
            value=None,
            hint="pass on='time' (a datetime column) or give the source time_column='time'",
        )
    if col not in df.columns:
        raise ConfigError(
            f"on={col!r} is not a column of this batch; its columns are {list(df.columns)}",
            param="on",
            value=col,
        )
    return col


def with_time_column(df: pd.DataFrame, column: str | None) -> pd.DataFrame:
    """Mark ``column`` as the batch's event time (in place; returns ``df`` for chaining).

    >>> df = with_time_column(pd.DataFrame({"t": pd.to_datetime([0], utc=True)}), "t")
    >>> df.attrs
    {'time_column': 't'}
    """
    if column is not None and column not in df.columns:
        raise ConfigError(
            f"time column {column!r} is not in the batch; its columns are {list(df.columns)}"
        )
    df.attrs[TIME_ATTR] = column
    return df


def event_times(df: pd.DataFrame) -> pd.Series:
    """The batch's event times; raises if the batch names none.

    >>> event_times(pd.DataFrame({"x": [1]}))
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: this batch has no event-time column; pass time_column=... to the source
    """
    col = time_column(df)
    if col is None:
        raise ConfigError("this batch has no event-time column; pass time_column=... to the source")
    return df[col]


def as_ns(times: pd.Series) -> np.ndarray:
    """Event times as int64 nanoseconds since the epoch (UTC), whatever their unit; a time
    outside ``datetime64[ns]``'s range is refused (see :func:`event_ns`), never wrapped.

    Examples
    --------
    >>> as_ns(pd.Series(pd.to_datetime([1, 2], unit="s", utc=True))).tolist()
    [1000000000, 2000000000]
    """
    if not pd.api.types.is_datetime64_any_dtype(times):
        times = pd.to_datetime(times, utc=True)
    return event_ns(times, "time")


NAT = int(np.iinfo(np.int64).min)  #: NaT's int64: never an event time
FIRST = NAT + 1  #: the earliest datetime64[ns], 1677-09-21T00:12:43.145224193
LAST = int(np.iinfo(np.int64).max)  #: the latest, 2262-04-11T23:47:16.854775807


def event_ns(times: pd.Series, name: str = "on") -> np.ndarray:
    """The times of a datetime column as int64 ns since the epoch (NaT as :data:`NAT`).

    Aware times are taken in UTC, naive ones as they are. A column in another unit (pandas
    gives ``datetime64[us]`` to parsed text) is converted with a range check: a microsecond
    column holds year 3000, which a plain cast to ns would wrap around to 1830.

    Examples
    --------
    >>> s = pd.Series(np.array(["1969-12-31 23:59:59", "3000-01-01"], "datetime64[us]"))
    >>> event_ns(s[:1]).tolist()
    [-1000000000]
    >>> event_ns(s, "on")
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: on: event time 3000-01-01 00:00:00 is outside the range of datetime64[ns] (1677-09-21 00:12:43.145224193 to 2262-04-11 23:47:16.854775807); windows and watermarks work in nanoseconds
    """
    raw: np.ndarray | None = getattr(
        times.array, "asi8", None
    )  # numpy-backed datetimes: ints in their unit
    unit = getattr(times.dtype, "unit", None) or (
        np.datetime_data(times.dtype)[0] if getattr(times.dtype, "kind", "") == "M" else None
    )
    if raw is None or unit not in _PER_UNIT:  # Arrow timestamps and the like: pandas converts
        return _checked_cast(times, name)
    if unit == "ns":
        return raw  # no copy
    if not len(raw):
        return raw.astype("int64")
    factor = _PER_UNIT[unit]
    low, high = -(-FIRST // factor), LAST // factor  # the range, in the column's unit
    lo, hi = raw.min(), raw.max()  # two passes; NaT is the smallest int64
    if hi > high or (lo < low and ((raw < low) & (raw != NAT)).any()):
        _checked_cast(times, name)  # raises, naming the first time out of range
    out: np.ndarray = raw * factor
    if lo == NAT:
        out[raw == NAT] = NAT
    return out


_PER_UNIT = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def _checked_cast(times: pd.Series, name: str) -> np.ndarray:
    try:
        ints: np.ndarray = times.dt.as_unit("ns").array.asi8
        return ints
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        wall = times.dt.tz_convert(None) if times.dt.tz is not None else times
        inside = wall.between(pd.Timestamp(FIRST), pd.Timestamp(LAST))
        bad = wall[~(inside | wall.isna()).to_numpy()].iloc[0]
        raise ConfigError(
            f"{name}: event time {bad} is outside the range of datetime64[ns] "
            f"({pd.Timestamp(FIRST)} to {pd.Timestamp(LAST)}); windows and watermarks work in "
            "nanoseconds"
        ) from None


def rows_by_key(keys: np.ndarray, rows: np.ndarray) -> list[tuple[Any, np.ndarray]]:
    """``(key, rows of that key in arrival order)`` for each key among ``keys[rows]``, in order
    of first appearance (one stable sort, not one mask per key).

    Examples
    --------
    >>> import numpy as np
    >>> [(str(k), r.tolist()) for k, r in rows_by_key(np.array(["a", "b", "a"]), np.arange(3))]
    [('a', [0, 2]), ('b', [1])]
    """
    codes, uniq = pd.factorize(keys[rows], use_na_sentinel=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniq) + 1))
    return [(k, rows[order[bounds[g] : bounds[g + 1]]]) for g, k in enumerate(uniq)]
