"""Running aggregates over the whole stream so far (per key), with the window aggregates."""

from __future__ import annotations

import numpy as np
import pandas as pd
from streamz import Stream

from ..core.batch import resolve_time_column
from ..core.checks import check_choice
from ..core.registry import register_step
from ..core.step import Step
from ..errors import ConfigError
from .aggregates import AggregateSet, parse_agg

__all__ = ["aggregate"]


@register_step
class aggregate(Step, Stream):
    """Aggregate the whole stream so far, per key: a table that every batch updates.

    ``output="update"`` emits the rows of the keys this batch changed; ``"complete"`` emits the
    whole table each time (the Spark socket word-count shape). State is one row of partial
    aggregates per key, whatever the number of rows. Aggregates as for windows, including
    ``quantile:q``, ``distinct`` and ``topk:k`` sketches; ``first``, ``last`` and ``ewma`` use
    the event-time column (``on=``, or the batch's own).

    Examples
    --------
    >>> import pandas as pd
    >>> from streamz import Stream
    >>> src = Stream()
    >>> out = src.aggregate({"n": ["sum", "max"]}, key="word", output="complete").sink_to_list()
    >>> src.emit(pd.DataFrame({"word": ["a", "b", "a"], "n": [1, 1, 1]}))
    >>> src.emit(pd.DataFrame({"word": ["b", "c"], "n": [5, 1]}))
    >>> out[-1]
      word  n_sum  n_max
    0    a      2      1
    1    b      6      5
    2    c      1      1
    """

    STATE = ("state", "rows")

    def __init__(
        self, upstream, agg, *, key=None, on=None, output="update", stream_name=None
    ) -> None:
        super().__init__(upstream, stream_name=stream_name or "aggregate")
        self.specs = parse_agg(agg)
        self.aggs = AggregateSet(self.specs)
        self.keys = [] if key is None else [key] if isinstance(key, str) else list(key)
        self.on = on
        self.output = check_choice("output", output, ("update", "complete"))
        self.state: pd.DataFrame | None = None
        self.rows = 0

    def update(self, x: pd.DataFrame, who=None, metadata=None):
        for k in self.keys:
            if k not in x.columns:
                raise ConfigError(
                    f"key={k!r} is not a column of this stream; its columns are {list(x.columns)}"
                )
        sub = x if self.keys else x.assign(_all=0)
        by = self.keys or ["_all"]
        seq = np.arange(self.rows, self.rows + len(x))
        self.rows += len(x)
        on = resolve_time_column(x, self.on, step="aggregate", required=False)
        parts = self.aggs.partial(sub, by, time=on, seq=seq)
        self.state = self.aggs.merge(self.state, parts)
        shown = (
            self.state
            if self.output == "complete"
            else self.state[self.state.index.isin(parts.index)]
        )
        out = self.aggs.finalize(shown)
        out = out.reset_index(drop=not self.keys)
        if self.keys:
            out = out.sort_values(self.keys, kind="stable", ignore_index=True)
        return self.forward(out)
