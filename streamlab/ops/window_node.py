"""What the window steps (``window``, ``session_window``) share as nodes: their parameters,
the batch checks, the watermark, the table of open windows, the output frames and late rows.

The algorithms are elsewhere: window assignment in ``assign.py``, aggregates in
``aggregates.py``, the watermark in ``watermark.py``; this node adapts them to a stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from streamz import Stream

from ..core.batch import TIME_ATTR, concat_rows, resolve_time_column
from ..core.checks import check_choice, check_duration
from ..core.stats import StepStats
from ..core.step import Step
from ..errors import ConfigError
from .aggfns import event_times
from .aggregates import AggregateSet, parse_agg
from .nstime import NAT
from .watermark import Watermark

__all__ = ["LATE_POLICIES", "OUTPUT_MODES", "WindowNode", "WindowStats", "duration_ns"]

OUTPUT_MODES = ("append", "update", "complete")
LATE_POLICIES = ("drop", "stream", "update")


def duration_ns(name: str, value: Any, *, allow_zero: bool = False) -> int:
    """A duration ('5min', '1h', a Timedelta) in nanoseconds."""
    return int(check_duration(name, value, allow_zero=allow_zero).value)


@dataclass
class WindowStats(StepStats):
    """Counters of a window step.

    Examples
    --------
    >>> WindowStats(rows=3, fired=1).as_dict()["fired"]
    1
    """

    rows: int = 0
    late: int = 0
    too_late: int = 0
    missing_time: int = 0
    fired: int = 0
    open_windows: int = 0
    watermark: pd.Timestamp | None = None


class WindowNode(Step, Stream):
    """Base of the window steps: specs, keys, watermark, state, output, late rows."""

    SIDE_OUTPUTS = ("late",)
    STATE: tuple[str, ...] = ("state", "watermark", "_seq")

    def __init__(
        self,
        upstream: Any,
        *,
        on: str | None,
        key: Any,
        agg: Any,
        allowed_lateness: Any,
        output: str,
        late: str,
        stream_name: str,
    ) -> None:
        super().__init__(upstream, stream_name=stream_name)
        self.specs = parse_agg(agg)
        self.on = on
        self.keys: list[Any] = [] if key is None else [key] if isinstance(key, str) else list(key)
        self.lateness = duration_ns("allowed_lateness", allowed_lateness, allow_zero=True)
        self.output = check_choice("output", output, OUTPUT_MODES)
        self.late_policy = check_choice("late", late, LATE_POLICIES)
        self.make_side_outputs(stream_name)
        self.stats = WindowStats()
        self.state: pd.DataFrame | None = None
        self.watermark = Watermark(self.lateness)
        self._seq = 0
        self.aggs = AggregateSet(self.specs)

    # -- input -------------------------------------------------------------------------------
    def _times(self, df: pd.DataFrame) -> tuple[str, np.ndarray]:
        col = resolve_time_column(df, self.on, step=self.name)
        assert col is not None  # required
        missing = sorted({s.column for s in self.specs} - set(df.columns))
        if missing:
            raise ConfigError(
                f"agg names columns {missing} that the stream does not have; "
                f"its columns are {list(df.columns)}"
            )
        self._check_keys(df)
        return col, event_times(df, col)

    def _check_keys(self, df: pd.DataFrame) -> None:
        for k in self.keys:
            if k not in df.columns:
                raise ConfigError(
                    f"key={k!r} is not a column of this stream; its columns are {list(df.columns)}"
                )

    def _timed(self, x: pd.DataFrame) -> tuple[pd.DataFrame, str, np.ndarray]:
        """The batch without rows that have no event time (counted), its time column and its
        times in nanoseconds. Refuses the batch (before counting it) if a row's window does
        not fit in datetime64[ns]."""
        col, t = self._times(x)
        ok = t != NAT
        if not ok.all():
            x, t = x[ok], t[ok]
        if len(t):
            self._check_range(t)
        self.stats.missing_time += int((~ok).sum())
        self.stats.rows += len(x)
        return x, col, t

    def _check_range(self, t: np.ndarray) -> None:
        raise NotImplementedError

    def _next_seq(self, n: int) -> int:
        """The arrival number of the first of ``n`` rows (and count them)."""
        start = self._seq
        self._seq += n
        return start

    # -- state and output ----------------------------------------------------------------------
    def _merge(self, parts: pd.DataFrame) -> None:
        old = self.state if self.state is not None and len(self.state) else None
        self.state = self.aggs.merge(old, parts)

    def _frame(self, state: pd.DataFrame, end: Any) -> pd.DataFrame:
        """The output rows: window_start, window_end, the keys, then one column per aggregate."""
        values = self.aggs.finalize(state)
        idx = state.index.to_frame(index=False)
        out = pd.DataFrame(
            {
                "window_start": pd.to_datetime(idx["_ws"].to_numpy(), unit="ns", utc=True),
                "window_end": pd.to_datetime(np.asarray(end, dtype="int64"), unit="ns", utc=True),
            }
        )
        for k in self.keys:
            out[k] = idx[k].to_numpy()
        for c in values.columns:
            out[c] = values[c].to_numpy()
        out = out.sort_values(["window_start", *self.keys], kind="stable", ignore_index=True)
        out.attrs[TIME_ATTR] = "window_end"
        return out

    def _send_late(self, df: pd.DataFrame, late_rows: np.ndarray) -> list:
        if not late_rows.any():
            return []
        self.stats.late += int(late_rows.sum())
        if self.late_policy == "stream":
            return self.to_side("late", df[late_rows])
        return []

    def _publish(self, frames: list[pd.DataFrame | None]) -> list:
        ready = [f for f in frames if f is not None and len(f)]
        self.stats.open_windows = 0 if self.state is None else len(self.state)
        self.stats.watermark = self.watermark.timestamp
        if not ready:
            return []
        out = ready[0] if len(ready) == 1 else concat_rows(ready, ignore_index=True)
        out.attrs[TIME_ATTR] = "window_end"
        return self.forward(out)

    def _flush(self, ends: Any) -> list:
        """End of input in append mode: emit the windows still open (ending at ``ends``)."""
        if self.output != "append" or self.state is None or not len(self.state):
            return []
        frame = self._frame(self.state, ends)
        self.stats.fired += len(self.state)
        self.state = self.state.iloc[:0]
        return self._publish([frame])
