"""``stream.detect_drift``: a drift detector per key on a column of the batches.

It emits each batch with a boolean ``{column}_drift`` column (True where a drift was detected)
and sends the events, a DataFrame ``time, key, method, position, value``, to its ``.events``
stream. The detectors themselves (ADWIN, Page-Hinkley, DDM) are in ``streamlab.learn.detectors``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from streamz import Stream

from ..core.batch import rows_by_key, time_column
from ..core.params import Param
from ..core.registry import register_step
from ..core.stats import StepStats
from ..core.step import Step
from .detectors import ADWIN, DDM, DETECTORS, TUNABLE, PageHinkley, _make
from .features import check_columns

__all__ = ["ADWIN", "DDM", "DETECTORS", "DriftStats", "PageHinkley", "detect_drift"]


@dataclass
class DriftStats(StepStats):
    """Counters of a ``detect_drift`` step (``skipped``: NaN or infinite values, not fed;
    ``last_position``: the input row of the latest drift).

    Examples
    --------
    >>> DriftStats(rows=200, detections=1, last_position=105).as_dict()
    {'rows': 200, 'skipped': 0, 'detections': 1, 'keys': 0, 'last_position': 105}
    """

    rows: int = 0
    skipped: int = 0
    detections: int = 0
    keys: int = 0
    last_position: int | None = None


@register_step
class detect_drift(Step, Stream):  # streamz names its nodes in lower case
    """Detect drift in ``column`` (per ``key``) with ``method`` (``"adwin"``, ``"page_hinkley"``
    or ``"ddm"``); ``**params`` go to that detector's class (see :data:`DETECTORS`).

    Emits each batch with a boolean ``{column}_drift`` column; the drift events (``time``,
    ``key``, ``method``, ``position``: the row's number in this step's input, ``value``) go to
    the ``.events`` stream. NaN and infinite values are skipped and counted (``stats``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from streamz import Stream
    >>> src = Stream()
    >>> node = src.detect_drift("x", method="page_hinkley", threshold=5.0)
    >>> events = node.events.sink_to_list()
    >>> src.emit(pd.DataFrame({"x": np.r_[np.zeros(100), np.ones(100), np.nan]}))
    >>> events[0]
      time   key        method  position  value
    0  NaT  None  page_hinkley       105    1.0
    >>> node.stats
    DriftStats(rows=201, skipped=1, detections=1, keys=1, last_position=105)
    """

    SIDE_OUTPUTS = ("events",)

    STATE = ("detectors",)

    def __init__(
        self,
        upstream: Stream,
        column: Any,
        *,
        method: str = "adwin",
        key: Any = None,
        stream_name: Any = None,
        **params: Any,
    ) -> None:
        self.column, self.key, self.method = column, key, method
        probe = _make(method, dict(params))()  # check the parameters now, not at the first batch
        # as the detector holds them: plain Python numbers, not the numpy scalars given
        self._params = {k: getattr(probe, k, v) for k, v in params.items()}
        self._new = _make(method, self._params)
        self.detectors: dict[Any, Any] = {}
        self.stats = DriftStats()
        self.flag = f"{column}_drift"
        name = stream_name or f"detect_drift({column!r}, method={method!r})"
        super().__init__(upstream, stream_name=name)
        self.make_side_outputs(name)

    def params(self) -> dict[str, Param]:
        """The detector's sensitivity: ADWIN's ``delta``, Page-Hinkley's ``threshold``,
        DDM's ``drift`` level. A change applies to every key's detector from the next row."""
        return {self._knob: TUNABLE[self.method]}

    @property
    def _knob(self) -> str:
        return TUNABLE[self.method].name

    def _get_delta(self) -> Any:
        return self._current(self._knob)

    _get_threshold = _get_drift = _get_delta

    def _current(self, name: str) -> Any:
        return self._params.get(
            name, inspect.signature(DETECTORS[self.method]).parameters[name].default
        )

    def _apply(self, value: Any) -> None:
        name = self._knob
        trial = dict(self._params, **{name: value})
        _make(self.method, trial)()  # the detector's own checks (DDM: drift >= warning)
        self._params = trial
        self._new = _make(self.method, trial)
        for det in self.detectors.values():
            setattr(det, name, value)

    _set_delta = _set_threshold = _set_drift = _apply

    def update(self, x: Any, who: Any = None, metadata: Any = None) -> list:
        check_columns(x, "detect_drift", column=self.column, key=self.key)
        values = pd.to_numeric(x[self.column], errors="coerce").to_numpy(dtype="float64")
        good = np.isfinite(values)
        keys = np.zeros(len(x)) if self.key is None else x[self.key].to_numpy()
        flags = np.zeros(len(x), dtype=bool)
        for k, rows in rows_by_key(keys, np.flatnonzero(good)):
            if k not in self.detectors:
                self.detectors[k] = self._new()
            flags[rows[self.detectors[k].update(values[rows])]] = True
        hit, first = np.flatnonzero(flags), self.stats.rows
        self.stats.rows += len(x)
        self.stats.skipped += int((~good).sum())
        self.stats.keys = len(self.detectors)
        out = x.assign(**{self.flag: flags})
        out.attrs = dict(x.attrs)
        results: list = []
        if len(hit):
            self.stats.detections += len(hit)
            self.stats.last_position = first + int(hit[-1])
            tcol = time_column(x)
            events = pd.DataFrame(
                {
                    "time": x[tcol].array[hit] if tcol in x.columns else pd.NaT,
                    "key": None if self.key is None else keys[hit],
                    "method": self.method,
                    "position": first + hit,
                    "value": values[hit],
                }
            )
            results.extend(self.to_side("events", events))
        results.extend(self.forward(out))
        return results


DetectDrift = detect_drift
