"""Parameters re-tuned while a stream runs: each checked like the constructor's argument, each
changing what the step does from the next batch (against pandas / scikit-learn references)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import SGDClassifier, SGDRegressor
from streamz import Stream

import streamlab
from streamlab.core.params import Param, tunable_nodes
from streamlab.errors import ConfigError
from streamlab.learn.detectors import PageHinkley


def frame(values, start=0, freq="1s"):
    t = pd.date_range("2026-01-01", periods=len(values), freq=freq, tz="UTC") + pd.Timedelta(
        seconds=start
    )
    df = pd.DataFrame({"time": t, "x": np.asarray(values, dtype=float)})
    df.attrs["time_column"] = "time"
    return df


def test_param_check_names_the_value_and_the_fix():
    p = Param("speed", low=0, fix="use speed=0 for as fast as possible")
    assert p.check(3) == 3.0 and isinstance(p.check(3), float)
    with pytest.raises(ConfigError, match=r"speed must be >= 0, not -2; use speed=0"):
        p.check(-2)
    with pytest.raises(ConfigError, match=r"speed must be a number, not 'fast'"):
        p.check("fast")
    assert Param("n", low=1, integer=True).check(5) == 5
    with pytest.raises(ConfigError, match=r"n must be an integer, not 2\.5"):
        Param("n", low=1, integer=True).check(2.5)
    assert Param("a", log=True, low=0).slider_range() == (0.001, 100.0)
    assert Param("a", log=True, low=0, span=(0.01, 1000)).slider_range() == (0.01, 1000.0)


def test_unknown_parameter_lists_the_known_ones():
    src = streamlab.generate("noise", rows=1)
    with pytest.raises(ConfigError, match=r"no tunable parameter 'sped'; .*: speed"):
        src.set_param("sped", 2)
    with pytest.raises(ConfigError, match="speed must be >= 0, not -1"):
        src.set_param("speed", -1)
    assert src.speed == 0.0  # a refused value leaves the step as it was


def test_rolling_rows_shrunk_then_grown_matches_pandas():
    src = Stream()
    node = src.rolling(10, agg={"x": "mean"})
    out = node.sink_to_list()
    x = np.random.default_rng(1).normal(size=300)
    src.emit(frame(x[:100]))
    node.set_param("window", 3)  # shrink: the kept rows are more than enough
    src.emit(frame(x[100:200], start=100))
    expect = pd.Series(x[:200]).rolling(3, min_periods=1).mean().to_numpy()[100:200]
    np.testing.assert_allclose(out[1]["x_mean"], expect)
    node.set_param("window", 50)  # grow: fills up from the 2 rows kept for window 3
    src.emit(frame(x[200:], start=200))
    expect = pd.Series(x[198:]).rolling(50, min_periods=1).mean().to_numpy()[2:]
    np.testing.assert_allclose(out[2]["x_mean"], expect)
    assert node.get_param("window") == 50
    with pytest.raises(ConfigError, match="window must be an integer, not '30s'"):
        node.set_param("window", "30s")  # a row window stays a row window


def test_rolling_time_window_changes_and_refuses_rows():
    src = Stream()
    node = src.rolling("10s", agg={"x": "sum"})
    out = node.sink_to_list()
    src.emit(frame(np.ones(30)))
    node.set_param("window", "5s")
    src.emit(frame(np.ones(30), start=30))
    assert out[1]["x_sum"].tolist() == [5.0] * 30  # pandas: a 5 s window over 1 s rows
    assert node.get_param("window") == "5s"
    with pytest.raises(ConfigError, match=r"window=100 is a row count"):
        node.set_param("window", 100)
    with pytest.raises(ConfigError, match=r"window must be a row count >= 1 .* not 'soon'"):
        node.set_param("window", "soon")


def test_anomaly_threshold_applies_to_the_next_batch():
    src = Stream()
    node = src.robust_zscore("x", window=50)
    out = node.sink_to_list()
    x = np.random.default_rng(2).normal(size=400)
    src.emit(frame(x[:200]))
    node.set_param("threshold", 1.0)
    src.emit(frame(x[200:], start=200))
    for df, t in ((out[0], 4.0), (out[1], 1.0)):
        score = df["x_rz_score"].to_numpy()
        np.testing.assert_array_equal(df["x_rz_anomaly"].to_numpy(), np.abs(score) > t)
    assert out[1]["x_rz_anomaly"].sum() > 20 * max(1, out[0]["x_rz_anomaly"].sum())
    with pytest.raises(
        ConfigError, match=re.escape("threshold must be > 0, not -1; for example threshold=4.0")
    ):
        node.set_param("threshold", -1)
    with pytest.raises(ConfigError, match="threshold must be > 0, not 0"):
        node.set_param("threshold", 0)
    assert node.threshold == 1.0


def test_isolation_forest_threshold_moves_the_cut_of_fitted_forests():
    src = Stream()
    node = src.isolation_forest("x", window=100, seed=0)
    out = node.sink_to_list()
    x = np.random.default_rng(3).normal(size=300)
    src.emit(frame(x[:200]))
    node.set_param("threshold", 0.45)
    src.emit(frame(x[200:], start=200))
    df = out[1]
    np.testing.assert_array_equal(
        df["x_iforest_anomaly"].to_numpy(), df["x_iforest_score"].to_numpy() > 0.45
    )
    assert df["x_iforest_anomaly"].mean() > 0.3  # a low cut flags much of the normal tail


def test_drift_sensitivity_reaches_existing_detectors():
    values = np.r_[np.zeros(500), np.full(500, 1.0)]
    src = Stream()
    node = src.detect_drift("x", method="page_hinkley", threshold=5.0)
    events = node.events.sink_to_list()
    src.emit(frame(values[:400]))
    node.set_param("threshold", 100.0)
    src.emit(frame(values[400:], start=400))
    ref = PageHinkley(threshold=5.0)
    ref.update(values[:400])
    ref.threshold = 100.0
    expect = ref.update(values[400:])  # the reference detector, changed the same way
    got = [int(p) - 400 for e in events for p in e["position"]]
    assert got == list(expect)
    fresh = PageHinkley(threshold=5.0).update(values)
    assert len(fresh) and (not len(got) or got[0] + 400 > fresh[0])  # later or never
    assert node.get_param("threshold") == 100.0
    ddm = Stream().detect_drift("x", method="ddm")
    with pytest.raises(ConfigError, match=r"drift must be >= 2\.0"):
        ddm.set_param("drift", 1.0)  # below DDM's warning level: the detector's own check
    assert ddm.get_param("drift") == 3.0
    adwin = Stream().detect_drift("x", method="adwin")
    assert adwin.get_param("delta") == 0.002
    with pytest.raises(ConfigError, match="delta must be > 0"):
        adwin.set_param("delta", 0)


def test_learning_rate_matches_sklearn_changed_the_same_way():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(600, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(scale=0.1, size=600)
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y)
    est = SGDRegressor(learning_rate="constant", eta0=0.001, random_state=0)
    ref = clone(est)
    src = Stream()
    node = src.learn(est, target="y", chunk=None)
    src.emit(df.iloc[:300])
    node.set_param("learning_rate", 0.05)
    src.emit(df.iloc[300:])
    ref.partial_fit(X[:300], y[:300])
    ref.set_params(eta0=0.05)
    ref.partial_fit(X[300:], y[300:])
    np.testing.assert_allclose(node.model.coef_, ref.coef_)
    assert node.get_param("learning_rate") == 0.05
    with pytest.raises(ConfigError, match="learning_rate must be > 0, not 0"):
        node.set_param("learning_rate", 0)
    optimal = Stream().learn(SGDClassifier(), target="y")  # "optimal" ignores eta0
    assert optimal.params() == {}
    with pytest.raises(ConfigError, match="no tunable parameter 'learning_rate'"):
        optimal.set_param("learning_rate", 0.1)


def test_codec_switch_mid_stream_round_trips_with_decompress_auto():
    src = Stream()
    packed = src.compress("zlib")
    back = packed.decompress("auto").sink_to_list()
    strict = packed.decompress("zlib")
    dead = strict.errors.sink_to_list()
    frames = [pd.DataFrame({"x": np.arange(i, i + 50.0)}) for i in range(0, 200, 50)]
    names = []
    for f, codec in zip(frames, ["zlib", "lzma", "timeseries", "huffman"], strict=True):
        packed.set_param("codec", codec)
        names.append(packed.get_param("codec"))
        src.emit(f)
    pd.testing.assert_frame_equal(
        pd.concat(back, ignore_index=True), pd.concat(frames, ignore_index=True)
    )
    assert names == ["zlib", "lzma", "timeseries", "huffman"]
    assert len(dead) == 3  # a fixed-codec reader says which codec wrote each other frame
    assert "written by codec 'lzma'" in dead[0]["reason"].iloc[0]
    with pytest.raises(ConfigError, match="codec='quantize' is not one of"):
        packed.set_param("codec", "quantize")  # lossy codecs need a bound: not switchable


def test_tunable_nodes_walks_the_whole_pipeline():
    src = streamlab.generate("noise", rows=10)
    roll = src.rolling(5, agg={"value": "mean"})
    z = roll.robust_zscore("value")
    src.map(len)  # a branch without parameters
    assert tunable_nodes(z) == [src, roll, z]
    assert [list(n.params()) for n in tunable_nodes(src)] == [["speed"], ["window"], ["threshold"]]
