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
from typing import Any

import numpy as np
import pandas as pd
from streamz import Stream

from ..core.batch import resolve_time_column
from ..core.checks import check_choice, check_duration, check_number
from ..core.registry import register_step
from ..core.runner import find_sources
from ..core.step import Step
from ..errors import ConfigError
from .asof import AsofMatcher

__all__ = ["AsofJoin", "asof_join"]


def _duration(name: str, value: Any) -> pd.Timedelta:
    return check_duration(name, value, allow_zero=True, examples="'0s', '500ms' or '1min'")


@register_step
class asof_join(Step, Stream):
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

    SIDE_OUTPUTS = ("late_left", "late_right")

    STATE = ("matcher", "_col")

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
        self.max_pending = int(
            check_number("max_pending", max_pending, low=1, integer=True, example=1_000_000)
        )
        self.max_right = int(
            check_number("max_right", max_right, low=1, integer=True, example=1_000_000)
        )
        name = stream_name or "asof_join"
        super().__init__(upstreams=[left, right], stream_name=name)
        self.make_side_outputs(name)
        self.late_left_count = 0
        self.late_right_count = 0
        self._col: str | None = on
        #: the join's state; its time column is set by the first batch when on= is not given
        self.matcher = AsofMatcher(
            on=on,
            by=self.by,
            tolerance=None if self.tolerance is None else self.tolerance.value,
            lateness=self.lateness.value,
            max_pending=self.max_pending,
            max_right=self.max_right,
        )

    # -- what the matcher holds ----------------------------------------------------------
    @property
    def pending(self) -> pd.DataFrame | None:
        """Left rows waiting for the right side to pass them (time order)."""
        return self.matcher.pending

    @property
    def right_state(self) -> pd.DataFrame | None:
        """Right rows that can still be a match (time order, ties in arrival order)."""
        return self.matcher.right_state

    @property
    def forced(self) -> int:
        """Left rows emitted whose match may not be exact (overflow of a bounded buffer)."""
        return self.matcher.forced

    @property
    def watermark(self) -> pd.Timestamp | None:
        """Left rows older than this have their final match (None: no right row yet)."""
        return self.matcher.right.timestamp

    # -- input -----------------------------------------------------------------------------
    def update(self, x: Any, who: Any = None, metadata: Any = None) -> list:
        if not isinstance(x, pd.DataFrame):
            raise ConfigError(f"asof_join takes pandas DataFrame batches, not {type(x).__name__}")
        if who is self.upstreams[0]:
            side = "left"
        elif who is self.upstreams[1]:
            side = "right"
        else:
            raise ConfigError(f"asof_join got a batch from {who}, which is neither of its inputs")
        matcher = self._check(x, side)
        late = matcher.add_left(x) if side == "left" else matcher.add_right(x)
        results = self._send_late(x, late, side)
        return results + self._release()

    def _check(self, df: pd.DataFrame, side: str) -> AsofMatcher:
        col = self._col = resolve_time_column(df, self._col, step=f"asof_join's {side} side")
        assert col is not None  # required
        if not pd.api.types.is_datetime64_any_dtype(df[col]):
            raise ConfigError(
                f"on={col!r} must be a datetime column of the {side} batches; their columns "
                f"are {list(df.columns)}"
            )
        missing = [k for k in self.by if k not in df.columns]
        if missing:
            raise ConfigError(
                f"by={missing} is not among the {side} batch's columns {list(df.columns)}"
            )
        self.matcher.on = col
        return self.matcher

    def _send_late(self, x: pd.DataFrame, late: np.ndarray, side: str) -> list:
        if not late.any():
            return []
        if side == "left":
            self.late_left_count += int(late.sum())
            return self.to_side("late_left", x[late])
        self.late_right_count += int(late.sum())
        return self.to_side("late_right", x[late])

    def _release(self) -> list:
        out = self.matcher.release()
        return [] if out is None else self.forward(out)

    # -- end of input ----------------------------------------------------------------------
    def end_of_input(self) -> list:
        """One input has ended (see the module docstring): emit what is now final."""
        try:
            current = asyncio.current_task()
        except RuntimeError:
            current = None
        left_ended, right_ended = (_ended(up, current) for up in self.upstreams)
        self.matcher.left_done = self.matcher.left_done or left_ended
        self.matcher.right_done = self.matcher.right_done or right_ended
        return self._release()


def _ended(node: Any, current: Any) -> bool:
    """Whether every streamlab source behind ``node`` has ended (or none is there)."""
    try:
        sources = find_sources(node)
    except ConfigError:
        return True
    return all(s.started and (s.stopped or getattr(s, "_task", None) is current) for s in sources)


AsofJoin = asof_join
