"""Lossy codecs: the stated bound holds at every point, the report is right, LTTB matches a
plain reference implementation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamlab.compress import CodecError, codec
from streamlab.compress.lossy import DeadbandCodec, QuantizeCodec, SwingingDoorCodec, lttb
from streamlab.errors import ConfigError

T0 = pd.Timestamp("2026-01-01", tz="UTC")
CODECS = {
    "quantize": lambda b, **kw: QuantizeCodec(max_error=b, **kw),
    "deadband": lambda b, **kw: DeadbandCodec(deadband=b, **kw),
    "swinging_door": lambda b, **kw: SwingingDoorCodec(deviation=b, **kw),
}


def signal(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "walk":
        return np.cumsum(rng.normal(0, 0.1, n)) + 20
    if kind == "sine":
        return 5 * np.sin(np.arange(n) / 40) + rng.normal(0, 0.05, n)
    return np.round(np.cumsum(rng.normal(0, 0.05, n)), 3)  # "decimals": sensor-like


def frame(kind: str, n: int = 4000, seed: int = 0, sensors: int = 1) -> pd.DataFrame:
    """``sensors`` interleaved series, irregular but increasing times within each."""
    rng = np.random.default_rng(seed + 100)
    per = n // sensors
    steps = rng.integers(1, 2000, size=(per, 1)) * 10**6
    times = T0.value + np.cumsum(steps, axis=0) + np.arange(sensors)
    vals = np.stack([signal(kind, per, seed + k) for k in range(sensors)], axis=1)
    df = pd.DataFrame(
        {
            "time": pd.to_datetime(times.ravel(), utc=True),
            "value": vals.ravel(),
            "sensor": pd.array([f"s{k}" for k in range(sensors)] * per, dtype="str"),
            "count": np.arange(per * sensors, dtype=np.int64),
        }
    )
    df.attrs["time_column"] = "time"
    return df


def check_decoded(c, df: pd.DataFrame, bound: float) -> pd.DataFrame:
    out = c.decode_frame(c.encode_frame(df))
    pd.testing.assert_frame_equal(
        out.drop(columns="value"), df.drop(columns="value"), check_exact=True
    )
    assert out.dtypes.equals(df.dtypes) and out.attrs == df.attrs
    x, xhat = df["value"].to_numpy(), out["value"].to_numpy()
    same = (x == xhat) | (np.isnan(x) & np.isnan(xhat))
    with np.errstate(invalid="ignore"):  # inf - inf where both are inf
        err = np.abs(x - xhat)
    assert (same | (err <= bound)).all(), float(err[~same].max())
    return out


@pytest.mark.parametrize("name", list(CODECS))
@pytest.mark.parametrize("kind", ["walk", "sine", "decimals"])
@pytest.mark.parametrize("bound", [0.001, 0.05, 0.5])
def test_bound_holds_at_every_point(name, kind, bound):
    df = frame(kind, sensors=3)
    c = CODECS[name](bound, **({} if name == "quantize" else {"by": "sensor"}))
    out = check_decoded(c, df, bound)
    report = c.error_report(df, out)
    x, xhat = df["value"].to_numpy(), out["value"].to_numpy()
    row = report.iloc[0]
    assert row["column"] == "value" and row["bound"] == bound
    assert (
        row["max_abs_error"] == pytest.approx(np.abs(x - xhat).max())
        and row["max_abs_error"] <= bound
    )
    assert row["rmse"] == pytest.approx(math.sqrt(np.mean((x - xhat) ** 2)))
    assert row["ratio"] > 1 and report["column"].tolist() == ["value", "(all)"]


@pytest.mark.parametrize("name", list(CODECS))
@pytest.mark.parametrize("kind", ["walk", "sine"])
def test_a_higher_bound_gives_a_higher_ratio(name, kind):
    df = frame(kind, n=6000, sensors=2)
    kw = {} if name == "quantize" else {"by": "sensor"}
    sizes = [len(CODECS[name](b, **kw).encode_frame(df)) for b in (0.01, 0.05, 0.25, 1.0)]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 4, sizes


def reference_interpolation(df: pd.DataFrame, kept: np.ndarray, by: str | None) -> np.ndarray:
    """Plain per-series linear interpolation in time between the kept rows."""
    ns = df["time"].array.asi8
    x = df["value"].to_numpy()
    out = np.empty_like(x)
    groups = (
        [np.arange(len(df))]
        if by is None
        else [np.flatnonzero(df[by] == g) for g in df[by].unique()]
    )
    for rows in groups:
        t = (ns - ns[rows[0]]).astype(np.float64)  # epoch ns as floats would lose 256 ns steps
        k = np.intersect1d(rows, kept)
        out[rows] = np.interp(t[rows], t[k], x[k])
    return out


@pytest.mark.parametrize("kind", ["walk", "sine", "decimals"])
@pytest.mark.parametrize(("deviation", "sensors"), [(0.01, 1), (0.2, 1), (0.05, 4)])
def test_swinging_door_against_linear_interpolation(kind, deviation, sensors):
    df = frame(kind, sensors=sensors, seed=3)
    by = "sensor" if sensors > 1 else None
    c = SwingingDoorCodec(deviation=deviation, by=by)
    kept = c.kept(df)["value"]
    ref = reference_interpolation(df, kept, by)
    x = df["value"].to_numpy()
    assert (np.abs(x - ref) <= deviation * (1 + 1e-9)).all()
    out = check_decoded(c, df, deviation)
    np.testing.assert_allclose(out["value"].to_numpy(), ref, rtol=1e-12, atol=1e-12)
    if deviation >= 0.2:
        assert len(kept) < len(df) / 4  # it does compress


def test_deadband_holds_the_last_kept_value():
    df = frame("walk", sensors=2)
    c = DeadbandCodec(deadband=0.3, by="sensor")
    kept = c.kept(df)["value"]
    out = check_decoded(c, df, 0.3)
    x = df["value"].to_numpy()
    for s in df["sensor"].unique():  # reference: hold, per sensor, in row order
        rows = np.flatnonzero(df["sensor"] == s)
        last = None
        for r in rows:
            if r in set(kept):
                last = x[r]
            assert out["value"].iloc[r] == last
        assert rows[0] in kept  # each series starts with a kept point


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-1e6, 1e6) | st.sampled_from([np.nan, np.inf, -np.inf, -0.0, 1e300]),
            st.sampled_from(["a", "b", "c"]),
            st.integers(1, 10**12),
        ),
        max_size=200,
    ),
    st.sampled_from(list(CODECS)),
    st.sampled_from([1e-9, 0.001, 0.3, 1000.0]),
    st.booleans(),
)
def test_bound_holds_for_generated_values(rows, name, bound, grouped):
    values, sensors, gaps = zip(*rows, strict=True) if rows else ((), (), ())
    df = pd.DataFrame(
        {
            "time": pd.to_datetime(T0.value + np.cumsum(np.array(gaps, dtype=np.int64)), utc=True),
            "value": np.array(values, dtype=np.float64),
            "sensor": pd.array(sensors, dtype="str"),
        }
    )
    df.attrs["time_column"] = "time"
    kw = {"by": "sensor"} if grouped and name != "quantize" else {}
    check_decoded(CODECS[name](bound, **kw), df, bound)


@pytest.mark.parametrize("name", list(CODECS))
def test_frames_without_float_columns_or_rows(name):
    c = CODECS[name](0.1)
    for df in (pd.DataFrame(), pd.DataFrame({"s": ["a", "b"]}), frame("walk").iloc[:0]):
        out = c.decode_frame(c.encode_frame(df))
        pd.testing.assert_frame_equal(out, df, check_exact=True)
    check_decoded(c, frame("walk").iloc[:1], 0.1)


def test_float32_and_column_choice():
    df = frame("sine", n=2000)
    df["other"] = df["value"].to_numpy() * 2
    df["value"] = df["value"].astype("float32")
    for name in CODECS:
        c = CODECS[name](0.01, columns=["value"])
        out = check_decoded(c, df, 0.01)
        assert out["value"].dtype == np.float32
        assert out["other"].equals(df["other"])  # not named: kept exactly


def test_registry_names():
    for name, params in [
        ("quantize", {"max_error": 0.1}),
        ("deadband", {"deadband": 0.1}),
        ("swinging_door", {"deviation": 0.1}),
    ]:
        c = codec(name, **params)
        assert c.name == name and c.lossless is False


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: QuantizeCodec(max_error=0),
            "max_error must be > 0, not 0; give the largest error you accept, e.g. codec('quantize', max_error=0.01)",
        ),
        (
            lambda: DeadbandCodec(deadband="1"),
            "deadband must be a number, not '1'; give the largest error you accept, e.g. codec('deadband', deadband=0.01)",
        ),
        (
            lambda: QuantizeCodec(max_error=1, columns=["sensor"]).encode_frame(frame("walk")),
            "quantize: columns ['sensor'] are not float columns of the batch; its float columns are ['value']",
        ),
        (
            lambda: DeadbandCodec(deadband=1, by="site").encode_frame(frame("walk")),
            "by='site' is not a column of the batch: ['time', 'value', 'sensor', 'count']",
        ),
        (
            lambda: codec("swinging_door"),
            "deviation must be a number, not None; give the largest error you accept, e.g. codec('swinging_door', deviation=0.01)",
        ),
        (
            lambda: lttb([1, 2, 3], [1, 2, 3], 1),
            "n_out must be >= 2, not 1; ask for at least the two end points; for example n_out=2",
        ),
    ],
)
def test_errors_say_what_to_do(make, message):
    with pytest.raises(ConfigError) as err:
        make()
    assert str(err.value) == message


def test_swinging_door_needs_increasing_time():
    df = frame("walk", sensors=2)  # interleaved: time goes back at every other row
    with pytest.raises(
        ConfigError,
        match=r"time column 'time' must increase strictly within each series; row 1 does not",
    ):
        SwingingDoorCodec(deviation=0.1).encode_frame(
            df.assign(time=df["time"].iloc[::-1].to_numpy())
        )


@pytest.mark.parametrize("name", list(CODECS))
def test_corrupt_frames_raise(name):
    c = CODECS[name](0.1)
    blob = c.encode_frame(frame("walk", n=500))
    for cut in (0, 10, 20, len(blob) // 2, len(blob) - 1):
        with pytest.raises(CodecError, match=rf"^{name}: "):
            c.decode_frame(blob[:cut])
    bad = bytearray(blob)
    bad[len(blob) // 2] ^= 4
    with pytest.raises(CodecError, match=rf"^{name}: corrupt"):
        c.decode_frame(bytes(bad))


def test_decoding_uses_the_frames_settings():
    df = frame("walk")
    blob = QuantizeCodec(max_error=0.5).encode_frame(df)
    out = QuantizeCodec(max_error=0.001).decode_frame(blob)
    assert (np.abs(out["value"] - df["value"]) <= 0.5).all()


# -- LTTB ----------------------------------------------------------------------------------
def lttb_reference(x, y, n_out):
    """Steinarsson's loop, as written in his thesis' JavaScript, in plain Python."""
    n = len(x)
    if n_out >= n:
        return list(range(n))
    nb = n_out - 2
    kept, a = [0], 0
    for i in range(nb):
        # bucket edges floor(i * (n - 2) / nb) + 1, in exact integer arithmetic
        start, end = (i * (n - 2)) // nb + 1, ((i + 1) * (n - 2)) // nb + 1
        nstart, nend = end, min(((i + 2) * (n - 2)) // nb + 1, n)
        avg_x = sum(x[nstart:nend]) / (nend - nstart)
        avg_y = sum(y[nstart:nend]) / (nend - nstart)
        best, best_area = start, -1.0
        for j in range(start, end):
            area = abs((x[a] - avg_x) * (y[j] - y[a]) - (x[a] - x[j]) * (avg_y - y[a])) * 0.5
            if area > best_area:
                best, best_area = j, area
        kept.append(best)
        a = best
    return [*kept, n - 1]


@pytest.mark.parametrize("n", [3, 10, 101, 1000, 5003])
@pytest.mark.parametrize("n_out", [2, 3, 4, 10, 99, 500])
@pytest.mark.parametrize("seed", [0, 1])
def test_lttb_matches_the_reference(n, n_out, seed):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.uniform(0.1, 2, n))
    y = np.cumsum(rng.normal(size=n)) + 3 * np.sin(np.arange(n) / 7)
    idx = lttb(x, y, n_out)
    assert idx.tolist() == lttb_reference(x.tolist(), y.tolist(), n_out)
    assert len(idx) == min(n, n_out) and idx[0] == 0 and idx[-1] == n - 1
    assert (np.diff(idx) > 0).all()


def test_lttb_on_times_keeps_the_peak():
    t = pd.date_range("2026-01-01", periods=10_000, freq="100ms", tz="UTC")
    y = np.zeros(10_000)
    y[4321] = 50.0
    idx = lttb(t, y, 100)
    assert 4321 in idx and len(idx) == 100
