"""KLL quantile sketch (Karnin, Lang & Liberty 2016), updated a whole batch at a time.

The sketch keeps a stack of *compactors*. Level ``h`` holds items that each stand for ``2**h``
input items. When the sketch holds more items than its total capacity, the lowest level that
is over its capacity is *compacted*: sorted, and every other item (starting at a random
offset) moves up one level with twice the weight; the others are discarded. The top level has
capacity ``k`` and each level below has 2/3 of the one above (at least 2), so the sketch holds
at most about ``3 k`` items plus two per level, whatever ``n``.

Error. For a fixed ``x``, a compaction at level ``h`` changes the estimated rank of ``x`` by
``0`` or ``±2**h`` with a fair random sign. Which compactions happen depends only on ``n`` and
the batch sizes, not on the random offsets, so the error is a martingale with those increments
and Azuma-Hoeffding gives ``P(|error| > eps n) <= 2 exp(-eps**2 n**2 / (2 V))`` with
``V = sum of 4**h over the compactions``.

- A priori: level ``h`` is compacted at most ``n / (2**h cap_h)`` times, with
  ``cap_h >= k (2/3)**(H-h)``, so ``V <= 8 n**2 / k**2`` (normalized standard deviation at most
  ``2.83 / k``). This is loose: it charges every compaction at the smallest capacity its level
  ever had, and a batch larger than a level's capacity is compacted once, not many times.
- Counting the compactions the sketch really does (``n`` from 200,000 to 1,000,000, batches of
  1 to 20,000 items), ``sqrt(V) <= 0.77 n / k``. With a union bound over the 99 quantiles
  0.01..0.99 at 99 % confidence the error is at most ``0.77 sqrt(2 ln(2 * 99 / 0.01)) / k =
  3.42 / k``: 1 % needs ``k >= 343``. The default ``k=600`` gives 0.57 % (0.42 % for a single
  quantile), leaving room for other sizes and batch patterns, in about 1,800 floats (14 KB).
- Measured: uniform, lognormal and sorted input, ``n = 1,000,000`` in batches of 1..200 items,
  100 seeds each; the worst error over all 99 quantiles in those 300 runs was 0.32 % for
  ``k=600`` (median 0.17 %), 0.51 % for ``k=400``, 0.64 % for ``k=300`` and 1.07 % for
  ``k=200``.

Examples
--------
>>> import numpy as np
>>> sk = KLL(seed=1)
>>> sk.update(np.arange(100_000.0))
>>> sk.n, sk.nan
(100000, 0)
>>> abs(sk.quantile(0.5) - 50_000) < 1_000
True
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pandas as pd

from ..core.checks import check_number, shown
from ..errors import ConfigError

__all__ = ["KLL"]

_SHRINK = 2.0 / 3.0  # capacity ratio between a level and the one above


def _as_floats(values: Any) -> np.ndarray:
    """``values`` (array, Series, list or scalar) as a 1-D float64 array; NA becomes NaN."""
    try:
        if isinstance(values, pd.Series | pd.Index):
            arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"values must be numbers, not {type(values).__name__} that fails float conversion "
            f"({exc}); convert first, e.g. pd.to_numeric(values, errors='coerce')"
        ) from None
    return arr.ravel()


def _check_q(q: Any) -> np.ndarray:
    raw = np.asarray(q)
    if raw.dtype.kind not in "iuf":  # True/False, text and objects are not fractions
        raise ConfigError(
            f"q must be a number in [0, 1] (or an array of them), not {shown(q)}; pass a "
            "fraction such as 0.5 for the median"
        )
    qs = raw.astype(np.float64)
    bad = ~((qs >= 0) & (qs <= 1))  # also catches NaN
    if bad.any():
        first = float(qs.ravel()[bad.ravel()][0])
        raise ConfigError(
            f"q must be in [0, 1], not {first!r}; pass a fraction such as 0.5 for the median"
        )
    return qs


class KLL:
    """Mergeable streaming quantiles with normalized rank error about 1/k (see module notes).

    Parameters
    ----------
    k
        Capacity of the top compactor, at least 8. The default 600 keeps the rank error of
        every quantile under 1 % with high probability (bound 0.57 %, measured worst 0.32 %).
    seed
        Seed of the random compaction offsets. Same seed and same batches, same sketch.

    Attributes
    ----------
    n : int
        Number of non-NaN values seen.
    nan : int
        Number of NaN (or NA) values seen and ignored.
    min, max : float
        Exact extremes of the values seen (NaN while empty); ``quantile(0)`` and
        ``quantile(1)`` return them.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = KLL(seed=1), KLL(seed=2)
    >>> a.update(rng.normal(size=50_000))
    >>> b.update(np.r_[rng.normal(size=50_000), np.nan])
    >>> merged = a.merge(b)
    >>> merged.n, merged.nan
    (100000, 1)
    >>> float(np.round(merged.quantile(0.975), 1))
    2.0
    >>> float(np.round(merged.rank(0.0), 2))
    0.5
    >>> merged.quantile([0, 1]).tolist() == [merged.min, merged.max]
    True
    >>> KLL(k=4)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: k must be >= 8, not 4; use k=600 (the default) for rank error well under 1%, or k=200 for about 1% in a third of the memory
    """

    def __init__(self, *, k: int = 600, seed: int = 0) -> None:
        self.k = check_number(
            "k",
            k,
            low=8,
            integer=True,
            fix="use k=600 (the default) for rank error well under 1%, or k=200 for about 1% in a third of the memory",
        )
        self.seed = int(check_number("seed", seed, low=0, integer=True, fix="use seed=0"))
        self.n = 0
        self.nan = 0
        self.min = math.nan
        self.max = math.nan
        self.levels: list[np.ndarray] = [np.empty(0)]
        self.rng = np.random.default_rng(self.seed)

    # -- state ------------------------------------------------------------------------------
    def _capacity(self, h: int) -> int:
        depth = len(self.levels) - 1 - h
        return max(2, math.ceil(self.k * _SHRINK**depth))

    @property
    def retained(self) -> int:
        """Number of items the sketch holds (memory is about ``8 * retained`` bytes)."""
        return sum(len(level) for level in self.levels)

    def _compact(self, h: int) -> None:
        buf = np.sort(self.levels[h])
        odd = len(buf) % 2  # an odd item out stays at this level, unchanged
        if h + 1 == len(self.levels):
            self.levels.append(np.empty(0))
        up = buf[odd + int(self.rng.integers(2)) :: 2]
        self.levels[h] = buf[:odd]
        self.levels[h + 1] = np.concatenate([self.levels[h + 1], up])

    def _compress(self) -> None:
        # Lazy compaction: only while the whole sketch is over its total capacity, and then
        # the lowest over-full level first (fewer, larger compactions mean less error).
        while True:
            size = self.retained
            if size < sum(self._capacity(h) for h in range(len(self.levels))):
                return
            for h in range(len(self.levels)):
                if len(self.levels[h]) >= self._capacity(h):
                    self._compact(h)
                    break

    # -- protocol ---------------------------------------------------------------------------
    def update(self, values: Any) -> None:
        """Add a batch of numbers (array, Series, list or scalar); NaN/NA are counted in ``nan``."""
        x = _as_floats(values)
        ok = ~np.isnan(x)
        x = x[ok]
        self.nan += int(len(ok) - len(x))
        if not len(x):
            return
        self.n += len(x)
        lo, hi = float(x.min()), float(x.max())
        self.min = lo if math.isnan(self.min) else min(self.min, lo)
        self.max = hi if math.isnan(self.max) else max(self.max, hi)
        self.levels[0] = np.concatenate([self.levels[0], x])
        self._compress()

    def merge(self, other: KLL) -> KLL:
        """Fold ``other`` into this sketch (in place) and return ``self``; ``other`` is unchanged."""
        if not isinstance(other, KLL):
            raise ConfigError(f"other must be a KLL, not {type(other).__name__}")
        if other.k != self.k:
            raise ConfigError(
                f"other.k={other.k} does not match k={self.k}; merge sketches built with the same k"
            )
        while len(self.levels) < len(other.levels):
            self.levels.append(np.empty(0))
        for h, level in enumerate(other.levels):
            self.levels[h] = np.concatenate([self.levels[h], level])
        self.n += other.n
        self.nan += other.nan
        self.min = float(np.nanmin([self.min, other.min])) if other.n else self.min
        self.max = float(np.nanmax([self.max, other.max])) if other.n else self.max
        self._compress()
        return self

    def _sorted(self) -> tuple[np.ndarray, np.ndarray]:
        """Retained items in order and the cumulative weight at each (the last is ``n``)."""
        values = np.concatenate(self.levels)
        weights = np.concatenate(
            [np.full(len(level), 2**h, dtype=np.int64) for h, level in enumerate(self.levels)]
        )
        order = np.argsort(values, kind="stable")
        return values[order], np.cumsum(weights[order])

    def quantile(self, q: Any) -> Any:
        """The item whose estimated rank first reaches ``q`` (float, or array for an array ``q``).

        ``q=0`` and ``q=1`` give the exact minimum and maximum. NaN while the sketch is empty.
        """
        qs = _check_q(q)
        if self.n == 0:
            out = np.full(qs.shape, np.nan)
        else:
            values, cum = self._sorted()
            idx = np.searchsorted(cum, qs * self.n, side="left")
            out = values[np.minimum(idx, len(values) - 1)]
            out = np.where(qs == 0, self.min, np.where(qs == 1, self.max, out))
        return float(out) if out.ndim == 0 else out

    def rank(self, x: Any) -> Any:
        """Estimated fraction of the values seen that are ``<= x`` (float, or array; NaN for NaN)."""
        xs = np.asarray(x, dtype=np.float64)
        if self.n == 0:
            out = np.full(xs.shape, np.nan)
        else:
            values, cum = self._sorted()
            idx = np.searchsorted(values, xs, side="right")
            out = np.where(idx > 0, cum[np.maximum(idx - 1, 0)], 0) / self.n
            out = np.where(np.isnan(xs), np.nan, out)
        return float(out) if out.ndim == 0 else out

    def copy(self) -> KLL:
        """An independent copy (random state included)."""
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        return (
            f"KLL(k={self.k}, seed={self.seed}, n={self.n}, nan={self.nan}, "
            f"retained={self.retained}, levels={len(self.levels)})"
        )
