"""Anomaly scores on a stream: rolling robust z-score, EWMA control chart, isolation forest.

Each step adds two columns to the batch, ``{column}_{method}_score`` and
``{column}_{method}_anomaly`` (a bool flag), with one state per ``key``; the scores are the same
however the stream is cut into batches. Rows whose value is NaN or infinite get no score (NaN,
flag False), are not learned from and are counted in ``stats.skipped``; rows seen before a
detector has enough history get no score either (``stats.unscored``).
:func:`score_against_truth` compares a flag column with a ground-truth column (such as the
``is_anomaly`` column of :func:`streamlab.generate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
from streamz import Stream

from ..core.batch import rows_by_key, time_column
from ..core.checks import check_number, is_integer, shown
from ..core.params import Param
from ..core.registry import register_step
from ..core.step import Step
from ..errors import ConfigError
from ..ops.nstime import NAT, event_ns, sub_sat
from ..ops.rolling import parse_window
from .drift import check_columns

__all__ = [
    "AnomalyStats",
    "Score",
    "ewma_chart",
    "isolation_forest",
    "robust_zscore",
    "score_against_truth",
]

_MAD_TO_SIGMA = 1.482602218505602  # 1 / Phi^-1(3/4): MAD of a normal distribution is 0.6745 sigma
_CELLS = 1 << 22  # window values gathered at once by the robust z-score


class Score(NamedTuple):
    """Precision, recall and F1 of a flag column against the truth, with the counts."""

    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


def score_against_truth(df: pd.DataFrame, flag_col: str, truth_col: str = "is_anomaly") -> Score:
    """Precision, recall and F1 of ``df[flag_col]`` against ``df[truth_col]`` (0.0 when undefined).

    Examples
    --------
    >>> df = pd.DataFrame({"flag": [True, True, False, False], "is_anomaly": [True, False, True, False]})
    >>> score_against_truth(df, "flag")
    Score(precision=0.5, recall=0.5, f1=0.5, tp=1, fp=1, fn=1)
    """
    check_columns(df, "score_against_truth", flag_col=flag_col, truth_col=truth_col)
    flag, truth = df[flag_col].to_numpy(dtype=bool), df[truth_col].to_numpy(dtype=bool)
    tp, fp, fn = int((flag & truth).sum()), int((flag & ~truth).sum()), int((~flag & truth).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(precision, recall, f1, tp, fp, fn)


@dataclass
class AnomalyStats:
    """Counters of an anomaly step."""

    rows: int = 0
    skipped: int = 0
    unscored: int = 0
    late: int = 0
    flagged: int = 0
    keys: int = 0


class _Scorer(Step, Stream):
    """What the three steps share: checks, keys, NaN policy, output columns, counters."""

    STATE = ("state",)

    method = ""
    threshold_example = 4.0  # an accepted threshold, shown when one is refused

    def __init__(self, upstream, column, *, key, threshold, stream_name) -> None:
        self.columns = [column] if isinstance(column, str) else list(column)
        if not self.columns:
            raise ConfigError(f"column must be a column name or a list of them, not {column!r}")
        self.key = key
        if threshold is not None:
            threshold = float(
                check_number(
                    "threshold", threshold, low=0, low_open=True, example=self.threshold_example
                )
            )
        self.threshold = threshold
        base = "_".join(map(str, self.columns))
        self.score_col = f"{base}_{self.method}_score"
        self.flag_col = f"{base}_{self.method}_anomaly"
        self.state: dict = {}
        self.stats = AnomalyStats()
        name = stream_name or f"{type(self).__name__}({column!r})"
        super().__init__(upstream, stream_name=name)

    #: where a threshold slider runs (the allowed range is any positive number)
    threshold_span = (0.5, 20.0)

    def params(self) -> dict[str, Param]:
        if self.threshold is None:  # the model decides (isolation forest's own cut)
            return {}
        return {
            "threshold": Param(
                "threshold",
                help=f"flag rows whose score is above this ({self.method})",
                low=0,
                low_open=True,
                span=self.threshold_span,
                example=self.threshold_example,
            )
        }

    def _set_threshold(self, value: float) -> None:
        self.threshold = float(
            check_number("threshold", value, low=0, low_open=True, example=self.threshold_example)
        )

    def update(self, x, who=None, metadata=None):
        step = type(self).__name__
        cols = self.columns
        names = (
            {"column": cols[0]}
            if len(cols) == 1
            else {f"column[{i}]": c for i, c in enumerate(cols)}
        )
        check_columns(x, step, key=self.key, **names)
        clash = [c for c in (self.score_col, self.flag_col) if c in x.columns]
        if clash:
            raise ConfigError(f"{step} would overwrite column(s) {clash}; rename them first")
        values = np.column_stack(
            [pd.to_numeric(x[c], errors="coerce").to_numpy(dtype="float64") for c in self.columns]
        )
        good = np.isfinite(values).all(axis=1)
        keys = np.zeros(len(x)) if self.key is None else x[self.key].to_numpy()
        times = self._times(x)
        score = np.full(len(x), np.nan)
        flag = np.zeros(len(x), dtype=bool)
        late = self.stats.late
        for k, rows in rows_by_key(keys, np.flatnonzero(good)):
            if k not in self.state:
                self.state[k] = self._new_state()
            t = None if times is None else times[rows]
            score[rows], flag[rows] = self._score(self.state[k], values[rows], t)
        self.stats.rows += len(x)
        self.stats.skipped += int((~good).sum())
        self.stats.unscored += int((good & np.isnan(score)).sum()) - (self.stats.late - late)
        self.stats.flagged += int(flag.sum())
        self.stats.keys = len(self.state)
        out = x.assign(**{self.score_col: score, self.flag_col: flag})
        out.attrs = dict(x.attrs)
        return self.forward(out)

    def _times(self, x: pd.DataFrame) -> np.ndarray | None:
        return None

    def _flags(self, score: np.ndarray, threshold: float) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.abs(score) > threshold


def _window(window):
    return parse_window(window, min_rows=2)  # a median and a MAD need two rows


@dataclass
class _Tail:
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    times: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@register_step
class robust_zscore(_Scorer):
    """Rolling robust z-score: ``(x - median) / (1.4826 * MAD)`` over the window ending at the
    row (the last ``window`` rows, or ``window="30s"`` of event time: the rows in
    ``(t - 30s, t]``, as pandas' rolling), per key; flagged when ``|score| > threshold`` (4, not
    the textbook 3.5: fewer false alarms for a window of 100, whose MAD is itself noisy).

    A row whose window holds fewer than ``min_periods`` values is not scored. With MAD = 0 the
    score is 0 at the median and infinite elsewhere. Time windows need event time that does not
    go back within a key (``on=``, or the batch's time column); a row older than one already
    seen for its key, or without a time, is not scored (``stats.late``).

    Examples
    --------
    >>> from streamz import Stream
    >>> src = Stream()
    >>> out = src.robust_zscore("x", window=5, min_periods=3).sink_to_list()
    >>> src.emit(pd.DataFrame({"x": [1.0, 2.0, 1.5, 9.0, 1.0, 2.0]}))
    >>> out[0].round(2)
         x  x_rz_score  x_rz_anomaly
    0  1.0         NaN         False
    1  2.0         NaN         False
    2  1.5        0.00         False
    3  9.0        9.78          True
    4  1.0       -0.67         False
    5  2.0        0.00         False
    """

    method = "rz"

    def __init__(
        self,
        upstream,
        column,
        *,
        window=100,
        key=None,
        threshold=4.0,
        min_periods=10,
        on=None,
        stream_name=None,
    ) -> None:
        self.window = _window(window)
        self._asked = self.window if isinstance(self.window, int) else window
        self.by_time = not isinstance(self.window, int)
        if on is not None and not self.by_time:
            raise ConfigError(f"on={on!r} is only for time windows such as '30s'; drop on=")
        self.on = on
        self.min_periods = check_number("min_periods", min_periods, low=1, integer=True, example=10)
        super().__init__(upstream, column, key=key, threshold=threshold, stream_name=stream_name)

    def _new_state(self) -> _Tail:
        return _Tail()

    def _times(self, x):
        if not self.by_time:
            return None
        col = self.on or time_column(x)
        if col is None or col not in x.columns:
            raise ConfigError(
                f"robust_zscore(window={self._asked!r}) is a time window and needs an "
                f"event-time column: pass on='time'; the batch has {list(x.columns)}"
            )
        return event_ns(pd.Series(pd.to_datetime(x[col], utc=True)), "on")

    def _score(self, tail: _Tail, v: np.ndarray, t):
        v = v[:, 0]
        score = np.full(len(v), np.nan)
        keep = np.ones(len(v), dtype=bool)
        if t is not None:
            newest = tail.times[-1] if len(tail.times) else np.iinfo(np.int64).min + 1
            before = np.maximum.accumulate(np.concatenate(([newest], t)))[:-1]
            keep = (t >= before) & (t != np.iinfo(np.int64).min)
            self.stats.late += int((~keep).sum())
            v, t = v[keep], t[keep]
            if not len(v):
                return score, np.zeros(len(score), dtype=bool)
        vals = np.concatenate((tail.values, v))
        ends = np.arange(len(tail.values), len(vals)) + 1
        if t is None:
            starts = np.maximum(ends - self.window, 0)
            tail.values = vals[-(self.window - 1) :] if self.window > 1 else vals[:0]
        else:
            times = np.concatenate((tail.times, t))
            # saturating: a time minus the window near 1677 would wrap around in int64
            w = self.window.value
            starts = np.searchsorted(times, sub_sat(t, w, lowest=NAT), side="right")
            fresh = times > sub_sat(times[-1], w, lowest=NAT)
            tail.values, tail.times = vals[fresh], times[fresh]
        med, mad = _median_mad(vals, starts, ends, self.min_periods)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (v - med) / (_MAD_TO_SIGMA * mad)
        z[(v == med) & (mad == 0)] = 0.0
        score[keep] = z
        return score, self._flags(score, self.threshold)


def _median_mad(vals, starts, ends, min_periods):
    """Median and MAD of ``vals[starts[i]:ends[i]]`` for each i (NaN below ``min_periods``),
    gathering windows of the same length at once."""
    med, mad = np.full(len(ends), np.nan), np.full(len(ends), np.nan)
    lengths = ends - starts
    for n in np.unique(lengths[lengths >= min_periods]):
        rows = np.flatnonzero(lengths == n)
        for part in np.array_split(rows, -(-len(rows) * n // _CELLS)):
            win = vals[starts[part, None] + np.arange(n)]
            m = np.median(win, axis=1)
            med[part], mad[part] = m, np.median(np.abs(win - m[:, None]), axis=1)
    return med, mad


@register_step
class ewma_chart(_Scorer):
    """EWMA control chart: flag a row further than ``threshold`` sigmas from the forecast.

    Per key, ``mean = alpha * x + (1 - alpha) * mean`` and ``var = alpha_var * e**2 + (1 -
    alpha_var) * var`` with ``e = x - mean_before``; the score is ``e / sqrt(var_before)`` (the
    variance corrected for its start at 0, as Adam corrects its moments). A slower variance
    (``alpha_var`` < ``alpha``) keeps one spike from hiding the next. The first value starts
    the chart; rows before ``warmup`` values of their key are not scored. Both recursions are
    linear filters, run a whole batch at once (``scipy.signal.lfilter``).

    Examples
    --------
    >>> from streamz import Stream
    >>> src = Stream()
    >>> out = src.ewma_chart("x", alpha=0.2, alpha_var=0.2, warmup=4).sink_to_list()
    >>> src.emit(pd.DataFrame({"x": [1.0, 1.2, 0.9, 1.1, 1.0, 5.0, 1.1]}))
    >>> out[0]["x_ewma_score"].round(2).tolist()
    [nan, nan, nan, nan, -0.21, 34.12, -0.33]
    """

    method = "ewma"
    threshold_example = 3.5

    def __init__(
        self,
        upstream,
        column,
        *,
        alpha=0.05,
        alpha_var=0.01,
        threshold=3.5,
        warmup=30,
        key=None,
        stream_name=None,
    ) -> None:
        self.alpha = check_number("alpha", alpha, low=0, high=1, low_open=True, example=0.05)
        self.alpha_var = check_number(
            "alpha_var", alpha_var, low=0, high=1, low_open=True, example=0.01
        )
        self.warmup = check_number("warmup", warmup, low=2, integer=True, example=30)
        super().__init__(upstream, column, key=key, threshold=threshold, stream_name=stream_name)

    def _new_state(self) -> dict:
        return {"n": 0, "mean": 0.0, "var": 0.0}

    def _score(self, st: dict, v: np.ndarray, t):
        from scipy.signal import lfilter  # imported on first use, not with streamlab

        x, a, b = v[:, 0], self.alpha, 1.0 - self.alpha
        av, bv = self.alpha_var, 1.0 - self.alpha_var
        score = np.full(len(x), np.nan)
        first = int(st["n"] == 0)
        if first:  # the first value starts the chart
            st["n"], st["mean"], st["var"] = 1, x[0], 0.0
        x = x[first:]
        if len(x):
            mean = lfilter([a], [1.0, -b], x, zi=[b * st["mean"]])[0]
            e = x - np.concatenate(([st["mean"]], mean[:-1]))
            var = lfilter([av], [1.0, -bv], e * e, zi=[bv * st["var"]])[0]
            var_before = np.concatenate(([st["var"]], var[:-1]))
            n_before = st["n"] + np.arange(len(x))  # values of the key before each row
            with np.errstate(divide="ignore", invalid="ignore"):
                sigma = np.sqrt(var_before / (1.0 - bv ** (n_before - 1.0)))
                z = np.where(e == 0, 0.0, e / sigma)
            z[n_before < self.warmup] = np.nan
            score[first:] = z
            st["n"], st["mean"], st["var"] = st["n"] + len(x), mean[-1], var[-1]
        return score, self._flags(score, self.threshold)


@dataclass
class _Forest:
    seen: int = 0
    buffer: np.ndarray | None = None
    model: object = None
    cut: float = 0.5


@register_step
class isolation_forest(_Scorer):
    """Isolation forest (scikit-learn) refit on each ``window`` rows of a key, scoring the next.

    ``column`` is one feature column or a list of them. Rows ``k*window .. (k+1)*window - 1`` of
    a key are scored by a forest fitted on the ``window`` rows before them (``seed`` fixes its
    randomness), so the first ``window`` rows are not scored. The score is the anomaly score of
    the paper, ``-score_samples`` in (0, 1]: flagged above ``threshold`` (0.75 suits a single
    value column, where scikit-learn's default, ``predict`` with ``contamination="auto"``, flags
    much of the normal tail), or with ``threshold=None`` where ``predict`` says so.

    Examples
    --------
    >>> import numpy as np
    >>> from streamz import Stream
    >>> src = Stream()
    >>> node = src.isolation_forest("x", window=1000)
    >>> out = node.sink_to_list()
    >>> x = np.random.default_rng(3).normal(size=1500)
    >>> x[1200] = 8.0
    >>> src.emit(pd.DataFrame({"x": x}))
    >>> out[0].index[out[0]["x_iforest_anomaly"]].tolist()
    [1200]
    >>> node.stats
    AnomalyStats(rows=1500, skipped=0, unscored=1000, late=0, flagged=1, keys=1)
    """

    method = "iforest"

    def __init__(
        self,
        upstream,
        column,
        *,
        window=2000,
        key=None,
        threshold=0.75,
        contamination="auto",
        n_estimators=100,
        seed=0,
        stream_name=None,
    ) -> None:
        if not is_integer(window) or window < 2:
            raise ConfigError(
                f"window must be a row count >= 2 such as 1000 (rows per refit), not {shown(window)}"
            )
        self.window = int(window)
        if not (isinstance(contamination, str) and contamination == "auto"):
            contamination = check_number(
                "contamination",
                contamination,
                low=0,
                low_open=True,
                high=0.5,
                fix="the expected fraction of anomalies, or 'auto'",
                example=0.01,
            )
        self.options = {
            "n_estimators": check_number(
                "n_estimators", n_estimators, low=1, integer=True, example=100
            ),
            "contamination": contamination,
            "random_state": check_number(
                "seed", seed, low=0, high=2**32 - 1, integer=True, example=0
            ),
        }
        super().__init__(upstream, column, key=key, threshold=threshold, stream_name=stream_name)

    threshold_span = (0.4, 0.9)  # -score_samples lies in (0, 1]
    threshold_example = 0.75

    def _set_threshold(self, value: float) -> None:
        super()._set_threshold(value)
        for st in self.state.values():  # the forests already fitted use it from the next row
            if st.model is not None:
                st.cut = value

    def _new_state(self) -> _Forest:
        return _Forest()

    def _score(self, st: _Forest, v: np.ndarray, t):
        from sklearn.ensemble import IsolationForest

        score, flag = np.full(len(v), np.nan), np.zeros(len(v), dtype=bool)
        i = 0
        while i < len(v):
            take = min(len(v) - i, self.window - st.seen % self.window)
            part = v[i : i + take]
            if st.model is not None:
                score[i : i + take] = -st.model.score_samples(part)
                flag[i : i + take] = score[i : i + take] > st.cut
            both = part if st.buffer is None else np.concatenate((st.buffer, part))
            st.buffer, st.seen, i = both[-self.window :], st.seen + take, i + take
            if st.seen % self.window == 0:
                st.model = IsolationForest(**self.options).fit(st.buffer)
                st.cut = -st.model.offset_ if self.threshold is None else self.threshold
        return score, flag
