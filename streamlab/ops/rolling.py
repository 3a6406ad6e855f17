"""``stream.rolling(window, on=..., key=..., agg=...)``: rolling aggregates over the whole stream.

Each output batch is the input batch with one new column per aggregate, ``{column}_{agg}``
(``value_quantile_0.9`` for ``"quantile:0.9"``), equal to what pandas gives on the whole stream
at once, whatever the batch boundaries:

- ``window=100`` (rows): ``df.rolling(100, min_periods=1)``, rows counted in arrival order;
- ``window="30s"`` (event time): ``df.rolling("30s", on=on, min_periods=1)``, the window of a
  row being the rows of the last 30 s up to and including it (pandas' ``closed="right"``);
- with ``key=``: the same per key, as ``df.groupby(key, dropna=False).rolling(...)``.

How: the step keeps, per key, the tail of the stream that the next rows can still see (the last
``window - 1`` rows, or the rows newer than the newest time minus the window), runs pandas once
on tail + batch and keeps the batch's rows. So the state is bounded by the window (per key; a
key that goes silent keeps its tail), and each batch costs pandas work on tail + batch rows.

Late rows (time windows only): event time must not go backwards within a key. A row older than
the newest row already seen for its key, or with no time (NaT), is not aggregated: it goes to
the step's ``.late`` stream (a DataFrame of such rows, all columns) and is counted in
``late_count``. Row windows have no late rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from streamz import Stream

from ..core.batch import time_column
from ..core.checks import check_choice, is_integer, is_number_text, shown
from ..core.params import Param
from ..core.registry import register_step
from ..core.step import Step
from ..errors import ConfigError
from .nstime import NAT, event_ns, sub_sat

__all__ = ["AGGS", "Rolling", "RollingAgg", "parse_rolling_aggs", "parse_window"]

AGGS = ("count", "sum", "mean", "min", "max", "var", "std", "median")
_QUANTILE = "quantile:"


@dataclass(frozen=True)
class RollingAgg:
    """One aggregate: the input column, the pandas method, its quantile and the output name."""

    column: object
    method: str
    q: float | None
    name: str


def parse_window(window, *, min_rows: int = 1) -> int | pd.Timedelta:
    """A row count (an integer >= 1, Python or numpy) or a positive duration (``"30s"``, a
    ``timedelta``, a ``numpy.timedelta64``). ``True``/``False`` and unit-less text (``"30"``)
    are refused.

    Examples
    --------
    >>> import numpy as np
    >>> parse_window(100), parse_window(np.int64(100)), parse_window("30s")
    (100, 100, Timedelta('0 days 00:00:30'))
    >>> parse_window("abc")
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: window must be a row count >= 1 such as 100 or a positive duration such as '30s' or '5min', not 'abc'
    """
    if is_integer(window):
        if window >= min_rows:
            return int(window)
    elif isinstance(window, str | dt.timedelta | np.timedelta64) and not (
        isinstance(window, str) and is_number_text(window)  # "30" has no unit: not 30 ns
    ):  # pd.Timedelta is a timedelta
        try:
            delta = pd.Timedelta(window)
        except (ValueError, OverflowError):
            delta = pd.NaT
        if delta is not pd.NaT and delta > pd.Timedelta(0):
            return delta
    raise ConfigError(
        f"window must be a row count >= {min_rows} such as 100 or a positive duration such as "
        f"'30s' or '5min', not {shown(window)}"
    )


def _duration(window) -> pd.Timedelta:
    span = parse_window(window)
    if isinstance(span, int):
        raise ConfigError(
            f"window={window!r} is a row count; this rolling step counts time: give a "
            "duration such as '30s'"
        )
    return span


def _parse_one(column, name) -> RollingAgg:
    where = f"agg[{column!r}]"
    if isinstance(name, str) and name.startswith(_QUANTILE):
        try:
            q = float(name[len(_QUANTILE) :])
        except ValueError:
            q = -1.0
        if not 0.0 <= q <= 1.0:
            raise ConfigError(
                f"{where}={name!r} needs a number from 0 to 1 after 'quantile:', "
                "such as 'quantile:0.9'"
            )
        return RollingAgg(column, "quantile", q, f"{column}_quantile_{q!r}")
    check_choice(where, name, (*AGGS, "quantile:<q>"))
    return RollingAgg(column, name, None, f"{column}_{name}")


def parse_rolling_aggs(agg) -> list[RollingAgg]:
    """``{"value": ["mean", "quantile:0.9"]}`` (or ``{"value": "mean"}``) as a list of aggregates.

    Examples
    --------
    >>> [a.name for a in parse_rolling_aggs({"value": ["mean", "quantile:0.9"], "n": "max"})]
    ['value_mean', 'value_quantile_0.9', 'n_max']
    >>> parse_rolling_aggs({"value": ["meen"]})
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: agg['value']='meen' is not one of 'count', 'sum', 'mean', 'min', 'max', 'var', 'std', 'median', 'quantile:<q>'. Did you mean 'mean'?
    """
    if not isinstance(agg, Mapping) or not agg:
        raise ConfigError(
            "agg must be a dict from column to aggregate names, such as "
            f"{{'value': ['mean', 'max']}}, not {agg!r}"
        )
    found: dict[str, RollingAgg] = {}
    for column, names in agg.items():
        for name in [names] if isinstance(names, str) else list(names):
            spec = _parse_one(column, name)
            found.setdefault(spec.name, spec)
    return list(found.values())


def _columns(name: str, value) -> list:
    if value is None:
        return []
    cols = [value] if isinstance(value, str) else list(value)
    if not cols:
        raise ConfigError(f"{name} must be a column name or a list of them, not {value!r}")
    return cols


@register_step
class rolling(Step, Stream):  # streamz names its nodes in lower case
    """Rolling aggregates over the whole stream, per key, exact against pandas.

    ``window`` is a row count (``100``) or a duration (``"30s"``, event time: ``on`` names the
    time column, by default the batch's ``attrs["time_column"]``). ``min_periods`` is 1 for
    both. See the module docstring for the state kept and for late rows (``.late``,
    ``late_count``).

    Examples
    --------
    >>> import pandas as pd
    >>> from streamz import Stream
    >>> src = Stream()
    >>> node = src.rolling("2s", key="k", agg={"x": ["mean", "count"]})
    >>> out = node.sink_to_list()
    >>> t = pd.to_datetime([0, 1, 1, 2, 3], unit="s", utc=True)
    >>> df = pd.DataFrame({"t": t, "k": list("aabab"), "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    >>> df.attrs["time_column"] = "t"
    >>> src.emit(df.iloc[:3])
    >>> src.emit(df.iloc[3:])
    >>> pd.concat(out)
                              t  k    x  x_mean  x_count
    0 1970-01-01 00:00:00+00:00  a  1.0     1.0      1.0
    1 1970-01-01 00:00:01+00:00  a  2.0     1.5      2.0
    2 1970-01-01 00:00:01+00:00  b  3.0     3.0      1.0
    3 1970-01-01 00:00:02+00:00  a  4.0     3.0      2.0
    4 1970-01-01 00:00:03+00:00  b  5.0     5.0      1.0
    >>> src.emit(df.iloc[[0]])  # 00:00 is older than what key 'a' has seen: late
    >>> node.late_count
    1
    """

    SIDE_OUTPUTS = ("late",)

    STATE = ("tail",)

    def __init__(self, upstream, window, *, on=None, key=None, agg, stream_name=None) -> None:
        self.span = parse_window(window)
        self.by_time = not isinstance(self.span, int)
        self._asked = window if self.by_time else self.span  # a plain int, not numpy's
        if on is not None and not self.by_time:
            raise ConfigError(
                f"on={on!r} is only for time windows such as '30s'; a row window "
                f"(window={window!r}) counts rows in arrival order: drop on="
            )
        self.on = on
        self.keys = _columns("key", key)
        self.specs = parse_rolling_aggs(agg)
        name = stream_name or f"rolling({window!r})"
        super().__init__(upstream, stream_name=name)
        self.make_side_outputs(name)
        self.late_count = 0
        #: the rows the next batch can still see (needed columns only, arrival order)
        self.tail: pd.DataFrame | None = None

    # -- tuning ----------------------------------------------------------------------------
    def params(self) -> dict[str, Param]:
        """``window`` can change while running; the kind (rows or time) stays.

        A shorter window applies from the next batch; a longer one fills up from the rows
        it kept (the first rows after the change see fewer than the new window holds).
        """
        if self.by_time:
            return {"window": Param("window", help="rolling window (a duration)", parse=_duration)}
        return {
            "window": Param(
                "window",
                help="rolling window (rows)",
                low=1,
                integer=True,
                log=True,
                span=(1, 10_000),
            )
        }

    def _get_window(self):
        return self._asked

    def _set_window(self, value) -> None:
        self.span, self._asked = parse_window(value), value

    # -- checks ----------------------------------------------------------------------------
    def _time_col(self, df: pd.DataFrame) -> str | None:
        if not self.by_time:
            return None
        col = self.on or time_column(df)
        if col is None:
            raise ConfigError(
                f"rolling(window={self._asked!r}) is a time window and needs an event-time "
                "column: pass on='time' or use a source that names one "
                "(df.attrs['time_column'])"
            )
        if col not in df.columns or not pd.api.types.is_datetime64_any_dtype(df[col]):
            raise ConfigError(
                f"on={col!r} must be a datetime column of the batch; its columns are "
                f"{list(df.columns)}"
            )
        return col

    def _check(self, df: pd.DataFrame, on: str | None) -> list:
        needed = list(dict.fromkeys([*self.keys, *([on] if on else []), *self._agg_columns()]))
        missing = [c for c in needed if c not in df.columns]
        if missing:
            raise ConfigError(
                f"rolling needs column(s) {missing} (from key= and agg=); the batch has "
                f"{list(df.columns)}"
            )
        clash = [s.name for s in self.specs if s.name in df.columns]
        if clash:
            raise ConfigError(
                f"rolling would overwrite column(s) {clash} of the batch; rename them first"
            )
        return needed

    def _agg_columns(self) -> list:
        return list(dict.fromkeys(s.column for s in self.specs))

    # -- the step --------------------------------------------------------------------------
    def update(self, x, who=None, metadata=None):
        if not isinstance(x, pd.DataFrame):
            raise ConfigError(f"rolling takes pandas DataFrame batches, not {type(x).__name__}")
        on = self._time_col(x)
        needed = self._check(x, on)
        part = x[needed].reset_index(drop=True)
        tail = self.tail if self.tail is not None and len(self.tail) else None
        both = part if tail is None else pd.concat([tail, part], ignore_index=True)
        n_tail = 0 if tail is None else len(tail)
        results: list = []
        keep = np.ones(len(part), dtype=bool)
        if on is not None:
            keep = ~self._late(both, on)[n_tail:]
            if not keep.all():
                late = x[~keep]
                self.late_count += len(late)
                results.extend(self.to_side("late", late))
                both = both[np.concatenate([np.ones(n_tail, dtype=bool), keep])]
                both = both.reset_index(drop=True)
        if len(both) > n_tail:
            values = self._aggregate(both, on)
            self.tail = self._new_tail(both, on)
            rows = x if keep.all() else x[keep]
            new = pd.DataFrame({k: v[n_tail:] for k, v in values.items()}, index=rows.index)
            out = pd.concat([rows, new], axis=1)
            out.attrs = dict(x.attrs)
            results.extend(self.forward(out))
        return results

    def _late(self, both: pd.DataFrame, on: str) -> np.ndarray:
        """Rows older than a row of their key that arrived before them, or without a time."""
        t = both[on]
        ns = pd.Series(event_ns(t, "on"))
        newest = (
            ns.groupby([both[k] for k in self.keys], dropna=False).cummax()
            if self.keys
            else ns.cummax()
        )
        return t.isna().to_numpy() | (ns < newest).to_numpy()

    def _aggregate(self, both: pd.DataFrame, on: str | None) -> dict:
        if self.keys:  # group rows together (stable), so the groupby result is in that order
            gid = both.groupby(self.keys, sort=False, dropna=False).ngroup().to_numpy()
            perm = np.argsort(gid, kind="stable")
            frame = both.take(perm)
            roll = frame.groupby(gid[perm], sort=True).rolling(self.span, on=on, min_periods=1)
        else:
            perm = None
            roll = both.rolling(self.span, on=on, min_periods=1)
        values = {}
        for spec in self.specs:
            r = roll[spec.column]
            res = r.quantile(spec.q) if spec.method == "quantile" else getattr(r, spec.method)()
            got = res.to_numpy(dtype="float64")
            if perm is not None:
                got = np.empty_like(got)
                got[perm] = res.to_numpy(dtype="float64")
            values[spec.name] = got
        return values

    def _new_tail(self, both: pd.DataFrame, on: str | None) -> pd.DataFrame | None:
        if not self.by_time:
            if self.span == 1:
                return None
            if self.keys:
                return both.groupby(self.keys, sort=False, dropna=False).tail(self.span - 1)
            return both.tail(self.span - 1)
        ns = pd.Series(event_ns(both[on], "on"))  # no NaT here: late rows are gone
        if self.keys:
            newest = ns.groupby([both[k] for k in self.keys], dropna=False).transform("max")
        else:
            newest = ns.max()
        # in int64, saturating: `newest - span` near 1677 is out of Timestamp's range
        return both[ns.to_numpy() > sub_sat(np.asarray(newest), self.span.value, lowest=NAT)]


Rolling = rolling
