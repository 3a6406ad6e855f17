"""Swinging-door trending, the process historian's compression (see :mod:`.lossy`)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .lossy_frame import KeepingCodec

__all__ = ["SwingingDoorCodec"]


class SwingingDoorCodec(KeepingCodec):
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
