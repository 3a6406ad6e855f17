"""Live bokeh plots fed by DataFrame batches: time series, histogram, table, metric curves.

A plot takes batches as they come (``push``: it only keeps references) and sends them to its
``ColumnDataSource`` when the dashboard flushes it, at most ~30 times a second whatever the
input rate. Each flush sends a bounded number of points per series: a long stretch of rows is
cut down with LTTB (``streamlab.compress.lossy.lttb``), which keeps the line's shape, and the
source keeps at most ``rollover`` points (``ColumnDataSource.stream(..., rollover=N)``), so
neither the kernel nor the page grows without bound. Flagged rows (anomalies, drift) are
drawn as markers from every row, never from the downsampled line, so none is lost.

Examples
--------
>>> import pandas as pd
>>> p = line("value", rollover=3)
>>> t = pd.date_range("2026-01-01", periods=5, freq="s", tz="UTC")
>>> p.push(pd.DataFrame({"time": t, "value": [1.0, 2, 3, 4, 5]}))
>>> p.flush()
True
>>> p.sources["value"].data["y"].tolist()  # rollover keeps the newest three
[3.0, 4.0, 5.0]
"""

from __future__ import annotations

import collections
import html
import time
from typing import Any

import numpy as np
import pandas as pd

from ..core.batch import as_ns, rows_by_key, time_column
from ..core.checks import check_number
from ..errors import ConfigError

__all__ = ["Histogram", "Metric", "Plot", "Table", "TimeSeries", "histogram", "line", "metric"]
__all__ += ["Counters", "counters", "scatter", "table"]

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#d62728",
)
#: markers: anomalies in red, drift in orange
MARK_COLOURS = {"anomaly": "#d62728", "drift": "#ff7f0e"}
#: pending input a plot keeps between flushes before it drops the oldest (counted)
MAX_PENDING_ROWS = 2_000_000


def _ms(times: pd.Series) -> np.ndarray:
    """Event times as float milliseconds since the epoch (what a bokeh datetime axis reads)."""
    return as_ns(times).astype("float64") / 1e6


def _table_column(field: str, title: str | None = None):
    """A DataTable column. Its title goes into the page as HTML (SlickGrid writes header
    names with ``.html()``), so it is escaped here: a column named ``<img onerror=...>``
    shows as that text. Cells are text already (bokeh's StringFormatter), and so are figure
    titles, legend labels and axis labels (drawn on the canvas): escaping those would show
    ``&lt;`` on screen."""
    from bokeh.models import TableColumn

    return TableColumn(field=field, title=html.escape(field if title is None else title))


def _copy(source):
    """A detached copy of a ColumnDataSource's current data (a model lives in one document)."""
    from bokeh.models import ColumnDataSource

    return ColumnDataSource({k: list(v) for k, v in source.data.items()})


def _empty(*names) -> dict:
    """Empty float columns (numpy: bokeh then streams them as binary arrays)."""
    return {n: np.empty(0, dtype="float64") for n in names}


class Plot:
    """Base class: a bokeh model, the batches pushed since the last flush, and counters."""

    title = ""

    def __init__(self, *, on=None, title: str | None = None, height: int = 260) -> None:
        self.on = on  # the node whose batches feed this plot (None: the dashboard's stream)
        self.title = title or self.title
        self.height = check_number("height", height, low=50, integer=True)
        self._pending: collections.deque = collections.deque()
        self._pending_rows = 0
        self.thinned = 0  # rows dropped before a flush because the page could not keep up
        self.updates = 0  # flushes that sent something to the page
        self._model = None

    # -- input ------------------------------------------------------------------------------
    def push(self, df) -> None:
        """Take one batch (kept by reference until the next flush)."""
        if not isinstance(df, pd.DataFrame) or not len(df):
            return
        self._pending.append(df)
        self._pending_rows += len(df)
        while self._pending_rows > MAX_PENDING_ROWS and len(self._pending) > 1:
            old = self._pending.popleft()
            self._pending_rows -= len(old)
            self.thinned += len(old)

    def clear(self) -> None:
        """Forget what was shown: the source started again, from its start (the page's
        sources are emptied, not rebuilt)."""
        self._pending.clear()
        self._pending_rows = 0
        for src in self._sources():
            src.data = {
                k: np.empty(0, dtype=v.dtype) if isinstance(v, np.ndarray) else []
                for k, v in src.data.items()
            }
        self._restart()

    def _sources(self) -> list:
        """Every ColumnDataSource this plot feeds."""
        source = getattr(self, "source", None)
        return [] if source is None else [source]

    def _restart(self) -> None:
        """Counters a plot keeps besides its sources (subclasses)."""

    def _take(self) -> pd.DataFrame | None:
        if not self._pending:
            return None
        parts = list(self._pending)
        self._pending.clear()
        self._pending_rows = 0
        df = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        df.attrs = dict(parts[-1].attrs)
        return df

    def flush(self) -> bool:
        """Send what came since the last flush to the bokeh sources; True if anything went."""
        df = self._take()
        if df is None:
            return False
        _ = self.model  # built on first use, from the first data seen
        self._send(df)
        self.updates += 1
        return True

    # -- output -----------------------------------------------------------------------------
    @property
    def model(self):
        """The bokeh model shown in the page (built once)."""
        if self._model is None:
            self._model = self._build()
        return self._model

    def _build(self):
        raise NotImplementedError

    def _send(self, df: pd.DataFrame) -> None:
        raise NotImplementedError

    def _draw(self, source):
        """The bokeh model around ``source`` (the live one, or a copy for a snapshot)."""
        raise NotImplementedError

    def snapshot(self):
        """A new, standalone bokeh model holding the data shown now (for a saved report)."""
        source = getattr(self, "source", None)
        return None if source is None else self._draw(_copy(source))

    def _figure(self, **kw):
        from bokeh.plotting import figure

        return figure(
            title=self.title,
            height=self.height,
            sizing_mode="stretch_width",
            tools="pan,wheel_zoom,box_zoom,reset,save",
            **kw,
        )


class TimeSeries(Plot):
    """Lines (or dots) of ``y`` against event time, one series per ``by`` key.

    ``y``: a column or a list of them (default: the numeric columns, at most four). ``x``: a
    column (default: the batch's event-time column, else the row number). ``flags``: boolean
    columns drawn as markers on the first ``y`` series (default: the ``*_anomaly`` and
    ``*_drift`` columns of the batch). ``max_points``: the most points of a series one flush
    sends (LTTB); ``rollover``: the most points a series keeps; ``max_series``: the most lines
    (further keys are counted in ``hidden_keys``, not drawn).
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
        self.y = [y] if isinstance(y, str) else (None if y is None else list(y))
        self.x, self.by, self.kind = x, by, kind
        self.flags = [flags] if isinstance(flags, str) else (None if flags is None else list(flags))
        self.rollover = check_number("rollover", rollover, low=2, integer=True)
        self.max_points = check_number("max_points", max_points, low=3, integer=True)
        self.max_series = check_number("max_series", max_series, low=1, integer=True)
        self.sources: dict = {}  # series name -> ColumnDataSource(x, y)
        self.marks: dict = {}  # flag column -> ColumnDataSource(x, y)
        self.hidden_keys: set = set()
        self.datetime = None  # known at the first batch
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
            fig.line("x", "y", source=src, line_width=1.5, color=colour, legend_label=name)

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
                self.marks[flag] = ColumnDataSource(_empty("x", "y"), name=f"mark:{flag}")
                self._draw_marks(self._fig, flag, self.marks[flag])

    def _series_name(self, col, key) -> str:
        return str(col) if self.by is None else f"{col} [{key}]"

    def _add_series(self, name: str):
        from bokeh.models import ColumnDataSource

        src = ColumnDataSource(_empty("x", "y"), name=f"series:{name}")
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
        from ..compress.lossy import lttb

        self._fit_axis()
        self._add_marks()
        xs = self._xs(df)
        self.rows += len(df)
        rows = np.arange(len(df))
        groups = [(None, rows)] if self.by is None else rows_by_key(df[self.by].to_numpy(), rows)
        for key, rows in groups:
            for col in self.y:
                name = self._series_name(col, key)
                src = self.sources.get(name)
                if src is None:
                    if len(self.sources) >= self.max_series * len(self.y):
                        self.hidden_keys.add(key)
                        continue
                    src = self._add_series(name)
                x = xs[rows]
                y = pd.to_numeric(df[col].iloc[rows], errors="coerce").to_numpy("float64")
                ok = np.isfinite(x) & np.isfinite(y)
                x, y = x[ok], y[ok]
                if len(x) > self.max_points:
                    keep = lttb(x, y, self.max_points)
                    x, y = x[keep], y[keep]
                if len(x):
                    src.stream({"x": x, "y": y}, rollover=self.rollover)
        first = self.y[0]
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
            self._draw_series(fig, name, _copy(src), i)
        for flag, src in self.marks.items():
            self._draw_marks(fig, flag, _copy(src))
        if fig.legend:
            fig.legend.location = "top_left"
        return fig


class Histogram(Plot):
    """Counts of ``column`` over its last ``window`` values, in ``bins`` bins (redrawn each
    flush; the bin edges follow the data in the window)."""

    def __init__(
        self,
        column: str,
        *,
        bins: int = 30,
        window: int = 10_000,
        on=None,
        title: str | None = None,
        height: int = 220,
    ) -> None:
        super().__init__(on=on, title=title or f"{column}: last {window:,} values", height=height)
        self.column = column
        self.bins = check_number("bins", bins, low=1, integer=True)
        self.window = check_number("window", window, low=1, integer=True)
        self._values: collections.deque = collections.deque()
        self._n = 0
        self.source = None

    def _restart(self) -> None:
        self._values.clear()
        self._n = 0

    def _build(self):
        from bokeh.models import ColumnDataSource

        self.source = ColumnDataSource({"left": [], "right": [], "count": []}, name="histogram")
        return self._draw(self.source)

    def _draw(self, source):
        fig = self._figure()
        fig.quad(left="left", right="right", top="count", bottom=0, source=source, alpha=0.7)
        return fig

    def _send(self, df: pd.DataFrame) -> None:
        if self.column not in df.columns:
            raise ConfigError(
                f"histogram column {self.column!r} is not in the batch: {list(df.columns)}"
            )
        v = pd.to_numeric(df[self.column], errors="coerce").to_numpy("float64")
        v = v[np.isfinite(v)][-self.window :]
        self._values.append(v)
        self._n += len(v)
        while self._n - len(self._values[0]) >= self.window:
            self._n -= len(self._values.popleft())
        values = np.concatenate(self._values)[-self.window :]
        if not len(values):
            return
        counts, edges = np.histogram(values, bins=self.bins)
        self.source.data = {"left": edges[:-1], "right": edges[1:], "count": counts}


class Table(Plot):
    """The latest ``rows`` rows (newest first)."""

    def __init__(self, rows: int = 10, *, columns=None, on=None, title=None, height=280) -> None:
        super().__init__(on=on, title=title or "latest rows", height=height)
        self.rows = check_number("rows", rows, low=1, integer=True)
        self.columns = None if columns is None else list(columns)
        self.source = None

    def _build(self):
        from bokeh.models import ColumnDataSource

        self.source = ColumnDataSource({str(c): [] for c in self.columns or ()}, name="table")
        return self._draw(self.source)

    def _table_columns(self) -> list:
        return [_table_column(str(c)) for c in self.columns or ()]

    def _draw(self, source):
        from bokeh.models import DataTable

        return DataTable(
            source=source,
            columns=self._table_columns(),
            height=self.height,
            sizing_mode="stretch_width",
        )

    def push(self, df) -> None:
        if isinstance(df, pd.DataFrame) and len(df) and self.columns is None:
            self.columns = list(df.columns)
        super().push(df)

    def _data(self, df: pd.DataFrame) -> dict:
        last = df.iloc[::-1].head(self.rows)
        data = {}
        for c in self.columns:
            col = last[c] if c in last.columns else pd.Series([None] * len(last))
            if pd.api.types.is_datetime64_any_dtype(col):
                data[str(c)] = [t.isoformat() for t in col]
            elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                data[str(c)] = col.to_numpy()
            else:
                data[str(c)] = [str(v) for v in col]
        return data

    def _send(self, df: pd.DataFrame) -> None:
        if len(self._model.columns) != len(self.columns):  # shown before the first batch
            self._model.columns = self._table_columns()
        self.source.data = self._data(df)


class Metric(Plot):
    """Curves of a step's running metrics (``node.metrics``: a ``learn`` step's accuracy...),
    sampled at each flush against the rows it has seen. ``names``: which metrics (default: all
    numeric ones except counters)."""

    def __init__(self, node, names=None, *, rollover=2000, title=None, height=240) -> None:
        if not hasattr(node, "metrics"):
            raise ConfigError(
                f"metric() needs a step with .metrics (such as stream.learn(...)), not {node!r}"
            )
        super().__init__(on=node, title=title or f"{node} metrics", height=height)
        self.node = node
        self.names = None if names is None else [names] if isinstance(names, str) else list(names)
        self.rollover = check_number("rollover", rollover, low=2, integer=True)
        self.source = None
        self._last_rows = None
        self._t0 = time.monotonic()

    def _restart(self) -> None:
        self._last_rows = None

    def _current(self) -> dict:
        m = self.node.metrics
        return m() if callable(m) else dict(m)

    def _build(self):
        from bokeh.models import ColumnDataSource

        m = self._current()
        if self.names is None:
            self.names = [
                k
                for k, v in m.items()
                if isinstance(v, int | float) and not isinstance(v, bool) and "rows" not in k
            ]
        self.source = ColumnDataSource(_empty("rows", *self.names), name="metrics")
        return self._draw(self.source)

    def _draw(self, source):
        fig = self._figure(x_axis_label="rows seen")
        for i, n in enumerate(self.names):
            fig.line("rows", n, source=source, color=PALETTE[i % len(PALETTE)], legend_label=n)
        fig.legend.location = "bottom_right"
        return fig

    def flush(self) -> bool:
        self._pending.clear()
        self._pending_rows = 0
        m = self._current()
        rows = m.get("rows", None)
        if rows is None:
            rows = time.monotonic() - self._t0
        if rows == self._last_rows or not rows:
            return False
        _ = self.model
        self._last_rows = rows
        row: dict[str, Any] = {"rows": [rows]}
        for n in self.names:
            v = m.get(n)
            row[n] = [float("nan") if v is None else float(v)]
        self.source.stream(row, rollover=self.rollover)
        self.updates += 1
        return True


class Counters(Plot):
    """A step's counters (``node.stats``) as a table, refreshed at each flush when they
    changed; a ``per_worker`` dict (``stream.parallel``) becomes one row per worker with its
    rate since the last flush. Shows what a scale-out step is doing: workers, batches in
    flight, per-worker throughput."""

    def __init__(self, node, *, title=None, height=260) -> None:
        if not hasattr(node, "stats"):
            raise ConfigError(f"counters() needs a step with .stats, not {node!r}")
        super().__init__(on=node, title=title or f"{node} counters", height=height)
        self.node = node
        self.source = None
        self._last: dict | None = None
        self._last_t = time.monotonic()
        self._per_worker: dict = {}

    def _current(self) -> dict:
        st = self.node.stats
        d = st.as_dict() if hasattr(st, "as_dict") else dict(vars(st))
        return {k: v for k, v in d.items() if not k.startswith("_")}

    def _build(self):
        from bokeh.models import ColumnDataSource

        self.source = ColumnDataSource({"counter": [], "value": []}, name="counters")
        return self._draw(self.source)

    def _draw(self, source):
        from bokeh.models import DataTable

        cols = [_table_column("counter"), _table_column("value")]
        return DataTable(source=source, columns=cols, height=self.height, width=420)

    def _rows(self, d: dict, dt: float) -> dict:
        names, values = [], []
        for k, v in d.items():
            if isinstance(v, dict):
                for worker, n in sorted(v.items()):
                    before = self._per_worker.get(worker, 0)
                    rate = (n - before) / dt if dt > 0 else 0.0
                    names.append(f"{k} {worker}")
                    values.append(f"{n:,} ({rate:,.1f}/s)")
                self._per_worker = dict(v)
            elif isinstance(v, float):
                values.append(f"{v:.4g}")
                names.append(k)
            else:
                values.append("–" if v is None else f"{v:,}" if isinstance(v, int) else str(v))
                names.append(k)
        return {"counter": names, "value": values}

    def flush(self) -> bool:
        self._pending.clear()
        self._pending_rows = 0
        d = self._current()
        if d == self._last:
            return False
        _ = self.model
        now = time.monotonic()
        self.source.data = self._rows(d, now - self._last_t)
        self._last, self._last_t = d, now
        self.updates += 1
        return True


def counters(node, **kwargs) -> Counters:
    """A live table of ``node.stats`` (see :class:`Counters`)."""
    return Counters(node, **kwargs)


def line(y=None, **kwargs) -> TimeSeries:
    """A live line plot of ``y`` (see :class:`TimeSeries`)."""
    return TimeSeries(y, kind="line", **kwargs)


def scatter(y=None, **kwargs) -> TimeSeries:
    """A live scatter plot of ``y`` (see :class:`TimeSeries`)."""
    return TimeSeries(y, kind="scatter", **kwargs)


def histogram(column: str, **kwargs) -> Histogram:
    """A live histogram of ``column`` (see :class:`Histogram`)."""
    return Histogram(column, **kwargs)


def table(rows: int = 10, **kwargs) -> Table:
    """A live table of the latest ``rows`` rows (see :class:`Table`)."""
    return Table(rows, **kwargs)


def metric(node, names=None, **kwargs) -> Metric:
    """Live curves of ``node.metrics`` (see :class:`Metric`)."""
    return Metric(node, names, **kwargs)
