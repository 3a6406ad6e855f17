"""Heavy hitters: a mergeable frequency summary, updated with a batch's ``value_counts``.

Each batch is counted exactly (``value_counts``) and merged into the summary as in the mergeable
Misra-Gries summaries of Agarwal et al. ("Mergeable summaries", PODS 2012): counts are added,
and when more than ``capacity`` counters remain, the ``(capacity + 1)``-th largest count is
subtracted from every counter and the ones that are no longer positive are dropped. Each such
step removes at least ``(capacity + 1)`` times what it subtracts, so the total subtracted, ``D``,
never exceeds ``n / (capacity + 1)``; an item that is not kept occurred at most ``D`` times,
hence every item with frequency above ``n / capacity`` is kept.

Per item we keep three numbers. ``lower``, the Misra-Gries counter that the subtractions act on
and that decides what is dropped. ``count``, an upper bound of the item's frequency as in
SpaceSaving: the occurrences counted since the item (re)entered plus ``D`` at that time (what
it may have lost before); subtractions do not change it. ``error``, that ``D`` at entry, so
``count - error <= f <= count`` for the true frequency ``f``. An item kept since its first
occurrence has its exact count and ``error == 0``. Merging adds the three numbers; an item
missing on one side gets that side's ``D`` added to ``count`` and ``error``. Since
``count - lower`` never exceeds ``D``, ``error <= D <= n / (capacity + 1)``.

Examples
--------
>>> ss = SpaceSaving(capacity=2)
>>> ss.update(["a", "b", "a", "c", "a", "b"])
>>> ss.top()
  item  count  error
0    a      3      0
1    b      2      0

"c" was dropped: it occurred at most ``dropped`` times. A new item may have been one of those.
Counters tied at the cut are dropped too, so fewer than ``capacity`` may remain:

>>> ss.dropped
1
>>> ss.update(["c", "d"])
>>> ss.top()
  item  count  error
0    a      3      0
>>> ss.dropped
2
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from ..core.checks import check_number
from ..errors import ConfigError

__all__ = ["SpaceSaving"]


class SpaceSaving:
    """Mergeable top-k / heavy hitters with at most ``capacity`` counters.

    Guarantees, for ``n`` items seen: every item with true frequency above
    ``n / (capacity + 1)`` is in ``top()``, and for every listed item
    ``count - error <= true frequency <= count`` with ``error <= n / (capacity + 1)``.

    Parameters
    ----------
    capacity
        Maximum number of counters kept, at least 1. To find every item above a share ``phi``
        of the stream use ``capacity >= 1 / phi``; memory is one item and two ints per counter.

    Attributes
    ----------
    n : int
        Number of non-missing items seen.
    nan : int
        Number of missing items (NaN, None, NA) seen and ignored, as ``value_counts`` does.
    items, lower, count, error : numpy.ndarray
        The kept counters (at most ``capacity``): each item, its Misra-Gries counter, its
        frequency upper bound and how far that may be above the truth (see module notes).
    dropped : int
        ``D``: total subtracted from the counters so far; an item not in ``top()`` occurred
        at most this many times.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = SpaceSaving(capacity=50), SpaceSaving(capacity=50)
    >>> a.update(rng.zipf(1.5, 100_000))
    >>> b.update(rng.zipf(1.5, 100_000))
    >>> top = a.merge(b).top(3)
    >>> top["item"].tolist()
    [1, 2, 3]
    >>> bool((top["error"] <= a.n / 51).all())
    True
    >>> SpaceSaving(capacity=0)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: capacity must be >= 1, not 0; use capacity=1000 to keep every item above 0.1% of the stream
    """

    def __init__(self, *, capacity: int = 1000) -> None:
        self.capacity = int(
            check_number(
                "capacity",
                capacity,
                low=1,
                integer=True,
                fix="use capacity=1000 to keep every item above 0.1% of the stream",
            )
        )
        self.n = 0
        self.nan = 0
        self.dropped = 0
        self.items: np.ndarray = np.empty(0, dtype=object)
        self.lower = np.empty(0, dtype=np.int64)
        self.count = np.empty(0, dtype=np.int64)
        self.error = np.empty(0, dtype=np.int64)

    def _fold(self, items, lower, count, error, dropped: int) -> None:
        """Add another summary's counters (distinct ``items``) to ours, then cut to capacity."""
        if not len(self.items):
            new = [items, lower, count + self.dropped, error + self.dropped]
        else:
            # An item missing on one side may have occurred up to that side's ``dropped`` times.
            pos = pd.Index(self.items).get_indexer(items)
            at, fresh = pos[pos >= 0], pos < 0
            new = [self.items, self.lower.copy(), self.count + dropped, self.error + dropped]
            new[1][at] += lower[~fresh]
            new[2][at] += count[~fresh] - dropped
            new[3][at] += error[~fresh] - dropped
            extra = [items, lower, count + self.dropped, error + self.dropped]
            new = [
                np.concatenate([mine, theirs[fresh]])
                for mine, theirs in zip(new, extra, strict=True)
            ]
        self.dropped += dropped
        if len(new[0]) > self.capacity:
            lows = new[1]
            cut = int(np.partition(lows, len(lows) - self.capacity - 1)[-self.capacity - 1])
            keep = lows > cut
            new = [a[keep] for a in new]
            new[1] -= cut
            self.dropped += cut
        self.items, self.lower, self.count, self.error = new

    def update(self, values: Any) -> None:
        """Count a batch of hashable items (array, Series, list); missing ones go to ``nan``."""
        if isinstance(values, pd.Series):
            s = values
        else:
            s = pd.Series(values.ravel() if isinstance(values, np.ndarray) else values)
        counts = s.value_counts(dropna=True, sort=False)
        counts = counts[counts.to_numpy() > 0]  # a categorical lists unused categories
        seen = int(counts.sum())
        self.nan += len(s) - seen
        self.n += seen
        if seen:
            exact = counts.to_numpy(np.int64)
            self._fold(counts.index.to_numpy(), exact, exact, np.zeros_like(exact), 0)

    def merge(self, other: SpaceSaving) -> SpaceSaving:
        """Fold ``other`` into this summary (in place) and return ``self``; ``other`` is unchanged.

        Both must have the same ``capacity``; the result has the guarantees for the combined
        stream.
        """
        if not isinstance(other, SpaceSaving):
            raise ConfigError(f"other must be a SpaceSaving, not {type(other).__name__}")
        if other.capacity != self.capacity:
            raise ConfigError(
                f"other.capacity={other.capacity} does not match capacity={self.capacity}; "
                "merge summaries built with the same capacity"
            )
        self.n += other.n
        self.nan += other.nan
        self._fold(other.items, other.lower, other.count, other.error, other.dropped)
        return self

    def top(self, k: int | None = None) -> pd.DataFrame:
        """The ``k`` items with the largest ``count`` (all counters if ``None``).

        Columns: ``item``, ``count`` (upper bound of the true frequency) and ``error`` (how
        much ``count`` may exceed it), sorted by ``count`` descending, then ``error`` ascending.
        """
        if k is not None:
            k = int(
                check_number("k", k, low=0, integer=True, fix="or pass k=None for every counter")
            )
        order = np.lexsort((self.error, -self.count))[:k]
        return pd.DataFrame(
            {"item": self.items[order], "count": self.count[order], "error": self.error[order]}
        )

    def copy(self) -> SpaceSaving:
        """An independent copy."""
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        return (
            f"SpaceSaving(capacity={self.capacity}, n={self.n}, nan={self.nan}, "
            f"counters={len(self.items)}, dropped={self.dropped})"
        )
