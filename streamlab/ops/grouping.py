"""Group numbers and per-group reductions over numpy arrays: the vectorised kernels the
aggregates (``aggfns.py``) are built from. Plain numpy and pandas: no streamz, no asyncio.

A batch's rows are numbered by group (:func:`group_codes`, first-seen order, NaN kept as a
key) and described by a :class:`Groups`; each reduction is one sort plus one ``reduceat``, or
one ``bincount``, never one pass per group.

Examples
--------
>>> import numpy as np
>>> g = Groups.of([np.array(["a", "b", "a"])])
>>> g.codes.tolist(), list(g.index), g.sizes().tolist()
([0, 1, 0], ['a', 'b'], [2, 1])
>>> reduce_groups(np.maximum, g.codes, np.array([3, 9, 5]), g.n).tolist()
[5, 9]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .nstime import NAT

__all__ = [
    "NO_TIME",
    "Groups",
    "as_float",
    "group_codes",
    "int_sums",
    "keep_int",
    "pick",
    "reduce_groups",
    "take",
]

#: "no time" in integer time columns: NaT's int64, below every event time of any epoch (a
#: sentinel inside the datetime64[ns] range, such as -2**62 = 1823-11-..., would be a real time)
NO_TIME = NAT


def group_codes(keys: list) -> tuple[np.ndarray, pd.Index]:
    """Group number of every row (first-seen order) and the distinct keys, NaN kept.

    A single numeric key already in order (a tumbling window's start over a time-ordered
    batch) is numbered from its run boundaries: no hashing, and codes come out sorted."""
    if len(keys) == 1 and keys[0].dtype.kind in "iu" and len(keys[0]):
        k = keys[0]
        step = k[1:] != k[:-1]
        if (k[1:] >= k[:-1]).all():
            codes = np.concatenate(([0], np.cumsum(step)))
            return codes, pd.Index(k[np.concatenate(([True], step))])
    if len(keys) == 1:
        codes, uniques = pd.factorize(keys[0], use_na_sentinel=False)
        return codes, pd.Index(uniques)
    # several keys: number each, fold the numbers into one int64, number that (fast hashing of
    # integers instead of tuples), and read the keys back at each group's first row
    combined = np.zeros(len(keys[0]), dtype="int64")
    for k in keys:
        c, u = pd.factorize(k, use_na_sentinel=False)
        combined = combined * max(len(u), 1) + c
    codes, _ = pd.factorize(combined)
    first = np.empty(codes.max() + 1 if len(codes) else 0, dtype="int64")
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return codes, pd.MultiIndex.from_arrays([np.asarray(k)[first] for k in keys])


class Groups:
    """The groups of a batch's rows: ``index`` (one entry per group), ``n_rows``, and either
    ``codes`` (group number per row) or ``runs`` (where each group's rows begin, when rows come
    grouped in order). ``codes`` is built from ``runs`` only if an aggregate needs it."""

    __slots__ = ("_codes", "index", "n", "n_rows", "runs")

    def __init__(
        self,
        index: pd.Index,
        n_rows: int,
        *,
        codes: np.ndarray | None = None,
        runs: np.ndarray | None = None,
    ) -> None:
        self.index, self.n, self.n_rows = index, len(index), n_rows
        self._codes, self.runs = codes, runs
        if runs is None and codes is not None:
            self.runs = _runs(codes)  # rows that come grouped (ordered windows) take fast paths

    @classmethod
    def of(cls, keys: list) -> Groups:
        """The groups of rows keyed by ``keys`` (arrays, one value per row)."""
        codes, index = group_codes(keys)
        return cls(index, len(codes), codes=codes)

    @property
    def codes(self) -> np.ndarray:
        if self._codes is None:
            runs = self.runs if self.runs is not None else np.zeros(0, dtype="int64")
            self._codes = np.repeat(np.arange(len(runs)), np.diff(np.append(runs, self.n_rows)))
        return self._codes

    def sizes(self) -> np.ndarray:
        """Rows per group."""
        if self.runs is not None:
            return np.diff(np.append(self.runs, self.n_rows))
        return np.bincount(self.codes, minlength=self.n)


def _runs(codes: np.ndarray) -> np.ndarray | None:
    """Start of each group's run when ``codes`` is 0, 0, 1, 1, 1, 2... (rows come grouped)."""
    if not len(codes) or not _sorted(codes):
        return None
    starts = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
    return starts if len(starts) == codes[-1] + 1 else None


def _sorted(codes: np.ndarray) -> bool:
    return bool(len(codes) < 2 or (codes[1:] >= codes[:-1]).all())


def reduce_groups(ufunc: Any, codes: np.ndarray, x: np.ndarray, groups: int) -> np.ndarray:
    """``ufunc`` over each group's values: one sort, one reduceat. Groups with no value get NaN
    (float input) or ``NO_TIME`` (integer input: event times stay exact nanoseconds)."""
    out = (
        np.full(groups, NO_TIME, dtype="int64") if x.dtype.kind in "iu" else np.full(groups, np.nan)
    )
    if not len(x):
        return out
    if _sorted(codes):
        c, xs = codes, x
    else:
        order = np.argsort(codes, kind="stable")
        c, xs = codes[order], x[order]
    starts = np.flatnonzero(np.concatenate(([True], c[1:] != c[:-1])))
    out[c[starts]] = ufunc.reduceat(xs, starts)
    return out


def pick(codes: np.ndarray, t: np.ndarray, s: np.ndarray, groups: int, last: bool) -> np.ndarray:
    """Row index of the first (or last) row of each group by (time, arrival); -1 if none."""
    out = np.full(groups, -1)
    if not len(codes):
        return out
    order = np.lexsort((s, t, codes))
    c = codes[order]
    edge = (
        np.concatenate(([True], c[1:] != c[:-1]))
        if not last
        else np.concatenate((c[1:] != c[:-1], [True]))
    )
    out[c[edge]] = order[edge]
    return out


def int_sums(codes: np.ndarray, x: np.ndarray, groups: int) -> np.ndarray:
    """Exact integer sums per group (bincount would go through float64)."""
    out = np.zeros(groups, dtype="int64")
    if len(x):
        order = np.argsort(codes, kind="stable")
        c = codes[order]
        starts = np.flatnonzero(np.concatenate(([True], c[1:] != c[:-1])))
        out[c[starts]] = np.add.reduceat(x[order].astype("int64"), starts)
    return out


def keep_int(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Back to integers when the input was integers and no group came out empty."""
    if like.dtype.kind in "iu" and not np.isnan(values).any():
        return values.astype("int64")
    return values


def take(values: np.ndarray, idx: np.ndarray, *, times: bool = False) -> np.ndarray:
    """``values[idx]``, missing (``idx == -1``) as NaN, or as ``NO_TIME`` for event times."""
    if times:
        out = np.full(len(idx), NO_TIME, dtype="int64")
        out[idx >= 0] = values[idx[idx >= 0]]
        return out
    if not len(values):
        return np.full(len(idx), np.nan, dtype="float64" if values.dtype.kind in "iufb" else object)
    out = values[np.maximum(idx, 0)]
    if (idx < 0).any():
        out = out.astype("float64") if out.dtype.kind in "iub" else out.astype(object)
        out[idx < 0] = np.nan
    return out


def as_float(values: pd.Series) -> np.ndarray:
    """A column's values as float64 (no copy when they are), missing as NaN."""
    if values.dtype == np.float64:
        return values.to_numpy()  # no copy
    return values.to_numpy(dtype="float64", na_value=np.nan)
