"""Live bokeh plots fed by DataFrame batches: time series, histogram, table, metric curves.

A plot takes batches as they come (``push``: it only keeps references) and sends them to its
``ColumnDataSource`` when the dashboard flushes it, at most ~30 times a second whatever the
input rate. Each flush sends a bounded number of points per series: a long stretch of rows is
cut down with LTTB (:mod:`streamlab.viz.decimate`), which keeps the line's shape, and the
source keeps at most ``rollover`` points (``ColumnDataSource.stream(..., rollover=N)``), so
neither the kernel nor the page grows without bound. Flagged rows (anomalies, drift) are
drawn as markers from every row, never from the downsampled line, so none is lost.

This module holds the functions that make plots; the families live beside it
(``plot_base``: :class:`Plot`; ``timeseries``, ``histogram``, ``table``, ``monitors``).

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

from typing import Any

from ..errors import ConfigError
from .histogram import Histogram as Histogram
from .monitors import Counters as Counters
from .monitors import Metric as Metric
from .plot_base import Plot as Plot
from .table import Table as Table
from .timeseries import TimeSeries as TimeSeries

__all__ = ["Histogram", "Metric", "Plot", "Table", "TimeSeries", "histogram", "line", "metric"]
__all__ += ["Counters", "as_plots", "counters", "scatter", "table"]


def as_plots(plots: Any) -> list[Plot]:
    """What a dashboard's ``plots=`` names, as a list of plots: ``None`` (one line of the
    numeric columns), a plot, a column name (its line), or a list of those.

    Examples
    --------
    >>> [type(p).__name__ for p in as_plots(["a", histogram("b")])], as_plots("a")[0].y
    (['TimeSeries', 'Histogram'], ['a'])
    >>> as_plots([3])
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: plots= takes plots (streamlab.viz.line(...), histogram(...), table(), metric(node)) or column names, not 3
    """
    if plots is None:
        plots = [line()]
    elif isinstance(plots, str | Plot):
        plots = [plots]
    out = []
    for p in plots:
        if isinstance(p, str):
            p = line(p)
        if not isinstance(p, Plot):
            raise ConfigError(
                f"plots= takes plots (streamlab.viz.line(...), histogram(...), table(), "
                f"metric(node)) or column names, not {p!r}"
            )
        out.append(p)
    return out


def counters(node: Any, **kwargs: Any) -> Counters:
    """A live table of ``node.stats`` (see :class:`Counters`).

    Examples
    --------
    >>> import streamlab
    >>> src = streamlab.generate("noise", rows=100, batch_rows=50)
    >>> c = counters(src)
    >>> _ = streamlab.run(src)
    >>> c.flush(), dict(zip(c.source.data["counter"], c.source.data["value"]))["rows"]
    (True, '100')
    """
    return Counters(node, **kwargs)


def line(y: Any = None, **kwargs: Any) -> TimeSeries:
    """A live line plot of ``y`` (see :class:`TimeSeries`).

    Examples
    --------
    >>> import pandas as pd
    >>> p = line(["a", "b"], x="n")
    >>> p.push(pd.DataFrame({"n": [1, 2], "a": [0.5, 1.5], "b": [3.0, 4.0]}))
    >>> p.flush(), p.sources["b"].data["x"].tolist(), p.sources["b"].data["y"].tolist()
    (True, [1.0, 2.0], [3.0, 4.0])
    """
    return TimeSeries(y, kind="line", **kwargs)


def scatter(y: Any = None, **kwargs: Any) -> TimeSeries:
    """A live scatter plot of ``y`` (see :class:`TimeSeries`).

    Examples
    --------
    >>> import pandas as pd
    >>> p = scatter("v")
    >>> p.push(pd.DataFrame({"v": [2.0, 1.0]}))  # no time column: x is the row number
    >>> p.flush(), p.sources["v"].data["x"].tolist(), type(p.model.renderers[0].glyph).__name__
    (True, [0.0, 1.0], 'Scatter')
    """
    return TimeSeries(y, kind="scatter", **kwargs)


def histogram(column: str, **kwargs: Any) -> Histogram:
    """A live histogram of ``column`` (see :class:`Histogram`).

    Examples
    --------
    >>> import pandas as pd
    >>> h = histogram("v", bins=4)
    >>> h.push(pd.DataFrame({"v": [1.0, 2, 2, 4]}))
    >>> h.flush(), h.source.data["count"].tolist(), h.title
    (True, [1, 2, 0, 1], 'v: last 10,000 values')
    """
    return Histogram(column, **kwargs)


def table(rows: int = 10, **kwargs: Any) -> Table:
    """A live table of the latest ``rows`` rows (see :class:`Table`).

    Examples
    --------
    >>> import pandas as pd
    >>> t = table(1, columns=["v"])
    >>> t.push(pd.DataFrame({"k": ["a", "b"], "v": [1.5, 2.5]}))
    >>> t.flush(), t.source.data
    (True, {'v': array([2.5])})
    """
    return Table(rows, **kwargs)


def metric(node: Any, names: Any = None, **kwargs: Any) -> Metric:
    """Live curves of ``node.metrics`` (see :class:`Metric`).

    Examples
    --------
    >>> from streamz import Stream
    >>> node = Stream().map(len)
    >>> node.metrics = lambda: {"rows": 5, "accuracy": 0.9, "loss": 0.2}
    >>> m = metric(node, "loss")
    >>> m.flush(), m.names, list(m.source.data["loss"])
    (True, ['loss'], [0.2])
    """
    return Metric(node, names, **kwargs)
