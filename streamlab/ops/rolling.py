"""``stream.rolling(window, on=..., key=..., agg=...)``: rolling aggregates over the whole stream.

A thin node over ``rollcalc.py`` (the algorithm: tails, late rows, pandas' rolling).

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

from typing import Any

import pandas as pd
from streamz import Stream

from ..core.batch import resolve_time_column
from ..core.params import Param
from ..core.registry import register_step
from ..core.step import Step
from ..errors import ConfigError
from .rollcalc import AGGS, RollingAgg, duration, parse_rolling_aggs, parse_window, roll

__all__ = ["AGGS", "Rolling", "RollingAgg", "parse_rolling_aggs", "parse_window"]


def _columns(name: str, value: Any) -> list:
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
            return {"window": Param("window", help="rolling window (a duration)", parse=duration)}
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
        col = resolve_time_column(df, self.on, step=f"rolling(window={self._asked!r})")
        if not pd.api.types.is_datetime64_any_dtype(df[col]):
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
    def update(self, x: Any, who: Any = None, metadata: Any = None) -> list:
        if not isinstance(x, pd.DataFrame):
            raise ConfigError(f"rolling takes pandas DataFrame batches, not {type(x).__name__}")
        on = self._time_col(x)
        needed = self._check(x, on)
        part = x[needed].reset_index(drop=True)
        got = roll(self.tail, part, span=self.span, on=on, keys=self.keys, specs=self.specs)
        results: list = []
        if not got.keep.all():
            late = x[~got.keep]
            self.late_count += len(late)
            results.extend(self.to_side("late", late))
        if got.values is not None:
            self.tail = got.tail
            rows = x if got.keep.all() else x[got.keep]
            new = pd.DataFrame(got.values, index=rows.index)
            out = pd.concat([rows, new], axis=1)
            out.attrs = dict(x.attrs)
            results.extend(self.forward(out))
        return results


Rolling = rolling
