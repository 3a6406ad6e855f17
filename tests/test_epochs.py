"""Event time at any epoch (issue 14, part B): windows, sessions, rolling, as-of joins and running
aggregates give pandas' result on the whole data, cut into batches at seeded random places,
for event times anywhere in datetime64[ns]'s range (1677-09-22 to 2262-04-10), over spans
longer than 2**53 ns (104 days: float64 stops counting nanoseconds there) and of centuries
(longer than int64 can subtract), before 1970 (negative nanoseconds), across 1970, near both
ends of the range, with duplicate timestamps, for naive, UTC and Europe/Berlin times (the
latter across the last Sundays of March and of October).

The references are pandas (``Grouper(freq, origin="epoch")`` on naive UTC times,
``rolling(min_periods=1)``, ``merge_asof``, ``groupby``, ``ewm(times=...)``) or, for sliding
windows, an assignment in Python integers, which cannot overflow. Windows that
datetime64[ns] cannot hold (starting before 1677-09-21T00:12:43.145224193 or ending after
2262-04-11T23:47:16.854775807) are refused with a ConfigError that names the time, the window
and the limit; the last tests check that, and that nothing wraps around near the ends.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from streamz import Stream

from streamlab.errors import ConfigError

AGG = {"v": ["count", "sum", "mean", "min", "max", "first", "last"]}
PANDAS = ["count", "sum", "mean", "min", "max", "first", "last"]
DAY = 86_400 * 10**9
FIRST_NS = int(np.iinfo(np.int64).min) + 1  # 1677-09-21 00:12:43.145224193
LAST_NS = int(np.iinfo(np.int64).max)  # 2262-04-11 23:47:16.854775807

#: where event times are drawn from (UTC, inclusive), and how many days the data spans
SPANS = {
    "anywhere": ("1677-09-22", "2262-04-10"),  # 584 years: more than int64 ns can subtract
    "centuries": ("1678-01-01", "2261-01-01"),  # room for windows of weeks or a year at both ends
    "pre1970": ("1690-01-01", "1969-12-31"),  # negative ns only
    "across1970": ("1969-12-20", "1970-01-12"),
    "victorian": ("1850-01-01", "1850-02-15"),  # negative ns, a short span
    "first": ("1677-09-22", "1677-10-22"),  # the first month datetime64[ns] holds
    "last": ("2262-03-10", "2262-04-10"),  # the last month
    "long": ("2023-03-01", "2023-09-17"),  # 200 days > 2**53 ns
    "dst": ("2024-03-30", "2024-04-01"),  # Berlin: 2024-03-31 02:00 -> 03:00
    "dst_autumn": ("2024-10-26", "2024-10-28"),  # Berlin: 2024-10-27 03:00 -> 02:00
    "at_first": (FIRST_NS, FIRST_NS + 4 * DAY),  # from the very first nanosecond
    "at_last": (LAST_NS - 4 * DAY, LAST_NS),  # to the very last one
}
TZS = [None, "UTC", "Europe/Berlin"]


def event_times(kind: str, n: int, rng) -> np.ndarray:
    """Sorted int64 ns in the kind's span (both ends included), with runs of duplicates."""
    lo, hi = (pd.Timestamp(s).value for s in SPANS[kind])
    ns = np.sort(rng.integers(lo, hi, n, dtype=np.int64, endpoint=True))
    ns[0], ns[-1] = lo, hi
    dup = np.flatnonzero(rng.random(n) < 0.15)
    dup = dup[dup > 0]
    ns[dup] = ns[dup - 1]  # still sorted: each copies the one before it
    return np.maximum.accumulate(ns)


def frame(kind: str, tz: str | None, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ns = event_times(kind, n, rng)
    t = pd.Series(pd.to_datetime(ns, unit="ns", utc=True))
    if tz is None:
        t = t.dt.tz_convert(None)
    elif tz != "UTC":
        t = t.dt.tz_convert(tz)
    v = np.round(rng.normal(10, 3, n), 3)
    v[rng.random(n) < 0.05] = np.nan  # skipped by every aggregate, as in pandas
    return pd.DataFrame({"t": t, "k": rng.integers(0, 3, n).astype(str), "v": v})


def cuts(n: int, seed: int) -> list[tuple[int, int]]:
    """Seeded random batch boundaries, with single-row batches among them (the first rows come
    alone: a stream's start is where "newest time minus a window" leaves the range first)."""
    rng = np.random.default_rng(seed + 1000)
    inner = rng.integers(0, n + 1, rng.integers(0, 15))
    ones = rng.integers(0, n, 3)
    early = [1, 2, 5] if seed % 2 else [3]
    edges = sorted({0, n, *early, *inner.tolist(), *ones.tolist(), *(ones + 1).tolist()})
    edges = [e for e in edges if e <= n]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


def feed(build, df: pd.DataFrame, seed: int):
    src = Stream()
    node = build(src)
    out = node.sink_to_list()
    for a, b in cuts(len(df), seed):
        src.emit(df.iloc[a:b])
    if hasattr(node, "end_of_input"):
        node.end_of_input()
    frames = [o for o in out if len(o)]
    return node, (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame())


def utc_naive(t: pd.Series) -> pd.Series:
    """The times as naive UTC wall times (windows count from the epoch in UTC)."""
    return t.dt.tz_convert("UTC").dt.tz_localize(None) if t.dt.tz is not None else t


def ns_of(t: pd.Series) -> np.ndarray:
    return utc_naive(t).dt.as_unit("ns").to_numpy().view("i8")


def table(got: pd.DataFrame, ref: pd.DataFrame, order: list[str]) -> None:
    """Equal as tables: ordered rows, times compared as UTC nanoseconds."""
    got = got[ref.columns].sort_values(order, kind="stable", ignore_index=True)
    ref = ref.sort_values(order, kind="stable", ignore_index=True)
    for c in ("window_start", "window_end"):
        got[c], ref[c] = ns_of(got[c]), ns_of(ref[c])
    pd.testing.assert_frame_equal(got, ref, check_dtype=False, rtol=1e-9, atol=1e-12)


def aggregated(df: pd.DataFrame, by) -> pd.DataFrame:
    g = df.groupby(by, sort=True)["v"]
    out = g.agg(PANDAS)
    out.columns = [f"v_{a}" for a in PANDAS]
    return out[g.size() > 0]


def fixed_length(size: str) -> str:
    """Windows of a fixed length, as streamlab's: ``"86400s"``, not ``"1D"`` (a calendar day
    in pandas 3, where pandas 3.0.0 warns that ``origin`` does not apply to it)."""
    return f"{int(pd.Timedelta(size).total_seconds())}s"


def ref_tumbling(df: pd.DataFrame, size: str, keys: list[str]) -> pd.DataFrame:
    naive = df.assign(t=utc_naive(df["t"]))
    ref = aggregated(naive, [pd.Grouper(key="t", freq=fixed_length(size), origin="epoch"), *keys])
    ref = ref.reset_index().rename(columns={"t": "window_start"})
    ref.insert(1, "window_end", ref["window_start"] + pd.Timedelta(size))
    return ref


CASES = [  # (kind, tumbling size)
    ("anywhere", "1D"),
    ("centuries", "7D"),
    ("centuries", "30D"),
    ("pre1970", "1D"),
    ("across1970", "1h"),
    ("first", "1h"),
    ("first", "1D"),
    ("last", "1h"),
    ("last", "1D"),
    ("long", "1h"),
    ("dst", "15min"),
    ("dst_autumn", "1h"),
]


@pytest.mark.parametrize(("kind", "size"), CASES, ids=[f"{k}-{s}" for k, s in CASES])
@pytest.mark.parametrize("tz", TZS, ids=str)
@pytest.mark.parametrize("seed", [0, 1])
def test_tumbling_windows_equal_resample(kind, size, tz, seed):
    df = frame(kind, tz, 1500, seed)
    keys = ["k"] if seed else []
    node, got = feed(lambda s: s.window(size, on="t", key=keys or None, agg=AGG), df, seed)
    table(got, ref_tumbling(df, size, keys), ["window_start", *keys])
    assert node.stats.rows == len(df) and node.stats.late == 0


@pytest.mark.parametrize("kind", ["first", "pre1970", "last", "dst"])
@pytest.mark.parametrize("output", ["append", "update"])
def test_out_of_order_rows_within_the_lateness_near_the_ends(kind, output):
    """Rows out of order by up to the lateness take the watermark path: near 1677 the
    watermark (newest time minus the lateness) would wrap around in int64."""
    df = frame(kind, "UTC", 1500, 3)
    rng = np.random.default_rng(3)
    jitter = rng.uniform(0, 0.9 * 3 * 3600e9, len(df))  # under the 3 h lateness
    arrived = df.iloc[np.argsort(ns_of(df["t"]) + jitter, kind="stable")].reset_index(drop=True)
    node, got = feed(
        lambda s: s.window("1h", on="t", agg=AGG, allowed_lateness="3h", output=output),
        arrived,
        3,
    )
    if output == "update":  # each window's last emission is its final value
        got = got.drop_duplicates("window_start", keep="last")
    ref = ref_tumbling(arrived.sort_values("t", kind="stable"), "1h", [])
    table(got, ref, ["window_start"])
    assert node.stats.late == 0


def ref_sliding(df: pd.DataFrame, size: str, slide: str) -> pd.DataFrame:
    """Every (row, window) pair by Python integer arithmetic (no overflow), then groupby."""
    size_ns, slide_ns = pd.Timedelta(size).value, pd.Timedelta(slide).value
    pairs = []
    for i, t in enumerate(int(x) for x in ns_of(df["t"])):
        start = t - t % slide_ns  # Python's % floors, for negative times too
        while start + size_ns > t:
            pairs.append((i, start))
            start -= slide_ns
    rows, starts = zip(*pairs, strict=True)
    exploded = df.iloc[list(rows)].assign(window_start=list(starts))
    ref = aggregated(exploded, ["window_start"]).reset_index()
    ref["window_end"] = ref["window_start"] + size_ns
    ref["window_start"] = pd.to_datetime(ref["window_start"], unit="ns")
    ref["window_end"] = pd.to_datetime(ref["window_end"], unit="ns")
    return ref[["window_start", "window_end", *[f"v_{a}" for a in PANDAS]]]


SLIDING = [
    ("centuries", "21D", "7D"),
    ("pre1970", "3D", "1D"),
    ("across1970", "3h", "1h"),
    ("first", "3h", "1h"),
    ("last", "5h", "2h"),
    ("long", "3h", "1h"),
    ("dst", "1h", "20min"),
]


@pytest.mark.parametrize(("kind", "size", "slide"), SLIDING, ids=[s[0] for s in SLIDING])
@pytest.mark.parametrize("tz", TZS, ids=str)
def test_sliding_windows_equal_an_assignment_in_python_integers(kind, size, slide, tz):
    df = frame(kind, tz, 800, 5)
    node, got = feed(lambda s: s.window(size, slide=slide, on="t", agg=AGG), df, 5)
    table(got, ref_sliding(df, size, slide), ["window_start"])
    assert node.stats.late == 0


def ref_sessions(df: pd.DataFrame, gap: str) -> pd.DataFrame:
    gap_td = pd.Timedelta(gap)
    d = df.assign(t=utc_naive(df["t"])).sort_values(["k", "t"], kind="stable")
    new = (d.groupby("k")["t"].diff() >= gap_td) | (d["k"] != d["k"].shift())
    d = d.assign(sid=new.cumsum())
    ref = aggregated(d, "sid")
    g = d.groupby("sid")
    ref.insert(0, "window_start", g["t"].min())
    ref.insert(1, "window_end", g["t"].max() + gap_td)
    ref.insert(2, "k", g["k"].first())
    return ref.reset_index(drop=True)


SESSIONS = [
    ("centuries", "400D"),
    ("pre1970", "60D"),
    ("across1970", "20min"),
    ("first", "30min"),
    ("last", "30min"),
    ("long", "3h"),
    ("dst", "5min"),
]


@pytest.mark.parametrize(("kind", "gap"), SESSIONS, ids=[s[0] for s in SESSIONS])
@pytest.mark.parametrize("tz", TZS, ids=str)
def test_session_windows_equal_a_plain_pandas_sessionisation(kind, gap, tz):
    df = frame(kind, tz, 1200, 7)
    node, got = feed(lambda s: s.session_window(gap, on="t", key="k", agg=AGG), df, 7)
    table(got, ref_sessions(df, gap), ["window_start", "k"])
    assert node.stats.late == 0


ROLLING = [
    ("anywhere", "400D"),
    ("pre1970", "10D"),
    ("across1970", "30min"),
    ("first", "3h"),
    ("last", "3h"),
    ("long", "1h"),
    ("dst", "10min"),
    ("at_first", "3h"),  # the window reaches back before the first time datetime64 holds
    ("at_last", "3h"),
    ("first", 25),  # rows
    ("anywhere", 25),
]


@pytest.mark.parametrize(("kind", "window"), ROLLING, ids=[f"{k}-{w}" for k, w in ROLLING])
@pytest.mark.parametrize("tz", TZS, ids=str)
@pytest.mark.parametrize("key", [None, "k"])
def test_rolling_equals_pandas_rolling(kind, window, tz, key):
    df = frame(kind, tz, 1000, 11)
    on = "t" if isinstance(window, str) else None
    aggs = ["count", "sum", "mean", "min", "max"]
    _, got = feed(lambda s: s.rolling(window, on=on, key=key, agg={"v": aggs}), df, 11)
    if key is None:
        roll = df.rolling(window, on=on, min_periods=1)["v"]
        ref = pd.DataFrame({f"v_{a}": getattr(roll, a)().to_numpy() for a in aggs})
    else:
        parts = []
        for _, part in df.groupby(key, sort=False):
            roll = part.rolling(window, on=on, min_periods=1)["v"]
            parts.append(pd.DataFrame({f"v_{a}": getattr(roll, a)() for a in aggs}))
        ref = pd.concat(parts).sort_index().reset_index(drop=True)
    pd.testing.assert_frame_equal(
        got[ref.columns].reset_index(drop=True), ref, check_dtype=False, rtol=1e-9
    )


JOINS = [
    ("anywhere", "1000D"),
    ("pre1970", "20D"),
    ("across1970", "1h"),
    ("first", "2h"),
    ("last", "2h"),
    ("long", "1h"),
    ("dst", "10min"),
    ("at_first", "2h"),
    ("at_last", "2h"),
]


@pytest.mark.parametrize(("kind", "tolerance"), JOINS, ids=[j[0] for j in JOINS])
@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", None], ids=str)
@pytest.mark.parametrize("lateness", ["0s", "1h"])
def test_asof_join_equals_merge_asof(kind, tolerance, tz, lateness):
    left = frame(kind, tz, 700, 13)
    right = frame(kind, tz, 500, 14).rename(columns={"v": "q"})
    ref = pd.merge_asof(
        left,
        right,
        on="t",
        by="k",
        tolerance=pd.Timedelta(tolerance),
        direction="backward",
        suffixes=("", "_right"),
    )
    ls, rs = Stream(), Stream()
    node = ls.asof_join(rs, on="t", by="k", tolerance=tolerance, lateness=lateness)
    out = node.sink_to_list()
    lc, rc = cuts(len(left), 13), cuts(len(right), 14)
    order = np.random.default_rng(15).permutation([0] * len(lc) + [1] * len(rc))
    li, ri = iter(lc), iter(rc)
    for side in order:  # the two streams interleave in a seeded random order
        a, b = next(li) if side == 0 else next(ri)
        (ls if side == 0 else rs).emit((left if side == 0 else right).iloc[a:b])
    node.end_of_input()
    got = pd.concat(out, ignore_index=True)
    pd.testing.assert_frame_equal(got[ref.columns], ref, check_dtype=False)
    assert node.late_left_count == node.late_right_count == node.forced == 0


@pytest.mark.parametrize("kind", list(SPANS))
@pytest.mark.parametrize("tz", TZS, ids=str)
def test_aggregate_equals_groupby(kind, tz):
    df = frame(kind, tz, 1500, 17)
    _, got = feed(lambda s: s.aggregate(AGG, key="k", on="t", output="complete"), df, 17)
    final = got.iloc[-3:].reset_index(drop=True)  # complete mode: the last table is the answer
    ref = aggregated(df, "k").reset_index()
    pd.testing.assert_frame_equal(final[ref.columns], ref, check_dtype=False, rtol=1e-9)


@pytest.mark.parametrize(("kind", "half_life"), [("anywhere", "3650D"), ("pre1970", "30D")])
@pytest.mark.parametrize("whole", [True, False], ids=["one-batch", "cut"])
def test_ewma_over_centuries_equals_pandas_ewm(kind, half_life, whole):
    """The decay weights use t - newest: over 584 years that difference leaves int64."""
    df = frame(kind, "UTC", 1500, 19).dropna()
    src = Stream()
    node = src.aggregate({"v": [f"ewma:{half_life}"]}, key="k", on="t", output="complete")
    out = node.sink_to_list()
    for a, b in [(0, len(df))] if whole else cuts(len(df), 19):
        src.emit(df.iloc[a:b])
    final = out[-1].set_index("k")[f"v_ewma_{half_life}"]  # complete: the whole table
    for k, part in df.groupby("k"):
        ewm = part["v"].ewm(halflife=pd.Timedelta(half_life), times=part["t"]).mean()
        assert final[k] == pytest.approx(ewm.iloc[-1], rel=1e-9)


# -- the two reported cases --------------------------------------------------------------------
def glucose() -> pd.DataFrame:
    """200 days of continuous-glucose readings every 5 minutes (a few seconds of jitter), with
    the gaps of a real recording: a 2-hour warm-up at each sensor change (every 10 days) and a
    12-day pause; 4,470 hours hold readings."""
    rng = np.random.default_rng(14)
    n = 200 * 288
    start = pd.Timestamp("2023-03-01 00:02:30", tz="UTC").value
    ns = start + np.arange(n, dtype=np.int64) * 300 * 10**9 + rng.integers(-20, 21, n) * 10**9
    hour = (ns - pd.Timestamp("2023-03-01", tz="UTC").value) // (3600 * 10**9)
    gaps = {h for day in range(10, 200, 10) for h in (24 * day, 24 * day + 1)}
    h = 24 * 100 + 5
    while len(gaps) < 330:  # the pause, until 330 of the 4,800 hours are empty
        gaps.add(h)
        h += 1
    keep = ~np.isin(hour, list(gaps))
    times = pd.to_datetime(ns[keep], unit="ns", utc=True)
    return pd.DataFrame({"time": times, "glucose": np.round(rng.normal(120, 25, keep.sum()), 1)})


def centuries() -> pd.DataFrame:
    """60,000 seeded event times from 1690 to 2250 (sorted), one value each."""
    rng = np.random.default_rng(65)
    lo, hi = pd.Timestamp("1690-01-01").value, pd.Timestamp("2250-01-01").value
    ns = np.sort(rng.integers(lo, hi, 60_000, dtype=np.int64))
    return pd.DataFrame(
        {"time": pd.to_datetime(ns, unit="ns", utc=True), "v": rng.normal(size=60_000)}
    )


@pytest.mark.parametrize(
    ("data", "size", "column", "windows"),
    [(glucose, "1h", "glucose", 4_470), (centuries, "7D", "v", 25_472)],
    ids=["glucose-200-days-hourly", "1690-2250-weekly"],
)
@pytest.mark.parametrize("batches", ["whole", "cut"])
def test_the_reported_cases_give_every_window_resample_gives(data, size, column, windows, batches):
    df = data()
    span = int(df["time"].iloc[-1].value) - int(df["time"].iloc[0].value)
    assert span > 2**53  # float64 cannot count these nanoseconds one by one
    aggs = ["count", "mean", "max"]
    src = Stream()
    w = src.window(size, on="time", agg={column: aggs})
    out = w.sink_to_list()
    parts = [(0, len(df))] if batches == "whole" else cuts(len(df), 21)
    for a, b in parts:
        src.emit(df.iloc[a:b])
    w.end_of_input()
    got = pd.concat(out, ignore_index=True)
    naive = df.assign(time=utc_naive(df["time"])).set_index("time")[column]
    ref = naive.resample(fixed_length(size), origin="epoch").agg(aggs)
    ref = ref[ref["count"] > 0]
    assert len(got) == len(ref) == windows
    np.testing.assert_array_equal(ns_of(got["window_start"]), ref.index.as_unit("ns").asi8)
    for a in aggs:
        # atol: a mean near 0 (a sum of N(0, 1) values) may differ by an ulp or two with the
        # summation order (pandas 2's resample and this engine add in different orders)
        np.testing.assert_allclose(got[f"{column}_{a}"], ref[a], rtol=1e-12, atol=1e-15)


# -- the ends of the range ------------------------------------------------------------------------
FIRST = pd.Timestamp(np.iinfo(np.int64).min + 1, unit="ns")  # 1677-09-21 00:12:43.145224193
LAST = pd.Timestamp(np.iinfo(np.int64).max, unit="ns")  # 2262-04-11 23:47:16.854775807


def at(*stamps: str) -> pd.DataFrame:
    t = pd.Series(pd.to_datetime(list(stamps), utc=True, format="ISO8601")).dt.as_unit("ns")
    return pd.DataFrame({"t": t, "k": "a", "v": np.arange(1.0, len(stamps) + 1)})


@pytest.mark.parametrize(
    ("build", "batch", "message"),
    [
        (
            lambda s: s.window("1D", on="t", agg=AGG),
            at("2262-04-10 12:00", "2262-04-11 12:00"),
            "size: the window [2262-04-11 00:00:00, 2262-04-12 00:00:00) of event time "
            "2262-04-11 12:00:00 ends after 2262-04-11 23:47:16.854775807, the last time "
            "datetime64[ns] can hold",
        ),
        (
            lambda s: s.window("1h", on="t", agg=AGG),
            at("1677-09-21 00:30", "1677-09-22"),
            "size: the window [1677-09-21 00:00:00, 1677-09-21 01:00:00) of event time "
            "1677-09-21 00:30:00 starts before 1677-09-21 00:12:43.145224193, the first time "
            "datetime64[ns] can hold",
        ),
        (
            lambda s: s.window("3h", slide="1h", on="t", agg=AGG),
            at("1677-09-21 02:30"),
            "size: the window [1677-09-21 00:00:00, 1677-09-21 03:00:00) of event time "
            "1677-09-21 02:30:00 starts before",
        ),
        (
            lambda s: s.session_window("1h", on="t", agg=AGG),
            at("2262-04-11 23:00"),
            "gap: a session holding event time 2262-04-11 23:00:00 would end after "
            "2262-04-11 23:47:16.854775807",
        ),
    ],
    ids=["tumbling-end", "tumbling-start", "sliding-start", "session-end"],
)
def test_windows_that_datetime64_ns_cannot_hold_are_refused_before_anything_is_kept(
    build, batch, message
):
    src = Stream()
    node = build(src)
    out = node.sink_to_list()
    with pytest.raises(ConfigError, match=re.escape(message)):
        src.emit(batch)
    assert node.stats.rows == 0 and node.state is None and out == []


def test_windows_up_to_the_last_nanosecond_are_emitted():
    """The last whole hour datetime64[ns] holds ends at 2262-04-11 23:00; the first one that
    starts after 1677-09-21 00:12:43 starts at 01:00."""
    df = at("1677-09-21 01:00", "1677-09-21 01:59:59.999999999", "2262-04-11 22:00",
            "2262-04-11 22:59:59.999999999")  # fmt: skip
    _, got = feed(lambda s: s.window("1h", on="t", agg=AGG, allowed_lateness="1D"), df, 0)
    assert got["window_start"].dt.strftime("%Y-%m-%d %H:%M").tolist() == [
        "1677-09-21 01:00",
        "2262-04-11 22:00",
    ]
    assert got["v_count"].tolist() == [2, 2]


def test_a_lateness_longer_than_the_time_since_1677_does_not_wrap_around():
    """newest time - lateness is before 1677-09-21: the watermark stays at the first time
    instead of wrapping to 2262 (which closed every window and dropped every later row)."""
    df = frame("first", "UTC", 800, 23)
    node, got = feed(lambda s: s.window("1h", on="t", agg=AGG, allowed_lateness="1000D"), df, 23)
    table(got, ref_tumbling(df, "1h", []), ["window_start"])
    assert node.stats.late == 0
    assert node.stats.watermark == FIRST.tz_localize("UTC")
    src = Stream()
    sess = src.session_window("1h", on="t", agg=AGG, allowed_lateness="1000D")
    src.emit(df.iloc[::-1])  # newest first: every row is within the lateness
    assert sess.stats.late == 0


def test_a_microsecond_column_beyond_2262_is_refused_not_wrapped_to_1830():
    t = pd.Series(np.array(["2020-01-01", "3000-01-01"], "datetime64[us]"))
    df = pd.DataFrame({"t": t, "v": [1.0, 2.0]})
    for build in (
        lambda s: s.window("1h", on="t", agg=AGG),
        lambda s: s.rolling("1h", on="t", agg={"v": "sum"}),
        lambda s: s.aggregate(AGG, on="t"),
    ):
        with pytest.raises(ConfigError, match=r"event time 3000-01-01 00:00:00 is outside"):
            build(Stream()).update(df)


# -- the learners' time windows: the same results at any epoch -------------------------------
def days_to_2000(df: pd.DataFrame) -> int:
    """Whole days from the first row to 2000-01-01 (in ints: a Timedelta stops at 292 years)."""
    return (pd.Timestamp("2000-01-01").value - int(ns_of(df["t"])[0])) // DAY


def shifted(df: pd.DataFrame, days: int) -> pd.DataFrame:
    """``df`` moved by whole days (in ns integers: more than a Timedelta's 292 years)."""
    half = days // 2  # each half fits in int64 (the whole may not: 322 years is 1.02e19 ns)
    ns = ns_of(df["t"]) + np.int64(half) * DAY + np.int64(days - half) * DAY
    return df.assign(t=pd.to_datetime(ns, unit="ns", utc=True))


@pytest.mark.parametrize("kind", ["at_first", "first", "last", "at_last", "victorian"])
def test_robust_zscore_time_windows_give_the_same_scores_at_any_epoch(kind):
    """Scores depend on the gaps between rows only: data moved to 2000 scores the same."""
    df = frame(kind, "UTC", 600, 29).dropna()
    to_2000 = days_to_2000(df)
    scores = []
    for d in (df, shifted(df, to_2000)):
        _, got = feed(lambda s: s.robust_zscore("v", window="6h", on="t", min_periods=3), d, 29)
        scores.append(got["v_rz_score"].to_numpy())
    np.testing.assert_array_equal(scores[0], scores[1])


@pytest.mark.parametrize("kind", ["first", "last", "victorian", "across1970"])
def test_refit_time_windows_give_the_same_fits_at_any_epoch(kind):
    """Windows start at multiples of their size from the epoch: data moved by a whole number
    of windows (days) gives the same windows, moved, and the same fits."""
    from sklearn.linear_model import LinearRegression

    df = frame(kind, "UTC", 600, 31).dropna().assign(x=lambda d: np.arange(len(d), dtype=float))
    to_2000 = days_to_2000(df)
    size = "1D"
    fits = []
    for d in (df, shifted(df, to_2000 // 3650 * 3650)):
        _, got = feed(
            lambda s: s.refit(LinearRegression(), window=size, on="t", target="v", features=["x"]),
            d,
            31,
        )
        fits.append(got)
    assert len(fits[0]) > 3
    moved = to_2000 // 3650 * 3650
    np.testing.assert_array_equal(
        ns_of(shifted(fits[0].rename(columns={"window_start": "t"}), moved)["t"]),
        ns_of(fits[1]["window_start"]),
    )
    for c in ("rows", "rows_train", "score", "coef_x"):
        pd.testing.assert_series_equal(fits[0][c], fits[1][c])


@pytest.mark.parametrize("year", [1700, 2200])
def test_session_boundaries_hold_to_the_nanosecond_far_from_1970(year):
    """In 2200 a float64 of the time in ns steps by 1,024 ns: a gap worked out in float
    joined events one nanosecond short of the gap apart into one session and not the next."""
    gap = pd.Timedelta("1h").value
    t0 = pd.Timestamp(f"{year}-01-01 00:00:00.000000001").value
    steps = [0, gap - 1, gap - 1, gap, gap - 1]  # one ns short of the gap: same session
    ns = np.cumsum([t0, *steps[1:]]).tolist()
    df = pd.DataFrame({"t": pd.to_datetime(ns, unit="ns", utc=True), "k": "a", "v": 1.0})
    for split in range(len(df) + 1):
        src = Stream()
        node = src.session_window("1h", on="t", agg={"v": ["count"]})
        out = node.sink_to_list()
        src.emit(df.iloc[:split])
        src.emit(df.iloc[split:])
        node.end_of_input()
        got = pd.concat(out, ignore_index=True)
        assert got["v_count"].tolist() == [3, 2], split
        assert ns_of(got["window_start"]).tolist() == [ns[0], ns[3]]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("tz", TZS, ids=str)
def test_event_times_in_any_unit_are_the_nanoseconds_pandas_gives(unit, tz):
    from streamlab.ops.nstime import event_ns

    stamps = ["1677-09-22", None, "1969-12-31 23:59:59", "1970-01-01", "2262-04-10 12:00:01"]
    t = pd.Series(pd.to_datetime(stamps, format="ISO8601")).dt.as_unit(unit)
    if tz is not None:
        t = t.dt.tz_localize("UTC").dt.tz_convert(tz)
    np.testing.assert_array_equal(event_ns(t), t.dt.as_unit("ns").array.asi8)
    if unit != "ns":  # the unit holds times datetime64[ns] does not: refused, not wrapped
        late = pd.Series(np.array(["2262-04-12", "1677-09-20"], f"datetime64[{unit}]"))
        for one in (late[:1], late[1:]):
            with pytest.raises(ConfigError, match="is outside the range of datetime64"):
                event_ns(one)
