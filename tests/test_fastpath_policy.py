"""The private-API policy: scikit-learn's private names, the verified versions, the
environment switch, and ``status`` (``streamlab.learn.sklearn_private``, ``fastpath``)."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sklearn
from fastpath_support import (
    FIRST,
    Case,
    _fitted,
    _naive_bayes,
    _pair,
    assert_same_state,
    chunks,
    unchecked,  # noqa: F401 (an autouse fixture)
)
from sklearn.linear_model import Perceptron, SGDClassifier, SGDRegressor

from streamlab.errors import ConfigError
from streamlab.learn import fastpath, sklearn_private
from streamlab.learn.fastpath import fast_path, status

V = sklearn.__version__


def _models():
    return [
        _fitted(SGDClassifier(random_state=0)),
        _fitted(Perceptron(random_state=0)),
        _fitted(SGDRegressor(random_state=0)),
    ]


# -- scikit-learn's private names --------------------------------------------------------------
def test_this_scikit_learn_is_verified_and_its_private_names_are_there():
    assert V in sklearn_private.VERIFIED_ON, f"scikit-learn {V}: verify it (see sklearn_private)"
    assert sklearn_private.unavailable() is None
    assert all(status(m) == "fast" for m in _models())


def test_the_signature_of_the_sgd_epoch_is_the_one_verified_name_by_name():
    params = list(inspect.signature(sklearn_private._sgd._plain_sgd64).parameters)
    assert params == list(sklearn_private.PLAIN_SGD[V])
    assert len(params) == (29 if "C" in params else 28)


def _delete(owner, name):
    def apply(monkeypatch):
        monkeypatch.delattr(owner, name)

    return apply


def _other_signature(monkeypatch):
    def _plain_sgd64(weights, intercept, loss):  # pragma: no cover - never called
        raise AssertionError

    monkeypatch.setattr(sklearn_private._sgd, "_plain_sgd64", _plain_sgd64)


INTERNALS = {
    "dataset class": (
        _delete(sklearn_private._seq, "CSRDataset64"),
        f"scikit-learn {V} has no sklearn.utils._seq_dataset.CSRDataset64",
    ),
    "constant": (
        _delete(sklearn_private._base, "SPARSE_INTERCEPT_DECAY"),
        f"scikit-learn {V} has no sklearn.linear_model._base.SPARSE_INTERCEPT_DECAY",
    ),
    "sgd routine": (
        _delete(sklearn_private._sgd, "_plain_sgd64"),
        f"scikit-learn {V} has no sklearn.linear_model._stochastic_gradient._plain_sgd64",
    ),
    "signature": (
        _other_signature,
        f"scikit-learn {V}: _plain_sgd64 takes other arguments than verified",
    ),
    "helper": (
        _delete(sklearn_private._sgd.BaseSGD, "_get_penalty_type"),
        f"scikit-learn {V}: its SGD estimators have no _get_penalty_type",
    ),
}


@pytest.mark.parametrize("name", list(INTERNALS))
def test_missing_internals_refuse_every_model(monkeypatch, name):
    models = _models()
    sklearn_private._internals.cache_clear()  # computed afresh, then cached
    breaks, why = INTERNALS[name]
    breaks(monkeypatch)
    assert sklearn_private.unavailable() == why
    for model in models:
        assert fast_path(model) == (None, why)
        assert status(model) == f"public: {why}"
    cached = sklearn_private._internals.cache_info()
    assert cached.currsize == 1 and cached.misses == 1 and cached.hits == 2 * len(models)
    # a model of another class is still refused for its class first
    assert "MultinomialNB is not one of" in fast_path(_naive_bayes())[1]


# -- versions ----------------------------------------------------------------------------------
class Untouchable:
    """Stands for a private module: any use of it fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"private name {name} used on an unverified version")


@pytest.mark.parametrize("version", ["1.3.2", "1.5.2", "1.10.0", f"{V}.dev0", "2.0.0"])
def test_an_unverified_version_runs_the_public_path_and_says_why(monkeypatch, version):
    model, twin, X, y, _ = _pair(Case(SGDClassifier, "3-int", params=dict(loss="log_loss")))
    monkeypatch.setattr(sklearn, "__version__", version)
    for name in ("_sgd", "_seq", "_base"):  # nothing private is even looked at
        monkeypatch.setattr(sklearn_private, name, Untouchable())
    why = f"scikit-learn {version} is not a version the fast path was verified on (1.6.0, "
    assert sklearn_private.unavailable().startswith(why)
    fast, reason = fast_path(model)
    assert fast is None and reason.startswith(why) and V in reason  # lists the verified ones
    assert status(model) == f"public: {reason}"
    for a, b in chunks():  # what Prequential does then: the public methods
        model.partial_fit(X[a:b], y[a:b])
        twin.partial_fit(X[a:b], y[a:b])
    assert_same_state(model, twin)
    assert not fastpath._CHECKED


def test_each_verified_release_has_its_signature_and_series():
    for version in sklearn_private.VERIFIED_ON:
        args = sklearn_private.PLAIN_SGD[version]
        assert args[:7] == sklearn_private._ARGS_18[:7] and args[-1] == "average"
        assert ("C" in args) == (version < "1.8"), version  # 1.6 and 1.7 only (no 1.10 yet)
        assert sklearn_private._series(version)[1] == (not version.startswith("1.6."))
    with pytest.raises(sklearn_private.StateError, match=r"scikit-learn 1\.5\.2 is not a"):
        sklearn_private._series("1.5.2")


# -- the environment switch --------------------------------------------------------------------
@pytest.mark.parametrize("value", ["0", "false", "No", " off "])
def test_the_environment_variable_turns_the_fast_path_off(monkeypatch, value):
    models = _models()
    monkeypatch.setenv("STREAMLAB_FASTPATH", value)
    why = f"disabled by STREAMLAB_FASTPATH={value}"
    assert sklearn_private.unavailable() == why
    for model in models:
        assert fast_path(model) == (None, why)
        assert status(model) == f"public: {why}"
    monkeypatch.setenv("STREAMLAB_FASTPATH", "1")  # read again at each use
    assert all(status(m) == "fast" for m in models)


@pytest.mark.parametrize("value", ["", "1", "true", "YES", "on"])
def test_the_environment_variable_may_say_on(monkeypatch, value):
    monkeypatch.setenv("STREAMLAB_FASTPATH", value)
    assert sklearn_private.unavailable() is None
    assert all(status(m) == "fast" for m in _models())


def test_a_bad_environment_value_is_an_error_naming_it(monkeypatch):
    monkeypatch.setenv("STREAMLAB_FASTPATH", "fast")
    with pytest.raises(ConfigError) as err:
        fast_path(_models()[0])
    assert str(err.value) == (
        "STREAMLAB_FASTPATH='fast' is not one of 0, 1 (also false/true, no/yes, off/on); "
        "set STREAMLAB_FASTPATH=0 to turn the private fast paths off"
    )


FRESH = """
import numpy as np
from sklearn.linear_model import SGDRegressor
from streamlab.learn import Prequential, fastpath
model = SGDRegressor(random_state=0).partial_fit(np.eye(3), np.arange(3.0))
print(fastpath.status(model))
"""


@pytest.mark.parametrize(("value", "expected"), [(None, "fast"), ("0", "public: disabled by")])
def test_a_fresh_process_honours_the_environment_variable(value, expected):
    """What the benchmark's "fast path off" row relies on."""
    env = {k: v for k, v in os.environ.items() if k != "STREAMLAB_FASTPATH"}
    if value is not None:
        env["STREAMLAB_FASTPATH"] = value
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FRESH)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().startswith(expected), run.stdout


# -- status ------------------------------------------------------------------------------------
def test_status_says_fast_or_public_with_the_reason(monkeypatch):
    assert status(SGDRegressor()) == (
        "public: the model has not been fitted yet (its first partial_fit is public)"
    )
    assert status(_naive_bayes()) == (
        "public: MultinomialNB is not one of SGDClassifier, Perceptron, SGDRegressor"
    )
    averaged = _fitted(SGDClassifier(average=True, random_state=0))
    assert status(averaged).startswith("public: average=True")
    model, twin, X, y, _ = _pair(Case(SGDClassifier, "2-int"))
    other, *_ = _pair(Case(SGDClassifier, "2-int", params=dict(alpha=1e-2)))
    assert status(model) == status(other) == "fast"
    real = sklearn_private.SGDMirror.learn

    def off_by_a_little(self, X, y, target):
        real(self, X, y, target)
        self.model.intercept_ = self.model.intercept_ + 1e-9

    monkeypatch.setattr(sklearn_private.SGDMirror, "learn", off_by_a_little)
    fast, _ = fast_path(model)
    a, b = list(chunks())[4]
    fast.partial_fit(X[a:b], y[a:b])
    twin.partial_fit(X[a:b], y[a:b])
    assert_same_state(model, twin)  # the check gave the model the public result
    assert status(model) == f"public: {fast.reason}"
    assert "the fast update differed from partial_fit" in fast.reason
    assert status(other) == "fast"  # other settings: not checked yet
    assert np.array_equal(model.coef_, twin.coef_) and a > FIRST
