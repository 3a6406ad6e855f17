"""The synthetic generator: seeded, deterministic whatever the batching, truth as columns."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import streamlab
from streamlab.errors import ConfigError


def collect(**kwargs) -> pd.DataFrame:
    src = streamlab.generate(**kwargs)
    got = src.sink_to_list()
    streamlab.run(src)
    return pd.concat(got, ignore_index=True)


@pytest.mark.parametrize("kind", ["noise", "sine", "random_walk", "bursts"])
def test_same_seed_same_rows_whatever_the_batch_size(kind):
    a = collect(kind=kind, rows=10_000, batch_rows=37, seed=7, keys=3)
    b = collect(kind=kind, rows=10_000, batch_rows=5000, seed=7, keys=3)
    pd.testing.assert_frame_equal(a, b)
    c = collect(kind=kind, rows=10_000, batch_rows=5000, seed=8, keys=3)
    assert not a["value"].equals(c["value"])


def test_event_time_follows_the_rate_and_keys_rotate():
    df = collect(kind="sine", rows=1000, rate=250.0, keys=4, start="2026-05-01T00:00:00Z")
    assert df["time"].iloc[0] == pd.Timestamp("2026-05-01", tz="UTC")
    assert (df["time"].diff().dropna() == pd.Timedelta("4ms")).all()
    assert df["key"].iloc[:5].tolist() == [
        "sensor-0",
        "sensor-1",
        "sensor-2",
        "sensor-3",
        "sensor-0",
    ]


def test_drift_and_anomalies_are_ground_truth_columns():
    df = collect(
        kind="noise", rows=20_000, noise=1.0, drift_at=12_000, drift=5.0, anomaly_rate=0.01, seed=3
    )
    assert (df["drifted"] == (df.index >= 12_000)).all()
    normal = df[~df["is_anomaly"]]
    before, after = normal[~normal["drifted"]]["value"], normal[normal["drifted"]]["value"]
    assert abs(before.mean()) < 0.1 and abs(after.mean() - 5.0) < 0.1
    assert 150 < df["is_anomaly"].sum() < 250  # about 1% of 20,000
    spikes = df[df["is_anomaly"]]
    level = np.where(spikes["drifted"], 5.0, 0.0)
    assert (np.abs(spikes["value"] - level) > 3.0).mean() > 0.95  # 6-sigma spikes stand out


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"kind": "sin"},
            "kind='sin' is not one of 'noise', 'sine', 'random_walk', 'bursts'. Did you mean 'sine'?",
        ),
        ({"rate": 0}, "rate must be > 0, not 0; rate is rows per second of event time, e.g. 1000"),
        ({"anomaly_rate": 2}, "anomaly_rate must be <= 1, not 2"),
        ({"period": "soon"}, "period must be a positive duration such as '60s', not 'soon'"),
        ({"speed": -1}, "speed must be >= 0, not -1"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        streamlab.generate(**kwargs)
