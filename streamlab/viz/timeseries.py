"""Time series: lines (or dots) of columns against event time, one series per key, with
anomaly and drift markers.

Each flush sends a bounded number of points per series: a long stretch of rows is cut down
with LTTB (tsdownsample's, :mod:`streamlab.viz.decimate`), which keeps the line's shape, and each series
keeps at most ``rollover`` points (``ColumnDataSource.stream(..., rollover=N)``), so neither
the kernel nor the page grows without bound. Flagged rows (anomalies, drift) are drawn as
markers from every row, never from the downsampled line, so none is lost."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.batch import as_ns, rows_by_key, time_column
from ..core.checks import check_number
from ..errors import ConfigError
from .decimate import lttb_indices
from .plot_base import MARK_COLOURS, PALETTE, Plot, copy_source, empty_columns

__all__ = ["TimeSeries"]


def _ms(times: pd.Series) -> np.ndarray:
    """Event times as float milliseconds since the epoch (what a bokeh datetime axis reads)."""
    return as_ns(times).astype("float64") / 1e6


class TimeSeries(Plot):
    """Lines (or dots) of ``y`` against event time, one series per ``by`` key.

    ``y``: a column or a list of them (default: the numeric columns, at most four). ``x``: a
    column (default: the batch's event-time column, else the row number). ``flags``: boolean
    columns drawn as markers on the first ``y`` series (default: the ``*_anomaly`` and
    ``*_drift`` columns of the batch). ``max_points``: the most points of a series one flush
    sends (LTTB); ``rollover``: the most points a series keeps; ``max_series``: the most lines
    (further keys are counted in ``hidden_keys``, not drawn).

    Examples
    --------
    >>> import pandas as pd
    >>> p = TimeSeries(["a", "b"], by="k", rollover=100)
    >>> p.push(pd.DataFrame({"k": ["x", "y", "x"], "a": [1.0, 2, 3], "b": [0.5, 0, 1]}))
    >>> p.flush(), sorted(p.sources), p.sources["a [x]"].data["y"].tolist()
    (True, ['a [x]', 'a [y]', 'b [x]', 'b [y]'], [1.0, 3.0])
    """

    def __init__(
        self,
        y=None,
        *,
        x: str | None = None,
        by: str | None = None,
        flags=None,
        kind: str = "line",
        rollover: int = 2000,
        max_points: int = 500,
        max_series: int = 10,
        on=None,
        title: str | None = None,
        height: int = 260,
    ) -> None:
        super().__init__(on=on, title=title, height=height)
        self.y: list | None = [y] if isinstance(y, str) else (None if y is None else list(y))
        self.x, self.by, self.kind = x, by, kind
        self.flags = [flags] if isinstance(flags, str) else (None if flags is None else list(flags))
        self.rollover = check_number("rollover", rollover, low=2, integer=True)
        self.max_points = int(check_number("max_points", max_points, low=3, integer=True))
        self.max_series = check_number("max_series", max_series, low=1, integer=True)
        self.sources: dict = {}  # series name -> ColumnDataSource(x, y)
        self.marks: dict = {}  # flag column -> ColumnDataSource(x, y)
        self.hidden_keys: set = set()
        self.datetime: bool | None = None  # known at the first batch
        self.rows = 0

    def _resolve(self, df: pd.DataFrame) -> None:
        """Fix x, y and flags from the first batch (they then stay)."""
        if self.x is None:
            self.x = time_column(df)
            if self.x is None and "time" in df.columns:
                self.x = "time"
        if self.x is not None and self.x not in df.columns:
            raise ConfigError(f"x={self.x!r} is not a column of the batch: {list(df.columns)}")
        self.datetime = self.x is not None and pd.api.types.is_datetime64_any_dtype(df[self.x])
        flagged = {c for c in df.columns if str(c).endswith(("_anomaly", "_drift"))}
        if self.y is None:
            skip = {self.x, self.by} | flagged
            numeric = [
                c
                for c in df.columns
                if c not in skip
                and pd.api.types.is_numeric_dtype(df[c])
                and not pd.api.types.is_bool_dtype(df[c])
            ]
            if not numeric:
                raise ConfigError(
                    f"no numeric column to plot among {list(df.columns)}; pass y='column'"
                )
            self.y = numeric[:4]
        missing = [c for c in [*self.y, *([self.by] if self.by else [])] if c not in df.columns]
        if missing:
            raise ConfigError(
                f"column(s) {missing} to plot are not in the batch: {list(df.columns)}"
            )
        if self.flags is None:
            self.flags = sorted(c for c in flagged if pd.api.types.is_bool_dtype(df[c]))
        if not self.title:
            self.title = ", ".join(map(str, self.y)) + (f" by {self.by}" if self.by else "")
            if self._model is not None:  # shown before the first batch named the columns
                self._model.title.text = self.title

    def push(self, df) -> None:
        if isinstance(df, pd.DataFrame) and len(df) and self.datetime is None:
            self._resolve(df)
        super().push(df)

    def _build(self):
        # Shown before any data arrived: a time axis (what most streams have); corrected at
        # the first batch if x turns out not to be a time.
        fig = self._figure(x_axis_type="linear" if self.datetime is False else "datetime")
        self._fig, self._axis_datetime = fig, self.datetime is not False
        return fig

    def _fit_axis(self) -> None:
        """Make the x axis match the data (once: the first batch fixed what x is)."""
        if self._axis_datetime == self.datetime:
            return
        from bokeh.models import (
            BasicTicker,
            BasicTickFormatter,
            DatetimeTicker,
            DatetimeTickFormatter,
        )

        axis = self._fig.xaxis[0]
        axis.ticker = DatetimeTicker() if self.datetime else BasicTicker()
        axis.formatter = DatetimeTickFormatter() if self.datetime else BasicTickFormatter()
        self._fig.xgrid[0].ticker = axis.ticker
        self._axis_datetime = self.datetime

    def _draw_series(self, fig, name: str, src, i: int) -> None:
        colour = PALETTE[i % len(PALETTE)]
        if self.kind == "scatter":
            fig.scatter("x", "y", source=src, size=4, color=colour, legend_label=name)
        else:
            # 1 px: a page drawn without a GPU strokes it on the fast path (1.5 px: ~4x the
            # main thread's raster time in headless Chromium, benchmarks/README.md)
            fig.line("x", "y", source=src, line_width=1, color=colour, legend_label=name)

    @staticmethod
    def _draw_marks(fig, flag: str, src) -> None:
        kind = "anomaly" if flag.endswith("_anomaly") else "drift"
        marker = "x" if kind == "anomaly" else "triangle"
        fig.scatter(
            "x", "y", source=src, size=9, marker=marker, color=MARK_COLOURS[kind], legend_label=flag
        )

    def _sources(self) -> list:
        return [*self.sources.values(), *self.marks.values()]

    def _restart(self) -> None:
        self.rows = 0
        self.hidden_keys.clear()

    def _add_marks(self) -> None:
        from bokeh.models import ColumnDataSource

        for flag in self.flags or ():
            if flag not in self.marks:
                self.marks[flag] = ColumnDataSource(empty_columns("x", "y"), name=f"mark:{flag}")
                self._draw_marks(self._fig, flag, self.marks[flag])

    def _series_name(self, col, key) -> str:
        return str(col) if self.by is None else f"{col} [{key}]"

    def _add_series(self, name: str):
        from bokeh.models import ColumnDataSource

        src = ColumnDataSource(empty_columns("x", "y"), name=f"series:{name}")
        self._draw_series(self._fig, name, src, len(self.sources))
        self._fig.legend.location = "top_left"
        self._fig.legend.click_policy = "hide"
        self.sources[name] = src
        return src

    def _xs(self, df: pd.DataFrame) -> np.ndarray:
        if self.x is None:
            return np.arange(self.rows, self.rows + len(df), dtype="float64")
        col = df[self.x]
        return _ms(col) if self.datetime else pd.to_numeric(col, errors="coerce").to_numpy(float)

    def _send(self, df: pd.DataFrame) -> None:
        ys = self.y or []  # fixed by the first batch (_resolve), before any flush
        self._fit_axis()
        self._add_marks()
        xs = self._xs(df)
        self.rows += len(df)
        rows = np.arange(len(df))
        groups = [(None, rows)] if self.by is None else rows_by_key(df[self.by].to_numpy(), rows)
        for key, rows in groups:
            for col in ys:
                name = self._series_name(col, key)
                src = self.sources.get(name)
                if src is None:
                    if len(self.sources) >= self.max_series * len(ys):
                        self.hidden_keys.add(key)
                        continue
                    src = self._add_series(name)
                x = xs[rows]
                y = pd.to_numeric(df[col].iloc[rows], errors="coerce").to_numpy("float64")
                ok = np.isfinite(x) & np.isfinite(y)
                x, y = x[ok], y[ok]
                if len(x) > self.max_points:
                    keep = lttb_indices(x, y, self.max_points)
                    x, y = x[keep], y[keep]
                if len(x):
                    src.stream({"x": x, "y": y}, rollover=self.rollover)
        first = ys[0]
        for flag, src in self.marks.items():
            hit = df[flag].to_numpy(dtype=bool, na_value=False)
            if hit.any():
                y = pd.to_numeric(df[first], errors="coerce").to_numpy("float64")[hit]
                src.stream({"x": xs[hit], "y": y}, rollover=self.rollover)

    def snapshot(self):
        if self._model is None:
            return None
        fig = self._figure(x_axis_type="datetime" if self.datetime else "linear")
        for i, (name, src) in enumerate(self.sources.items()):
            self._draw_series(fig, name, copy_source(src), i)
        for flag, src in self.marks.items():
            self._draw_marks(fig, flag, copy_source(src))
        if fig.legend:
            fig.legend.location = "top_left"
        return fig
