"""The one watermark: the newest event time seen minus an allowed lateness, and the decisions
made against it (which rows are late, when a window may close).

A :class:`Watermark` is fed the event times of each batch in arrival order (int64 nanoseconds,
NaT as :data:`~streamlab.ops.nstime.NAT`). It answers, row by row, against the rows that
arrived *before* each row, so its answers do not depend on where batches begin and end:

- :meth:`Watermark.observe` returns, for each row, the newest time among the rows before it
  (NaT before the first row: below every event time, whatever its epoch), and moves on;
- :meth:`Watermark.late` says which rows are older than the watermark at their arrival
  (``t < prior - lateness``, saturating at 1677-09-21 so it never wraps around);
- :attr:`Watermark.value` is the current watermark (``None`` before any time was seen): a
  window ending at or before it is closed, a session whose end is at or before it too.

The window steps, ``session_window``, ``rolling`` (per key, lateness 0) and ``asof_join`` (one
per side) all decide with it. Plain numpy: no streamz, no asyncio.

Examples
--------
>>> import numpy as np
>>> wm = Watermark(lateness=5)
>>> t = np.array([10, 3, 20, 16], dtype="int64")
>>> prior = wm.observe(t)
>>> prior.tolist() == [NAT, 10, 10, 20]
True
>>> wm.late(t, prior).tolist()  # 3 < 10 - 5; 16 >= 20 - 5 is in time
[False, True, False, False]
>>> wm.newest, wm.value
(20, 15)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .nstime import NAT, sub_sat

__all__ = ["Watermark", "prior_max_by_key"]


class Watermark:
    """The newest event time seen (``newest``, ``NAT`` before any) and ``lateness`` (ns >= 0).

    Examples
    --------
    >>> import numpy as np
    >>> wm = Watermark(lateness=0)
    >>> wm.value is None, wm.in_order(np.array([1, 2], dtype="int64"))
    (True, True)
    >>> _ = wm.observe(np.array([7], dtype="int64")); wm.value, wm.timestamp
    (7, Timestamp('1970-01-01 00:00:00.000000007+0000', tz='UTC'))
    >>> wm.in_order(np.array([6, 9], dtype="int64"))  # 6 is older than 7
    False
    """

    __slots__ = ("lateness", "newest")

    def __init__(self, lateness: int = 0, newest: int = NAT) -> None:
        self.lateness = int(lateness)
        self.newest = int(newest)

    def __repr__(self) -> str:
        return f"Watermark(lateness={self.lateness}, newest={self.newest})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Watermark) and (self.lateness, self.newest) == (
            other.lateness,
            other.newest,
        )

    def __hash__(self) -> int:
        return hash((self.lateness, self.newest))

    def __getstate__(self) -> dict[str, int]:  # copy/deepcopy with __slots__
        return {"lateness": self.lateness, "newest": self.newest}

    def __setstate__(self, state: dict[str, int]) -> None:
        self.lateness, self.newest = state["lateness"], state["newest"]

    @property
    def seen(self) -> bool:
        """True once a row with a time was seen."""
        return self.newest != NAT

    @property
    def value(self) -> int | None:
        """The newest time minus the lateness (never below 1677-09-21: no wrap-around);
        ``None`` before any time was seen."""
        if self.newest == NAT:
            return None
        return int(sub_sat(self.newest, self.lateness))

    @property
    def timestamp(self) -> pd.Timestamp | None:
        """:attr:`value` as a UTC ``Timestamp`` (``None`` before any time)."""
        wm = self.value
        return None if wm is None else pd.Timestamp(wm, unit="ns", tz="UTC")

    def observe(self, t: np.ndarray) -> np.ndarray:
        """For each row of ``t``, the newest time among the rows before it (across batches);
        then take the batch's newest as the newest seen."""
        running = np.maximum.accumulate(np.concatenate(([self.newest], t)))
        if running[-1] != NAT:
            self.newest = int(running[-1])
        return running[:-1]

    def advance(self, newest: Any) -> None:
        """Take ``newest`` (>= every time so far, e.g. the last of an ordered batch) as the
        newest seen."""
        self.newest = int(newest)

    def at(self, prior: np.ndarray) -> np.ndarray:
        """The watermark when each row arrived (``prior`` from :meth:`observe`): a window
        ending at or before it had closed for that row."""
        return sub_sat(prior, self.lateness)

    def late(self, t: np.ndarray, prior: np.ndarray) -> np.ndarray:
        """Rows older than the watermark at their arrival: ``t < prior - lateness``
        (``prior`` from :meth:`observe`)."""
        return t < self.at(prior)

    def in_order(self, t: np.ndarray) -> bool:
        """True when ``t`` is non-decreasing and starts at or after the newest time so far:
        then no row of it can be late."""
        if not len(t):
            return True
        if self.newest != NAT and t[0] < self.newest:
            return False
        return bool((t[1:] >= t[:-1]).all())


def prior_max_by_key(t: np.ndarray, keys: list[np.ndarray]) -> np.ndarray:
    """For each row, the newest time of its key among the rows up to it (itself included),
    in arrival order: a row is late for a key (lateness 0) when ``t < prior_max_by_key``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([5, 1, 3, 2], dtype="int64")
    >>> prior_max_by_key(t, [np.array(list("abab"))]).tolist()
    [5, 1, 5, 2]
    """
    ns = pd.Series(t)
    if not keys:
        return ns.cummax().to_numpy()
    return ns.groupby(keys, dropna=False).cummax().to_numpy()
