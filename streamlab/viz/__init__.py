"""The interactive layer: live bokeh plots and widget controls for a running stream.

``stream.dashboard(...)`` (or ``Dashboard(stream, ...)``) shows play/pause/step/stop, a
control for every tunable parameter of the pipeline's steps (a replay's speed, a rolling
window, an anomaly threshold, a learning rate, a codec), a status line, a progress bar, the
plots and the dead letters; ``dashboard.save("report.html")`` writes a static snapshot.
Imported on first use: bokeh and ipywidgets are not loaded by ``import streamlab``.
"""

from .controls import ParamControl
from .dashboard import Dashboard, dashboard
from .layout import ensure_bokehjs
from .plots import (
    Counters,
    Histogram,
    Metric,
    Plot,
    Table,
    TimeSeries,
    counters,
    histogram,
    line,
    metric,
    scatter,
    table,
)

__all__ = [
    "Counters",
    "Dashboard",
    "Histogram",
    "Metric",
    "ParamControl",
    "Plot",
    "Table",
    "TimeSeries",
    "counters",
    "dashboard",
    "ensure_bokehjs",
    "histogram",
    "line",
    "metric",
    "scatter",
    "table",
]
