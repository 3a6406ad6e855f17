"""The fast path's refusals, and its first-call checks catching a different update or
prediction (``streamlab.learn.fastpath``)."""

from __future__ import annotations

import functools
import types

import numpy as np
import pytest
import sklearn
from fastpath_support import (
    Case,
    N,
    _binary,
    _fitted,
    _learn_both,
    _naive_bayes,
    _pair,
    assert_same_state,
    chunks,
    same_rng,
    unchecked,  # noqa: F401 (an autouse fixture)
)
from sklearn.linear_model import Perceptron, SGDClassifier, SGDRegressor

from streamlab.learn import fastpath, sklearn_private
from streamlab.learn.fastpath import SGDFastPath, fast_path


# -- 2. refusals -----------------------------------------------------------------------------
class SubSGD(SGDClassifier):
    pass


def _early_stopping():
    X, y, _ = _binary()
    return SGDClassifier(early_stopping=True, max_iter=3, tol=None, random_state=0).fit(X, y)


def _replaced(name):
    def make():
        model = _fitted(SGDClassifier(loss="log_loss", random_state=0))
        original = getattr(model, name)

        def wrapper(*args, **kwargs):
            return original(*args, **kwargs)

        setattr(model, name, wrapper)
        return model

    return make


REFUSALS = {
    "unfitted": (lambda: SGDClassifier(), "has not been fitted yet"),
    "unfitted regressor": (lambda: SGDRegressor(), "has not been fitted yet"),
    "average=True": (
        lambda: _fitted(SGDClassifier(average=True, random_state=0)),
        "average=True (the fast path mirrors plain SGD",
    ),
    "average=10": (lambda: _fitted(SGDRegressor(average=10, random_state=0)), "average=10"),
    "early_stopping": (_early_stopping, "early_stopping=True"),
    "early_stopping set later": (
        lambda: _fitted(SGDRegressor(random_state=0)).set_params(early_stopping=True),
        "early_stopping=True",
    ),
    "float32": (
        lambda: _fitted(SGDClassifier(random_state=0), dtype=np.float32),
        "holds float32 coefficients",
    ),
    "float32 perceptron": (
        lambda: _fitted(Perceptron(random_state=0), dtype=np.float32),
        "holds float32 coefficients",
    ),
    "subclass": (
        lambda: _fitted(SubSGD(random_state=0)),
        "SubSGD is not one of SGDClassifier, Perceptron, SGDRegressor",
    ),
    "MultinomialNB": (
        _naive_bayes,
        "MultinomialNB is not one of SGDClassifier, Perceptron, SGDRegressor",
    ),
    "partial_fit replaced": (_replaced("partial_fit"), "partial_fit is replaced on this model"),
    "predict replaced": (_replaced("predict"), "predict is replaced on this model"),
    "predict_proba replaced": (_replaced("predict_proba"), "predict_proba is replaced"),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_refusals_say_why(name):
    make, why = REFUSALS[name]
    model = make()
    fast, reason = fast_path(model)
    assert fast is None
    assert why in reason
    assert not fastpath._CHECKED


def test_a_plain_fitted_model_is_accepted():
    for model in (
        SGDClassifier(random_state=0),
        Perceptron(random_state=0),
        SGDRegressor(random_state=0),
    ):
        fast, reason = fast_path(_fitted(model))
        assert reason is None and isinstance(fast, SGDFastPath)
        assert fast.active and not fast.checked and fast.model is model


# -- 3. the learning check catching a difference ---------------------------------------------
def perturb_fast_sgd(monkeypatch) -> list:
    """The fast path's ``_plain_sgd64`` (only) returns a slightly different intercept.

    Not ``monkeypatch.setattr(sklearn_private._sgd, "_plain_sgd64", ...)``: scikit-learn's
    ``fit_binary`` / ``_fit_regressor`` look ``_plain_sgd64`` up in that same module at call
    time, so the public reference would be perturbed identically and there would be no
    difference to catch. The fast path gets its own view of the module instead."""
    calls = []
    real = sklearn_private._sgd._plain_sgd64

    @functools.wraps(real)
    def perturbed(*args, **kwargs):
        calls.append(1)
        coef, intercept, average_coef, average_intercept, n_iter = real(*args, **kwargs)
        return coef, intercept + 1e-9, average_coef, average_intercept, n_iter

    view = types.ModuleType(sklearn_private._sgd.__name__)
    view.__dict__.update(vars(sklearn_private._sgd))
    view._plain_sgd64 = perturbed
    monkeypatch.setattr(sklearn_private, "_sgd", view)
    return calls


KINDS = {
    "binary, random_state=None": Case(SGDClassifier, "2-int", random_state=None),
    "multiclass, sparse": Case(SGDClassifier, "4-str", "sparse", params=dict(loss="log_loss")),
    "regressor, RandomState": Case(SGDRegressor, "reg", random_state="rs"),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_check_catches_a_different_update(monkeypatch, kind):
    case = KINDS[kind]
    calls = perturb_fast_sgd(monkeypatch)
    model, twin, X, y, _ = _pair(case)
    fast, reason = fast_path(model)
    assert reason is None

    (a, b), *rest = list(chunks())[3:]
    after_fast, after_public = _learn_both(fast, twin, X, y, a, b)
    assert calls, "the fast update was not even tried"
    assert_same_state(model, twin)  # the model took the public result
    assert same_rng(after_fast, after_public)
    assert not fast.active and not fast.checked
    assert "differed from partial_fit" in fast.reason
    assert sklearn.__version__ in fast.reason
    assert list(fastpath._CHECKED.values()) == [fast.reason]

    tried = len(calls)
    for a, b in rest:  # from now on: the public path, and the same result
        _learn_both(fast, twin, X, y, a, b)
        assert_same_state(model, twin)
    X_eval = X[N:]
    assert np.array_equal(fast.predict(X_eval), twin.predict(X_eval))
    assert len(calls) == tried

    # a fresh model of the same kind is refused from the cached verdict, without a check
    model2, twin2, *_ = _pair(case)
    fast2, reason2 = fast_path(model2)
    assert reason2 is None
    a, b = list(chunks())[5]
    _learn_both(fast2, twin2, X, y, a, b)
    assert len(calls) == tried  # the fast update was not run again
    assert not fast2.active and fast2.reason == fast.reason
    assert len(fastpath._CHECKED) == 1
    assert_same_state(model2, twin2)


@pytest.mark.parametrize("data", ["dense", "sparse"])
def test_check_catches_a_failing_update(monkeypatch, data):
    name = "ArrayDataset64" if data == "dense" else "CSRDataset64"

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    # scikit-learn's make_dataset uses its own imported names: only the fast path fails
    monkeypatch.setattr(sklearn_private._seq, name, boom)
    case = Case(SGDClassifier, "3-int", data, random_state=None, params=dict(shuffle=True))
    model, twin, X, y, _ = _pair(case)
    fast, _ = fast_path(model)
    a, b = list(chunks())[4]
    after_fast, after_public = _learn_both(fast, twin, X, y, a, b)
    assert "the fast update failed (RuntimeError: boom)" in fast.reason
    assert not fast.active
    assert_same_state(model, twin)
    assert same_rng(after_fast, after_public)
    for a, b in list(chunks())[5:]:
        _learn_both(fast, twin, X, y, a, b)
        assert_same_state(model, twin)


# -- 4. the prediction check -----------------------------------------------------------------
@pytest.mark.parametrize("task", ["2-int", "4-str"])
def test_prediction_check_catches_a_different_proba(monkeypatch, task):
    real = fastpath.expit
    monkeypatch.setattr(fastpath, "expit", lambda z: real(z) + 1e-9)
    case = Case(SGDClassifier, task, params=dict(loss="log_loss"))
    model, twin, X, y, _ = _pair(case)
    fast, _ = fast_path(model)
    X_eval = X[N:]
    proba = fast.predict_proba(X_eval)
    assert np.array_equal(proba, twin.predict_proba(X_eval))
    assert not fast.active
    assert "the fast prediction differed from predict_proba" in fast.reason
    for a, b in chunks():  # off: public learning and prediction, equal to the twin's
        fast.partial_fit(X[a:b], y[a:b])
        twin.partial_fit(X[a:b], y[a:b])
        assert_same_state(model, twin)
        assert np.array_equal(fast.predict_proba(X_eval), twin.predict_proba(X_eval))
        assert np.array_equal(fast.predict(X_eval), twin.predict(X_eval))
    # the next model of this kind trusts the cached verdict: public from its first call
    model2, twin2, *_ = _pair(case)
    fast2, _ = fast_path(model2)
    assert np.array_equal(fast2.predict_proba(X_eval), twin2.predict_proba(X_eval))
    assert not fast2.active and fast2.reason == fast.reason


@pytest.mark.parametrize(
    ("case", "method"),
    [
        (Case(SGDRegressor, "reg"), "predict"),
        (Case(Perceptron, "3-int"), "predict"),
        (Case(SGDClassifier, "2-str", params=dict(loss="hinge")), "predict_index"),
    ],
    ids=["regressor", "perceptron", "predict_index"],
)
def test_prediction_check_catches_a_different_prediction(monkeypatch, case, method):
    real = SGDFastPath.decision

    def shifted(self, X):  # the (first) class's score moves: some predictions change
        scores = real(self, X).copy()
        if scores.ndim == 2:
            scores[:, 0] += 3.0
        else:
            scores += 3.0
        return scores

    monkeypatch.setattr(SGDFastPath, "decision", shifted)
    model, twin, X, *_ = _pair(case)
    fast, _ = fast_path(model)
    X_eval = X[N:]
    got = getattr(fast, method)(X_eval)
    expected = twin.predict(X_eval)
    if method == "predict_index":
        expected = np.searchsorted(twin.classes_, expected)
    assert np.array_equal(got, expected)
    assert not fast.active
    assert "the fast prediction differed from predict;" in fast.reason
    assert np.array_equal(fast.predict(X_eval), twin.predict(X_eval))
