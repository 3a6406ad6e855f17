"""Streaming sketches against exact numpy/pandas answers: KLL, HyperLogLog, SpaceSaving."""

from __future__ import annotations

import functools
import pickle

import numpy as np
import pandas as pd
import pytest

from streamlab.errors import ConfigError
from streamlab.stats import KLL, HyperLogLog, SpaceSaving

QS = np.arange(1, 100) / 100  # 0.01 .. 0.99


def batches(x, rng, max_size=5000):
    """``x`` cut into consecutive pieces of random sizes 1..max_size."""
    sizes = rng.integers(1, max_size + 1, len(x) // max(1, max_size // 2) + 2)
    cuts = np.cumsum(sizes)
    return np.split(x, cuts[cuts < len(x)])


@functools.cache
def sample(kind: str, n: int) -> np.ndarray:
    rng = np.random.default_rng([n, len(kind)])
    x = {
        "uniform": lambda: rng.uniform(-5, 5, n),
        "normal": lambda: rng.normal(size=n),
        "lognormal": lambda: rng.lognormal(sigma=2.0, size=n),
        "duplicates": lambda: rng.integers(0, 30, n).astype(float),
        "sorted": lambda: np.sort(rng.normal(size=n)),
        "reverse_sorted": lambda: np.sort(rng.normal(size=n))[::-1].copy(),
    }[kind]()
    x.flags.writeable = False
    return x


def rank_errors(values, x, qs=QS):
    """How far each returned value's exact rank interval [#<v, #<=v]/n lies from its q."""
    s = np.sort(x)
    lo = np.searchsorted(s, values, side="left") / len(s)
    hi = np.searchsorted(s, values, side="right") / len(s)
    return np.maximum(0.0, np.maximum(lo - qs, qs - hi))


def kll_of(x, seed=0, max_size=5000):
    sk = KLL(seed=seed)
    for part in batches(x, np.random.default_rng(seed + 100), max_size):
        sk.update(part)
    return sk


# -- KLL --------------------------------------------------------------------------------------
KINDS = ["uniform", "normal", "lognormal", "duplicates", "sorted", "reverse_sorted"]


@pytest.mark.parametrize("n", [5_000, 200_000, 1_000_000])
@pytest.mark.parametrize("kind", KINDS)
def test_kll_quantiles_within_one_percent_rank(kind, n):
    x = sample(kind, n)
    sk = kll_of(x, seed=n % 7, max_size=200 if n <= 200_000 else 5000)
    assert (sk.n, sk.nan) == (n, 0)
    assert rank_errors(sk.quantile(QS), x).max() <= 0.01
    exact = np.searchsorted(np.sort(x), x[:200], side="right") / n
    assert np.abs(sk.rank(x[:200]) - exact).max() <= 0.01
    assert sk.quantile(0.0) == x.min() and sk.quantile(1.0) == x.max()
    assert sk.retained < 3 * sk.k + 2 * len(sk.levels)  # memory bounded whatever n


@pytest.mark.parametrize("kind", KINDS)
def test_kll_merge_of_parts_keeps_the_bound(kind):
    x = sample(kind, 1_000_000)
    parts = [kll_of(p, seed=i) for i, p in enumerate(np.array_split(x, 8))]
    while len(parts) > 1:  # a merge tree, as a parallel job would build
        parts = [a.merge(b) for a, b in zip(parts[::2], parts[1::2], strict=True)]
    sk = parts[0]
    assert sk.n == len(x) and sk.min == x.min() and sk.max == x.max()
    assert rank_errors(sk.quantile(QS), x).max() <= 0.01


def test_kll_is_exact_below_capacity():
    x = sample("lognormal", 5_000)[:500]
    sk = kll_of(x, max_size=50)
    np.testing.assert_array_equal(sk.quantile(QS), np.quantile(x, QS, method="inverted_cdf"))


def test_kll_same_seed_same_sketch():
    x = sample("normal", 200_000)
    a, b, c = kll_of(x, seed=3), kll_of(x, seed=3), kll_of(x, seed=4)
    assert all(np.array_equal(u, v) for u, v in zip(a.levels, b.levels, strict=True))
    np.testing.assert_array_equal(a.quantile(QS), b.quantile(QS))
    assert not np.array_equal(a.quantile(QS), c.quantile(QS))


def test_kll_nan_inputs_and_empty_sketch():
    sk = KLL()
    assert np.isnan(sk.quantile(0.5)) and np.isnan(sk.rank(1.0))
    sk.update(pd.Series([1.0, None, 3.0], dtype="Float64"))
    sk.update(np.array([np.nan, 2.0]))
    sk.update(4)
    assert (sk.n, sk.nan) == (4, 2)
    assert sk.quantile([0.25, 0.5, 1.0]).tolist() == [1.0, 2.0, 4.0]
    assert sk.rank(2.5) == 0.5 and np.isnan(sk.rank(np.nan))


# -- HyperLogLog ------------------------------------------------------------------------------
def distinct_values(kind: str, d: int) -> np.ndarray:
    ints = np.random.default_rng(d).permutation(d * 3)[:d]
    if kind == "int":
        return ints
    if kind == "float":
        return ints / 7.0 + 0.5
    return np.array([f"user-{i:x}" for i in ints], dtype=object)


@pytest.mark.parametrize("d", [10, 100, 1_000, 20_000, 50_000, 200_000, 1_000_000])
@pytest.mark.parametrize("kind", ["int", "float", "str"])
def test_hll_distinct_count_within_two_percent(kind, d):
    rng = np.random.default_rng(d + 1)
    values = distinct_values(kind, d)
    stream = values[rng.integers(0, d, d)]  # about 63% of the values, with repeats ...
    stream = np.concatenate([stream, values])  # ... then every value once more
    hll = HyperLogLog()
    for part in batches(stream, rng, max_size=100_000):
        hll.update(part)
    assert hll.n == len(stream) and hll.nan == 0
    assert abs(hll.count() / d - 1) <= 0.02


def test_hll_merge_equals_union_and_duplicates_change_nothing():
    a_vals, b_vals = np.arange(0, 300_000), np.arange(200_000, 450_000)
    a, b, union = HyperLogLog(), HyperLogLog(), HyperLogLog()
    a.update(a_vals)
    b.update(b_vals)
    union.update(np.union1d(a_vals, b_vals))
    once = a.copy()
    merged = a.merge(b)
    assert merged is a and merged.n == 550_000
    np.testing.assert_array_equal(merged.registers, union.registers)
    assert merged.count() == union.count()
    assert abs(union.count() / 450_000 - 1) <= 0.02
    twice = once.copy()
    twice.update(a_vals[::-1])  # the same values again, in another order
    twice.update(a_vals[:1000])
    np.testing.assert_array_equal(twice.registers, once.registers)
    assert twice.count() == once.count() and twice.n == once.n + 301_000


@pytest.mark.parametrize(
    ("values", "count", "nan"),
    [
        ([1, 1.0, np.int32(1), 2, 2.0], 2, 0),  # numbers by value
        ([0.0, -0.0], 1, 0),
        ([1, None, np.nan, pd.NA, 1], 1, 3),  # missing ignored, counted
        (pd.Series(["a", "b", None], dtype="string"), 2, 1),
        (pd.Series(["a", "b", "b"], dtype="category"), 2, 0),
        (np.array([["x", "y"], ["y", "z"]]), 3, 0),
    ],
)
def test_hll_what_counts_as_the_same_value(values, count, nan):
    hll = HyperLogLog()
    hll.update(values)
    assert (hll.count(), hll.nan) == (count, nan)


def test_hll_string_dtypes_hash_alike():
    a, b = HyperLogLog(), HyperLogLog()
    a.update(pd.Series(["a", "b", "c"], dtype=object))
    b.update(pd.Series(["c", "b", "a"], dtype="string"))
    np.testing.assert_array_equal(a.registers, b.registers)


# -- SpaceSaving ------------------------------------------------------------------------------
def check_summary(ss: SpaceSaving, x: np.ndarray) -> None:
    true = pd.Series(x).value_counts()
    top = ss.top()
    f = true.reindex(top["item"]).fillna(0).to_numpy()
    assert len(top) <= ss.capacity and ss.n == len(x)
    assert (top["count"] >= f).all() and (top["count"] - top["error"] <= f).all()
    assert top["error"].max() <= ss.dropped <= len(x) / (ss.capacity + 1)
    assert set(true[true > len(x) / ss.capacity].index) <= set(top["item"])
    assert top["count"].is_monotonic_decreasing


@pytest.mark.parametrize(
    ("a", "capacity", "n"),
    [(1.1, 1000, 1_000_000), (1.3, 100, 1_000_000), (1.6, 20, 300_000), (2.5, 1, 50_000)],
)
def test_spacesaving_zipf_guarantees_and_merge(a, capacity, n):
    rng = np.random.default_rng(capacity)
    x = rng.zipf(a, n)
    ss = SpaceSaving(capacity=capacity)
    parts = batches(x, rng, max_size=20_000)
    for part in parts:
        ss.update(part)
    check_summary(ss, x)
    summaries = [SpaceSaving(capacity=capacity) for _ in range(5)]
    for i, part in enumerate(parts):
        summaries[i % 5].update(part)
    merged = summaries[0]
    for other in summaries[1:]:
        assert merged.merge(other) is merged
    check_summary(merged, x)  # the same items, in another order


def test_spacesaving_exact_when_items_fit_and_top_k():
    x = np.array(["b", "a", "b", "c", None, "b", "a"], dtype=object)
    ss = SpaceSaving(capacity=3)
    ss.update(x[:3])
    ss.update(pd.Series(x[3:]))
    assert (ss.n, ss.nan, ss.dropped) == (6, 1, 0)
    expected = pd.DataFrame({"item": ["b", "a", "c"], "count": [3, 2, 1], "error": [0, 0, 0]})
    pd.testing.assert_frame_equal(ss.top(), expected, check_dtype=False)
    assert ss.top(2)["item"].tolist() == ["b", "a"]
    ss.update([1, 1, 1, 1])  # a fourth item: the 4th largest count (1) is subtracted
    assert ss.dropped == 1 and "c" not in set(ss.top()["item"])
    assert ss.top().to_dict("list") == {"item": [1, "b", "a"], "count": [4, 3, 2], "error": [0] * 3}
    ss.update(["c", "c"])  # "c" is back: it may have occurred up to dropped=1 times before
    assert ss.top().to_dict("list") == {
        "item": [1, "b", "c"],
        "count": [4, 3, 3],
        "error": [0, 0, 1],
    }


# -- shared behaviour ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "batch"),
    [
        (lambda: KLL(k=50, seed=1), np.arange(10_000.0)),
        (lambda: HyperLogLog(p=10), np.arange(10_000)),
        (lambda: SpaceSaving(capacity=5), np.arange(10_000) % 17),
    ],
)
def test_pickle_copy_repr(make, batch):
    sk = make()
    sk.update(batch)
    for clone in (pickle.loads(pickle.dumps(sk)), sk.copy()):
        assert repr(clone) == repr(sk)
        clone.update(batch)
        assert clone.n == 2 * sk.n == 20_000
    assert repr(sk).startswith(type(sk).__name__ + "(") and "n=10000" in repr(sk)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: KLL(k=4),
            "k must be >= 8, not 4; use k=600 (the default) for rank error well under 1%, or k=200 for about 1% in a third of the memory",
        ),
        (
            lambda: KLL(k=600.0),
            "k must be an integer, not 600.0; use k=600 (the default) for rank error well under 1%, or k=200 for about 1% in a third of the memory",
        ),
        (lambda: KLL(seed=-1), "seed must be >= 0, not -1; use seed=0"),
        (
            lambda: KLL().quantile(1.5),
            "q must be in [0, 1], not 1.5; pass a fraction such as 0.5 for the median",
        ),
        (
            lambda: KLL().quantile([0.5, np.nan]),
            "q must be in [0, 1], not nan; pass a fraction such as 0.5 for the median",
        ),
        (
            lambda: KLL().update(["a"]),
            "values must be numbers, not list that fails float conversion (could not convert string to float: 'a'); convert first, e.g. pd.to_numeric(values, errors='coerce')",
        ),
        (
            lambda: KLL(k=600).merge(KLL(k=200)),
            "other.k=200 does not match k=600; merge sketches built with the same k",
        ),
        (
            lambda: HyperLogLog(p=3),
            "p must be an integer in 4..18, not 3; use p=14 (the default) for about 0.8% error with 16 KiB",
        ),
        (
            lambda: HyperLogLog(p=19),
            "p must be an integer in 4..18, not 19; use p=14 (the default) for about 0.8% error with 16 KiB",
        ),
        (
            lambda: HyperLogLog(p=14.0),
            "p must be an integer in 4..18, not 14.0; use p=14 (the default) for about 0.8% error with 16 KiB",
        ),
        (
            lambda: HyperLogLog(p=14).merge(HyperLogLog(p=12)),
            "other.p=12 does not match p=14; merge sketches built with the same p",
        ),
        (lambda: HyperLogLog().merge(KLL()), "other must be a HyperLogLog, not KLL"),
        (
            lambda: SpaceSaving(capacity=0),
            "capacity must be >= 1, not 0; use capacity=1000 to keep every item above 0.1% of the stream",
        ),
        (
            lambda: SpaceSaving(capacity=2.5),
            "capacity must be an integer, not 2.5; use capacity=1000 to keep every item above 0.1% of the stream",
        ),
        (
            lambda: SpaceSaving(capacity=10).merge(SpaceSaving(capacity=5)),
            "other.capacity=5 does not match capacity=10; merge summaries built with the same capacity",
        ),
        (lambda: SpaceSaving().top(-1), "k must be >= 0, not -1; or pass k=None for every counter"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ConfigError) as info:
        make()
    assert str(info.value) == message
