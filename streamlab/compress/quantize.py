"""Uniform quantisation with a guaranteed error bound (see :mod:`.lossy`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lossy_frame import LossyCodec, within
from .transforms import ffill_index

__all__ = ["QuantizeCodec"]


class QuantizeCodec(LossyCodec):
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
                hit = todo & within(x, ((q + shift) * step).astype(x.dtype), self.bound)
                q, ok, todo = np.where(hit, q + shift, q), ok | hit, todo & ~hit
        pos = np.flatnonzero(~ok)  # stored exactly: NaN, inf, and rounding misses
        return q[ffill_index(~ok)], pd.DataFrame({"pos": pos, "value": x[pos]})

    def _restore(self, q, extra, df, order):
        xhat = q * (2 * self.bound)
        xhat[extra["pos"].to_numpy()] = extra["value"].to_numpy()
        return xhat
