"""The inputs the battery feeds a step: batch cuts, event times at every epoch, every dtype.

Plain pandas and numpy; nothing here runs a stream.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"x": range(5)})
>>> [len(b) for b in cut(df, "rows")]
[1, 1, 1, 1, 1]
>>> [len(b) for b in cut(df, "empty")]
[0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0]
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pandas as pd

__all__ = [
    "CUTS",
    "EPOCHS",
    "canonical",
    "cut",
    "dtype_zoo",
    "epoch_variants",
    "explain_difference",
]

#: How a frame can be cut into batches (see :func:`cut`).
CUTS = ("one", "rows", "random", "empty")

_NS_MAX = pd.Timestamp.max.value
_NS_MIN = pd.Timestamp.min.value
_DAY = 86_400 * 10**9


def cut(df: pd.DataFrame, how: str, *, seed: int = 0) -> list[pd.DataFrame]:
    """``df`` as batches: ``"one"`` batch, one batch per row (``"rows"``), ``"random"`` cuts
    (seeded; some batches empty), or one row per batch with a zero-row frame (the right
    columns, dtypes and attrs) before each and at the end (``"empty"``)."""
    n = len(df)
    if how == "one":
        parts = [df]
    elif how == "rows":
        parts = [df.iloc[i : i + 1] for i in range(n)]
    elif how == "random":
        rng = np.random.default_rng(seed)
        points = np.sort(rng.integers(0, n + 1, size=max(1, min(n, 12))))
        bounds = [0, *points.tolist(), n]
        parts = [df.iloc[a:b] for a, b in itertools.pairwise(bounds)]
    elif how == "empty":
        empty = df.iloc[:0]
        parts = [p for i in range(n) for p in (empty, df.iloc[i : i + 1])] + [empty]
    else:
        raise ValueError(f"how={how!r} is not one of {CUTS}")
    out = []
    for p in parts:
        p = p.reset_index(drop=True)
        p.attrs = dict(df.attrs)
        out.append(p)
    return out


#: Event-time variants (see :func:`epoch_variants`).
EPOCHS = (
    "1678",
    "2261",
    "pre-1970",
    "span>2**53",
    "naive",
    "Europe/Berlin DST",
    "duplicates",
    "unit s",
    "unit us",
)


def epoch_variants(df: pd.DataFrame, column: str | None) -> Iterator[tuple[str, pd.DataFrame]]:
    """``df`` with its event times moved and recast: near both ends of ``datetime64[ns]``'s
    range (1678, 2261), before 1970, stretched over more than 2**53 ns (about 104 days, where
    float arithmetic on nanoseconds stops being exact), tz-naive, in a zone across a DST change,
    with duplicate timestamps, and in the units ``s`` and ``us`` (pandas 3 makes ``us`` by
    default). Row order and everything else stay as they are."""
    t = pd.to_datetime(df[column], utc=True)
    ns = t.array.as_unit("ns").asi8.copy()
    first, last = int(ns.min()), int(ns.max())
    span = last - first

    def with_ns(values: np.ndarray, tz="UTC") -> pd.DataFrame:
        out = df.copy()
        times = pd.to_datetime(values, unit="ns", utc=True)
        out[column] = (
            times if tz == "UTC" else times.tz_convert(tz) if tz else times.tz_localize(None)
        )
        out.attrs = dict(df.attrs)
        return out

    day = _DAY
    start_1678 = pd.Timestamp("1678-01-01", tz="UTC").value
    yield "1678", with_ns(ns - first + start_1678)
    end_2261 = pd.Timestamp("2261-12-31", tz="UTC").value
    yield "2261", with_ns(ns - last + end_2261)
    yield "pre-1970", with_ns(ns - first + pd.Timestamp("1921-07-04", tz="UTC").value)
    factor = max(1, -(-(2**53 + 10 * day) // max(span, 1)))  # integer ceiling
    stretched = first + (ns - first) * factor
    if stretched.max() < _NS_MAX - day:
        yield "span>2**53", with_ns(stretched)
    yield "naive", with_ns(ns, tz=None)
    change = pd.Timestamp("2026-03-29T01:00", tz="UTC").value  # Berlin: 02:00 CET -> 03:00 CEST
    yield "Europe/Berlin DST", with_ns(ns - first + change - span // 2, tz="Europe/Berlin")
    coarse = max(1, span // max(4, len(ns) // 4))
    yield "duplicates", with_ns(first + (ns - first) // coarse * coarse)
    for unit in ("s", "us"):
        out = df.copy()
        floor = 10**9 if unit == "s" else 1000
        out[column] = pd.to_datetime(ns // floor * floor, unit="ns", utc=True).as_unit(unit)
        out.attrs = dict(df.attrs)
        yield f"unit {unit}", out


def dtype_zoo(n: int, *, seed: int = 0) -> pd.DataFrame:
    """``n`` rows of one column per dtype a batch may carry, each with missing values where the
    dtype has one: int64, Int64, UInt8, float32, float64, bool, boolean, category, string,
    str, object, datetimes with a zone and in the units s/ms/us/ns, and timedelta."""
    rng = np.random.default_rng(seed)
    missing = np.zeros(n, bool)
    missing[rng.choice(n, size=max(1, n // 5), replace=False) if n else []] = True
    ints = rng.integers(-(2**62), 2**62, n)
    floats = rng.normal(size=n)
    words = np.array(["alpha", "beta", "gamma", "<b>delta</b>"], dtype=object)[
        rng.integers(0, 4, n)
    ]
    stamps = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**9, n), "s")
    zoo = {
        "z_int64": ints,
        "z_Int64": pd.array(np.where(missing, 0, ints), dtype="Int64"),
        "z_UInt8": pd.array(rng.integers(0, 256, n), dtype="UInt8"),
        "z_float32": np.where(missing, np.nan, floats).astype("float32"),
        "z_float64": np.where(missing, np.nan, floats),
        "z_bool": rng.integers(0, 2, n).astype(bool),
        "z_boolean": pd.array(rng.integers(0, 2, n).astype(bool), dtype="boolean"),
        "z_category": pd.Categorical(np.where(missing, None, words)),  # type: ignore[call-overload]  # numpy stubs: None is a fine object
        "z_string": pd.array(np.where(missing, None, words), dtype="string"),  # type: ignore[call-overload]
        "z_str": pd.Series(np.where(missing, None, words), dtype="str"),  # type: ignore[call-overload]
        "z_object": pd.Series(
            [None if m else (i, w) for i, (m, w) in enumerate(zip(missing, words, strict=True))],
            dtype=object,
        ),
        "z_time_tz": pd.Series(stamps).dt.tz_convert("America/New_York").where(~missing),
        "z_time_s": pd.Series(stamps.tz_localize(None).as_unit("s")),
        "z_time_ms": pd.Series(stamps.tz_localize(None).as_unit("ms")).where(~missing),
        "z_time_us": pd.Series(stamps.as_unit("us")).where(~missing),
        "z_time_ns": pd.Series(stamps.as_unit("ns")).where(~missing),
        "z_delta": pd.Series(pd.to_timedelta(rng.integers(0, 10**6, n), "ms")).where(~missing),
    }
    zoo["z_Int64"][missing] = pd.NA
    zoo["z_boolean"][missing] = pd.NA
    return pd.DataFrame({k: pd.Series(v).reset_index(drop=True) for k, v in zoo.items()})


def canonical(
    frames: list[pd.DataFrame], *, sort_by: list[str] | None = None
) -> pd.DataFrame | None:
    """The frames of a run as one frame (index reset), optionally sorted (stable)."""
    frames = [f for f in frames if f is not None]
    if not frames:
        return None
    out = (
        pd.concat(frames, ignore_index=True)
        if len(frames) > 1
        else frames[0].reset_index(drop=True)
    )
    if sort_by:
        out = out.sort_values(sort_by, kind="stable", ignore_index=True)
    return out


def explain_difference(
    got: pd.DataFrame | None, want: pd.DataFrame | None, *, rtol=None
) -> str | None:
    """``None`` if the frames are equal (dtypes included; exactly, or within ``rtol``), else
    what differs, in a few lines."""
    if got is None or want is None:
        if got is None and want is None:
            return None
        which = "no output" if got is None else f"{len(got)} rows where none were expected"
        return f"{which}; expected {0 if want is None else len(want)} rows"
    try:
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True),
            want.reset_index(drop=True),
            check_exact=rtol is None,
            rtol=rtol if rtol is not None else 1e-5,
            check_like=False,
        )
    except AssertionError as exc:
        return " ".join(str(exc).split())[:2000]
    return None
