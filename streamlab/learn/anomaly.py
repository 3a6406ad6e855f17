"""Anomaly score steps: rolling robust z-score, EWMA control chart, isolation forest.

Each step adds two columns to the batch, ``{column}_{method}_score`` and
``{column}_{method}_anomaly`` (a bool flag), with one state per ``key``; the scores are the same
however the stream is cut into batches. Rows whose value is NaN or infinite get no score (NaN,
flag False), are not learned from and are counted in ``stats.skipped``; rows seen before a
detector has enough history get no score either (``stats.unscored``). The scorers themselves
are plain classes in :mod:`streamlab.learn.scorers`; these nodes key the rows, apply the NaN
policy, add the columns and count. :func:`score_against_truth` compares a flag column with a
ground-truth column (such as the ``is_anomaly`` column of :func:`streamlab.generate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from streamz import Stream

from ..core.batch import resolve_time_column, rows_by_key
from ..core.params import Param
from ..core.registry import register_step
from ..core.stats import StepStats
from ..core.step import Step
from ..errors import ConfigError
from ..ops.nstime import event_ns
from ..ops.rolling import parse_window
from .features import check_columns
from .scorers import (
    EwmaChart,
    IsolationForestScorer,
    RobustZScore,
    Score,
    _Scorer,
    score_against_truth,
)

__all__ = [
    "AnomalyStats",
    "Score",
    "ewma_chart",
    "isolation_forest",
    "robust_zscore",
    "score_against_truth",
]


@dataclass
class AnomalyStats(StepStats):
    """Counters of an anomaly step: rows seen, ``skipped`` (NaN or infinite), ``unscored``
    (too little history yet), ``late`` (event time went back), ``flagged``, ``keys``.

    Examples
    --------
    >>> AnomalyStats(rows=10, flagged=1).as_dict()
    {'rows': 10, 'skipped': 0, 'unscored': 0, 'late': 0, 'flagged': 1, 'keys': 0}
    """

    rows: int = 0
    skipped: int = 0
    unscored: int = 0
    late: int = 0
    flagged: int = 0
    keys: int = 0


class _ScoreStep(Step, Stream):
    """What the three steps share: checks, keys, NaN policy, output columns, counters.
    ``self.scorer`` is the algorithm; ``self.state`` its state per key."""

    STATE = ("state",)

    def __init__(
        self, upstream: Stream, column: Any, scorer: _Scorer, *, key: Any, stream_name: Any
    ) -> None:
        self.columns = [column] if isinstance(column, str) else list(column)
        if not self.columns:
            raise ConfigError(f"column must be a column name or a list of them, not {column!r}")
        self.key = key
        self.scorer = scorer
        base = "_".join(map(str, self.columns))
        self.score_col = f"{base}_{scorer.method}_score"
        self.flag_col = f"{base}_{scorer.method}_anomaly"
        self.state: dict[Any, Any] = {}
        self.stats = AnomalyStats()
        name = stream_name or f"{type(self).__name__}({column!r})"
        super().__init__(upstream, stream_name=name)

    @property
    def threshold(self) -> float | None:
        """Rows whose score is above this are flagged (``None``: the model decides)."""
        return self.scorer.threshold

    def params(self) -> dict[str, Param]:
        if self.threshold is None:  # the model decides (isolation forest's own cut)
            return {}
        return {
            "threshold": Param(
                "threshold",
                help=f"flag rows whose score is above this ({self.scorer.method})",
                low=0,
                low_open=True,
                span=self.scorer.threshold_span,
                example=self.scorer.threshold_example,
            )
        }

    def _set_threshold(self, value: float) -> None:
        self.scorer.threshold = self.scorer.check_threshold(value)

    def update(self, x: Any, who: Any = None, metadata: Any = None) -> list:
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
        times = self._times(x) if self.scorer.by_time else None
        score = np.full(len(x), np.nan)
        flag = np.zeros(len(x), dtype=bool)
        late = 0
        scorer, state = self.scorer, self.state
        for k, rows in rows_by_key(keys, np.flatnonzero(good)):
            if k not in state:
                state[k] = scorer.new_state()
            r = scorer.score(state[k], values[rows], None if times is None else times[rows])
            score[rows], flag[rows] = r.score, r.flag
            late += r.late
        self.stats.rows += len(x)
        self.stats.skipped += int((~good).sum())
        self.stats.late += late
        self.stats.unscored += int((good & np.isnan(score)).sum()) - late
        self.stats.flagged += int(flag.sum())
        self.stats.keys = len(state)
        out = x.assign(**{self.score_col: score, self.flag_col: flag})
        out.attrs = dict(x.attrs)
        return self.forward(out)

    def _times(self, x: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError


@register_step
class robust_zscore(_ScoreStep):
    """Rolling robust z-score: ``(x - median) / (1.4826 * MAD)`` over the window ending at the
    row (the last ``window`` rows, or ``window="30s"`` of event time: the rows in
    ``(t - 30s, t]``, as pandas' rolling), per key; flagged when ``|score| > threshold`` (4, not
    the textbook 3.5: fewer false alarms for a window of 100, whose MAD is itself noisy).

    A row whose window holds fewer than ``min_periods`` values is not scored. With MAD = 0 the
    score is 0 at the median and infinite elsewhere. Time windows need event time that does not
    go back within a key (``on=``, or the batch's time column); a row older than one already
    seen for its key, or without a time, is not scored (``stats.late``). The algorithm is
    :class:`~streamlab.learn.scorers.RobustZScore`.

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

    def __init__(
        self,
        upstream: Stream,
        column: Any,
        *,
        window: Any = 100,
        key: Any = None,
        threshold: float = 4.0,
        min_periods: int = 10,
        on: str | None = None,
        stream_name: Any = None,
    ) -> None:
        self.window = parse_window(window, min_rows=2)  # a median and a MAD need two rows
        self._asked = self.window if isinstance(self.window, int) else window
        self.by_time = not isinstance(self.window, int)
        if on is not None and not self.by_time:
            raise ConfigError(f"on={on!r} is only for time windows such as '30s'; drop on=")
        self.on = on
        scorer = RobustZScore(self.window, min_periods=min_periods, threshold=threshold)
        self.min_periods = scorer.min_periods
        super().__init__(upstream, column, scorer, key=key, stream_name=stream_name)

    def _times(self, x: pd.DataFrame) -> np.ndarray:
        col = resolve_time_column(x, self.on, step=f"robust_zscore(window={self._asked!r})")
        return event_ns(pd.Series(pd.to_datetime(x[col], utc=True)), "on")


@register_step
class ewma_chart(_ScoreStep):
    """EWMA control chart: flag a row further than ``threshold`` sigmas from the forecast.

    Per key, ``mean = alpha * x + (1 - alpha) * mean`` and ``var = alpha_var * e**2 + (1 -
    alpha_var) * var`` with ``e = x - mean_before``; the score is ``e / sqrt(var_before)`` (the
    variance corrected for its start at 0, as Adam corrects its moments). A slower variance
    (``alpha_var`` < ``alpha``) keeps one spike from hiding the next. The first value starts
    the chart; rows before ``warmup`` values of their key are not scored. Both recursions are
    linear filters, run a whole batch at once (``scipy.signal.lfilter``); the algorithm is
    :class:`~streamlab.learn.scorers.EwmaChart`.

    Examples
    --------
    >>> from streamz import Stream
    >>> src = Stream()
    >>> out = src.ewma_chart("x", alpha=0.2, alpha_var=0.2, warmup=4).sink_to_list()
    >>> src.emit(pd.DataFrame({"x": [1.0, 1.2, 0.9, 1.1, 1.0, 5.0, 1.1]}))
    >>> out[0]["x_ewma_score"].round(2).tolist()
    [nan, nan, nan, nan, -0.21, 34.12, -0.33]
    """

    def __init__(
        self,
        upstream: Stream,
        column: Any,
        *,
        alpha: float = 0.05,
        alpha_var: float = 0.01,
        threshold: float = 3.5,
        warmup: int = 30,
        key: Any = None,
        stream_name: Any = None,
    ) -> None:
        scorer = EwmaChart(alpha=alpha, alpha_var=alpha_var, threshold=threshold, warmup=warmup)
        self.alpha, self.alpha_var, self.warmup = scorer.alpha, scorer.alpha_var, scorer.warmup
        super().__init__(upstream, column, scorer, key=key, stream_name=stream_name)


@register_step
class isolation_forest(_ScoreStep):
    """Isolation forest (scikit-learn) refit on each ``window`` rows of a key, scoring the next.

    ``column`` is one feature column or a list of them. Rows ``k*window .. (k+1)*window - 1`` of
    a key are scored by a forest fitted on the ``window`` rows before them (``seed`` fixes its
    randomness), so the first ``window`` rows are not scored. The score is the anomaly score of
    the paper, ``-score_samples`` in (0, 1]: flagged above ``threshold`` (0.75 suits a single
    value column, where scikit-learn's default, ``predict`` with ``contamination="auto"``, flags
    much of the normal tail), or with ``threshold=None`` where ``predict`` says so. The
    algorithm is :class:`~streamlab.learn.scorers.IsolationForestScorer`.

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

    def __init__(
        self,
        upstream: Stream,
        column: Any,
        *,
        window: int = 2000,
        key: Any = None,
        threshold: float | None = 0.75,
        contamination: float | str = "auto",
        n_estimators: int = 100,
        seed: int = 0,
        stream_name: Any = None,
    ) -> None:
        scorer = IsolationForestScorer(
            window=window,
            threshold=threshold,
            contamination=contamination,
            n_estimators=n_estimators,
            seed=seed,
        )
        self.window, self.options = scorer.window, scorer.options
        super().__init__(upstream, column, scorer, key=key, stream_name=stream_name)
