"""The time-series codec: bit-exact round trips of every batch dtype, its ratio, corrupt input."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamlab.compress import CodecError, codec
from streamlab.compress.bits import bit_length, pack, unpack
from streamlab.compress.timeseries import TimeSeriesCodec
from streamlab.compress.transforms import unzigzag, zigzag
from streamlab.errors import ConfigError

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def assert_same(out: pd.DataFrame, df: pd.DataFrame) -> None:
    """Equal frames, and every float bit for bit (NaN payloads, -0.0), attrs included."""
    pd.testing.assert_frame_equal(out, df, check_exact=True)
    assert out.attrs == df.attrs
    for i in range(df.shape[1]):
        a, b = df.iloc[:, i], out.iloc[:, i]
        if a.dtype.kind == "f" and isinstance(a.dtype, np.dtype):
            width = f"i{a.dtype.itemsize}"
            assert np.array_equal(a.to_numpy().view(width), b.to_numpy().view(width)), a.name


def roundtrip(df: pd.DataFrame, c=None) -> pd.DataFrame:
    c = c or TimeSeriesCodec()
    out = c.decode_frame(c.encode_frame(df))
    assert_same(out, df)
    return out


# -- generated frames with every dtype of the batch contract ----------------------------------
any_float = st.integers(0, 2**64 - 1).map(lambda b: np.uint64(b).view(np.float64))
special = st.sampled_from(
    [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -2.2e-308, 1.7976931348623157e308]
)
decimal = st.integers(-(10**7), 10**7).map(lambda k: k / 1000)
floats = st.one_of(any_float, special, decimal, st.floats(allow_nan=True, allow_subnormal=True))


@st.composite
def frames(draw, max_rows=60):
    n = draw(st.integers(0, max_rows))
    ints = st.integers(-(2**63), 2**63 - 1)
    step = draw(st.sampled_from([1, 1000, 10**9]))
    regular = T0.value + step * np.arange(n, dtype=np.int64)
    irregular = np.sort(
        np.array(draw(st.lists(st.integers(0, 10**15), min_size=n, max_size=n)), np.int64)
    )
    labels = st.sampled_from(["a", "sensor-1", "é", "", None])
    cats = draw(st.lists(st.sampled_from(["x", "y", "z"]), min_size=n, max_size=n))
    mode = draw(st.sampled_from(["random", "decimal"]))
    fl = draw(st.lists(floats if mode == "random" else decimal, min_size=n, max_size=n))
    df = pd.DataFrame(
        {
            "t": pd.to_datetime(regular, utc=True),
            "t_irregular": pd.to_datetime(T0.value + irregular, utc=True),
            "i": np.array(draw(st.lists(ints, min_size=n, max_size=n)), dtype=np.int64),
            "f": np.array(fl, dtype=np.float64),
            "n": pd.array(
                draw(st.lists(st.none() | st.integers(-5, 5), min_size=n, max_size=n)),
                dtype="Int64",
            ),
            "s": pd.array(draw(st.lists(labels, min_size=n, max_size=n)), dtype="str"),
            "b": np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool),
            "c": pd.Categorical(cats, categories=["z", "y", "x"]),
        }
    )
    df.attrs["time_column"] = "t"
    return df


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.sampled_from(["zstd", "zlib", "none"]), st.sampled_from(["auto", None, "s"]))
def test_roundtrip_generated_frames(df, entropy, by):
    roundtrip(df, TimeSeriesCodec(entropy=entropy, by=by))


@settings(max_examples=40, deadline=None)
@given(frames(max_rows=3000))
def test_roundtrip_longer_generated_frames(df):
    # more than two 1024-value blocks, so blocks of different bit widths meet
    roundtrip(df)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=300))
def test_bit_packing_matches_a_python_reference(values):
    u = np.array(values, dtype=np.uint64)
    assert unpack(pack(u), u.size).tolist() == values
    assert bit_length(u).tolist() == [v.bit_length() for v in values]
    signed = u.view(np.int64)
    assert zigzag(signed).tolist() == [(2 * v if v >= 0 else -2 * v - 1) for v in signed.tolist()]
    assert unzigzag(zigzag(signed)).tolist() == signed.tolist()


# -- one dtype at a time, including the ones the generator does not draw ------------------------
def _series():
    big = np.iinfo(np.int64)
    return {
        "int64 extremes": pd.Series([big.min, big.max, 0, -1, big.min], dtype="int64"),
        "int8": pd.Series([-128, 127, 0], dtype="int8"),
        "uint64": pd.Series([0, 2**64 - 1, 2**63], dtype="uint64"),
        "uint16": pd.Series([0, 65535, 7], dtype="uint16"),
        "float32": pd.Series([1.5, np.nan, -0.0, np.inf, 1e-45], dtype="float32"),
        "float64 nan payloads": pd.Series(
            np.array([0x7FF8000000000001, 0xFFF8000000000000, 0x7FF4000000000000], np.uint64).view(
                np.float64
            )
        ),
        "float64 decimals and NaN": pd.Series([1.25, np.nan, -3.5, np.nan]),
        "float64 leading NaN": pd.Series([np.nan, 0.001, 0.002]),
        "datetime naive": pd.Series(pd.to_datetime([0, 10**9, 2 * 10**9])),
        "datetime Berlin": pd.Series(
            pd.date_range("2026-03-29", periods=5, freq="30min", tz="Europe/Berlin")
        ),
        "datetime ms unit": pd.Series(pd.to_datetime([1, 2, 3], unit="ms", utc=True).as_unit("ms")),
        "datetime with NaT": pd.Series(pd.to_datetime([1, None, 3], unit="s", utc=True)),
        "timedelta": pd.Series(pd.to_timedelta([1, 2, None], unit="s")),
        "Int8 with NA": pd.Series([1, None, -3], dtype="Int8"),
        "UInt64 with NA": pd.Series([2**64 - 1, None, 0], dtype="UInt64"),
        "Float64 with NA": pd.Series([1.5, None, 2.25], dtype="Float64"),
        "boolean with NA": pd.Series([True, None, False], dtype="boolean"),
        "string (pd.NA)": pd.Series(["a", None, "b"], dtype="string"),
        "string python": pd.Series(
            ["a", None, "b"], dtype=pd.StringDtype("python", na_value=np.nan)
        ),
        "object str with None": pd.Series(["a", None, "b"], dtype=object),
        "object str with NaN": pd.Series(["a", np.nan, "b"], dtype=object),
        "category of ints": pd.Series(
            pd.Categorical([3, 1, None, 3], categories=[3, 1], ordered=True)
        ),
        "category of str, NaN": pd.Series(pd.Categorical(["b", None, "a"])),
        "surrogate string": pd.Series(["\ud800x", "y"], dtype=object),
    }


@pytest.mark.parametrize("label", list(_series()))
def test_roundtrip_each_dtype(label):
    s = _series()[label]
    roundtrip(pd.DataFrame({"x": s, "k": ["a", "b"] * (len(s) // 2) + ["a"] * (len(s) % 2)}))


@pytest.mark.parametrize(
    "df",
    [
        pd.DataFrame(),
        pd.DataFrame({"a": pd.Series([], dtype="int64"), "b": pd.Series([], dtype="str")}),
        pd.DataFrame({"t": [T0], "x": [np.nan], "s": ["only"]}),
        pd.DataFrame(np.arange(6.0).reshape(3, 2)),  # integer column names
        pd.DataFrame({"a": [1, 2]}).iloc[:, []],  # rows but no columns
        pd.DataFrame([[1, 2.5]], columns=["x", "x"]),  # duplicate names
    ],
    ids=["empty", "no rows", "one row", "int names", "no columns", "duplicate names"],
)
def test_roundtrip_edge_frames(df):
    roundtrip(df)


def sensor_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """Ten sensors, one reading a second each, 3-decimal random walks: the benchmark's shape."""
    rng = np.random.default_rng(seed)
    per = rows // 10
    walk = np.cumsum(rng.normal(0, 0.05, (per, 10)), axis=0) + rng.uniform(-50, 50, 10)
    return pd.DataFrame(
        {
            "time": pd.to_datetime(np.repeat(T0.value + np.arange(per) * 10**9, 10), utc=True),
            "value": np.round(walk.ravel(), 3),
            "sensor": pd.array([f"sensor-{i}" for i in range(10)] * per, dtype="str"),
        }
    )


def test_roundtrip_100k_rows_of_every_dtype():
    df = sensor_frame(100_000)
    rng = np.random.default_rng(1)
    df["noise"] = rng.normal(size=len(df))
    df["count"] = pd.array(
        np.where(rng.random(len(df)) < 0.1, None, rng.integers(0, 9, len(df))), dtype="Int64"
    )
    df["flag"] = rng.random(len(df)) < 0.5
    df["kind"] = pd.Categorical(rng.choice(["on", "off"], len(df)))
    df["i"] = rng.integers(-(2**62), 2**62, len(df))
    df["jitter"] = df["time"] + pd.to_timedelta(rng.integers(0, 999, len(df)), unit="ms")
    roundtrip(df)


def test_sensor_data_beats_zstd_on_csv():
    import zstandard

    df = sensor_frame(50_000)
    csv = (
        df.assign(time=df["time"].array.asi8 // 10**6)
        .to_csv(index=False, float_format="%.3f")
        .encode()
    )
    zstd3 = len(csv) / len(zstandard.ZstdCompressor(level=3).compress(csv))
    ours = len(csv) / len(TimeSeriesCodec().encode_frame(df))
    assert ours > 3 * zstd3
    methods = TimeSeriesCodec().explain(df).set_index("column")["method"]
    assert methods["value"].startswith("scaled(3)")
    assert methods["time"].endswith("by 'sensor'")


def test_explain_reports_every_column():
    df = sensor_frame(1000)
    ex = TimeSeriesCodec().explain(df)
    assert ex["column"].tolist() == ["time", "value", "sensor", "(all)"]
    assert (ex["encoded_bytes"] > 0).all()
    assert ex["ratio"].iloc[-1] == pytest.approx(
        ex["raw_bytes"].iloc[-1] / ex["encoded_bytes"].iloc[-1], rel=0.01
    )


def test_registry_and_raw_bytes():
    c = codec("timeseries", entropy="zlib")
    assert isinstance(c, TimeSeriesCodec) and c.lossless and c.name == "timeseries"
    data = b"epoch_ms,value\n" * 1000
    blob = c.encode(data)
    assert c.decode(blob) == data and len(blob) < len(data) / 20
    assert zlib.decompress(blob[6:]) == data  # id byte, CRC-32, flag byte, then plain zlib


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"by": "nope"},
            "by='nope' must name a string or category column of the batch; its columns are ['time', 'value', 'sensor']",
        ),
        (
            {"entropy": "zstandard"},
            "entropy='zstandard' is not one of 'zstd', 'zlib', 'none'. Did you mean 'zstd'?",
        ),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(ConfigError) as err:
        TimeSeriesCodec(**kwargs).encode_frame(sensor_frame(100))
    assert str(err.value) == message


def test_a_column_arrow_cannot_hold():
    df = pd.DataFrame({"x": pd.Series([1, "a", 2.5], dtype=object)})
    with pytest.raises(ConfigError, match="column 'x' of dtype object cannot be encoded"):
        TimeSeriesCodec().encode_frame(df)


def test_attrs_that_json_cannot_hold():
    df = pd.DataFrame({"x": [1]})
    df.attrs["when"] = T0
    with pytest.raises(ConfigError, match=r"attrs .* must survive JSON"):
        TimeSeriesCodec().encode_frame(df)


# -- corrupt and truncated input -------------------------------------------------------------
@pytest.fixture(scope="module")
def blob():
    return TimeSeriesCodec().encode_frame(sensor_frame(3000))


def test_every_truncation_raises(blob):
    c = TimeSeriesCodec()
    for cut in [*range(0, 40), *range(40, len(blob), max(1, len(blob) // 200))]:
        with pytest.raises(CodecError, match=r"^timeseries: "):
            c.decode_frame(blob[:cut])


def test_flipped_bytes_raise(blob):
    c = TimeSeriesCodec()
    rng = np.random.default_rng(0)
    for pos in [*range(15, 30), *rng.integers(15, len(blob), 200)]:
        bad = bytearray(blob)
        bad[pos] ^= 1 << int(rng.integers(8))
        with pytest.raises(CodecError, match=r"^timeseries: "):
            c.decode_frame(bytes(bad))


def test_wrong_codec_and_garbage(blob):
    c = TimeSeriesCodec()
    with pytest.raises(CodecError, match="written by codec 'zlib'"):
        c.decode_frame(codec("zlib").encode_frame(pd.DataFrame({"x": [1]})))
    with pytest.raises(CodecError, match="timeseries: corrupt frame"):
        c.decode_frame(blob[:15] + struct.pack(">I", 0) + blob[19:])
    with pytest.raises(CodecError, match="timeseries: corrupt"):
        c.decode(c.encode(b"some bytes")[:-2] + b"xx")


def test_zlib_when_zstandard_is_missing(monkeypatch):
    import importlib.util

    df = sensor_frame(2000)
    written_with_zstd = TimeSeriesCodec().encode_frame(df)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "zstandard" else find_spec(name, *a),
    )
    c = TimeSeriesCodec()  # entropy="zstd" by default: falls back to zlib
    assert c.entropy.name == "zlib"
    roundtrip(df, c)
    with pytest.raises(
        CodecError, match=r"compressed with zstd; pip install 'streamlab\[codecs\]'"
    ):
        c.decode_frame(written_with_zstd)
