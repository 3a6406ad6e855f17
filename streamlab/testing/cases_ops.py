"""Conformance cases for the event-time steps, each with its plain-pandas reference:
``window`` (tumbling, sliding, count), ``session_window``, ``aggregate``, ``rolling``,
``asof_join``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .battery import Case

__all__ = ["OPS_CASES", "sensor_frame"]

AGG = {"v": ["count", "sum", "mean", "min", "max"], "n": ["sum", "max"]}
#: Float sums and means differ from pandas' (and between batch cuts) in the last bits only:
#: partial sums merge in another order. Counts, integer sums, min, max, times: exact.
FLOAT = 1e-12


def sensor_frame(n: int = 240, *, seed: int = 0) -> pd.DataFrame:
    """Readings of three sensors: event time ``t`` (some equal), key ``k``, float ``v`` (a few
    NaN), int ``n``, label ``y``. Time-ordered, as a replay or one producer sends them."""
    rng = np.random.default_rng(seed)
    gaps = rng.integers(0, 300, n)
    gaps[rng.random(n) < 0.1] = 0  # duplicate timestamps
    t = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(np.cumsum(gaps), "s")
    v = rng.normal(20.0, 5.0, n)
    v[rng.random(n) < 0.05] = np.nan
    df = pd.DataFrame(
        {
            "t": t.as_unit("ns"),
            "k": pd.Series(rng.choice(["a", "b", "c"], n), dtype="str"),
            "v": v,
            "n": rng.integers(-1000, 1000, n),
            "y": (np.nan_to_num(v) > 20).astype("int64"),
        }
    )
    df.attrs["time_column"] = "t"
    return df


def _utc(df: pd.DataFrame, column: str = "t") -> pd.Series:
    return pd.to_datetime(df[column], utc=True).dt.as_unit("ns")


def _stats(groups) -> pd.DataFrame:
    out = groups.agg(
        v_count=("v", "count"),
        v_sum=("v", "sum"),
        v_mean=("v", "mean"),
        v_min=("v", "min"),
        v_max=("v", "max"),
        n_sum=("n", "sum"),
        n_max=("n", "max"),
    )
    return out.reset_index()


def tumbling_reference(df: pd.DataFrame, size: str = "10min") -> pd.DataFrame:
    """``resample``'s windows, per key: starts at multiples of ``size`` since the epoch (UTC)."""
    start = _utc(df).dt.floor(size)
    out = _stats(df.assign(window_start=start).groupby(["window_start", "k"], sort=True))
    out.insert(1, "window_end", out["window_start"] + pd.Timedelta(size))
    return out


def sliding_reference(df: pd.DataFrame, size="30min", slide="10min") -> pd.DataFrame:
    """Every window of length ``size`` starting at a multiple of ``slide`` that holds the row."""
    t = _utc(df)
    per = pd.Timedelta(size) // pd.Timedelta(slide)
    parts = []
    for back in range(per):
        start = t.dt.floor(slide) - back * pd.Timedelta(slide)
        parts.append(df.assign(window_start=start)[start + pd.Timedelta(size) > t])
    rows = pd.concat(parts)
    out = rows.groupby("window_start", sort=True).agg(v_count=("v", "count"), v_mean=("v", "mean"))
    out = out.reset_index()
    out.insert(1, "window_end", out["window_start"] + pd.Timedelta(size))
    return out


def count_reference(df: pd.DataFrame, size: int = 10) -> pd.DataFrame:
    """Count windows: each key's rows in arrival order, ``size`` at a time."""
    w = df.groupby("k", sort=False).cumcount() // size
    g = df.assign(window=w.astype("int64"), tt=_utc(df)).groupby(["k", "window"], sort=True)
    out = g.agg(
        window_start=("tt", "min"), window_end=("tt", "max"), rows=("v", "size"), v_sum=("v", "sum")
    ).reset_index()
    return out[["window", "window_start", "window_end", "rows", "k", "v_sum"]]


def session_reference(df: pd.DataFrame, gap: str = "15min") -> pd.DataFrame:
    """Sessions per key: a new one where a row comes ``gap`` or more after the key's last."""
    d = df.assign(tt=_utc(df)).sort_values(["k", "tt"], kind="stable")
    new = d.groupby("k")["tt"].diff().isna() | (d.groupby("k")["tt"].diff() >= pd.Timedelta(gap))
    d["session"] = new.cumsum()
    g = d.groupby(["session", "k"], sort=False)
    out = g.agg(
        window_start=("tt", "min"), last=("tt", "max"), v_count=("v", "count"), v_sum=("v", "sum")
    )
    out = out.reset_index()
    out.insert(1, "window_end", out.pop("last") + pd.Timedelta(gap))
    out = out[["window_start", "window_end", "k", "v_count", "v_sum"]]
    return out.sort_values(["window_start", "k"], ignore_index=True)


def aggregate_reference(df: pd.DataFrame) -> pd.DataFrame:
    return _stats(df.groupby("k", sort=True))


def rolling_rows_reference(df: pd.DataFrame, window: int = 5) -> pd.DataFrame:
    r = df.groupby("k", sort=False)["v"].rolling(window, min_periods=1)
    out = df.copy()
    out["v_mean"] = r.mean().reset_index(level=0, drop=True).sort_index()
    out["v_max"] = r.max().reset_index(level=0, drop=True).sort_index()
    return out


def rolling_time_reference(df: pd.DataFrame, window: str = "30min") -> pd.DataFrame:
    r = df.rolling(window, on="t", min_periods=1)["v"]
    return df.assign(v_mean=r.mean(), v_sum=r.sum())


def asof_reference(df: pd.DataFrame, tolerance: str = "20min") -> pd.DataFrame:
    left, right = _left(df), _right(df)
    out = pd.merge_asof(
        left.sort_values("t", kind="stable"),
        right.rename(columns={"v": "v_right"})[["t", "k", "v_right"]].sort_values(
            "t", kind="stable"
        ),
        on="t",
        by="k",
        tolerance=pd.Timedelta(tolerance),
    )
    return out.sort_values(["t", "n"], kind="stable", ignore_index=True)


def _left(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["n"] % 2 == 0]


def _right(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["n"] % 2 != 0]


def _final_by_key(out: pd.DataFrame) -> pd.DataFrame:
    """An update stream's promise: the last row of each key is the whole-stream answer."""
    return out.groupby("k", sort=True).tail(1).sort_values("k", ignore_index=True)


def _asof(up, tolerance="20min"):
    left = up.map(_left)
    right = up.map(_right).map(lambda b: b.rename(columns={"v": "v_right"})[["t", "k", "v_right"]])
    return left.asof_join(right, on="t", by="k", tolerance=tolerance)


def _cases() -> dict[str, list[Case]]:
    data = sensor_frame()
    return {
        "window": [
            Case(
                "window tumbling 10min by key",
                lambda s: s.window("10min", key="k", agg=AGG),
                data,
                time_column="t",
                reference=tumbling_reference,
                sort_by=("window_start", "k"),
                rtol=FLOAT,
            ),
            Case(
                "window sliding 30min/10min",
                lambda s: s.window("30min", slide="10min", agg={"v": ["count", "mean"]}),
                data,
                time_column="t",
                reference=sliding_reference,
                sort_by=("window_start",),
                rtol=FLOAT,
            ),
            Case(
                "window count of 10 rows by key",
                lambda s, size=10: s.window(size, key="k", agg={"v": ["sum"]}),
                data,
                time_column="t",
                reference=count_reference,
                sort_by=("k", "window"),
                params={"size": 10},
                rtol=FLOAT,
            ),
        ],
        "session_window": [
            Case(
                "session_window 15min by key",
                lambda s: s.session_window("15min", key="k", agg={"v": ["count", "sum"]}),
                data,
                time_column="t",
                reference=session_reference,
                sort_by=("window_start", "k"),
                rtol=FLOAT,
            )
        ],
        "aggregate": [
            Case(
                "aggregate by key, update",
                lambda s: s.aggregate(AGG, key="k"),
                data,
                reference=aggregate_reference,
                final=_final_by_key,
                rtol=FLOAT,
                not_applicable={
                    "batch_cuts": "an update stream emits the keys each batch changed, so its "
                    "batches follow the cuts; what is promised (the last row per key) is checked "
                    "against the reference under random cuts"
                },
            )
        ],
        "rolling": [
            Case(
                "rolling 5 rows by key",
                lambda s, window=5: s.rolling(window, key="k", agg={"v": ["mean", "max"]}),
                data,
                time_column="t",
                reference=rolling_rows_reference,
                rows_kept=True,
                params={"window": 5},
                rtol=FLOAT,
            ),
            Case(
                "rolling 30min",
                lambda s: s.rolling("30min", on="t", agg={"v": ["mean", "sum"]}),
                data,
                time_column="t",
                reference=rolling_time_reference,
                rows_kept=True,
                rtol=1e-9,
            ),
        ],
        "asof_join": [
            Case(
                "asof_join by key within 20min",
                _asof,
                data,
                time_column="t",
                reference=asof_reference,
                sort_by=("t", "n"),
            )
        ],
    }


OPS_CASES = _cases
