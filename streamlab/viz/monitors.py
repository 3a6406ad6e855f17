"""Monitors: plots of a step's own state, sampled at each flush rather than fed by its batches:
:class:`Metric` (curves of ``node.metrics``) and :class:`Counters` (a table of ``node.stats``)."""

from __future__ import annotations

import time
from typing import Any

from ..core.checks import check_number
from ..errors import ConfigError
from .plot_base import PALETTE, Plot, empty_columns, table_column

__all__ = ["Counters", "Metric"]


class Metric(Plot):
    """Curves of a step's running metrics (``node.metrics``: a ``learn`` step's accuracy...),
    sampled at each flush against the rows it has seen. ``names``: which metrics (default: all
    numeric ones except counters).

    Examples
    --------
    >>> from streamz import Stream
    >>> src = Stream()
    >>> node = src.map(len)
    >>> node.metrics = {"rows": 0, "accuracy": 0.0}
    >>> m = Metric(node)
    >>> node.metrics = {"rows": 10, "accuracy": 0.8}
    >>> m.flush(), list(m.source.data["accuracy"]), m.flush()  # unchanged: nothing sent
    (True, [0.8], False)
    """

    def __init__(self, node, names=None, *, rollover=2000, title=None, height=240) -> None:
        if not hasattr(node, "metrics"):
            raise ConfigError(
                f"metric() needs a step with .metrics (such as stream.learn(...)), not {node!r}"
            )
        super().__init__(on=node, title=title or f"{node} metrics", height=height)
        self.node = node
        self.names: list | None = (
            None if names is None else [names] if isinstance(names, str) else list(names)
        )
        self.rollover = check_number("rollover", rollover, low=2, integer=True)
        self.source: Any = None
        self._last_rows: float | None = None
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
        self.source = ColumnDataSource(empty_columns("rows", *self.names), name="metrics")
        return self._draw(self.source)

    def _draw(self, source):
        fig = self._figure(x_axis_label="rows seen")
        for i, n in enumerate(self.names):
            fig.line("rows", n, source=source, color=PALETTE[i % len(PALETTE)], legend_label=n)
        fig.legend.location = "bottom_right"
        return fig

    def flush(self) -> bool:
        self._drop_pending()  # sampled from the node, not from the batches
        m = self._current()
        rows = m.get("rows", None)
        if rows is None:
            rows = time.monotonic() - self._t0
        if rows == self._last_rows or not rows:
            return False
        _ = self.model
        self._last_rows = rows
        row: dict[str, Any] = {"rows": [rows]}
        for n in self.names or ():
            v = m.get(n)
            row[n] = [float("nan") if v is None else float(v)]
        self.source.stream(row, rollover=self.rollover)
        self.updates += 1
        return True


class Counters(Plot):
    """A step's counters (``node.stats``) as a table, refreshed at each flush when they
    changed; a ``per_worker`` dict (``stream.parallel``) becomes one row per worker with its
    rate since the last flush. Shows what a scale-out step is doing: workers, batches in
    flight, per-worker throughput.

    Examples
    --------
    >>> from streamz import Stream
    >>> from streamlab.core.stats import Stats
    >>> node = Stream().map(len)
    >>> node.stats = Stats(rows=12, batches=3)
    >>> c = Counters(node)
    >>> c.flush(), c.source.data["counter"][:2], c.source.data["value"][:2]
    (True, ['rows', 'batches'], ['12', '3'])
    """

    def __init__(self, node, *, title=None, height=260) -> None:
        if not hasattr(node, "stats"):
            raise ConfigError(f"counters() needs a step with .stats, not {node!r}")
        super().__init__(on=node, title=title or f"{node} counters", height=height)
        self.node = node
        self.source: Any = None
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

        cols = [table_column("counter"), table_column("value")]
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
        self._drop_pending()  # sampled from the node, not from the batches
        d = self._current()
        if d == self._last:
            return False
        _ = self.model
        now = time.monotonic()
        self.source.data = self._rows(d, now - self._last_t)
        self._last, self._last_t = d, now
        self.updates += 1
        return True
