"""core.batch helpers that take pandas shortcuts: the same frames as the plain pandas calls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from streamlab.core.batch import as_ns, column_arrays, with_columns
from streamlab.errors import ConfigError
from streamlab.learn.features import class_codes


def _mixed(n: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "f": rng.normal(size=n),
            "i": np.arange(n),
            "b": rng.random(n) > 0.5,
            "s": [f"k{j % 3}" for j in range(n)],
            "o": pd.Series([{"a": j} for j in range(n)], dtype=object),
            "n": pd.array([1, None] * (n // 2), dtype="Int64"),
            "c": pd.Categorical(["x", "y"] * (n // 2)),
            "t": pd.date_range("2026-01-01", periods=n, freq="s", tz="UTC"),
        },
        index=pd.RangeIndex(10, 10 + n),
    )


def test_column_arrays_are_the_columns_values():
    df = _mixed()
    got = column_arrays(df, range(df.shape[1]))
    for a, name in zip(got, df.columns, strict=True):
        assert pd.Series(a, index=df.index, name=name).equals(df[name]), name


@pytest.mark.parametrize("n", [0, 1, 7])
@pytest.mark.parametrize(
    "arrays",
    [
        lambda n: [np.arange(n) * 0.5],
        lambda n: [np.array([f"p{j}" for j in range(n)], dtype=object), np.ones(n)],
        lambda n: [np.array(["a", None] * n, dtype=object)[:n]],
        lambda n: [np.zeros(n, bool), np.arange(n), np.full(n, np.nan)],
    ],
)
def test_with_columns_equals_concat(n, arrays):
    df = _mixed(8).iloc[:n]
    df.attrs["source"] = "test"
    new = arrays(n)
    names = pd.Index([f"extra{j}" for j in range(len(new))])
    got = with_columns(df, names, new)
    want = pd.concat([df, pd.DataFrame(dict(zip(names, new, strict=True)), index=df.index)], axis=1)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.attrs == {"source": "test"} and got.attrs is not df.attrs
    assert list(df.columns) == list(_mixed(8).columns)  # the input is untouched


@pytest.mark.parametrize(
    ("classes", "values"),
    [
        (["b", "a", "c"], np.array(["a", "c", "zz", "b", None], dtype=object)),
        ([False, True], np.array([True, False, True])),
        ([False, True], np.array([1, 0, 2])),  # other kind: get_indexer's answer (no match)
        ([1, 2, 3], np.array([3, 1, 5, 2])),
        ([1, 2], np.array([1.0, 2.0, 2.5])),
        ([0.5, 1.5], np.array([1.5, 0.5, np.nan])),
        (list(range(20)), np.arange(-2, 25)),  # many classes: get_indexer itself
    ],
)
def test_class_codes_equal_get_indexer(classes, values):
    index = pd.Index(classes)
    assert class_codes(index, values).tolist() == index.get_indexer(values).tolist()


def test_as_ns_refuses_a_time_beyond_the_nanosecond_range_instead_of_wrapping():
    """A microsecond column holds year 3000; cast to nanoseconds it wrapped to 1830."""
    far = pd.Series(np.array(["2026-01-01", "3000-01-01"], "datetime64[us]"))
    assert as_ns(far[:1]).tolist() == [pd.Timestamp("2026-01-01").value]
    with pytest.raises(ConfigError, match="event time 3000-01-01 00:00:00 is outside the range"):
        as_ns(far)
