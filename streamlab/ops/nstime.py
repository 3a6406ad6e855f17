"""Event times as int64 nanoseconds, with arithmetic that stays exact over the whole range.

``datetime64[ns]`` holds the int64 nanoseconds since the Unix epoch from :data:`FIRST`
(1677-09-21T00:12:43.145224193) to :data:`LAST` (2262-04-11T23:47:16.854775807); the one int64
below them, :data:`NAT`, is NaT. Window boundaries, watermarks and tails are worked out on these
integers, by three rules:

- **never through float.** float64 holds integers exactly only up to 2**53 (104 days in ns);
  ``np.arange(first, last + 1, step)`` computes its length in float and, over a longer span,
  loses its last element. :func:`edges` uses integer floor division and ``first + step * k``.
- **floor, not truncation.** Times before 1970 are negative: ``t - t % step`` (numpy's ``%``
  takes the divisor's sign) is the start of the step that holds ``t``, before 1970 too.
- **no silent wrap-around.** int64 wraps when adding a window to a time near 2262 or taking a
  lateness from one near 1677. A watermark saturates (:func:`sub_sat`: nothing can close
  before the first time anyway), a comparison such as ``end + retain > wm`` is written
  ``end > wm - retain``; a window whose start or end is outside the range cannot be
  written as ``datetime64[ns]`` and is refused (:func:`check_windows`) with a ConfigError that
  names the time, the window and the limit, before anything is counted or kept.

Examples
--------
>>> import numpy as np
>>> t = np.array([-1, 0, 7, 2**60], dtype="int64")
>>> floor_to(t, 5).tolist()  # -1 lies in [-5, 0)
[-5, 0, 5, 1152921504606846975]
>>> edges(0, 2**60, 2**57).tolist() == [k * 2**57 for k in range(9)]
True
>>> int(sub_sat(np.int64(FIRST + 10), 20)) == FIRST
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.batch import FIRST, LAST, NAT, event_ns
from ..errors import ConfigError

__all__ = [
    "FIRST",
    "LAST",
    "NAT",
    "check_windows",
    "delta_float",
    "edges",
    "event_ns",
    "floor_to",
    "sub_sat",
]


def floor_to(t, step: int):
    """The start of the ``step``-long span (counted from the epoch) that holds ``t``: floor,
    also before 1970. The caller has checked with :func:`check_windows` that it is >= FIRST."""
    return t - t % step


def edges(first: int, last: int, step: int) -> np.ndarray:
    """``first, first + step, ...`` up to ``last`` (both multiples of ``step`` apart), in
    integers: ``np.arange`` would take its length from float and, past 2**53, drop the last."""
    n = (int(last) - int(first)) // step + 1
    return np.int64(first) + np.int64(step) * np.arange(n, dtype="int64")


def sub_sat(t, d: int, *, lowest: int = FIRST):
    """``t - d`` for ``d >= 0``, or ``lowest`` where that is before :data:`FIRST` (int64 would
    wrap around); NaT stays NaT. ``lowest=FIRST`` gives a time (a watermark); ``lowest=NAT``
    a bound below every time, for ``x > t - d``, which then holds for every time ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([FIRST + 5, 10, NAT])
    >>> sub_sat(t, 10).tolist() == [FIRST, 0, NAT]
    True
    >>> bool((np.array([FIRST]) > sub_sat(t[:1], 10, lowest=NAT)).all())
    True
    """
    t = np.asarray(t, dtype="int64")
    fits = t >= FIRST + d
    return np.where(fits, np.where(fits, t, 0) - np.int64(d), np.where(t == NAT, NAT, lowest))


def delta_float(a, b) -> np.ndarray:
    """``a - b`` as float64 without int64 wrap-around: exact integers where the difference fits
    in int64 (then one rounding to float), both sides in float where it does not (a span of
    more than 292 years; the weight it gives an EWMA is 0 anyway)."""
    a = np.asarray(a, dtype="int64")
    b = np.asarray(b, dtype="int64")
    d = a - b  # wraps where the signs differ and the true difference leaves int64
    wrapped = ((a ^ b) & (a ^ d)) < 0
    out = d.astype("float64")
    if wrapped.any():
        out = np.where(wrapped, a.astype("float64") - b.astype("float64"), out)
    return out


def check_windows(
    t_min: int, t_max: int, size: int, slide: int, *, name: str = "size", what: str = "window"
) -> None:
    """Refuse (ConfigError) rows whose windows of ``size`` every ``slide`` (from the epoch)
    would start before :data:`FIRST` or end after :data:`LAST`: ``datetime64[ns]`` cannot hold
    those bounds. ``t_min``/``t_max`` are the batch's earliest and latest times.

    Examples
    --------
    >>> check_windows(0, 10**18, 3600 * 10**9, 3600 * 10**9)
    >>> check_windows(0, LAST - 10, 3600 * 10**9, 3600 * 10**9)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: size: the window [2262-04-11 23:00:00, 2262-04-12 00:00:00) of event time 2262-04-11 23:47:16.854775797 ends after 2262-04-11 23:47:16.854775807, the last time datetime64[ns] can hold; use a shorter window, or keep event times at least a window away from that limit
    """
    t_min, t_max, size, slide = int(t_min), int(t_max), int(size), int(slide)
    top = t_max - t_max % slide  # the newest window of the latest row starts here
    if top + size > LAST:
        raise ConfigError(
            f"{name}: the {what} [{_stamp(top)}, {_stamp(top + size)}) of event time "
            f"{pd.Timestamp(t_max)} ends after {pd.Timestamp(LAST)}, the last time "
            f"datetime64[ns] can hold; use a shorter {what}, or keep event times at least a "
            f"{what} away from that limit"
        )
    low = t_min - t_min % slide
    low -= (-(-(low + size - t_min) // slide) - 1) * slide  # the oldest window holding t_min
    if low < FIRST:
        raise ConfigError(
            f"{name}: the {what} [{_stamp(low)}, {_stamp(low + size)}) of event time "
            f"{pd.Timestamp(t_min)} starts before {pd.Timestamp(FIRST)}, the first time "
            f"datetime64[ns] can hold; use a shorter {what}, or keep event times at least a "
            f"{what} away from that limit"
        )


def _stamp(ns: int) -> str:
    """A time in ns as text, also outside the datetime64[ns] range (to the second)."""
    if FIRST <= ns <= LAST:
        return str(pd.Timestamp(ns))
    secs, frac = divmod(ns, 10**9)
    day, rest = divmod(secs, 86400)
    date = np.datetime64(int(day), "D")
    return f"{date} {rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}" + (
        f".{frac:09d}" if frac else ""
    )
