"""Deadband compression: keep a value when it moves more than the band (see :mod:`.lossy`)."""

from __future__ import annotations

import numpy as np

from .lossy_frame import KeepingCodec
from .transforms import ffill_index, unpermute

__all__ = ["DeadbandCodec"]


class DeadbandCodec(KeepingCodec):
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
        held = full[perm][ffill_index(~keep[perm])]  # series starts are always kept
        return unpermute(held, perm)
