"""Fit any estimator afresh on each window of rows (the algorithm of ``stream.refit``).

The classic train/test analysis on a moving window. Windows are tumbling: ``window=500`` cuts
the stream's good rows into runs of 500 in arrival order (the last, shorter one is fitted at
the end of the input); ``window="1min"`` groups rows by event time into windows that start at
multiples of one minute since the epoch (UTC), and fits a window once a row at or after its
end arrives (or at the end of the input). A row older than a window already fitted is late:
it goes to ``.errors`` (``late: its window [start, end) has closed``) and ``stats.late``.

For each window, a clone of the estimator is fitted on the training part of its rows and
scored (``estimator.score``: R² for regressors, accuracy for classifiers) on the rest. The
split is ``sklearn.model_selection.train_test_split(X, y, test_size=holdout,
random_state=seed)`` of the window's rows in arrival order, so it is the same on every run.
A window too small to split (or ``holdout=0``) is fitted on all its rows, with score NaN;
a fit that fails (one class only, say) gives a row with the error in ``error``.

Emitted: one row per window: ``window`` (its number), ``window_start``, ``window_end`` (event
times: the window's bounds, or for row-count windows its first and last row's time when the
batches have a time column), ``rows``, ``rows_train``, ``rows_test``, ``score``, then
``coef_<feature>`` (``coef_<class>_<feature>`` for several rows of coefficients) and
``intercept`` when the estimator has them. Bad rows are returned with a ``reason``, as
``learn`` returns them. No streams here: :mod:`streamlab.learn.refit` is the node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import train_test_split

from ..core.batch import TIME_ATTR, resolve_time_column, time_column
from ..core.checks import check_duration, check_number, is_bool, is_integer, is_real, shown
from ..core.stats import StepStats
from ..errors import ConfigError
from ..ops.nstime import check_windows, event_ns, floor_to
from .features import FeatureCheck

__all__ = ["RefitStats", "WindowRefit"]

Block = tuple[np.ndarray, np.ndarray | None, np.ndarray | None]  # (X, y, event times in ns)


@dataclass
class RefitStats(StepStats):
    """Counters of a refit step: windows fitted, ``late`` rows, ``failed`` fits, ``dead``
    (bad) rows.

    Examples
    --------
    >>> RefitStats(windows=2, dead=1).as_dict()
    {'windows': 2, 'late': 0, 'failed': 0, 'dead': 1}
    """

    windows: int = 0
    late: int = 0
    failed: int = 0
    dead: int = 0


class WindowRefit:
    """Buffers rows per window and fits a clone of ``estimator`` on each (see the module
    docstring); ``update(batch)`` and ``flush()`` return ``(window rows, dead rows)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> r = WindowRefit(LinearRegression(), window=4, target="y", features=["x"], holdout=0.25)
    >>> rows, dead = r.update(pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5], "y": [1.0, 3, 5, 7, 9, 11]}))
    >>> rows[["window", "rows", "rows_train", "rows_test", "score", "coef_x", "intercept"]]
       window  rows  rows_train  rows_test  score  coef_x  intercept
    0       0     4           3          1    NaN     2.0        1.0
    >>> rows, _ = r.flush()  # the last two rows: one to fit, one to score
    >>> rows[["window", "rows", "rows_train", "rows_test"]]
       window  rows  rows_train  rows_test
    0       1     2           1          1
    """

    def __init__(
        self,
        estimator: Any,
        *,
        window: Any,
        target: str,
        features: list[str] | None = None,
        holdout: float = 0.2,
        seed: int = 0,
        on: str | None = None,
    ) -> None:
        if not hasattr(estimator, "fit"):
            raise ConfigError(f"estimator {estimator!r} has no fit method")
        bad = (
            f"window must be a row count (an int >= 1, such as 500) or a duration such as "
            f"'1min', not {shown(window)}"
        )
        self.count: int | None = None
        self.size: int | None = None
        if is_integer(window):  # numpy's too
            self.count = int(check_number("window", window, low=1, integer=True, example=500))
        elif is_bool(window) or is_real(window):  # 2.5 rows? 2.5 what?
            raise ConfigError(bad)
        else:
            try:  # "500" or a number would be nanoseconds: check_duration refuses them
                self.size = check_duration("window", window, examples="'1min'").value
            except ConfigError:
                raise ConfigError(bad) from None
        holdout = check_number(
            "holdout", holdout, low=0, high=1, fix="the fraction of rows held out, e.g. 0.2"
        )
        if holdout >= 1:
            raise ConfigError(
                f"holdout must be < 1 (some rows must be left to fit), not {holdout}; "
                "for example holdout=0.2"
            )
        self.seed = int(check_number("seed", seed, low=0, high=2**32 - 1, integer=True, example=0))
        self.estimator, self.holdout, self.on = estimator, holdout, on
        task = "classification" if is_classifier(estimator) else "regression"
        self.check = FeatureCheck(target=target, features=features, task=task)
        self.stats = RefitStats()
        self._asked = self.count if self.count is not None else window  # numpy ints as int
        self._open: dict[int, list[Block]] = {}  # window start (ns) or 0 -> [(X, y, t_ns)]
        self._open_n = 0
        self._done_until: int | None = None  # time windows: ends at or before this are fitted

    def update(self, df: pd.DataFrame) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """Take a batch; return ``(one row per window fitted, bad rows)`` (either may be None)."""
        c = self.check.check(df)
        self.stats.dead += len(c.dead)
        dead = df.iloc[c.dead].assign(reason=c.reasons) if len(c.dead) else None
        t = None
        col = self._time_column(df)
        if col is not None:
            t = event_ns(df[col].iloc[c.keep], "on")
        if self.count is not None:
            return self._count_windows(c.X, c.y, t, self.count), dead
        assert self.size is not None and t is not None  # a time window: its column was resolved
        rows, late = self._time_windows(df.iloc[c.keep], c.X, c.y, t, self.size)
        if late is not None:
            dead = late if dead is None else pd.concat([dead, late])
        return rows, dead

    def _time_column(self, df: pd.DataFrame) -> str | None:
        """Time windows need event time (``on=``, or the batch's own); row-count windows use it
        only to label their bounds: an ``on=`` that is not in the batch is refused, the batch's
        own time column is used when the batch has it."""
        if self.size is not None or self.on is not None:
            return resolve_time_column(df, self.on, step=f"refit(window={self._asked!r})")
        col = time_column(df)
        return col if col in df.columns else None

    def flush(self) -> tuple[pd.DataFrame | None, None]:
        """Fit what is still open (the end of the input)."""
        if self.count is not None:
            return self._emit_count(self.count, final=True), None
        size = int(self.size or 0)
        out = [self._fit_window(start, start + size) for start in sorted(self._open)]
        self._open.clear()
        return _frame(out), None

    # -- windows ------------------------------------------------------------------------------
    def _count_windows(
        self, X: np.ndarray, y: np.ndarray | None, t: np.ndarray | None, count: int
    ) -> pd.DataFrame | None:
        if len(X):
            self._open.setdefault(0, []).append((X, y, t))
            self._open_n += len(X)
        return self._emit_count(count, final=False)

    def _emit_count(self, count: int, *, final: bool) -> pd.DataFrame | None:
        if not self._open_n:
            return None
        X, y, t = _concat(self._open.pop(0))
        out, i = [], 0
        while len(X) - i >= count or (final and i < len(X)):
            j = min(len(X), i + count)
            bounds = (None, None) if t is None else (t[i], t[j - 1])
            out.append(self._fit(X[i:j], None if y is None else y[i:j], bounds))
            i = j
        rest = (X[i:], None if y is None else y[i:], None if t is None else t[i:])
        self._open_n = len(rest[0])
        if self._open_n:
            self._open[0] = [rest]
        return _frame(out)

    def _time_windows(
        self, kept: pd.DataFrame, X: np.ndarray, y: np.ndarray | None, t: np.ndarray, size: int
    ) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        if len(t):  # windows that datetime64[ns] cannot hold are refused (see ops.nstime)
            check_windows(t.min(), t.max(), size, size, name="window")
        starts = floor_to(t, size)  # floor: windows before 1970 too
        late = np.zeros(len(t), bool) if self._done_until is None else starts < self._done_until
        late_frame = None
        if late.any():
            self.stats.late += int(late.sum())
            rows = kept.iloc[np.flatnonzero(late)]
            reasons = [
                f"late: its window [{pd.Timestamp(s, tz='UTC')}, "
                f"{pd.Timestamp(s + size, tz='UTC')}) has closed"
                for s in starts[late]
            ]
            late_frame = rows.assign(reason=reasons)
        ok = ~late
        for s in np.unique(starts[ok]):
            sel = np.flatnonzero(ok & (starts == s))
            block = (X[sel], None if y is None else y[sel], t[sel])
            self._open.setdefault(int(s), []).append(block)
        if not len(t):
            return None, late_frame
        newest = int(t.max())
        out = []
        for start in sorted(self._open):
            if start + size > newest:
                break
            out.append(self._fit_window(start, start + size))
            del self._open[start]
            self._done_until = max(self._done_until or start, start + size)
        return _frame(out), late_frame

    def _fit_window(self, start: int, end: int) -> dict[str, Any]:
        X, y, _ = _concat(self._open[start])
        return self._fit(X, y, (start, end))

    # -- one fit ------------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray | None, bounds: tuple[Any, Any]) -> dict[str, Any]:
        n = len(X)
        row: dict[str, Any] = {"window": self.stats.windows}
        self.stats.windows += 1
        if bounds[0] is not None:
            row["window_start"] = pd.Timestamp(int(bounds[0]), tz="UTC")
            row["window_end"] = pd.Timestamp(int(bounds[1]), tz="UTC")
        n_test = math.ceil(self.holdout * n)
        split = 0 < n_test < n
        model = clone(self.estimator)
        row.update(rows=n, rows_train=n - n_test if split else n, rows_test=n_test if split else 0)
        try:
            if split:
                X_tr, X_te, y_tr, y_te = train_test_split(
                    X, y, test_size=self.holdout, random_state=self.seed
                )
            else:
                X_tr, y_tr, X_te, y_te = X, y, X[:0], None
            model.fit(X_tr, y_tr)
            few = len(X_te) < 2 and is_regressor(model)  # R² needs two rows
            row["score"] = float(model.score(X_te, y_te)) if split and not few else math.nan
        except ValueError as exc:
            self.stats.failed += 1
            row["score"] = math.nan
            row["error"] = f"{type(model).__name__}.fit: {exc}"
            return row
        row.update(self._coefficients(model))
        return row

    def _coefficients(self, model: Any) -> dict[str, float]:
        out: dict[str, float] = {}
        coef = getattr(model, "coef_", None)
        if coef is None:
            return out
        coef = np.atleast_2d(np.asarray(coef, dtype=float))
        names = self.check.features
        if coef.shape[1] != len(names):
            return out
        tags = [""] if coef.shape[0] == 1 else [f"{c}_" for c in getattr(model, "classes_", [])]
        for tag, values in zip(tags, coef, strict=False):
            out.update({f"coef_{tag}{f}": float(v) for f, v in zip(names, values, strict=True)})
        intercept = np.atleast_1d(np.asarray(getattr(model, "intercept_", []), dtype=float))
        if len(intercept) == 1:
            out["intercept"] = float(intercept[0])
        else:
            out.update(
                {f"intercept_{tag[:-1]}": float(v) for tag, v in zip(tags, intercept, strict=False)}
            )
        return out


def _concat(blocks: list[Block]) -> Block:
    X = np.concatenate([b[0] for b in blocks])
    y = None if blocks[0][1] is None else np.concatenate([b[1] for b in blocks])
    t = None if blocks[0][2] is None else np.concatenate([b[2] for b in blocks])
    return X, y, t


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame | None:
    if not rows:
        return None
    out = pd.DataFrame(rows)
    if "window_end" in out.columns:
        out.attrs[TIME_ATTR] = "window_end"
    return out
