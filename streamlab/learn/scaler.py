"""A running standardiser with ``partial_fit``: the feature step before an online linear model.

Means and variances of all rows seen so far, merged batch by batch with Chan et al.'s formula
(exact and stable whatever the batch boundaries, as ``streamlab.ops.aggregates`` does for
windows). Plain numpy: no validation pass per call, so it costs little in a per-batch loop.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["RunningScaler"]


class RunningScaler(TransformerMixin, BaseEstimator):
    """Standardise features by the mean and standard deviation of every row seen so far.

    ``partial_fit(X)`` folds a batch into the running moments; ``transform(X)`` gives
    ``(X - mean_) / scale_`` (``scale_`` is the population standard deviation, 1 where it is
    0, as in ``sklearn.preprocessing.StandardScaler``). Before any ``partial_fit`` it passes
    rows through unchanged. Input must be dense, numeric and finite (``stream.learn`` checks
    that before it gets here); NaN would poison the moments.

    Examples
    --------
    >>> import numpy as np
    >>> s = RunningScaler()
    >>> _ = s.partial_fit(np.array([[1.0, 10.0], [3.0, 10.0]]))
    >>> _ = s.partial_fit(np.array([[5.0, 10.0]]))
    >>> s.n_samples_seen_, s.mean_.tolist(), s.var_.round(4).tolist()
    (3, [3.0, 10.0], [2.6667, 0.0])
    >>> s.transform(np.array([[3.0, 10.0], [5.0, 11.0]])).round(3).tolist()
    [[0.0, 0.0], [1.225, 1.0]]
    """

    def __init__(self, *, with_mean: bool = True, with_std: bool = True) -> None:
        self.with_mean = with_mean
        self.with_std = with_std

    def _reset(self) -> None:
        for name in ("n_samples_seen_", "mean_", "var_", "scale_", "_m2"):
            if hasattr(self, name):
                delattr(self, name)

    def fit(self, X, y=None) -> RunningScaler:
        """Forget what was seen, then :meth:`partial_fit` ``X``."""
        self._reset()
        return self.partial_fit(X, y)

    def partial_fit(self, X, y=None) -> RunningScaler:
        """Fold the rows of ``X`` into the running mean and variance (``y`` is ignored)."""
        if type(X) is not np.ndarray or X.dtype != np.float64:
            X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise ValueError(f"RunningScaler takes a 2-D array of rows, not shape {X.shape}")
        nb = X.shape[0]
        if nb == 0:
            return self
        if nb == 1:  # one row (the first chunks of a learner): no spread within it
            mb, m2b = X[0].copy(), np.zeros(X.shape[1])
        else:
            mb = X.sum(axis=0) / nb
            d = X - mb
            m2b = np.einsum("ij,ij->j", d, d)
        n = getattr(self, "n_samples_seen_", 0)
        if n == 0:
            self.mean_, self._m2 = mb, m2b
        else:
            if X.shape[1] != self.mean_.shape[0]:
                raise ValueError(
                    f"RunningScaler was fitted on {self.mean_.shape[0]} features, "
                    f"this batch has {X.shape[1]}"
                )
            total = n + nb
            delta = mb - self.mean_
            self.mean_ = self.mean_ + delta * (nb / total)
            self._m2 = self._m2 + m2b + delta * delta * (n * nb / total)
        self.n_samples_seen_ = n + nb
        self.var_ = self._m2 / self.n_samples_seen_
        scale = np.sqrt(self.var_)
        scale[scale == 0.0] = 1.0
        self.scale_ = scale
        return self

    def transform(self, X):
        """``(X - mean_) / scale_`` (each part only if ``with_mean`` / ``with_std``)."""
        if type(X) is not np.ndarray or X.dtype != np.float64:
            X = np.asarray(X, dtype=float)
        if getattr(self, "n_samples_seen_", 0) == 0:
            return X.copy()
        out = X - self.mean_ if self.with_mean else X.copy()
        if self.with_std:
            out /= self.scale_
        return out

    def inverse_transform(self, X):
        """Undo :meth:`transform`."""
        X = np.asarray(X, dtype=float)
        if getattr(self, "n_samples_seen_", 0) == 0:
            return X.copy()
        out = X * self.scale_ if self.with_std else X.copy()
        if self.with_mean:
            out += self.mean_
        return out
