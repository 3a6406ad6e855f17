"""The output of test-then-train: each chunk's predictions made into the batch's columns.

:class:`~streamlab.learn.prequential.Prequential` predicts a batch in chunks; each chunk gives
``None`` (the model could not predict yet) or its predictions (class codes and probabilities,
numbers, or clusters and squared distances). :class:`Predictions` puts them in one
``prediction`` column of a single dtype whatever the batch (plus ``proba_<class>`` columns
for classifiers with ``predict_proba``) and feeds the scored rows to the running metrics.
Algorithm only: no streams here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.batch import with_columns
from .features import class_codes
from .metrics import _Running

__all__ = ["Predictions"]

#: one chunk of a batch: rows ``i:j`` and what the model said of them (``None``: nothing yet)
Part = tuple[int, int, Any]


class Predictions:
    """Builds the prediction columns of each batch and updates ``metrics`` with them.

    Examples
    --------
    >>> from streamlab.learn.metrics import RegressionMetrics
    >>> p = Predictions("regression", RegressionMetrics(names=["mae"]))
    >>> kept = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 4.0]})
    >>> out, scored = p.frame(kept, kept["y"].to_numpy(), [(0, 1, None), (1, 3, [2.0, 3.0])])
    >>> out["prediction"].tolist(), scored, p.metrics.get()["mae"]
    ([nan, 2.0, 3.0], 2, 0.5)
    """

    def __init__(
        self,
        task: str,
        metrics: _Running,
        *,
        has_proba: bool = False,
    ) -> None:
        self.task, self.metrics, self.has_proba = task, metrics, has_proba
        self._names: tuple[tuple[str, ...], pd.Index] | None = None  # (names, their Index)

    def frame(
        self,
        kept: pd.DataFrame,
        y: Any,
        parts: list[Part],
        classes: list[Any] | None = None,
        class_index: pd.Index | None = None,
    ) -> tuple[pd.DataFrame, int]:
        """``kept`` with the prediction columns, and how many of its rows were predicted."""
        n = len(kept)
        scored = np.zeros(n, bool)
        for i, j, r in parts:
            scored[i:j] = r is not None
        cols: dict[str, Any] = {}
        if self.task == "classification":
            cols = self._classification(n, y, parts, scored, list(classes or []), class_index)
        elif self.task == "regression":
            pred = np.full(n, np.nan)
            for i, j, r in parts:
                if r is not None:
                    pred[i:j] = r
            self.metrics.update(y[scored].astype(float), pred[scored])
            cols["prediction"] = pred
        else:  # clustering
            pred = np.full(n, np.nan)
            dist = np.full(n, np.nan)
            for i, j, r in parts:
                if r is not None:
                    pred[i:j] = r[0]
                    if r[1] is not None:
                        dist[i:j] = r[1]
            self.metrics.update(dist[scored])
            cols["prediction"] = pd.array(np.where(scored, pred, 0).astype("int64"), dtype="Int64")
            if not scored.all():
                cols["prediction"][~scored] = pd.NA
        k = int(scored.sum())
        names = self._output_names(cols)
        if not any(name in kept.columns for name in cols):
            return with_columns(kept, names, list(cols.values())), k
        out = kept.assign(**cols)
        out.attrs = dict(kept.attrs)
        return out, k

    def _output_names(self, cols: dict[str, Any]) -> pd.Index:
        """The prediction columns' names as an Index, made again only when they change."""
        key = tuple(cols)
        if self._names is None or self._names[0] != key:
            self._names = (key, pd.Index(key))
        return self._names[1]

    def _classification(
        self,
        n: int,
        y: Any,
        parts: list[Part],
        scored: np.ndarray,
        classes: list[Any],
        class_index: pd.Index | None,
    ) -> dict[str, Any]:
        K = len(classes)
        code = np.full(n, -1, dtype=np.int64)
        proba = np.full((n, K), np.nan) if self.has_proba else None
        for i, j, r in parts:
            if r is None:
                continue
            code[i:j] = r[0]
            if proba is not None:  # the model's classes_ may be fewer, in another order
                proba[i:j] = 0.0
                proba[i:j, r[2]] = r[1]
        true = class_codes(pd.Index(classes) if class_index is None else class_index, y)
        p_true = None
        if proba is not None:
            p_true = proba[np.flatnonzero(scored), true[scored]]
        self.metrics.update(true[scored], code[scored], p_true)
        cols: dict[str, Any] = {"prediction": labels(np.asarray(classes), code)}
        if proba is not None:
            for c, name in enumerate(classes):
                cols[f"proba_{name}"] = proba[:, c]
        return cols


def labels(classes: np.ndarray, code: np.ndarray) -> Any:
    """The predicted labels, in one dtype whatever the batch: the classes' own, made nullable
    where a row has no prediction yet (ints -> Int64, bools -> boolean, text -> str), so the
    ``prediction`` column does not flip between int64 and object from batch to batch.

    Examples
    --------
    >>> labels(np.array([0, 1]), np.array([-1, 1, 0]))
    <IntegerArray>
    [<NA>, 1, 0]
    Length: 3, dtype: Int64
    """
    picked = classes[np.where(code < 0, 0, code)]
    kind = classes.dtype.kind
    if kind in "iu":
        out = pd.array(picked, dtype=pd.array(np.zeros(0, classes.dtype)).dtype)
    elif kind == "b":
        out = pd.array(picked, dtype="boolean")
    elif kind == "f":
        return np.where(code < 0, np.nan, picked)
    elif kind in "UO" and all(isinstance(c, str) for c in classes):
        text = picked.astype(object)
        text[code < 0] = None
        return pd.array(text, dtype="str")
    else:
        out = np.array(picked, dtype=object)
        out[code < 0] = None
        return out
    out[code < 0] = pd.NA
    return out
