"""The base of every live plot: batches pushed between flushes, a bokeh model built on first
use, a standalone copy for a saved report, and the counters a dashboard reads.

A plot takes batches as they come (:meth:`Plot.push`: it only keeps references) and sends them
to its ``ColumnDataSource`` when the dashboard flushes it (:meth:`Plot.flush`). What waits is
bounded (:data:`MAX_PENDING_ROWS`: beyond it the oldest batches are dropped and counted in
``thinned``); :attr:`Plot.pending_rows` says how much waits. The plot families are in
``timeseries``, ``histogram``, ``table`` and ``monitors``."""

from __future__ import annotations

import collections
import html
from typing import Any

import numpy as np
import pandas as pd

from ..core.checks import check_number

__all__ = [
    "MARK_COLOURS",
    "MAX_PENDING_ROWS",
    "PALETTE",
    "Plot",
    "copy_source",
    "empty_columns",
    "table_column",
]

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


def table_column(field: str, title: str | None = None) -> Any:
    """A DataTable column. Its title goes into the page as HTML (SlickGrid writes header
    names with ``.html()``), so it is escaped here: a column named ``<img onerror=...>``
    shows as that text. Cells are text already (bokeh's StringFormatter), and so are figure
    titles, legend labels and axis labels (drawn on the canvas): escaping those would show
    ``&lt;`` on screen."""
    from bokeh.models.widgets.tables import TableColumn

    return TableColumn(field=field, title=html.escape(field if title is None else title))


def copy_source(source: Any) -> Any:
    """A detached copy of a ColumnDataSource's current data (a model lives in one document)."""
    from bokeh.models import ColumnDataSource

    return ColumnDataSource({k: list(v) for k, v in source.data.items()})


def empty_columns(*names: str) -> dict:
    """Empty float columns (numpy: bokeh then streams them as binary arrays)."""
    return {n: np.empty(0, dtype="float64") for n in names}


class Plot:
    """Base class: a bokeh model, the batches pushed since the last flush, and counters.

    A family fills in ``_build`` (the model, made at the first flush or when shown), ``_send``
    (one flush's batch into the model's sources) and ``_draw`` (the model around a source, for
    :meth:`snapshot`).

    Examples
    --------
    >>> import pandas as pd
    >>> class Rows(Plot):  # a plot family: build a model, send a batch to it
    ...     def _build(self):
    ...         from bokeh.models import ColumnDataSource
    ...         self.source = ColumnDataSource({"n": []})
    ...         return self._figure()
    ...     def _send(self, df):
    ...         self.source.stream({"n": [len(df)]})
    >>> p = Rows(title="rows per flush")
    >>> p.push(pd.DataFrame({"x": [1, 2]})); p.push(pd.DataFrame({"x": [3]}))
    >>> p.pending_rows, p.flush(), p.pending_rows, p.source.data["n"]
    (3, True, 0, [3])
    """

    title = ""

    def __init__(self, *, on: Any = None, title: str | None = None, height: int = 260) -> None:
        self.on = on  # the node whose batches feed this plot (None: the dashboard's stream)
        self.title = title or self.title
        self.height = int(check_number("height", height, low=50, integer=True))
        self._pending: collections.deque = collections.deque()
        self._pending_rows = 0
        self.thinned = 0  # rows dropped before a flush because the page could not keep up
        self.updates = 0  # flushes that sent something to the page
        self._model: Any = None

    # -- input ------------------------------------------------------------------------------
    def push(self, df: Any) -> None:
        """Take one batch (kept by reference until the next flush)."""
        if not isinstance(df, pd.DataFrame) or not len(df):
            return
        self._pending.append(df)
        self._pending_rows += len(df)
        while self._pending_rows > MAX_PENDING_ROWS and len(self._pending) > 1:
            old = self._pending.popleft()
            self._pending_rows -= len(old)
            self.thinned += len(old)

    @property
    def pending_rows(self) -> int:
        """Rows pushed and not yet flushed (0: nothing waits for the page)."""
        return self._pending_rows

    def _drop_pending(self) -> None:
        self._pending.clear()
        self._pending_rows = 0

    def clear(self) -> None:
        """Forget what was shown: the source started again, from its start (the page's
        sources are emptied, not rebuilt)."""
        self._drop_pending()
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
        self._drop_pending()
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
    def model(self) -> Any:
        """The bokeh model shown in the page (built once)."""
        if self._model is None:
            self._model = self._build()
        return self._model

    def _build(self) -> Any:
        raise NotImplementedError

    def _send(self, df: pd.DataFrame) -> None:
        raise NotImplementedError

    def _draw(self, source: Any) -> Any:
        """The bokeh model around ``source`` (the live one, or a copy for a snapshot)."""
        raise NotImplementedError

    def snapshot(self) -> Any:
        """A new, standalone bokeh model holding the data shown now (for a saved report)."""
        source = getattr(self, "source", None)
        return None if source is None else self._draw(copy_source(source))

    def _figure(self, **kw: Any) -> Any:
        from bokeh.plotting import figure

        return figure(
            title=self.title,
            height=self.height,
            sizing_mode="stretch_width",
            tools="pan,wheel_zoom,box_zoom,reset,save",
            **kw,
        )
