"""Windows on event time: tumbling, sliding and session windows, and count windows.

This module holds the ``window`` step (``session_window`` is in ``sessions.py``): a thin node
over window assignment (``assign.py``), aggregates (``aggregates.py``) and the watermark
(``watermark.py``). A window step keeps the partial aggregates of its open windows and a
watermark: the largest event time seen minus ``allowed_lateness``. A window *closes* when the
watermark passes its end. Lateness is judged row by row against the rows that arrived before
it, so the results do not depend on where batches begin and end: a row is late when a window it
belongs to has closed (session windows: when the row is older than the watermark). A late row
is always counted in ``stats.late`` and then, by ``late=``:

- ``"drop"``: nothing more;
- ``"stream"``: the row goes to the step's ``.late`` stream;
- ``"update"``: closed windows are kept for ``retain`` more (default: one window size); a late
  row updates its window, which is emitted again (the newer row for a window supersedes).
  Rows later than that are dropped and counted in ``stats.too_late``.

Output modes, as in Spark Structured Streaming: ``"append"`` emits each window once, when it
closes; ``"update"`` emits, after each batch, the windows that batch changed (open ones with
their values so far); ``"complete"`` emits the whole result table after each batch and never
closes a window (so it never drops a row as late; its state grows with the number of windows).
At the end of the input (``end_of_input``) an append-mode step emits its open windows.
Windows start at multiples of their size (or slide) since the Unix epoch, in UTC (naive times
are taken as UTC; output times are UTC).

Any epoch: window bounds are worked out on int64 nanoseconds with integer arithmetic only (see
``nstime.py``), so they are exact over the whole ``datetime64[ns]`` range, before 1970 and over
spans of centuries. A window that would start before 1677-09-21T00:12:43.145224193 or end after
2262-04-11T23:47:16.854775807 cannot be written as ``datetime64[ns]``: a batch with a row in
such a window is refused with a ConfigError naming the row's time, the window and the limit
(pandas ``resample`` fails on those rows too), before the step counts or keeps anything of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.batch import concat_rows, resolve_time_column
from ..core.checks import check_number, is_bool, is_integer, is_real, shown
from ..core.registry import register_step
from ..errors import ConfigError
from .aggfns import Extent, Rows, event_times
from .aggregates import AggregateSet
from .assign import CountWindows, TimeWindows
from .window_node import LATE_POLICIES, OUTPUT_MODES, WindowNode, WindowStats, duration_ns

__all__ = ["LATE_POLICIES", "OUTPUT_MODES", "WindowStats", "window"]


class _Seq:
    """Arrival numbers of a batch's rows, made only if first/last need them."""

    def __init__(self, start: int, n: int) -> None:
        self.start, self.n = start, n

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.arange(self.start, self.start + self.n, dtype=dtype)

    def __getitem__(self, idx: Any) -> Any:
        return np.asarray(self)[idx]


@register_step
class window(WindowNode):
    """Aggregate a stream over windows of event time (or of rows).

    ``size`` is a duration (``"1h"``) for tumbling windows, with ``slide=`` (``"10min"``) for
    sliding ones; or an int for count windows of that many rows per key (in arrival order;
    ``append`` only). Emits DataFrames with ``window_start``, ``window_end``, the key columns and
    one column per aggregate named ``{column}_{agg}``. See the module docstring for lateness,
    output modes and late policies.

    Examples
    --------
    >>> import pandas as pd
    >>> from streamz import Stream
    >>> src = Stream()
    >>> w = src.window("10s", on="t", agg={"x": ["count", "mean"]}, allowed_lateness="5s")
    >>> out = w.sink_to_list()
    >>> t = pd.to_datetime(["2026-01-01T00:00:01Z", "2026-01-01T00:00:12Z",
    ...                     "2026-01-01T00:00:03Z", "2026-01-01T00:00:16Z"])
    >>> src.emit(pd.DataFrame({"t": t[:2], "x": [1.0, 2.0]}))
    >>> src.emit(pd.DataFrame({"t": t[2:], "x": [3.0, 4.0]}))  # 00:03 is late but in time
    >>> out[0][["window_start", "x_count", "x_mean"]]
                   window_start  x_count  x_mean
    0 2026-01-01 00:00:00+00:00        2     2.0
    >>> _ = w.end_of_input()
    >>> out[1][["window_start", "x_count", "x_mean"]]
                   window_start  x_count  x_mean
    0 2026-01-01 00:00:10+00:00        2     3.0
    """

    STATE = ("state", "watermark", "_seq", "fired", "counter")

    def __init__(
        self,
        upstream: Any,
        size: Any,
        *,
        on: str | None = None,
        slide: Any = None,
        key: Any = None,
        agg: Any,
        allowed_lateness: Any = "0s",
        output: str = "append",
        late: str = "drop",
        retain: Any = None,
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
            stream_name=stream_name or f"window({size})",
        )
        self.rows: int | None = None
        self.counter: CountWindows | None = None
        self.fired: pd.DataFrame | None = None  # closed windows kept for late="update"
        if is_bool(size) or (is_real(size) and not is_integer(size)):
            raise ConfigError(
                f"size must be a row count (an integer >= 1, such as size=100) or a duration "
                f"such as '1h', not {shown(size)}"
            )
        if is_integer(size):  # Python or numpy: a size computed with numpy is a row count
            self.rows = int(
                check_number(
                    "size",
                    size,
                    low=1,
                    integer=True,
                    fix="a count window needs at least one row per window, e.g. size=100",
                )
            )
            if slide is not None or self.output != "append":
                raise ConfigError(
                    "count windows (an int size) are tumbling and append-only: "
                    "drop slide= and use output='append'"
                )
            self.counter = CountWindows(self.rows)
            rows = ("_ws", "rows", Rows())
            self.aggs = AggregateSet(self.specs, extra=[rows, ("_t", "extent", Extent())])
            self._untimed = AggregateSet(self.specs, extra=[rows])
            return
        self.size = duration_ns("size", size)
        self.slide = self.size if slide is None else duration_ns("slide", slide)
        if self.slide > self.size:
            raise ConfigError(
                f"slide={slide!r} is longer than size={size!r}: windows would "
                "leave gaps; use a slide <= size"
            )
        self.windows = TimeWindows(self.size, self.slide)
        self.retain = (
            self.size if retain is None else duration_ns("retain", retain, allow_zero=True)
        )

    # -- time windows -------------------------------------------------------------------------
    def update(self, x: pd.DataFrame, who: Any = None, metadata: Any = None) -> list:
        if self.counter is not None:
            return self._update_count(x)
        x, col, t = self._timed(x)
        wm = self.watermark
        rows: np.ndarray | None
        starts: np.ndarray | None
        closed: np.ndarray | None
        if self.windows.per == 1 and wm.in_order(t):
            # the common case, a time-ordered batch in tumbling windows: no row can be late
            # (each is at least as new as everything before it) and each has one window
            rows, starts = None, None  # window starts are worked out from t only if needed
            closed = None
            ordered = True
            if len(t):
                wm.advance(t[-1])
        else:
            prior = wm.observe(t)
            ordered = False
            rows, starts = self.windows.pairs(t)
            if self.output == "complete":  # never closes a window
                closed = np.zeros(len(rows), dtype=bool)
            else:
                closed = self.windows.ends(starts) <= wm.at(prior)[rows]
        out: list = []
        if closed is not None and closed.any():
            assert rows is not None and starts is not None  # pairs were made
            late_rows = np.zeros(len(t), bool)
            late_rows[rows[closed]] = True
            out = self._send_late(x, late_rows)
            rows_late, starts_late = rows[closed], starts[closed]
            rows, starts = rows[~closed], starts[~closed]
        seq = _Seq(self._next_seq(len(x)), len(x))
        frames = []
        touched = None
        if len(t) if starts is None else len(starts):
            parts = self._parts(x, rows, starts, col, seq, t=t if ordered else None)
            self._merge(parts)
            touched = parts.index
        if closed is not None and closed.any() and self.late_policy == "update":
            frames.append(self._update_fired(x, rows_late, starts_late, col, seq))
        frames.append(self._fire(touched))
        return out + self._publish(frames)

    def _parts(
        self,
        x: pd.DataFrame,
        rows: np.ndarray | None,
        starts: np.ndarray | None,
        col: str,
        seq: Any,
        *,
        t: np.ndarray | None = None,
    ) -> pd.DataFrame:
        """Partials of a batch's (row, window) pairs; ``t`` given means one window per row,
        rows in time order (then the window boundaries come from a binary search)."""
        if t is not None and not self.keys:
            found = self.windows.runs(t)
            if found is not None:
                runs, first_of_run = found
                index = pd.Index(first_of_run, name="_ws")
                return self.aggs.partial(
                    x, [], time=col, seq=seq, names=["_ws"], runs=runs, index=index
                )
        if starts is None:
            assert t is not None  # one window per row: from the times
            starts = self.windows.starts(t)
        if rows is None:
            sub, s = x, seq  # one window per row (tumbling): no copy of the batch
        else:
            cols = sorted({sp.column for sp in self.specs} | {col, *self.keys})
            sub, s = x[cols].iloc[rows], seq[rows]
        by = [starts, *[sub[k].to_numpy() for k in self.keys]]
        return self.aggs.partial(sub, by, time=col, seq=s, names=["_ws", *self.keys])

    def _check_range(self, t: np.ndarray) -> None:
        self.windows.check(t)

    def _starts(self, state: pd.DataFrame) -> np.ndarray:
        return state.index.get_level_values("_ws").to_numpy()

    def _ends(self, state: pd.DataFrame) -> np.ndarray:
        return self.windows.ends(self._starts(state))  # <= LAST: checked

    def _fire(self, touched: pd.Index | None) -> pd.DataFrame | None:
        if self.state is None or not len(self.state):
            return None
        if self.output == "complete":
            return self._frame(self.state, self._ends(self.state))
        wm = self.watermark.value
        closing = self._ends(self.state) <= wm
        result = None
        if self.output == "append" and closing.any():
            done = self.state[closing]
            result = self._frame(done, self._ends(done))
            self.stats.fired += len(done)
        elif self.output == "update" and touched is not None:
            changed = self.state.loc[self.state.index.isin(touched)]
            result = self._frame(changed, self._ends(changed))
        if closing.any():
            if self.late_policy == "update":
                kept = self.state[closing]
                self.fired = kept if self.fired is None else concat_rows([self.fired, kept])
            self.state = self.state[~closing]
        if self.fired is not None and len(self.fired):
            self.fired = self.fired[self.windows.kept(self._starts(self.fired), wm, self.retain)]
        return result

    def _update_fired(
        self, x: pd.DataFrame, rows: np.ndarray, starts: np.ndarray, col: str, seq: Any
    ) -> pd.DataFrame | None:
        keep = self.windows.kept(starts, self.watermark.value, self.retain)
        self.stats.too_late += len(np.unique(rows[~keep]))
        if not keep.any():
            return None
        parts = self._parts(x, rows[keep], starts[keep], col, seq)
        self.fired = self.aggs.merge(self.fired, parts)
        changed = self.fired.loc[self.fired.index.isin(parts.index)]
        return self._frame(changed, self._ends(changed))

    def end_of_input(self) -> list:
        """Emit the windows still open (append mode); the other modes have emitted them."""
        if self.counter is not None:
            return self._flush_count()
        if self.state is None or not len(self.state):
            return []
        return self._flush(self._ends(self.state))

    # -- count windows ------------------------------------------------------------------------
    def _update_count(self, x: pd.DataFrame) -> list:
        assert self.counter is not None
        self._check_keys(x)
        self.stats.rows += len(x)
        col = resolve_time_column(x, self.on, step=self.name, required=False)
        keys = self.keys
        sub = x.copy()
        if keys:
            sub["_ws"] = self.counter.assign(x[keys])
        else:
            sub["_ws"] = self.counter.assign_rows(len(x))
        seq = np.arange(self._next_seq(len(x)), self._seq)
        aggs = self.aggs if col is not None else self._untimed
        if col is not None:
            sub["_t"] = event_times(sub, col)
        parts = aggs.partial(sub, ["_ws", *keys], time=col, seq=seq)
        old = self.state if self.state is not None and len(self.state) else None
        self.state = aggs.merge(old, parts)
        full = self.aggs.part(self.state, "_ws", "rows", "n") >= self.counter.size
        if not full.any():
            return self._publish([])
        done = self.state[full]
        self.state = self.state[~full]
        self.stats.fired += len(done)
        return self._publish([self._count_frame(done)])

    def _count_frame(self, done: pd.DataFrame) -> pd.DataFrame:
        values = self.aggs.finalize(done)
        idx = done.index.to_frame(index=False)
        out = pd.DataFrame({"window": idx["_ws"].to_numpy()})
        first = self.aggs.part_name("_t", "extent", "min")
        if first in done:
            last = self.aggs.part_name("_t", "extent", "max")
            out["window_start"] = pd.to_datetime(done[first].to_numpy(), unit="ns", utc=True)
            out["window_end"] = pd.to_datetime(done[last].to_numpy(), unit="ns", utc=True)
        out["rows"] = self.aggs.part(done, "_ws", "rows", "n").astype("int64")
        for k in self.keys:
            out[k] = idx[k].to_numpy()
        for c in values.columns:
            out[c] = values[c].to_numpy()
        return out.sort_values([*self.keys, "window"], kind="stable", ignore_index=True)

    def _flush_count(self) -> list:
        if self.state is None or not len(self.state):
            return []
        done, self.state = self.state, self.state.iloc[:0]
        self.stats.fired += len(done)
        return self._publish([self._count_frame(done)])
