"""The as-of join of two streams as a plain class (no streamz, no asyncio): each left row
with the latest right row at or before its time, as ``pandas.merge_asof`` gives on the whole
of both streams, whatever the batch boundaries. ``join.py`` is the node over it; its module
docstring states the policies (waiting, late rows, bounded state, end of input).

Each side has a :class:`~streamlab.ops.watermark.Watermark`: the left one with lateness 0
(left rows must come in time order), the right one with the allowed lateness; a left row
leaves once the right watermark has passed it.

Examples
--------
>>> import pandas as pd
>>> m = AsofMatcher(on="t", by=[], tolerance=None, lateness=0)
>>> t = lambda *s: pd.to_datetime(list(s), unit="s", utc=True)
>>> _ = m.add_right(pd.DataFrame({"t": t(0), "bid": [10.0]}))
>>> _ = m.add_left(pd.DataFrame({"t": t(1, 5), "qty": [1, 2]}))
>>> m.release() is None  # the right side has only reached 00:00
True
>>> _ = m.add_right(pd.DataFrame({"t": t(3), "bid": [11.0]}))
>>> m.release()
                          t  qty   bid
0 1970-01-01 00:00:01+00:00    1  10.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.batch import TIME_ATTR, concat_rows
from ..errors import ConfigError
from .nstime import NAT, event_ns, sub_sat
from .watermark import Watermark

__all__ = ["AsofMatcher"]


class AsofMatcher:
    """The state of an as-of join: left rows waiting (``pending``), right rows that can still
    match (``right_state``), the two watermarks, and the count of rows whose match may not be
    exact (``forced``). ``tolerance``/``lateness`` in ns (``tolerance=None``: no limit)."""

    def __init__(
        self,
        *,
        on: str | None,
        by: list,
        tolerance: int | None,
        lateness: int,
        max_pending: int = 1_000_000,
        max_right: int = 1_000_000,
    ) -> None:
        self.on, self.by = on, by
        self.tolerance, self.max_pending, self.max_right = tolerance, max_pending, max_right
        #: left rows waiting for the right side to pass them (time order)
        self.pending: pd.DataFrame | None = None
        #: right rows that can still be a match (time order, ties in arrival order)
        self.right_state: pd.DataFrame | None = None
        self.left = Watermark(0)
        self.right = Watermark(lateness)
        self.forced = 0
        self.exact_from = NAT  # left rows older than this may have lost their match
        self.left_done = False
        self.right_done = False
        self.left_attrs: dict = {}

    # -- input -------------------------------------------------------------------------------
    def add_left(self, x: pd.DataFrame) -> np.ndarray:
        """Take a left batch; return which rows are late (not kept: older than a left row
        before them, or without a time)."""
        t = event_ns(x[self.on], "on")
        self.left_attrs = dict(x.attrs)
        late = (t == NAT) | self.left.late(t, self.left.observe(t))
        self.pending = _append(self.pending, x[~late])
        return late

    def add_right(self, x: pd.DataFrame) -> np.ndarray:
        """Take a right batch; return which rows are late (older than the right watermark,
        or without a time)."""
        t = event_ns(x[self.on], "on")
        late = (t == NAT) | self.right.late(t, self.right.observe(t))
        state = _append(self.right_state, x[~late])
        if state is None:  # keep the right columns, so unmatched rows have them
            state = x.iloc[:0].reset_index(drop=True)
        if not state[self.on].is_monotonic_increasing:
            state = state.sort_values(self.on, kind="stable", ignore_index=True)
        self.right_state = state
        return late

    # -- output ------------------------------------------------------------------------------
    def release(self) -> pd.DataFrame | None:
        """The waiting left rows whose match is final (and the overflow), matched; then
        drop the right rows no left row can need."""
        out = None
        if self.pending is not None:
            t = event_ns(self.pending[self.on])
            limit = self.right.value
            if self.right_done:
                final = len(t)
            elif limit is None:
                final = 0
            else:
                final = int(np.searchsorted(t, limit, "left"))
            n = max(final, len(t) - self.max_pending)
            if n:
                rows, rest = self.pending.iloc[:n], self.pending.iloc[n:]
                self.pending = rest.reset_index(drop=True) if len(rest) else None
                self.forced += (n - final) + int((t[:final] < self.exact_from).sum())
                out = self.match(rows)
        self.prune()
        return out

    def match(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``merge_asof`` of ``rows`` against the right state."""
        if self.right_state is None:  # no right batch (even empty) yet: left columns only
            out = rows.reset_index(drop=True)
        else:
            out = pd.merge_asof(
                rows,
                self._right_like(rows),
                on=self.on,
                by=self.by or None,
                tolerance=None if self.tolerance is None else pd.Timedelta(self.tolerance),
                direction="backward",
                suffixes=("", "_right"),
            )
        out.attrs = {**self.left_attrs, TIME_ATTR: self.on}
        return out

    def _right_like(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The right state with its time column in the left's dtype (``ns`` or ``us``)."""
        right, col = self.right_state, self.on
        assert right is not None
        want = rows[col].dtype
        if right[col].dtype != want:
            if (getattr(want, "tz", None) is None) != (
                getattr(right[col].dtype, "tz", None) is None
            ):
                raise ConfigError(
                    f"on={col!r} is {want} on the left but {right[col].dtype} on the right: "
                    "make both timezone-aware (pd.to_datetime(..., utc=True))"
                )
            right = right.copy(deep=False)
            right[col] = right[col].astype(want)
            self.right_state = right
        return right

    def prune(self) -> None:
        """Keep the right rows a left row that can still come may match."""
        state = self.right_state
        if state is None or not len(state):
            return
        if self.left_done and self.pending is None:
            self.right_state = state.iloc[:0]
            return
        t = event_ns(state[self.on])
        keep = np.ones(len(t), dtype=bool)
        if self.pending is not None:
            oldest = int(event_ns(self.pending[self.on].iloc[:1])[0])
        else:
            oldest = self.left.newest
        if oldest != NAT:  # a left row that can still come is at or after `oldest`
            k = int(np.searchsorted(t, oldest, "right"))
            keep[:k] = self._last_per_key(state.iloc[:k])
            if self.tolerance is not None:
                keep[:k] &= t[:k] >= sub_sat(oldest, self.tolerance)
        if keep.sum() > self.max_right:  # the left side lags too far: drop the oldest
            kept = np.flatnonzero(keep)
            cut = kept[len(kept) - self.max_right]
            keep[:cut] &= self._last_per_key(state.iloc[:cut])
            self.exact_from = max(self.exact_from, int(t[cut]))
        if not keep.all():
            self.right_state = state[keep].reset_index(drop=True)

    def _last_per_key(self, rows: pd.DataFrame) -> np.ndarray:
        if self.by:
            return ~rows.duplicated(subset=self.by, keep="last").to_numpy()
        last = np.zeros(len(rows), dtype=bool)
        last[-1:] = True
        return last


def _append(frame: pd.DataFrame | None, rows: pd.DataFrame) -> pd.DataFrame | None:
    if not len(rows):
        return frame
    rows = rows.reset_index(drop=True)
    if frame is None or not len(frame):
        return rows
    return concat_rows([frame, rows], ignore_index=True)
