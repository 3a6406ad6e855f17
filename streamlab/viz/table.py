"""Table: the latest rows of the stream, newest first."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.checks import check_number
from .plot_base import Plot, table_column

__all__ = ["Table"]


class Table(Plot):
    """The latest ``rows`` rows (newest first).

    Examples
    --------
    >>> import pandas as pd
    >>> t = Table(2)
    >>> t.push(pd.DataFrame({"k": ["a", "b", "c"], "v": [1, 2, 3]}))
    >>> t.flush(), t.source.data["k"], t.source.data["v"].tolist()
    (True, ['c', 'b'], [3, 2])
    """

    def __init__(self, rows: int = 10, *, columns=None, on=None, title=None, height=280) -> None:
        super().__init__(on=on, title=title or "latest rows", height=height)
        self.rows = check_number("rows", rows, low=1, integer=True)
        self.columns: list | None = None if columns is None else list(columns)
        self.source: Any = None

    def _build(self):
        from bokeh.models import ColumnDataSource

        self.source = ColumnDataSource({str(c): [] for c in self.columns or ()}, name="table")
        return self._draw(self.source)

    def _table_columns(self) -> list:
        return [table_column(str(c)) for c in self.columns or ()]

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
        for c in self.columns or ():
            col = last[c] if c in last.columns else pd.Series([None] * len(last))
            if pd.api.types.is_datetime64_any_dtype(col):
                data[str(c)] = [t.isoformat() for t in col]
            elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                data[str(c)] = col.to_numpy()
            else:
                data[str(c)] = [str(v) for v in col]
        return data

    def _send(self, df: pd.DataFrame) -> None:
        if len(self._model.columns) != len(self.columns or ()):  # shown before the first batch
            self._model.columns = self._table_columns()
        self.source.data = self._data(df)
