"""Prequential metrics, kept as running sums: overall and over the last ``window`` rows.

Each family turns a batch of rows into a small *partial* (a confusion matrix and a log-loss sum
for classification; sums of errors and of centred targets for regression) with a few numpy
calls. Partials add up over the whole stream; the window keeps a bounded deque of per-batch
partials with their rows, so it can drop exactly the rows that leave it (the oldest batch, or
the head of it). The values equal ``sklearn.metrics`` on the same rows:

- ``accuracy`` (``accuracy_score``), ``f1_macro`` (``f1_score(average="macro")`` over the
  classes present in the true or predicted labels), ``log_loss`` (``log_loss`` with the
  probabilities clipped to ``[eps, 1 - eps]``);
- ``mae``, ``rmse`` (``root_mean_squared_error``), ``r2`` (``r2_score``; NaN below two rows);
- ``inertia``: mean squared distance of a row to its nearest centre (for clusterers).

Algorithms only: no streams here (``stream.learn`` feeds them).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

__all__ = [
    "CLASSIFICATION",
    "CLUSTERING",
    "REGRESSION",
    "ClassificationMetrics",
    "ClusteringMetrics",
    "RegressionMetrics",
]

CLASSIFICATION = ("accuracy", "f1_macro", "log_loss")
REGRESSION = ("mae", "rmse", "r2")
CLUSTERING = ("inertia",)
_EPS = np.finfo(np.float64).eps


class _Confusion:
    """A partial for classification: confusion counts (true x predicted) and log-loss sums."""

    __slots__ = ("cm", "loss", "n_loss")

    def __init__(self, cm: np.ndarray, loss: float = 0.0, n_loss: int = 0) -> None:
        self.cm, self.loss, self.n_loss = cm, loss, n_loss

    @staticmethod
    def _pad(cm: np.ndarray, k: int) -> np.ndarray:
        if cm.shape[0] == k:
            return cm
        out = np.zeros((k, k), dtype=cm.dtype)
        out[: cm.shape[0], : cm.shape[0]] = cm
        return out

    def _combine(self, other: _Confusion, sign: int) -> _Confusion:
        k = max(self.cm.shape[0], other.cm.shape[0])
        cm = self._pad(self.cm, k) + sign * self._pad(other.cm, k)
        return _Confusion(cm, self.loss + sign * other.loss, self.n_loss + sign * other.n_loss)

    def __add__(self, other: _Confusion) -> _Confusion:
        return self._combine(other, 1)

    def __sub__(self, other: _Confusion) -> _Confusion:
        return self._combine(other, -1)


class _Window:
    """The sum of the partials of the last ``size`` rows, updated incrementally."""

    def __init__(self, size: int, partial) -> None:
        self.size, self.partial = size, partial
        self.parts: deque[list] = deque()  # [rows, partial, n], oldest first
        self.total = None
        self.n = 0
        self._evicted = 0

    def add(self, rows: tuple) -> None:
        n = len(rows[0])
        if n == 0:
            return
        if n >= self.size:  # this batch alone fills the window
            rows = tuple(r[n - self.size :] for r in rows)
            self.parts.clear()
            p = self.partial(rows)
            self.parts.append([rows, p, self.size])
            self.total, self.n = p, self.size
            return
        p = self.partial(rows)
        self.parts.append([rows, p, n])
        self.total = p if self.total is None else self.total + p
        self.n += n
        while self.n > self.size:
            entry, excess = self.parts[0], self.n - self.size
            if entry[2] <= excess:
                self.parts.popleft()
                self.total = self.total - entry[1]
                self.n -= entry[2]
            else:
                head = self.partial(tuple(r[:excess] for r in entry[0]))
                entry[0] = tuple(r[excess:] for r in entry[0])
                entry[1] = self.partial(entry[0])
                entry[2] -= excess
                self.total = self.total - head
                self.n -= excess
            self._evicted += 1
        if self._evicted > len(self.parts):  # re-add now and then: no rounding drift
            total = self.parts[0][1]
            for entry in list(self.parts)[1:]:
                total = total + entry[1]
            self.total, self._evicted = total, 0


class _Running:
    """Overall and windowed sums of one metric family; subclasses give partials and values."""

    names: tuple[str, ...] = ()

    def __init__(self, *, window: int | None = None, names=None) -> None:
        self.shown = tuple(self.names if names is None else names)
        self.total = None
        self.n = 0
        self.window = None if window is None else _Window(window, self._partial)

    def _add(self, rows: tuple) -> None:
        if not len(rows[0]):
            return
        p = self._partial(rows)
        self.total = p if self.total is None else self.total + p
        self.n += len(rows[0])
        if self.window is not None:
            self.window.add(rows)

    def get(self) -> dict[str, float]:
        """``rows`` and each metric over everything; ``window_``-prefixed over the window."""
        out: dict[str, float] = {"rows": self.n}
        out.update(self._values(self.total, self.n))
        if self.window is not None:
            out["window_rows"] = self.window.n
            wv = self._values(self.window.total, self.window.n)
            out.update({f"window_{k}": v for k, v in wv.items()})
        return out

    def _values(self, p, n) -> dict[str, float]:
        if p is None or n == 0:
            return dict.fromkeys(self.shown, math.nan)
        every = self._compute(p, n)
        return {k: every[k] for k in self.shown}

    def update(self, *rows: Any, **options: Any) -> None:
        """Add a batch of rows (each family says which arrays it takes)."""
        raise NotImplementedError

    def _partial(self, rows: tuple):
        raise NotImplementedError

    def _compute(self, p, n) -> dict[str, float]:
        raise NotImplementedError


class ClassificationMetrics(_Running):
    """Accuracy, macro F1 and log-loss from class codes (ints) of true and predicted labels.

    ``p_true`` is the probability the model gave each row's true class (omit it for models
    without ``predict_proba``; ``log_loss`` is then NaN).

    Examples
    --------
    >>> import numpy as np
    >>> m = ClassificationMetrics(window=3)
    >>> m.update(np.array([0, 1, 1, 2]), np.array([0, 1, 0, 2]), np.array([0.9, 0.8, 0.4, 0.5]))
    >>> {k: round(v, 4) for k, v in m.get().items()}
    {'rows': 4, 'accuracy': 0.75, 'f1_macro': 0.7778, 'log_loss': 0.4845, 'window_rows': 3, 'window_accuracy': 0.6667, 'window_f1_macro': 0.5556, 'window_log_loss': 0.6109}
    """

    names = CLASSIFICATION

    def update(self, y_true, y_pred, p_true=None) -> None:
        y_true = np.asarray(y_true, dtype=np.int64)
        y_pred = np.asarray(y_pred, dtype=np.int64)
        if p_true is None:
            loss = np.full(len(y_true), np.nan)
        else:
            loss = -np.log(np.clip(np.asarray(p_true, dtype=float), _EPS, 1 - _EPS))
        self._add((y_true, y_pred, loss))

    def _partial(self, rows: tuple) -> _Confusion:
        t, p, loss = rows
        k = int(max(t.max(), p.max())) + 1 if len(t) else 0
        cm = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
        has = ~np.isnan(loss)
        return _Confusion(cm, float(loss[has].sum()), int(has.sum()))

    def _compute(self, p: _Confusion, n: int) -> dict[str, float]:
        cm = p.cm
        tp = np.diag(cm).astype(float)
        true_n, pred_n = cm.sum(axis=1), cm.sum(axis=0)
        present = (true_n + pred_n) > 0
        f1 = 2 * tp[present] / (true_n[present] + pred_n[present])
        return {
            "accuracy": float(tp.sum() / n),
            "f1_macro": float(f1.mean()) if len(f1) else math.nan,
            "log_loss": p.loss / p.n_loss if p.n_loss == n else math.nan,
        }


class RegressionMetrics(_Running):
    """MAE, RMSE and R² from true and predicted values.

    Examples
    --------
    >>> import numpy as np
    >>> m = RegressionMetrics()
    >>> m.update(np.array([1.0, 2.0]), np.array([1.5, 2.0]))
    >>> m.update(np.array([3.0, 4.0]), np.array([2.0, 4.5]))
    >>> {k: round(v, 4) for k, v in m.get().items()}
    {'rows': 4, 'mae': 0.5, 'rmse': 0.6124, 'r2': 0.7}
    """

    names = REGRESSION

    def __init__(self, *, window: int | None = None, names=None) -> None:
        super().__init__(window=window, names=names)
        self.shift: float | None = None  # sums of (y - shift) keep R² stable for big levels

    def update(self, y_true, y_pred) -> None:
        y_true = np.asarray(y_true, dtype=float)
        y_pred = np.asarray(y_pred, dtype=float)
        if self.shift is None and len(y_true):
            self.shift = float(y_true[0])
        self._add((y_true, y_pred))

    def _partial(self, rows: tuple) -> np.ndarray:
        y, yhat = rows
        e = y - yhat
        d = y - self.shift
        return np.array([np.abs(e).sum(), (e * e).sum(), d.sum(), (d * d).sum()])

    def _compute(self, p: np.ndarray, n: int) -> dict[str, float]:
        abs_e, sq_e, d, d2 = p
        sst = d2 - d * d / n
        if n < 2:
            r2 = math.nan
        elif sst <= 1e-12 * max(d2, 1e-300):  # a constant target (as sklearn: 1 or 0)
            r2 = 1.0 if sq_e == 0 else 0.0
        else:
            r2 = 1.0 - sq_e / sst
        return {"mae": float(abs_e / n), "rmse": math.sqrt(max(sq_e, 0.0) / n), "r2": float(r2)}


class ClusteringMetrics(_Running):
    """Mean squared distance of each row to its nearest centre, before the model learned it.

    Examples
    --------
    >>> import numpy as np
    >>> m = ClusteringMetrics()
    >>> m.update(np.array([1.0, 3.0]))
    >>> m.get()
    {'rows': 2, 'inertia': 2.0}
    """

    names = CLUSTERING

    def update(self, sq_distance) -> None:
        self._add((np.asarray(sq_distance, dtype=float),))

    def _partial(self, rows: tuple) -> np.ndarray:
        return np.array([rows[0].sum()])

    def _compute(self, p: np.ndarray, n: int) -> dict[str, float]:
        return {"inertia": float(p[0] / n)}
