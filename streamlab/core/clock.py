"""One injectable clock for pacing, lag, backoff, pause accounting and refresh cadence.

Sources (``clock=`` on every one), ``to_tcp``'s reconnect backoff and the dashboard's
refresher ask a clock for the time and sleep on it, instead of calling ``time`` or
``asyncio.sleep`` themselves. The default, :data:`LOOP_CLOCK`, is the running event loop's
clock (``loop.time()``, ``asyncio.sleep``). A test passes a :class:`ManualClock`, whose time
moves only when the test calls ``advance(seconds)``: pacing, lag and pause can then be checked
exactly, and no test has to wait in real time for something to become due.

What a clock does not govern: yielding to the loop (``asyncio.sleep(0)``, which is about
sharing the loop, not about time) and the bounds that stop a broken wait from hanging
(:func:`wait_until`'s ``timeout``, ``wait_rows(timeout=)``), which are real time on purpose.

Examples
--------
>>> import asyncio
>>> async def main():
...     clock = ManualClock()
...     woke = []
...     async def nap(name, seconds):
...         await clock.sleep(seconds)
...         woke.append((name, clock.now()))
...     tasks = [asyncio.ensure_future(nap("b", 2.0)), asyncio.ensure_future(nap("a", 1.0))]
...     await clock.wait_for_sleepers(2)
...     clock.advance(1.5)  # "a" is due, "b" is not
...     await wait_until(lambda: woke)
...     first = list(woke)
...     clock.advance(0.5)
...     await asyncio.gather(*tasks)
...     return first, woke
>>> asyncio.run(main())
([('a', 1.5)], [('a', 1.5), ('b', 2.0)])
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Callable
from typing import Any, cast

from ..errors import ConfigError

__all__ = ["LOOP_CLOCK", "Clock", "ManualClock", "resolve_clock", "wait_until"]

#: ``sleep_until`` waits the last stretch before a deadline by yielding to the loop, not by a
#: timer: the selector's timeout is rounded up to whole milliseconds.
_SPIN = 0.0015


class Clock:
    """The running event loop's clock: the default of every source and of the dashboard.

    ``now()`` is the loop's monotonic time (``time.monotonic()`` when no loop runs, which is
    the clock asyncio's loops read); ``wall()`` is epoch seconds (``time.time()``), used only
    for a live source's lag; ``sleep`` is ``asyncio.sleep``; ``sleep_until`` wakes at its
    deadline to a fraction of a millisecond (it yields to the loop for the last stretch).

    Examples
    --------
    >>> import asyncio
    >>> async def main():
    ...     t0 = LOOP_CLOCK.now()
    ...     await LOOP_CLOCK.sleep_until(t0 + 0.01)
    ...     return LOOP_CLOCK.now() >= t0 + 0.01
    >>> asyncio.run(main())
    True
    """

    def now(self) -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

    async def sleep_until(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        left = deadline - loop.time()
        if left > _SPIN:
            await asyncio.sleep(left - _SPIN)
        while loop.time() < deadline:
            await asyncio.sleep(0)

    def __repr__(self) -> str:
        return "LOOP_CLOCK"


#: The default clock (the running loop's).
LOOP_CLOCK = Clock()


class ManualClock(Clock):
    """A clock for tests: its time moves only when ``advance(seconds)`` is called.

    ``advance`` wakes every sleeper whose deadline it reaches, earliest first (ties in the
    order they went to sleep); the woken tasks run when the caller next yields to the loop,
    and they read ``now()`` as the advanced time. ``wait_for_sleepers(n)`` waits until ``n``
    tasks sleep on the clock: the way a test knows that the tasks it woke have done their work
    and wait again. Time is kept in integer nanoseconds, so ``advance(9.9)`` then
    ``advance(0.1)`` lands exactly on 10 s. ``wall()`` starts at ``wall`` (epoch seconds,
    default 2026-01-01T00:00:00Z) and moves with ``now()``.

    Examples
    --------
    >>> clock = ManualClock(start=100.0)
    >>> clock.advance(9.9); clock.advance(0.1)
    >>> clock.now(), clock.wall() - clock.now()
    (110.0, 1767225500.0)
    >>> clock.advance(-1)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: seconds must be a finite number >= 0, not -1; time only moves forward, e.g. advance(0.5)
    """

    def __init__(self, start: float = 0.0, *, wall: float = 1_767_225_600.0) -> None:
        self._ns = _to_ns("start", start)
        self._wall_offset_ns = _to_ns("wall", wall) - self._ns
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._ns / 1e9

    def wall(self) -> float:
        return (self._wall_offset_ns + self._ns) / 1e9

    async def sleep(self, seconds: float) -> None:
        await self._sleep_ns(self._ns + max(_to_ns("seconds", seconds, allow_negative=True), 0))

    async def sleep_until(self, deadline: float) -> None:
        await self._sleep_ns(_to_ns("deadline", deadline, allow_negative=True))

    async def _sleep_ns(self, due: int) -> None:
        if due <= self._ns:
            await asyncio.sleep(0)  # due already: only let others run, as asyncio.sleep(0) does
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (due, next(self._order), future))
        try:
            await future
        finally:
            if not future.done():  # cancelled while asleep: no longer a sleeper
                future.cancel()
            self._sleepers = [s for s in self._sleepers if not s[2].done()]
            heapq.heapify(self._sleepers)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` and wake the sleepers that became due, in order."""
        target = self._ns + _to_ns(
            "seconds", seconds, fix="time only moves forward, e.g. advance(0.5)"
        )
        while self._sleepers and self._sleepers[0][0] <= target:
            due, _, future = heapq.heappop(self._sleepers)
            self._ns = max(self._ns, due)
            if not future.done():
                future.set_result(None)
        self._ns = target

    @property
    def sleepers(self) -> int:
        """How many tasks sleep on this clock now."""
        return sum(not s[2].done() for s in self._sleepers)

    @property
    def next_due(self) -> float | None:
        """When the earliest sleeper wakes (``None`` if none sleeps)."""
        due = [s[0] for s in self._sleepers if not s[2].done()]
        return min(due) / 1e9 if due else None

    async def wait_for_sleepers(self, n: int = 1, *, timeout: float = 30.0) -> None:
        """Wait until at least ``n`` tasks sleep on this clock (``timeout``: real seconds,
        a bound that only stops a broken test from hanging)."""
        await wait_until(
            lambda: self.sleepers >= n, timeout=timeout, what=f"{n} sleeper(s) on {self!r}"
        )

    def __repr__(self) -> str:
        return f"ManualClock(now={self.now()!r}, sleepers={self.sleepers})"


def resolve_clock(clock: Any = None) -> Clock:
    """``clock`` if it is a clock, :data:`LOOP_CLOCK` for ``None``; anything else is refused.

    Examples
    --------
    >>> resolve_clock(None) is LOOP_CLOCK, type(resolve_clock(ManualClock())).__name__
    (True, 'ManualClock')
    >>> resolve_clock(12)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: clock must be a clock with now(), wall() and async sleep(seconds), not 12; pass clock=None for the event loop's clock, or clock=ManualClock() in a test
    """
    if clock is None:
        return LOOP_CLOCK
    if all(callable(getattr(clock, m, None)) for m in ("now", "wall", "sleep", "sleep_until")):
        return cast(Clock, clock)
    raise ConfigError(
        f"clock must be a clock with now(), wall() and async sleep(seconds), not {clock!r}; "
        "pass clock=None for the event loop's clock, or clock=ManualClock() in a test"
    )


async def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout: float = 30.0,
    what: str = "the condition",
    poll: float = 0.005,
) -> Any:
    """Wait on the running loop until ``predicate()`` is truthy; return its value.

    ``timeout`` (real seconds) only stops a wait that would never end: it raises
    ``TimeoutError`` naming ``what``. Use it in notebooks and tests instead of sleeping a
    guessed time and then looking.

    Examples
    --------
    >>> import asyncio, streamlab
    >>> async def main():
    ...     src = streamlab.generate("sine", rows=5000, batch_rows=500)
    ...     seen = src.sink_to_list()
    ...     src.start()
    ...     await wait_until(lambda: len(seen) >= 3, what="three batches")
    ...     src.stop()
    ...     await src.wait()
    ...     return len(seen) >= 3
    >>> asyncio.run(main())
    True
    >>> asyncio.run(wait_until(lambda: False, timeout=0.01, what="nothing"))
    Traceback (most recent call last):
    ...
    TimeoutError: timed out after 0.01 s waiting for nothing
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (value := predicate()):
        if loop.time() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(poll)
    return value


def _to_ns(name: str, seconds: Any, *, allow_negative: bool = False, fix: str = "") -> int:
    try:
        ok = math.isfinite(seconds) and (allow_negative or seconds >= 0)
    except TypeError:
        ok = False
    if not ok or isinstance(seconds, bool):
        limit = "" if allow_negative else " >= 0"
        raise ConfigError(
            f"{name} must be a finite number{limit}, not {seconds!r}" + (f"; {fix}" if fix else "")
        )
    return round(float(seconds) * 1e9)
