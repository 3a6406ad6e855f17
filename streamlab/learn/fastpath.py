"""A checked fast path for scikit-learn's SGD models: the same arithmetic, without per-call checks.

Why: ``partial_fit`` and ``predict_proba`` of ``SGDClassifier`` cost about 0.17 and 0.06 ms a
call whatever the rows (input validation: dtype, finiteness, dataframe detection; for more
than two classes also a joblib ``Parallel`` set-up). Test-then-train in small chunks makes
dozens of such calls, and on a dataset of a few thousand rows they are most of the time.
``stream.learn`` has already checked its input (``FeatureCheck``), so the checks are repeated.

What: for ``SGDClassifier``, ``Perceptron`` and ``SGDRegressor`` (these exact classes, not
subclasses), after the model's first public ``partial_fit`` has set it up, :class:`SGDFastPath`
learns a chunk through :class:`~streamlab.learn.sklearn_private.SGDMirror` (scikit-learn's
compiled SGD epoch, given what ``partial_fit`` would give it) and predicts from ``coef_`` and
``intercept_`` as ``decision_function`` does (``predict_proba`` for ``loss="log_loss"``).

Policy: the private parts of scikit-learn it needs live in
:mod:`~streamlab.learn.sklearn_private`, with the versions they were verified on
(``VERIFIED_ON``); elsewhere, or with ``STREAMLAB_FASTPATH=0``, the public methods run.
:func:`status` says which path a model is on, and why.

Safety: nothing private is trusted blindly.

1. :func:`fast_path` refuses (returning ``None`` and a reason) on an unverified version, when
   turned off, when a private name is missing or its signature differs, and for settings it
   does not mirror (``early_stopping``, ``average``, ``verbose``, a float32 model, a method
   replaced on the instance).
2. The first fast call of each *kind* (``SGDFastPath._key``: the class, the method, binary or
   not, dense or CSR, and for learning every constructor parameter of the model, with only the
   kind of ``random_state``) is *checked*: the same rows also go through the public method (on
   a copy, for learning) and the results must be identical (coefficients, intercepts and
   ``t_`` bit for bit; predictions equal). The verdict holds for the process: the first model
   of a kind pays for its check, later ones do not; ``set_params`` makes a new kind. On any
   difference the model takes the public result and the fast path switches itself off,
   saying why (``reason``).
3. Input it does not mirror goes to the public method, so scikit-learn converts it or raises
   its own error: not a C-ordered float64 array or CSR matrix with 32-bit indices, another
   width, no rows, ``np.matrix``; targets of another length or shape, NaN or inf in a
   regression target, labels outside ``classes_``.

Examples
--------
>>> import numpy as np
>>> from sklearn.linear_model import SGDClassifier
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(40, 3)); y = (X[:, 0] > 0).astype(int)
>>> model = SGDClassifier(loss="log_loss", random_state=0).partial_fit(X[:8], y[:8], classes=[0, 1])
>>> status(model)
'fast'
>>> fast, reason = fast_path(model)
>>> twin = SGDClassifier(loss="log_loss", random_state=0).partial_fit(X[:8], y[:8], classes=[0, 1])
>>> for i in range(8, 40, 8):
...     fast.partial_fit(X[i : i + 8], y[i : i + 8])
...     _ = twin.partial_fit(X[i : i + 8], y[i : i + 8])
>>> bool(np.array_equal(model.coef_, twin.coef_)), fast.checked, fast.active
(True, True, True)
>>> bool(np.array_equal(fast.predict_proba(X), twin.predict_proba(X)))
True
>>> bool(np.array_equal(model.classes_[fast.predict_index(X)], twin.predict(X)))
True
"""

from __future__ import annotations

import copy
import functools
import inspect
import numbers
import operator

import numpy as np
import scipy.sparse as sp
import sklearn
from scipy.special import expit
from sklearn.linear_model import Perceptron, SGDClassifier, SGDRegressor

from . import sklearn_private
from .sklearn_private import SGDMirror, same_state

__all__ = ["SGDFastPath", "fast_path", "status"]

CLASSIFIERS = (SGDClassifier, Perceptron)
REGRESSORS = (SGDRegressor,)

# Checks of one fast call against the public one, by SGDFastPath._key: None = identical,
# else why not. Per process: scikit-learn's code does not change under a running kernel.
_CHECKED: dict[tuple, str | None] = {}


def fast_path(model) -> tuple[SGDFastPath | None, str | None]:
    """``(SGDFastPath, None)`` for a fitted model it can serve, else ``(None, why not)``.

    >>> from sklearn.linear_model import SGDRegressor
    >>> fast_path(SGDRegressor())
    (None, 'the model has not been fitted yet (its first partial_fit is public)')
    """
    kind = type(model)
    if kind not in CLASSIFIERS + REGRESSORS:
        return None, f"{kind.__name__} is not one of SGDClassifier, Perceptron, SGDRegressor"
    off = sklearn_private.unavailable()
    if off is not None:
        return None, off
    coef = getattr(model, "coef_", None)
    if coef is None or not hasattr(model, "t_"):
        return None, "the model has not been fitted yet (its first partial_fit is public)"
    if coef.dtype != np.float64:
        return None, f"the model holds {coef.dtype} coefficients (the fast path mirrors float64)"
    patched = [n for n in ("partial_fit", "predict", "predict_proba") if n in vars(model)]
    if patched:
        return None, f"{patched[0]} is replaced on this model (the fast path would bypass it)"
    if model.early_stopping:
        return None, "early_stopping=True (the fast path mirrors partial_fit without it)"
    if model.average:
        return None, f"average={model.average!r} (the fast path mirrors plain SGD, not averaged)"
    if model.verbose:
        return None, f"verbose={model.verbose!r} (the fast path does not print progress)"
    return SGDFastPath(model), None


def status(model) -> str:
    """``"fast"`` if ``model`` learns through the fast path now, else ``"public: <why>"``.

    A check that found the fast update different for the model's settings (``_CHECKED``)
    counts too.

    >>> import numpy as np
    >>> from sklearn.linear_model import SGDRegressor
    >>> status(SGDRegressor())
    'public: the model has not been fitted yet (its first partial_fit is public)'
    >>> model = SGDRegressor(average=True).partial_fit(np.eye(2), [0.0, 1.0])
    >>> status(model)  # doctest: +ELLIPSIS
    'public: ...'
    """
    fast, reason = fast_path(model)
    if fast is None:
        return f"public: {reason}"
    settings = _settings(model)
    for key, verdict in _CHECKED.items():
        if verdict is not None and key[0] is type(model) and key[-1] == settings:
            return f"public: {verdict}"
    return "fast"


@functools.cache
def _reader(cls: type) -> tuple[operator.itemgetter, int, int | None]:
    """Reads every constructor parameter (what ``get_params`` reads) of an estimator class
    from an instance's ``__dict__`` at once; and where ``random_state`` and
    ``class_weight`` are among them."""
    names = tuple(inspect.signature(cls).parameters)  # the constructor's, without self
    weights = names.index("class_weight") if "class_weight" in names else None
    return operator.itemgetter(*names), names.index("random_state"), weights


def _settings(model) -> tuple:
    """Every constructor parameter's value, hashable (``random_state``: only its kind; the
    seeds drawn from it are mirrored exactly). About a microsecond: it runs every update."""
    read, state, weights = _reader(type(model))  # type: ignore[arg-type]  # a class is hashable
    values = list(read(vars(model)))
    kind = values[state]
    values[state] = "int" if isinstance(kind, numbers.Integral) else type(kind).__name__
    if weights is not None and isinstance(values[weights], dict):
        values[weights] = tuple(sorted((repr(k), v) for k, v in values[weights].items()))
    return tuple(values)


class SGDFastPath:
    """Learn and predict for one fitted SGD model (see the module docstring).

    ``active`` is ``False`` once a check found a difference (``reason`` says which);
    ``checked`` is ``True`` once an update like this model's passed its check (in this
    process: the first model of each kind pays for the check, the next ones do not).

    >>> import numpy as np
    >>> from sklearn.linear_model import SGDRegressor
    >>> model = SGDRegressor(random_state=0).partial_fit(np.eye(2), [0.0, 1.0])
    >>> path = SGDFastPath(model)
    >>> path.partial_fit(np.eye(2), np.array([0.0, 1.0]))
    >>> path.active, path.checked
    (True, True)
    >>> bool(np.array_equal(path.predict(np.eye(2)), model.predict(np.eye(2))))
    True
    >>> bool(np.array_equal(path.decision(np.eye(2)), model.predict(np.eye(2))))
    True
    """

    def __init__(self, model) -> None:
        self.model = model
        self.classifier = isinstance(model, CLASSIFIERS)
        self.proba = self.classifier and getattr(model, "loss", None) == "log_loss"
        self.active = True
        self._passed: set[tuple] = set()  # the _keys of calls checked equal (here or before)
        self.reason: str | None = None
        self._mirror = SGDMirror(model)

    # -- input the fast path mirrors -------------------------------------------------------
    def _mirrors(self, X) -> bool:
        """``X`` is input the fast path mirrors: rows (at least one) of the model's width,
        C-ordered float64, or CSR float64 with 32-bit indices (else: the public method)."""
        width = self.model.coef_.shape[-1]
        if type(X) is np.ndarray:  # not np.matrix, which partial_fit refuses
            dense = X.dtype == np.float64 and X.ndim == 2 and X.flags.c_contiguous
            return dense and X.shape[1] == width and X.shape[0] > 0
        return (
            sp.issparse(X)
            and X.format == "csr"
            and X.dtype == np.float64
            and X.indices.dtype == np.int32
            and X.indptr.dtype == np.int32
            and X.shape[1] == width
            and X.shape[0] > 0
        )

    def _off(self, why: str) -> None:
        self.active = False
        self.reason = why

    # -- learning ---------------------------------------------------------------------------
    def partial_fit(self, X, y) -> None:
        """Learn one chunk, as ``model.partial_fit(X, y)`` would."""
        model = self.model
        target = self._target(X, y) if self.active and self._mirrors(X) else None
        if target is None:  # input partial_fit would convert or refuse: let it
            model.partial_fit(X, y)
            return
        key = self._key(X, "partial_fit")
        if key not in self._passed:
            if key not in _CHECKED:  # the chunk is learned by the check, one way or the other
                why = _CHECKED[key] = self._check_learning(X, y, target)
                if why is None:
                    self._passed.add(key)
                else:
                    self._off(why)
                return
            why = _CHECKED[key]
            if why is not None:
                self._off(why)
                model.partial_fit(X, y)
                return
            self._passed.add(key)
        self._mirror.learn(X, y, target)

    def _target(self, X, y):
        """What the SGD loop learns from ``y`` for ``X``'s rows: the float targets of a
        regressor, or a mask per class of a classifier's labels; ``None`` for labels that
        ``partial_fit`` would convert (a column) or refuse (another length, NaN or inf in a
        regression target, a label outside ``classes_``)."""
        n = X.shape[0]
        if type(y) is not np.ndarray:
            y = np.asarray(y)
        if y.ndim != 1 or len(y) != n:
            return None
        if not self.classifier:
            y = np.ascontiguousarray(y, dtype=np.float64) if y.dtype.kind in "biuf" else None
            return y if y is not None and np.isfinite(y).all() else None
        hits = [y == c for c in self.model.classes_]
        if not all(isinstance(h, np.ndarray) and h.shape == (n,) for h in hits):
            return None
        return hits if sum(int(h.sum()) for h in hits) == n else None

    @property
    def checked(self) -> bool:
        """Whether some update of this model passed its check (or was checked before in
        this process); each kind of update (``_key``) is checked on its own first call."""
        return any(k[1] == "partial_fit" for k in self._passed)

    def _key(self, X, method: str) -> tuple:
        """What decides which of scikit-learn's code paths a call takes: a check of one
        call holds for every later call with the same key, in this process. An update
        depends on every setting of the model; a prediction on ``coef_``, ``intercept_``
        and the loss only."""
        m = self.model
        kind = len(m.classes_) > 2 if self.classifier else None
        if method != "partial_fit":
            return (type(m), method, kind, sp.issparse(X), getattr(m, "loss", None))
        return (type(m), method, kind, sp.issparse(X), _settings(m))

    def _check_learning(self, X, y, target) -> str | None:
        """Learn the chunk by the fast path and, on a copy, by ``partial_fit``; ``None`` if
        the states are identical, else why not (and the model takes the public state)."""
        model = self.model
        reference = copy.deepcopy(model)
        rng = np.random.get_state() if model.random_state is None else None
        reference.partial_fit(X, y)
        if rng is not None:  # both draw the same seeds from numpy's global generator
            np.random.set_state(rng)
        try:
            self._mirror.learn(X, y, target)
            if same_state(model, reference):
                return None
            what = "differed from partial_fit"
        except Exception as exc:  # any failure means: use the public path
            what = f"failed ({type(exc).__name__}: {exc})"
        model.__dict__.clear()
        model.__dict__.update(reference.__dict__)
        return (
            f"scikit-learn {sklearn.__version__}: the fast update {what}; "
            "partial_fit is used from now on"
        )

    # -- prediction -------------------------------------------------------------------------
    def decision(self, X) -> np.ndarray:
        """``decision_function(X)`` (``predict(X)`` for a regressor)."""
        model = self.model
        scores = X @ model.coef_.T
        if sp.issparse(scores):  # pragma: no cover - csr @ dense is dense in scipy
            scores = scores.toarray()
        scores = np.asarray(scores) + model.intercept_
        return scores.ravel() if scores.ndim == 1 or scores.shape[1] == 1 else scores

    def predict_index(self, X) -> np.ndarray:
        """Positions in ``classes_`` of ``predict(X)`` (a classifier)."""
        classes = self.model.classes_
        if not self.active or not self._mirrors(X):
            return np.searchsorted(classes, self.model.predict(X))
        scores = self.decision(X)
        index = (scores > 0).astype(np.intp) if scores.ndim == 1 else scores.argmax(axis=1)
        expected = self._check(X, classes[index], self.model.predict)
        if expected is not None:
            return np.searchsorted(classes, expected)
        return index

    def predict(self, X) -> np.ndarray:
        """``predict(X)``."""
        if not self.active or not self._mirrors(X):
            return self.model.predict(X)
        if self.classifier:
            return self.model.classes_[self.predict_index(X)]
        pred = self.decision(X)
        expected = self._check(X, pred, self.model.predict)
        return pred if expected is None else expected

    def predict_proba(self, X) -> np.ndarray:
        """``predict_proba(X)`` (``loss="log_loss"``)."""
        if not (self.active and self.proba) or not self._mirrors(X):
            return self.model.predict_proba(X)
        prob = expit(self.decision(X))
        if prob.ndim == 1:
            prob = np.stack([1 - prob, prob], axis=1)
        else:
            total = prob.sum(axis=1)
            zero = total == 0
            if zero.any():  # as scikit-learn: uniform where every class is 0
                prob[zero, :] = 1
                total[zero] = prob.shape[1]
            prob /= total.reshape(-1, 1)
        expected = self._check(X, prob, self.model.predict_proba)
        return prob if expected is None else expected

    def _check(self, X, fast, public):
        """The first fast prediction of its kind against the public one: ``None`` if equal,
        else the public result (and the fast path is off from now on)."""
        key = self._key(X, public.__name__)
        if key in self._passed:
            return None
        if _CHECKED.get(key, "unchecked") is None:
            self._passed.add(key)
            return None
        expected = public(X)
        if key not in _CHECKED:
            same = np.array_equal(np.asarray(fast), np.asarray(expected))
            _CHECKED[key] = (
                None
                if same
                else (
                    f"scikit-learn {sklearn.__version__}: the fast prediction differed from "
                    f"{public.__name__}; the public methods are used from now on"
                )
            )
        if _CHECKED[key] is None:
            self._passed.add(key)
            return None
        self._off(_CHECKED[key])
        return expected
