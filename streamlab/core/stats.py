"""Per-source counters: what came in, what was bad, what was dropped, how far behind we are."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Stats", "StepStats"]


@dataclass
class StepStats:
    """Base of every step's and source's counters: a dataclass whose fields are the counters.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class WindowCounts(StepStats):
    ...     fired: int = 0
    >>> WindowCounts(fired=2).as_dict()
    {'fired': 2}
    """

    def as_dict(self) -> dict[str, Any]:
        """The counters as a plain dict (for a table, JSON or a status line)."""
        return asdict(self)


@dataclass
class Stats(StepStats):
    """Counters every source keeps. All are cumulative since the source was created.

    ``lag`` is how far behind the source is, in seconds, as of its latest batch: for a live
    source, how long the batch's oldest record waited between its arrival and its emit; for
    a replay, how far behind its own schedule (the event time it should be at, at this speed)
    it emitted; ``None`` when unknown. ``age`` (live sources with an event-time column) is
    the wall clock minus the newest event time emitted: how old the data is, which says
    something only where the sender stamps event times live.

    Examples
    --------
    >>> s = Stats()
    >>> s.count_batch(rows=3, nbytes=42)
    >>> s.rows, s.batches, s.bytes
    (3, 1, 42)
    >>> s.as_dict()["bad"]
    0
    """

    rows: int = 0
    batches: int = 0
    bytes: int = 0
    bad: int = 0
    dropped: int = 0
    lag: float | None = None
    age: float | None = None
    connections: int = 0
    disconnects: int = 0
    reconnects: int = 0
    schema_changes: int = 0
    started_at: float | None = field(default=None, repr=False)

    def count_batch(self, *, rows: int, nbytes: int = 0) -> None:
        self.rows += rows
        self.batches += 1
        self.bytes += nbytes

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("started_at")
        d["rows_per_s"] = self.rows_per_s()
        return d

    def rows_per_s(self) -> float | None:
        if self.started_at is None:
            return None
        elapsed = time.monotonic() - self.started_at
        return self.rows / elapsed if elapsed > 0 else None
