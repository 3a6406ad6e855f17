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
series for deadband and swinging door. Each codec lives in its own module (:mod:`.quantize`,
:mod:`.deadband`, :mod:`.swinging_door`) on what they share, :mod:`.lossy_frame` (the frame
format and the bound check); this module names them all and holds :func:`lttb`.

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

import numpy as np
import pandas as pd

from ..core.checks import check_number
from ..errors import ConfigError
from .deadband import DeadbandCodec as DeadbandCodec
from .quantize import QuantizeCodec as QuantizeCodec
from .swinging_door import SwingingDoorCodec as SwingingDoorCodec

__all__ = ["DeadbandCodec", "QuantizeCodec", "SwingingDoorCodec", "lttb"]


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
