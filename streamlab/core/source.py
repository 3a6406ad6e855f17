"""The base of every streamlab source: a streamz ``Source`` that runs on the running loop.

streamz's own ``Source`` asks for ``ensure_io_loop=True``, which starts a private IOLoop in a
background thread when none is given; that thread is where its notebook bugs come from. A
streamlab source binds to nothing when it is built. ``start()`` schedules it as an asyncio task
on the loop that is running: the kernel's loop in Jupyter, ``asyncio.run`` in ``streamlab.run``
and in tests. Downstream streamz operators that need a loop (``timed_window``, ``rate_limit``)
are told about the same loop when the source starts.

A source never holds the loop for long: it yields to it after every batch it emits, whatever its
pace and however slow the steps below it, so other cells, widgets and the Pause button keep
running. Time (pacing, lag, backoff, pause accounting) comes from the source's ``clock``
(``core.clock``: the loop's by default, a ``ManualClock`` in tests). When a source stops or its
input ends, the sinks below it are released (``core.lifecycle.release``): a stopped pipeline
nobody references is freed, its database closed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sys
import time
import traceback
from typing import Any

import pandas as pd
from streamz import Source, Stream

from ..errors import StateError
from . import graph, lifecycle, streamz_compat
from .batch import time_column
from .checks import check_number
from .clock import resolve_clock
from .deadletter import DeadLetter, dead_letter_frame
from .stats import Stats

__all__ = ["BatchSource"]


class BatchSource(Source):
    """A source of DataFrame batches with ``.errors`` (dead letters) and ``.stats`` (counters).

    Subclasses implement ``async _produce()`` and call ``await self.emit_batch(df)`` and
    ``await self.dead(letters)``; the base class handles start/stop, pause/resume/step,
    back-pressure from asynchronous sinks, yielding to the loop, the notebook lifecycle and
    releasing the pipeline when the source stops. ``clock``: see ``streamlab.core.clock``.

    >>> import pandas as pd, streamlab
    >>> class Countdown(BatchSource):
    ...     async def _produce(self):
    ...         for n in (3, 2, 1):
    ...             await self.emit_batch(pd.DataFrame({"n": [n]}))
    >>> src = Countdown(); got = src.sink_to_list()
    >>> _ = streamlab.run(src)
    >>> [int(df["n"].iloc[0]) for df in got], src.stats.rows
    ([3, 2, 1], 3)
    """

    SIDE_OUTPUTS = ("errors",)

    def __init__(
        self, *, stream_name: str | None = None, keep_errors: int = 1000, clock: Any = None
    ) -> None:
        # Deliberately not Source.__init__: see the module docstring.
        Stream.__init__(self, stream_name=stream_name)
        self.clock = resolve_clock(clock)
        self.stopped = True
        self.started = False
        self.stats = Stats()
        self.errors = Stream(stream_name=f"{stream_name or type(self).__name__}.errors")
        #: the last ``keep_errors`` dead letters, for people who look after the fact
        self.recent_errors: collections.deque[DeadLetter] = collections.deque(maxlen=keep_errors)
        self.exception: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._budget: int | None = None  # None: flowing; n >= 0: paused with n rows to step
        self._wake: asyncio.Event | None = None
        self._paused_at: float | None = None
        self._paused_total = 0.0
        self._holding = False
        self._progress: asyncio.Event | None = None  # set after each batch and at the end
        self._delivered = 0  # rows whose emit has returned (async sinks awaited)
        #: when the oldest record of the batch being emitted arrived (clock.now()); live
        #: sources set it as they read, and ``stats.lag`` is measured from it
        self.arrived: float | None = None
        self._kept_sinks: list[Any] = []  # the sinks below, kept by the source once it stopped
        try:  # built inside a running loop (a notebook cell, a coroutine): bind to it now
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            self._bind_loop()

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> BatchSource:
        """Schedule the source on the running event loop and return it.

        In a notebook cell this uses the kernel's loop and returns at once; the source keeps
        running between cells. Running the same cell again stops what it started before.
        """
        if self.running:
            return self
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise StateError(
                "start() needs a running event loop: in a script call streamlab.run(source); "
                "in Jupyter call start() from a cell; in async code call it from a coroutine"
            ) from None
        for earlier in lifecycle.register(self):
            earlier.stop()
        lifecycle.start_below(self)  # a second start: the steps below start afresh too
        self._prepare()
        self._bind_loop()
        self.stopped = False
        self.started = True
        self.exception = None
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._main(), name=f"streamlab:{self}")
        self._task.add_done_callback(self._report)
        return self

    def _bind_loop(self) -> None:
        """Tell this node (and streamz nodes that ask for ``.loop``) about the running loop."""
        if self.loop is None:
            from tornado.ioloop import IOLoop

            self._inform_loop(IOLoop.current())
            self._inform_asynchronous(True)

    async def _main(self) -> None:
        self.stats.started_at = time.monotonic()  # Stats.rows_per_s reads time.monotonic()
        try:
            await self._produce()
            if not self.stopped:  # the input ended by itself (not stop()): flush what waits
                await flush_downstream(self)
        finally:
            self.stopped = True
            await self._close()

    def _prepare(self) -> None:
        """Synchronous set-up done by ``start()`` (servers bind here, so the port is known
        when ``start()`` returns and a busy port is an error at the call, not later)."""

    async def _produce(self) -> None:
        raise NotImplementedError

    async def _close(self) -> None:
        """Release sockets and files; called once when the source ends, however it ends."""

    def _release(self) -> None:
        """Synchronous last resort, run when the task is done: close what ``_prepare`` opened
        if the task was cancelled before it ever ran (so ``_close`` never did)."""

    def stop(self) -> None:
        """Stop the source: its task is cancelled and its sockets and files are closed."""
        self.stopped = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._wake is not None:
            self._wake.set()

    async def wait(self) -> None:
        """Wait until the source ends; re-raise the error that ended it, if any."""
        task = self._task
        if task is not None:
            # asyncio.wait, not shield: a shield's CancelledError keeps this frame, and the
            # whole pipeline with it, alive after a stop (seen on CPython 3.11)
            await asyncio.wait([task])
            error = None if task.cancelled() else task.exception()
            if error is not None:
                raise error
        if self.exception is not None:
            raise self.exception

    async def wait_rows(self, n: int, *, timeout: float = 30.0) -> int:
        """Wait until ``n`` rows in all have gone through the pipeline below the source (their
        emit returned, asynchronous sinks awaited); return how many have. Raises the error that stopped the source, ``StateError`` if it ended
        with fewer rows, and ``TimeoutError`` after ``timeout`` real seconds (a bound against
        hanging, not a schedule: wait for what you expect instead of sleeping a guessed time).

        Examples
        --------
        >>> import asyncio, streamlab
        >>> async def main():
        ...     src = streamlab.generate("sine", rows=3000, batch_rows=1000).start()
        ...     first = await src.wait_rows(1000)
        ...     try:
        ...         await src.wait_rows(5000)
        ...     except streamlab.StateError as e:
        ...         return first >= 1000, str(e)
        >>> asyncio.run(main())
        (True, "generate('sine') ended after 3000 rows, before 5000; wait for fewer rows, or check src.stats and src.errors")
        """
        check_number("n", n, low=0, integer=True)
        check_number("timeout", timeout, low=0, low_open=True, fix="e.g. timeout=30")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self._progress is None:
            self._progress = asyncio.Event()
        while self._delivered < n:
            if self.exception is not None:
                raise self.exception
            if self.started and not self.running:
                raise StateError(
                    f"{self} ended after {self._delivered} rows, before {n}; wait for fewer "
                    "rows, or check src.stats and src.errors"
                )
            left = deadline - loop.time()
            if left <= 0:
                state = "paused" if self.paused else "running" if self.running else "not started"
                raise TimeoutError(
                    f"{self} emitted {self._delivered} rows in {timeout:g} s, not {n} "
                    f"(it is {state})"
                )
            self._progress.clear()
            with contextlib.suppress(TimeoutError):  # checked at the top of the loop
                await asyncio.wait_for(self._progress.wait(), left)
        return self._delivered

    def _report(self, task: asyncio.Task[None]) -> None:
        current = self._task is task  # else a newer run owns the sockets and the sinks
        if current:
            self._release()
        if not task.cancelled():
            exc = task.exception()
            if exc is not None:
                self.exception = exc
                print(f"streamlab: {self} stopped by an error:", file=sys.stderr)
                traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        if current:
            lifecycle.release(self)
        if self._progress is not None:
            self._progress.set()

    @property
    def buffered(self) -> int:
        """Records received but not emitted yet (held in this process)."""
        return 0

    # -- pause / resume / step --------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._budget is not None

    @property
    def holding(self) -> bool:
        """True while paused with nothing to step and the source waits at its gate: nothing is
        in flight, and no row leaves until ``step()`` or ``resume()``."""
        return self._holding and self._budget == 0

    @property
    def paused_seconds(self) -> float:
        """Seconds spent paused (stepping included), on the source's clock, the current
        pause included."""
        ongoing = 0.0 if self._paused_at is None else self.clock.now() - self._paused_at
        return self._paused_total + ongoing

    def pause(self) -> None:
        """Hold batches back (sockets stop being read, so producers feel back-pressure)."""
        if self._budget is None:
            self._budget = 0
            self._paused_at = self.clock.now()

    def resume(self) -> None:
        """Let batches flow again (a replay keeps its pace from where it paused)."""
        if self._budget is not None:
            self._budget = None
            if self._paused_at is not None:
                self._paused_total += self.clock.now() - self._paused_at
                self._paused_at = None
            if self._wake is not None:
                self._wake.set()

    def step(self, n: int = 1) -> None:
        """While paused, let exactly ``n`` more rows through, then stay paused."""
        n = int(check_number("n", n, low=1, integer=True))
        if self._budget is None:
            self.pause()
        self._budget = (self._budget or 0) + n
        if self._wake is not None:
            self._wake.set()

    async def _gate(self) -> None:
        """Wait while paused with nothing to step."""
        while self._budget == 0 and not self.stopped:
            assert self._wake is not None  # made by _bind_loop before the source runs
            self._wake.clear()
            self._holding = True
            try:
                await self._wake.wait()
            finally:
                self._holding = False

    # -- emitting ---------------------------------------------------------------------------
    async def emit_batch(self, df: pd.DataFrame, *, nbytes: int = 0) -> None:
        """Emit one batch downstream, honouring pause/step and awaiting async sinks; then
        yield to the loop, so that a pipeline slower than the source's pace (or a source with
        no pace) never holds the loop: other cells, widgets and Pause still run."""
        first = True
        while len(df):
            await self._gate()
            if self.stopped:
                return
            if self._budget is None:
                part, df = df, df.iloc[:0]
            else:
                part, df = df.iloc[: self._budget], df.iloc[self._budget :]
                self._budget -= len(part)
            self.stats.count_batch(rows=len(part), nbytes=nbytes if first else 0)
            first = False
            self.stats.lag = self._lag(part)
            col = time_column(part)
            if col is not None and len(part):
                self.stats.age = self._age(part[col].iloc[-1])
            await streamz_compat.settle(streamz_compat.emit(self, part))
            self._delivered += len(part)
            if self._progress is not None:
                self._progress.set()
            await asyncio.sleep(0)  # one yield per batch: nothing downstream starves the loop

    def _lag(self, part: pd.DataFrame) -> float | None:
        """Seconds the batch's oldest record waited in this process: from its arrival
        (:attr:`arrived`, set by live sources) to its emit, on the source's clock; ``None``
        where nothing says when it arrived. Event times are not compared with the clock here:
        a recording served live is not years late (that is :meth:`_age`)."""
        if self.arrived is None:
            return None
        return max(0.0, self.clock.now() - self.arrived)

    def _age(self, newest: pd.Timestamp) -> float | None:
        """Seconds between the wall clock and the newest event time emitted: how old the data
        is (``stats.age``), meaningful only where event times are stamped live."""
        if pd.isna(newest):
            return None
        return float(self.clock.wall() - newest.timestamp())

    async def dead(self, letters: list[DeadLetter]) -> None:
        """Count bad records and send them to ``.errors``; the stream goes on."""
        if letters:
            self.note_dead(letters)
            await streamz_compat.settle(
                streamz_compat.emit(self.errors, dead_letter_frame(letters))
            )
            await asyncio.sleep(0)  # a flood of bad records does not hold the loop either

    def note_dead(self, letters: list[DeadLetter]) -> None:
        """Count bad records without emitting them (used while stopping)."""
        self.stats.bad += len(letters)
        self.recent_errors.extend(letters)

    def __str__(self) -> str:
        return self.name or type(self).__name__


async def flush_downstream(node: Any) -> None:
    """End of input: call ``end_of_input()`` on every node below ``node`` that has one,
    upstream first (so a window's last firing reaches the window below it before that one
    flushes).

    Stateful streamlab steps (windows, joins) implement ``end_of_input()`` by emitting what they
    still hold and returning what their emits returned, so async sinks are awaited. (The
    name is not ``flush``: streamz's ``collect`` has a ``flush`` that means something else.)
    """
    for n in graph.topological_below(node):
        hook = getattr(n, "end_of_input", None)
        if n is not node and callable(hook):
            await streamz_compat.settle(hook() or [])
