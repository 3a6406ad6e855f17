"""The window engine's algorithms on their own (no stream): window assignment at the epoch's
edges and past 2**53 ns, session merging, count windows, and the watermark's decisions.
References: Python integers (which cannot overflow or round) and pandas."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamlab.errors import ConfigError
from streamlab.ops.assign import CountWindows, TimeWindows, merge_sessions
from streamlab.ops.nstime import FIRST, LAST, NAT
from streamlab.ops.watermark import Watermark, prior_max_by_key

DAY = 86_400 * 10**9
times = st.integers(min_value=FIRST + 400 * DAY, max_value=LAST - 400 * DAY)


def python_windows(t: int, size: int, slide: int) -> list[int]:
    """Starts of every window [s, s + size), s a multiple of slide, that holds t (Python ints)."""
    newest = t - t % slide  # Python's % floors too, with exact big integers
    return [s for s in range(newest, t - size, -slide) if s <= t < s + size]


@settings(max_examples=100, deadline=None)
@given(
    ts=st.lists(times, min_size=1, max_size=20),
    size_days=st.integers(1, 300),
    per=st.integers(1, 4),
    extra=st.integers(0, 10**9),
)
def test_pairs_are_every_window_holding_each_time_exactly(ts, size_days, per, extra):
    size = size_days * DAY + extra  # not a round number of anything
    slide = -(-size // per)
    t = np.array(ts, dtype="int64")
    rows, starts = TimeWindows(size, slide).pairs(t)
    got = sorted(zip(rows.tolist(), starts.tolist(), strict=True))
    want = sorted((i, s) for i, v in enumerate(ts) for s in python_windows(v, size, slide))
    assert got == want


@pytest.mark.parametrize(
    "t",
    [
        -1,  # one ns before 1970: window [-size, 0)
        0,
        2**53 + 1,  # past float64's exact integers
        2**62 + 12345,
        -(2**62) - 7,
        LAST - DAY,
        FIRST + DAY,
    ],
)
def test_tumbling_starts_and_runs_at_the_edges(t):
    size = 3_600 * 10**9 + 1
    w = TimeWindows(size)
    start = int(w.starts(np.array([t], dtype="int64"))[0])
    assert start == t - t % size and start <= t < start + size  # Python ints: exact
    batch = np.array([t, t + 1, t + size, t + 3 * size], dtype="int64")
    pos, bounds = w.runs(batch)
    floors = [v - v % size for v in batch.tolist()]  # Python ints
    want = sorted(set(floors))
    assert bounds.tolist() == want
    assert pos.tolist() == [floors.index(b) for b in want]


def test_runs_give_way_to_sparse_batches_and_check_refuses_the_edges():
    w = TimeWindows(10)
    assert w.runs(np.array([0, 10**12], dtype="int64")) is None  # 10**11 windows for 2 rows
    with pytest.raises(ConfigError, match=re.escape("ends after 2262-04-11 23:47:16.854775807")):
        TimeWindows(DAY).check(np.array([LAST - 10], dtype="int64"))
    with pytest.raises(ConfigError, match=re.escape("starts before 1677-09-21 00:12:43.145224193")):
        TimeWindows(DAY).check(np.array([FIRST + 10], dtype="int64"))


def test_kept_is_end_plus_retain_after_the_watermark_without_wrapping():
    w = TimeWindows(10)
    starts = np.array([FIRST, 0, 100], dtype="int64")
    assert w.kept(starts, 115, 5).tolist() == [False, False, False]
    assert w.kept(starts, 114, 5).tolist() == [False, False, True]
    assert w.kept(starts, FIRST + 3, 100).tolist() == [True, True, True]  # no wrap below FIRST
    assert w.kept(starts, None, 5).all()


def python_sessions(ts: list[int], keys: list[str], gap: int) -> list[int]:
    """Each row's session start: a key's times sorted, cut where the next is >= gap after."""
    start = {}
    for k in set(keys):
        mine = sorted(t for t, kk in zip(ts, keys, strict=True) if kk == k)
        first = mine[0]
        for a, b in zip([None, *mine], mine, strict=False):
            if a is not None and b - a >= gap:
                first = b
            start[(k, b)] = first
    return [start[(k, t)] for t, k in zip(ts, keys, strict=True)]


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(st.tuples(times, st.sampled_from("ab")), min_size=1, max_size=30),
    cut=st.integers(0, 30),
    gap=st.integers(1, 5 * DAY),
)
def test_sessions_merged_batch_by_batch_are_the_sessions_of_all_rows(rows, cut, gap):
    ts = [t for t, _ in rows]
    keys = [k for _, k in rows]
    cut = min(cut, len(rows))
    i64 = lambda v: np.array(v, dtype="int64")  # noqa: E731
    first, _, _ = merge_sessions(
        i64([]), i64([]), [np.array([])], i64(ts[:cut]), [np.array(keys[:cut])], gap
    )
    # the sessions of the first part, as (first, last, key), then the second part merged in
    sess = pd.DataFrame({"s": first, "t": ts[:cut], "k": keys[:cut]}).groupby(["s", "k"])["t"]
    old = sess.max().reset_index()
    rest, old_pos, old_start = merge_sessions(
        i64(old["s"]),
        i64(old["t"]),
        [old["k"].to_numpy()],
        i64(ts[cut:]),
        [np.array(keys[cut:])],
        gap,
    )
    moved = dict(
        zip(
            zip(old["s"].iloc[old_pos], old["k"].iloc[old_pos], strict=True), old_start, strict=True
        )
    )
    got = [int(moved[(s, k)]) for s, k in zip(first, keys[:cut], strict=True)] + rest.tolist()
    assert got == python_sessions(ts, keys, gap)


def test_count_windows_number_each_keys_rows_across_batches():
    cw = CountWindows(3)
    keys = list("aabababbbc")
    cuts = [0, 4, 4, 9, 10]  # an empty batch between
    got = []
    for a, b in itertools.pairwise(cuts):
        got += cw.assign(pd.DataFrame({"k": keys[a:b]})).tolist()
    seen: dict[str, int] = {}
    want = []
    for k in keys:
        want.append(seen.get(k, 0) // 3)
        seen[k] = seen.get(k, 0) + 1
    assert got == want


def test_count_windows_without_keys_keep_counting_over_an_empty_batch():
    cw = CountWindows(2)
    got = [cw.assign_rows(n).tolist() for n in (3, 0, 2)]
    assert got == [[0, 0, 1], [], [1, 2]]


@settings(max_examples=100, deadline=None)
@given(
    ts=st.lists(st.one_of(times, st.just(NAT)), min_size=1, max_size=40),
    cut=st.integers(0, 40),
    lateness=st.integers(0, 10 * DAY),
)
def test_watermark_decisions_do_not_depend_on_batch_cuts(ts, cut, lateness):
    t = np.array(ts, dtype="int64")
    whole = Watermark(lateness)
    late_whole = whole.late(t, whole.observe(t))
    parts = Watermark(lateness)
    a, b = t[:cut], t[cut:]
    late_cut = np.concatenate([parts.late(a, parts.observe(a)), parts.late(b, parts.observe(b))])
    assert late_cut.tolist() == late_whole.tolist()
    assert (parts.newest, parts.value) == (whole.newest, whole.value)
    # the reference, in Python integers: late when older than the newest before it minus lateness
    newest = None
    for v, late in zip(ts, late_whole.tolist(), strict=True):
        if newest is None:
            assert not late
        else:
            assert late == (v < max(newest - lateness, FIRST))
        if v != NAT:
            newest = v if newest is None else max(newest, v)


def test_watermark_saturates_near_1677_and_copies():
    import copy

    wm = Watermark(lateness=DAY)
    wm.observe(np.array([FIRST + 5], dtype="int64"))
    assert wm.value == FIRST  # not wrapped round to 2262
    assert copy.deepcopy(wm) == wm and copy.deepcopy(wm) is not wm


def test_prior_max_by_key_is_each_keys_running_newest():
    t = np.array([5, 1, 3, 9, 2], dtype="int64")
    keys = [np.array(["a", "b", "a", "b", None], dtype=object)]
    assert prior_max_by_key(t, keys).tolist() == [5, 1, 5, 9, 2]
