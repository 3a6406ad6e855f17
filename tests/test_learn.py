"""Online learning: prequential honesty, metrics equal to sklearn's, bad input, classes that
appear mid-stream, late labels, refit against a plain loop, a text classifier over a socket."""

from __future__ import annotations

import asyncio
import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.cluster import MiniBatchKMeans
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LinearRegression, LogisticRegression, SGDClassifier, SGDRegressor
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from streamz import Stream

import streamlab
import streamlab.ops
from streamlab.errors import ConfigError
from streamlab.learn import (
    ClassificationMetrics,
    RegressionMetrics,
    RunningScaler,
    compare_models,
    text_classifier,
)

from support import wait_until

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None)
T0 = pd.Timestamp("2026-01-01", tz="UTC")


def pieces(df: pd.DataFrame, cuts) -> list[pd.DataFrame]:
    edges = sorted({0, len(df), *[c for c in cuts if 0 < c < len(df)]})
    return [df.iloc[a:b] for a, b in itertools.pairwise(edges)]


def run(node_of, batches):
    src = Stream()
    node = node_of(src)
    out, bad = node.sink_to_list(), node.errors.sink_to_list()
    for b in batches:
        src.emit(b)
    return node, out, bad


def stacked(frames):
    return pd.concat(frames) if frames else None


class Memoriser(ClassifierMixin, BaseEstimator):
    """Predicts the label it was taught for exactly this x, and classes_[0] for any other x:
    a model that would score 100% if it had seen a row's label before predicting it."""

    def partial_fit(self, X, y, classes=None):
        if classes is not None:
            self.classes_ = np.array(sorted(classes))
            self.seen_ = {}
        for row, label in zip(map(tuple, np.asarray(X)), y, strict=True):
            self.seen_[row] = label
        return self

    def predict(self, X):
        return np.array([self.seen_.get(tuple(r), self.classes_[0]) for r in np.asarray(X)])

    def predict_proba(self, X):
        pred = self.predict(X)
        return (pred[:, None] == self.classes_[None, :]).astype(float)


# -- prequential honesty ---------------------------------------------------------------------
@SETTINGS
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(4, 400),
    cuts=st.lists(st.integers(1, 399), max_size=6),
    chunk=st.sampled_from(["auto", None, 1, 7]),
    fixed=st.booleans(),
)
def test_no_row_is_predicted_by_a_model_that_saw_its_label(seed, n, cuts, chunk, fixed):
    rng = np.random.default_rng(seed)
    y = rng.choice(["a", "b", "c"], n)
    y[:2] = ["a", "b"]  # the default answer, the first class, is "a" from the start
    df = pd.DataFrame({"x1": np.arange(n, dtype=float), "x2": rng.normal(size=n), "y": y})
    node, out, bad = run(
        lambda s: s.learn(
            Memoriser(),
            target="y",
            features=["x1", "x2"],
            chunk=chunk,
            classes=["a", "b", "c"] if fixed else None,
        ),
        pieces(df, cuts),
    )
    got = pd.concat(out)
    scored = got["prediction"].notna()
    # every row is new: an honest model can only give its default, "a", to every row
    assert (got.loc[scored, "prediction"] == "a").all()
    share = (got.loc[scored, "y"] == "a").mean() if scored.any() else math.nan
    assert node.metrics["accuracy"] == pytest.approx(share, nan_ok=True)
    assert node.stats.scored + node.stats.unscored == n and not bad
    # and it does learn: the same rows again are all remembered
    src2 = Stream()
    node2 = src2.learn(Memoriser(), target="y", features=["x1", "x2"], chunk=chunk)
    out2 = node2.sink_to_list()
    for b in pieces(df, cuts) + pieces(df, cuts):
        src2.emit(b)
    second = pd.concat(out2).iloc[n:]
    assert (second["prediction"] == second["y"]).all()


def test_the_first_rows_wait_for_a_model():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "y": ["a", "a", "a", "b", "a", "b"]})
    node, out, _ = run(lambda s: s.learn(Memoriser(), target="y", features=["x"]), [df])
    got = out[0]
    # without classes=, a classifier needs two classes to start: rows 0-3 come before that
    assert got["prediction"].isna().tolist() == [True, True, True, True, False, False]
    assert (node.stats.scored, node.stats.unscored, node.stats.learned) == (2, 4, 6)


# -- metrics equal sklearn's -----------------------------------------------------------------
@SETTINGS
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(1, 300),
    k=st.integers(2, 5),
    window=st.integers(1, 120),
    cuts=st.lists(st.integers(1, 299), max_size=8),
)
def test_classification_metrics_equal_sklearn(seed, n, k, window, cuts):
    rng = np.random.default_rng(seed)
    t, p = rng.integers(0, k, n), rng.integers(0, k, n)
    proba = rng.dirichlet(np.ones(k), n)
    proba[rng.random(n) < 0.05] = 0.0  # some rows give their true class probability 0
    proba[np.arange(n), p] += 1e-9
    proba /= proba.sum(axis=1, keepdims=True)
    m = ClassificationMetrics(window=window)
    for a, b in itertools.pairwise(sorted({0, n, *[c for c in cuts if c < n]})):
        m.update(t[a:b], p[a:b], proba[np.arange(a, b), t[a:b]])
        for prefix, lo in (("", 0), ("window_", max(0, b - window))):
            got = m.get()
            tt, pp, pr = t[lo:b], p[lo:b], proba[lo:b]
            assert got[f"{prefix}rows"] == b - lo
            assert got[f"{prefix}accuracy"] == pytest.approx(skm.accuracy_score(tt, pp))
            f1 = skm.f1_score(tt, pp, average="macro", labels=np.union1d(tt, pp))
            assert got[f"{prefix}f1_macro"] == pytest.approx(f1, rel=1e-9)
            ll = skm.log_loss(tt, pr, labels=np.arange(k))
            assert got[f"{prefix}log_loss"] == pytest.approx(ll, rel=1e-9)


@SETTINGS
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(1, 300),
    level=st.sampled_from([0.0, 1e6]),
    window=st.integers(1, 120),
    cuts=st.lists(st.integers(1, 299), max_size=8),
)
def test_regression_metrics_equal_sklearn(seed, n, level, window, cuts):
    rng = np.random.default_rng(seed)
    y = level + rng.normal(size=n)
    yhat = y + rng.normal(scale=0.5, size=n)
    m = RegressionMetrics(window=window)
    for a, b in itertools.pairwise(sorted({0, n, *[c for c in cuts if c < n]})):
        m.update(y[a:b], yhat[a:b])
        for prefix, lo in (("", 0), ("window_", max(0, b - window))):
            got = m.get()
            yy, hh = y[lo:b], yhat[lo:b]
            assert got[f"{prefix}mae"] == pytest.approx(skm.mean_absolute_error(yy, hh), rel=1e-9)
            rmse = skm.root_mean_squared_error(yy, hh)
            assert got[f"{prefix}rmse"] == pytest.approx(rmse, rel=1e-9)
            if len(yy) >= 2:
                r2 = skm.r2_score(yy, hh)
                assert got[f"{prefix}r2"] == pytest.approx(r2, rel=1e-6, abs=1e-9)
            else:
                assert math.isnan(got[f"{prefix}r2"])


def blobs(n, seed, k=3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centres = rng.normal(scale=3, size=(k, 2))
    X = centres[y] + rng.normal(size=(n, 2))
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": np.array(["u", "v", "w"])[y]})


@settings(max_examples=10, deadline=None, derandomize=True, database=None)
@given(seed=st.integers(0, 10**6), cuts=st.lists(st.integers(1, 599), max_size=6))
def test_learn_metrics_equal_sklearn_on_its_own_predictions(seed, cuts):
    df = blobs(600, seed)
    node, out, _ = run(
        lambda s: s.learn(
            SGDClassifier(loss="log_loss", random_state=0),
            target="y",
            transform=RunningScaler(),
            window=100,
        ),
        pieces(df, cuts),
    )
    got = pd.concat(out)
    got = got[got["prediction"].notna()]
    labels = sorted(node.learner.classes)
    # a class the learner did not know yet has no column in that batch: the model gave it 0
    proba = got[[f"proba_{c}" for c in labels]].fillna(0.0).to_numpy()
    for prefix, part, pr in (("", got, proba), ("window_", got.iloc[-100:], proba[-100:])):
        m = node.metrics
        assert m[f"{prefix}rows"] == len(part)
        assert m[f"{prefix}accuracy"] == pytest.approx(
            skm.accuracy_score(part["y"], part["prediction"])
        )
        f1 = skm.f1_score(part["y"], part["prediction"].astype(str), average="macro")
        assert m[f"{prefix}f1_macro"] == pytest.approx(f1)
        ll = skm.log_loss(part["y"], pr, labels=labels)
        assert m[f"{prefix}log_loss"] == pytest.approx(ll)
    assert node.metrics["accuracy"] > 0.5  # three classes: chance is 1/3


def test_learn_equals_a_plain_test_then_train_loop():
    df = blobs(500, 3)
    batches = pieces(df, [50, 51, 200, 333])
    _, out, _ = run(
        lambda s: s.learn(
            SGDClassifier(loss="log_loss", random_state=0),
            target="y",
            features=["a", "b"],
            transform=StandardScaler(),
            classes=["u", "v", "w"],
            chunk=None,
        ),
        batches,
    )
    model, scaler, want = SGDClassifier(loss="log_loss", random_state=0), StandardScaler(), []
    for i, b in enumerate(batches):
        X = scaler.partial_fit(b[["a", "b"]].to_numpy()).transform(b[["a", "b"]].to_numpy())
        want += [None] * len(b) if i == 0 else model.predict(X).tolist()
        model.partial_fit(X, b["y"], classes=["u", "v", "w"])
    got = pd.concat(out)["prediction"]
    assert [None if pd.isna(v) else v for v in got] == want
    assert {str(b["prediction"].dtype) for b in out} == {"str"}  # text labels: one dtype


def test_prediction_has_one_dtype_in_every_batch():
    """Rows before the first fit have no prediction: the column is the classes' type made
    nullable (Int64 here) in every batch, not object in the first and int64 after."""
    df = blobs(60, 2).assign(y=lambda d: (d["y"] == "v").astype("int64"))
    _, out, _ = run(
        lambda s: s.learn(
            SGDClassifier(random_state=0), target="y", features=["a", "b"], classes=[0, 1]
        ),
        pieces(df, [1, 9, 50]),
    )
    assert len(out) > 2 and {str(b["prediction"].dtype) for b in out} == {"Int64"}
    assert out[0]["prediction"].isna().all() and out[-1]["prediction"].notna().all()


def test_regressor_and_clusterer():
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    df = pd.DataFrame({"x": x, "y": 3 * x + 1 + rng.normal(scale=0.1, size=2000)})
    node, out, _ = run(
        lambda s: s.learn(SGDRegressor(random_state=0), target="y", window=500), pieces(df, [700])
    )
    got = pd.concat(out).dropna(subset=["prediction"])
    assert node.metrics["mae"] == pytest.approx(
        skm.mean_absolute_error(got["y"], got["prediction"])
    )
    assert node.metrics["window_r2"] > 0.99
    km, out, _ = run(
        lambda s: s.learn(MiniBatchKMeans(n_clusters=3, random_state=0, n_init=1), target=None),
        pieces(blobs(900, 1)[["a", "b"]], [2, 300, 600]),
    )
    got = pd.concat(out)
    assert got["prediction"].isna().sum() == km.stats.unscored == 3  # first fit at 3 rows
    assert km.metrics["rows"] == 897 and km.metrics["inertia"] > 0


# -- classes ---------------------------------------------------------------------------------
def test_a_class_that_appears_mid_stream_rebuilds_the_model_from_memory():
    df = blobs(900, 5)
    first = df[df["y"] != "w"].iloc[:400]
    later = df.iloc[400:]
    node, out, bad = run(
        lambda s: s.learn(
            SGDClassifier(loss="log_loss", random_state=0),
            target="y",
            features=["a", "b"],
            memory=300,
        ),
        [first.iloc[:200], first.iloc[200:], later],
    )
    assert not bad and node.stats.rebuilds == 1
    assert list(node.learner.classes) == ["v", "u", "w"] or set(node.learner.classes) == {
        "u",
        "v",
        "w",
    }
    got = pd.concat(out)
    assert got["proba_w"].iloc[:400].fillna(0).eq(0).all()  # the model did not know "w" then
    tail = got.iloc[-300:]
    assert (tail["prediction"] == "w").any()
    labels = sorted(node.learner.classes)
    scored = got[got["prediction"].notna()]
    proba = scored[[f"proba_{c}" for c in labels]].fillna(0.0)
    ll = skm.log_loss(scored["y"], proba, labels=labels)
    assert node.metrics["log_loss"] == pytest.approx(ll)


def test_with_classes_given_an_unseen_label_is_a_dead_letter():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": ["a", "b", "d", "a"]})
    node, out, bad = run(
        lambda s: s.learn(
            SGDClassifier(random_state=0), target="y", features=["x"], classes=["a", "b", "c"]
        ),
        [df],
    )
    assert bad[0]["reason"].tolist() == ["label 'y' is 'd', not one of classes=['a', 'b', 'c']"]
    assert node.stats.bad == {"unseen label": 1} and node.stats.dead == 1
    assert out[0]["y"].tolist() == ["a", "b", "a"]


# -- bad input -------------------------------------------------------------------------------
BAD_CASES = [
    ({"x": [1.0, np.nan]}, "feature 'x' is missing", "missing"),
    ({"x": [1.0, np.inf]}, "feature 'x' is infinite", "infinite"),
    ({"x": [1.0, -np.inf]}, "feature 'x' is infinite", "infinite"),
    ({"x": [1.0, None]}, "feature 'x' is missing", "missing"),
    ({"x": [1.0, "abc"]}, "feature 'x' is not a number: 'abc'", "wrong type"),
    ({"x": [1.0, "2.5"]}, "feature 'x' is not a number: '2.5'", "wrong type"),
    ({"x": pd.array([1, None], dtype="Int64")}, "feature 'x' is missing", "missing"),
    ({"y": [1.0, np.nan]}, "label 'y' is missing", "missing label"),
    ({"y": [1.0, "high"]}, "label 'y' is not a number: 'high'", "bad label"),
    ({"y": [1.0, np.inf]}, "label 'y' is infinite", "bad label"),
]


@pytest.mark.parametrize(("columns", "reason", "kind"), BAD_CASES)
def test_bad_rows_go_to_dead_letters_with_the_reason(columns, reason, kind):
    df = pd.DataFrame({"x": [0.5, 1.5], "z": [1.0, 1.0], "y": [0.0, 1.0]}).assign(**columns)
    node, out, bad = run(
        lambda s: s.learn(SGDRegressor(random_state=0), target="y", features=["x", "z"]), [df]
    )
    assert bad[0]["reason"].tolist() == [reason]
    assert bad[0].index.tolist() == [1]
    assert len(out[0]) == 1 and node.stats.learned == 1
    assert node.stats.bad == {kind: 1} and node.stats.dead == 1


def test_a_missing_column_and_the_first_problem_of_a_row():
    node, _out, bad = run(
        lambda s: s.learn(SGDRegressor(random_state=0), target="y", features=["x", "z"]),
        [
            pd.DataFrame({"x": [np.nan, 1.0], "z": [np.inf, 1.0], "y": [1.0, 2.0]}),
            pd.DataFrame({"x": [1.0], "y": [2.0]}),
            pd.DataFrame({"x": [1.0], "z": [1.0]}),
        ],
    )
    assert [r for b in bad for r in b["reason"]] == [
        "feature 'x' is missing",
        "feature 'z' is missing (no such column)",
        "label 'y' is missing (no such column)",
    ]
    assert node.stats.bad == {"missing": 1, "missing column": 1, "missing label": 1}


def test_impute_fills_with_the_running_mean_and_counts():
    batches = [
        pd.DataFrame({"x": [np.nan], "y": [1.0]}),  # nothing to impute from yet
        pd.DataFrame({"x": [2.0, 4.0, np.inf, "?"], "y": [1.0, 2.0, 3.0, 4.0]}),
        pd.DataFrame({"x": [np.nan, 6.0], "y": [np.nan, 3.0]}),  # a bad label is never imputed
    ]
    seen = []
    model = SGDRegressor(random_state=0)
    original = model.partial_fit

    def spy(X, y, **kw):
        seen.extend(np.asarray(X)[:, 0].tolist())
        return original(X, y, **kw)

    model.partial_fit = spy
    node, _out, bad = run(
        lambda s: s.learn(model, target="y", features=["x"], on_bad="impute", chunk=None), batches
    )
    assert [r for b in bad for r in b["reason"]] == [
        "feature 'x' is missing (nothing to impute from yet)",
        "feature 'x' is missing",
    ]
    assert seen == [2.0, 4.0, 3.0, 3.0, 6.0]
    assert node.stats.imputed == 2 and node.stats.dead == 2
    assert node.stats.bad == {"missing": 2, "infinite": 1, "wrong type": 1}


def test_text_and_dict_features_are_checked():
    texts = pd.DataFrame({"doc": ["good day", 3, None, "bad day"], "y": ["p", "p", "n", "n"]})
    node, _, bad = run(
        lambda s: s.learn(
            SGDClassifier(random_state=0),
            target="y",
            features="doc",
            transform=HashingVectorizer(n_features=64),
        ),
        [texts],
    )
    assert bad[0]["reason"].tolist() == ["feature 'doc' is not text: 3", "feature 'doc' is missing"]
    dicts = pd.DataFrame({"d": [{"a": 1.0}, "a=1", {"b": 2.0}], "y": ["p", "n", "n"]})
    node, _out, bad = run(
        lambda s: s.learn(
            SGDClassifier(random_state=0),
            target="y",
            features="d",
            transform=FeatureHasher(n_features=8),
        ),
        [dicts],
    )
    assert bad[0]["reason"].tolist() == ["feature 'd' is not a dict: 'a=1'"]
    assert node.stats.learned == 2


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda s: s.learn(LinearRegression(), target="y"),
            "estimator LinearRegression() has no partial_fit: learn() needs an online estimator "
            "such as SGDClassifier, SGDRegressor, MultinomialNB, Perceptron or MiniBatchKMeans; "
            "to re-fit any estimator on windows use stream.refit(...)",
        ),
        (
            lambda s: s.learn(SGDRegressor(), target="y", on_bad="imput"),
            "on_bad='imput' is not one of 'dead_letter', 'impute'. Did you mean 'impute'?",
        ),
        (
            lambda s: s.learn(SGDClassifier(), target="y", classes=["a"]),
            "classes= needs at least two classes, not ['a']",
        ),
        (
            lambda s: s.learn(MiniBatchKMeans(), target="y"),
            "MiniBatchKMeans learns without labels: pass target=None, not target='y'",
        ),
        (
            lambda s: s.learn(SGDRegressor(), target="y", metrics=["accuracy"]),
            "metrics='accuracy' is not one of 'mae', 'rmse', 'r2'.",
        ),
        (
            lambda s: s.learn(SGDRegressor(), target="y", features=["x", "y"]),
            "target='y' is also in features=['x', 'y']",
        ),
        (
            lambda s: s.refit(LinearRegression(), window="soon", target="y"),
            "window must be a row count (an int >= 1, such as 500) or a duration such as '1min', "
            "not 'soon'",
        ),
    ],
)
def test_config_errors_say_what_to_do(make, message):
    with pytest.raises(ConfigError) as err:
        make(Stream())
    assert str(err.value) == message


# -- labels that come later ------------------------------------------------------------------
def test_labels_that_arrive_later_are_joined_by_key_then_learned():
    n = 40
    rng = np.random.default_rng(1)
    x = rng.normal(size=n)
    t = T0 + pd.to_timedelta(np.arange(n), unit="s")
    feats = pd.DataFrame({"t": t, "id": np.arange(n), "x": x})
    labels = pd.DataFrame({"t": t, "id": np.arange(n), "y": np.where(x > 0, "pos", "neg")})
    labels = labels.drop(index=17)  # this label never comes
    fs, ls = Stream(), Stream()
    joined = fs.asof_join(ls, on="t", by="id", tolerance="0s", lateness="5s")
    node = joined.learn(
        SGDClassifier(loss="log_loss", random_state=0),
        target="y",
        features=["x"],
        classes=["neg", "pos"],
    )
    out, bad = node.sink_to_list(), node.errors.sink_to_list()
    fs.emit(feats)  # features first: they wait for their labels
    assert not out
    order = rng.permutation(len(labels))
    shuffled = labels.iloc[order].sort_values("t", key=lambda s: s.dt.floor("5s"))
    for i in range(0, len(shuffled), 7):  # labels a few seconds out of order
        ls.emit(shuffled.iloc[i : i + 7])
    joined.end_of_input()
    got = pd.concat(out)
    assert got["id"].tolist() == [i for i in range(n) if i != 17]
    assert (got["y"] == np.where(got["x"] > 0, "pos", "neg")).all()
    assert bad[0]["id"].tolist() == [17] and bad[0]["reason"].tolist() == ["label 'y' is missing"]


# -- refit -----------------------------------------------------------------------------------
def refit_reference(df, windows, *, holdout, seed):
    rows = []
    for part in windows:
        X, y = part[["a", "b"]].to_numpy(), part["y"].to_numpy()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=holdout, random_state=seed)
        m = LinearRegression().fit(X_tr, y_tr)
        rows.append([len(X_tr), len(X_te), m.score(X_te, y_te), *m.coef_, m.intercept_])
    return rows


def regression_frame(n, seed):
    rng = np.random.default_rng(seed)
    t = T0 + pd.to_timedelta(np.cumsum(rng.integers(1, 2000, n)), unit="ms")
    a, b = rng.normal(size=n), rng.normal(size=n)
    df = pd.DataFrame({"t": t, "a": a, "b": b, "y": 2 * a - b + rng.normal(size=n)})
    df.attrs["time_column"] = "t"
    return df


COLS = ["rows_train", "rows_test", "score", "coef_a", "coef_b", "intercept"]


@settings(max_examples=10, deadline=None, derandomize=True, database=None)
@given(seed=st.integers(0, 10**6), cuts=st.lists(st.integers(1, 999), max_size=8))
def test_refit_equals_a_plain_loop_of_fits_whatever_the_batches(seed, cuts):
    df = regression_frame(1000, seed)
    for window in (300, "1min"):
        node, out, _ = run(
            lambda s, w=window: s.refit(
                LinearRegression(), window=w, target="y", features=["a", "b"], holdout=0.3, seed=7
            ),
            pieces(df, cuts),
        )
        node.end_of_input()  # the last window is fitted at the end of the input
        got = pd.concat(out, ignore_index=True)
        if window == 300:
            parts = [df.iloc[i : i + 300] for i in range(0, 1000, 300)]
        else:
            parts = [g for _, g in df.groupby(df["t"].dt.floor("1min"))]
        assert got["rows"].tolist() == [len(p) for p in parts]
        big = [len(p) >= 10 for p in parts]  # too few rows to split: no reference
        want = refit_reference(
            df, [p for p, b in zip(parts, big, strict=True) if b], holdout=0.3, seed=7
        )
        np.testing.assert_allclose(got.loc[big, COLS].to_numpy(), want, rtol=1e-9)


def test_refit_end_of_input_late_rows_and_failures():
    df = regression_frame(200, 0)
    src = Stream()
    node = src.refit(LinearRegression(), window="1min", target="y", features=["a", "b"])
    out, bad = node.sink_to_list(), node.errors.sink_to_list()
    src.emit(df.iloc[:150])
    src.emit(df.iloc[:3])  # rows of a window that has closed
    node.end_of_input()
    got = pd.concat(out)
    assert got["window_start"].tolist() == sorted(set(df["t"].iloc[:150].dt.floor("1min")))
    assert got["rows"].sum() == 150
    first = df["t"].dt.floor("1min").iloc[0]
    assert (
        bad[0]["reason"].tolist()
        == [f"late: its window [{first}, {first + pd.Timedelta('1min')}) has closed"] * 3
    )
    assert (node.stats.windows, node.stats.late, node.stats.failed) == (len(got), 3, 0)
    one_class = pd.DataFrame({"x": np.arange(10.0), "y": ["a"] * 10})
    node, out, _ = run(lambda s: s.refit(LogisticRegression(), window=10, target="y"), [one_class])
    assert out[0]["error"].iloc[0].startswith("LogisticRegression.fit: This solver needs samples")
    assert node.stats.failed == 1


# -- the whole thing: scaler, compare, text over a socket ------------------------------------
@SETTINGS
@given(seed=st.integers(0, 10**6), cuts=st.lists(st.integers(1, 199), max_size=6))
def test_running_scaler_equals_standard_scaler(seed, cuts):
    X = np.random.default_rng(seed).normal(loc=1e4, size=(200, 3))
    X[:, 2] = 5.0
    ours, ref = RunningScaler(), StandardScaler()
    for a, b in itertools.pairwise(sorted({0, 200, *cuts})):
        ours.partial_fit(X[a:b])
        ref.partial_fit(X[a:b])
    np.testing.assert_allclose(ours.mean_, ref.mean_, rtol=1e-12)
    np.testing.assert_allclose(ours.var_, ref.var_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.transform(X), ref.transform(X), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(X)), X, rtol=1e-12)


def test_compare_models_gives_one_row_per_model_per_batch_equal_to_single_runs():
    df = blobs(600, 9)
    models = {
        "log": SGDClassifier(loss="log_loss", random_state=0),
        "hinge": SGDClassifier(random_state=0),
    }
    src = Stream()
    node = compare_models(models, src, target="y", transform=RunningScaler(), window=50)
    tables = node.sink_to_list()
    for b in pieces(df, [100, 350]):
        src.emit(b)
    assert [len(t) for t in tables] == [2, 2, 2]
    assert tables[-1]["model"].tolist() == ["log", "hinge"]
    for name, est in models.items():
        single, _, _ = run(
            lambda s, e=est: s.learn(clone(e), target="y", transform=RunningScaler(), window=50),
            pieces(df, [100, 350]),
        )
        row = tables[-1].set_index("model").loc[name]
        assert row["accuracy"] == single.metrics["accuracy"]
        assert row["window_accuracy"] == single.metrics["window_accuracy"]
    assert math.isnan(tables[-1].set_index("model").loc["hinge", "log_loss"])


def test_metrics_stream_emits_a_row_per_batch():
    df = regression_frame(300, 2)
    src = Stream()
    node = src.learn(SGDRegressor(random_state=0), target="y", features=["a", "b"])
    rows = node.metrics_stream.sink_to_list()
    for b in pieces(df, [100, 200]):
        src.emit(b)
    table = pd.concat(rows, ignore_index=True)
    assert table["batch"].tolist() == [1, 2, 3]
    assert table["time"].tolist() == [df["t"].iloc[i] for i in (99, 199, 299)]
    assert table["rows"].iloc[-1] == node.metrics["rows"]


WORDS = {
    "spam": ["win", "cash", "prize", "free", "offer", "claim", "now", "urgent", "money", "click"],
    "ham": [
        "lunch",
        "meeting",
        "tomorrow",
        "project",
        "notes",
        "call",
        "family",
        "dinner",
        "weekend",
        "thanks",
    ],
    "news": [
        "election",
        "market",
        "report",
        "weather",
        "sports",
        "score",
        "minister",
        "budget",
        "court",
    ],
}


async def test_text_classifier_over_a_real_socket():
    rng = np.random.default_rng(0)
    labels = rng.choice(list(WORDS), 3000)
    shared = ["the", "a", "and", "to", "of"]
    lines = [f"{y}\t{' '.join(rng.choice(WORDS[y] + shared, 6))}".encode() + b"\n" for y in labels]
    lines.insert(1500, b"no label here\n")
    src = streamlab.listen_tcp(0, parse="text")
    tc = text_classifier(src)
    counts, errors, scored = (
        tc.counts.sink_to_list(),
        tc.errors.sink_to_list(),
        tc.learner.sink_to_list(),
    )
    src.start()
    _, w = await asyncio.open_connection(*src.address)
    for i in range(0, len(lines), 250):
        w.write(b"".join(lines[i : i + 250]))
        await w.drain()
        await asyncio.sleep(0)
    w.close()
    await w.wait_closed()
    await wait_until(lambda: tc.learner.stats.rows == 3000 and errors, what="all lines")
    src.stop()
    await src.wait()
    table = counts[-1].set_index("label")
    assert table["rows"].to_dict() == pd.Series(labels).value_counts().to_dict()
    got = pd.concat(scored)
    hit = got["prediction"] == got["label"]
    assert tc.learner.metrics["accuracy"] == pytest.approx(hit[got["prediction"].notna()].mean())
    assert tc.learner.metrics["accuracy"] > 0.9
    assert table["accuracy"].min() > 0.85
    assert pd.concat(errors)["line"].tolist() == ["no label here"]
    assert pd.concat(errors)["reason"].tolist() == ["no tab in the line: expected 'label<TAB>text'"]
