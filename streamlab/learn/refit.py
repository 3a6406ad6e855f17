"""``stream.refit(estimator, window=..., target=...)``: fit any estimator afresh on each window.

The node around :class:`~streamlab.learn.window_refit.WindowRefit` (the algorithm: windows,
splits, fits and the table it emits are described there). Bad rows and late rows go to
``.errors`` with a ``reason``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from streamz import Stream

from ..core.registry import register_step
from ..core.step import Step
from ..errors import ConfigError
from .window_refit import RefitStats, WindowRefit

__all__ = ["RefitStats", "WindowRefit", "refit"]


@register_step
class refit(Step, Stream):
    """Re-fit any estimator on each window of rows; emit one row per window (see
    :mod:`streamlab.learn.refit`): bounds, row counts, hold-out score, coefficients.

    ``window``: a row count (``500``) or a duration on the time column (``"1min"``; ``on=``
    names the column, default the batch's own). Bad rows go to ``.errors`` with a ``reason``
    (late rows too); ``.stats`` counts ``windows``, ``late`` rows, ``failed`` fits and
    ``dead`` (bad) rows.

    Examples
    --------
    >>> import pandas as pd
    >>> from streamz import Stream
    >>> from sklearn.linear_model import LinearRegression
    >>> src = Stream()
    >>> node = src.refit(LinearRegression(), window="10s", on="t", target="y", features=["x"],
    ...                  holdout=0.4)
    >>> out = node.sink_to_list()
    >>> x = pd.Series(range(10), dtype=float)
    >>> t = pd.to_datetime(2 * x, unit="s", utc=True)
    >>> src.emit(pd.DataFrame({"t": t, "x": x, "y": (2 * x).where(x < 5, 20 - x)}))
    >>> _ = node.end_of_input()  # the second window ends after the last row: fit it now
    >>> pd.concat(out)[["window_start", "rows_train", "rows_test", "score", "coef_x"]].round(
    ...     {"score": 6, "coef_x": 6})
                   window_start  rows_train  rows_test  score  coef_x
    0 1970-01-01 00:00:00+00:00           3          2    1.0     2.0
    0 1970-01-01 00:00:10+00:00           3          2    1.0    -1.0
    """

    SIDE_OUTPUTS = ("errors",)

    STATE = ("refitter",)

    def __init__(
        self,
        upstream: Stream,
        estimator: Any,
        *,
        window: Any,
        target: str,
        features: list[str] | None = None,
        holdout: float = 0.2,
        seed: int = 0,
        on: str | None = None,
        stream_name: Any = None,
    ) -> None:
        self.refitter = WindowRefit(
            estimator,
            window=window,
            target=target,
            features=features,
            holdout=holdout,
            seed=seed,
            on=on,
        )
        name = stream_name or f"refit({type(estimator).__name__}, {window!r})"
        super().__init__(upstream, stream_name=name)
        self.make_side_outputs(name)

    @property
    def stats(self) -> RefitStats:
        return self.refitter.stats

    def update(self, x: Any, who: Any = None, metadata: Any = None) -> list:
        if not isinstance(x, pd.DataFrame):
            raise ConfigError(f"refit takes pandas DataFrame batches, not {type(x).__name__}")
        return self._send(*self.refitter.update(x))

    def end_of_input(self) -> list:
        """Fit the windows still open."""
        return self._send(*self.refitter.flush())

    def _send(self, rows: pd.DataFrame | None, dead: pd.DataFrame | None) -> list:
        out: list = []
        if dead is not None:
            out += self.to_side("errors", dead)
        if rows is not None:
            out += self.forward(rows)
        return out
