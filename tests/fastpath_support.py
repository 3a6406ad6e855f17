"""Shared data and helpers for the fast-path tests (``tests/test_fastpath_*.py``).

scikit-learn's public methods are the reference throughout: a model learning through the fast
path must hold the same coefficients, intercepts and ``t_`` (bit for bit) as its twin learning
through ``partial_fit``, and predict the same."""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import SGDRegressor
from sklearn.naive_bayes import MultinomialNB

from streamlab.learn import fastpath, sklearn_private

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
    sklearn_private._internals.cache_clear()
    yield
    fastpath._CHECKED.clear()
    sklearn_private._internals.cache_clear()


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


def _binary():
    X, y, classes = make_data("2-int", "dense")
    return X, y, list(classes)


def _fitted(model, *, dtype=np.float64):
    X, y, classes = _binary()
    X = X.astype(dtype)
    if isinstance(model, SGDRegressor):
        return model.partial_fit(X[:20], X[:20, 0] + 1.0)
    return model.partial_fit(X[:20], y[:20], classes=classes)


def _naive_bayes():
    X, y, classes = _binary()
    return MultinomialNB().partial_fit(np.abs(X[:20]), y[:20], classes=classes)


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


def _learn_chunks(fast, twin, X, y, spans):
    model = fast.model
    for a, b in spans:
        fast.partial_fit(X[a:b], y[a:b])
        twin.partial_fit(X[a:b], y[a:b])
        assert fast.active and fast.reason is None, fast.reason
        assert_same_state(model, twin)


def outcome_warned(call, *args):
    """``outcome`` with warnings recorded rather than raised (``(n, 1)`` targets warn)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = outcome(call, *args)
    return result, sorted({type(w.message).__name__ for w in caught})
