"""The ``session_window`` step: a thin node over :func:`~streamlab.ops.assign.merge_sessions`,
the aggregates and the watermark (see ``windows.py`` for lateness and output modes)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.registry import register_step
from ..errors import ConfigError
from .aggfns import Extent
from .aggregates import AggregateSet
from .assign import merge_sessions
from .nstime import LAST
from .window_node import WindowNode, duration_ns

__all__ = ["session_window"]

_LAST = ("_t", "last", "max")  # the state of each session's newest time: (column, tag, part)


@register_step
class session_window(WindowNode):
    """Session windows: a key's session goes on while its events come less than ``gap``
    apart; it closes ``gap`` after its last event (once the watermark passes that).

    ``window_start`` is the first event's time, ``window_end`` the last event's time plus
    ``gap``. A row older than the watermark is late (it could belong to a closed session).

    Examples
    --------
    >>> import pandas as pd
    >>> from streamz import Stream
    >>> src = Stream()
    >>> w = src.session_window("5s", on="t", agg={"x": ["count", "sum"]})
    >>> out = w.sink_to_list()
    >>> secs = [0, 2, 4, 20, 21]
    >>> t = pd.to_datetime(secs, unit="s", utc=True)
    >>> src.emit(pd.DataFrame({"t": t, "x": [1, 1, 1, 10, 10]}))
    >>> _ = w.end_of_input()
    >>> pd.concat(out)[["window_start", "window_end", "x_count", "x_sum"]]
                   window_start                window_end  x_count  x_sum
    0 1970-01-01 00:00:00+00:00 1970-01-01 00:00:09+00:00        3      3
    0 1970-01-01 00:00:20+00:00 1970-01-01 00:00:26+00:00        2     20
    """

    def __init__(
        self,
        upstream: Any,
        gap: Any,
        *,
        on: str | None = None,
        key: Any = None,
        agg: Any,
        allowed_lateness: Any = "0s",
        output: str = "append",
        late: str = "drop",
        stream_name: str | None = None,
    ) -> None:
        super().__init__(
            upstream,
            on=on,
            key=key,
            agg=agg,
            allowed_lateness=allowed_lateness,
            output=output,
            late=late,
            stream_name=stream_name or f"session({gap})",
        )
        if late == "update":
            raise ConfigError(
                "session windows take late='drop' or late='stream' (a late row "
                "could merge closed sessions)"
            )
        self.gap = duration_ns("gap", gap)
        self.aggs = AggregateSet(self.specs, extra=[(_LAST[0], _LAST[1], Extent(("max",)))])

    def update(self, x: pd.DataFrame, who: Any = None, metadata: Any = None) -> list:
        x, col, t = self._timed(x)
        prior = self.watermark.observe(t)
        if self.output != "complete":
            late_rows = self.watermark.late(t, prior)
        else:
            late_rows = np.zeros(len(t), bool)
        out = self._send_late(x, late_rows)
        seq = np.arange(self._next_seq(len(x)), self._seq)
        good = ~late_rows
        x, t, seq = x[good], t[good], seq[good]
        touched = None
        if len(x):
            touched = self._absorb(x, t, col, seq)
        return out + self._publish([self._fire(touched)])

    def _absorb(self, x: pd.DataFrame, t: np.ndarray, col: str, seq: np.ndarray) -> pd.Index:
        keys = self.keys
        state = self.state if self.state is not None and len(self.state) else None
        if state is not None:
            old_first = state.index.get_level_values("_ws").to_numpy()
            old_last = self.aggs.part(state, *_LAST)
            old_keys = [state.index.get_level_values(k).to_numpy() for k in keys]
        else:
            old_first = old_last = np.zeros(0, dtype="int64")
            old_keys = [np.zeros(0) for _ in keys]
        row_start, old_pos, old_start = merge_sessions(
            old_first, old_last, old_keys, t, [x[k].to_numpy() for k in keys], self.gap
        )
        sub = x.reset_index(drop=True).copy()
        sub["_ws"] = row_start
        sub[_LAST[0]] = t
        parts = self.aggs.partial(sub, ["_ws", *keys], time=col, seq=seq)
        if state is not None:
            old_parts = state.iloc[old_pos].copy()
            frame = old_parts.index.to_frame(index=False)
            frame["_ws"] = old_start
            old_parts.index = (
                pd.MultiIndex.from_frame(frame)
                if len(frame.columns) > 1
                else pd.Index(frame["_ws"], name="_ws")
            )
            self.state = self.aggs.merge(old_parts, parts)
            if not self.state.index.is_unique:
                self.state = self.aggs.merge(self.state)
        else:
            self.state = parts
        return parts.index

    def _check_range(self, t: np.ndarray) -> None:
        end = int(t.max()) + self.gap  # a session ends `gap` after its last event
        if end > LAST:
            raise ConfigError(
                f"gap: a session holding event time {pd.Timestamp(int(t.max()))} would end "
                f"after {pd.Timestamp(LAST)}, the last time datetime64[ns] can hold; use a "
                "shorter gap, or keep event times at least a gap away from that limit"
            )

    def _ends(self, state: pd.DataFrame) -> np.ndarray:
        return self.aggs.part(state, *_LAST) + self.gap  # <= LAST: checked

    def _fire(self, touched: pd.Index | None) -> pd.DataFrame | None:
        if self.state is None or not len(self.state):
            return None
        ends = self._ends(self.state)
        if self.output == "complete":
            return self._frame(self.state, ends)
        closing = ends <= self.watermark.value
        result = None
        if self.output == "append" and closing.any():
            result = self._frame(self.state[closing], ends[closing])
            self.stats.fired += int(closing.sum())
        elif self.output == "update" and touched is not None:
            changed = self.state.index.isin(touched)
            result = self._frame(self.state[changed], ends[changed])
        self.state = self.state[~closing]
        return result

    def end_of_input(self) -> list:
        """Emit the sessions still open (append mode); the other modes have emitted them."""
        if self.state is None or not len(self.state):
            return []
        return self._flush(self._ends(self.state))
