"""Every use of scikit-learn's private API in streamlab, and the policy that bounds it.

streamlab's SGD fast path (:mod:`streamlab.learn.fastpath`) learns a chunk as
``partial_fit`` would, without repeating its per-call input checks. To do that it needs
parts of scikit-learn that are not public; they are used here and nowhere else.

Private names used
    ``sklearn.linear_model._stochastic_gradient``: ``_plain_sgd64`` (the compiled SGD epoch,
    called by keyword), ``MAX_INT`` and ``CyHalfBinomialLoss`` (as imported there);
    ``sklearn.linear_model._base.SPARSE_INTERCEPT_DECAY``;
    ``sklearn.utils._seq_dataset``: ``ArrayDataset64``, ``CSRDataset64``;
    on the estimators: ``_get_loss_function``, ``_get_penalty_type``,
    ``_get_learning_rate_type``, ``_get_l1_ratio`` (1.7 on), ``_expanded_class_weight``,
    ``_loss_function_``; and the order in which ``fit_binary``, ``_fit_multiclass`` and
    ``_fit_regressor`` draw their seeds.

Verified on
    :data:`VERIFIED_ON`: each release was installed and the fast-path tests showed the fast
    path's coefficients, intercepts, ``t_`` and predictions identical, bit for bit, to
    ``partial_fit``'s over many batch cuts and settings. ``_plain_sgd64`` exposes its
    signature on every one of them; :data:`PLAIN_SGD` holds it per version, it is compared
    name by name before first use, and the epoch is called by keyword (so the compiled
    function itself checks every name on every call). The values passed are those of
    ``fit_binary`` / ``_fit_regressor`` in each version's ``_stochastic_gradient.py``:
    up to 1.7 with passive-aggressive's ``C`` (1.0 from ``partial_fit``), from 1.8 without;
    ``l1_ratio`` as set in 1.6, through ``_get_l1_ratio()`` from 1.7.

Public fallback
    On any other version, with the environment variable ``STREAMLAB_FASTPATH=0``, or when a
    name above is missing, nothing private is touched and the estimator's public
    ``partial_fit`` / ``predict`` / ``predict_proba`` run. :func:`unavailable` says why, and
    ``fastpath.status(model)`` says it per model. The environment is read each time a model
    is put on the fast path (``fastpath.fast_path``), not at import.

Examples
--------
>>> unavailable() is None  # on a verified version, without STREAMLAB_FASTPATH=0
True
>>> "1.9.1" in VERIFIED_ON and len(PLAIN_SGD["1.9.1"])
28
"""

from __future__ import annotations

import functools
import inspect
import numbers
from typing import Any

import numpy as np
import sklearn
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight

from ..core.switches import ENV_VAR, fastpath_disabled
from ..errors import StateError

try:  # modules (present on every scikit-learn since 1.0); their names are checked below
    from sklearn.linear_model import _base
    from sklearn.linear_model import _stochastic_gradient as _sgd
    from sklearn.utils import _seq_dataset as _seq
except ImportError:  # pragma: no cover - a scikit-learn without these modules
    _base = _sgd = _seq = None

__all__ = [
    "ENV_VAR",
    "PLAIN_SGD",
    "VERIFIED_ON",
    "SGDMirror",
    "is_clusterer",
    "same_state",
    "unavailable",
    "validate_once",
]

#: The scikit-learn releases the fast path was verified on (see the module docstring).
VERIFIED_ON = ("1.6.0", "1.6.1", "1.7.0", "1.7.1", "1.7.2", "1.8.0", "1.9.0", "1.9.1")
#: ``STREAMLAB_FASTPATH=0`` (or ``false``, ``no``, ``off``) turns the fast path off.

_ARGS_18 = (
    *("weights", "intercept", "average_weights", "average_intercept", "loss", "penalty_type"),
    *("alpha", "l1_ratio", "dataset", "validation_mask", "early_stopping"),
    *("validation_score_cb", "n_iter_no_change", "max_iter", "tol", "fit_intercept"),
    *("verbose", "shuffle", "seed", "weight_pos", "weight_neg", "learning_rate", "eta0"),
    *("power_t", "one_class", "t", "intercept_decay", "average"),
)
_ARGS_16 = (*_ARGS_18[:7], "C", *_ARGS_18[7:])  # with passive-aggressive's step bound C
# Per release series, as read in its _stochastic_gradient.py (fit_binary, _fit_regressor):
# _plain_sgd64's parameters in order, and whether l1_ratio goes through _get_l1_ratio().
_SERIES = {
    "1.6": (_ARGS_16, False),
    "1.7": (_ARGS_16, True),
    "1.8": (_ARGS_18, True),
    "1.9": (_ARGS_18, True),
}
#: ``_plain_sgd64``'s parameters, in order, per verified release.
PLAIN_SGD = {v: _SERIES[v.rsplit(".", 1)[0]][0] for v in VERIFIED_ON}
_NAMES = (
    (_sgd, ("_plain_sgd64", "MAX_INT", "CyHalfBinomialLoss")),
    (_base, ("SPARSE_INTERCEPT_DECAY",)),
    (_seq, ("ArrayDataset64", "CSRDataset64")),
)
_HELPERS = ("_get_loss_function", "_get_penalty_type", "_get_learning_rate_type")
_INT32_MAX = np.iinfo(np.int32).max


def unavailable() -> str | None:
    """Why the fast path may not run in this process (``None``: it may).

    Reads ``STREAMLAB_FASTPATH`` and ``sklearn.__version__`` now, every call.

    >>> import os
    >>> os.environ[ENV_VAR] = "0"
    >>> unavailable()
    'disabled by STREAMLAB_FASTPATH=0'
    >>> del os.environ[ENV_VAR]
    """
    disabled = fastpath_disabled()
    if disabled is not None:
        return disabled
    version = sklearn.__version__
    if version not in VERIFIED_ON:
        return (
            f"scikit-learn {version} is not a version the fast path was verified on "
            f"({', '.join(VERIFIED_ON)})"
        )
    return _internals(version)


def is_clusterer(estimator: Any) -> bool:
    """scikit-learn's public ``is_clusterer`` (1.6 on); before 1.6 it did not exist, and the
    private class attribute ``_estimator_type`` said the same.

    >>> from sklearn.cluster import MiniBatchKMeans
    >>> from sklearn.linear_model import SGDClassifier
    >>> is_clusterer(MiniBatchKMeans()), is_clusterer(SGDClassifier())
    (True, False)
    """
    try:
        from sklearn.base import is_clusterer as public
    except ImportError:  # scikit-learn < 1.6
        return getattr(estimator, "_estimator_type", None) == "clusterer"
    return bool(public(estimator))


def validate_once(model: Any) -> bool:
    """Check ``model``'s parameters with scikit-learn's own validation (its error, if one is
    bad) and return True, so that the fits that follow may skip it
    (``sklearn.config_context(skip_parameter_validation=True)``); False where the private
    validator may not be used (see :func:`unavailable`) or the model has none: then fit as
    usual, validating every time.

    >>> from sklearn.linear_model import SGDClassifier
    >>> validate_once(SGDClassifier()) == (unavailable() is None)
    True
    >>> validate_once(SGDClassifier(alpha=-1))
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: The 'alpha' parameter of SGDClassifier must be ...
    """
    if unavailable() is not None:
        return False
    validate = getattr(model, "_validate_params", None)
    if validate is None or not hasattr(model, "_parameter_constraints"):
        return False
    validate()
    return True


@functools.cache
def _internals(version: str) -> str | None:
    """Why scikit-learn's private names are not those verified for ``version`` (``None``:
    they are). Once per process and version."""
    for module, names in _NAMES:
        missing = [n for n in names if not hasattr(module, n)]
        if missing:
            return f"scikit-learn {version} has no {module.__name__}.{missing[0]}"
    try:
        params = tuple(inspect.signature(_sgd._plain_sgd64).parameters)
    except (TypeError, ValueError):  # no signature: the keyword call checks the names
        params = PLAIN_SGD[version]
    if params != PLAIN_SGD[version]:
        return f"scikit-learn {version}: _plain_sgd64 takes other arguments than verified"
    helpers = _HELPERS + (("_get_l1_ratio",) if _series(version)[1] else ())
    missing = [n for n in helpers if not callable(getattr(_sgd.BaseSGD, n, None))]
    if missing:
        return f"scikit-learn {version}: its SGD estimators have no {missing[0]}"
    return None


def _series(version: str) -> tuple[tuple[str, ...], bool]:
    series = _SERIES.get(version.rsplit(".", 1)[0])
    if series is None:
        raise StateError(f"scikit-learn {version} is not a version the fast path was verified on")
    return series


class SGDMirror:
    """``partial_fit``'s learning step for one fitted SGD model, after its input checks.

    Only for a version :func:`unavailable` accepts, a float64 model without averaging or
    early stopping (``fastpath.fast_path`` refuses the others).

    >>> import numpy as np
    >>> from sklearn.linear_model import SGDRegressor
    >>> X = np.arange(12.0).reshape(6, 2); y = X[:, 0] - X[:, 1]
    >>> model = SGDRegressor(random_state=0).partial_fit(X[:3], y[:3])
    >>> twin = SGDRegressor(random_state=0).partial_fit(X[:3], y[:3])
    >>> SGDMirror(model).learn(X[3:], y[3:], y[3:])
    >>> bool(np.array_equal(model.coef_, twin.partial_fit(X[3:], y[3:]).coef_))
    True
    """

    def __init__(self, model) -> None:
        self.model = model
        self.classifier = hasattr(model, "classes_")
        # the number of classes _expanded_class_weight is for, with class_weight=None:
        # the public partial_fit that fitted the model has just computed it
        self._weights_for = (
            len(model.classes_)
            if self.classifier
            and model.class_weight is None
            and hasattr(model, "_expanded_class_weight")
            else None
        )
        self._seed_memo: dict = {}
        args, self._l1_helper = _series(sklearn.__version__)
        self._extra = {"C": 1.0} if "C" in args else {}  # up to 1.7: partial_fit's C

    def learn(self, X, y, target) -> None:
        """One epoch over the chunk (``target``: a regressor's float targets, or a mask per
        class in ``classes_`` of a classifier's labels)."""
        model = self.model
        n = X.shape[0]
        weight = np.ones(n, dtype=np.float64)
        if not self.classifier:
            (seeds,) = self._seeds(1, regressor=True)
            loss = model._get_loss_function(model.loss)
            coef, intercept, n_iter = self._sgd(
                X, target, weight, seeds, model.coef_, model.intercept_[0], loss, 1.0, 1.0
            )
            model.t_ += n_iter * n
            model.n_iter_ = n_iter
            model.intercept_ = np.atleast_1d(intercept)
            return
        classes = model.classes_
        unweighted = len(classes) if model.class_weight is None else None
        if unweighted is None or self._weights_for != unweighted:
            # a dict (perhaps changed in place) or "balanced" (per chunk), or back to None:
            # as partial_fit does on every call
            model._expanded_class_weight = compute_class_weight(
                model.class_weight, classes=classes, y=np.asarray(y)
            )
            self._weights_for = unweighted
        weights = model._expanded_class_weight
        loss = model._loss_function_ = model._get_loss_function(model.loss)
        negative = 0.0 if isinstance(loss, _sgd.CyHalfBinomialLoss) else -1.0
        if len(classes) == 2:
            (seeds,) = self._seeds(1)
            args = (model.coef_.ravel(), model.intercept_[0], loss, weights[1], weights[0])
            coef, intercept, n_iter = self._sgd(
                X, _one_vs_rest(target[1], negative), weight, seeds, *args
            )
            model.t_ += n_iter * n
            model.n_iter_ = n_iter
            model.coef_ = coef.reshape(1, -1)
            model.intercept_ = np.atleast_1d(intercept)
            return
        most = 0.0
        for i, seeds in enumerate(self._seeds(len(classes))):
            args = (model.coef_[i], model.intercept_[i], loss, weights[i], 1.0)
            _, intercept, n_iter = self._sgd(
                X, _one_vs_rest(target[i], negative), weight, seeds, *args
            )
            model.intercept_[i] = intercept
            most = max(most, n_iter)
        model.t_ += most * n
        model.n_iter_ = most

    def _sgd(self, X, target, weight, seeds, coef, intercept, loss, pos, neg):
        """``_plain_sgd64`` with the values ``fit_binary`` and ``_fit_regressor`` pass."""
        model = self.model
        data_seed, sgd_seed = seeds
        if isinstance(X, np.ndarray):
            dataset, decay = _seq.ArrayDataset64(X, target, weight, seed=data_seed), 1.0
        else:
            dataset = _seq.CSRDataset64(X.data, X.indptr, X.indices, target, weight, seed=data_seed)
            decay = _base.SPARSE_INTERCEPT_DECAY
        l1_ratio = model._get_l1_ratio() if self._l1_helper else model.l1_ratio
        coef, intercept, _, _, n_iter = _sgd._plain_sgd64(
            weights=coef,
            intercept=intercept,
            average_weights=None,
            average_intercept=0,
            loss=loss,
            penalty_type=model._get_penalty_type(model.penalty),
            alpha=model.alpha,
            l1_ratio=l1_ratio,
            dataset=dataset,
            validation_mask=np.zeros(X.shape[0], dtype=np.bool_),
            early_stopping=False,
            validation_score_cb=None,
            n_iter_no_change=int(model.n_iter_no_change),
            max_iter=1,
            tol=model.tol if model.tol is not None else -np.inf,
            fit_intercept=int(model.fit_intercept),
            verbose=int(model.verbose),
            shuffle=int(model.shuffle),
            seed=sgd_seed,
            weight_pos=pos,
            weight_neg=neg,
            learning_rate=model._get_learning_rate_type(model.learning_rate),
            eta0=model.eta0,
            power_t=model.power_t,
            one_class=0,
            t=model.t_,
            intercept_decay=decay,
            average=model.average,
            **self._extra,
        )
        return coef, intercept, n_iter

    def _seeds(self, k: int, *, regressor: bool = False) -> list[tuple[int, int]]:
        """The (dataset seed, SGD seed) pairs ``partial_fit`` would draw for ``k`` binary
        fits, taking the same draws from the same generators (numpy's global one for
        ``random_state=None``). A generator made from an int gives the same pairs every
        time: they are remembered. The seeds only order the rows when ``shuffle=True``."""
        model = self.model
        state = model.random_state
        memo = (k, regressor, state, bool(model.shuffle))  # set_params may change any of them
        if isinstance(state, numbers.Integral) and memo in self._seed_memo:
            return self._seed_memo[memo]
        rng = check_random_state(state)
        if k == 1:  # fit_binary / _fit_regressor draw from the model's generator
            if regressor:  # _fit_regressor: the SGD seed first, then make_dataset's
                sgd_seed = rng.randint(0, _sgd.MAX_INT)
                pairs = [(rng.randint(1, _INT32_MAX), sgd_seed)]
            else:  # fit_binary: make_dataset's seed first
                pairs = [(rng.randint(1, _INT32_MAX), rng.randint(_sgd.MAX_INT))]
        else:  # _fit_multiclass: one seed per class, each the seed of its own generator
            pairs = []
            for seed in rng.randint(_sgd.MAX_INT, size=k):
                if model.shuffle:
                    own = np.random.RandomState(seed)
                    pairs.append((own.randint(1, _INT32_MAX), own.randint(_sgd.MAX_INT)))
                else:  # unused without shuffling: skip making k generators per chunk
                    pairs.append((1, 0))
        if isinstance(state, numbers.Integral):
            self._seed_memo[memo] = pairs
        return pairs


def _one_vs_rest(positive: np.ndarray, negative: float) -> np.ndarray:
    """``_prepare_fit_binary``'s target: 1 where ``positive``, else ``negative``."""
    target = np.ones(positive.shape, dtype=np.float64)
    target[~positive] = negative
    return target


def same_state(model, reference) -> bool:
    """The learned state of two SGD models is identical, bit for bit.

    >>> import numpy as np
    >>> from sklearn.linear_model import SGDRegressor
    >>> X = np.eye(3); y = np.arange(3.0)
    >>> a = SGDRegressor(random_state=0).partial_fit(X, y)
    >>> same_state(a, SGDRegressor(random_state=0).partial_fit(X, y))
    True
    >>> same_state(a, SGDRegressor(random_state=0, alpha=1.0).partial_fit(X, y))
    False
    """
    for name in ("coef_", "intercept_", "t_", "_average_coef", "_average_intercept"):
        a, b = getattr(model, name, None), getattr(reference, name, None)
        if (a is None) != (b is None):
            return False
        if a is not None and not np.array_equal(np.asarray(a), np.asarray(b)):
            return False
    return True
