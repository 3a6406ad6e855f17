"""Aggregates of a batch per group, mergeable across batches: ``parse_agg`` reads the names,
an :class:`AggregateSet` computes them.

An :class:`AggregateSet` holds one aggregate class (``aggfns.py``) per column and kind and
works on whole tables of groups: ``partial(df, by)`` gives one row of partial state per group
(one factorisation of the keys, then ``bincount``/``reduceat`` per aggregate),
``merge(a, b)`` combines the rows of partial states that share a group (the index), and
``finalize(state)`` gives the values, one column per aggregate. It knows nothing of windows:
a window step keys the groups by window and asks for any extra state it needs (a session's
last time, a count window's rows) as aggregates of its own (``extra=``).

Names: ``count``, ``sum``, ``mean``, ``var``, ``std`` (ddof=1, as pandas), ``min``, ``max``,
``first``, ``last`` (by event time, ties by arrival; NaN skipped, as pandas), ``ewma:30s``
(time-decayed mean, half-life 30 s, as ``pandas.Series.ewm(halflife=..., times=...)``),
``quantile:0.9`` and ``median`` (KLL sketch, rank error <= 1%), ``distinct`` (HyperLogLog,
<= 2% relative error) and ``topk:5`` (Space-Saving heavy hitters).

Examples
--------
>>> aggs = AggregateSet(parse_agg({"x": ["count", "mean", "std"]}))
>>> a = pd.DataFrame({"g": [1, 1, 2], "x": [1.0, 3.0, 5.0]})
>>> b = pd.DataFrame({"g": [1, 2], "x": [5.0, 7.0]})
>>> state = aggs.merge(aggs.partial(a, ["g"]), aggs.partial(b, ["g"]))
>>> aggs.finalize(state).reset_index()
   g  x_count  x_mean     x_std
0  1        3     3.0  2.000000
1  2        2     6.0  1.414214
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..core.batch import concat_rows
from ..core.checks import check_choice, is_number_text
from ..errors import ConfigError
from .aggfns import Aggregate, Ends, Ewma, MinMax, Moments, Sketch, Values, event_times
from .grouping import Groups, group_codes

__all__ = ["AGGREGATES", "AggregateSet", "Spec", "parse_agg"]

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


_MOMENTS = ("count", "sum", "mean", "var", "std")


def _member(spec: Spec, spread: bool) -> tuple[str, Aggregate]:
    """The state tag and the aggregate class that computes ``spec``."""
    if spec.kind in _MOMENTS:
        return "moments", Moments(spread=spread)
    if spec.kind in ("min", "max"):
        return "minmax", MinMax()
    if spec.kind in ("first", "last"):
        return "ends", Ends()
    if spec.kind == "ewma":
        return f"ewma:{spec.param}", Ewma(pd.Timedelta(spec.param).value)
    return f"sketch:{spec.kind}:{spec.param}", Sketch(spec.kind, spec.param)


class AggregateSet:
    """The aggregates ``specs`` (from :func:`parse_agg`), plus ``extra`` ones a step keeps for
    itself (``(column, tag, aggregate)``: its state columns are named by :meth:`part_name`, its
    values are not in :meth:`finalize`'s output), over tables of groups.

    Examples
    --------
    >>> from streamlab.ops.aggfns import Rows
    >>> aggs = AggregateSet(parse_agg({"v": "max"}), extra=[("v", "rows", Rows())])
    >>> df = pd.DataFrame({"k": ["a", "b", "a"], "v": [1, None, 3]})
    >>> state = aggs.partial(df, ["k"])
    >>> aggs.finalize(state)["v_max"].tolist(), aggs.part(state, "v", "rows", "n").tolist()
    ([3.0, nan], [2, 1])
    """

    def __init__(
        self, specs: list[Spec], *, extra: Sequence[tuple[str, str, Aggregate]] = ()
    ) -> None:
        self.specs = list(specs)
        spread = {s.column for s in specs if s.kind in ("var", "std")}
        members: dict[tuple[str, str], Aggregate] = {}
        for s in specs:
            tag, agg = _member(s, s.column in spread)
            members.setdefault((s.column, tag), agg)
        for column, tag, agg in extra:
            members[(column, tag)] = agg
        self.members = [(column, tag, agg) for (column, tag), agg in members.items()]
        self._of_spec = {s: members[(s.column, _member(s, False)[0])] for s in specs}
        self.needs_time = any(agg.NEEDS_TIME for _, _, agg in self.members)

    @staticmethod
    def part_name(column: str, tag: str, part: str) -> str:
        """The state column of ``part`` of the aggregate ``tag`` of ``column``."""
        return f"{column}{SEP}{tag}{SEP}{part}"

    def part(self, state: pd.DataFrame, column: str, tag: str, part: str) -> np.ndarray:
        """One state column as an array (an extra aggregate's state, say)."""
        return state[self.part_name(column, tag, part)].to_numpy()

    def partial(
        self,
        df: pd.DataFrame,
        by: list,
        *,
        time: str | None = None,
        seq: Any = None,
        names: list[str] | None = None,
        runs: np.ndarray | None = None,
        index: pd.Index | None = None,
    ) -> pd.DataFrame:
        """Partial states of ``df`` grouped by ``by`` (one row per group).

        ``by`` holds column names or arrays (one value per row; name them with ``names``).
        ``time`` names the event-time column (needed by first/last/ewma); ``seq`` is each
        row's arrival number (breaks ties of first/last). ``runs`` and ``index``: the caller
        knows where each group's rows begin (rows come grouped, in order) and the groups."""
        missing = [s.column for s in self.specs if s.column not in df.columns]
        if missing:
            raise ConfigError(
                f"agg names columns {sorted(set(missing))} that the stream does not "
                f"have; its columns are {list(df.columns)}"
            )
        if self.needs_time and time is None:
            raise ConfigError(
                "first, last and ewma need an event-time column: name it with "
                "on=... or give the source a time_column"
            )
        if runs is None:
            groups = Groups.of(
                [df[c].to_numpy() if isinstance(c, str) else np.asarray(c) for c in by]
            )
        else:
            assert index is not None  # given with runs
            groups = Groups(index, len(df), runs=runs)
        cache: list[np.ndarray] = []

        def times() -> np.ndarray:
            if not cache:
                cache.append(event_times(df, time))  # type: ignore[arg-type]  # checked above
            return cache[0]

        values: dict[str, Values] = {}
        out: dict[str, np.ndarray] = {}
        for column, tag, agg in self.members:
            if column not in values:
                values[column] = Values(df[column], times=times, seq=seq)
            for part, arr in agg.partial(values[column], groups).items():
                out[self.part_name(column, tag, part)] = arr
        frame = pd.DataFrame(out, index=groups.index)
        frame.index.names = names or by
        return frame

    def merge(self, *states: pd.DataFrame | None) -> pd.DataFrame:
        """One table of states from ``states`` (``None`` skipped): rows that share a group
        (the index) combined. ``merge(a, b)`` merges two tables; ``merge(a)`` one table's
        repeated groups. The result does not depend on how the rows were cut into partials."""
        frames = [s for s in states if s is not None]
        parts = frames[0] if len(frames) == 1 else concat_rows(frames)
        if not len(parts) or parts.index.is_unique:
            return parts
        idx = parts.index
        codes, index = group_codes([idx.get_level_values(i).to_numpy() for i in range(idx.nlevels)])
        out: dict[str, np.ndarray] = {}
        for column, tag, agg in self.members:
            prefix = self.part_name(column, tag, "")
            state = {
                c[len(prefix) :]: parts[c].to_numpy() for c in parts.columns if c.startswith(prefix)
            }
            for part, arr in agg.merge(state, codes, len(index)).items():
                out[prefix + part] = arr
        frame = pd.DataFrame(out, index=index)
        frame.index.names = parts.index.names
        return frame

    def finalize(self, state: pd.DataFrame) -> pd.DataFrame:
        """The aggregate values (one column per spec, named ``{column}_{agg}``)."""
        out = {}
        for s in self.specs:
            agg = self._of_spec[s]
            prefix = self.part_name(s.column, _member(s, False)[0], "")
            view = {c[len(prefix) :]: state[c] for c in state.columns if c.startswith(prefix)}
            out[s.output] = agg.finalize(view, s.kind)
        return pd.DataFrame(out, index=state.index)
