"""Drift detectors (ADWIN, Page-Hinkley, DDM) updated a batch at a time, in plain numpy.

They follow River's protocol (``update(values)``, ``get()``): ``update`` takes a batch of values
and returns the positions in it where a drift was detected. They give River's ``drift.ADWIN``
(with ``reset_on_drift=True``), ``drift.PageHinkley`` and ``drift.binary.DDM`` detections on the
same values (tests compare them), and the same detections however the stream is cut into
batches. Page-Hinkley and DDM are vectorised (cumulative sums, a first-order recursive filter,
running minima); ADWIN evaluates every cut at every ``clock`` rows of a block at once. The
stream step that runs them per key is ``stream.detect_drift`` (``streamlab.learn.drift``).
"""

from __future__ import annotations

import difflib
import inspect
import math

import numpy as np

from ..core.checks import check_choice, check_number
from ..core.params import Param
from ..errors import ConfigError

__all__ = ["ADWIN", "DDM", "DETECTORS", "TUNABLE", "PageHinkley"]

_BLOCK = 8192  # most rows Page-Hinkley and DDM scan at once


def _values(values, name: str) -> np.ndarray:
    x = np.asarray(values, dtype="float64").ravel()
    if not np.isfinite(x).all():
        raise ConfigError(
            f"{name}.update got NaN or infinite values; drop them first "
            "(stream.detect_drift skips and counts them)"
        )
    return x


class ADWIN:
    """ADaptive WINdowing (Bifet & Gavaldà 2007, ADWIN2 with exponential histograms).

    Keeps a window of recent values as buckets of 1, 2, 4, ... values (at most
    ``max_buckets`` of each size) and, every ``clock`` values, drops the oldest buckets while
    some cut of the window into an older and a newer part has means further apart than the
    Hoeffding/Bernstein bound at confidence ``delta``. A drift is reported at each check that
    dropped something. The bound and its parameters are those of MOA and River;
    ``reset_on_drift=True`` empties the window after a drift, as River's ``ADWIN`` does (the
    paper, and the default, keep the newer part of the window).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(0, 1, 2000), rng.normal(2, 1, 2000)])
    >>> adwin = ADWIN()
    >>> adwin.update(x[:2500])[:1]
    array([2047])
    >>> round(adwin.get(), 1), adwin.width < 2500
    (2.0, True)
    """

    def __init__(
        self,
        delta: float = 0.002,
        *,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
        reset_on_drift: bool = False,
    ) -> None:
        self.delta = check_number("delta", delta, low=0, high=1, low_open=True, example=0.002)
        self.clock = check_number("clock", clock, low=1, integer=True, example=32)
        self.max_buckets = check_number("max_buckets", max_buckets, low=2, integer=True, example=5)
        self.min_window_length = check_number(
            "min_window_length", min_window_length, low=1, integer=True
        )
        self.grace_period = check_number(
            "grace_period", grace_period, low=0, integer=True, example=10
        )
        self.reset_on_drift = bool(reset_on_drift)
        self.n = self.n_detections = 0
        self.reset()

    def reset(self) -> None:
        """Forget the window (counters ``n`` and ``n_detections`` are kept)."""
        self._tot: list[np.ndarray] = []  # row r: totals of buckets of 2**r values, oldest first
        self._var: list[np.ndarray] = []  # their sums of squared deviations
        self.width = self._tick = 0
        self._block = 4 * self.clock

    def get(self) -> float:
        """The mean of the current window (0.0 when empty)."""
        return float(sum(t.sum() for t in self._tot) / self.width) if self.width else 0.0

    def update(self, values) -> np.ndarray:
        """Add a batch of values; return the positions (in it) where a drift was detected."""
        x = _values(values, "ADWIN")
        hits: list[int] = []
        i = 0
        while i < len(x):
            part = x[i : i + self._block]
            tau = self._first_alarm(part)  # a check that may cut (never misses one)
            step = len(part) if tau is None else tau
            self._insert(part[:step])
            self._tick += step
            i += step
            self._block = min(2 * self._block, 2048 * self.clock)  # rows planned at once
            if tau is not None and self._cut():
                hits.append(i - 1)
                self.n_detections += 1
                self._block = 4 * self.clock
                if self.reset_on_drift:
                    self.reset()
        self.n += len(x)
        return np.asarray(hits, dtype=np.int64)

    def _insert(self, chunk: np.ndarray) -> None:
        """Append values; merge the two oldest buckets of a size whenever there are too many.

        A row that receives values in order merges pairs (0, 1), (2, 3), ... of its old buckets
        followed by the new ones, ceil((count - max_buckets) / 2) times: the same buckets as
        inserting one value at a time."""
        self.width += len(chunk)
        carry_t, carry_v = chunk, np.zeros(len(chunk))
        r = 0
        while len(carry_t):
            if r == len(self._tot):
                self._tot.append(carry_t[:0])
                self._var.append(carry_v[:0])
            t = np.concatenate((self._tot[r], carry_t))
            v = np.concatenate((self._var[r], carry_v))
            m = (len(t) - self.max_buckets + 1) // 2
            if m <= 0:
                self._tot[r], self._var[r] = t, v
                return
            a, b = t[0 : 2 * m : 2], t[1 : 2 * m : 2]
            carry_t = a + b
            carry_v = v[0 : 2 * m : 2] + v[1 : 2 * m : 2] + (a - b) ** 2 / (2.0 * 2**r)
            self._tot[r], self._var[r] = t[2 * m :], v[2 * m :]
            r += 1

    def _buckets(self):
        """Sizes and totals of the buckets, oldest first, and the window's sum of squares."""
        rows = range(len(self._tot) - 1, -1, -1)
        sizes = np.concatenate([np.full(len(self._tot[r]), 2.0**r) for r in rows])
        tots = np.concatenate([self._tot[r] for r in rows])
        mean = tots.sum() / sizes.sum()
        ss = sum(v.sum() for v in self._var) + float(np.dot(sizes, (tots / sizes - mean) ** 2))
        return sizes, tots, ss

    def _eps(self, n0, n1, ss, w):
        mwl = self.min_window_length
        dd = np.log(2.0 * np.log(np.maximum(w, 2.0)) / self.delta)
        m = 1.0 / (n0 - mwl + 1.0) + 1.0 / (n1 - mwl + 1.0)
        return np.sqrt(2.0 * m * np.maximum(ss, 0.0) / w * dd) + 2.0 / 3.0 * dd * m

    def _cut(self) -> bool:
        """Drop the oldest bucket while some cut is significant; True if any was dropped."""
        dropped = False
        mwl = self.min_window_length
        while True:
            sizes, tots, ss = self._buckets()
            n0, u0 = np.cumsum(sizes), np.cumsum(tots)
            w, total = n0[-1], u0[-1]
            n0, u0 = n0[:-1], u0[:-1]
            n1, u1 = w - n0, total - u0
            ok = (n0 >= mwl) & (n1 >= mwl)
            if not ok.any():
                return dropped
            n0, n1, u0, u1 = n0[ok], n1[ok], u0[ok], u1[ok]
            if not (np.abs(u0 / n0 - u1 / n1) > self._eps(n0, n1, ss, w)).any():
                return dropped
            top = len(self._tot) - 1  # delete the oldest bucket
            self._tot[top], self._var[top] = self._tot[top][1:], self._var[top][1:]
            self.width -= 2**top
            if not len(self._tot[top]):
                self._tot.pop()
                self._var.pop()
            dropped = True

    def _first_alarm(self, x: np.ndarray) -> int | None:
        """How many of ``x`` to insert before the first check that may find a cut, or None.

        Without cuts the buckets after each insertion follow from counts alone: row r of the
        histogram is a contiguous run of its old buckets and the ones it receives, and the
        checks at every ``clock`` rows are evaluated at once from prefix sums. The test is
        slightly generous (relative 1e-7), so a check it passes is then done exactly by
        ``_cut`` on the real buckets: it prunes work, it never decides."""
        w_old, mwl, big = self.width, self.min_window_length, self.max_buckets
        tau = np.arange(self.clock - self._tick % self.clock, len(x) + 1, self.clock)
        tau = tau[w_old + tau > self.grace_period]
        if not len(tau) or w_old + tau[-1] < 2 * mwl:
            return None
        shift = x[0] if not w_old else self.get()
        cy = np.concatenate(([0.0], np.cumsum(x - shift)))
        cq = np.concatenate(([0.0], np.cumsum((x - shift) ** 2)))
        if w_old:
            sizes, tots, ss_old = self._buckets()
            old_pos = np.cumsum(sizes) - w_old
            old_sum = np.cumsum(tots - shift * sizes)
            s_old = old_sum[-1]
        else:
            old_pos, old_sum, ss_old, s_old = np.zeros(1), np.zeros(1), 0.0, 0.0
        cy += s_old
        q, start, col = tau.astype(np.int64), 0, np.arange(big)
        ends, live = [], []
        for r in range(64):
            c = len(self._tot[r]) if r < len(self._tot) else 0
            if not c and not q.any():
                break
            over = c + q - big
            carry = np.where(over > 0, (over + 1) // 2, 0)
            count = c + q - 2 * carry
            start -= c * 2**r
            idx = 2 * carry[:, None] + col
            ends.append(start + 2**r * (idx + 1))
            live.append(col < count[:, None])
            q = carry
        b = np.concatenate(ends, axis=1)
        w = (w_old + tau).astype(float)[:, None]
        n0, n1 = b + w_old, tau[:, None] - b
        ok = np.concatenate(live, axis=1) & (n0 >= mwl) & (n1 >= mwl)
        at_old = old_sum[np.clip(np.searchsorted(old_pos, b), 0, len(old_pos) - 1)]
        u0 = np.where(b > 0, cy[np.clip(b, 0, len(x))], at_old)
        u1 = cy[tau][:, None] - u0
        m_new = (cy[tau] - s_old) / tau
        ss = ss_old + cq[tau] - (cy[tau] - s_old) ** 2 / tau
        ss = ss + w_old * tau / w[:, 0] * (s_old / max(w_old, 1) - m_new) ** 2
        n0, n1 = np.where(ok, n0, 2 * mwl), np.where(ok, n1, 2 * mwl)
        diff = np.abs(u0 / n0 - u1 / n1)
        slack = 1e-9 * (np.abs(u0 / n0) + np.abs(u1 / n1))
        eps = self._eps(n0, n1, ss[:, None], w) * (1 - 1e-7) - slack
        hit = (ok & (diff > eps)).any(axis=1)
        return int(tau[np.argmax(hit)]) if hit.any() else None


class _Restarting:
    """Detectors that start afresh after a drift: each ``_scan`` takes a block at once, up to
    and including its first drift, and returns (last row used, drift?)."""

    def update(self, values) -> np.ndarray:
        """Add a batch of values; return the positions (in it) where a drift was detected."""
        x = self._check(_values(values, type(self).__name__))
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


def _make(method: str, params: dict):
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
