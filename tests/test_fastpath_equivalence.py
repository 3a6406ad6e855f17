"""The fast path learns and predicts exactly as ``partial_fit`` does, over a stream of chunks
(``streamlab.learn.fastpath``)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from fastpath_support import (
    FIRST,
    GLOBAL_SEED,
    SIZES,
    Case,
    N,
    assert_same_state,
    chunks,
    first_fit,
    forbidden,
    global_rng,
    make_data,
    same_rng,
    state,
    unchecked,  # noqa: F401 (an autouse fixture)
)
from sklearn.linear_model import Perceptron, SGDClassifier, SGDRegressor

from streamlab.learn import fastpath
from streamlab.learn.fastpath import fast_path

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
    """Same class and settings (any int random_state): the cached verdict holds. Another
    setting (here alpha) is another kind: its first update is checked on its own."""
    X, y, classes = make_data("3-int", "dense")
    first = first_fit(SGDClassifier(loss="log_loss", random_state=0), X, y, classes)
    fast, _ = fast_path(first)
    fast.partial_fit(X[FIRST : FIRST + 5], y[FIRST : FIRST + 5])
    assert fast.checked and len(fastpath._CHECKED) == 1

    model = first_fit(SGDClassifier(loss="log_loss", random_state=3), X, y, classes)
    twin = copy.deepcopy(model)
    fast2, reason = fast_path(model)
    assert reason is None
    model.partial_fit = forbidden  # neither a check (on a copy) nor a fallback may call it
    for a, b in chunks():
        fast2.partial_fit(X[a:b], y[a:b])
        twin.partial_fit(X[a:b], y[a:b])
        assert_same_state(model, twin)
    assert fast2.checked and fast2.active and len(fastpath._CHECKED) == 1

    other = first_fit(SGDClassifier(loss="log_loss", random_state=0, alpha=1e-3), X, y, classes)
    fast3, _ = fast_path(other)
    fast3.partial_fit(X[FIRST : FIRST + 5], y[FIRST : FIRST + 5])
    assert fast3.checked and len(fastpath._CHECKED) == 2
    assert fast3._key(X, "partial_fit") != fast._key(X, "partial_fit")
