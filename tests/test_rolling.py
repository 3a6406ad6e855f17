"""stream.rolling: the same numbers as pandas on the whole stream, whatever the batches."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamz import Stream

import streamlab
from streamlab.errors import ConfigError
from streamlab.ops.rolling import AGGS, parse_rolling_aggs

ALL_AGGS = [*AGGS, "quantile:0.25", "quantile:0.9"]
T0 = pd.Timestamp("2026-01-01", tz="UTC")
SETTINGS = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,
)


def frame(gaps_ms, keys, values) -> pd.DataFrame:
    t = T0 + pd.to_timedelta(np.cumsum(gaps_ms), unit="ms")
    df = pd.DataFrame({"t": t.astype("datetime64[ns, UTC]"), "k": keys, "value": values})
    df.attrs["time_column"] = "t"
    return df


def reference(df, window, key, aggs) -> pd.DataFrame:
    """pandas on the whole data: ``df.rolling`` (per key: each group of ``groupby(key)``)."""
    on = "t" if isinstance(window, str) else None
    groups = [df] if key is None else [g for _, g in df.groupby(key, sort=False)]
    out = df.copy()
    for spec in parse_rolling_aggs(aggs):
        parts = []
        for g in groups:
            r = g.rolling(window, on=on, min_periods=1)[spec.column]
            parts.append(r.quantile(spec.q) if spec.q is not None else getattr(r, spec.method)())
        out[spec.name] = pd.concat(parts).reindex(df.index)
    return out


def run_batches(df, cuts, **kwargs):
    src = Stream()
    node = src.rolling(**kwargs)
    got = node.sink_to_list()
    late = node.late.sink_to_list()
    bounds = [0, *sorted(cuts), len(df)]
    for a, b in itertools.pairwise(bounds):
        src.emit(df.iloc[a:b])
    return node, got, late


def concat(frames, like):
    return pd.concat(frames) if frames else like.iloc[:0]


@st.composite
def streams(draw, *, sorted_times=True):
    n = draw(st.integers(1, 60))
    gaps = draw(
        st.lists(st.sampled_from([0, 0, 250, 500, 750, 1000, 3000]), min_size=n, max_size=n)
    )
    if not sorted_times:
        gaps = [g * draw(st.sampled_from([1, 1, 1, -2])) for g in gaps]
    keys = draw(st.lists(st.sampled_from("abc"), min_size=n, max_size=n))
    values = draw(
        st.lists(
            st.one_of(st.integers(-50, 50).map(float), st.just(np.nan)), min_size=n, max_size=n
        )
    )
    cuts = draw(st.lists(st.integers(0, n), max_size=8))
    return frame(gaps, keys, values), cuts


@SETTINGS
@given(
    data=streams(),
    window=st.one_of(st.integers(1, 6), st.sampled_from(["1s", "1250ms", "2s"])),
    key=st.sampled_from([None, "k"]),
    aggs=st.lists(st.sampled_from(ALL_AGGS), min_size=1, max_size=4, unique=True),
)
def test_matches_pandas_on_the_whole_stream_whatever_the_batches(data, window, key, aggs):
    df, cuts = data
    agg = {"value": aggs}
    node, got, late = run_batches(df, cuts, window=window, key=key, agg=agg)
    pd.testing.assert_frame_equal(concat(got, df), reference(df, window, key, agg))
    assert late == [] and node.late_count == 0


@SETTINGS
@given(data=streams(sorted_times=False), key=st.sampled_from([None, "k"]))
def test_rows_older_than_their_key_has_seen_go_to_late(data, key):
    df, cuts = data
    newest: dict = {}
    is_late = []
    for t, k in zip(df["t"], df["k"] if key else [None] * len(df), strict=True):
        is_late.append(k in newest and t < newest[k])
        newest[k] = max(t, newest.get(k, t))
    is_late = np.array(is_late)
    agg = {"value": ["count", "sum", "max"]}
    node, got, late = run_batches(df, cuts, window="2s", key=key, agg=agg)
    pd.testing.assert_frame_equal(concat(got, df), reference(df[~is_late], "2s", key, agg))
    pd.testing.assert_frame_equal(concat(late, df), df[is_late])
    assert node.late_count == is_late.sum()


def test_rows_without_a_time_are_late_and_output_keeps_index_and_attrs():
    df = frame([0, 1000, 1000], ["a", "a", "a"], [1.0, 2.0, 3.0])
    df.loc[1, "t"] = pd.NaT
    df.index = [10, 11, 12]
    src = Stream()
    node = src.rolling("5s", agg={"value": "sum"})
    got, late = node.sink_to_list(), node.late.sink_to_list()
    src.emit(df)
    assert got[0].index.tolist() == [10, 12]
    assert got[0]["value_sum"].tolist() == [1.0, 4.0]
    assert got[0].attrs == {"time_column": "t"}
    assert late[0].index.tolist() == [11] and node.late_count == 1
    src.emit(df.iloc[:0])  # an empty batch gives nothing
    assert len(got) == 1


def test_several_columns_and_a_list_of_keys():
    df = frame([0, 500, 500, 2000], ["a", "b", "a", "b"], [1.0, 2.0, 3.0, 4.0])
    df["x"] = [10.0, 20.0, 30.0, 40.0]
    df["g"] = 1
    agg = {"value": "mean", "x": ["min", "median"]}
    _, got, _ = run_batches(df, [1, 3], window=2, key=["k", "g"], agg=agg)
    pd.testing.assert_frame_equal(concat(got, df), reference(df, 2, ["k", "g"], agg))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"window": 0},
            "window must be a row count >= 1 such as 100 or a positive duration such as "
            "'30s' or '5min', not 0",
        ),
        (
            {"window": -3},
            "window must be a row count >= 1 such as 100 or a positive duration such as "
            "'30s' or '5min', not -3",
        ),
        (
            {"window": "abc"},
            "window must be a row count >= 1 such as 100 or a positive duration such as "
            "'30s' or '5min', not 'abc'",
        ),
        (
            {"window": "-5s"},
            "window must be a row count >= 1 such as 100 or a positive duration such as "
            "'30s' or '5min', not '-5s'",
        ),
        (
            {"window": True},
            "window must be a row count >= 1 such as 100 or a positive duration such as "
            "'30s' or '5min', not True",
        ),
        (
            {"window": 2.5},
            "window must be a row count >= 1 such as 100 or a positive duration such as "
            "'30s' or '5min', not 2.5",
        ),
        (
            {"agg": {"value": ["mean", "meen"]}},
            "agg['value']='meen' is not one of 'count', 'sum', 'mean', 'min', 'max', 'var', "
            "'std', 'median', 'quantile:<q>'. Did you mean 'mean'?",
        ),
        (
            {"agg": {"value": "quantile"}},
            "agg['value']='quantile' is not one of 'count', 'sum', 'mean', 'min', 'max', "
            "'var', 'std', 'median', 'quantile:<q>'. Did you mean 'quantile:<q>'?",
        ),
        (
            {"agg": {"value": "quantile:1.5"}},
            "agg['value']='quantile:1.5' needs a number from 0 to 1 after 'quantile:', "
            "such as 'quantile:0.9'",
        ),
        (
            {"agg": {"value": "quantile:x"}},
            "agg['value']='quantile:x' needs a number from 0 to 1 after 'quantile:', "
            "such as 'quantile:0.9'",
        ),
        (
            {"agg": ["mean"]},
            "agg must be a dict from column to aggregate names, such as "
            "{'value': ['mean', 'max']}, not ['mean']",
        ),
        (
            {"window": 10, "on": "t"},
            "on='t' is only for time windows such as '30s'; a row window (window=10) "
            "counts rows in arrival order: drop on=",
        ),
        ({"key": []}, "key must be a column name or a list of them, not []"),
    ],
)
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    args = {"window": "10s", "agg": {"value": "mean"}, **kwargs}
    with pytest.raises(ConfigError) as info:
        Stream().rolling(**args)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("kwargs", "batch", "message"),
    [
        (
            {"window": "10s"},
            pd.DataFrame({"value": [1.0]}),
            "rolling(window='10s') needs an event-time column and this batch names none; "
            "pass on='time' (a datetime column) or give the source time_column='time'",
        ),
        (
            {"window": "10s", "on": "value"},
            pd.DataFrame({"value": [1.0]}),
            "on='value' must be a datetime column of the batch; its columns are ['value']",
        ),
        (
            {"window": 3, "key": "k"},
            pd.DataFrame({"value": [1.0]}),
            "rolling needs column(s) ['k'] (from key= and agg=); the batch has ['value']",
        ),
        (
            {"window": 3},
            pd.DataFrame({"value": [1.0], "value_mean": [0.0]}),
            "rolling would overwrite column(s) ['value_mean'] of the batch; rename them first",
        ),
        (
            {"window": 3},
            [1, 2],
            "rolling takes pandas DataFrame batches, not list",
        ),
    ],
)
def test_bad_batches_say_what_is_wrong(kwargs, batch, message):
    src = Stream()
    src.rolling(agg={"value": "mean"}, **kwargs).sink_to_list()
    with pytest.raises(ConfigError) as info:
        src.emit(batch)
    assert str(info.value) == message


@pytest.mark.parametrize(("window", "bound"), [(50, 49), ("1s", 334)])
def test_state_stays_bounded_by_the_window(window, bound):
    n, keys = 100_000, 3
    df = frame(np.ones(n, dtype=int), np.arange(n) % keys, np.arange(n, dtype=float))
    src = Stream()
    node = src.rolling(window, key="k", agg={"value": ["mean", "max"]})
    tail_sizes = []
    node.sink(lambda _: tail_sizes.append(node.tail.groupby("k").size().max()))
    for start in range(0, n, 997):
        src.emit(df.iloc[start : start + 997])
    # row windows keep window - 1 rows per key; "1s" at 1 row/ms over 3 keys keeps 334
    assert max(tail_sizes) == bound
    assert len(node.tail) <= keys * bound


def test_a_real_source_through_rolling_matches_pandas():
    src = streamlab.generate("sine", rows=10_000, keys=3, batch_rows=777)
    seen = src.sink_to_list()
    node = src.rolling("50ms", key="key", agg={"value": ["mean", "std", "quantile:0.9"]})
    got = node.sink_to_list()
    streamlab.run(src)
    whole = pd.concat(seen, ignore_index=True)
    expected = whole.copy()
    for name, how in [("mean", "mean"), ("std", "std"), ("quantile_0.9", None)]:
        parts = []
        for _, g in whole.groupby("key"):
            r = g.rolling("50ms", on="time", min_periods=1)["value"]
            parts.append(r.quantile(0.9) if how is None else getattr(r, how)())
        expected[f"value_{name}"] = pd.concat(parts).reindex(whole.index)
    pd.testing.assert_frame_equal(pd.concat(got, ignore_index=True), expected)
    assert len(whole) == 10_000 and node.late_count == 0
