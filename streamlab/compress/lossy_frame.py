"""What the lossy codecs share: which columns they change, the series of a ``by=`` column,
the frame format, the error report, and the guarantee that every decoded point is within the
bound (:class:`KeepingCodec` for the codecs that keep some points and hold or interpolate
between them). Each method is a subclass in its own module: :mod:`.quantize`,
:mod:`.deadband`, :mod:`.swinging_door`; :mod:`.lossy` names them all.

A subclass implements ``_lossy(x, df, order) -> (per_row, extra)``: the column's replacement
(integers or kept-flags) and a frame of what else the decoder needs, and
``_restore(per_row, extra, df, order) -> x̂``; a :class:`KeepingCodec` implements
``_select`` (the points to keep) and ``_rebuild`` (the decoder's values from the kept ones).

Frames: CRC-32, meta (JSON), then
:class:`~streamlab.compress.timeseries.TimeSeriesCodec` payloads: the frame with each lossy
column replaced by its integers or kept-flags, and per lossy column the exact values.

Examples
--------
>>> import numpy as np
>>> within(np.array([1.0, np.nan, 2.0]), np.array([1.05, np.nan, 3.0]), 0.1).tolist()
[True, True, False]
"""

from __future__ import annotations

import copy
import json
import math
import zlib
from typing import Any

import numpy as np
import pandas as pd

from ..core.checks import check_number
from ..errors import ConfigError
from .base import Codec, CodecError, join_blobs, split_blobs
from .timeseries import TimeSeriesCodec
from .transforms import group_order

__all__ = ["KeepingCodec", "LossyCodec", "within"]


def same(x: np.ndarray, xhat: np.ndarray) -> np.ndarray:
    """Where ``xhat`` is ``x`` (NaN where both are NaN)."""
    return (x == xhat) | (np.isnan(x) & np.isnan(xhat))


def within(x: np.ndarray, xhat: np.ndarray, bound: float) -> np.ndarray:
    """Where ``xhat`` is ``x`` or within ``bound`` of it."""
    with np.errstate(invalid="ignore"):
        return same(x, xhat) | (np.abs(x.astype(np.float64) - xhat) <= bound)


class LossyCodec(Codec):
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
        perm = group_order(codes)
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
        body = join_blobs([json.dumps(meta).encode(), *frames])
        return zlib.crc32(body).to_bytes(4, "little") + body

    def _decode_frame(self, payload: bytes, limit: int) -> pd.DataFrame:
        if zlib.crc32(memoryview(payload)[4:]) != int.from_bytes(payload[:4], "little"):
            raise CodecError(f"{self.name}: corrupt frame (checksum mismatch)")
        meta, inner, *extras = split_blobs(payload[4:])
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
        >>> from streamlab.compress.quantize import QuantizeCodec
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
                err = np.where(same(x, xhat), 0.0, np.abs(x.astype(np.float64) - xhat))
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

    def _lossy(self, x: np.ndarray, df: pd.DataFrame, order: Any) -> tuple[Any, pd.DataFrame]:
        """The column ``x``'s per-row replacement and a frame of what else decoding needs
        (``order``: :meth:`_series`, or None when no column is lossy)."""
        raise NotImplementedError

    def _restore(self, per_row: Any, extra: pd.DataFrame, df: pd.DataFrame, order: Any) -> Any:
        """The decoded column from what :meth:`_lossy` gave."""
        raise NotImplementedError


class KeepingCodec(LossyCodec):
    """Codecs that keep some points exactly and hold or interpolate between them."""

    def kept(self, df: pd.DataFrame) -> dict:
        """The rows kept for each lossy column (those the decoder holds or interpolates).

        >>> from streamlab.compress.deadband import DeadbandCodec
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
            bad = ~within(x, self._rebuild(x[keep], keep, df, order).astype(x.dtype), self.bound)
            if not bad.any():
                return keep, pd.DataFrame({"value": x[keep]})
            keep |= bad

    def _restore(self, keep, extra, df, order):
        return self._rebuild(extra["value"].to_numpy(), keep.astype(bool), df, order)

    def _select(self, xs: np.ndarray, starts: np.ndarray, df: pd.DataFrame, perm: Any) -> Any:
        """Positions (in series order) of the points to keep; ``starts`` marks each series'
        first point."""
        raise NotImplementedError

    def _rebuild(self, kept: np.ndarray, keep: np.ndarray, df: pd.DataFrame, order: Any) -> Any:
        """The decoder's values, in row order, from the ``kept`` values at the ``keep`` rows."""
        raise NotImplementedError
