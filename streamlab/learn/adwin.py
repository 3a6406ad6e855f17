"""ADWIN, the adaptive-window drift detector (Bifet & Gavaldà 2007), a batch at a time.

Plain numpy, River's protocol (``update(values)`` returns the positions in the batch where a
drift was detected; ``get()`` the window's mean). The other detectors and the table of them
are in :mod:`streamlab.learn.detectors`.
"""

from __future__ import annotations

import numpy as np

from ..core.checks import check_number
from ..errors import ConfigError

__all__ = ["ADWIN", "finite_values"]


def finite_values(values: object, name: str) -> np.ndarray:
    """``values`` as a flat float64 array; NaN or infinite values are refused."""
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
        x = finite_values(values, "ADWIN")
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
