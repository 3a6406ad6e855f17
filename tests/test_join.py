"""left.asof_join(right): pandas.merge_asof on the whole data, whatever the batches and order."""

from __future__ import annotations

import asyncio
import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamz import Stream

import streamlab
import streamlab.ops  # registers stream.asof_join
from streamlab.errors import ConfigError

T0 = pd.Timestamp("2026-01-01", tz="UTC")
GAPS = [0, 0, 0, 500, 1000, 2500]
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,
)


def frame(ms, keys, **columns) -> pd.DataFrame:
    t = (T0 + pd.to_timedelta(np.asarray(ms, dtype="int64"), unit="ms")).astype(
        "datetime64[ns, UTC]"
    )
    df = pd.DataFrame({"t": t, "k": pd.Series(list(keys), dtype="str"), **columns})
    df.attrs["time_column"] = "t"
    return df


def reference(left, right, **kwargs) -> pd.DataFrame:
    right = right.sort_values("t", kind="stable", ignore_index=True)
    return pd.merge_asof(
        left.reset_index(drop=True),
        right,
        on="t",
        direction="backward",
        suffixes=("", "_right"),
        **kwargs,
    )


def pieces(df, cuts) -> list[pd.DataFrame]:
    bounds = [0, *sorted(cuts), len(df)]
    return [df.iloc[a:b] for a, b in itertools.pairwise(bounds)]


def drive(left_batches, right_batches, order, **kwargs):
    """Emit the batches in ``order`` ("L"/"R" labels), then end the input."""
    left, right = Stream(), Stream()
    node = left.asof_join(right, **kwargs)
    got = node.sink_to_list()
    late_left, late_right = node.late_left.sink_to_list(), node.late_right.sink_to_list()
    queues = {"L": list(left_batches), "R": list(right_batches)}
    for side in order:
        (left if side == "L" else right).emit(queues[side].pop(0))
    node.end_of_input()
    return node, got, late_left, late_right


def joined(got, like) -> pd.DataFrame:
    return pd.concat(got, ignore_index=True) if got else like.iloc[:0]


def stacked(frames, like) -> pd.DataFrame:
    return pd.concat(frames) if frames else like.iloc[:0]


@st.composite
def sides(draw, *, jitter=False):
    def times(n):
        gaps = draw(st.lists(st.sampled_from(GAPS), min_size=n, max_size=n))
        ms = np.cumsum(gaps) + draw(st.sampled_from([0, 500, 2000]))
        if jitter:  # some rows step back in time
            ms = ms - np.array(
                draw(st.lists(st.sampled_from([0, 0, 0, 400, 1500]), min_size=n, max_size=n)),
                dtype=int,
            )
        return ms

    nl, nr = draw(st.integers(0, 40)), draw(st.integers(0, 40))
    keys = st.sampled_from("ab")
    left = frame(times(nl), draw(st.lists(keys, min_size=nl, max_size=nl)), value=np.arange(nl))
    right = frame(
        times(nr),
        draw(st.lists(keys, min_size=nr, max_size=nr)),
        value=np.arange(nr) * 10,
        price=np.arange(nr) + 0.5,
    )
    lb = pieces(left, draw(st.lists(st.integers(0, nl), max_size=6)))
    rb = pieces(right, draw(st.lists(st.integers(0, nr), max_size=6)))
    order = draw(st.permutations(["L"] * len(lb) + ["R"] * len(rb)))
    return left, right, lb, rb, order


@SETTINGS
@given(
    data=sides(),
    by=st.sampled_from([None, "k"]),
    tolerance=st.sampled_from([None, "0s", "500ms", "1s", "3s"]),
)
def test_matches_merge_asof_whatever_the_batches_and_interleaving(data, by, tolerance):
    left, right, lb, rb, order = data
    node, got, late_left, late_right = drive(lb, rb, order, by=by, tolerance=tolerance)
    tol = None if tolerance is None else pd.Timedelta(tolerance)
    expected = reference(left, right, by=by, tolerance=tol)
    pd.testing.assert_frame_equal(joined(got, expected), expected)
    assert late_left == late_right == [] and node.forced == 0
    assert node.pending is None and all(g.attrs["time_column"] == "t" for g in got)


def late_rows(times, lateness) -> np.ndarray:
    newest, late = None, []
    for t in times:
        late.append(newest is not None and t < newest - lateness)
        newest = t if newest is None else max(newest, t)
    return np.array(late, dtype=bool)


@SETTINGS
@given(
    data=sides(jitter=True),
    by=st.sampled_from([None, "k"]),
    lateness=st.sampled_from(["0s", "500ms", "2s"]),
)
def test_out_of_order_rows_within_lateness_join_and_later_ones_go_to_late(data, by, lateness):
    left, right, lb, rb, order = data
    node, got, late_left, late_right = drive(lb, rb, order, by=by, lateness=lateness)
    is_late_l = late_rows(list(left["t"]), pd.Timedelta(0))
    is_late_r = late_rows(list(right["t"]), pd.Timedelta(lateness))
    expected = reference(left[~is_late_l], right[~is_late_r], by=by)
    pd.testing.assert_frame_equal(joined(got, expected), expected)
    pd.testing.assert_frame_equal(stacked(late_left, left), left[is_late_l])
    pd.testing.assert_frame_equal(stacked(late_right, right), right[is_late_r])
    assert (node.late_left_count, node.late_right_count) == (is_late_l.sum(), is_late_r.sum())
    assert node.forced == 0


def test_left_rows_wait_until_the_right_side_has_passed_them():
    left, right = Stream(), Stream()
    node = left.asof_join(right, on="t", lateness="1s")
    got = node.sink_to_list()
    left.emit(frame([1000, 2000, 3000], "aaa", x=[1, 2, 3]))
    assert node.watermark is None  # no right row yet
    right.emit(frame([0], "a", y=[10]))
    assert got == [] and len(node.pending) == 3
    right.emit(frame([3000], "a", y=[30]))  # watermark 2 s: rows before 2 s are final
    assert node.watermark == T0 + pd.Timedelta("2s")
    assert got[0][["x", "y"]].values.tolist() == [[1, 10]]
    right.emit(frame([2500], "a", y=[25]))  # 0.5 s out of order: within lateness
    right.emit(frame([4000], "a", y=[40]))  # watermark 3 s: the 3 s row still waits (a tie)
    assert got[1][["x", "y"]].values.tolist() == [[2, 10]]
    node.end_of_input()
    assert got[2][["x", "y"]].values.tolist() == [[3, 30]]
    assert node.pending is None and node.forced == 0


def test_at_most_max_pending_rows_wait_the_oldest_leave_forced():
    left, right = Stream(), Stream()
    node = left.asof_join(right, max_pending=3)
    got = node.sink_to_list()
    right.emit(frame([0], "a", y=[1]))
    left.emit(frame(range(1000, 11000, 1000), "a" * 10, x=range(10)))
    assert len(node.pending) == 3 and node.forced == 7
    assert got[0]["x"].tolist() == list(range(7)) and got[0]["y"].tolist() == [1] * 7
    right.emit(frame([20_000], "a", y=[2]))
    assert got[1]["x"].tolist() == [7, 8, 9] and node.forced == 7


def test_right_state_keeps_only_what_a_future_left_row_can_match():
    n, keys, step = 100_000, 3, 1000
    left, right = Stream(), Stream()
    node = left.asof_join(right, by="k", tolerance="1s")
    got = node.sink_to_list()
    ms = np.arange(n)
    lf = frame(ms, np.array(["a", "b", "c"])[ms % keys], x=ms)
    rf = frame(ms, np.where(ms < 10, "d", np.array(["a", "b", "c"])[ms % keys]), y=ms)
    sizes = []
    for start in range(0, n, step):
        right.emit(rf.iloc[start : start + step])
        left.emit(lf.iloc[start : start + step])
        oldest = (
            node.pending["t"].iloc[0]
            if node.pending is not None
            else lf["t"].iloc[start + step - 1]
        )
        newer = (rf["t"].iloc[: start + step] > oldest).sum()
        assert len(node.right_state) <= newer + keys + 1  # after `oldest`; one before per key
        sizes.append(len(node.right_state))
    assert max(sizes) <= keys + 1 and "d" not in set(node.right_state["k"])  # "d" out of tolerance
    node.end_of_input()
    assert sum(map(len, got)) == n


def test_right_state_is_capped_when_the_left_side_stalls():
    left, right = Stream(), Stream()
    node = left.asof_join(right, by="k", max_right=500)
    ms = np.arange(10_000)
    right.emit(frame([0], "z", y=[-1]))  # key "z" never comes again: kept as its latest row
    for start in range(0, 10_000, 700):
        part = ms[start : start + 700] + 1
        right.emit(frame(part, np.array(["a", "b"])[part % 2], y=part))
    assert len(node.right_state) <= 500 + 3
    got = node.sink_to_list()
    left.emit(frame([5, 9990, 9995], "zab", x=[1, 2, 3]))  # 5 ms: its right rows are gone
    node.end_of_input()
    assert node.forced == 1
    assert got[0]["y"].tolist() == [-1, 9990, 9995]


def test_the_left_end_leaves_rows_waiting_and_the_right_end_releases_them():
    left_src = streamlab.generate("sine", rows=50, seed=1)
    right_src = streamlab.generate("noise", rows=10, seed=2)
    node = left_src.asof_join(right_src)
    got = node.sink_to_list()

    async def main():
        await streamlab.arun(left_src)  # its end calls end_of_input: right is not final yet
        waiting = len(node.pending)
        await streamlab.arun(right_src)  # now it is: every left row leaves
        return waiting

    assert asyncio.run(main()) == 50
    assert sum(map(len, got)) == 50 and node.pending is None and node.forced == 0
    assert len(node.right_state) == 0  # no left row can come any more


@pytest.mark.parametrize("right_rows", [3_000, 30_000])
def test_real_sources_join_like_merge_asof(right_rows):
    left_src = streamlab.generate("sine", rows=10_000, keys=3, seed=1, batch_rows=700)
    right_src = streamlab.generate(
        "noise", rows=right_rows, keys=3, seed=2, rate=1700.0, batch_rows=1100
    )
    seen_l, seen_r = left_src.sink_to_list(), right_src.sink_to_list()
    node = left_src.asof_join(right_src, by="key", tolerance="5ms")
    got = node.sink_to_list()
    streamlab.run(node)  # both sources; each one's end calls node.end_of_input()
    left = pd.concat(seen_l, ignore_index=True)
    right = pd.concat(seen_r, ignore_index=True)
    expected = pd.merge_asof(
        left, right, on="time", by="key", tolerance=pd.Timedelta("5ms"), suffixes=("", "_right")
    )
    pd.testing.assert_frame_equal(pd.concat(got, ignore_index=True), expected)
    assert node.pending is None and node.forced == 0
    assert node.late_left_count == node.late_right_count == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"direction": "nearest"},
            "direction='nearest' is not one of 'backward'.",
        ),
        (
            {"direction": "backwards"},
            "direction='backwards' is not one of 'backward'. Did you mean 'backward'?",
        ),
        (
            {"tolerance": "-1s"},
            "tolerance must be a duration >= 0 such as '0s', '500ms' or '1min', not '-1s'",
        ),
        (
            {"tolerance": "abc"},
            "tolerance must be a duration >= 0 such as '0s', '500ms' or '1min', not 'abc'",
        ),
        (
            {"lateness": None},
            "lateness must be a duration >= 0 such as '0s', '500ms' or '1min', not None",
        ),
        ({"max_pending": 0}, "max_pending must be >= 1, not 0; for example max_pending=1000000"),
        (
            {"max_right": 2.5},
            "max_right must be an integer, not 2.5; for example max_right=1000000",
        ),
    ],
)
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    with pytest.raises(ConfigError) as info:
        Stream().asof_join(Stream(), **kwargs)
    assert str(info.value) == message


def test_the_right_side_must_be_another_stream():
    src = Stream()
    with pytest.raises(ConfigError) as info:
        src.asof_join(5)
    assert str(info.value) == "asof_join needs the right stream as its first argument, not 5"
    with pytest.raises(ConfigError, match="asof_join of a stream with itself"):
        src.asof_join(src)


@pytest.mark.parametrize(
    ("kwargs", "side", "batch", "message"),
    [
        (
            {},
            "L",
            pd.DataFrame({"x": [1]}),
            "asof_join's left side needs an event-time column and this batch names none; "
            "pass on='time' (a datetime column) or give the source time_column='time'",
        ),
        (
            {"on": "x"},
            "R",
            pd.DataFrame({"x": [1]}),
            "on='x' must be a datetime column of the right batches; their columns are ['x']",
        ),
        (
            {"on": "t", "by": "k"},
            "L",
            pd.DataFrame({"t": [T0]}),
            "by=['k'] is not among the left batch's columns ['t']",
        ),
        ({}, "R", [1], "asof_join takes pandas DataFrame batches, not list"),
    ],
)
def test_bad_batches_say_what_is_wrong(kwargs, side, batch, message):
    left, right = Stream(), Stream()
    left.asof_join(right, **kwargs).sink_to_list()
    with pytest.raises(ConfigError) as info:
        (left if side == "L" else right).emit(batch)
    assert str(info.value) == message


def test_time_units_may_differ_but_not_timezones():
    left, right = Stream(), Stream()
    node = left.asof_join(right, on="t")
    got = node.sink_to_list()
    r = frame([0, 1000], "aa", y=[1, 2])
    right.emit(r.astype({"t": "datetime64[us, UTC]"}))
    left.emit(frame([500, 1500], "aa", x=[1, 2]))
    node.end_of_input()
    assert joined(got, r)["y"].tolist() == [1, 2]
    left, right = Stream(), Stream()
    node = left.asof_join(right, on="t")
    right.emit(r.assign(t=r["t"].dt.tz_localize(None)))
    with pytest.raises(ConfigError) as info:
        left.emit(frame([500, 1500], "aa", x=[1, 2]))
    assert str(info.value) == (
        "on='t' is datetime64[ns, UTC] on the left but datetime64[ns] on the right: "
        "make both timezone-aware (pd.to_datetime(..., utc=True))"
    )


def test_rows_without_a_time_are_late_on_either_side():
    left, right = Stream(), Stream()
    node = left.asof_join(right)
    got = node.sink_to_list()
    late_left, late_right = node.late_left.sink_to_list(), node.late_right.sink_to_list()
    r = frame([0, 1000], "aa", y=[1, 2])
    r.loc[1, "t"] = pd.NaT
    lf = frame([500, 600], "aa", x=[1, 2])
    lf.loc[0, "t"] = pd.NaT
    right.emit(r)
    left.emit(lf)
    node.end_of_input()
    assert late_right[0]["y"].tolist() == [2] and late_left[0]["x"].tolist() == [1]
    assert (node.late_left_count, node.late_right_count) == (1, 1)
    assert got[0][["x", "y"]].values.tolist() == [[2, 1]]
