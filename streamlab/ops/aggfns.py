"""Mergeable aggregates, vectorised over the groups of a batch, knowing nothing of windows.

Each class has the shape of Flink's ``AggregateFunction`` (or River's ``stats``), with every
method working on all groups at once:

- ``partial(values, groups)``: the partial state of each group of one batch (a few arrays,
  one entry per group: count, sum, mean and M2; min and max; first and last with their event
  time and arrival number; an EWMA's decayed sums; a sketch);
- ``merge(state, codes, n)``: the states of the rows of ``state`` that share a code, combined
  (two partials of one group, or a hundred: the merge is associative and commutative);
- ``finalize(state, spec)``: the aggregate's value from its state.

Variance merges by Chan et al.'s formula, so it stays exact and stable whatever the batch
boundaries. Plain numpy and pandas: no streamz, no asyncio.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from streamlab.ops.grouping import Groups
>>> m = Moments(spread=True)
>>> a = m.partial(Values(pd.Series([1.0, 3.0, 5.0])), Groups.of([np.array([1, 1, 2])]))
>>> b = m.partial(Values(pd.Series([5.0, 7.0])), Groups.of([np.array([1, 2])]))
>>> both = {k: np.concatenate([a[k], b[k]]) for k in a}
>>> s = m.merge(both, np.array([0, 1, 0, 1]), 2)
>>> s["n"].tolist(), s["mean"].tolist(), s["m2"].tolist()
([3, 2], [3.0, 6.0], [8.0, 2.0])
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .grouping import NO_TIME, Groups, as_float, int_sums, keep_int, pick, reduce_groups, take
from .nstime import delta_float, event_ns

__all__ = [
    "Aggregate",
    "Ends",
    "Ewma",
    "Extent",
    "MinMax",
    "Moments",
    "Rows",
    "Sketch",
    "Values",
]

State = dict[str, np.ndarray]


class Values:
    """One column of a batch as an aggregate reads it: the values, which are present
    (``valid``), and, for aggregates that need them, the rows' event times (``times``, int64
    ns) and arrival numbers (``seq``).

    Examples
    --------
    >>> import pandas as pd
    >>> v = Values(pd.Series([1.0, None, 3.0]))
    >>> v.every, v.x.tolist()
    (False, [1.0, 3.0])
    """

    def __init__(
        self,
        series: pd.Series,
        *,
        times: Callable[[], np.ndarray] | None = None,
        seq: Any = None,
    ) -> None:
        self.series = series
        self.valid = series.notna().to_numpy()
        self.every = bool(self.valid.all())
        self.numeric = series.dtype.kind in "iufb"
        self._times, self._seq = times, seq
        self._x: np.ndarray | None = None

    @property
    def x(self) -> np.ndarray:
        """The present values as float64 (numeric columns)."""
        if self._x is None:
            x = as_float(self.series)
            self._x = x if self.every else x[self.valid]
        return self._x

    def raw(self) -> np.ndarray:
        """The present values in their own dtype."""
        v = self.series.to_numpy()
        return v if self.every else v[self.valid]

    def codes(self, groups: Groups) -> np.ndarray:
        """The group number of each present value."""
        return groups.codes if self.every else groups.codes[self.valid]

    def times(self) -> np.ndarray:
        """Event times (int64 ns) of the present values."""
        if self._times is None:
            raise ValueError("this aggregate needs event times")  # guarded by AggregateSet
        t = self._times()
        return t if self.every else t[self.valid]

    def seq(self) -> np.ndarray:
        """Arrival numbers of the present values."""
        s = np.arange(len(self.series)) if self._seq is None else np.asarray(self._seq)
        return s if self.every else s[self.valid]


class Aggregate:
    """Base of the aggregates: ``partial`` / ``merge`` / ``finalize`` over groups."""

    #: needs the event-time column (first, last, ewma)
    NEEDS_TIME = False

    def partial(self, values: Values, groups: Groups) -> State:
        raise NotImplementedError

    def merge(self, state: Mapping[str, np.ndarray], codes: np.ndarray, n: int) -> State:
        raise NotImplementedError

    def finalize(self, state: Mapping[str, pd.Series], kind: str) -> pd.Series:
        raise NotImplementedError


class Moments(Aggregate):
    """count, sum, mean, and (``spread``) var and std with ddof=1, as pandas."""

    def __init__(self, spread: bool = False) -> None:
        self.spread = spread

    def partial(self, values: Values, groups: Groups) -> State:
        out: State = {}
        series, g = values.series, groups.n
        runs = groups.runs if values.every else None
        x = values.x if values.numeric else None
        if runs is not None:
            n = groups.sizes()
            total = np.add.reduceat(x, runs) if x is not None and len(x) else None
        else:
            cv = values.codes(groups)
            n = np.bincount(cv, minlength=g)
            total = np.bincount(cv, weights=x, minlength=g) if x is not None else None
        out["n"] = n
        if x is None or total is None:
            return out
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / n
        if series.dtype.kind in "iu":
            if runs is not None and groups.n_rows:
                out["sum"] = np.add.reduceat(series.to_numpy().astype("int64"), runs)
            else:
                out["sum"] = int_sums(values.codes(groups), values.raw(), g)
        else:
            out["sum"] = total
        out["mean"] = mean
        if self.spread:  # M2 only when a variance is asked for: a second pass
            dev = x - mean[values.codes(groups)]
            out["m2"] = np.bincount(values.codes(groups), dev * dev, minlength=g)
        return out

    def merge(self, state: Mapping[str, np.ndarray], codes: np.ndarray, n: int) -> State:
        out: State = {}
        n_i = state["n"].astype("float64")
        total = np.bincount(codes, n_i, minlength=n)
        out["n"] = total.astype("int64")
        if "mean" not in state:
            return out
        mean_i = np.nan_to_num(state["mean"].astype("float64"))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(codes, n_i * mean_i, minlength=n) / total
        sums = state["sum"]
        out["sum"] = (
            int_sums(codes, sums, n)
            if sums.dtype.kind in "iu"
            else np.bincount(codes, sums.astype("float64"), minlength=n)
        )
        out["mean"] = mean
        if "m2" in state:  # Chan et al.: M2 = sum of M2_i + n_i (mean_i - mean)^2
            dev = mean_i - np.nan_to_num(mean)[codes]
            m2_i = np.nan_to_num(state["m2"].astype("float64"))
            out["m2"] = np.bincount(codes, m2_i + n_i * dev * dev, minlength=n)
        return out

    def finalize(self, state: Mapping[str, pd.Series], kind: str) -> pd.Series:
        n = state["n"]
        if kind == "count":
            return n.astype("int64")
        if kind == "sum":
            return state["sum"]
        if kind == "mean":
            return state["mean"].where(n > 0)
        var = state["m2"] / (n - 1).where(n > 1)
        return np.sqrt(var) if kind == "std" else var


class MinMax(Aggregate):
    """min and max (of numbers, or of any ordered values)."""

    def partial(self, values: Values, groups: Groups) -> State:
        out: State = {}
        if not values.numeric:
            grouped = values.series[values.valid].groupby(values.codes(groups))
            out["min"] = grouped.min().reindex(range(groups.n)).to_numpy()
            out["max"] = grouped.max().reindex(range(groups.n)).to_numpy()
            return out
        x, raw = values.x, values.raw()
        runs = groups.runs if values.every and len(x) else None
        for name, ufunc in (("min", np.minimum), ("max", np.maximum)):
            if runs is not None:
                value = ufunc.reduceat(x, runs)
            else:
                value = reduce_groups(ufunc, values.codes(groups), x, groups.n)
            out[name] = keep_int(value, raw)
        return out

    def merge(self, state: Mapping[str, np.ndarray], codes: np.ndarray, n: int) -> State:
        out: State = {}
        for name, ufunc in (("min", np.fmin), ("max", np.fmax)):
            values = state[name]
            if values.dtype.kind in "iuf":
                merged = reduce_groups(ufunc, codes, values.astype("float64"), n)
                out[name] = keep_int(merged, values)
            else:
                grouped = pd.Series(values).groupby(codes)
                out[name] = getattr(grouped, name)().reindex(range(n)).to_numpy()
        return out

    def finalize(self, state: Mapping[str, pd.Series], kind: str) -> pd.Series:
        return state[kind]


class Ends(Aggregate):
    """first and last by event time, ties by arrival; missing values skipped (as pandas)."""

    NEEDS_TIME = True

    def partial(self, values: Values, groups: Groups) -> State:
        out: State = {}
        cv, t, s, raw = values.codes(groups), values.times(), values.seq(), values.raw()
        for name, last in (("first", False), ("last", True)):
            i = pick(cv, t, s, groups.n, last)
            out[f"{name}_t"] = take(t, i, times=True)
            out[f"{name}_s"] = take(s, i, times=True)
            out[name] = take(raw, i)
        return out

    def merge(self, state: Mapping[str, np.ndarray], codes: np.ndarray, n: int) -> State:
        out: State = {}
        for name, last in (("first", False), ("last", True)):
            t_i = state[f"{name}_t"].astype("int64")
            s_i = state[f"{name}_s"].astype("int64")
            ok = s_i != NO_TIME  # an arrival number: a row was there (its time may be NaT)
            i = pick(codes[ok], t_i[ok], s_i[ok], n, last)
            for suffix in ("_t", "_s", ""):
                out[name + suffix] = take(state[name + suffix][ok], i, times=suffix != "")
        return out

    def finalize(self, state: Mapping[str, pd.Series], kind: str) -> pd.Series:
        return state[kind]


class Ewma(Aggregate):
    """Time-decayed mean with half-life ``halflife`` ns, as ``Series.ewm(halflife=,
    times=)``: each group keeps its newest time and sums decayed to it."""

    NEEDS_TIME = True

    def __init__(self, halflife: int) -> None:
        self.halflife = halflife

    def partial(self, values: Values, groups: Groups) -> State:
        cv, tv = values.codes(groups), values.times()
        ref = reduce_groups(np.maximum, cv, tv, groups.n)
        # <= 1: relative to each group's newest time; the difference in float without int64
        # wrap-around (a running aggregate may span centuries)
        w = np.exp2(delta_float(tv, ref[cv]) / self.halflife)
        x = values.x
        return {
            "ref": ref,
            "s": np.bincount(cv, w * x, minlength=groups.n),
            "w": np.bincount(cv, w, minlength=groups.n),
        }

    def merge(self, state: Mapping[str, np.ndarray], codes: np.ndarray, n: int) -> State:
        ref_i = state["ref"].astype("int64")
        ref = reduce_groups(np.maximum, codes, ref_i, n)
        scale = np.exp2(delta_float(ref_i, ref[codes]) / self.halflife)
        out: State = {"ref": ref}
        for k in ("s", "w"):
            v = np.nan_to_num(state[k].astype("float64"))
            out[k] = np.bincount(codes, v * scale, minlength=n)
        return out

    def finalize(self, state: Mapping[str, pd.Series], kind: str) -> pd.Series:
        return state["s"] / state["w"]


class Sketch(Aggregate):
    """One sketch object per group: ``quantile``/``median`` (KLL), ``distinct``
    (HyperLogLog), ``topk`` (Space-Saving); ``param`` is the level or the k."""

    def __init__(self, kind: str, param: Any) -> None:
        self.kind, self.param = kind, param

    def new(self) -> Any:
        from .. import stats

        if self.kind in ("quantile", "median"):
            return stats.KLL()
        if self.kind == "distinct":
            return stats.HyperLogLog()
        return stats.SpaceSaving(capacity=max(100, 10 * int(self.param)))

    def partial(self, values: Values, groups: Groups) -> State:
        """One sketch per group, each fed its group's values in one call."""
        out = np.empty(groups.n, dtype=object)
        codes = values.codes(groups)
        order = np.argsort(codes, kind="stable")
        c = codes[order]
        v = values.raw()[order]
        cuts = np.flatnonzero(np.concatenate(([True], c[1:] != c[:-1], [True])))
        for a, b in itertools.pairwise(cuts):
            sk = self.new()
            sk.update(v[a:b])
            out[c[a]] = sk
        for g in range(groups.n):
            if out[g] is None:
                out[g] = self.new()
        return {"": out}

    def merge(self, state: Mapping[str, np.ndarray], codes: np.ndarray, n: int) -> State:
        merged = np.empty(n, dtype=object)
        for g, sk in zip(codes, state[""], strict=True):
            if merged[g] is None:
                merged[g] = sk.copy()
            else:
                merged[g].merge(sk)
        return {"": merged}

    def finalize(self, state: Mapping[str, pd.Series], kind: str) -> pd.Series:
        sk = state[""]
        if kind in ("quantile", "median"):
            q = 0.5 if kind == "median" else float(self.param)
            return sk.map(lambda k: float(k.quantile(q)))
        if kind == "distinct":
            return sk.map(lambda k: round(k.count()))
        top = int(self.param)
        return sk.map(lambda k: list(k.top(top)["item"]))


class Extent(Aggregate):
    """The smallest and largest of an int64 column (event times in ns), exact: no float.
    ``which`` picks ``("min",)``, ``("max",)`` or both."""

    _UFUNC: ClassVar[dict[str, Any]] = {"min": np.minimum, "max": np.maximum}

    def __init__(self, which: tuple[str, ...] = ("min", "max")) -> None:
        self.which = which

    def partial(self, values: Values, groups: Groups) -> State:
        t = values.series.to_numpy().astype("int64")
        return {w: reduce_groups(self._UFUNC[w], groups.codes, t, groups.n) for w in self.which}

    def merge(self, state: Mapping[str, np.ndarray], codes: np.ndarray, n: int) -> State:
        return {
            w: reduce_groups(self._UFUNC[w], codes, state[w].astype("int64"), n) for w in self.which
        }

    def finalize(self, state: Mapping[str, pd.Series], kind: str) -> pd.Series:
        return state[kind]


class Rows(Aggregate):
    """How many rows each group has (missing values too)."""

    def partial(self, values: Values, groups: Groups) -> State:
        return {"n": groups.sizes()}

    def merge(self, state: Mapping[str, np.ndarray], codes: np.ndarray, n: int) -> State:
        return {"n": np.bincount(codes, state["n"], minlength=n).astype("int64")}

    def finalize(self, state: Mapping[str, pd.Series], kind: str) -> pd.Series:
        return state["n"].astype("int64")


def event_times(df: pd.DataFrame, column: str) -> np.ndarray:
    """A batch's event times as int64 ns (a non-datetime column is parsed as UTC)."""
    times = df[column]
    if times.dtype.kind != "M":
        times = pd.to_datetime(times, utc=True)
    return event_ns(times, "on")
