"""``left.asof_join(right, on=..., by=..., tolerance=...)``: each left row with the latest right row.

For every left row, the last right row (same ``by`` key) whose time is at or before the left
row's, within ``tolerance``: what ``pandas.merge_asof(left, right, on=..., by=...,
tolerance=..., direction="backward", suffixes=("", "_right"))`` gives on the whole of both
streams (right ties in arrival order), whatever the batch boundaries and however the two
streams interleave. Output batches: the left columns, then the right ones (not ``on`` or
``by``; a clash gets ``_right``), with ``attrs["time_column"]`` set to ``on``. Their dtypes are
``merge_asof``'s for that batch: an int right column is float in a batch with an unmatched row.
Left rows that leave before any right batch (even an empty one) was seen have no right columns.

Policies (each buffer is bounded, each exception counted):

- **Waiting for the right side.** A later right row could still be the better match for a
  left row until the right stream has passed its time, so left rows wait until the right
  *watermark* (the newest right time seen minus ``lateness``) is past them. At most
  ``max_pending`` left rows wait: beyond that the oldest are emitted with the match known now
  and counted in ``forced``.
- **Late rows.** Right rows may arrive out of order by up to ``lateness``; a right row older
  than the watermark (or without a time) goes to ``.late_right`` and ``late_right_count``.
  Left rows must come in time order (as ``merge_asof`` needs); a left row older than one
  before it (or without a time) goes to ``.late_left`` and ``late_left_count``.
- **Right state.** Per key, the step keeps the right rows newer than the oldest left time that
  can still come, and the last one before it (dropped when ``tolerance`` rules it out). If the
  left stream stalls while the right one runs on, at most ``max_right`` right rows are kept (plus
  the latest per key): the oldest go, and a left row that may have needed them is counted in
  ``forced`` when it is emitted.
- **End of input.** ``end_of_input()`` is called by each streamlab source behind the step when
  it ends. Once every source behind the right side has ended (it is the caller, or it has
  stopped), the right side is final: all waiting left rows are emitted, and later left rows
  leave at once. A side with no streamlab source behind it (plain ``Stream`` nodes fed by
  ``emit``) cannot say when it ends, so there a call means that the input has ended.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
from streamz import Stream

from ..core.batch import TIME_ATTR, concat_rows, time_column
from ..core.checks import check_choice, check_duration, check_number
from ..core.runner import find_sources
from ..core.state import FreshState
from ..errors import ConfigError
from .nstime import NAT, event_ns, sub_sat

__all__ = ["AsofJoin", "asof_join"]

_NEVER = NAT  # "no time yet": NaT's int64, below every event time of any epoch


def _duration(name: str, value) -> pd.Timedelta:
    return check_duration(name, value, allow_zero=True, examples="'0s', '500ms' or '1min'")


@Stream.register_api()
class asof_join(FreshState, Stream):
    """Join each left row with the latest right row at or before its time (``merge_asof``).

    See the module docstring for when rows leave, late rows, the state kept and the end of
    input. Counters: ``forced``, ``late_left_count``, ``late_right_count``.

    Examples
    --------
    >>> import pandas as pd
    >>> from streamz import Stream
    >>> trades, quotes = Stream(), Stream()
    >>> node = trades.asof_join(quotes, on="t", by="sym", tolerance="2s")
    >>> out = node.sink_to_list()
    >>> t = lambda *s: pd.to_datetime(list(s), unit="s", utc=True)
    >>> quotes.emit(pd.DataFrame({"t": t(0, 1), "sym": ["A", "B"], "bid": [10.0, 20.0]}))
    >>> trades.emit(pd.DataFrame({"t": t(1, 2, 5), "sym": ["A", "B", "A"], "qty": [1, 2, 3]}))
    >>> len(out)  # quotes have only reached 00:01: a later quote could still match
    0
    >>> quotes.emit(pd.DataFrame({"t": t(3), "sym": ["A"], "bid": [11.0]}))
    >>> out[0]
                              t sym  qty   bid
    0 1970-01-01 00:00:01+00:00   A    1  10.0
    1 1970-01-01 00:00:02+00:00   B    2  20.0
    >>> _ = node.end_of_input()  # no more quotes: the 00:05 trade leaves with its match
    >>> out[1]
                              t sym  qty   bid
    0 1970-01-01 00:00:05+00:00   A    3  11.0
    """

    STATE = (
        "pending",
        "right_state",
        "_col",
        "_left_newest",
        "_right_newest",
        "_exact_from",
        "_left_done",
        "_right_done",
        "_left_attrs",
    )

    def __init__(
        self,
        left,
        right,
        *,
        on=None,
        by=None,
        tolerance=None,
        direction="backward",
        lateness="0s",
        max_pending=1_000_000,
        max_right=1_000_000,
        stream_name=None,
    ) -> None:
        if not isinstance(right, Stream):
            raise ConfigError(
                f"asof_join needs the right stream as its first argument, not {right!r}"
            )
        if right is left:
            raise ConfigError(
                "asof_join of a stream with itself: join two different nodes, e.g. "
                "src.filter(is_trade).asof_join(src.filter(is_quote), ...)"
            )
        check_choice("direction", direction, ("backward",))
        self.on = on
        self.by = [] if by is None else [by] if isinstance(by, str) else list(by)
        self.tolerance = None if tolerance is None else _duration("tolerance", tolerance)
        self.lateness = _duration("lateness", lateness)
        self.max_pending = check_number(
            "max_pending", max_pending, low=1, integer=True, example=1_000_000
        )
        self.max_right = check_number(
            "max_right", max_right, low=1, integer=True, example=1_000_000
        )
        name = stream_name or "asof_join"
        super().__init__(upstreams=[left, right], stream_name=name)
        self.late_left = Stream(stream_name=f"{name}.late_left")
        self.late_right = Stream(stream_name=f"{name}.late_right")
        self.late_left_count = 0
        self.late_right_count = 0
        self.forced = 0
        #: left rows waiting for the right side to pass them (time order)
        self.pending: pd.DataFrame | None = None
        #: right rows that can still be a match (time order, ties in arrival order)
        self.right_state: pd.DataFrame | None = None
        self._col: str | None = on
        self._left_newest = _NEVER
        self._right_newest = _NEVER
        self._exact_from = _NEVER  # left rows older than this may have lost their match
        self._left_done = False
        self._right_done = False
        self._left_attrs: dict = {}

    # -- input -----------------------------------------------------------------------------
    def update(self, x, who=None, metadata=None):
        if not isinstance(x, pd.DataFrame):
            raise ConfigError(f"asof_join takes pandas DataFrame batches, not {type(x).__name__}")
        if who is self.upstreams[0]:
            return self._on_left(x)
        if who is self.upstreams[1]:
            return self._on_right(x)
        raise ConfigError(f"asof_join got a batch from {who}, which is neither of its inputs")

    def _times(self, df: pd.DataFrame, side: str) -> tuple[np.ndarray, np.ndarray]:
        col = self._col = self._col or time_column(df)
        if col is None:
            raise ConfigError(
                f"asof_join needs an event-time column: pass on='time' or use a {side} source "
                "that names one (df.attrs['time_column'])"
            )
        if col not in df.columns or not pd.api.types.is_datetime64_any_dtype(df[col]):
            raise ConfigError(
                f"on={col!r} must be a datetime column of the {side} batches; their columns "
                f"are {list(df.columns)}"
            )
        missing = [k for k in self.by if k not in df.columns]
        if missing:
            raise ConfigError(
                f"by={missing} is not among the {side} batch's columns {list(df.columns)}"
            )
        t = event_ns(df[col], "on")
        return t, t == NAT

    def _on_left(self, x: pd.DataFrame) -> list:
        t, nat = self._times(x, "left")
        self._left_attrs = dict(x.attrs)
        newest = np.maximum.accumulate(np.concatenate(([self._left_newest], t)))
        self._left_newest = int(newest[-1])
        late = nat | (t < newest[1:])
        results = self._send_late(x, late, "left")
        self.pending = _append(self.pending, x[~late])
        return results + self._release()

    def _on_right(self, x: pd.DataFrame) -> list:
        t, nat = self._times(x, "right")
        newest = np.maximum.accumulate(np.concatenate(([self._right_newest], t)))
        self._right_newest = int(newest[-1])
        late = nat | (t < sub_sat(newest[1:], self.lateness.value))
        results = self._send_late(x, late, "right")
        state = _append(self.right_state, x[~late])
        if state is None:  # keep the right columns, so unmatched rows have them
            state = x.iloc[:0].reset_index(drop=True)
        if not state[self._col].is_monotonic_increasing:
            state = state.sort_values(self._col, kind="stable", ignore_index=True)
        self.right_state = state
        return results + self._release()

    def _send_late(self, x: pd.DataFrame, late: np.ndarray, side: str) -> list:
        if not late.any():
            return []
        if side == "left":
            self.late_left_count += int(late.sum())
            return self.late_left._emit(x[late])
        self.late_right_count += int(late.sum())
        return self.late_right._emit(x[late])

    # -- output ----------------------------------------------------------------------------
    @property
    def watermark(self) -> pd.Timestamp | None:
        """Left rows older than this have their final match (None: no right row yet)."""
        if self._right_newest == _NEVER:
            return None
        return pd.Timestamp(int(self._right_limit()), unit="ns", tz="UTC")

    def _right_limit(self) -> int:
        """The newest right time minus the lateness (no wrap-around before 1677)."""
        return int(sub_sat(self._right_newest, self.lateness.value))

    def _release(self) -> list:
        """Emit the waiting left rows whose match is final (and the overflow), then prune."""
        results: list = []
        if self.pending is not None:
            t = event_ns(self.pending[self._col])
            if self._right_done:
                final = len(t)
            elif self._right_newest == _NEVER:
                final = 0
            else:
                final = int(np.searchsorted(t, self._right_limit(), "left"))
            n = max(final, len(t) - self.max_pending)
            if n:
                rows, rest = self.pending.iloc[:n], self.pending.iloc[n:]
                self.pending = rest.reset_index(drop=True) if len(rest) else None
                self.forced += (n - final) + int((t[:final] < self._exact_from).sum())
                results.extend(self._emit(self._match(rows)))
        self._prune()
        return results

    def _match(self, rows: pd.DataFrame) -> pd.DataFrame:
        if self.right_state is None:  # no right batch (even empty) yet: left columns only
            out = rows.reset_index(drop=True)
        else:
            out = pd.merge_asof(
                rows,
                self._right_like(rows),
                on=self._col,
                by=self.by or None,
                tolerance=self.tolerance,
                direction="backward",
                suffixes=("", "_right"),
            )
        out.attrs = {**self._left_attrs, TIME_ATTR: self._col}
        return out

    def _right_like(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The right state with its time column in the left's dtype (``ns`` or ``us``)."""
        right, col = self.right_state, self._col
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

    def _prune(self) -> None:
        """Keep the right rows a left row that can still come may match."""
        state = self.right_state
        if state is None or not len(state):
            return
        if self._left_done and self.pending is None:
            self.right_state = state.iloc[:0]
            return
        t = event_ns(state[self._col])
        keep = np.ones(len(t), dtype=bool)
        if self.pending is not None:
            oldest = int(event_ns(self.pending[self._col].iloc[:1])[0])
        else:
            oldest = self._left_newest
        if oldest != _NEVER:  # a left row that can still come is at or after `oldest`
            k = int(np.searchsorted(t, oldest, "right"))
            keep[:k] = self._last_per_key(state.iloc[:k])
            if self.tolerance is not None:
                keep[:k] &= t[:k] >= sub_sat(oldest, self.tolerance.value)
        if keep.sum() > self.max_right:  # the left side lags too far: drop the oldest
            kept = np.flatnonzero(keep)
            cut = kept[len(kept) - self.max_right]
            keep[:cut] &= self._last_per_key(state.iloc[:cut])
            self._exact_from = max(self._exact_from, int(t[cut]))
        if not keep.all():
            self.right_state = state[keep].reset_index(drop=True)

    def _last_per_key(self, rows: pd.DataFrame) -> np.ndarray:
        if self.by:
            return ~rows.duplicated(subset=self.by, keep="last").to_numpy()
        last = np.zeros(len(rows), dtype=bool)
        last[-1:] = True
        return last

    # -- end of input ----------------------------------------------------------------------
    def end_of_input(self) -> list:
        """One input has ended (see the module docstring): emit what is now final."""
        try:
            current = asyncio.current_task()
        except RuntimeError:
            current = None
        left_ended, right_ended = (_ended(up, current) for up in self.upstreams)
        self._left_done = self._left_done or left_ended
        self._right_done = self._right_done or right_ended
        return self._release()


def _ended(node, current) -> bool:
    """Whether every streamlab source behind ``node`` has ended (or none is there)."""
    try:
        sources = find_sources(node)
    except ConfigError:
        return True
    return all(s.started and (s.stopped or getattr(s, "_task", None) is current) for s in sources)


def _append(frame: pd.DataFrame | None, rows: pd.DataFrame) -> pd.DataFrame | None:
    if not len(rows):
        return frame
    rows = rows.reset_index(drop=True)
    if frame is None or not len(frame):
        return rows
    return concat_rows([frame, rows], ignore_index=True)


AsofJoin = asof_join
