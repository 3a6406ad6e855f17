"""Lossy codecs with a guaranteed error bound, and LTTB downsampling for plots.

Each codec changes only float columns (``columns=``, or every float column), keeps every
other column exactly (the time column included) and decodes to the original rows and dtypes:

- :class:`QuantizeCodec` ``(max_error=e)``: uniform quantisation with step ``2e``;
  ``|x - x̂| <= e``. The integers then take the time-series integer path.
- :class:`DeadbandCodec` ``(deadband=d)``: a value is kept only when it differs from the last
  kept one by more than ``d``; decoding holds the last kept value, so ``|x - x̂| <= d``.
- :class:`SwingingDoorCodec` ``(deviation=d)``: swinging-door trending, the process
  historian's compression: linear interpolation between kept points, in time, stays within
  ``d`` of every original point.

The bound is checked on the decoder's own arithmetic before a frame is written: a value the
formula would miss by a rounding error (or NaN, inf) is stored exactly, so the bound holds
for every point. ``by=`` names a column (e.g. the sensor id) whose groups are separate
series for deadband and swinging door. Frames: CRC-32, meta (JSON), then
:class:`~streamlab.compress.timeseries.TimeSeriesCodec` payloads: the frame with each lossy
column replaced by its integers or kept-flags, and per lossy column the exact values.

Examples
--------
>>> import numpy as np, pandas as pd
>>> t = pd.date_range("2026-01-01", periods=1000, freq="1s", tz="UTC")
>>> df = pd.DataFrame({"time": t, "value": np.sin(np.arange(1000) / 50)})
>>> c = SwingingDoorCodec(deviation=0.01)
>>> out = c.decode_frame(c.encode_frame(df))
>>> bool((out["value"] - df["value"]).abs().max() <= 0.01), out["time"].equals(df["time"])
(True, True)
>>> c.error_report(df, out)[["column", "bound"]]
  column  bound
0  value   0.01
1  (all)   0.01
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import zlib

import numpy as np
import pandas as pd

from ..core.checks import check_number
from ..errors import ConfigError
from . import bits
from .base import Codec, CodecError
from .timeseries import TimeSeriesCodec

__all__ = ["DeadbandCodec", "QuantizeCodec", "SwingingDoorCodec", "lttb"]


def _same(x: np.ndarray, xhat: np.ndarray) -> np.ndarray:
    return (x == xhat) | (np.isnan(x) & np.isnan(xhat))


def _within(x: np.ndarray, xhat: np.ndarray, bound: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return _same(x, xhat) | (np.abs(x.astype(np.float64) - xhat) <= bound)


class _Lossy(Codec):
    """Shared frame handling: targets, series, the error report."""

    lossless = False
    bound_name = ""

    def __init__(self, bound, *, columns=None, by=None, time_column=None, entropy="zstd"):
        fix = (
            f"give the largest error you accept, e.g. codec({self.name!r}, {self.bound_name}=0.01)"
        )
        self.bound = float(check_number(self.bound_name, bound, low=0, low_open=True, fix=fix))
        self.columns = [columns] if isinstance(columns, str) else columns and list(columns)
        self.by, self.time_column = by, time_column
        self._ts = TimeSeriesCodec(entropy=entropy)

    def _targets(self, df: pd.DataFrame) -> list[int]:
        names = list(df.columns)
        floats = [i for i, t in enumerate(df.dtypes) if isinstance(t, np.dtype) and t.kind == "f"]
        if self.columns is None:
            time = self.time_column or df.attrs.get("time_column")
            return [i for i in floats if names[i] != time]
        bad = [c for c in self.columns if c not in names or names.index(c) not in floats]
        if bad:
            raise ConfigError(
                f"{self.name}: columns {bad} are not float columns of the batch; its float "
                f"columns are {[names[i] for i in floats]}"
            )
        return [names.index(c) for c in self.columns]

    def _series(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Row order with each series together (stable) and where each series starts."""
        if self.by is None:
            return np.arange(len(df)), np.arange(len(df)) == 0
        if self.by not in df.columns:
            raise ConfigError(f"by={self.by!r} is not a column of the batch: {list(df.columns)}")
        codes = pd.factorize(df[self.by])[0]
        perm = bits.group_order(codes)
        return perm, np.r_[True, codes[perm][1:] != codes[perm][:-1]][: len(df)]

    def _split(self, df: pd.DataFrame):
        """The frame with each target replaced by its per-row data, and each target's extra."""
        inner, extras, targets = df.copy(deep=False), [], self._targets(df)
        order = self._series(df) if targets else None
        for i in targets:
            per_row, extra = self._lossy(df.iloc[:, i].to_numpy(), df, order)
            inner.isetitem(i, per_row)
            extras.append(extra)
        return inner, extras, targets

    def _encode_frame(self, df: pd.DataFrame) -> bytes:
        inner, extras, targets = self._split(df)
        time = self.time_column or df.attrs.get("time_column")
        dtypes = [str(df.dtypes.iloc[i]) for i in targets]
        meta = {"t": targets, "dt": dtypes, "b": self.bound, "by": self.by, "time": time}
        frames = [self._ts._encode_frame(f) for f in (inner, *extras)]
        body = bits.join_blobs([json.dumps(meta).encode(), *frames])
        return zlib.crc32(body).to_bytes(4, "little") + body

    def _decode_frame(self, payload: bytes, limit: int) -> pd.DataFrame:
        if zlib.crc32(memoryview(payload)[4:]) != int.from_bytes(payload[:4], "little"):
            raise CodecError(f"{self.name}: corrupt frame (checksum mismatch)")
        meta, inner, *extras = bits.split_blobs(payload[4:])
        meta = json.loads(meta)
        codec = copy.copy(self)  # decode with the settings the frame was written with
        codec.bound, codec.by, codec.time_column = meta["b"], meta["by"], meta["time"]
        out = self._ts._decode_frame(inner, limit, self.name)
        order = codec._series(out) if meta["t"] else None
        for i, dt, extra in zip(meta["t"], meta["dt"], extras, strict=True):
            extra = self._ts._decode_frame(extra, limit, self.name)
            x = codec._restore(out.iloc[:, i].to_numpy(), extra, out, order)
            out.isetitem(i, x.astype(dt))
        return out

    def error_report(self, original: pd.DataFrame, decoded: pd.DataFrame) -> pd.DataFrame:
        """Per lossy column: max_abs_error, rmse, the bound, and the ratio of the column's raw
        bytes to its share of the encoded frame; the ``(all)`` row compares whole frames.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> df = pd.DataFrame({"x": np.linspace(0, 1, 1001)})
        >>> c = QuantizeCodec(max_error=0.005)
        >>> report = c.error_report(df, c.decode_frame(c.encode_frame(df)))
        >>> report[["column", "max_abs_error", "bound"]]
          column  max_abs_error  bound
        0      x          0.005  0.005
        1  (all)          0.005  0.005
        >>> bool(report["ratio"].min() > 5)
        True
        """
        inner, extras, targets = self._split(original)
        sizes, rows = self._ts.explain(inner)["encoded_bytes"], []
        for i, extra in zip(targets, extras, strict=True):
            x, xhat = original.iloc[:, i].to_numpy(), decoded.iloc[:, i].to_numpy()
            with np.errstate(invalid="ignore"):  # inf - inf
                err = np.where(_same(x, xhat), 0.0, np.abs(x.astype(np.float64) - xhat))
            rmse = math.sqrt(float(np.mean(err**2))) if err.size else 0.0
            size = int(sizes.iloc[i]) + len(self._ts._encode_frame(extra))
            rows.append(
                (original.columns[i], float(err.max(initial=0)), rmse, self.bound, x.nbytes / size)
            )
        raw = original.memory_usage(index=False, deep=True).sum()
        worst = max((r[1] for r in rows), default=0.0)
        rows.append(("(all)", worst, math.nan, self.bound, raw / len(self.encode_frame(original))))
        return pd.DataFrame(rows, columns=["column", "max_abs_error", "rmse", "bound", "ratio"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.bound_name}={self.bound!r})"


class _Keeper(_Lossy):
    """Codecs that keep some points exactly and hold or interpolate between them."""

    def kept(self, df: pd.DataFrame) -> dict:
        """The rows kept for each lossy column (those the decoder holds or interpolates).

        >>> DeadbandCodec(deadband=0.5).kept(pd.DataFrame({"x": [0.0, 0.2, 0.9, 1.0]}))
        {'x': array([0, 2])}
        """
        inner, _, targets = self._split(df)
        return {df.columns[i]: np.flatnonzero(inner.iloc[:, i].to_numpy()) for i in targets}

    def _lossy(self, x, df, order):
        perm, starts = order
        keep = np.zeros(x.size, dtype=bool)
        keep[perm[self._select(x[perm], starts, df, perm)]] = True
        while True:  # also keep any point the decoder's arithmetic would miss by a rounding
            bad = ~_within(x, self._rebuild(x[keep], keep, df, order).astype(x.dtype), self.bound)
            if not bad.any():
                return keep, pd.DataFrame({"value": x[keep]})
            keep |= bad

    def _restore(self, keep, extra, df, order):
        return self._rebuild(extra["value"].to_numpy(), keep.astype(bool), df, order)


class QuantizeCodec(_Lossy):
    """Uniform quantisation: ``x̂ = round(x / (2 e)) * 2 e``, so ``|x - x̂| <= e = max_error``.

    Examples
    --------
    >>> import pandas as pd
    >>> c = QuantizeCodec(max_error=0.05)
    >>> df = pd.DataFrame({"x": [0.0, 0.12, 0.26, float("nan")]})
    >>> c.decode_frame(c.encode_frame(df))["x"].round(6).tolist()
    [0.0, 0.1, 0.3, nan]
    """

    name = "quantize"
    bound_name = "max_error"

    def __init__(
        self, *, max_error: float | None = None, columns=None, entropy: str = "zstd"
    ) -> None:
        super().__init__(max_error, columns=columns, entropy=entropy)

    def _lossy(self, x, df, order):
        step = 2 * self.bound
        with np.errstate(invalid="ignore", over="ignore"):
            q = np.rint(x / step)
            todo = np.isfinite(q) & (np.abs(q) < 2.0**53)
            q, ok = np.where(todo, q, 0).astype(np.int64), np.zeros(x.size, dtype=bool)
            # a value half a step from two levels may miss both by a rounding error: try both
            for shift in (0, 1, -1):
                hit = todo & _within(x, ((q + shift) * step).astype(x.dtype), self.bound)
                q, ok, todo = np.where(hit, q + shift, q), ok | hit, todo & ~hit
        pos = np.flatnonzero(~ok)  # stored exactly: NaN, inf, and rounding misses
        return q[bits.ffill_index(~ok)], pd.DataFrame({"pos": pos, "value": x[pos]})

    def _restore(self, q, extra, df, order):
        xhat = q * (2 * self.bound)
        xhat[extra["pos"].to_numpy()] = extra["value"].to_numpy()
        return xhat


class DeadbandCodec(_Keeper):
    """Keep a value when it differs from the last kept one by more than ``deadband``; decoding
    holds the last kept value. Sequential by nature: one tight Python loop over the values.

    Examples
    --------
    >>> import pandas as pd
    >>> c = DeadbandCodec(deadband=0.5)
    >>> df = pd.DataFrame({"x": [0.0, 0.2, 0.4, 0.6, 0.7, 2.0]})
    >>> c.decode_frame(c.encode_frame(df))["x"].tolist()
    [0.0, 0.0, 0.0, 0.6, 0.6, 2.0]
    """

    name = "deadband"
    bound_name = "deadband"

    def __init__(
        self, *, deadband: float | None = None, columns=None, by=None, entropy: str = "zstd"
    ) -> None:
        super().__init__(deadband, columns=columns, by=by, entropy=entropy)

    def _select(self, xs, starts, df, perm):
        keep, last, db = [], 0.0, self.bound
        for i, (v, s) in enumerate(zip(xs.tolist(), starts.tolist(), strict=True)):
            if s or not abs(v - last) <= db:  # NaN and inf are kept too
                keep.append(i)
                last = v
        return np.array(keep, dtype=np.int64)

    def _rebuild(self, kept, keep, df, order):
        perm, _ = order
        full = np.empty(keep.size, dtype=np.float64)
        full[keep] = kept
        held = full[perm][bits.ffill_index(~keep[perm])]  # series starts are always kept
        return bits.unpermute(held, perm)


class SwingingDoorCodec(_Keeper):
    """Swinging-door trending: keep the points such that linear interpolation in time between
    kept points stays within ``deviation`` of every original point.

    From the last kept point, the two "doors" (the steepest and the shallowest slope that still
    pass within ``deviation`` of every point seen since) close in as points arrive; the segment
    may end at any point whose own slope lies between them; when the doors cross, the furthest
    such point is kept and becomes the new pivot. Greedy (as far as the doors allow), not a
    global optimum. Sequential by nature: one tight Python loop. The time axis is
    ``time_column`` (or the batch's ``attrs["time_column"]``, else the row number), and must
    increase strictly within each series (``by=`` separates interleaved series).

    Examples
    --------
    >>> import pandas as pd
    >>> c = SwingingDoorCodec(deviation=0.1)
    >>> df = pd.DataFrame({"x": [0.0, 1.0, 2.05, 3.0, 2.0, 1.0]})
    >>> c.decode_frame(c.encode_frame(df))["x"].tolist()
    [0.0, 1.0, 2.0, 3.0, 2.0, 1.0]
    """

    name = "swinging_door"
    bound_name = "deviation"

    def __init__(
        self,
        *,
        deviation: float | None = None,
        columns=None,
        by=None,
        time_column=None,
        entropy: str = "zstd",
    ) -> None:
        super().__init__(
            deviation, columns=columns, by=by, time_column=time_column, entropy=entropy
        )

    def _rel_time(self, df: pd.DataFrame, perm: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Time since each series' first row, in series order, as float64."""
        name = self.time_column or df.attrs.get("time_column")
        if name is None:
            t = np.arange(len(df), dtype=np.int64)
        elif name not in df.columns:
            raise ConfigError(
                f"{self.name}: time column {name!r} is not in the batch: {list(df.columns)}"
            )
        else:
            s = df[name]
            kind = s.dtype.kind
            t = (
                s.array.asi8
                if kind == "M"
                else s.to_numpy().astype("i8" if kind in "miu" else "f8")
            )
        t = t[perm]
        back = np.flatnonzero((np.diff(t) <= 0) & ~starts[1:])
        if back.size:
            raise ConfigError(
                f"{self.name}: time column {name!r} must increase strictly within each series; "
                f"row {int(perm[back[0] + 1])} does not. Sort the batch by time, or pass by= "
                "to separate interleaved series"
            )
        return (t - t[np.maximum.accumulate(np.where(starts, np.arange(t.size), 0))]).astype(
            np.float64
        )

    def _select(self, xs, starts, df, perm):
        t = self._rel_time(df, perm, starts)
        bad = ~np.isfinite(xs)  # NaN and inf are kept, and so are their neighbours
        brk = starts | bad | np.r_[False, bad[:-1]]
        return np.array(_swinging_door(t.tolist(), xs.tolist(), brk.tolist(), self.bound), np.int64)

    def _rebuild(self, kept, keep, df, order):
        perm, starts = order
        n = keep.size
        t = self._rel_time(df, perm, starts)
        full = np.empty(n, dtype=np.float64)
        full[keep] = kept
        xs, ks, out = full[perm], keep[perm], np.empty(n, dtype=np.float64)
        edges = [*np.flatnonzero(starts).tolist(), n]
        for a, b in itertools.pairwise(edges):  # one vectorised call per series
            k = np.flatnonzero(ks[a:b]) + a
            out[perm[a:b]] = np.interp(t[a:b], t[k], xs[k])
        return out


def _swinging_door(t: list, x: list, brk: list, dev: float, patience: int = 4096) -> list[int]:
    """Indices to keep; ``brk`` marks where a new series (or a non-finite run) starts."""
    n, keep, a = len(x), [], 0
    while a < n:
        keep.append(a)
        ta, xa, lo, hi, last, i = t[a], x[a], -math.inf, math.inf, a, a + 1
        while i < n and not brk[i]:
            dt, dx = t[i] - ta, x[i] - xa
            if lo <= dx / dt <= hi:  # a segment may end here
                last = i
            elif i - last > patience:  # bounds the rescan after a long fruitless search
                break
            if (d := (dx - dev) / dt) > lo:
                lo = d
            if (d := (dx + dev) / dt) < hi:
                hi = d
            if lo > hi:  # the doors crossed: no later point can end this segment
                break
            i += 1
        a = last if last > a else a + 1
    return keep


def lttb(x, y, n_out: int) -> np.ndarray:
    """Largest-Triangle-Three-Buckets (Steinarsson 2013): indices of ``n_out`` points that keep
    a line plot's shape. The first and last points stay; the others are cut into ``n_out - 2``
    buckets, and each bucket keeps the point making the largest triangle with the previous
    kept point and the next bucket's mean. Vectorised within each bucket (the choice depends
    on the previous bucket's, so buckets go in order). ``x`` may be datetimes; ``y`` finite.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(1000.0)
    >>> idx = lttb(x, np.sin(x / 100), 50)
    >>> len(idx), idx[0], idx[-1]
    (50, np.int64(0), np.int64(999))
    """
    check_number("n_out", n_out, low=2, integer=True, fix="ask for at least the two end points")
    x = x.array if isinstance(x, pd.Series) else x
    if x.dtype.kind in "mM":  # times: nanoseconds since the first, as floats
        ns = np.asarray(x.asi8 if hasattr(x, "asi8") else np.asarray(x).view("i8"))
        x = (ns - ns[:1]).astype(np.float64)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.size
    if y.size != n or not np.isfinite(y).all() or not np.isfinite(x).all():
        raise ConfigError(
            f"lttb needs x and y of the same length and finite; got {n} and {y.size} values"
        )
    if n_out >= n or n_out == 2:
        return np.arange(n) if n_out >= n else np.array([0, n - 1])
    nb = n_out - 2
    edges = 1 + (np.arange(nb + 1) * (n - 2)) // nb  # bucket i is edges[i]:edges[i + 1]
    sizes = np.diff(edges)
    # the mean of the next bucket (of the last point, for the last bucket)
    nxt = edges[1:nb]
    avg_x = np.append(np.add.reduceat(x[: n - 1], nxt) / sizes[1:] if nb > 1 else [], x[-1])
    avg_y = np.append(np.add.reduceat(y[: n - 1], nxt) / sizes[1:] if nb > 1 else [], y[-1])
    width = int(sizes.max())
    cols = np.minimum(edges[:-1, None] + np.arange(width), edges[1:, None] - 1)  # pad: repeat
    bx, by = x[cols], y[cols]
    out = np.empty(n_out, dtype=np.int64)
    out[0], out[-1], a = 0, n - 1, 0
    for i in range(nb):
        ax, ay = x[a], y[a]
        area = np.abs((ax - avg_x[i]) * (by[i] - ay) - (ax - bx[i]) * (avg_y[i] - ay))
        a = out[i + 1] = cols[i, int(np.argmax(area))]
    return out
