"""Anomaly steps: exact against independent references, whatever the batches; stated accuracy.

Stated accuracy, default parameters, on ``streamlab.generate(kind, rows=20_000,
anomaly_rate=0.01, anomaly_size=6)`` (6-sigma spikes on 1 % of rows), over the scored rows,
mean of seeds 0-4:

================  ==================================  ===================================
step              ``"noise"``, noise=1                ``"sine"`` (noise 0.1)
================  ==================================  ===================================
robust_zscore     precision >= 0.95, recall >= 0.93   precision >= 0.95, recall >= 0.99
ewma_chart        precision >= 0.97, recall >= 0.93   precision >= 0.99, recall >= 0.99
isolation_forest  precision >= 0.95, recall >= 0.95   not stated: on a sine's values alone
                                                      it flags normal rows too (P ~0.85)
================  ==================================  ===================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.metrics import precision_recall_fscore_support
from streamz import Stream

import streamlab
from streamlab.errors import ConfigError
from streamlab.learn.anomaly import score_against_truth

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def generated(kind: str, seed: int, rows: int = 20_000, **options) -> pd.DataFrame:
    gen = streamlab.generate(
        kind, rows=rows, seed=seed, anomaly_rate=0.01, anomaly_size=6, **options
    )
    frame = pd.concat([gen.block(b) for b in range(-(-rows // 4096))], ignore_index=True)
    frame = frame.iloc[:rows]
    frame.attrs["time_column"] = "time"
    return frame


def run(df: pd.DataFrame, step: str, cuts=(), **options):
    src = Stream()
    node = getattr(src, step)("value", **options)
    out = node.sink_to_list()
    for part in np.split(np.arange(len(df)), list(cuts)):
        if len(part):
            src.emit(df.iloc[part])
    return node, pd.concat(out)


def random_cuts(n: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(np.arange(1, n), size=int(rng.integers(1, 30)), replace=False))


# -- references --------------------------------------------------------------------------


def robust_reference(df, window, min_periods, key=None) -> np.ndarray:
    """pandas rolling median and MAD (per key), on the whole frame at once."""
    mad = lambda w: np.median(np.abs(w - np.median(w)))  # noqa: E731
    on = "time" if isinstance(window, str) else None
    out = pd.Series(np.nan, index=df.index)
    groups = [df] if key is None else [g for _, g in df.groupby(key, sort=False)]
    for g in groups:
        r = g.rolling(window, on=on, min_periods=min_periods)["value"]
        med, scale = r.median(), r.apply(mad, raw=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (g["value"] - med) / (1.482602218505602 * scale)
        z[(g["value"] == med) & (scale == 0)] = 0.0
        out[g.index] = z
    return out.to_numpy()


def ewma_reference(x, alpha, alpha_var, warmup) -> np.ndarray:
    """The chart one value at a time, in plain Python."""
    out, mean, var = [], 0.0, 0.0
    for n, v in enumerate(x):
        if n == 0:
            mean, z = v, np.nan
        else:
            e = v - mean
            sigma = np.sqrt(var / (1 - (1 - alpha_var) ** (n - 1))) if n > 1 else np.nan
            z = 0.0 if e == 0 else e / sigma
            mean = (1 - alpha) * mean + alpha * v
            var = (1 - alpha_var) * var + alpha_var * e * e
        out.append(z if n >= warmup else np.nan)
    return np.array(out)


# -- exactness and batch independence ------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "key"), [(20, None), (100, None), (50, "key"), ("1s", None), ("300ms", "key")]
)
def test_robust_zscore_equals_pandas_whatever_the_batches(window, key):
    df = generated("noise", 1, rows=3000, noise=1.0, keys=3 if key else 1)
    if isinstance(window, str):  # irregular event times, with repeats
        gaps = np.random.default_rng(0).integers(0, 3, len(df))
        df["time"] = T0 + pd.to_timedelta(np.cumsum(gaps), unit="ms")
    df.loc[::97, "value"] = 2.0  # ties, and windows whose MAD can be 0
    expected = robust_reference(df, window, 10, key)
    for seed in range(3):
        node, out = run(df, "robust_zscore", random_cuts(len(df), seed), window=window, key=key)
        np.testing.assert_allclose(out["value_rz_score"], expected, rtol=1e-12, atol=1e-12)
        flags = np.abs(np.nan_to_num(expected)) > 4.0
        np.testing.assert_array_equal(out["value_rz_anomaly"], flags)
        assert node.stats.unscored == int(np.isnan(expected).sum())


def test_robust_zscore_mad_of_zero():
    df = pd.DataFrame({"value": [1.0] * 12 + [3.0, 1.0]})
    _, out = run(df, "robust_zscore", window=10, min_periods=5)
    assert out["value_rz_score"].tolist()[4:] == [0.0] * 8 + [np.inf, 0.0]
    assert out["value_rz_anomaly"].tolist()[-2:] == [True, False]


@pytest.mark.parametrize(("alpha", "alpha_var", "warmup"), [(0.05, 0.01, 30), (0.3, 0.3, 2)])
def test_ewma_chart_equals_the_plain_recursion_whatever_the_batches(alpha, alpha_var, warmup):
    df = generated("sine", 2, rows=5000)
    df.loc[100:120, "value"] = 0.5  # e == 0 rows
    expected = ewma_reference(df["value"].to_numpy(), alpha, alpha_var, warmup)
    for seed in range(3):
        _, out = run(
            df,
            "ewma_chart",
            random_cuts(len(df), seed),
            alpha=alpha,
            alpha_var=alpha_var,
            warmup=warmup,
        )
        np.testing.assert_allclose(out["value_ewma_score"], expected, rtol=1e-9, atol=1e-12)


def test_ewma_chart_per_key():
    df = generated("noise", 3, rows=4000, noise=1.0, keys=4)
    _, out = run(df, "ewma_chart", random_cuts(len(df), 3), key="key")
    for _, part in df.groupby("key"):
        expected = ewma_reference(part["value"].to_numpy(), 0.05, 0.01, 30)
        np.testing.assert_allclose(out.loc[part.index, "value_ewma_score"], expected, rtol=1e-9)


def test_isolation_forest_equals_sklearn_fits_on_each_window():
    df = generated("noise", 4, rows=2500, noise=1.0)
    x = df[["value"]].to_numpy()
    expected = np.full(len(df), np.nan)
    for start in range(500, len(df), 500):
        forest = IsolationForest(random_state=7).fit(x[start - 500 : start])
        expected[start : start + 500] = -forest.score_samples(x[start : start + 500])
    for seed in range(2):
        node, out = run(df, "isolation_forest", random_cuts(len(df), seed), window=500, seed=7)
        np.testing.assert_allclose(out["value_iforest_score"], expected)
        np.testing.assert_array_equal(out["value_iforest_anomaly"], np.nan_to_num(expected) > 0.75)
        assert node.stats.unscored == 500


def test_isolation_forest_several_columns_and_sklearn_predict():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=1200), "b": rng.normal(size=1200)})
    src = Stream()
    node = src.isolation_forest(["a", "b"], window=600, threshold=None, contamination=0.05)
    out = node.sink_to_list()
    src.emit(df)
    x = df.to_numpy()
    forest = IsolationForest(contamination=0.05, random_state=0).fit(x[:600])
    flags = out[0]["a_b_iforest_anomaly"].to_numpy()
    np.testing.assert_array_equal(flags[600:], forest.predict(x[600:]) == -1)
    assert flags[600:].any() and not flags[:600].any()


# -- stated accuracy -----------------------------------------------------------------------

ACCURACY = [
    ("robust_zscore", "noise", 0.95, 0.93),
    ("robust_zscore", "sine", 0.95, 0.99),
    ("ewma_chart", "noise", 0.97, 0.93),
    ("ewma_chart", "sine", 0.99, 0.99),
    ("isolation_forest", "noise", 0.95, 0.95),
]


@pytest.mark.parametrize(("step", "kind", "precision", "recall"), ACCURACY)
def test_stated_precision_and_recall(step, kind, precision, recall):
    scores = []
    for seed in range(5):
        df = generated(kind, seed, noise=1.0) if kind == "noise" else generated(kind, seed)
        node, out = run(df, step, range(1000, len(df), 1000))
        scored = out[out[node.score_col].notna()]
        scores.append(score_against_truth(scored, node.flag_col, "is_anomaly"))
    assert np.mean([s.precision for s in scores]) >= precision
    assert np.mean([s.recall for s in scores]) >= recall


def test_keyed_streams_keep_their_accuracy():
    df = generated("noise", 9, noise=1.0, keys=4)
    node, out = run(df, "robust_zscore", range(1000, len(df), 1000), key="key")
    score = score_against_truth(out[out[node.score_col].notna()], node.flag_col)
    assert score.precision >= 0.9 and score.recall >= 0.9 and node.stats.keys == 4


@pytest.mark.parametrize(
    ("flag", "truth"),
    [
        ([1, 1, 0, 0, 1, 0], [1, 0, 1, 0, 1, 0]),
        ([0, 0, 0], [0, 1, 1]),
        ([0, 0, 0], [0, 0, 0]),
        ([1, 1, 1], [1, 1, 1]),
    ],
)
def test_score_against_truth_equals_sklearn(flag, truth):
    df = pd.DataFrame({"f": np.array(flag, bool), "t": np.array(truth, bool)})
    p, r, f1, _ = precision_recall_fscore_support(
        df["t"], df["f"], average="binary", zero_division=0.0
    )
    got = score_against_truth(df, "f", "t")
    assert got[:3] == pytest.approx((p, r, f1))
    assert got.tp == int((df.f & df.t).sum())


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("step", ["robust_zscore", "ewma_chart", "isolation_forest"])
def test_nan_and_inf_rows_are_skipped_and_counted(step):
    df = generated("noise", 5, rows=3000, noise=1.0)
    bad = df.copy()
    holes = [5, 600, 601, 2500]
    bad.loc[holes, "value"] = [np.nan, np.inf, -np.inf, np.nan]
    options = {"window": 500} if step == "isolation_forest" else {}
    node, out = run(bad, step, [1000, 2000], **options)
    _, clean = run(bad.drop(holes), step, [1000, 2000], **options)
    assert node.stats.skipped == 4 and node.stats.rows == 3000
    assert out.loc[holes, node.score_col].isna().all()
    assert not out.loc[holes, node.flag_col].any()
    pd.testing.assert_frame_equal(out.drop(holes), clean)


def test_late_and_missing_times_are_not_scored():
    df = pd.DataFrame(
        {
            "time": T0 + pd.to_timedelta([0, 1, 2, 1, 3, 4], unit="s"),
            "value": [1.0, 2.0, 3.0, 9.0, 4.0, 5.0],
        }
    )
    df.loc[4, "time"] = pd.NaT
    node, out = run(df, "robust_zscore", [2], window="10s", min_periods=1, on="time")
    assert node.stats.late == 2 and node.stats.unscored == 0
    assert out["value_rz_score"].isna().tolist() == [False, False, False, True, True, False]


def _emit(step, batch, **options):
    src = Stream()
    node = getattr(src, step)(**options)  # noqa: F841  (streamz keeps nodes by weak reference)
    src.emit(batch)


BATCH = pd.DataFrame({"time": [T0], "value": [1.0]})


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: _emit("robust_zscore", BATCH, column="valeu"),
            "column='valeu' is not a column of this stream; its columns are ['time', 'value']. "
            "Did you mean 'value'?",
        ),
        (
            lambda: _emit("ewma_chart", BATCH, column="value", key="sensor"),
            "key='sensor' is not a column of this stream; its columns are ['time', 'value']",
        ),
        (
            lambda: _emit("robust_zscore", BATCH, column="value", window=1),
            "window must be a row count >= 2 such as 100 or a positive duration such as '30s' or "
            "'5min', not 1",
        ),
        (
            lambda: _emit("robust_zscore", BATCH, column="value", window="-5s"),
            "window must be a row count >= 2 such as 100 or a positive duration such as '30s' or "
            "'5min', not '-5s'",
        ),
        (
            lambda: _emit("isolation_forest", BATCH, column="value", window=1),
            "window must be a row count >= 2 such as 1000 (rows per refit), not 1",
        ),
        (
            lambda: _emit("robust_zscore", BATCH, column="value", threshold=0),
            "threshold must be > 0, not 0; for example threshold=4.0",
        ),
        (
            lambda: _emit("ewma_chart", BATCH, column="value", alpha=0),
            "alpha must be > 0, not 0; for example alpha=0.05",
        ),
        (
            lambda: _emit("robust_zscore", BATCH, column="value", window=10, on="time"),
            "on='time' is only for time windows such as '30s'; drop on=",
        ),
        (
            lambda: _emit("robust_zscore", BATCH, column="value", window="5s"),
            "robust_zscore(window='5s') needs an event-time column and this batch names "
            "none; pass on='time' (a datetime column) or give the source time_column='time'",
        ),
        (
            lambda: _emit("robust_zscore", BATCH, column="value", window="5s", on="when"),
            "on='when' is not a column of this batch; its columns are ['time', 'value']",
        ),
        (
            lambda: _emit("ewma_chart", BATCH.assign(value_ewma_score=0.0), column="value"),
            "ewma_chart would overwrite column(s) ['value_ewma_score']; rename them first",
        ),
        (
            lambda: _emit("ewma_chart", BATCH["value"], column="value"),
            "ewma_chart takes pandas DataFrame batches, not Series",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, message):
    with pytest.raises(ConfigError) as err:
        call()
    assert str(err.value) == message
