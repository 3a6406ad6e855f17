"""Sources that emit frames paced by their event-time column: replays and generators.

``speed=1`` reproduces the recorded gaps, ``speed=10`` is ten times faster, ``speed=0`` runs
as fast as the pipeline takes it. Rows due at the same moment leave as one batch, so a dense
recording at high speed gives big batches and a sparse one gives single rows. Pause, step and
speed changes re-anchor the clock: nothing bursts out to "catch up" after a pause.

The schedule is read from the source's ``clock`` (``streamlab.core.clock``): the event loop's
by default, a ``ManualClock`` in tests, where a row 10 s after the previous one at ``speed=1``
leaves exactly when the test has advanced the clock by 10 s. A pipeline slower than the pace
falls behind (``stats.lag`` says by how much) but never holds the loop: the source yields after
every batch (``BatchSource.emit_batch``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..core.batch import as_ns
from ..core.checks import check_number
from ..core.deadletter import DeadLetter
from ..core.params import Param, Tunable
from ..core.source import BatchSource

__all__ = ["PacedSource"]

#: Sleep in slices no longer than this, so pause and speed changes take effect promptly.
_SLICE = 0.05
#: Closer than this to its due time, a row is due (float rounding of the schedule).
_DUE = 1e-9


class PacedSource(Tunable, BatchSource):
    """Base class: subclasses implement ``_frames()`` yielding ``(frame, nbytes, dead)``."""

    def __init__(
        self, *, speed: float, time_column: str | None, max_rows: int, stream_name=None, clock=None
    ) -> None:
        super().__init__(stream_name=stream_name, clock=clock)
        self.time_column = time_column
        self.max_rows = int(check_number("max_rows", max_rows, low=1, integer=True))
        self._speed = self._check_speed(speed)
        self._anchor: tuple[float, int] | None = None  # (clock time, event ns) at last re-anchor

    @staticmethod
    def _check_speed(speed) -> float:
        return float(
            check_number(
                "speed",
                speed,
                low=0,
                fix="use speed=1 for the recorded timing, speed=10 for ten times faster, "
                "speed=0 for as fast as possible",
            )
        )

    @property
    def speed(self) -> float:
        """Replay speed; may be changed while running (takes effect from the next row)."""
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        self._speed = self._check_speed(value)
        self._anchor = None
        if self._wake is not None:
            self._wake.set()

    def params(self) -> dict[str, Param]:
        return {
            "speed": Param(
                "speed",
                help="replay speed: 1 = recorded timing, 10 = ten times faster, "
                "0 = as fast as possible",
                low=0,
                log=True,
                span=(0.01, 1_000_000),  # log: eight decades; a value set beyond widens it
                fix="use speed=0 for as fast as possible",
            )
        }

    def _lag(self, part: pd.DataFrame) -> float | None:
        """How far behind the replay's own clock: now minus when the batch's newest row was
        due at this speed (``None`` at ``speed=0``, where nothing is scheduled). A recording's
        old timestamps are not lag."""
        col = self.time_column
        if self._speed == 0 or self._anchor is None or col is None or not len(part):
            return None
        newest = part[col].iloc[-1]
        if pd.isna(newest):
            return None
        wall0, ev0 = self._anchor
        due = wall0 + (newest.value - ev0) / 1e9 / self._speed
        return max(0.0, self.clock.now() - due)

    def _age(self, newest) -> float | None:
        return None  # a recording's event times are not ages

    def _frames(self) -> Iterator[tuple[pd.DataFrame | None, int, list[DeadLetter]]]:
        raise NotImplementedError

    async def _produce(self) -> None:
        for frame, nbytes, bad in self._frames():
            await self.dead(bad)
            if frame is not None and len(frame):
                await self._pace(frame, nbytes)
            else:
                await asyncio.sleep(0)
            if self.stopped:
                return

    async def _pace(self, df: pd.DataFrame, nbytes: int) -> None:
        n = len(df)
        clock = self.clock
        col = self.time_column
        t = None if col is None else np.maximum.accumulate(as_ns(df[col]))
        i = 0
        share = nbytes / n
        while i < n and not self.stopped:
            if self.paused:
                await self._gate()
                if self.stopped:
                    return
                if self._budget:  # stepping: the next rows, now, whatever their time
                    k = min(self._budget, n - i)
                    await self.emit_batch(df.iloc[i : i + k], nbytes=round(k * share))
                    i += k
                else:
                    pass  # resumed
                self._anchor = None
                continue
            if t is None or self._speed == 0:
                j = min(i + self.max_rows, n)
            else:
                now = clock.now()
                if self._anchor is None:
                    self._anchor = (now, int(t[i]))
                wall0, ev0 = self._anchor
                reached = ev0 + (now - wall0) * self._speed * 1e9
                j = int(np.searchsorted(t, reached, side="right"))
                if j <= i:
                    due = wall0 + (t[i] - ev0) / 1e9 / self._speed
                    if due - now > _DUE:
                        if due - now > _SLICE:  # wake now and then for pause / speed changes
                            await clock.sleep(_SLICE)
                        else:
                            await clock.sleep_until(due)
                        continue
                    j = int(np.searchsorted(t, t[i], side="right"))  # due, up to rounding
                j = min(j, i + self.max_rows)
            await self.emit_batch(df.iloc[i:j], nbytes=round((j - i) * share))  # yields
            i = j
