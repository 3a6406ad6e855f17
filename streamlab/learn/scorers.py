"""Anomaly scorers: rolling robust z-score, EWMA control chart, isolation forest (algorithms).

Each scorer follows one protocol, in the manner of an aggregate function: ``new_state()``
makes the state of one series (one key), and ``score(state, values, times=None)`` scores a
run of that series' values in order, updating the state, and returns a :class:`Scored`
(``score``: NaN where a row gets no score; ``flag``: True where the row is anomalous;
``late``: rows refused for their event time). The scores are the same however the series is
cut into runs. The values must be finite (the step ``stream.robust_zscore`` and its kin in
:mod:`streamlab.learn.anomaly` skip the others, key the rows and add the columns); no streams
here. :func:`score_against_truth` compares a flag column with a ground-truth column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd

from ..core.batch import FIRST, NAT
from ..core.checks import check_number, is_integer, shown
from ..errors import ConfigError
from ..ops.nstime import sub_sat
from .features import check_columns

__all__ = [
    "EwmaChart",
    "IsolationForestScorer",
    "RobustZScore",
    "Score",
    "Scored",
    "score_against_truth",
]

_MAD_TO_SIGMA = 1.482602218505602  # 1 / Phi^-1(3/4): MAD of a normal distribution is 0.6745 sigma
_CELLS = 1 << 22  # window values gathered at once by the robust z-score


class Score(NamedTuple):
    """Precision, recall and F1 of a flag column against the truth, with the counts.

    Examples
    --------
    >>> s = Score(precision=1.0, recall=0.5, f1=2 / 3, tp=1, fp=0, fn=1)
    >>> round(s.f1, 3), s.fn
    (0.667, 1)
    """

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


class Scored(NamedTuple):
    """What a scorer says about a run of values: scores, flags, and how many rows were late."""

    score: np.ndarray
    flag: np.ndarray
    late: int = 0


class _Scorer:
    """The protocol: ``new_state()``, ``score(state, values, times)``; a ``threshold`` > 0."""

    method: ClassVar[str] = ""
    threshold_example: ClassVar[float] = 4.0  # an accepted threshold, shown when one is refused
    threshold_span: ClassVar[tuple[float, float]] = (0.5, 20.0)  # where a slider runs
    by_time: bool = False  # True: ``score`` needs the rows' event times (int64 ns)

    def __init__(self, threshold: float | None) -> None:
        self.threshold = None if threshold is None else self.check_threshold(threshold)

    @classmethod
    def check_threshold(cls, value: Any) -> float:
        """``value`` as a float if it is a number > 0; else a ConfigError naming it."""
        return float(
            check_number("threshold", value, low=0, low_open=True, example=cls.threshold_example)
        )

    def new_state(self) -> Any:
        raise NotImplementedError

    def score(self, state: Any, values: np.ndarray, times: np.ndarray | None = None) -> Scored:
        raise NotImplementedError

    def _flags(self, score: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.abs(score) > self.threshold


def _first_column(values: np.ndarray) -> np.ndarray:
    return values[:, 0] if values.ndim == 2 else values


@dataclass
class RollingTail:
    """A robust z-score's state: the values (and times) still inside the window."""

    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    times: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


class RobustZScore(_Scorer):
    """Rolling robust z-score ``(x - median) / (1.4826 * MAD)`` over the window ending at each
    value: its last ``window`` values (an int >= 2), or the values of the last ``window`` of
    event time (a ``pandas.Timedelta``: the rows in ``(t - window, t]``, as pandas' rolling);
    flagged when ``|score| > threshold``. A value whose window holds fewer than
    ``min_periods`` values is not scored; with MAD = 0 the score is 0 at the median and
    infinite elsewhere. By time, a row older than one already seen (or NaT) is late: no score.

    Examples
    --------
    >>> z = RobustZScore(5, min_periods=3)
    >>> state = z.new_state()
    >>> z.score(state, np.array([1.0, 2.0, 1.5])).score.tolist()
    [nan, nan, 0.0]
    >>> r = z.score(state, np.array([9.0, 1.0]))
    >>> r.score.round(2).tolist(), r.flag.tolist()
    ([9.78, -0.67], [True, False])
    """

    method = "rz"

    def __init__(
        self, window: int | pd.Timedelta = 100, *, min_periods: int = 10, threshold: float = 4.0
    ) -> None:
        if isinstance(window, pd.Timedelta):
            if window <= pd.Timedelta(0):
                raise ConfigError(
                    f"window must be a positive duration, not {window}",
                    param="window",
                    value=window,
                    hint="for example pd.Timedelta('30s')",
                )
            self.size: int | None = None
            self.span = int(window.value)
        else:  # a median and a MAD need two rows
            self.size = int(check_number("window", window, low=2, integer=True, example=100))
            self.span = 0
        self.by_time = self.size is None
        self.min_periods = int(
            check_number("min_periods", min_periods, low=1, integer=True, example=10)
        )
        super().__init__(threshold)

    def new_state(self) -> RollingTail:
        return RollingTail()

    def score(
        self, state: RollingTail, values: np.ndarray, times: np.ndarray | None = None
    ) -> Scored:
        v = _first_column(values)
        score = np.full(len(v), np.nan)
        keep = np.ones(len(v), dtype=bool)
        late = 0
        t = times if self.by_time else None
        if t is not None:
            newest = state.times[-1] if len(state.times) else FIRST
            before = np.maximum.accumulate(np.concatenate(([newest], t)))[:-1]
            keep = (t >= before) & (t != NAT)
            late = int((~keep).sum())
            v, t = v[keep], t[keep]
            if not len(v):
                return Scored(score, np.zeros(len(score), dtype=bool), late)
        elif self.by_time:
            raise ConfigError(
                "a time window needs the rows' event times",
                param="times",
                value=None,
                hint="pass times= (int64 nanoseconds), or use a row-count window",
            )
        vals = np.concatenate((state.values, v))
        ends = np.arange(len(state.values), len(vals)) + 1
        if t is None:
            size = int(self.size or 0)
            starts = np.maximum(ends - size, 0)
            state.values = vals[-(size - 1) :] if size > 1 else vals[:0]
        else:
            all_times = np.concatenate((state.times, t))
            # saturating: a time minus the window near 1677 would wrap around in int64
            starts = np.searchsorted(all_times, sub_sat(t, self.span, lowest=NAT), side="right")
            fresh = all_times > sub_sat(all_times[-1], self.span, lowest=NAT)
            state.values, state.times = vals[fresh], all_times[fresh]
        med, mad = _median_mad(vals, starts, ends, self.min_periods)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (v - med) / (_MAD_TO_SIGMA * mad)
        z[(v == med) & (mad == 0)] = 0.0
        score[keep] = z
        return Scored(score, self._flags(score), late)


def _median_mad(
    vals: np.ndarray, starts: np.ndarray, ends: np.ndarray, min_periods: int
) -> tuple[np.ndarray, np.ndarray]:
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


class EwmaChart(_Scorer):
    """EWMA control chart: the score is a value's distance from the forecast in sigmas.

    ``mean = alpha * x + (1 - alpha) * mean`` and ``var = alpha_var * e**2 + (1 - alpha_var)
    * var`` with ``e = x - mean_before``; the score is ``e / sqrt(var_before)`` (the variance
    corrected for its start at 0, as Adam corrects its moments), flagged when ``|score| >
    threshold``. The first value starts the chart; values before ``warmup`` values are not
    scored. Both recursions are linear filters, run over a whole run at once.

    Examples
    --------
    >>> chart = EwmaChart(alpha=0.2, alpha_var=0.2, warmup=4)
    >>> r = chart.score(chart.new_state(), np.array([1.0, 1.2, 0.9, 1.1, 1.0, 5.0, 1.1]))
    >>> r.score.round(2).tolist(), int(r.flag.sum())
    ([nan, nan, nan, nan, -0.21, 34.12, -0.33], 1)
    """

    method = "ewma"
    threshold_example = 3.5

    def __init__(
        self,
        *,
        alpha: float = 0.05,
        alpha_var: float = 0.01,
        threshold: float = 3.5,
        warmup: int = 30,
    ) -> None:
        self.alpha = check_number("alpha", alpha, low=0, high=1, low_open=True, example=0.05)
        self.alpha_var = check_number(
            "alpha_var", alpha_var, low=0, high=1, low_open=True, example=0.01
        )
        self.warmup = check_number("warmup", warmup, low=2, integer=True, example=30)
        super().__init__(threshold)

    def new_state(self) -> dict[str, Any]:
        return {"n": 0, "mean": 0.0, "var": 0.0}

    def score(
        self, state: dict[str, Any], values: np.ndarray, times: np.ndarray | None = None
    ) -> Scored:
        from scipy.signal import lfilter  # imported on first use, not with streamlab

        st = state
        x, a, b = _first_column(values), self.alpha, 1.0 - self.alpha
        av, bv = self.alpha_var, 1.0 - self.alpha_var
        score = np.full(len(x), np.nan)
        first = int(st["n"] == 0)
        if first and len(x):  # the first value starts the chart
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
        return Scored(score, self._flags(score))


@dataclass
class Forest:
    """An isolation forest scorer's state: rows seen, the last ``window`` rows, the model."""

    seen: int = 0
    buffer: np.ndarray | None = None
    model: Any = None
    cut: float = 0.5


class IsolationForestScorer(_Scorer):
    """Isolation forest (scikit-learn) refit on each ``window`` rows, scoring the next.

    Rows ``k*window .. (k+1)*window - 1`` are scored by a forest fitted on the ``window`` rows
    before them (``seed`` fixes its randomness), so the first ``window`` rows are not scored.
    The score is the paper's anomaly score, ``-score_samples`` in (0, 1]: flagged above
    ``threshold``, or with ``threshold=None`` where the forest's ``predict`` says so.

    Examples
    --------
    >>> forest = IsolationForestScorer(window=1000, n_estimators=50)
    >>> x = np.random.default_rng(3).normal(size=(1500, 1))
    >>> x[1200] = 8.0
    >>> r = forest.score(forest.new_state(), x)
    >>> int(np.isnan(r.score).sum()), np.flatnonzero(r.flag).tolist()
    (1000, [1200])
    """

    method = "iforest"
    threshold_span = (0.4, 0.9)  # -score_samples lies in (0, 1]
    threshold_example = 0.75

    def __init__(
        self,
        *,
        window: int = 2000,
        threshold: float | None = 0.75,
        contamination: float | str = "auto",
        n_estimators: int = 100,
        seed: int = 0,
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
        super().__init__(threshold)

    def new_state(self) -> Forest:
        return Forest()

    def score(self, state: Forest, values: np.ndarray, times: np.ndarray | None = None) -> Scored:
        from sklearn.ensemble import IsolationForest

        st, v = state, values if values.ndim == 2 else values[:, None]
        score, flag = np.full(len(v), np.nan), np.zeros(len(v), dtype=bool)
        i = 0
        while i < len(v):
            take = min(len(v) - i, self.window - st.seen % self.window)
            part = v[i : i + take]
            if st.model is not None:
                score[i : i + take] = -st.model.score_samples(part)
                cut = st.cut if self.threshold is None else self.threshold
                flag[i : i + take] = score[i : i + take] > cut
            both = part if st.buffer is None else np.concatenate((st.buffer, part))
            st.buffer, st.seen, i = both[-self.window :], st.seen + take, i + take
            if st.seen % self.window == 0:
                st.model = IsolationForest(**self.options).fit(st.buffer)
                st.cut = -st.model.offset_ if self.threshold is None else self.threshold
        return Scored(score, flag)
