"""Every setting of an SGD model either sends it to the public path (with the reason) or is
proved identical on the fast path, and has its own check (``SGDFastPath._key``)."""

from __future__ import annotations

import numpy as np
import pytest
from fastpath_support import (
    FIRST,
    Case,
    N,
    _learn_both,
    _pair,
    assert_same_state,
    unchecked,  # noqa: F401 (an autouse fixture)
)
from sklearn.linear_model import Perceptron, SGDClassifier, SGDRegressor

from streamlab.learn import fastpath
from streamlab.learn.fastpath import SGDFastPath, fast_path, status


class Refused:
    """A setting the fast path does not mirror: set on a fitted model, it is refused."""

    def __init__(self, why: str, **params) -> None:
        self.why, self.params = why, params


SHARED = {  # SGDClassifier, Perceptron and SGDRegressor
    "alpha": [dict(alpha=1e-2)],
    "penalty": [dict(penalty="l1"), dict(penalty="elasticnet"), dict(penalty=None)],
    "l1_ratio": [dict(penalty="elasticnet", l1_ratio=0.8)],
    "fit_intercept": [dict(fit_intercept=False)],
    "max_iter": [dict(max_iter=3)],  # fit's, not partial_fit's
    "tol": [dict(tol=None)],
    "shuffle": [dict(shuffle=False)],
    "random_state": [dict(random_state=None), dict(random_state="rs")],
    "eta0": [dict(eta0=0.3)],
    "validation_fraction": [dict(validation_fraction=0.3)],
    "n_iter_no_change": [dict(n_iter_no_change=2)],
    "warm_start": [dict(warm_start=True)],
    "verbose": [Refused("verbose=1 (the fast path does not print", verbose=1)],
    "early_stopping": [Refused("early_stopping=True", early_stopping=True)],
}
SGD = {  # SGDClassifier and SGDRegressor
    "eta0": [dict(learning_rate="constant", eta0=0.3)],
    "power_t": [dict(learning_rate="invscaling", eta0=0.1, power_t=0.4)],
    "average": [Refused("average=True", average=True), Refused("average=5", average=5)],
}
CLASSES = {
    "n_jobs": [dict(n_jobs=2)],
    "class_weight": [dict(class_weight={7: 3.0})],  # "balanced": test_fastpath_inputs
}
LOSSES = ["log_loss", "modified_huber", "squared_hinge", "perceptron"]
REG_LOSSES = ["squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"]
RATES = ["constant", "invscaling", "adaptive"]  # optimal: the default
VARIANTS = {
    SGDClassifier: {
        **SHARED,
        **SGD,
        **CLASSES,
        "loss": [dict(loss=v) for v in LOSSES + REG_LOSSES],
        "epsilon": [dict(loss="huber", epsilon=0.5)],
        "learning_rate": [dict(learning_rate=v, eta0=0.05) for v in [*RATES, "pa1", "pa2"]],
    },
    Perceptron: {**SHARED, **CLASSES, "penalty": [dict(penalty=v) for v in ("l2", "l1")]},
    SGDRegressor: {
        **SHARED,
        **SGD,
        "loss": [dict(loss=v) for v in REG_LOSSES[1:]],
        "epsilon": [dict(loss="epsilon_insensitive", epsilon=0.05)],
        "learning_rate": [
            dict(learning_rate=v, eta0=0.05) for v in ("constant", "optimal", "adaptive")
        ],
    },
}
TASKS = {SGDClassifier: "3-int", Perceptron: "2-int", SGDRegressor: "reg"}


def test_the_variants_cover_every_setting_of_each_class():
    """A setting a new scikit-learn adds fails here until it is added above (and the fast
    path checks it meanwhile: every constructor parameter is in the key)."""
    for cls, variants in VARIANTS.items():
        assert set(variants) == set(cls().get_params()), cls.__name__
        defaults = {**cls().get_params(), "random_state": 0}  # _case: 0 unless told
        for name, values in variants.items():
            for value in values:
                params = value.params if isinstance(value, Refused) else value
                assert params.get(name, "?") != defaults[name], (cls.__name__, name, value)


def _case(cls, params: dict, data: str = "dense") -> Case:
    params = dict(params)
    random_state = params.pop("random_state", 0)
    return Case(cls, TASKS[cls], data, random_state=random_state, params=params)


def _cases():
    for cls, variants in VARIANTS.items():
        for name, values in variants.items():
            for i, value in enumerate(values):
                yield pytest.param(cls, name, value, id=f"{cls.__name__}-{name}-{i}")


def _stream(case: Case, cuts) -> SGDFastPath:
    """Learn the cuts by the fast path and by the public twin, equal after every cut."""
    model, twin, X, y, _ = _pair(case)
    fast, reason = fast_path(model)
    assert reason is None and status(model) == "fast"
    X_eval, start = X[N:], model.coef_.copy()
    a = FIRST
    for size in cuts:
        b = a + size
        _learn_both(fast, twin, X, y, a, b)
        assert fast.active, fast.reason
        np.testing.assert_array_equal(model.coef_, twin.coef_)
        np.testing.assert_array_equal(model.intercept_, twin.intercept_)
        assert_same_state(model, twin)
        np.testing.assert_array_equal(fast.predict(X_eval), twin.predict(X_eval))
        a = b
    assert a > FIRST + 20 and not np.array_equal(model.coef_, start)  # it learned
    return fast


@pytest.mark.parametrize(("cls", "name", "value"), list(_cases()))
def test_each_setting_is_refused_or_identical_with_its_own_check(cls, name, value):
    if isinstance(value, Refused):
        model, *_ = _pair(_case(cls, {}))
        model.set_params(**value.params)
        fast, reason = fast_path(model)
        assert fast is None and reason.startswith(value.why)
        assert status(model) == f"public: {reason}"
        return
    fast = _stream(_case(cls, value), (1, 2, 5, 1, 17, 3, 40, 9))
    updates = [v for k, v in fastpath._CHECKED.items() if k[1] == "partial_fit"]
    assert fast.checked and updates == [None]
    default, *_ = _pair(_case(cls, {}))
    X = np.zeros((1, default.coef_.shape[-1]))
    assert fast._key(X, "partial_fit") != SGDFastPath(default)._key(X, "partial_fit"), name


def _combination(rng, cls) -> dict:
    """Two to four identical-by-test settings of ``cls``, drawn at random."""
    names = [n for n, vs in VARIANTS[cls].items() if not isinstance(vs[0], Refused)]
    params: dict = {}
    for name in rng.choice(names, size=rng.integers(2, 5), replace=False):
        values = [v for v in VARIANTS[cls][name] if not isinstance(v, Refused)]
        params.update(values[rng.integers(len(values))])
    return params


@pytest.mark.parametrize("seed", range(12))
def test_random_settings_and_batch_cuts_are_identical(seed):
    """Random combinations of settings, dense or CSR, over random cuts of 1 to 40 rows."""
    rng = np.random.default_rng(seed)
    cls = [SGDClassifier, Perceptron, SGDRegressor][seed % 3]
    params = _combination(rng, cls)
    cuts = []
    while sum(cuts) < N - FIRST - 40:
        cuts.append(int(rng.integers(1, 41)))
    _stream(_case(cls, params, ["dense", "sparse"][int(rng.integers(2))]), cuts)
