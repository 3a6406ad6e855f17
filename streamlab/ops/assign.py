"""Window assignment: which window(s) each row belongs to, on int64 nanoseconds.

- :class:`TimeWindows`: tumbling (``slide == size``) and sliding windows of event time,
  starting at multiples of ``slide`` since the Unix epoch (UTC);
- :func:`merge_sessions`: session windows, a key's rows less than ``gap`` apart (merged with
  the sessions still open);
- :class:`CountWindows`: each key's rows in arrival order, ``size`` at a time.

Integer arithmetic only (see ``nstime.py``): bounds are exact over the whole ``datetime64[ns]``
range, before 1970 and past 2**53 ns. Plain numpy and pandas: no streamz, no asyncio.

Examples
--------
>>> import numpy as np
>>> w = TimeWindows(size=10, slide=5)
>>> rows, starts = w.pairs(np.array([-1, 7], dtype="int64"))
>>> rows.tolist(), starts.tolist()  # -1 lies in [-5, 5) and [-10, 0)
([0, 0, 1, 1], [-5, -10, 5, 0])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.batch import concat_rows
from .nstime import FIRST, NAT, check_windows, edges, floor_to, sub_sat

__all__ = ["CountWindows", "TimeWindows", "merge_sessions"]


class TimeWindows:
    """Windows of ``size`` ns every ``slide`` ns (``slide <= size``; equal: tumbling).

    Examples
    --------
    >>> import numpy as np
    >>> day = 86_400 * 10**9
    >>> w = TimeWindows(size=day)
    >>> t = np.array([2**62 + 1], dtype="int64")  # 2116: far past 2**53 ns, exact
    >>> int(w.starts(t)[0]) == (2**62 + 1) // day * day
    True
    >>> w.runs(np.array([0, 1, day, day + 5], dtype="int64"))
    (array([0, 2]), array([             0, 86400000000000]))
    """

    def __init__(self, size: int, slide: int | None = None) -> None:
        self.size = int(size)
        self.slide = self.size if slide is None else int(slide)
        #: how many windows hold each time
        self.per = -(-self.size // self.slide)

    def check(self, t: np.ndarray) -> None:
        """Refuse (ConfigError) times whose windows ``datetime64[ns]`` cannot hold."""
        check_windows(t.min(), t.max(), self.size, self.slide)

    def starts(self, t: np.ndarray) -> np.ndarray:
        """The start of the (newest) window holding each time."""
        return floor_to(t, self.slide)

    def ends(self, starts: np.ndarray) -> np.ndarray:
        """The end of each window (``check`` made sure it is <= LAST)."""
        return starts + self.size

    def pairs(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (row, window start) pair: row ``i`` of ``t`` lies in ``[start, start + size)``
        (each row ``per`` times at most, newest window first)."""
        # the k-th window back from the one the row falls in; `check` made sure the windows
        # that hold a row start at or after 1677-09-21 and end by 2262-04-11, so only pairs
        # that cannot hold the row could wrap: skipped
        rows = np.repeat(np.arange(len(t)), self.per)
        back = np.tile(np.arange(self.per, dtype="int64"), len(t)) * self.slide
        floor = floor_to(t, self.slide)[rows]
        fits = floor >= FIRST + back
        starts = floor - np.where(fits, back, 0)
        inside = fits & (starts + self.size > t[rows])
        return rows[inside], starts[inside]

    def runs(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """For time-ordered rows in tumbling windows, where each window's rows begin and that
        window's start, by binary search over the window edges (as pandas ``resample`` does);
        ``None`` when the batch is too sparse for that to pay."""
        first, last = int(floor_to(t[0], self.slide)), int(floor_to(t[-1], self.slide))
        if (last - first) // self.slide > len(t):  # Python ints: the span may exceed int64
            return None
        bounds = edges(first, last, self.slide)  # integers: np.arange would lose the last one
        pos = np.searchsorted(t, bounds)
        used = np.diff(np.append(pos, len(t))) > 0
        return pos[used], bounds[used]

    def kept(self, starts: np.ndarray, watermark: int | None, retain: int) -> np.ndarray:
        """Which windows a late row may still update: ``end + retain > watermark``
        (written without wrap-around)."""
        wm = NAT if watermark is None else watermark
        return starts + self.size > sub_sat(wm, retain, lowest=NAT)


def merge_sessions(
    old_first: np.ndarray,
    old_last: np.ndarray,
    old_keys: list[np.ndarray],
    t: np.ndarray,
    keys: list[np.ndarray],
    gap: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Session starts after adding rows (times ``t``, keys ``keys``) to the open sessions
    (``old_first``/``old_last``/``old_keys``, one entry per session): a key's session goes on
    while its intervals come less than ``gap`` apart. Returns the start of the session of
    each row, and the old sessions (their positions, in order of key and first time) with
    their new starts (sessions that the rows join get one start).

    Examples
    --------
    >>> import numpy as np
    >>> i = lambda *v: np.array(v, dtype="int64")
    >>> rows, old, old_start = merge_sessions(i(0), i(4), [], i(12, 6, 30), [], gap=5)
    >>> rows.tolist(), old.tolist(), old_start.tolist()  # 6 joins [0, 4]; 12 is 6 after 6
    ([12, 0, 30], [0], [0])
    """
    # intervals: existing sessions (first, last) and new rows (t, t); sort; a new session
    # starts where an interval begins at least `gap` after everything before it (per key)
    names = [f"_k{i}" for i in range(len(keys))]
    rows = pd.DataFrame({"_first": t, "_last": t, "_src": np.arange(len(t))})
    for name, k in zip(names, keys, strict=True):
        rows[name] = k
    if len(old_first):
        old = pd.DataFrame({"_first": old_first, "_last": old_last})
        for name, k in zip(names, old_keys, strict=True):
            old[name] = k
        old["_src"] = -1 - np.arange(len(old))
        both = concat_rows([old, rows], ignore_index=True)
    else:
        both = rows
    both = both.sort_values([*names, "_first"], kind="stable", ignore_index=True)
    # in int64 throughout (a shift to float would round nanoseconds past 2**53)
    first = both["_first"].to_numpy(dtype="int64")
    group = (
        both.groupby(names, sort=False, dropna=False).ngroup().to_numpy()
        if names
        else np.zeros(len(both), dtype="int64")
    )
    reach = both["_last"].groupby(group, sort=False).cummax().to_numpy(dtype="int64")
    new = np.ones(len(both), dtype=bool)  # a key's first interval starts a session
    gone = sub_sat(first[1:], gap, lowest=NAT) >= reach[:-1]  # first >= reach + gap
    new[1:] = (group[1:] != group[:-1]) | gone
    sid = np.cumsum(new)
    start = pd.Series(first).groupby(sid).min()
    src = both["_src"].to_numpy()
    row_start = np.empty(len(t), "int64")
    mine = src >= 0
    row_start[src[mine]] = start.loc[sid[mine]].to_numpy()
    return row_start, -1 - src[~mine], start.loc[sid[~mine]].to_numpy()


class CountWindows:
    """Tumbling windows of ``size`` rows per key, in arrival order: window ``n`` of a key holds
    its rows ``n * size`` to ``(n + 1) * size - 1``. Keeps each key's row count (``counts``).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> cw = CountWindows(2)
    >>> batch = lambda keys: pd.DataFrame({"k": list(keys)})
    >>> cw.assign(batch("aab")).tolist(), cw.assign(batch("ab")).tolist()
    ([0, 0, 0], [1, 0])
    >>> CountWindows(2).assign_rows(5).tolist()
    [0, 0, 1, 1, 2]
    """

    def __init__(self, size: int) -> None:
        self.size = int(size)
        self.counts: pd.Series | None = None  # rows so far per key (one entry without keys)

    def assign(self, keys: pd.DataFrame) -> np.ndarray:
        """The window number of each row of a batch (``keys``: its key columns)."""
        names = list(keys.columns)
        pos = keys.groupby(names, sort=False, dropna=False).cumcount().to_numpy()
        if self.counts is not None:
            rows = pd.MultiIndex.from_frame(keys) if len(names) > 1 else pd.Index(keys[names[0]])
            base = self.counts.reindex(rows).fillna(0).to_numpy()
        else:
            base = np.zeros(len(keys))
        total = keys.groupby(names, sort=False, dropna=False).size()
        prev = self.counts if self.counts is not None else pd.Series(dtype="int64")
        self.counts = total.add(prev, fill_value=0).astype("int64")
        return ((base + pos) // self.size).astype("int64")

    def assign_rows(self, n: int) -> np.ndarray:
        """The window number of each of ``n`` rows (no keys: one count for the stream)."""
        base = 0 if self.counts is None else int(self.counts.iloc[0])
        self.counts = pd.Series([base + n], dtype="int64")
        return ((base + np.arange(n)) // self.size).astype("int64")
