"""Drift detectors: stated delays and false-alarm rates, batch independence, River's detections.

Streams come from ``streamlab.generate("noise", ...)`` (seeded, N(0, noise^2), plus ``drift``
from row ``drift_at`` on). DDM watches an error stream made from the same values: 1 where the
value is above 1 (p = 0.16 before a 1-sigma shift, 0.5 after).

Stated bounds (default parameters; delays counted in rows from the change to the alarm):

============  ====================================  ===============  =====================
detector      stream                                delay, >= 95 %   false alarms, 50 x 10k
============  ====================================  ===============  =====================
ADWIN         noise=1, 1-sigma shift                <= 100 rows      <= 1 (measured 0)
ADWIN         noise=1, 0.5-sigma shift              <= 250 rows
PageHinkley   noise=0.1, 1-sigma shift (0.1)        <= 700 rows      <= 1 (measured 0)
DDM           errors 0.16 -> 0.5                    <= 1500 rows     <= 50 (measured 25)
============  ====================================  ===============  =====================

PageHinkley's ``threshold`` and ``delta`` are in the units of the values: with its defaults on
unit-variance noise it alarms every ~1,600 rows (a stated limitation, as for River's).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from streamz import Stream

import streamlab
from streamlab.errors import ConfigError
from streamlab.learn.detectors import ADWIN, DDM, DETECTORS, PageHinkley

AT, ROWS, SEEDS = 5000, 10_000, range(50)


def values(seed: int, rows: int = ROWS, *, noise: float = 1.0, drift: float = 0.0) -> np.ndarray:
    gen = streamlab.generate(
        "noise", rows=rows, seed=seed, noise=noise, drift_at=AT if drift else None, drift=drift
    )
    blocks = [gen.block(b)["value"] for b in range(-(-rows // 4096))]
    return pd.concat(blocks, ignore_index=True).to_numpy()[:rows]


def errors(x: np.ndarray) -> np.ndarray:
    return (x > 1.0).astype(float)


# (name, detector factory, stream options, transform, delay bound in rows)
DELAYS = [
    ("adwin-1sigma", ADWIN, {"noise": 1.0, "drift": 1.0}, None, 100),
    ("adwin-0.5sigma", ADWIN, {"noise": 1.0, "drift": 0.5}, None, 250),
    ("page_hinkley-1sigma", PageHinkley, {"noise": 0.1, "drift": 0.1}, None, 700),
    ("ddm-0.16-to-0.5", DDM, {"noise": 1.0, "drift": 1.0}, errors, 1500),
]


@pytest.mark.parametrize(("name", "make", "opts", "transform", "bound"), DELAYS)
def test_detects_the_change_within_the_stated_delay(name, make, opts, transform, bound):
    delays = []
    for seed in SEEDS:
        x = values(seed, **opts)
        hits = make().update(transform(x) if transform else x)
        after = hits[hits >= AT]
        delays.append(after[0] - AT if len(after) else np.inf)
    late = [d for d in delays if d > bound]
    assert len(late) <= 0.05 * len(SEEDS), (name, sorted(late))


@pytest.mark.parametrize(
    ("make", "noise", "transform", "bound"),
    [(ADWIN, 1.0, None, 1), (PageHinkley, 0.1, None, 1), (DDM, 1.0, errors, 50)],
    ids=["adwin", "page_hinkley", "ddm"],
)
def test_false_alarms_on_stationary_streams(make, noise, transform, bound):
    alarms = 0
    for seed in range(1000, 1000 + len(SEEDS)):
        x = values(seed, noise=noise)
        alarms += len(make().update(transform(x) if transform else x))
    assert alarms <= bound


class EveryCheck(ADWIN):
    """ADWIN that checks its window at every ``clock`` rows (no look-ahead pruning)."""

    def _first_alarm(self, x):
        tau = np.arange(self.clock - self._tick % self.clock, len(x) + 1, self.clock)
        tau = tau[self.width + tau > self.grace_period]
        return int(tau[0]) if len(tau) else None


def shifting(seed: int, rows: int = 9000) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    third = rows // 3
    return [
        np.concatenate(
            [rng.normal(0, 1, third), rng.normal(0.5, 1, third), rng.normal(3, 2, third)]
        ),
        1e6 + np.concatenate([rng.normal(0, 1e-3, third), rng.normal(1e-3, 1e-3, 2 * third)]),
        (rng.random(rows) < np.repeat([0.1, 0.3, 0.1], third)).astype(float),
        np.cumsum(rng.normal(0, 0.05, rows)),
    ]


ADWIN_OPTIONS = [
    {},
    {"clock": 1, "max_buckets": 2, "min_window_length": 1, "grace_period": 0},
    {"clock": 7, "max_buckets": 3, "min_window_length": 10, "grace_period": 50},
    {"clock": 100, "max_buckets": 9, "delta": 0.1},
]


@pytest.mark.parametrize("reset", [False, True])
@pytest.mark.parametrize("opts", ADWIN_OPTIONS)
def test_adwin_look_ahead_never_skips_a_check(opts, reset):
    for seed in range(2):
        for x in shifting(seed, rows=4500):
            fast, slow = (
                ADWIN(**opts, reset_on_drift=reset),
                EveryCheck(**opts, reset_on_drift=reset),
            )
            np.testing.assert_array_equal(fast.update(x), slow.update(x))
            assert fast.width == slow.width


DETECTOR_CASES = [
    (lambda: ADWIN(), lambda s: shifting(s)[0]),
    (lambda: ADWIN(clock=5, reset_on_drift=True), lambda s: shifting(s)[3]),
    (lambda: PageHinkley(), lambda s: shifting(s)[0] * 0.1),
    (lambda: PageHinkley(threshold=5.0, mode="up"), lambda s: shifting(s)[3]),
    (lambda: DDM(), lambda s: shifting(s)[2]),
]


@pytest.mark.parametrize(("make", "stream"), DETECTOR_CASES)
def test_detections_do_not_depend_on_batch_boundaries(make, stream):
    for seed in range(4):
        x = stream(seed)
        whole = make().update(x)
        assert len(whole) > 0
        rng = np.random.default_rng(seed)
        cuts = np.sort(
            rng.choice(np.arange(1, len(x)), size=int(rng.integers(1, 40)), replace=False)
        )
        det, got = make(), []
        for start, part in zip(np.r_[0, cuts], np.split(x, cuts), strict=True):
            got.append(start + det.update(part))
        np.testing.assert_array_equal(np.concatenate(got), whole)
        ones = make()
        one_by_one = [i for i, v in enumerate(x[:3000]) if len(ones.update([v]))]
        np.testing.assert_array_equal(one_by_one, whole[whole < 3000])


def river_positions(detector, x) -> list[int]:
    hits = []
    for i, v in enumerate(x):
        detector.update(float(v))
        if detector.drift_detected:
            hits.append(i)
    return hits


def river_cases():
    import river.drift as river_drift  # the test extra installs River

    levels = lambda s: shifting(s)[0]  # noqa: E731
    return [
        (lambda: ADWIN(reset_on_drift=True), river_drift.ADWIN, levels),
        (
            lambda: ADWIN(0.05, clock=8, max_buckets=3, min_window_length=2, reset_on_drift=True),
            lambda: river_drift.ADWIN(0.05, clock=8, max_buckets=3, min_window_length=2),
            lambda s: shifting(s)[3],
        ),
        (PageHinkley, river_drift.PageHinkley, lambda s: shifting(s)[0] * 0.1),
        (
            lambda: PageHinkley(10, 0.01, 20.0, 0.999, mode="down"),
            lambda: river_drift.PageHinkley(10, 0.01, 20.0, 0.999, mode="down"),
            lambda s: shifting(s)[3],
        ),
        (DDM, river_drift.binary.DDM, lambda s: shifting(s)[2]),
        (
            lambda: DDM(1.5, 2.5, 100),
            lambda: river_drift.binary.DDM(100, 1.5, 2.5),
            lambda s: shifting(s)[2],
        ),
    ]


@pytest.mark.parametrize(
    "case", range(6), ids=["adwin", "adwin-options", "ph", "ph-options", "ddm", "ddm-options"]
)
def test_same_detections_as_river(case):
    ours, theirs, stream = river_cases()[case]
    found = 0
    for seed in range(8):
        x = stream(seed)
        got = ours().update(x).tolist()
        assert got == river_positions(theirs(), x)
        found += len(got)
    assert found >= 8


def test_adwin_keeps_the_newer_window_where_river_resets():
    """Documented difference: the first alarm is River's; then River empties its window while
    ADWIN (as in the paper) keeps the part after the cut, so later alarms may differ."""
    import river.drift as river_drift  # the test extra installs River

    for seed in range(8):
        x = shifting(seed)[0]
        ours, theirs = ADWIN().update(x), river_positions(river_drift.ADWIN(), x)
        assert ours[0] == theirs[0]
    adwin = ADWIN()
    adwin.update(x)
    assert 0 < adwin.width < len(x)


def frame(seed: int, keys: int = 1) -> pd.DataFrame:
    gen = streamlab.generate("noise", rows=12_000, seed=seed, noise=1.0, drift_at=6000, keys=keys)
    return pd.concat([gen.block(b) for b in range(3)], ignore_index=True).iloc[:12_000]


def run_step(df: pd.DataFrame, cuts, **options):
    src = Stream()
    node = src.detect_drift("value", **options)
    out, events = node.sink_to_list(), node.events.sink_to_list()
    for part in np.split(np.arange(len(df)), cuts):
        src.emit(df.iloc[part])
    return node, pd.concat(out), (pd.concat(events, ignore_index=True) if events else None)


@pytest.mark.parametrize("method", ["adwin", "page_hinkley"])
def test_step_per_key_matches_the_detector_on_each_key(method):
    df = frame(3, keys=3)
    params = {"threshold": 20.0} if method == "page_hinkley" else {}
    node, out, events = run_step(df, [100, 5000, 5001, 9000], method=method, key="key", **params)
    for k, part in df.groupby("key", sort=False):
        expected = part.index[DETECTORS[method](**params).update(part["value"])]
        assert events.loc[events["key"] == k, "position"].tolist() == expected.tolist()
    assert out["value_drift"].sum() == len(events) == node.stats.detections
    assert list(events.columns) == ["time", "key", "method", "position", "value"]
    assert (events["time"].to_numpy() == df["time"].to_numpy()[events["position"]]).all()
    assert (events["method"] == method).all()
    assert node.stats.rows == len(df) and node.stats.keys == 3 and node.stats.skipped == 0


def test_step_skips_and_counts_nan_and_inf():
    df = frame(4)
    bad = df.copy()
    bad.loc[[10, 6100, 7000], "value"] = [np.nan, np.inf, -np.inf]
    node, out, events = run_step(bad, [3000, 6050])
    assert node.stats.skipped == 3 and node.stats.rows == len(df)
    good = bad["value"].drop([10, 6100, 7000])
    assert events["position"].tolist() == good.index[ADWIN().update(good)].tolist()
    assert not out.loc[[10, 6100, 7000], "value_drift"].any()


def test_step_passes_batches_through_with_a_flag_column():
    df = frame(5)
    node, out, events = run_step(df, [4000, 8000])
    pd.testing.assert_frame_equal(out.drop(columns="value_drift"), df)
    assert out.index[out["value_drift"]].tolist() == events["position"].tolist()
    assert events["position"].iloc[0] - 6000 <= 100
    assert node.stats.last_position == events["position"].iloc[-1]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda s: s.detect_drift("value", method="adwn"),
            "method='adwn' is not one of 'adwin', 'page_hinkley', 'ddm'. Did you mean 'adwin'?",
        ),
        (
            lambda s: s.detect_drift("value", delt=0.01),
            "method='adwin' has no parameter 'delt'; its parameters are delta, clock, "
            "max_buckets, min_window_length, grace_period, reset_on_drift. Did you mean 'delta'?",
        ),
        (
            lambda s: s.detect_drift("value", delta=0),
            "delta must be > 0, not 0; for example delta=0.002",
        ),
        (
            lambda s: s.detect_drift("value", method="page_hinkley", alpha=1.5),
            "alpha must be <= 1, not 1.5; for example alpha=0.9999",
        ),
        (
            lambda s: s.detect_drift("value", method="ddm", warning=3.0, drift=2.0),
            "drift must be >= 3.0, not 2.0; or lower warning=; for example drift=3.0",
        ),
        (
            lambda s: s.detect_drift("value", clock=0),
            "clock must be >= 1, not 0; for example clock=32",
        ),
    ],
)
def test_bad_parameters_are_refused_with_a_clear_message(call, message):
    with pytest.raises(ConfigError) as err:
        call(Stream())
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("options", "batch", "message"),
    [
        (
            {"column": "valu"},
            pd.DataFrame({"value": [1.0], "key": ["a"]}),
            "column='valu' is not a column of this stream; its columns are ['value', 'key']. "
            "Did you mean 'value'?",
        ),
        (
            {"column": "value", "key": "sensor"},
            pd.DataFrame({"value": [1.0], "key": ["a"]}),
            "key='sensor' is not a column of this stream; its columns are ['value', 'key']",
        ),
        (
            {"column": "value", "method": "ddm"},
            pd.DataFrame({"value": [0.0, 1.0, 0.5]}),
            "DDM takes a 0/1 error stream (1 = a mistake), not values such as 0.5; "
            "use ADWIN or PageHinkley on a numeric column",
        ),
    ],
)
def test_bad_batches_are_refused_with_a_clear_message(options, batch, message):
    src = Stream()
    node = src.detect_drift(**options)  # noqa: F841  (streamz keeps its nodes by weak reference)
    with pytest.raises(ConfigError) as err:
        src.emit(batch)
    assert str(err.value) == message


def test_detectors_refuse_nan_when_called_directly():
    with pytest.raises(ConfigError, match=r"^ADWIN.update got NaN or infinite values; drop"):
        ADWIN().update([1.0, np.nan])
    assert DDM().update([True, False]).tolist() == []  # booleans are an error stream


def test_get_reports_the_current_estimate():
    x = np.r_[np.zeros(500), np.ones(1000)]
    adwin, ph, ddm = ADWIN(), PageHinkley(threshold=5.0), DDM()
    adwin.update(x)
    ph.update(x)
    ddm.update(np.r_[np.zeros(500), np.ones(100)] > 0)
    assert adwin.get() == pytest.approx(1.0, abs=0.02)
    assert adwin.n == 1500 and adwin.n_detections >= 1
    assert ph.get() == 1.0
    assert ddm.get() == 1.0 and ddm.n_detections == 1
