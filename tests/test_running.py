"""Running (whole-stream) aggregates: after every batch, equal to pandas on the rows so far."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamz import Stream

import streamlab  # noqa: F401  (registers the steps on streamz's Stream)

AGG = {"v": ["count", "sum", "mean", "var", "min", "max", "first", "last"]}


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(1, 300),
    keys=st.integers(1, 4),
    cuts=st.lists(st.integers(1, 299), max_size=8),
)
def test_each_complete_table_equals_pandas_on_the_rows_so_far(seed, n, keys, cuts):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "t": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(np.arange(n), unit="s"),
            "k": rng.integers(0, keys, n).astype(str),
            "v": rng.normal(size=n).round(4),
        }
    )
    src = Stream()
    out = src.aggregate(AGG, key="k", on="t", output="complete").sink_to_list()
    edges = sorted({0, n, *[c for c in cuts if c < n]})
    for a, b in itertools.pairwise(edges):
        src.emit(df.iloc[a:b])
        ref = df.iloc[:b].groupby("k")["v"].agg(list(AGG["v"])).add_prefix("v_").reset_index()
        pd.testing.assert_frame_equal(out[-1], ref, check_dtype=False, rtol=1e-9)


def test_update_mode_emits_only_the_keys_a_batch_changed():
    src = Stream()
    out = src.aggregate({"n": ["sum"]}, key="w").sink_to_list()
    src.emit(pd.DataFrame({"w": ["a", "b"], "n": [1, 2]}))
    src.emit(pd.DataFrame({"w": ["b"], "n": [3]}))
    assert out[-1].to_dict("list") == {"w": ["b"], "n_sum": [5]}


def test_without_a_key_one_row():
    src = Stream()
    out = src.aggregate({"n": ["sum", "mean"]}).sink_to_list()
    src.emit(pd.DataFrame({"n": [1, 2, 3]}))
    src.emit(pd.DataFrame({"n": [4]}))
    assert out[-1].to_dict("list") == {"n_sum": [10], "n_mean": [2.5]}


def test_bad_output_mode():
    with pytest.raises(ValueError, match="output='append' is not one of 'update', 'complete'"):
        Stream().aggregate({"n": ["sum"]}, output="append")
