"""``Prequential`` gives identical output with and without the fast path."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fastpath_support import (
    assert_same_state,
    unchecked,  # noqa: F401 (an autouse fixture)
)
from sklearn.datasets import load_diabetes, load_digits
from sklearn.linear_model import Perceptron, SGDClassifier, SGDRegressor
from sklearn.naive_bayes import MultinomialNB

import streamlab.learn.prequential
from streamlab.learn import Prequential, RunningScaler, fastpath


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


@pytest.mark.parametrize("make", [lambda: SGDClassifier(loss="log_loss", random_state=0)])
def test_prequential_with_the_environment_switch_off_is_public_and_identical(monkeypatch, make):
    batches, classes = digits_batches()
    p_fast, out_fast = prequential(make(), batches, classes=classes, scale=True)
    assert p_fast.fast is not None and p_fast.fast_reason is None and p_fast.fast.checked
    monkeypatch.setenv("STREAMLAB_FASTPATH", "0")
    p_off, out_off = prequential(make(), batches, classes=classes, scale=True)
    assert p_off.fast is None and p_off.fast_reason == "disabled by STREAMLAB_FASTPATH=0"
    pd.testing.assert_frame_equal(out_fast, out_off, check_exact=True)
    assert_same_state(p_fast.model, p_off.model)
    assert same_metrics(p_fast.metrics.get(), p_off.metrics.get())
