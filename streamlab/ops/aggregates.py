"""Mergeable aggregates, vectorised over a batch.

Every aggregate keeps a *partial state* of a few columns per group (count, sum, mean and M2 for
the moments; min and max; the first and last value with their event time and arrival number; the
time-decayed sums of an EWMA; or a sketch object). Partials of one batch come from one pandas
``groupby``; partials of many batches, or of several windows that become one session, combine
with :func:`reduce`, which is also one ``groupby``. Variance merges by Chan et al.'s formula, so
it stays exact and stable whatever the batch boundaries.

Names: ``count``, ``sum``, ``mean``, ``var``, ``std`` (ddof=1, as pandas), ``min``, ``max``,
``first``, ``last`` (by event time, ties by arrival; NaN skipped, as pandas), ``ewma:30s``
(time-decayed mean, half-life 30 s, as ``pandas.Series.ewm(halflife=..., times=...)``),
``quantile:0.9`` and ``median`` (KLL sketch, rank error <= 1%), ``distinct`` (HyperLogLog,
<= 2% relative error) and ``topk:5`` (Space-Saving heavy hitters).

Examples
--------
>>> specs = parse_agg({"x": ["count", "mean", "std"]})
>>> a = pd.DataFrame({"g": [1, 1, 2], "x": [1.0, 3.0, 5.0]})
>>> b = pd.DataFrame({"g": [1, 2], "x": [5.0, 7.0]})
>>> parts = pd.concat([partials(a, ["g"], specs), partials(b, ["g"], specs)])
>>> finalize(reduce(parts, ["g"], specs), specs).reset_index()
   g  x_count  x_mean     x_std
0  1        3     3.0  2.000000
1  2        2     6.0  1.414214
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.checks import check_choice, is_number_text
from ..errors import ConfigError
from .nstime import NAT, delta_float, event_ns

__all__ = ["AGGREGATES", "Spec", "finalize", "parse_agg", "partials", "reduce"]

AGGREGATES = (
    "count",
    "sum",
    "mean",
    "var",
    "std",
    "min",
    "max",
    "first",
    "last",
    "ewma",
    "quantile",
    "median",
    "distinct",
    "topk",
)
_SKETCHES = ("quantile", "median", "distinct", "topk")
SEP = "\x1f"  # joins a column name and a part name in state frames


@dataclass(frozen=True)
class Spec:
    """One aggregate of one column: ``column``, ``kind``, its parameter, its output name."""

    column: str
    kind: str
    param: object = None

    @property
    def output(self) -> str:
        tail = "" if self.param is None else f"_{self.param}"
        return f"{self.column}_{self.kind}{tail}"


def _param(kind: str, text: str | None, column: str):
    if kind == "ewma":
        if text is None:
            raise ConfigError(f"ewma needs a half-life, e.g. 'ewma:30s' (column {column!r})")
        try:  # "ewma:30" has no unit (pandas would read 30 ns): refused
            h = None if is_number_text(text) else pd.Timedelta(text)
        except (ValueError, OverflowError):
            h = None
        if h is None or h <= pd.Timedelta(0):
            raise ConfigError(
                f"ewma half-life must be a positive duration such as '30s', not "
                f"{text!r} (column {column!r})"
            )
        return text
    if kind == "quantile":
        try:
            q = float(text) if text is not None else None
        except ValueError:
            q = None
        if q is None or not 0 <= q <= 1:
            raise ConfigError(
                f"quantile needs a level in [0, 1], e.g. 'quantile:0.99', not "
                f"{text!r} (column {column!r})"
            )
        return text
    if kind == "topk":
        if text is None or not text.isdigit() or int(text) < 1:
            raise ConfigError(
                f"topk needs a count >= 1, e.g. 'topk:5', not {text!r} (column {column!r})"
            )
        return text
    if text is not None:
        raise ConfigError(f"{kind!r} takes no parameter, not {kind}:{text} (column {column!r})")
    return None


def parse_agg(agg) -> list[Spec]:
    """``{"glucose": ["mean", "max"], "id": "count"}`` into specs, checking every name.

    Examples
    --------
    >>> [s.output for s in parse_agg({"v": ["mean", "quantile:0.99", "ewma:30s"]})]
    ['v_mean', 'v_quantile_0.99', 'v_ewma_30s']
    >>> parse_agg({"v": ["meen"]})
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: aggregate='meen' is not one of 'count', 'sum', 'mean', 'var', 'std', 'min', 'max', 'first', 'last', 'ewma', 'quantile', 'median', 'distinct', 'topk'. Did you mean 'mean'?
    """
    if not isinstance(agg, dict) or not agg:
        raise ConfigError(
            f"agg must be a dict of column -> aggregate names, such as "
            f"{{'value': ['mean', 'max']}}, not {agg!r}"
        )
    specs = []
    for column, names in agg.items():
        for name in [names] if isinstance(names, str) else list(names):
            kind, _, text = str(name).partition(":")
            check_choice("aggregate", kind, AGGREGATES)
            specs.append(Spec(str(column), kind, _param(kind, text or None, column)))
    outputs = [s.output for s in specs]
    if len(set(outputs)) != len(outputs):
        raise ConfigError(f"agg names an aggregate twice: {outputs}")
    return specs


def _needs(specs: list[Spec]) -> dict[str, set[str]]:
    """Which partial bundles each column needs."""
    need: dict[str, set[str]] = {}
    for s in specs:
        bundle = {
            "count": "moments",
            "sum": "moments",
            "mean": "moments",
            "var": "moments",
            "std": "moments",
            "min": "minmax",
            "max": "minmax",
            "first": "ends",
            "last": "ends",
        }.get(s.kind, s.kind)
        if s.kind == "ewma":
            bundle = f"ewma:{s.param}"
        elif s.kind in _SKETCHES:
            bundle = f"sketch:{s.kind}:{s.param}"
        need.setdefault(s.column, set()).add(bundle)
    return need


def _sketch(kind: str, param):
    from .. import stats

    if kind in ("quantile", "median"):
        return stats.KLL()
    if kind == "distinct":
        return stats.HyperLogLog()
    return stats.SpaceSaving(capacity=max(100, 10 * int(param)))


def _codes(keys: list) -> tuple[np.ndarray, pd.Index]:
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


#: "no time" in integer time columns: NaT's int64, below every event time of any epoch (a
#: sentinel inside the datetime64[ns] range, such as -2**62 = 1823-11-..., would be a real time)
NO_TIME = NAT


class _LazyCodes:
    """Group numbers of rows that come grouped, built only if a part needs them per row."""

    def __init__(self, runs: np.ndarray, n: int) -> None:
        self.runs, self.n = runs, n

    def array(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.runs)), np.diff(np.append(self.runs, self.n)))


def _runs(codes: np.ndarray) -> np.ndarray | None:
    """Start of each group's run when ``codes`` is 0, 0, 1, 1, 1, 2... (rows come grouped)."""
    if not len(codes) or not _sorted(codes):
        return None
    starts = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
    return starts if len(starts) == codes[-1] + 1 else None


def _sorted(codes: np.ndarray) -> bool:
    return bool(len(codes) < 2 or (codes[1:] >= codes[:-1]).all())


def _reduceat(ufunc, codes: np.ndarray, x: np.ndarray, groups: int) -> np.ndarray:
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


def _pick(codes: np.ndarray, t: np.ndarray, s: np.ndarray, groups: int, last: bool) -> np.ndarray:
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


def _int_sum(codes: np.ndarray, x: np.ndarray, groups: int) -> np.ndarray:
    """Exact integer sums per group (bincount would go through float64)."""
    out = np.zeros(groups, dtype="int64")
    if len(x):
        order = np.argsort(codes, kind="stable")
        c = codes[order]
        starts = np.flatnonzero(np.concatenate(([True], c[1:] != c[:-1])))
        out[c[starts]] = np.add.reduceat(x[order].astype("int64"), starts)
    return out


def _keep_int(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Back to integers when the input was integers and no group came out empty."""
    if like.dtype.kind in "iu" and not np.isnan(values).any():
        return values.astype("int64")
    return values


def _take(values: np.ndarray, idx: np.ndarray, *, times: bool = False) -> np.ndarray:
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


def _as_float(values: pd.Series) -> np.ndarray:
    if values.dtype == np.float64:
        return values.to_numpy()  # no copy
    return values.to_numpy(dtype="float64", na_value=np.nan)


def partials(
    df: pd.DataFrame,
    by: list,
    specs: list[Spec],
    *,
    time: str | None = None,
    seq: np.ndarray | None = None,
    names: list[str] | None = None,
    runs: np.ndarray | None = None,
    index: pd.Index | None = None,
) -> pd.DataFrame:
    """Partial states of ``df`` grouped by ``by`` (one row per group, plus ``_rows``).

    ``by`` holds column names or arrays (one value per row; name them with ``names``).
    ``time`` names the event-time column (needed by first/last/ewma); ``seq`` is each row's
    arrival number (breaks ties of first/last). Vectorised: one factorisation of the keys,
    then ``bincount``/``reduceat`` per part, with no index alignment."""
    missing = [s.column for s in specs if s.column not in df.columns]
    if missing:
        raise ConfigError(
            f"agg names columns {sorted(set(missing))} that the stream does not "
            f"have; its columns are {list(df.columns)}"
        )
    if runs is None:
        codes, index = _codes(
            [df[c].to_numpy() if isinstance(c, str) else np.asarray(c) for c in by]
        )
        runs = _runs(codes)  # group boundaries when the rows come grouped (ordered windows)
    else:  # the caller knows where each group's rows start (rows come grouped, in order)
        codes = _LazyCodes(runs, len(df))
    groups = len(index)
    t = None
    out: dict[str, np.ndarray] = {}
    spread = {s.column for s in specs if s.kind in ("var", "std")}
    for column, bundles in _needs(specs).items():
        series = df[column]
        valid = series.notna().to_numpy()
        every = bool(valid.all())
        if isinstance(codes, _LazyCodes) and not (
            every and bundles <= {"moments", "minmax"} and series.dtype.kind in "iufb"
        ):
            codes = codes.array()  # needed after all
        cv = codes if every else codes[valid]
        numeric = series.dtype.kind in "iufb"
        x = None
        if numeric:
            x = _as_float(series) if every else _as_float(series)[valid]
        if "moments" in bundles:
            if every and runs is not None:
                n = np.diff(np.append(runs, len(df)))
                total = np.add.reduceat(x, runs) if numeric and len(x) else None
            else:
                n = np.bincount(cv, minlength=groups)
                total = np.bincount(cv, weights=x, minlength=groups) if numeric else None
            out[f"{column}{SEP}n"] = n
            if numeric:
                with np.errstate(invalid="ignore", divide="ignore"):
                    mean = total / n
                ints = series.dtype.kind in "iu"
                out[f"{column}{SEP}sum"] = (
                    (
                        np.add.reduceat(series.to_numpy().astype("int64"), runs)
                        if every and runs is not None and len(df)
                        else _int_sum(cv, series.to_numpy()[valid], groups)
                    )
                    if ints
                    else total
                )
                out[f"{column}{SEP}mean"] = mean
                if column in spread:  # M2 only when a variance is asked for: a second pass
                    dev = x - mean[cv]
                    out[f"{column}{SEP}m2"] = np.bincount(cv, dev * dev, minlength=groups)
        if "minmax" in bundles:
            if numeric:
                raw = series.to_numpy() if every else series.to_numpy()[valid]
                for name, ufunc in (("min", np.minimum), ("max", np.maximum)):
                    if "minmax" in bundles and every and runs is not None and len(x):
                        value = ufunc.reduceat(x, runs)
                    else:
                        value = _reduceat(ufunc, cv, x, groups)
                    out[f"{column}{SEP}{name}"] = _keep_int(value, raw)
            else:
                g = series[valid].groupby(cv)
                out[f"{column}{SEP}min"] = g.min().reindex(range(groups)).to_numpy()
                out[f"{column}{SEP}max"] = g.max().reindex(range(groups)).to_numpy()
        if "ends" in bundles or any(b.startswith("ewma:") for b in bundles):
            if time is None:
                raise ConfigError(
                    "first, last and ewma need an event-time column: name it with "
                    "on=... or give the source a time_column"
                )
            if t is None:
                times = df[time]
                if times.dtype.kind != "M":
                    times = pd.to_datetime(times, utc=True)
                t = event_ns(times, "on")
        if "ends" in bundles:
            if seq is None:
                seq = np.arange(len(df))
            seq = np.asarray(seq)
            raw = series.to_numpy()[valid]
            for name, last in (("first", False), ("last", True)):
                i = _pick(cv, t[valid], seq[valid], groups, last)
                out[f"{column}{SEP}{name}_t"] = _take(t[valid], i, times=True)
                out[f"{column}{SEP}{name}_s"] = _take(seq[valid], i, times=True)
                out[f"{column}{SEP}{name}"] = _take(raw, i)
        for bundle in bundles:
            if bundle.startswith("ewma:"):
                h = pd.Timedelta(bundle.split(":", 1)[1]).value
                tv = t[valid]
                ref = _reduceat(np.maximum, cv, tv, groups)
                # <= 1: relative to each group's newest time; the difference in float without
                # int64 wrap-around (a running aggregate may span centuries)
                w = np.exp2(delta_float(tv, ref[cv]) / h)
                out[f"{column}{SEP}{bundle}{SEP}ref"] = ref
                out[f"{column}{SEP}{bundle}{SEP}s"] = np.bincount(cv, w * x, minlength=groups)
                out[f"{column}{SEP}{bundle}{SEP}w"] = np.bincount(cv, w, minlength=groups)
            elif bundle.startswith("sketch:"):
                _, kind, param = bundle.split(":", 2)
                out[f"{column}{SEP}{bundle}"] = _sketches(kind, param, cv, series[valid], groups)
    out["_rows"] = (
        np.diff(np.append(runs, len(df)))
        if isinstance(codes, _LazyCodes) or runs is not None
        else np.bincount(codes, minlength=groups)
    )
    frame = pd.DataFrame(out, index=index)
    frame.index.names = names or by
    return frame


def _sketches(kind, param, codes, values: pd.Series, groups: int) -> np.ndarray:
    """One sketch per group, each fed its group's values in one call."""
    out = np.empty(groups, dtype=object)
    order = np.argsort(codes, kind="stable")
    c = codes[order]
    v = values.to_numpy()[order]
    cuts = np.flatnonzero(np.concatenate(([True], c[1:] != c[:-1], [True])))
    for a, b in itertools.pairwise(cuts):
        sk = _sketch(kind, param)
        sk.update(v[a:b])
        out[c[a]] = sk
    for g in range(groups):
        if out[g] is None:
            out[g] = _sketch(kind, param)
    return out


def reduce(parts: pd.DataFrame, by, specs: list[Spec]) -> pd.DataFrame:
    """Combine partial-state rows that share a group (the index)."""
    if not len(parts) or parts.index.is_unique:
        return parts
    idx = parts.index
    keys = [idx.get_level_values(i).to_numpy() for i in range(idx.nlevels)]
    codes, index = _codes(keys)
    groups = len(index)
    out: dict[str, np.ndarray] = {}
    col = lambda name: parts[name].to_numpy()  # noqa: E731
    for extra, how in (
        ("_rows", None),
        ("_tmin", np.minimum),
        ("_tmax", np.maximum),
        ("_last", np.maximum),
    ):
        if extra in parts:  # bookkeeping columns of the window steps
            out[extra] = (
                np.bincount(codes, col(extra), minlength=groups).astype("int64")
                if how is None
                else _reduceat(how, codes, col(extra).astype("int64"), groups)
            )
    for column, bundles in _needs(specs).items():

        def p(name: str, c: str = column) -> str:
            return f"{c}{SEP}{name}"

        if "moments" in bundles:
            n_i = col(p("n")).astype("float64")
            n = np.bincount(codes, n_i, minlength=groups)
            out[p("n")] = n.astype("int64")
            if p("mean") in parts:
                mean_i = np.nan_to_num(col(p("mean")).astype("float64"))
                with np.errstate(invalid="ignore", divide="ignore"):
                    mean = np.bincount(codes, n_i * mean_i, minlength=groups) / n
                dev = mean_i - np.nan_to_num(mean)[codes]
                sums = col(p("sum"))
                out[p("sum")] = (
                    _int_sum(codes, sums, groups)
                    if sums.dtype.kind in "iu"
                    else np.bincount(codes, sums.astype("float64"), minlength=groups)
                )
                out[p("mean")] = mean
                if p("m2") in parts:  # Chan et al.: M2 = sum of M2_i + n_i (mean_i - mean)^2
                    m2_i = np.nan_to_num(col(p("m2")).astype("float64"))
                    out[p("m2")] = np.bincount(codes, m2_i + n_i * dev * dev, minlength=groups)
        if "minmax" in bundles:
            for name, ufunc in (("min", np.fmin), ("max", np.fmax)):
                values = col(p(name))
                if values.dtype.kind in "iuf":
                    merged = _reduceat(ufunc, codes, values.astype("float64"), groups)
                    out[p(name)] = _keep_int(merged, values)
                else:
                    s = pd.Series(values).groupby(codes)
                    out[p(name)] = getattr(s, name)().reindex(range(groups)).to_numpy()
        if "ends" in bundles:
            for name, last in (("first", False), ("last", True)):
                t_i = col(p(f"{name}_t")).astype("int64")
                s_i = col(p(f"{name}_s")).astype("int64")
                ok = (
                    s_i != NO_TIME
                )  # arrival numbers are >= 0: a row was there (its time may be NaT)
                i = _pick(codes[ok], t_i[ok], s_i[ok], groups, last)
                for suffix in ("_t", "_s", ""):
                    out[p(name + suffix)] = _take(col(p(name + suffix))[ok], i, times=suffix != "")
        for bundle in bundles:
            if bundle.startswith("ewma:"):
                ref_i = col(p(f"{bundle}{SEP}ref")).astype("int64")
                ref = _reduceat(np.maximum, codes, ref_i, groups)
                h = pd.Timedelta(bundle.split(":", 1)[1]).value
                scale = np.exp2(delta_float(ref_i, ref[codes]) / h)
                out[p(f"{bundle}{SEP}ref")] = ref
                for k in ("s", "w"):
                    v = np.nan_to_num(col(p(f"{bundle}{SEP}{k}")).astype("float64"))
                    out[p(f"{bundle}{SEP}{k}")] = np.bincount(codes, v * scale, minlength=groups)
            elif bundle.startswith("sketch:"):
                merged = np.empty(groups, dtype=object)
                for g, sk in zip(codes, col(p(bundle)), strict=True):
                    if merged[g] is None:
                        merged[g] = sk.copy()
                    else:
                        merged[g].merge(sk)
                out[p(bundle)] = merged
    frame = pd.DataFrame(out, index=index)
    frame.index.names = parts.index.names
    return frame


def finalize(state: pd.DataFrame, specs: list[Spec]) -> pd.DataFrame:
    """The aggregate values (one column per spec, named ``{column}_{agg}``) from partials."""
    out = {}
    for s in specs:

        def p(name: str, c: str = s.column):
            return state[f"{c}{SEP}{name}"]

        if s.kind == "count":
            out[s.output] = p("n").astype("int64")
        elif s.kind == "sum":
            out[s.output] = p("sum")
        elif s.kind == "mean":
            out[s.output] = p("mean").where(p("n") > 0)
        elif s.kind in ("var", "std"):
            var = p("m2") / (p("n") - 1).where(p("n") > 1)
            out[s.output] = np.sqrt(var) if s.kind == "std" else var
        elif s.kind in ("min", "max", "first", "last"):
            out[s.output] = p(s.kind)
        elif s.kind == "ewma":
            b = f"ewma:{s.param}{SEP}"
            out[s.output] = p(b + "s") / p(b + "w")
        else:
            sk = p(f"sketch:{s.kind}:{s.param}")
            if s.kind in ("quantile", "median"):
                q = 0.5 if s.kind == "median" else float(s.param)
                out[s.output] = sk.map(lambda k, q=q: float(k.quantile(q)))
            elif s.kind == "distinct":
                out[s.output] = sk.map(lambda k: round(k.count()))
            else:
                n = int(s.param)
                out[s.output] = sk.map(lambda k, n=n: list(k.top(n)["item"]))
    return pd.DataFrame(out, index=state.index)
