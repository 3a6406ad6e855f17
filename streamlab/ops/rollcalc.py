"""Rolling aggregates of a stream, exact against pandas whatever the batch boundaries: the
algorithm behind ``stream.rolling`` (see ``rolling.py``), with no streamz and no asyncio.

The state is the *tail*: per key, the rows the next rows can still see (the last
``window - 1`` rows, or the rows newer than the newest time minus the window). :func:`roll`
runs pandas once on tail + batch, keeps the batch's rows and cuts the next tail. With time
windows, a row older than the newest row of its key before it (or without a time) is late
(the :mod:`~streamlab.ops.watermark` rule with lateness 0) and is not aggregated.

Examples
--------
>>> import pandas as pd
>>> specs = parse_rolling_aggs({"x": "sum"})
>>> a = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
>>> r = roll(None, a, span=2, on=None, keys=[], specs=specs)
>>> r.values["x_sum"].tolist(), len(r.tail)
([1.0, 3.0, 5.0], 1)
>>> roll(r.tail, pd.DataFrame({"x": [4.0]}), span=2, on=None, keys=[], specs=specs).values
{'x_sum': array([7.])}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..core.checks import check_choice, is_integer, is_number_text, shown
from ..errors import ConfigError
from .nstime import NAT, event_ns, sub_sat
from .watermark import prior_max_by_key

__all__ = ["AGGS", "RollResult", "RollingAgg", "parse_rolling_aggs", "parse_window", "roll"]

AGGS = ("count", "sum", "mean", "min", "max", "var", "std", "median")
_QUANTILE = "quantile:"


@dataclass(frozen=True)
class RollingAgg:
    """One aggregate: the input column, the pandas method, its quantile and the output name."""

    column: object
    method: str
    q: float | None
    name: str


def parse_window(window: Any, *, min_rows: int = 1) -> int | pd.Timedelta:
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


def duration(window: Any) -> pd.Timedelta:
    span = parse_window(window)
    if isinstance(span, int):
        raise ConfigError(
            f"window={window!r} is a row count; this rolling step counts time: give a "
            "duration such as '30s'"
        )
    return span


def _parse_one(column: Any, name: Any) -> RollingAgg:
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


def parse_rolling_aggs(agg: Any) -> list[RollingAgg]:
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


@dataclass
class RollResult:
    """What :func:`roll` gives for one batch: which rows were in time (``keep``), the
    aggregate values of those rows (``None``: no row kept) and the next tail."""

    keep: np.ndarray
    values: dict[str, np.ndarray] | None
    tail: pd.DataFrame | None


def roll(
    tail: pd.DataFrame | None,
    part: pd.DataFrame,
    *,
    span: int | pd.Timedelta,
    on: str | None,
    keys: list,
    specs: list[RollingAgg],
) -> RollResult:
    """One batch (``part``: the needed columns, a fresh RangeIndex) after ``tail``: late rows
    (time windows), each kept row's aggregates over the ``span`` up to it, the next tail."""
    tail = tail if tail is not None and len(tail) else None
    both = part if tail is None else pd.concat([tail, part], ignore_index=True)
    n_tail = 0 if tail is None else len(tail)
    keep = np.ones(len(part), dtype=bool)
    if on is not None:
        keep = ~late_rows(both, on, keys)[n_tail:]
        if not keep.all():
            both = both[np.concatenate([np.ones(n_tail, dtype=bool), keep])]
            both = both.reset_index(drop=True)
    if len(both) <= n_tail:
        return RollResult(keep, None, tail)
    values = rolling_values(both, span, on, keys, specs)
    mine = {k: v[n_tail:] for k, v in values.items()}
    return RollResult(keep, mine, next_tail(both, span, on, keys))


def late_rows(both: pd.DataFrame, on: str, keys: list) -> np.ndarray:
    """Rows older than a row of their key that arrived before them, or without a time."""
    t = both[on]
    ns = event_ns(t, "on")
    newest = prior_max_by_key(ns, [both[k] for k in keys])
    return t.isna().to_numpy() | (ns < newest)


def rolling_values(
    both: pd.DataFrame,
    span: int | pd.Timedelta,
    on: str | None,
    keys: list,
    specs: list[RollingAgg],
) -> dict[str, np.ndarray]:
    """Each row's aggregates over the window up to it, as pandas computes them."""
    if keys:  # group rows together (stable), so the groupby result is in that order
        gid = both.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
        perm = np.argsort(gid, kind="stable")
        frame = both.take(perm)
        roller = frame.groupby(gid[perm], sort=True).rolling(span, on=on, min_periods=1)
    else:
        perm = None
        roller = both.rolling(span, on=on, min_periods=1)
    values = {}
    for spec in specs:
        r = roller[spec.column]
        res = r.quantile(spec.q) if spec.method == "quantile" else getattr(r, spec.method)()
        got = res.to_numpy(dtype="float64")
        if perm is not None:
            got = np.empty_like(got)
            got[perm] = res.to_numpy(dtype="float64")
        values[spec.name] = got
    return values


def next_tail(
    both: pd.DataFrame, span: int | pd.Timedelta, on: str | None, keys: list
) -> pd.DataFrame | None:
    """The rows of ``both`` that a later row can still see."""
    if isinstance(span, int):
        if span == 1:
            return None
        if keys:
            return both.groupby(keys, sort=False, dropna=False).tail(span - 1)
        return both.tail(span - 1)
    ns = pd.Series(event_ns(both[on], "on"))  # no NaT here: late rows are gone
    if keys:
        newest = ns.groupby([both[k] for k in keys], dropna=False).transform("max")
    else:
        newest = ns.max()
    # in int64, saturating: `newest - span` near 1677 is out of Timestamp's range
    return both[ns.to_numpy() > sub_sat(np.asarray(newest), span.value, lowest=NAT)]
