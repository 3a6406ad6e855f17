"""Histogram: counts of a column over its last values, redrawn at each flush."""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
import pandas as pd

from ..core.checks import check_number
from ..errors import ConfigError
from .plot_base import Plot

__all__ = ["Histogram"]


class Histogram(Plot):
    """Counts of ``column`` over its last ``window`` values, in ``bins`` bins (redrawn each
    flush; the bin edges follow the data in the window).

    Examples
    --------
    >>> import pandas as pd
    >>> h = Histogram("v", bins=2, window=4)
    >>> h.push(pd.DataFrame({"v": [0.0, 0, 0, 1, 1, 1]}))
    >>> h.flush(), h.source.data["count"].tolist()  # the last four values: 0, 1, 1, 1
    (True, [1, 3])
    """

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
        self.source: Any = None

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
