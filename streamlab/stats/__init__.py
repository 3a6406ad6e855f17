"""Mergeable streaming sketches, updated a whole batch at a time with numpy and pandas.

Like everything in streamlab's algorithm layer they know nothing of streams: ``update(batch)``
takes an array or a Series, ``merge(other)`` combines two sketches of parts of a stream, and
they pickle and ``copy()``.

- :class:`KLL`: quantiles and ranks (normalized rank error under 1 % with the default k=600).
- :class:`HyperLogLog`: distinct count (0.81 % standard error with the default p=14).
- :class:`SpaceSaving`: heavy hitters / top-k with per-item error bounds.

Examples
--------
>>> import pandas as pd
>>> batch = pd.DataFrame({"user": ["a", "b", "a", "c"], "ms": [12.0, 30.5, 8.1, 17.2]})
>>> q, users, top = KLL(), HyperLogLog(), SpaceSaving(capacity=10)
>>> q.update(batch["ms"]); users.update(batch["user"]); top.update(batch["user"])
>>> q.quantile(0.5), users.count(), top.top(1)["item"].tolist()
(12.0, 3, ['a'])
"""

from __future__ import annotations

from .distinct import HyperLogLog as HyperLogLog
from .heavy import SpaceSaving as SpaceSaving
from .quantiles import KLL as KLL

__all__ = ["KLL", "HyperLogLog", "SpaceSaving"]
