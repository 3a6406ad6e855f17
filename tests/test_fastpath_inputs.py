"""Input the fast path does not mirror goes to the public methods; set-ups and inputs the first
version got wrong (``streamlab.learn.fastpath``)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import scipy.sparse as sp
from fastpath_support import (
    FIRST,
    Case,
    N,
    _learn_chunks,
    _pair,
    assert_same_state,
    chunks,
    forbidden,
    make_data,
    outcome,
    outcome_warned,
    same_outcome,
    unchecked,  # noqa: F401 (an autouse fixture)
)
from sklearn.linear_model import SGDClassifier, SGDRegressor

from streamlab.learn import fastpath, sklearn_private
from streamlab.learn.fastpath import fast_path

# -- 5. inputs the fast path does not mirror --------------------------------------------------


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

    model2 = SGDRegressor(random_state=7).partial_fit(X[:FIRST], y[:FIRST])  # same kind
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
        real = sklearn_private._seq.CSRDataset64
        monkeypatch.setattr(
            sklearn_private._seq, "CSRDataset64", lambda data, *a, **k: real(data * 2.0, *a, **k)
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
