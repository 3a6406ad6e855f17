"""The algorithms under ``rolling`` and ``asof_join`` on their own (no stream): fed in any
cut, they give pandas' result on the whole data."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from streamlab.ops.asof import AsofMatcher
from streamlab.ops.rollcalc import parse_rolling_aggs, parse_window, roll

T0 = pd.Timestamp("2026-01-01", tz="UTC")
cuts = st.lists(st.integers(0, 120), max_size=5)


def frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = T0 + pd.to_timedelta(np.sort(rng.integers(0, 600, n)), unit="s")
    return pd.DataFrame({"t": t, "k": rng.choice(["a", "b"], n), "x": rng.normal(size=n)})


def pieces(n: int, at: list[int]) -> list[tuple[int, int]]:
    return list(itertools.pairwise([0, *sorted(min(c, n) for c in at), n]))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 1000), n=st.integers(1, 120), at=cuts, window=st.sampled_from([3, "90s"])
)
def test_roll_in_any_cut_equals_pandas_rolling_per_key(seed, n, at, window):
    df = frame(seed, n)
    span = parse_window(window)
    on = None if isinstance(span, int) else "t"
    specs = parse_rolling_aggs({"x": ["sum", "max"]})
    tail, got = None, []
    for a, b in pieces(n, at):
        r = roll(
            tail, df.iloc[a:b].reset_index(drop=True), span=span, on=on, keys=["k"], specs=specs
        )
        if r.values is not None:
            tail = r.tail
            got.append(pd.DataFrame(r.values))
    got_all = pd.concat(got, ignore_index=True)
    for name, how in (("x_sum", "sum"), ("x_max", "max")):
        ref = np.empty(n)
        for _, rows in df.groupby("k"):  # pandas on each key's rows, all at once
            ref[rows.index] = getattr(rows.rolling(span, on=on, min_periods=1)["x"], how)()
        np.testing.assert_allclose(got_all[name].to_numpy(), ref, rtol=1e-9, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1000), n=st.integers(1, 120), at=cuts, at_right=cuts)
def test_asof_matcher_in_any_cut_equals_merge_asof(seed, n, at, at_right):
    left, right = frame(seed, n), frame(seed + 1, n).rename(columns={"x": "bid"})
    m = AsofMatcher(on="t", by=["k"], tolerance=30 * 10**9, lateness=0)
    out = []
    lp, rp = pieces(n, at), pieces(n, at_right)
    for i in range(max(len(lp), len(rp))):  # interleave the two sides
        if i < len(rp):
            assert not m.add_right(right.iloc[slice(*rp[i])]).any()
        if i < len(lp):
            assert not m.add_left(left.iloc[slice(*lp[i])]).any()
        out.append(m.release())
    m.right_done = True
    out.append(m.release())
    got = pd.concat([o for o in out if o is not None], ignore_index=True)
    want = pd.merge_asof(left, right, on="t", by="k", tolerance=pd.Timedelta("30s"))
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert m.forced == 0 and m.pending is None
