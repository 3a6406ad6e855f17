"""The learn algorithms alone (no streams) against the steps that hold them, and the time column
the learn steps choose through core.batch.resolve_time_column."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, SGDClassifier
from streamz import Stream

import streamlab.learn  # noqa: F401  (registers the steps)
from streamlab.errors import ConfigError
from streamlab.learn import (
    EwmaChart,
    IsolationForestScorer,
    LabelledLines,
    RobustZScore,
    WindowRefit,
)

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def series(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[rng.choice(n, n // 50, replace=False)] += 8.0
    return x


def cut(n: int, seed: int) -> list[tuple[int, int]]:
    edges = np.sort(np.random.default_rng(seed).choice(np.arange(1, n), 6, replace=False))
    bounds = [0, *edges.tolist(), n]
    return list(itertools.pairwise(bounds))


def step_output(step: str, x: np.ndarray, times=None, **options) -> pd.DataFrame:
    src = Stream()
    out = getattr(src, step)("v", **options).sink_to_list()
    frame = pd.DataFrame({"v": x})
    if times is not None:
        frame.insert(0, "t", times)
    src.emit(frame)
    return out[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("step", "make", "options"),
    [
        (
            "robust_zscore",
            lambda: RobustZScore(20, min_periods=5),
            {"window": 20, "min_periods": 5},
        ),
        (
            "robust_zscore",
            lambda: RobustZScore(pd.Timedelta("7s"), min_periods=3),
            {"window": "7s", "min_periods": 3, "on": "t"},
        ),
        ("ewma_chart", lambda: EwmaChart(alpha=0.1, warmup=5), {"alpha": 0.1, "warmup": 5}),
        (
            "isolation_forest",
            lambda: IsolationForestScorer(window=64, n_estimators=10),
            {"window": 64, "n_estimators": 10},
        ),
    ],
)
def test_a_scorer_cut_anywhere_gives_what_its_step_gives(seed, step, make, options):
    n = 300
    x = series(n, seed)
    times = T0 + pd.to_timedelta(np.arange(n), unit="s")
    want = step_output(step, x, times if "on" in options else None, **options)
    scorer = make()
    state = scorer.new_state()
    t_ns = times.as_unit("ns").asi8 if scorer.by_time else None
    parts = [
        scorer.score(state, x[a:b], None if t_ns is None else t_ns[a:b]) for a, b in cut(n, seed)
    ]
    method = scorer.method
    np.testing.assert_array_equal(
        np.concatenate([p.score for p in parts]), want[f"v_{method}_score"].to_numpy()
    )
    np.testing.assert_array_equal(
        np.concatenate([p.flag for p in parts]), want[f"v_{method}_anomaly"].to_numpy()
    )
    assert sum(p.late for p in parts) == 0


def test_a_time_window_refuses_rows_without_times_and_counts_late_ones():
    z = RobustZScore(pd.Timedelta("5s"), min_periods=1)
    with pytest.raises(ConfigError, match="a time window needs the rows' event times"):
        z.score(z.new_state(), np.array([1.0]))
    t = np.array([10, 5, 20]) * 10**9
    r = z.score(z.new_state(), np.array([1.0, 2.0, 3.0]), t)
    assert r.late == 1 and np.isnan(r.score[1]) and not np.isnan(r.score[2])


@pytest.mark.parametrize(
    ("window", "on", "frame", "message"),
    [
        (
            "1min",
            None,
            pd.DataFrame({"x": [1.0], "y": [2.0]}),
            "refit(window='1min') needs an event-time column and this batch names none; "
            "pass on='time' (a datetime column) or give the source time_column='time'",
        ),
        (
            10,
            "when",
            pd.DataFrame({"x": [1.0], "y": [2.0]}),
            "on='when' is not a column of this batch; its columns are ['x', 'y']",
        ),
    ],
)
def test_refit_chooses_its_time_column_in_the_one_place(window, on, frame, message):
    r = WindowRefit(LinearRegression(), window=window, target="y", features=["x"], on=on)
    with pytest.raises(ConfigError) as err:
        r.update(frame)
    assert str(err.value) == message


def test_a_row_count_refit_labels_bounds_only_when_the_batch_has_its_time_column():
    frame = pd.DataFrame(
        {
            "t": T0 + pd.to_timedelta(np.arange(4), unit="s"),
            "x": [0.0, 1, 2, 3],
            "y": [1.0, 3, 5, 7],
        }
    )
    frame.attrs["time_column"] = "t"
    r = WindowRefit(LinearRegression(), window=4, target="y", features=["x"], holdout=0)
    rows, _ = r.update(frame)
    assert rows["window_start"].tolist() == [T0] and rows.attrs["time_column"] == "window_end"
    dropped = frame[["x", "y"]]  # pandas keeps attrs: the batch names a column it lost
    assert dropped.attrs["time_column"] == "t"
    rows, _ = r.update(dropped)
    assert "window_start" not in rows.columns and rows["coef_x"].round(6).tolist() == [2.0]


def test_learn_stats_and_lines_stats_are_plain_dicts():
    src = Stream()
    lines = LabelledLines(src)
    node = lines.learn(SGDClassifier(random_state=0), target="label", features=["x"])
    src.emit(pd.DataFrame({"line": ["a\t1", "b\t2", "oops"]}))
    assert lines.stats.as_dict() == {"rows": 3, "bad": 1} and lines.bad == 1
    stats = node.stats.as_dict()
    assert stats["bad"] == {"missing column": 2} and stats["dead"] == 2 and stats["rows"] == 2
