"""The aggregates on their own: ``partial`` of any cut of the rows, ``merge`` in any order,
then ``finalize`` give pandas' result on all the rows at once (associative and commutative
merges), and the aggregate classes know nothing of windows."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamlab.errors import ConfigError
from streamlab.ops.aggfns import Extent, Moments, Rows, Values
from streamlab.ops.aggregates import AggregateSet, parse_agg
from streamlab.ops.grouping import Groups

AGG = {
    "x": ["count", "sum", "mean", "var", "std", "min", "max", "first", "last"],
    "i": ["sum", "min", "max"],
}
T0 = pd.Timestamp("2026-01-01", tz="UTC")


def frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n) * 10 ** rng.integers(0, 6, n)
    x[rng.random(n) < 0.15] = np.nan
    return pd.DataFrame(
        {
            "t": T0 + pd.to_timedelta(rng.integers(0, 50, n), unit="s"),  # many ties
            "g": rng.choice(["a", "b", "c"], n),
            "x": x,
            "i": rng.integers(-(2**40), 2**40, n),  # exact integer sums, beyond float's reach
        }
    )


def reference(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby("g", sort=True)
    out = g["x"].agg(["count", "sum", "mean", "var", "std", "min", "max"]).add_prefix("x_")
    ordered = df.sort_values("t", kind="stable").groupby("g", sort=True)["x"]
    out["x_first"], out["x_last"] = ordered.first(), ordered.last()
    ints = g["i"].agg(["sum", "min", "max"]).add_prefix("i_")
    return pd.concat([out, ints], axis=1)


def merged(aggs: AggregateSet, df: pd.DataFrame, cuts: list[int], order: list[int]):
    bounds = [0, *sorted(cuts), len(df)]
    parts = [
        aggs.partial(df.iloc[a:b], ["g"], time="t", seq=np.arange(a, b))
        for a, b in itertools.pairwise(bounds)
    ]
    parts = [parts[k % len(parts)] for k in order] if order else parts
    state = None
    for p in parts:  # a left fold in a shuffled order; merge(state) on its own folds repeats
        state = aggs.merge(state, p)
    return aggs.finalize(aggs.merge(state)).sort_index()


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 300),
    cuts=st.lists(st.integers(0, 300), max_size=6),
    shuffle=st.randoms(use_true_random=False),
)
def test_any_cut_in_any_merge_order_gives_pandas_result(seed, n, cuts, shuffle):
    df = frame(seed, n)
    aggs = AggregateSet(parse_agg(AGG))
    order = list(range(len(cuts) + 1))
    shuffle.shuffle(order)
    got = merged(aggs, df, [min(c, n) for c in cuts], order)
    want = reference(df)
    got.index.name = want.index.name
    for col in want.columns:
        exact = col.startswith("i_") or col.endswith(("count", "min", "max", "first", "last"))
        if exact:
            pd.testing.assert_series_equal(got[col], want[col], check_dtype=False, obj=col)
        else:  # sums of floats in another order: rounding only
            np.testing.assert_allclose(got[col], want[col], rtol=1e-9, atol=1e-6, err_msg=col)


def test_merging_a_and_b_is_merging_b_and_a_and_grouping_is_by_index():
    df = frame(3, 200)
    aggs = AggregateSet(parse_agg(AGG))
    a = aggs.partial(df.iloc[:80], ["g"], time="t", seq=np.arange(80))
    b = aggs.partial(df.iloc[80:], ["g"], time="t", seq=np.arange(80, 200))
    ab = aggs.finalize(aggs.merge(a, b)).sort_index()
    ba = aggs.finalize(aggs.merge(b, a)).sort_index()
    pd.testing.assert_frame_equal(ab, ba, check_exact=False, rtol=1e-12)
    assert aggs.merge(a) is a  # one partial per group: nothing to merge


def test_extra_aggregates_are_kept_apart_from_the_values():
    df = pd.DataFrame({"k": [1, 1, 2], "ns": [30, -(2**62), 2**62 + 1], "x": [1.0, None, 2.0]})
    aggs = AggregateSet(
        parse_agg({"x": "count"}), extra=[("ns", "span", Extent()), ("x", "rows", Rows())]
    )
    state = aggs.merge(aggs.partial(df.iloc[:1], ["k"]), aggs.partial(df.iloc[1:], ["k"]))
    assert list(aggs.finalize(state).columns) == ["x_count"]
    assert aggs.finalize(state)["x_count"].tolist() == [1, 1]
    assert aggs.part(state, "ns", "span", "min").tolist() == [-(2**62), 2**62 + 1]  # exact ints
    assert aggs.part(state, "ns", "span", "max").tolist() == [30, 2**62 + 1]
    assert aggs.part(state, "x", "rows", "n").tolist() == [2, 1]  # missing values count as rows


def test_an_aggregate_class_works_on_groups_alone():
    m = Moments(spread=True)
    groups = Groups.of([np.array([0, 1, 0, 1])])
    s = m.partial(Values(pd.Series([1.0, 2.0, 3.0, np.nan])), groups)
    assert s["n"].tolist() == [2, 1] and s["mean"].tolist() == [2.0, 2.0]
    view = {k: pd.Series(v) for k, v in s.items()}
    assert m.finalize(view, "var").tolist()[0] == pytest.approx(2.0)
    assert np.isnan(m.finalize(view, "var").tolist()[1])  # one value: no variance (ddof=1)


def test_first_last_and_ewma_without_a_time_column_are_refused():
    aggs = AggregateSet(parse_agg({"x": ["last"]}))
    with pytest.raises(ConfigError, match="first, last and ewma need an event-time column"):
        aggs.partial(pd.DataFrame({"g": [1], "x": [1.0]}), ["g"])
