"""The checked fast path for scikit-learn's SGD models (``streamlab.learn.fastpath``).

scikit-learn's public methods are the reference throughout: a model learning through the fast
path must hold the same coefficients, intercepts and ``t_`` (bit for bit) as its twin learning
through ``partial_fit``, and predict the same. Also: the refusals, the first-call check catching
a difference (and caching its verdict), inputs left to the public methods, a missing private
name, and ``Prequential`` giving identical output with and without the fast path."""

from __future__ import annotations

import copy
import functools
import math
import types
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.datasets import load_diabetes, load_digits
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import Perceptron, SGDClassifier, SGDRegressor
from sklearn.naive_bayes import MultinomialNB

import streamlab.learn.prequential
from streamlab.learn import Prequential, RunningScaler, fastpath
from streamlab.learn.fastpath import SGDFastPath, fast_path

SIZES = (1, 1, 2, 3, 7, 20, 64, 5, 33)  # chunks after the first (public) partial_fit
FIRST = 6  # rows of the first partial_fit
N = FIRST + sum(SIZES)
N_EVAL = 25  # rows predicted after every chunk (never learned)
WIDTH = 6
GLOBAL_SEED = 1234  # numpy's global generator, for random_state=None
VOCAB = [f"w{i}" for i in range(40)]


@pytest.fixture(autouse=True)
def unchecked():
    """Every test starts (and leaves) with no check cached in this process."""
    fastpath._CHECKED.clear()
    fastpath._internals.cache_clear()
    yield
    fastpath._CHECKED.clear()
    fastpath._internals.cache_clear()


# -- data ------------------------------------------------------------------------------------
def labels_for(n_classes: int, kind: str) -> np.ndarray:
    if kind == "str":
        return np.array(["ant", "bee", "cat", "dog", "eel"][:n_classes])
    return np.array([3, 7, 11, 19, 23][:n_classes])


def make_data(task: str, data: str, seed: int = 0):
    """``(X, y, classes)``: N learned rows then N_EVAL rows to predict. ``task`` is
    ``"reg"`` or ``"<n classes>-<int|str>"``; ``data`` is ``"dense"`` or ``"sparse"`` (CSR
    from HashingVectorizer on short texts: float64 data, int32 indices)."""
    rng = np.random.default_rng(seed)
    n = N + N_EVAL
    if data == "dense":
        X = rng.normal(size=(n, WIDTH))
    else:
        words = rng.choice(VOCAB, size=(n, 4))
        texts = [" ".join(row) for row in words]
        X = HashingVectorizer(n_features=2**7).transform(texts)
    if task == "reg":
        w = rng.normal(size=X.shape[1])
        y = np.asarray(X @ w).ravel() + 0.1 * rng.normal(size=n) + 0.5
        return X, np.ascontiguousarray(y), None
    k, kind = task.split("-")
    classes = labels_for(int(k), kind)
    W = rng.normal(size=(X.shape[1], len(classes)))
    score = np.asarray(X @ W) + 0.3 * rng.normal(size=(n, len(classes)))
    y = classes[score.argmax(axis=1)]
    return X, y, classes


def chunks():
    a = FIRST
    for size in SIZES:
        yield a, a + size
        a += size


# -- helpers ---------------------------------------------------------------------------------
def state(model) -> tuple:
    return (model.coef_.copy(), model.intercept_.copy(), model.t_, model.n_iter_)


def assert_same_state(a, b) -> None:
    assert np.array_equal(a.coef_, b.coef_)
    assert np.array_equal(a.intercept_, b.intercept_)
    assert a.t_ == b.t_
    assert a.n_iter_ == b.n_iter_


def global_rng() -> tuple:
    name, key, pos, has_gauss, cached = np.random.get_state()
    return name, key.copy(), pos, has_gauss, cached


def same_rng(a: tuple, b: tuple) -> bool:
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2:] == b[2:]


def forbidden(*args, **kwargs):
    raise AssertionError("the public partial_fit was called where the fast path should learn")


def first_fit(model, X, y, classes):
    if classes is None:
        return model.partial_fit(X[:FIRST], y[:FIRST])
    return model.partial_fit(X[:FIRST], y[:FIRST], classes=list(classes))


# -- 1. equivalence over a stream of chunks --------------------------------------------------
@dataclass
class Case:
    cls: type
    task: str  # "reg" or "<n classes>-<int|str>"
    data: str = "dense"
    random_state: object = 0  # an int, None, or "rs" for a fresh np.random.RandomState(5)
    params: dict = field(default_factory=dict)

    def make(self):
        rs = np.random.RandomState(5) if self.random_state == "rs" else self.random_state
        return self.cls(random_state=rs, **self.params)

    def __str__(self) -> str:
        bits = [self.cls.__name__, self.task, self.data, f"rs={self.random_state}"]
        bits += [f"{k}={v}" for k, v in self.params.items()]
        return "-".join(map(str, bits))


CW = {7: 2.5, 3: 0.5}  # class_weight for int labels (3, 7, ...)
CW_STR = {"bee": 3.0}  # for string labels

CASES = [
    # SGDClassifier, binary
    Case(SGDClassifier, "2-int", params=dict(loss="log_loss")),
    Case(
        SGDClassifier,
        "2-int",
        random_state=None,
        params=dict(loss="hinge", penalty="l1", learning_rate="constant", eta0=0.05, shuffle=False),
    ),
    Case(
        SGDClassifier,
        "2-str",
        random_state="rs",
        params=dict(
            loss="modified_huber",
            penalty="elasticnet",
            l1_ratio=0.3,
            learning_rate="invscaling",
            eta0=0.1,
        ),
    ),
    Case(
        SGDClassifier,
        "2-str",
        "sparse",
        random_state=None,
        params=dict(loss="perceptron", learning_rate="adaptive", eta0=0.1, class_weight=CW_STR),
    ),
    Case(
        SGDClassifier,
        "2-int",
        "sparse",
        random_state="rs",
        params=dict(
            loss="log_loss",
            penalty="elasticnet",
            learning_rate="constant",
            eta0=0.02,
            shuffle=False,
            class_weight=CW,
        ),
    ),
    Case(
        SGDClassifier,
        "2-int",
        random_state=None,
        params=dict(loss="log_loss", penalty="l1", learning_rate="invscaling", eta0=0.2),
    ),
    Case(SGDClassifier, "2-int", params=dict(loss="hinge", fit_intercept=False, alpha=1e-3)),
    # SGDClassifier, 3 to 5 classes
    Case(SGDClassifier, "3-int", params=dict(loss="log_loss")),
    Case(
        SGDClassifier,
        "4-str",
        random_state=None,
        params=dict(loss="hinge", penalty="elasticnet", learning_rate="constant", eta0=0.03),
    ),
    Case(
        SGDClassifier,
        "5-int",
        "sparse",
        random_state="rs",
        params=dict(
            loss="modified_huber",
            penalty="l1",
            learning_rate="invscaling",
            eta0=0.1,
            shuffle=False,
        ),
    ),
    Case(
        SGDClassifier,
        "3-str",
        random_state=None,
        params=dict(
            loss="perceptron",
            learning_rate="adaptive",
            eta0=0.05,
            shuffle=False,
            class_weight=CW_STR,
        ),
    ),
    Case(
        SGDClassifier,
        "4-int",
        "sparse",
        random_state="rs",
        params=dict(loss="log_loss", class_weight=CW),
    ),
    Case(SGDClassifier, "3-str", "sparse", random_state=None, params=dict(loss="log_loss")),
    Case(SGDClassifier, "4-int", params=dict(loss="log_loss", shuffle=False)),
    Case(SGDClassifier, "3-int", params=dict(loss="log_loss", n_jobs=2)),
    Case(SGDClassifier, "3-int", params=dict(loss="hinge", learning_rate="pa1", eta0=0.5)),
    # Perceptron
    Case(Perceptron, "2-int"),
    Case(Perceptron, "4-str", "sparse", random_state=None, params=dict(penalty="l1", alpha=1e-3)),
    Case(
        Perceptron,
        "3-int",
        random_state="rs",
        params=dict(penalty="elasticnet", shuffle=False, class_weight=CW),
    ),
    # SGDRegressor
    Case(SGDRegressor, "reg"),
    Case(
        SGDRegressor,
        "reg",
        "sparse",
        random_state=None,
        params=dict(loss="huber", penalty="l1", learning_rate="constant", eta0=0.05, shuffle=False),
    ),
    Case(
        SGDRegressor,
        "reg",
        random_state="rs",
        params=dict(
            loss="epsilon_insensitive",
            epsilon=0.05,
            penalty="elasticnet",
            learning_rate="adaptive",
        ),
    ),
    Case(
        SGDRegressor,
        "reg",
        random_state=None,
        params=dict(learning_rate="optimal", alpha=1e-3, fit_intercept=False),
    ),
    Case(SGDRegressor, "reg", "sparse", params=dict(loss="squared_epsilon_insensitive")),
]


def predictions(model, fast, X) -> dict:
    """What the model predicts for X: through the fast path if ``fast`` is given, else
    through scikit-learn's public methods."""
    if isinstance(model, SGDRegressor):
        if fast is None:
            return {"predict": model.predict(X), "decision": model.predict(X)}
        return {"predict": fast.predict(X), "decision": fast.decision(X)}
    out = {}
    if hasattr(model, "predict_proba"):  # log_loss and modified_huber
        out["proba"] = (fast or model).predict_proba(X)
    if fast is None:
        out["predict"] = model.predict(X)
        out["index"] = np.searchsorted(model.classes_, model.predict(X))
        out["decision"] = model.decision_function(X)
    else:
        out["predict"] = fast.predict(X)
        out["index"] = fast.predict_index(X)
        out["decision"] = fast.decision(X)
    return out


def run_stream(case: Case, X, y, classes, *, fast: bool):
    """Learn the chunks (fast path or public ``partial_fit``), recording the state and the
    predictions of the evaluation rows after every chunk."""
    if case.random_state is None:
        np.random.seed(GLOBAL_SEED)
    model = first_fit(case.make(), X, y, classes)
    path = None
    if fast:
        path, reason = fast_path(model)
        assert reason is None and path is not None
    X_eval = X[N:]
    records = []
    for a, b in chunks():
        if fast:
            path.partial_fit(X[a:b], y[a:b])
            assert path.checked and path.active, path.reason
            model.partial_fit = forbidden  # from now on every update is the fast one
        else:
            model.partial_fit(X[a:b], y[a:b])
        records.append((state(model), predictions(model, path, X_eval)))
    return records, path, global_rng()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_fast_path_matches_partial_fit_bit_for_bit(case):
    X, y, classes = make_data(case.task, case.data)
    fast_records, path, fast_rng = run_stream(case, X, y, classes, fast=True)
    public_records, _, public_rng = run_stream(case, X, y, classes, fast=False)
    assert len(fast_records) == len(public_records) == len(SIZES)
    for i, ((fs, fp), (ps, pp)) in enumerate(zip(fast_records, public_records, strict=True)):
        where = f"after chunk {i} ({SIZES[i]} rows)"
        assert np.array_equal(fs[0], ps[0]), f"coef_ {where}"
        assert np.array_equal(fs[1], ps[1]), f"intercept_ {where}"
        assert fs[2] == ps[2], f"t_ {where}"
        assert fs[3] == ps[3], f"n_iter_ {where}"
        assert fp.keys() == pp.keys()
        for name in fp:
            assert np.array_equal(fp[name], pp[name]), f"{name} {where}"
    # the fast path served every call, and its checks passed
    assert path.active and path.checked and path.reason is None
    assert fastpath._CHECKED and all(v is None for v in fastpath._CHECKED.values())
    # and the models did learn something (the comparison is not between two frozen models)
    assert not np.array_equal(fast_records[0][0][0], fast_records[-1][0][0])
    if case.random_state is None:  # the fast path took the same draws from numpy's generator
        assert same_rng(fast_rng, public_rng)
        np.random.seed(GLOBAL_SEED)
        assert not same_rng(global_rng(), public_rng)  # (it was drawn from at all)


def test_a_second_model_of_a_checked_kind_is_fast_at_once():
    X, y, classes = make_data("3-int", "dense")
    first = first_fit(SGDClassifier(loss="log_loss", random_state=0), X, y, classes)
    fast, _ = fast_path(first)
    fast.partial_fit(X[FIRST : FIRST + 5], y[FIRST : FIRST + 5])
    assert fast.checked and len(fastpath._CHECKED) == 1

    model = first_fit(SGDClassifier(loss="log_loss", random_state=0, alpha=1e-3), X, y, classes)
    twin = copy.deepcopy(model)
    fast2, reason = fast_path(model)
    assert reason is None
    model.partial_fit = forbidden  # neither a check (on a copy) nor a fallback may call it
    for a, b in chunks():
        fast2.partial_fit(X[a:b], y[a:b])
        twin.partial_fit(X[a:b], y[a:b])
        assert_same_state(model, twin)
    assert fast2.checked and fast2.active and len(fastpath._CHECKED) == 1


# -- 2. refusals -----------------------------------------------------------------------------
class SubSGD(SGDClassifier):
    pass


def _binary():
    X, y, classes = make_data("2-int", "dense")
    return X, y, list(classes)


def _fitted(model, *, dtype=np.float64):
    X, y, classes = _binary()
    X = X.astype(dtype)
    if isinstance(model, SGDRegressor):
        return model.partial_fit(X[:20], X[:20, 0] + 1.0)
    return model.partial_fit(X[:20], y[:20], classes=classes)


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


def _naive_bayes():
    X, y, classes = _binary()
    return MultinomialNB().partial_fit(np.abs(X[:20]), y[:20], classes=classes)


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

    Not ``monkeypatch.setattr(fastpath._sgd, "_plain_sgd64", ...)``: scikit-learn's
    ``fit_binary`` / ``_fit_regressor`` look ``_plain_sgd64`` up in that same module at call
    time, so the public reference would be perturbed identically and there would be no
    difference to catch. The fast path gets its own view of the module instead."""
    calls = []
    real = fastpath._sgd._plain_sgd64

    @functools.wraps(real)
    def perturbed(*args):
        calls.append(1)
        coef, intercept, average_coef, average_intercept, n_iter = real(*args)
        return coef, intercept + 1e-9, average_coef, average_intercept, n_iter

    view = types.ModuleType(fastpath._sgd.__name__)
    view.__dict__.update(vars(fastpath._sgd))
    view._plain_sgd64 = perturbed
    monkeypatch.setattr(fastpath, "_sgd", view)
    return calls


KINDS = {
    "binary, random_state=None": Case(SGDClassifier, "2-int", random_state=None),
    "multiclass, sparse": Case(SGDClassifier, "4-str", "sparse", params=dict(loss="log_loss")),
    "regressor, RandomState": Case(SGDRegressor, "reg", random_state="rs"),
}


def _pair(case: Case):
    """The fitted model and its public twin, and the data."""
    X, y, classes = make_data(case.task, case.data)
    if case.random_state is None:
        np.random.seed(GLOBAL_SEED)
    model = first_fit(case.make(), X, y, classes)
    return model, copy.deepcopy(model), X, y, classes


def _learn_both(fast, twin, X, y, a, b):
    """One chunk by the fast path and by the twin's partial_fit, each from the same state of
    numpy's global generator (random_state=None); returns the two states after."""
    np.random.seed(1000 + a)
    fast.partial_fit(X[a:b], y[a:b])
    after_fast = global_rng()
    np.random.seed(1000 + a)
    twin.partial_fit(X[a:b], y[a:b])
    return after_fast, global_rng()


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
    monkeypatch.setattr(fastpath._seq, name, boom)
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


# -- 5. inputs the fast path does not mirror --------------------------------------------------
def outcome(call, *args):
    """``("ok", result)`` or ``("error", type, message)``: compares how two calls ended."""
    try:
        return "ok", call(*args)
    except (TypeError, ValueError) as exc:
        return "error", type(exc), str(exc)


def same_outcome(a, b) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "error":
        return a == b
    return a[1] is None or np.array_equal(np.asarray(a[1]), np.asarray(b[1]))


def csr_int64(X):
    S = sp.csr_matrix(X)
    S.indices = S.indices.astype(np.int64)
    S.indptr = S.indptr.astype(np.int64)
    return S


UNMIRRORED = {  # in the order of the chunks (1, 1, 2, 3 ... rows): fortran needs two rows
    "float32": lambda X: X.astype(np.float32),
    "list": lambda X: X.tolist(),
    "fortran": np.asfortranarray,
    "strided": lambda X: np.repeat(X, 2, axis=1)[:, ::2],
    "csr int64 indices": csr_int64,
    "csr float32": lambda X: sp.csr_matrix(X, dtype=np.float32),
    "csc": sp.csc_matrix,
    "wrong width": lambda X: X[:, :-1].copy(),
}


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_inputs_not_mirrored_go_to_the_public_methods(kind):
    case = (
        Case(SGDClassifier, "3-int", params=dict(loss="log_loss"))
        if kind == "classifier"
        else Case(SGDRegressor, "reg")
    )
    model, twin, X, y, _ = _pair(case)
    fast, _ = fast_path(model)
    X_eval = X[N:]
    spans = list(chunks())
    for i, (name, convert) in enumerate(UNMIRRORED.items()):
        a, b = spans[i]
        Xc, Xe = convert(X[a:b]), convert(X_eval)
        assert not fast._mirrors(Xc), name
        for method in ("predict", "predict_proba"):
            if hasattr(twin, method):
                got = outcome(getattr(fast, method), Xe)
                want = outcome(getattr(twin, method), Xe)
                assert same_outcome(got, want), (name, method, got, want)
        if kind == "classifier":
            got = outcome(fast.predict_index, Xe)
            want = outcome(lambda Z: np.searchsorted(twin.classes_, twin.predict(Z)), Xe)
            assert same_outcome(got, want), (name, got, want)
        got = outcome(fast.partial_fit, Xc, y[a:b])
        want = outcome(twin.partial_fit, Xc, y[a:b])
        assert got[0] == want[0], (name, got, want)
        if got[0] == "error":
            assert got == want, name
        assert_same_state(model, twin)
        # unmirrored calls neither consume nor fail the checks
        assert not fastpath._CHECKED and not fast.checked and fast.active, name
    # the first mirrored call is then checked, and fast from there on
    for a, b in spans[len(UNMIRRORED) :]:
        fast.partial_fit(X[a:b], y[a:b])
        twin.partial_fit(X[a:b], y[a:b])
        assert_same_state(model, twin)
    assert fast.checked and fast.active and fastpath._CHECKED


def test_some_unmirrored_inputs_fail_like_the_public_method():
    """CSR with int64 indices and the wrong width are errors of scikit-learn's own
    partial_fit: the fast path gives the same error (and does not count it as a check)."""
    model, twin, X, y, _ = _pair(Case(SGDClassifier, "2-int"))
    fast, _ = fast_path(model)
    for convert in (UNMIRRORED["csr int64 indices"], UNMIRRORED["wrong width"]):
        Xc = convert(X[10:20])
        got = outcome(fast.partial_fit, Xc, y[10:20])
        want = outcome(twin.partial_fit, Xc, y[10:20])
        assert got[0] == "error" and got == want
        assert not fastpath._CHECKED and fast.active and not fast.checked


# -- 6. scikit-learn's internals -------------------------------------------------------------
def test_internals_of_this_scikit_learn_are_the_mirrored_ones():
    assert fastpath._internals() is None


def _delete(owner, name):
    def apply(monkeypatch):
        monkeypatch.delattr(owner, name)

    return apply


def _other_signature(monkeypatch):
    def _plain_sgd64(weights, intercept, loss):  # pragma: no cover - never called
        raise AssertionError

    monkeypatch.setattr(fastpath._sgd, "_plain_sgd64", _plain_sgd64)


V = sklearn.__version__
INTERNALS = {
    "dataset class": (
        _delete(fastpath._seq, "CSRDataset64"),
        f"scikit-learn {V} has no sklearn.utils._seq_dataset.CSRDataset64",
    ),
    "constant": (
        _delete(fastpath._base, "SPARSE_INTERCEPT_DECAY"),
        f"scikit-learn {V} has no sklearn.linear_model._base.SPARSE_INTERCEPT_DECAY",
    ),
    "sgd routine": (
        _delete(fastpath._sgd, "_plain_sgd64"),
        f"scikit-learn {V} has no sklearn.linear_model._stochastic_gradient._plain_sgd64",
    ),
    "signature": (
        _other_signature,
        f"scikit-learn {V}: _plain_sgd64 takes other arguments than mirrored",
    ),
    "helper": (
        _delete(fastpath._sgd.BaseSGD, "_get_l1_ratio"),
        f"scikit-learn {V}: SGDClassifier has no _get_l1_ratio",
    ),
}


@pytest.mark.parametrize("name", list(INTERNALS))
def test_missing_internals_refuse_every_model(monkeypatch, name):
    models = [
        _fitted(SGDClassifier(random_state=0)),
        _fitted(Perceptron(random_state=0)),
        _fitted(SGDRegressor(random_state=0)),
    ]
    fastpath._internals.cache_clear()  # computed afresh, then cached
    breaks, why = INTERNALS[name]
    breaks(monkeypatch)
    assert fastpath._internals() == why
    for model in models:
        assert fast_path(model) == (None, why)
    cached = fastpath._internals.cache_info()
    assert cached.currsize == 1 and cached.misses == 1 and cached.hits == len(models)
    # a model of another class is still refused for its class first
    assert "MultinomialNB is not one of" in fast_path(_naive_bayes())[1]


# -- 7. Prequential with and without the fast path --------------------------------------------
def digits_batches():
    frame = load_digits(as_frame=True).frame.rename(columns={"target": "y"})
    return [frame.iloc[i : i + 200] for i in range(0, len(frame), 200)], sorted(
        frame["y"].unique().tolist()
    )


def diabetes_batches():
    frame = load_diabetes(as_frame=True).frame.rename(columns={"target": "y"})
    return [frame.iloc[i : i + 100] for i in range(0, len(frame), 100)]


def prequential(estimator, batches, *, seed=None, scale=False, **kwargs):
    if seed is not None:
        np.random.seed(seed)
    transform = RunningScaler() if scale else None  # a fresh one: it learns too
    p = Prequential(estimator, target="y", transform=transform, **kwargs)
    out = []
    for batch in batches:
        scored, dead = p.update(batch)
        assert dead is None
        out.append(scored)
    return p, pd.concat(out)


def same_metrics(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (math.isnan(a[k]) and math.isnan(b[k])) if math.isnan(a[k]) else a[k] == b[k] for k in a
    )


def off(monkeypatch):
    monkeypatch.setattr(
        streamlab.learn.prequential, "fast_path", lambda m: (None, "off for the test")
    )


def run_both(monkeypatch, make, batches, seed=None, **kwargs):
    p_fast, out_fast = prequential(make(), batches, seed=seed, **kwargs)
    with monkeypatch.context() as m:
        off(m)
        p_slow, out_slow = prequential(make(), batches, seed=seed, **kwargs)
    assert p_slow.fast is None and p_slow.fast_reason == "off for the test"
    return p_fast, out_fast, p_slow, out_slow


CLASSIFIERS = {
    "log_loss": (lambda: SGDClassifier(loss="log_loss", random_state=0), True, None),
    "perceptron": (lambda: Perceptron(random_state=0), False, None),
    "modified_huber, random_state=None": (
        lambda: SGDClassifier(loss="modified_huber"),
        True,
        99,
    ),
}


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_prequential_classification_is_the_same_with_the_fast_path(monkeypatch, name):
    make, has_proba, seed = CLASSIFIERS[name]
    batches, classes = digits_batches()
    p_fast, out_fast, p_slow, out_slow = run_both(
        monkeypatch, make, batches, seed, classes=classes, scale=True
    )
    assert p_fast.fast is not None and p_fast.fast_reason is None
    assert p_fast.fast.checked and p_fast.fast.active
    assert p_fast.fast.model is p_fast.model
    proba = [f"proba_{c}" for c in classes]
    cols = ["prediction", *proba] if has_proba else ["prediction"]
    assert all(c in out_fast.columns for c in cols)
    assert has_proba or not any(c in out_fast.columns for c in proba)
    pd.testing.assert_frame_equal(out_fast, out_slow, check_exact=True)
    assert same_metrics(p_fast.metrics.get(), p_slow.metrics.get())
    assert p_fast.stats == p_slow.stats
    assert p_fast.stats.scored > 1500
    assert p_fast.metrics.get()["accuracy"] > 0.5  # it learned (chance: 0.1)
    assert_same_state(p_fast.model, p_slow.model)


@pytest.mark.parametrize(
    ("make", "seed"),
    [
        (lambda: SGDRegressor(random_state=0), None),
        (lambda: SGDRegressor(loss="huber", epsilon=10.0, eta0=0.05), 5),
    ],
    ids=["squared_error", "huber, random_state=None"],
)
def test_prequential_regression_is_the_same_with_the_fast_path(monkeypatch, make, seed):
    batches = diabetes_batches()
    p_fast, out_fast, p_slow, out_slow = run_both(monkeypatch, make, batches, seed, scale=True)
    assert p_fast.fast_reason is None and p_fast.fast.checked and p_fast.fast.active
    assert out_fast["prediction"].notna().sum() > 400
    pd.testing.assert_frame_equal(out_fast, out_slow, check_exact=True)
    assert same_metrics(p_fast.metrics.get(), p_slow.metrics.get())
    assert p_fast.stats == p_slow.stats
    assert_same_state(p_fast.model, p_slow.model)


def test_prequential_names_the_class_it_cannot_serve():
    batches, classes = digits_batches()
    p, out = prequential(MultinomialNB(), batches[:2], classes=classes)
    assert p.fast is None
    assert "MultinomialNB is not one of SGDClassifier, Perceptron, SGDRegressor" in p.fast_reason
    assert out["prediction"].notna().sum() > 300
    assert not fastpath._CHECKED


# -- 8. regressions: inputs and set-ups the first version got wrong ---------------------------
def test_a_strided_regression_target_is_learned_and_does_not_poison_the_cache():
    """``y`` a column of a 2-D array (not C-contiguous): the fast update makes it contiguous,
    so the check passes, and the next model of the kind is fast at once."""
    X, y, _ = make_data("reg", "dense")
    Y = np.column_stack([y, -y])  # Y[:, 0] is strided
    model = SGDRegressor(random_state=0).partial_fit(X[:FIRST], Y[:FIRST, 0])
    twin = copy.deepcopy(model)
    fast, _ = fast_path(model)
    spans = list(chunks())[3:]  # from 3 rows: a 1-row column would be contiguous
    for a, b in spans:
        assert not Y[a:b, 0].flags.c_contiguous
        fast.partial_fit(X[a:b], Y[a:b, 0])
        twin.partial_fit(X[a:b], Y[a:b, 0])
        assert fast.active and fast.reason is None, fast.reason
        assert_same_state(model, twin)
    assert fast.checked and list(fastpath._CHECKED.values()) == [None]

    model2 = SGDRegressor(random_state=0, alpha=1e-3).partial_fit(X[:FIRST], y[:FIRST])
    twin2 = copy.deepcopy(model2)
    fast2, _ = fast_path(model2)
    model2.partial_fit = forbidden  # the cached verdict is "identical": no public call
    for a, b in spans:
        fast2.partial_fit(X[a:b], Y[a:b, 0])
        twin2.partial_fit(X[a:b], Y[a:b, 0])
        assert_same_state(model2, twin2)
    assert fast2.active and fast2.checked


@pytest.mark.parametrize("task", ["2-str", "4-int"])
def test_a_label_outside_classes_fails_like_partial_fit(task):
    """On the first (checked) call and on later ones: scikit-learn's ValueError, nothing
    learned, the fast path still on."""
    model, twin, X, y, _ = _pair(Case(SGDClassifier, task))
    fast, _ = fast_path(model)
    unknown = "zzz" if task.endswith("str") else 99
    (a, b), (c, d), *rest = list(chunks())[4:]
    bad = y[a:b].copy()
    bad[2] = unknown
    for when in ("first call", "after the check"):
        with pytest.raises(ValueError, match="classes should include") as got:
            fast.partial_fit(X[a:b], bad)
        with pytest.raises(ValueError, match="classes should include") as want:
            twin.partial_fit(X[a:b], bad)
        assert str(got.value) == str(want.value), when
        assert_same_state(model, twin)
        assert fast.active and fast.reason is None, when
        if when == "first call":
            assert not fastpath._CHECKED and not fast.checked  # an error is not a check
            fast.partial_fit(X[c:d], y[c:d])  # the check, passed
            twin.partial_fit(X[c:d], y[c:d])
            assert fast.checked and fast.active
            assert_same_state(model, twin)
    model.partial_fit = forbidden  # good chunks are fast again
    for a, b in rest:
        fast.partial_fit(X[a:b], y[a:b])
        twin.partial_fit(X[a:b], y[a:b])
        assert_same_state(model, twin)


@pytest.mark.parametrize("perturbed", [False, True])
def test_a_csr_update_is_checked_after_a_dense_one(monkeypatch, perturbed):
    """The checks are per kind of call: a model whose first fast update was dense has its
    first CSR update checked (and a wrong CSR update is caught)."""
    if perturbed:  # the fast path's CSR dataset (only: make_dataset has its own name for it)
        real = fastpath._seq.CSRDataset64
        monkeypatch.setattr(
            fastpath._seq, "CSRDataset64", lambda data, *a, **k: real(data * 2.0, *a, **k)
        )
    model, twin, X, y, _ = _pair(Case(SGDClassifier, "2-int"))
    fast, _ = fast_path(model)
    spans = list(chunks())
    for a, b in spans[3:5]:  # dense: checked, passed
        fast.partial_fit(X[a:b], y[a:b])
        twin.partial_fit(X[a:b], y[a:b])
    assert fast.checked and fast.active
    assert_same_state(model, twin)
    for a, b in spans[5:]:
        S = sp.csr_matrix(X[a:b])
        fast.partial_fit(S, y[a:b])
        twin.partial_fit(S, y[a:b])
        assert_same_state(model, twin)  # perturbed: the model took the public result
    dense, csr = fast._key(X[:1], "partial_fit"), fast._key(S, "partial_fit")
    assert dense != csr and list(fastpath._CHECKED) == [dense, csr]
    if perturbed:
        assert not fast.active and "differed from partial_fit" in fast.reason
        assert fastpath._CHECKED[csr] == fast.reason
    else:
        assert fast.active and fast.reason is None
        assert all(v is None for v in fastpath._CHECKED.values())


def test_predict_proba_is_checked_after_predict(monkeypatch):
    """A checked ``predict`` does not exempt ``predict_proba`` from its own check."""
    real = fastpath.expit
    monkeypatch.setattr(fastpath, "expit", lambda z: real(z) + 1e-9)
    model, twin, X, *_ = _pair(Case(SGDClassifier, "2-int", params=dict(loss="log_loss")))
    fast, _ = fast_path(model)
    X_eval = X[N:]
    assert np.array_equal(fast.predict(X_eval), twin.predict(X_eval))
    assert fast.active and list(fastpath._CHECKED.values()) == [None]
    proba = fast.predict_proba(X_eval)
    assert np.array_equal(proba, twin.predict_proba(X_eval))
    assert not fast.active
    assert "the fast prediction differed from predict_proba" in fast.reason
    assert np.array_equal(fast.predict_proba(X_eval), twin.predict_proba(X_eval))


SET_PARAMS_CASES = {
    "binary": Case(SGDClassifier, "2-int", params=dict(shuffle=True)),
    "multiclass": Case(SGDClassifier, "3-int", params=dict(shuffle=True)),
    "regressor": Case(SGDRegressor, "reg", params=dict(shuffle=True)),
}


def _learn_chunks(fast, twin, X, y, spans):
    model = fast.model
    for a, b in spans:
        fast.partial_fit(X[a:b], y[a:b])
        twin.partial_fit(X[a:b], y[a:b])
        assert fast.active and fast.reason is None, fast.reason
        assert_same_state(model, twin)


@pytest.mark.parametrize("name", list(SET_PARAMS_CASES))
def test_set_params_random_state_after_the_check(name):
    """The seeds drawn from an int ``random_state`` are remembered per ``random_state``."""
    model, twin, X, y, _ = _pair(SET_PARAMS_CASES[name])
    fast, _ = fast_path(model)
    spans = list(chunks())
    _learn_chunks(fast, twin, X, y, spans[3:5])
    assert fast.checked
    for m in (model, twin):
        m.set_params(random_state=1)
    _learn_chunks(fast, twin, X, y, spans[5:])


def test_set_params_shuffle_after_the_check_multiclass():
    """Without shuffling a multiclass update needs no seeds; with it, the real ones."""
    model, twin, X, y, _ = _pair(Case(SGDClassifier, "4-int", params=dict(shuffle=False)))
    fast, _ = fast_path(model)
    spans = list(chunks())
    _learn_chunks(fast, twin, X, y, spans[3:5])
    for m in (model, twin):
        m.set_params(shuffle=True)
    _learn_chunks(fast, twin, X, y, spans[5:])
    assert len(fastpath._CHECKED) == 2  # shuffle is part of the kind of call


@pytest.mark.parametrize("task", ["2-int", "3-int"])
def test_class_weight_changed_after_the_check(task):
    """``class_weight`` is recomputed per chunk as ``partial_fit`` does: a dict changed in
    place, then ``"balanced"`` set later (weights from each chunk's labels)."""
    model, twin, X, y, _ = _pair(Case(SGDClassifier, task, params=dict(class_weight={7: 2.0})))
    fast, _ = fast_path(model)
    spans = list(chunks())
    _learn_chunks(fast, twin, X, y, spans[3:5])
    for m in (model, twin):  # each has its own dict (twin is a deep copy)
        m.class_weight[7] = 0.25
        m.class_weight[3] = 4.0
    _learn_chunks(fast, twin, X, y, spans[5:7])
    assert np.array_equal(model._expanded_class_weight, twin._expanded_class_weight)
    assert model._expanded_class_weight[0] == 4.0
    for m in (model, twin):
        m.set_params(class_weight="balanced")
    _learn_chunks(fast, twin, X, y, spans[7:])  # chunks of 20+ rows: every class is there
    assert np.array_equal(model._expanded_class_weight, twin._expanded_class_weight)
    assert len(np.unique(model._expanded_class_weight)) == len(model.classes_)


@pytest.mark.parametrize(
    "case",
    [
        Case(SGDClassifier, "3-int", params=dict(loss="log_loss")),
        Case(SGDClassifier, "2-int", "sparse", params=dict(loss="log_loss")),
        Case(SGDRegressor, "reg"),
    ],
    ids=str,
)
def test_zero_rows_fail_like_the_public_methods(case):
    """Before and after the checks: the public method's error, and no check consumed."""
    model, twin, X, y, _ = _pair(case)
    fast, _ = fast_path(model)
    methods = ["predict", "partial_fit"]
    if hasattr(twin, "predict_proba"):
        methods.append("predict_proba")
    X_eval = X[N:]

    def compare():
        for method in methods:
            args = (X[:0], y[:0]) if method == "partial_fit" else (X[:0],)
            got = outcome(getattr(fast, method), *args)
            want = outcome(getattr(twin, method), *args)
            assert want[0] == "error" and got == want, (method, got, want)
        if fast.classifier:
            got = outcome(fast.predict_index, X[:0])
            assert got == outcome(twin.predict, X[:0])
        assert_same_state(model, twin)

    compare()
    assert not fastpath._CHECKED and fast.active and not fast.checked
    for a, b in list(chunks())[3:5]:  # every kind of call checked, and passed
        fast.partial_fit(X[a:b], y[a:b])
        twin.partial_fit(X[a:b], y[a:b])
        for method in methods[:1] + methods[2:]:
            assert np.array_equal(getattr(fast, method)(X_eval), getattr(twin, method)(X_eval))
    assert len(fastpath._CHECKED) == len(methods) and fast.active and fast.checked
    compare()
    assert fast.active


def test_class_weight_back_to_none_after_the_check():
    """From a dict back to ``None``: unit weights again, as ``partial_fit`` computes them."""
    model, twin, X, y, _ = _pair(Case(SGDClassifier, "2-int", params=dict(class_weight={7: 3.0})))
    fast, _ = fast_path(model)
    spans = list(chunks())
    _learn_chunks(fast, twin, X, y, spans[3:5])
    for m in (model, twin):
        m.set_params(class_weight=None)
    _learn_chunks(fast, twin, X, y, spans[5:])
    assert model._expanded_class_weight.tolist() == [1.0, 1.0]
    assert fast.active and fast.reason is None


@pytest.mark.parametrize(
    ("task", "bad"),
    [("reg", "short"), ("reg", "column"), ("reg", "nan"), ("3-int", "short"), ("3-int", "column")],
)
def test_targets_partial_fit_refuses_or_converts_go_to_it(task, bad):
    """A target of another length, an ``(n, 1)`` column, or NaN (regression) is left to
    ``partial_fit``: its error (or its conversion and warning), the same state as the twin,
    and no verdict cached for the kind (the next model is still fast)."""
    case = Case(SGDRegressor if task == "reg" else SGDClassifier, task)
    model, twin, X, y, _ = _pair(case)
    fast, _ = fast_path(model)
    a, b = list(chunks())[4]
    yb = y[a:b].copy()
    if bad == "short":
        yb = yb[:-2]
    elif bad == "column":
        yb = yb.reshape(-1, 1)
    else:
        yb[1] = np.nan
    got, got_warned = outcome_warned(fast.partial_fit, X[a:b], yb)
    want, want_warned = outcome_warned(twin.partial_fit, X[a:b], yb)
    assert same_outcome(got, want) and got_warned == want_warned, (got, want)
    assert (got[0] == "error") == (bad != "column")
    assert_same_state(model, twin)
    assert not fastpath._CHECKED and fast.active
    _learn_chunks(fast, twin, X, y, list(chunks())[5:])
    assert fast.checked and fast.active


def outcome_warned(call, *args):
    """``outcome`` with warnings recorded rather than raised (``(n, 1)`` targets warn)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = outcome(call, *args)
    return result, sorted({type(w.message).__name__ for w in caught})


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_np_matrix_is_left_to_the_public_methods():
    """``np.matrix`` is an ndarray subclass that scikit-learn refuses: so does the fast path."""
    model, twin, X, y, _ = _pair(Case(SGDClassifier, "2-int", params=dict(loss="log_loss")))
    fast, _ = fast_path(model)
    _learn_chunks(fast, twin, X, y, list(chunks())[3:6])
    M = np.asmatrix(X[N:])
    for method in ("predict", "predict_proba"):
        got, want = outcome(getattr(fast, method), M), outcome(getattr(twin, method), M)
        assert want[0] == "error" and got == want, (method, got, want)
    got = outcome(fast.partial_fit, M, y[N:])
    assert got[0] == "error" and same_outcome(got, outcome(twin.partial_fit, M, y[N:]))
