"""Drift detectors (ADWIN, Page-Hinkley, DDM) updated a batch at a time, in plain numpy.

They follow River's protocol (``update(values)``, ``get()``): ``update`` takes a batch of values
and returns the positions in it where a drift was detected. They give River's ``drift.ADWIN``
(with ``reset_on_drift=True``), ``drift.PageHinkley`` and ``drift.binary.DDM`` detections on the
same values (tests compare them), and the same detections however the stream is cut into
batches. Page-Hinkley and DDM are vectorised (cumulative sums, a first-order recursive filter,
running minima); ADWIN (:mod:`streamlab.learn.adwin`) evaluates every cut at every ``clock``
rows of a block at once. The stream step that runs them per key is ``stream.detect_drift``
(``streamlab.learn.drift``).
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.checks import check_choice, check_number
from ..core.params import Param
from ..errors import ConfigError
from .adwin import ADWIN, finite_values

__all__ = ["ADWIN", "DDM", "DETECTORS", "TUNABLE", "PageHinkley"]

_BLOCK = 8192  # most rows Page-Hinkley and DDM scan at once


class _Restarting:
    """Detectors that start afresh after a drift: each ``_scan`` takes a block at once, up to
    and including its first drift, and returns (last row used, drift?)."""

    n: int
    n_detections: int

    def reset(self) -> None:
        raise NotImplementedError

    def _scan(self, seg: np.ndarray) -> tuple[int, bool]:
        raise NotImplementedError

    def update(self, values) -> np.ndarray:
        """Add a batch of values; return the positions (in it) where a drift was detected."""
        x = self._check(finite_values(values, type(self).__name__))
        hits, start, span = [], 0, 256
        while start < len(x):
            j, drift = self._scan(x[start : start + span])
            span = 256 if drift else min(2 * span, _BLOCK)  # short scans while alarms are near
            if drift:
                hits.append(start + j)
                self.n_detections += 1
                self.reset()
            start += j + 1
        self.n += len(x)
        return np.asarray(hits, dtype=np.int64)

    def _check(self, x: np.ndarray) -> np.ndarray:
        return x


class PageHinkley(_Restarting):
    """Page-Hinkley test (Page 1954) on the deviation from the running mean, two-sided.

    ``up = alpha * up + (x - mean) - delta`` (``down`` likewise with ``+ delta``); a drift when
    ``up - min(up) > threshold`` (or ``max(down) - down``; ``mode`` picks ``"up"``, ``"down"``
    or ``"both"``) after at least ``min_instances`` values; then it starts afresh.
    ``threshold`` and ``delta`` are in the units of the values: the defaults suit values whose
    noise is ~0.1 (they alarm often on unit-variance noise).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(0, 0.1, 5000), rng.normal(1, 0.1, 5000)])
    >>> PageHinkley().update(x)
    array([5044])
    """

    def __init__(
        self,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        *,
        mode: str = "both",
    ) -> None:
        self.min_instances = check_number(
            "min_instances", min_instances, low=1, integer=True, example=30
        )
        self.delta = check_number("delta", delta, low=0, example=0.005)
        self.threshold = check_number("threshold", threshold, low=0, low_open=True, example=50.0)
        self.alpha = check_number("alpha", alpha, low=0, high=1, low_open=True, example=0.9999)
        self.mode = check_choice("mode", mode, ("both", "up", "down"))
        self.n = self.n_detections = 0
        self.reset()

    def reset(self) -> None:
        """Start afresh (counters ``n`` and ``n_detections`` are kept)."""
        self._count, self._sum, self._up, self._down = 0, 0.0, 0.0, 0.0
        self._min_up, self._max_down = math.inf, -1.0

    def get(self) -> float:
        """The mean since the last drift."""
        return self._sum / self._count if self._count else 0.0

    def _scan(self, seg: np.ndarray) -> tuple[int, bool]:
        from scipy.signal import lfilter  # imported on first use, not with streamlab

        cnt = self._count + np.arange(1, len(seg) + 1)
        sums = np.cumsum(np.concatenate(([self._sum], seg)))[1:]
        dev, a = seg - sums / cnt, [1.0, -self.alpha]
        up = lfilter([1.0], a, dev - self.delta, zi=[self.alpha * self._up])[0]
        down = lfilter([1.0], a, dev + self.delta, zi=[self.alpha * self._down])[0]
        min_up = np.minimum.accumulate(np.minimum(up, self._min_up))
        max_down = np.maximum.accumulate(np.maximum(down, self._max_down))
        test = np.zeros(len(seg), dtype=bool)
        if self.mode != "down":
            test |= up - min_up > self.threshold
        if self.mode != "up":
            test |= max_down - down > self.threshold
        test &= cnt >= self.min_instances
        j = int(np.argmax(test)) if test.any() else len(seg) - 1
        self._count, self._sum, self._up, self._down = int(cnt[j]), sums[j], up[j], down[j]
        self._min_up, self._max_down = min_up[j], max_down[j]
        return j, bool(test[j])


class DDM(_Restarting):
    """Drift Detection Method (Gama et al. 2004) on a 0/1 error stream (1 = a mistake).

    With ``p`` the error rate since the last drift and ``s = sqrt(p(1-p)/n)``, it remembers
    ``p_min``, ``s_min`` where ``p + s`` was lowest, and after more than ``min_instances``
    values reports a drift when ``p + s > p_min + drift * s_min`` (then starts afresh);
    ``in_warning`` is True while ``p + s > p_min + warning * s_min``. Soon after a start,
    ``s_min`` is small and DDM alarms easily (River's DDM does the same).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(5)
    >>> errors = rng.random(6000) < np.r_[np.full(3000, 0.1), np.full(3000, 0.3)]
    >>> DDM().update(errors)
    array([3131])
    """

    def __init__(self, warning: float = 2.0, drift: float = 3.0, min_instances: int = 30) -> None:
        self.warning = check_number("warning", warning, low=0, example=2.0)
        self.drift = check_number("drift", drift, low=warning, fix="or lower warning=")
        self.min_instances = check_number(
            "min_instances", min_instances, low=0, integer=True, example=30
        )
        self.n = self.n_detections = 0
        self.reset()

    def reset(self) -> None:
        """Start afresh (counters ``n`` and ``n_detections`` are kept)."""
        self._count, self._errors = 0, 0
        self._p_min, self._s_min, self._ps_min = math.nan, math.nan, math.inf
        self.in_warning = False

    def get(self) -> float:
        """The error rate since the last drift."""
        return self._errors / self._count if self._count else 0.0

    def _check(self, x: np.ndarray) -> np.ndarray:
        binary = (x == 0.0) | (x == 1.0)
        if not binary.all():
            raise ConfigError(
                f"DDM takes a 0/1 error stream (1 = a mistake), not values such as "
                f"{float(x[~binary][0])!r}; use ADWIN or PageHinkley on a numeric column"
            )
        return x

    def _scan(self, seg: np.ndarray) -> tuple[int, bool]:
        n = self._count + np.arange(1, len(seg) + 1)
        k = self._errors + np.cumsum(seg)
        p = k / n
        s = np.sqrt(p * (1.0 - p) / n)
        armed = n > self.min_instances
        ps = np.where(armed, p + s, math.inf)
        run = np.minimum.accumulate(np.minimum(ps, self._ps_min))
        last = np.maximum.accumulate(np.where(armed & (ps == run), np.arange(len(seg)), -1))
        p_min = np.where(last >= 0, p[last], self._p_min)
        s_min = np.where(last >= 0, s[last], self._s_min)
        with np.errstate(invalid="ignore"):  # no minimum yet (NaN): no alarm
            drift = armed & (ps > p_min + self.drift * s_min)
            warn = armed & (ps > p_min + self.warning * s_min)
        j = int(np.argmax(drift)) if drift.any() else len(seg) - 1
        self._count, self._errors = int(n[j]), int(k[j])
        self._p_min, self._s_min, self._ps_min = p_min[j], s_min[j], run[j]
        self.in_warning = bool(warn[j] and not drift[j])
        return j, bool(drift[j])


DETECTORS = {"adwin": ADWIN, "page_hinkley": PageHinkley, "ddm": DDM}

#: the one parameter of each detector a dashboard offers (its sensitivity)
TUNABLE = {
    "adwin": Param(
        "delta",
        help="ADWIN confidence: smaller finds fewer, surer changes",
        low=0,
        low_open=True,
        high=1,
        log=True,
        span=(1e-7, 0.5),
        fix="use a value in (0, 1) such as 0.002",
    ),
    "page_hinkley": Param(
        "threshold",
        help="Page-Hinkley alarm level: higher finds fewer changes",
        low=0,
        low_open=True,
        log=True,
        span=(1.0, 1000.0),
    ),
    "ddm": Param(
        "drift",
        help="DDM drift level (standard deviations)",
        low=0,
        span=(1.0, 10.0),
    ),
}


def _make(method: str, params: dict[str, Any]) -> Callable[[], Any]:
    cls = DETECTORS[check_choice("method", method, DETECTORS)]
    allowed = list(inspect.signature(cls).parameters)
    for name in params:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
            raise ConfigError(
                f"method={method!r} has no parameter {name!r}; its parameters are "
                + ", ".join(allowed)
                + (f". Did you mean {close[0]!r}?" if close else ".")
            )
    return lambda: cls(**params)
