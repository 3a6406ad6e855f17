"""Windows on event time, exact against pandas whatever the batch boundaries and arrival order
(within the allowed lateness)."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamz import Stream

import streamlab
from streamlab.errors import ConfigError

T0 = pd.Timestamp("2026-01-01", tz="UTC")
AGG = {"v": ["count", "sum", "mean", "min", "max", "var", "std", "first", "last"]}
PANDAS = {
    "count": "count",
    "sum": "sum",
    "mean": "mean",
    "min": "min",
    "max": "max",
    "var": "var",
    "std": "std",
    "first": "first",
    "last": "last",
}


def make_data(seed: int, n: int, keys: int, span_s: int, lateness_s: float):
    """Rows in event-time order, then an arrival order shuffled within the lateness."""
    rng = np.random.default_rng(seed)
    t = T0 + pd.to_timedelta(np.sort(rng.integers(0, span_s * 1000, n)), unit="ms")
    df = pd.DataFrame(
        {"t": t, "k": rng.integers(0, keys, n).astype(str), "v": np.round(rng.normal(10, 3, n), 3)}
    )
    df.loc[rng.random(n) < 0.05, "v"] = np.nan  # missing values are skipped, as in pandas
    jitter = rng.uniform(0, lateness_s * 1000 * 0.999, n) if lateness_s else np.zeros(n)
    ms = df["t"].to_numpy(dtype="datetime64[ms]").astype("int64")
    arrival = np.argsort(ms + jitter, kind="stable")
    return df, df.iloc[arrival].reset_index(drop=True)


def feed(node_factory, arrived: pd.DataFrame, cuts: list[int]):
    src = Stream()
    node = node_factory(src)
    out = node.sink_to_list()
    edges = sorted({0, len(arrived), *[c % (len(arrived) + 1) for c in cuts]})
    for a, b in itertools.pairwise(edges):
        if b > a:
            src.emit(arrived.iloc[a:b])
    node.end_of_input()
    return node, (pd.concat(out, ignore_index=True) if out else pd.DataFrame())


def reference_tumbling(df, size, keys):
    grouped = df.groupby([pd.Grouper(key="t", freq=size, origin="epoch"), *keys])["v"]
    ref = grouped.agg(list(PANDAS.values()))
    ref = ref[grouped.size() > 0].reset_index().rename(columns={"t": "window_start"})
    ref.columns = ["window_start", *keys, *[f"v_{a}" for a in PANDAS]]
    ref.insert(1, "window_end", ref["window_start"] + pd.Timedelta(size))
    return ref.sort_values(["window_start", *keys], ignore_index=True)


def same(got: pd.DataFrame, ref: pd.DataFrame) -> None:
    """Equal as tables: rows ordered by window and key, times compared in one unit."""
    order = [c for c in ("window_start", "k") if c in ref.columns]
    got = got[ref.columns].sort_values(order, kind="stable", ignore_index=True)
    ref = ref.sort_values(order, kind="stable", ignore_index=True)
    for c in ("window_start", "window_end"):
        if c in ref.columns:
            got[c], ref[c] = got[c].dt.as_unit("ns"), ref[c].dt.as_unit("ns")
    pd.testing.assert_frame_equal(got, ref, check_dtype=False, rtol=1e-9, atol=1e-12)


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(1, 400),
    keys=st.integers(1, 3),
    size=st.sampled_from(["1s", "7s", "1min"]),
    lateness=st.sampled_from([0, 2, 30]),
    cuts=st.lists(st.integers(0, 10**6), max_size=12),
)
def test_tumbling_equals_pandas_grouper(seed, n, keys, size, lateness, cuts):
    df, arrived = make_data(seed, n, keys, 120, lateness)
    key = ["k"] if keys > 1 else []
    node, got = feed(
        lambda s: s.window(size, on="t", key=key or None, agg=AGG, allowed_lateness=f"{lateness}s"),
        arrived,
        cuts,
    )
    same(got, reference_tumbling(df, size, key))
    assert node.stats.late == 0 and node.stats.rows == n


def reference_sliding(df, size, slide, keys):
    size, slide = pd.Timedelta(size), pd.Timedelta(slide)
    first = (df["t"].min() - size).floor(slide)
    rows = []
    start = first
    while start <= df["t"].max():
        inside = df[(df["t"] >= start) & (df["t"] < start + size)]
        for key, part in inside.groupby(keys) if keys else [((), inside)]:
            if len(part):
                r = {"window_start": start, "window_end": start + size}
                r.update(dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True)))
                values = part.groupby(lambda _: 0)["v"].agg(list(PANDAS.values())).iloc[0]
                r.update({f"v_{a}": values[f] for a, f in PANDAS.items()})
                rows.append(r)
        start += slide
    return pd.DataFrame(rows).sort_values(["window_start", *keys], ignore_index=True)


@settings(max_examples=20, deadline=None, derandomize=True, database=None)
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(1, 200),
    keys=st.integers(1, 2),
    sizes=st.sampled_from([("10s", "5s"), ("10s", "3s"), ("6s", "6s")]),
    lateness=st.sampled_from([0, 4]),
    cuts=st.lists(st.integers(0, 10**6), max_size=8),
)
def test_sliding_equals_a_window_by_window_reference(seed, n, keys, sizes, lateness, cuts):
    df, arrived = make_data(seed, n, keys, 60, lateness)
    key = ["k"] if keys > 1 else []
    size, slide = sizes
    node, got = feed(
        lambda s: s.window(
            size, slide=slide, on="t", key=key or None, agg=AGG, allowed_lateness=f"{lateness}s"
        ),
        arrived,
        cuts,
    )
    same(got, reference_sliding(df, size, slide, key))
    assert node.stats.late == 0


def reference_sessions(df, gap, keys):
    gap = pd.Timedelta(gap)
    d = df.sort_values([*keys, "t"], kind="stable")
    new = d["t"].diff() >= gap
    if keys:
        new |= d["k"] != d["k"].shift()
    new.iloc[0] = True
    d = d.assign(sid=new.cumsum())
    g = d.groupby("sid")
    ref = g["v"].agg(list(PANDAS.values()))
    ref.columns = [f"v_{a}" for a in PANDAS]
    ref.insert(0, "window_start", g["t"].min())
    ref.insert(1, "window_end", g["t"].max() + gap)
    for k in keys:
        ref.insert(2, k, g[k].first())
    return ref.sort_values(["window_start", *keys], ignore_index=True)


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(1, 300),
    keys=st.integers(1, 3),
    gap=st.sampled_from(["500ms", "2s", "10s"]),
    lateness=st.sampled_from([0, 3]),
    cuts=st.lists(st.integers(0, 10**6), max_size=10),
)
def test_sessions_equal_pandas(seed, n, keys, gap, lateness, cuts):
    df, arrived = make_data(seed, n, keys, 200, lateness)
    key = ["k"] if keys > 1 else []
    node, got = feed(
        lambda s: s.session_window(
            gap, on="t", key=key or None, agg=AGG, allowed_lateness=f"{lateness}s"
        ),
        arrived,
        cuts,
    )
    same(got, reference_sessions(df, gap, key))
    assert node.stats.late == 0


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(1, 300),
    keys=st.integers(1, 3),
    rows=st.integers(1, 17),
    cuts=st.lists(st.integers(0, 10**6), max_size=10),
)
def test_count_windows_equal_pandas(seed, n, keys, rows, cuts):
    df, _ = make_data(seed, n, keys, 100, 0)
    key = ["k"] if keys > 1 else []
    _, got = feed(
        lambda s: s.window(rows, on="t", key=key or None, agg={"v": ["count", "sum"]}), df, cuts
    )
    number = (df.groupby(key).cumcount() if key else pd.Series(np.arange(n))) // rows
    g = df.assign(window=number).groupby([*key, "window"])
    ref = pd.DataFrame(
        {
            "rows": g.size(),
            "v_count": g["v"].count(),
            "v_sum": g["v"].sum(),
            "window_start": g["t"].min(),
            "window_end": g["t"].max(),
        }
    ).reset_index()
    cols = [*key, "window", "rows", "window_start", "window_end", "v_count", "v_sum"]
    got = got.sort_values([*key, "window"], ignore_index=True)
    pd.testing.assert_frame_equal(got[cols], ref[cols], check_dtype=False)


def test_ewma_equals_pandas_ewm_with_times():
    df, _ = make_data(1, 500, 1, 60, 0)
    df = df.dropna()
    _, got = feed(lambda s: s.window("10s", on="t", agg={"v": ["ewma:2s"]}), df, [100, 333])
    for row in got.itertuples():
        part = df[(df["t"] >= row.window_start) & (df["t"] < row.window_end)]
        ref = part["v"].ewm(halflife="2s", times=part["t"]).mean().iloc[-1]
        assert row.v_ewma_2s == pytest.approx(ref, rel=1e-9)


def test_late_rows_are_counted_exactly_and_never_change_an_append_result():
    src = Stream()
    w = src.window("10s", on="t", agg={"v": ["count", "sum"]}, allowed_lateness="2s", late="stream")
    out, late = w.sink_to_list(), w.late.sink_to_list()
    at = lambda s: T0 + pd.Timedelta(seconds=s)  # noqa: E731
    src.emit(pd.DataFrame({"t": [at(1), at(5), at(13)], "v": [1, 2, 3]}))  # wm 11: [0,10) fires
    first = out[0].copy()
    src.emit(pd.DataFrame({"t": [at(9), at(11.5), at(2), at(25)], "v": [100, 4, 200, 5]}))
    w.end_of_input()
    assert w.stats.late == 2  # 9 and 2: their window [0, 10) closed at watermark 11
    assert pd.concat(late)["v"].tolist() == [100, 200]
    pd.testing.assert_frame_equal(out[0], first)
    result = pd.concat(out, ignore_index=True)
    assert result["v_sum"].tolist() == [3, 7, 5] and result["v_count"].tolist() == [2, 2, 1]


def test_late_update_policy_re_emits_the_window():
    src = Stream()
    w = src.window("10s", on="t", agg={"v": ["sum"]}, late="update", retain="20s")
    out = w.sink_to_list()
    at = lambda s: T0 + pd.Timedelta(seconds=s)  # noqa: E731
    src.emit(pd.DataFrame({"t": [at(1), at(12)], "v": [1, 2]}))
    src.emit(pd.DataFrame({"t": [at(3)], "v": [10]}))  # late, within retention: re-emitted
    src.emit(pd.DataFrame({"t": [at(60), at(4)], "v": [0, 99]}))  # 4 is past retention
    rows = pd.concat(out, ignore_index=True)
    first_window = rows[rows["window_start"] == T0]["v_sum"].tolist()
    assert first_window == [1, 11]
    assert w.stats.late == 2 and w.stats.too_late == 1


def test_output_modes_side_by_side():
    df, _ = make_data(3, 300, 2, 60, 0)
    ref = reference_tumbling(df, "10s", ["k"])[["window_start", "k", "v_sum"]]
    results = {}
    for mode in ("append", "update", "complete"):
        src = Stream()
        w = src.window("10s", on="t", key="k", agg={"v": ["sum"]}, output=mode)
        out = w.sink_to_list()
        for i in range(0, 300, 50):
            src.emit(df.iloc[i : i + 50])
        w.end_of_input()
        results[mode] = out

    def final(frames):
        last = pd.concat(frames).drop_duplicates(["window_start", "k"], keep="last")
        return last.sort_values(["window_start", "k"], ignore_index=True)

    for mode in ("append", "update"):
        same(final(results[mode]), ref)
    same(results["complete"][-1], ref)  # the last table holds everything
    assert len(results["complete"]) == 6 and len(results["append"]) <= 6
    assert sum(map(len, results["update"])) > len(ref)  # windows re-emitted as they grew


def test_replay_at_speed_zero_and_fifty_gives_identical_windows(tmp_path):
    df, _ = make_data(5, 2000, 3, 30, 0)
    path = tmp_path / "s.csv"
    df.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    results = []
    for speed in (0, 50):
        src = streamlab.replay(path, time_column="t", speed=speed, max_rows=97)
        got = src.window("2s", key="k", agg={"v": ["mean", "max", "count"]}).sink_to_list()
        streamlab.run(src)  # the end of the file flushes the open windows
        results.append(pd.concat(got, ignore_index=True))
    pd.testing.assert_frame_equal(results[0], results[1])
    assert results[0]["v_count"].sum() == df["v"].count()


def test_state_holds_only_open_windows_with_many_keys():
    src = Stream()
    w = src.window("1s", on="t", key="k", agg={"v": ["mean"]})
    w.sink(lambda df: None)
    rng = np.random.default_rng(0)
    for second in range(30):
        t = T0 + pd.to_timedelta(second * 1000 + np.sort(rng.integers(0, 1000, 20_000)), unit="ms")
        src.emit(pd.DataFrame({"t": t, "k": rng.integers(0, 10_000, 20_000), "v": 1.0}))
        assert w.stats.open_windows <= 10_000  # one second's windows; closed ones are freed
    assert w.stats.fired > 250_000


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": "0s"}, "size must be a duration > 0 such as '30s', '5min' or '1h', not '0s'"),
        ({"size": "soon"}, "size must be a duration > 0 such as '30s', '5min' or '1h', not 'soon'"),
        ({"size": "5s", "slide": "10s"}, "slide='10s' is longer than size='5s'"),
        (
            {"size": "5s", "agg": {"v": ["meen"]}},
            "aggregate='meen' is not one of 'count', 'sum', "
            "'mean', 'var', 'std', 'min', 'max', 'first', 'last', 'ewma', 'quantile', 'median', "
            "'distinct', 'topk'. Did you mean 'mean'?",
        ),
        (
            {"size": "5s", "output": "appnd"},
            "output='appnd' is not one of 'append', 'update', 'complete'. Did you mean 'append'?",
        ),
        (
            {"size": "5s", "late": "ignore"},
            "late='ignore' is not one of 'drop', 'stream', 'update'",
        ),
        ({"size": "5s", "agg": {"v": ["quantile:1.5"]}}, "quantile needs a level in [0, 1]"),
        ({"size": 0}, "size must be >= 1, not 0"),
        (
            {"size": 10, "output": "update"},
            "count windows (an int size) are tumbling and append-only",
        ),
    ],
)
def test_bad_arguments(kwargs, message):
    kwargs = {"agg": {"v": ["mean"]}, **kwargs}
    with pytest.raises(ConfigError, match=re.escape(message)):
        Stream().window(kwargs.pop("size"), **kwargs)


def test_missing_time_column_and_unknown_columns_are_named():
    src = Stream()
    w = src.window("5s", agg={"v": ["mean"]})  # held: streamz refers to its nodes weakly
    with pytest.raises(
        ConfigError,
        match=re.escape("window(5s) needs an event-time column and this batch names none"),
    ):
        src.emit(pd.DataFrame({"v": [1.0]}))
    src2 = Stream()
    w2 = src2.window("5s", on="t", agg={"w": ["mean"]})
    with pytest.raises(
        ConfigError, match=re.escape("agg names columns ['w'] that the stream does not have")
    ):
        src2.emit(pd.DataFrame({"t": [T0], "v": [1.0]}))
    assert w.stats.rows == 0 and w2.stats.rows == 0


def test_sketch_aggregates_in_windows_stay_within_their_bounds():
    rng = np.random.default_rng(11)
    n = 60_000
    t = T0 + pd.to_timedelta(np.sort(rng.integers(0, 60_000, n)), unit="ms")
    users = rng.zipf(1.6, n) % 5000
    df = pd.DataFrame({"t": t, "v": rng.lognormal(0, 1, n), "user": users})
    agg = {"v": ["quantile:0.9", "median"], "user": ["distinct", "topk:3"]}
    _, got = feed(lambda s: s.window("20s", on="t", agg=agg), df, list(range(0, n, 7000)))
    assert len(got) == 3
    for row in got.to_dict("records"):
        part = df[(df["t"] >= row["window_start"]) & (df["t"] < row["window_end"])]
        values = np.sort(part["v"].to_numpy())
        for q, got_q in ((0.9, row["v_quantile_0.9"]), (0.5, row["v_median"])):
            rank = np.searchsorted(values, got_q, side="right") / len(values)
            assert abs(rank - q) <= 0.01  # KLL: rank error <= 1%
        exact = part["user"].nunique()
        assert abs(row["user_distinct"] - exact) <= 0.02 * exact  # HyperLogLog: <= 2%
        assert row["user_topk_3"] == part["user"].value_counts().index[:3].tolist()


def test_an_empty_batch_does_not_restart_a_count_window():
    src = Stream()
    w = src.window(2, agg={"x": ["sum"]})
    out = w.sink_to_list()
    for xs in ([1.0, 2.0, 3.0], [], [4.0, 5.0]):
        src.emit(pd.DataFrame({"x": xs}))
    w.end_of_input()
    got = pd.concat(out, ignore_index=True)
    assert got[["window", "rows", "x_sum"]].values.tolist() == [
        [0, 2, 3.0],
        [1, 2, 7.0],
        [2, 1, 5.0],
    ]
