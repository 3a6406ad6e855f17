"""Synthetic signals with known truth: drift and anomalies are columns, not guesses.

Rows are made in fixed blocks of 4,096, each from its own seeded generator, so the same seed
gives the same rows whatever the batch size or speed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..core.batch import TIME_ATTR
from ..core.checks import check_choice, check_number
from ..errors import ConfigError
from .paced import PacedSource

__all__ = ["KINDS", "Generate", "generate"]

KINDS = ("noise", "sine", "random_walk", "bursts")
_BLOCK = 4096


class Generate(PacedSource):
    """A seeded synthetic stream (see :func:`generate`)."""

    def __init__(
        self,
        kind,
        *,
        rows,
        rate,
        batch_rows,
        speed,
        keys,
        seed,
        noise,
        period,
        drift_at,
        drift,
        anomaly_rate,
        anomaly_size,
        start,
        stream_name,
        clock=None,
    ) -> None:
        batch_rows = check_number("batch_rows", batch_rows, low=1, integer=True)
        super().__init__(
            speed=speed,
            time_column="time",
            max_rows=batch_rows,
            stream_name=stream_name or f"generate({kind!r})",
            clock=clock,
        )
        self.kind = check_choice("kind", kind, KINDS)
        if rows is not None:
            rows = check_number("rows", rows, low=0, integer=True, fix="or rows=None for endless")
        self.rows = rows
        self.rate = check_number(
            "rate",
            rate,
            low=0,
            low_open=True,
            fix="rate is rows per second of event time, e.g. 1000",
        )
        self.batch_rows = self.max_rows  # checked by PacedSource, here under its own name
        self.keys = int(check_number("keys", keys, low=1, integer=True))
        self.seed = int(check_number("seed", seed, integer=True))
        self.noise = check_number("noise", noise, low=0)
        try:
            self.period = pd.Timedelta(period).total_seconds()
        except ValueError:
            self.period = -1.0
        if not self.period > 0:
            raise ConfigError(
                f"period must be a positive duration such as '60s', not {period!r}",
                param="period",
                value=period,
            )
        self.drift_at = (
            drift_at
            if drift_at is None
            else check_number(
                "drift_at", drift_at, low=0, integer=True, fix="the row where the drift starts"
            )
        )
        self.drift = check_number("drift", drift)
        self.anomaly_rate = check_number("anomaly_rate", anomaly_rate, low=0, high=1)
        self.anomaly_size = check_number("anomaly_size", anomaly_size, low=0)
        stamp = pd.Timestamp(start)
        self.start_time = (
            stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        )
        self._walk = np.zeros(self.keys)

    def block(self, b: int) -> pd.DataFrame:
        """Rows ``b*4096 .. (b+1)*4096-1`` (the same for a seed, whatever else happens)."""
        rng = np.random.default_rng([self.seed, b])
        idx = np.arange(b * _BLOCK, (b + 1) * _BLOCK)
        secs = idx / self.rate
        key = idx % self.keys
        eps = rng.normal(0.0, 1.0, _BLOCK)
        if self.kind == "noise":
            value = self.noise * eps
        elif self.kind == "sine":
            value = np.sin(2 * np.pi * secs / self.period + key) + self.noise * eps
        elif self.kind == "random_walk":
            steps = self.noise * eps
            value = np.empty(_BLOCK)
            for k in range(self.keys):  # per key, vectorised within the key
                sel = key == k
                value[sel] = self._walk[k] + np.cumsum(steps[sel])
                if sel.any():
                    self._walk[k] = value[sel][-1]
        else:  # bursts: quiet noise, with bursts of activity switched on by a slow square wave
            phase = (secs / self.period) % 1.0
            on = phase < 0.2
            value = self.noise * eps + np.where(on, 3.0 + rng.exponential(1.0, _BLOCK), 0.0)
        drifted = np.zeros(_BLOCK, bool) if self.drift_at is None else idx >= self.drift_at
        value = value + np.where(drifted, self.drift, 0.0)
        anomaly = rng.random(_BLOCK) < self.anomaly_rate
        sign = np.where(rng.random(_BLOCK) < 0.5, -1.0, 1.0)
        scale = max(self.noise, 1e-9) if self.kind != "sine" else max(self.noise, 0.1)
        value = np.where(anomaly, value + sign * self.anomaly_size * max(scale, 1.0), value)
        time = self.start_time + pd.to_timedelta(np.round(secs * 1e9).astype("int64"), unit="ns")
        df = pd.DataFrame(
            {
                "time": time,
                "key": np.char.add("sensor-", key.astype(str)) if self.keys > 1 else "sensor-0",
                "value": value,
                "is_anomaly": anomaly,
                "drifted": drifted,
            }
        )
        df.attrs[TIME_ATTR] = "time"
        df.attrs["origin"] = self.name  # e.g. generate('sine'): where the rows come from
        return df

    def _frames(self) -> Iterator:
        self._walk = np.zeros(self.keys)
        b = 0
        while self.rows is None or b * _BLOCK < self.rows:
            df = self.block(b)
            if self.rows is not None and (b + 1) * _BLOCK > self.rows:
                df = df.iloc[: self.rows - b * _BLOCK]
            yield df, int(df.memory_usage(index=False).sum()), []
            b += 1


def generate(
    kind: str = "sine",
    *,
    rows: int | None = None,
    rate: float = 1000.0,
    batch_rows: int = 1000,
    speed: float = 0.0,
    keys: int = 1,
    seed: int = 0,
    noise: float = 0.1,
    period: str = "10s",
    drift_at: int | None = None,
    drift: float = 1.0,
    anomaly_rate: float = 0.0,
    anomaly_size: float = 6.0,
    start: str = "2026-01-01T00:00:00Z",
    stream_name: str | None = None,
    clock=None,
) -> Generate:
    """A seeded synthetic stream: ``noise``, ``sine``, ``random_walk`` or ``bursts``.

    Columns: ``time`` (event time, ``rate`` rows per second of it), ``key``, ``value``,
    ``is_anomaly`` (True where a spike of ``anomaly_size`` noise units was injected) and
    ``drifted`` (True from row ``drift_at`` on, where ``drift`` is added to the level).
    ``speed=0`` (the default) emits as fast as possible; ``speed=1`` in real time, on
    ``clock`` (the event loop's by default; see ``streamlab.core.clock``).

    Examples
    --------
    >>> import streamlab
    >>> src = streamlab.generate("noise", rows=5, seed=1, drift_at=3, drift=10.0)
    >>> out = src.sink_to_list()
    >>> _ = streamlab.run(src)
    >>> out[0][["value", "drifted"]].round(2)
       value  drifted
    0   0.03    False
    1   0.08    False
    2   0.03    False
    3   9.87     True
    4  10.09     True
    """
    return Generate(
        kind,
        rows=rows,
        rate=rate,
        batch_rows=batch_rows,
        speed=speed,
        keys=keys,
        seed=seed,
        noise=noise,
        period=period,
        drift_at=drift_at,
        drift=drift,
        anomaly_rate=anomaly_rate,
        anomaly_size=anomaly_size,
        start=start,
        stream_name=stream_name,
        clock=clock,
    )
