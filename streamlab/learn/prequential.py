"""Test-then-train (prequential) learning of a scikit-learn estimator, batch by batch.

Algorithm only (``stream.learn`` adapts it). For each batch:

1. :class:`~streamlab.learn.features.FeatureCheck` splits off the bad rows (with reasons);
2. the rows go on in *chunks* (``chunk="auto"``: a quarter of the rows learned so far, from
   1 up to 512 rows; an int: that many; ``None``: the whole batch). For each chunk, feature
   steps with ``partial_fit`` (a :class:`RunningScaler`) first take its *features* (never
   its labels), then the model as it was before the chunk predicts it, then ``partial_fit``
   learns it. So no row is predicted by a model that has seen its label, and early rows are
   not all predicted by an empty model: with ``"auto"``, a row's model has learned at least
   four fifths of the rows before it, or all but at most 512 of them. The chunk, not the
   batch, sets the learning granularity: a fast source's big batches cost no accuracy;
3. the metrics take the batch's predictions in one vectorised update.

Speed: for ``SGDClassifier``, ``Perceptron`` and ``SGDRegressor`` the chunks go through
:mod:`~streamlab.learn.fastpath` (scikit-learn's own compiled SGD epoch and ``coef_``-based
predictions, without repeating per call the input checks ``FeatureCheck`` has done; checked
against the public methods on the first call of each kind). ``fast_reason`` says why a model
is not on it (``None``: it is). Any other estimator goes through its public methods.

Rows that come before the model can predict (it has not been fitted yet) have no prediction
and are not scored (``stats.unscored``). The first ``partial_fit`` waits for enough rows: two
classes for a classifier without ``classes=``, ``n_clusters`` rows for a clusterer.

Classes (classifiers): with ``classes=[...]`` the model is told every class at its first
``partial_fit`` and a row with another label is bad (``unseen label``). With
``classes=None`` the classes are learned from the stream: the step keeps the last ``memory``
rows it learned, and a label not seen before *rebuilds* the model (a fresh clone, fitted
with the grown class list on those rows, which were all learned before, so no prediction
gains from it). Rows older than ``memory`` are forgotten then (``stats.rebuilds`` counts it).
"""

from __future__ import annotations

import collections
import contextlib
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import sklearn
from sklearn.base import clone, is_classifier

from ..core.checks import check_choice, check_number
from ..core.stats import StepStats
from ..errors import ConfigError
from .fastpath import fast_path
from .features import ON_BAD, FeatureCheck, class_codes, raw_kind
from .metrics import (
    CLASSIFICATION,
    CLUSTERING,
    REGRESSION,
    ClassificationMetrics,
    ClusteringMetrics,
    RegressionMetrics,
)
from .predictions import Predictions
from .sklearn_private import is_clusterer, validate_once

if TYPE_CHECKING:
    from .fastpath import SGDFastPath

__all__ = ["LearnStats", "Prequential"]

MAX_AUTO_CHUNK = 512
AUTO_DIVISOR = 4  # chunk="auto": a chunk is the rows learned so far // this (1 .. MAX_AUTO_CHUNK)


@dataclass
class LearnStats(StepStats):
    """Counters of a learner. ``bad`` counts bad rows by their first problem (dead-lettered
    or imputed); ``dead`` of them went to ``.errors``, ``imputed`` were filled and learned.

    Examples
    --------
    >>> s = LearnStats(rows=3, scored=2, dead=1)
    >>> s.bad["infinite"] += 1
    >>> s.as_dict()["bad"], s.scored
    ({'infinite': 1}, 2)
    """

    rows: int = 0
    batches: int = 0
    scored: int = 0
    unscored: int = 0
    learned: int = 0
    dead: int = 0
    imputed: int = 0
    rebuilds: int = 0
    bad: collections.Counter = field(default_factory=collections.Counter)

    def as_dict(self) -> dict[str, Any]:
        """The counters as a plain dict, ``bad`` as a plain dict too (``dataclasses.asdict``
        would turn the Counter's items into keys)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["bad"] = dict(self.bad)
        return out


class Prequential:
    """Test-then-train one estimator on DataFrame batches (see the module docstring).

    ``update(batch)`` returns ``(scored, dead)``: the good rows with a ``prediction`` column
    (and ``proba_<class>`` columns for classifiers with ``predict_proba``), and the bad rows
    with a ``reason`` column (either may be ``None``).

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import SGDRegressor
    >>> p = Prequential(SGDRegressor(random_state=0), target="y", features=["x"])
    >>> out, dead = p.update(pd.DataFrame({"x": [1.0, 2.0, float("inf")], "y": [2.0, 4.0, 6.0]}))
    >>> out["prediction"].isna().tolist(), dead["reason"].tolist()
    ([True, False], ["feature 'x' is infinite"])
    >>> p.stats.scored, p.stats.unscored, p.stats.dead, dict(p.stats.bad)
    (1, 1, 1, {'infinite': 1})
    """

    def __init__(
        self,
        estimator,
        *,
        target,
        features=None,
        metrics=None,
        window=None,
        transform=None,
        classes=None,
        on_bad="dead_letter",
        chunk="auto",
        memory=10_000,
    ) -> None:
        if not hasattr(estimator, "partial_fit"):
            raise ConfigError(
                f"estimator {estimator!r} has no partial_fit: learn() needs an online "
                "estimator such as SGDClassifier, SGDRegressor, MultinomialNB, Perceptron or "
                "MiniBatchKMeans; to re-fit any estimator on windows use stream.refit(...)"
            )
        if is_classifier(estimator):
            self.task = "classification"
        elif is_clusterer(estimator) or target is None:
            self.task = "clustering"
        else:
            self.task = "regression"
        if self.task == "clustering" and target is not None:
            raise ConfigError(
                f"{type(estimator).__name__} learns without labels: pass target=None, "
                f"not target={target!r}"
            )
        if self.task != "clustering" and target is None:
            raise ConfigError(f"{type(estimator).__name__} needs target='label column name'")
        check_choice("on_bad", on_bad, ON_BAD)
        if window is not None:
            window = check_number(
                "window", window, low=1, integer=True, fix="the window is a row count", example=500
            )
        if not (chunk is None or (isinstance(chunk, str) and chunk == "auto")):
            chunk = check_number("chunk", chunk, low=1, integer=True, fix="or chunk='auto' or None")
        memory = check_number("memory", memory, low=1, integer=True, example=10_000)
        if classes is not None:
            if self.task != "classification":
                raise ConfigError(f"classes= is for classifiers, not {type(estimator).__name__}")
            classes = list(dict.fromkeys(classes))
            if len(classes) < 2:
                raise ConfigError(f"classes= needs at least two classes, not {classes!r}")
        self.estimator = estimator
        self.model = estimator
        steps = [] if transform is None else transform
        self.transform = list(steps) if isinstance(steps, list | tuple) else [steps]
        for t in self.transform:
            if not hasattr(t, "transform"):
                raise ConfigError(f"transform steps need a transform method; {t!r} has none")
        self.check = FeatureCheck(
            target=target,
            features=features,
            task=self.task,
            raw=raw_kind(self.transform),
            classes=classes,
            on_bad=on_bad,
        )
        self.fixed = classes is not None
        self.classes: list = [] if classes is None else classes
        self._class_index = pd.Index(self.classes)
        self._model_codes: np.ndarray | None = None
        self.chunk = chunk
        self.memory_rows = memory
        self.memory: collections.deque = collections.deque()  # (X raw, y) chunks
        self._memory_n = 0
        self.fitted = False
        self.fast: SGDFastPath | None = None  # the fast path, when it can serve the model
        self._refusal: str | None = "the model has not been fitted yet"
        self.has_proba = self.task == "classification" and hasattr(estimator, "predict_proba")
        family, cls = {
            "classification": (CLASSIFICATION, ClassificationMetrics),
            "regression": (REGRESSION, RegressionMetrics),
            "clustering": (CLUSTERING, ClusteringMetrics),
        }[self.task]
        names = family if metrics is None else tuple(metrics)
        for name in names:
            check_choice("metrics", name, family)
        self.metrics = cls(window=window, names=names)
        self.stats = LearnStats()
        self._seen = 0
        self.output = Predictions(self.task, self.metrics, has_proba=self.has_proba)

    @property
    def fast_reason(self) -> str | None:
        """Why the model is not on the checked fast path (``None``: it is; see ``fastpath``)."""
        return self._refusal if self.fast is None else self.fast.reason

    # -- one batch ----------------------------------------------------------------------------
    def update(self, df: pd.DataFrame):
        """Predict, then learn, one batch; returns ``(scored rows, dead rows)``."""
        self.stats.rows += len(df)
        self.stats.batches += 1
        if not len(df):
            return None, None
        c = self.check.check(df)
        self.stats.bad.update(c.kinds)
        self.stats.imputed += c.imputed
        self.stats.dead += len(c.dead)
        dead = None
        if len(c.dead):
            dead = df.iloc[c.dead].assign(reason=c.reasons)
        n = len(c.keep)
        if n == 0:
            return None, dead
        parts = []
        i = 0
        while i < n:
            j = n if self.chunk is None else min(n, i + self._chunk_size())
            parts.append((i, j, self._step(c.X[i:j], None if c.y is None else c.y[i:j])))
            i = j
        kept = df if len(c.keep) == len(df) else df.iloc[c.keep]
        out, k = self.output.frame(kept, c.y, parts, self.classes, self._class_index)
        self.stats.scored += k
        self.stats.unscored += n - k
        return out, dead

    def _chunk_size(self) -> int:
        if self.chunk == "auto":
            return max(1, min(MAX_AUTO_CHUNK, self._seen // AUTO_DIVISOR))
        return self.chunk

    def _step(self, X, y):
        """Predict one chunk with the model as it is, then learn it."""
        Xt = self._features(X, learn=True)
        result = self._predict(Xt) if self.fitted else None
        self._learn(X, Xt, y)
        self._seen += len(X)
        return result

    def _features(self, X, *, learn: bool):
        for t in self.transform:
            if learn and hasattr(t, "partial_fit"):
                t.partial_fit(X)
            X = t.transform(X)
        return X

    def _fast(self):
        """sklearn's own checks are done by FeatureCheck; skip them after the first fit
        (the fast path skips them anyway: no context to enter)."""
        if self.fast is not None and self.fast.active:
            return contextlib.nullcontext()
        return sklearn.config_context(assume_finite=True, skip_parameter_validation=True)

    def _predict(self, Xt):
        model = self.model
        with self._fast():
            if self.task == "classification":
                codes = self._model_codes
                if codes is None:  # our code of each of the model's classes_, once per model
                    codes = self._model_codes = class_codes(self._class_index, model.classes_)
                fast = self.fast
                if self.has_proba:
                    proba = (fast or model).predict_proba(Xt)
                    return codes[proba.argmax(axis=1)], proba, codes
                if fast is not None:
                    return codes[fast.predict_index(Xt)], None, codes
                return class_codes(self._class_index, model.predict(Xt)), None, codes
            if self.task == "regression":
                return np.asarray((self.fast or model).predict(Xt), dtype=float)
            pred = model.predict(Xt)
            dist = model.transform(Xt).min(axis=1) ** 2 if hasattr(model, "transform") else None
            return pred, dist

    # -- learning -----------------------------------------------------------------------------
    def _learn(self, X, Xt, y) -> None:
        new = False
        if self.task == "classification" and not self.fixed:
            fresh = pd.unique(y[class_codes(self._class_index, y) < 0])
            if len(fresh):
                self.classes = self.classes + list(fresh)
                self._class_index = pd.Index(self.classes)
                new = True
        if self.fitted and not new:
            with self._fast():
                self._fit(self.model, Xt, y)
            self.stats.learned += len(X)
            if self.task == "classification" and not self.fixed:
                self._remember(X, y)
            return
        self._remember(X, y)
        if not self._ready():
            return
        Xm = _stack([m[0] for m in self.memory])
        ym = None if y is None else np.concatenate([m[1] for m in self.memory])
        model = clone(self.estimator) if self.fitted else self.model
        Xf = self._features(Xm, learn=False)
        if not validate_once(model):  # an estimator with checks of its own, or the public path
            self._fit(model, Xf, ym, first=True)
        else:  # its parameters were checked (a bad one is scikit-learn's own error), once
            with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
                self._fit(model, Xf, ym, first=True)
        self.stats.rebuilds += int(self.fitted)
        self.stats.learned += len(X) if self.fitted else self._memory_n
        self.model, self.fitted = model, True
        self._model_codes = None
        self.fast, self._refusal = fast_path(model)
        if self.task != "classification" or self.fixed:
            self.memory.clear()
            self._memory_n = 0

    def _fit(self, model, Xt, y, *, first=False) -> None:
        if not first and self.fast is not None:
            self.fast.partial_fit(Xt, y)
        elif self.task == "clustering":
            model.partial_fit(Xt)
        elif self.task == "regression":
            model.partial_fit(Xt, y.astype(float))
        elif first:
            model.partial_fit(Xt, y, classes=_sorted(self.classes))
        else:
            model.partial_fit(Xt, y)

    def _ready(self) -> bool:
        if self.task == "classification":
            return len(self.classes) >= 2 or self.fixed
        if self.task == "clustering":
            return self._memory_n >= getattr(self.estimator, "n_clusters", 1)
        return True

    def _remember(self, X, y) -> None:
        self.memory.append((X, y))
        self._memory_n += len(X)
        while self._memory_n - len(self.memory[0][0]) >= self.memory_rows:
            self._memory_n -= len(self.memory.popleft()[0])


def _sorted(classes: list) -> list:
    try:
        return sorted(classes)
    except TypeError:
        raise ConfigError(
            f"the labels {classes!r} cannot be sorted (mixed types?): scikit-learn needs "
            "labels of one type"
        ) from None


def _stack(blocks: list):
    if len(blocks) == 1:
        return blocks[0]
    if sp.issparse(blocks[0]):
        return sp.vstack(blocks)
    return np.concatenate(blocks)
