"""``stream.parallel(func, client=...)``: a step that runs on a dask.distributed cluster.

Batches travel with their tasks (not scattered), so a lost worker's tasks are rerun elsewhere;
a window of ``max_in_flight`` batches gives back-pressure; results come out in input order; with
``key=`` each key partition's state lives in a dask Actor on one worker. Everything runs on the
running event loop, through an asynchronous client (see :func:`streamlab.scale.cluster`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import pandas as pd
from streamz import Stream

from ..core import streamz_compat
from ..core.checks import check_number
from ..core.registry import register_step
from ..core.step import Step
from ..errors import ConfigError, StateError
from .cluster import StepActor, check_picklable, import_distributed, run_batch
from .fanout import (
    FanOut,
    ParallelStats,
    combine,
    count_lost_workers,
    parse_keys,
    placement,
    split_by_key,
)

__all__ = ["Parallel", "ParallelStats"]

_EVENTS_EVERY = 1.0  # seconds between looks at the scheduler's log of lost workers


@register_step
class parallel(Step, Stream):
    """Run ``func(batch)`` on a dask.distributed cluster, in order, with bounded in-flight work.

    ``client`` is an asynchronous ``distributed.Client`` (``await streamlab.scale.cluster(2)``).
    At most ``max_in_flight`` batches (default: 2 per worker) are computing or waiting to be
    emitted; then the source waits. ``ordered=False`` emits results as they complete.
    ``retries`` reruns a task whose function raised; a lost worker's tasks are rerun by the
    scheduler. ``key="sensor"`` makes the step stateful: ``func`` is then a factory of objects
    with ``update(df) -> DataFrame`` (and optionally ``end_of_input()``), one per key partition,
    each living on one worker; a batch's result is the partitions' results concatenated in
    partition order (so each key's rows keep their order when ``ordered=True``). If that
    worker is lost, the state is gone: the step raises :class:`~streamlab.errors.StateError`.
    ``end_of_input()`` waits for all in-flight batches and emits them; ``.stats`` counts.
    A batch travels inside its task: keep batches well under 10 MB (dask warns above that).

    Examples
    --------
    >>> import threading
    >>> from streamz import Stream
    >>> lock = threading.Lock()
    >>> Stream().parallel(lambda df: lock and df, client=None)
    Traceback (most recent call last):
    ...
    streamlab.errors.ConfigError: func=streamlab.scale.parallel.<lambda> cannot be sent to the workers: pickling it failed with TypeError: cannot pickle '_thread.lock' object. A function run on a cluster must not hold sockets, locks, open files, clients or streams (a lambda or closure takes every outside variable it uses along): create such things inside the function, or pass plain values
    """

    def __init__(
        self,
        upstream,
        func,
        *,
        client,
        ordered=True,
        max_in_flight=None,
        key=None,
        retries=2,
        stream_name=None,
    ) -> None:
        if not callable(func):
            raise ConfigError(
                f"func must be a function of a batch (or, with key=, a factory of state objects), "
                f"not {func!r}",
                param="func",
                value=func,
            )
        distributed = import_distributed()  # says which extra to install if it is missing
        check_picklable(func)  # before anything is sent anywhere
        if not isinstance(client, distributed.Client) or not client.asynchronous:
            raise ConfigError(
                f"client must be an asynchronous distributed.Client, not {client!r}",
                param="client",
                value=client,
                hint="make one with `client = await streamlab.scale.cluster(2)` (a client made "
                "with asynchronous=False runs its own event loop in a thread)",
            )
        self.keys: list[str] = parse_keys(key)
        info = client.scheduler_info()  # cached; older distributed lists the workers instead
        workers = max(int(info.get("n_workers") or len(info.get("workers") or ()) or 1), 1)
        if max_in_flight is None:
            max_in_flight = 2 * workers
        self.max_in_flight = int(check_number("max_in_flight", max_in_flight, low=1, integer=True))
        self.retries = int(check_number("retries", retries, low=0, integer=True))
        self.func = func
        self.client = client
        self.ordered = bool(ordered)
        self.partitions = workers if self.keys else 0
        self.stats = ParallelStats()
        fname = getattr(func, "__name__", "func").strip("<>")
        super().__init__(upstream, stream_name=stream_name or f"parallel({fname})")
        self._prefix = f"parallel-{fname}-{uuid.uuid4().hex[:8]}"
        self._seq = 0
        self._fan: FanOut[asyncio.Task] = FanOut(
            self.max_in_flight, ordered=self.ordered, stats=self.stats
        )
        self._drainer: asyncio.Task | None = None
        self._submitted: asyncio.Future | None = None  # resolved by the next _submit
        self._error: BaseException | None = None
        self._events_seen = time.time()
        self._events_checked = 0.0
        self._actor_futures: list[Any] = []
        self._actor_task: asyncio.Task | None = None
        self._placed: list[str] = []
        self._tails: list[asyncio.Future | None] = [None] * self.partitions

    # -- input --------------------------------------------------------------------------------
    def update(self, x, who=None, metadata=None):
        self._raise_error()
        if self._fan.admits():
            self._submit(x)
            return None
        room = _running_loop().create_future()
        self._fan.hold(x, room, name=self.name)
        return room

    def _submit(self, x) -> None:
        loop = _running_loop()
        seq = self._seq
        self._seq += 1
        if self.keys:
            parts = [self._call(i, part) for i, part in split_by_key(x, self.keys, self.partitions)]
            task = loop.create_task(self._join(parts))
        else:
            future = self.client.submit(
                run_batch,
                self.func,
                x,
                key=f"{self._prefix}-{seq}",
                retries=self.retries,
                pure=False,
            )
            task = loop.create_task(self._one(future))
        self._fan.started(task)
        if self._submitted is not None and not self._submitted.done():
            self._submitted.set_result(None)  # an unordered drain waits on this one too
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain(), name=f"streamlab:{self.name}")

    def _wake(self) -> None:
        """Submit held batches, oldest first, while there is room."""
        for x, room in self._fan.unheld():
            self._submit(x)
            if not room.done():
                room.set_result(None)

    # -- output -------------------------------------------------------------------------------
    async def _drain(self) -> None:
        fan = self._fan
        try:
            while fan.in_flight:
                if self.ordered:
                    await asyncio.wait([fan.in_flight[0]])
                else:
                    # the tasks in flight now, or a new one: a source yields between batches,
                    # so the drain may start before the next batches are submitted
                    self._submitted = asyncio.get_running_loop().create_future()
                    await asyncio.wait(
                        [*fan.in_flight, self._submitted], return_when=asyncio.FIRST_COMPLETED
                    )
                while (ready := fan.pop_ready()) is not None:
                    outs = fan.finished(ready.result())  # result() re-raises the batch's error
                    out = combine(outs, keyed=bool(self.keys))
                    if out is not None:
                        await streamz_compat.settle(self.forward(out))
                    self._wake()
                await self._check_lost_workers()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        distributed = import_distributed()
        if isinstance(exc, distributed.KilledWorker):
            self.stats.lost += 1
        elif not isinstance(exc, StateError):
            self.stats.failed += 1
        self._error = exc
        self._discard(exc)

    def _discard(self, exc: BaseException) -> None:
        """Cancel what is in flight and fail the held batches' waits with ``exc`` (after an
        error, or on close); counted in ``stats.dropped``."""
        tasks, rooms = self._fan.discard()
        for task in tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: the first error is the one raised
            task.cancel()
        for room in rooms:
            if not room.done():
                room.set_exception(exc)

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    async def _check_lost_workers(self, *, force: bool = False) -> None:
        """Count workers lost since this step started and our tasks the scheduler reran."""
        now = time.monotonic()
        if not force and now - self._events_checked < _EVENTS_EVERY:
            return
        self._events_checked = now
        try:
            events = await self.client.get_events("all")
        except Exception:  # the scheduler is gone: the next task reports that
            return
        self._events_seen = count_lost_workers(
            events, since=self._events_seen, prefix=f"{self._prefix}-", stats=self.stats
        )

    # -- stateless ----------------------------------------------------------------------------
    @staticmethod
    async def _one(future):
        worker, out = await future
        return [(worker, out)]

    # -- keyed state --------------------------------------------------------------------------
    def _call(self, i: int, part: pd.DataFrame) -> asyncio.Future:
        """Queue ``part`` for partition ``i`` after the partition's previous batch."""
        task = _running_loop().create_task(self._call_after(i, part, self._tails[i]))
        self._tails[i] = task
        return task

    async def _call_after(self, i, part, previous):
        if previous is not None:
            await asyncio.wait([previous])
        actors = await self._actors()
        out = await self._on_actor(i, actors[i].update(part))
        return self._placed[i], out

    async def _join(self, calls):
        return list(await asyncio.gather(*calls))

    async def _actors(self):
        if self._actor_task is None:
            self._actor_task = _running_loop().create_task(self._start_actors())
        return await asyncio.shield(self._actor_task)

    async def _start_actors(self):
        self._placed = placement(await self.client.nthreads(), self.partitions)
        self._actor_futures = [
            self.client.submit(
                StepActor,
                self.func,
                actor=True,
                workers=[w],
                key=f"state-{self._prefix}-{i}",
                pure=False,
            )
            for i, w in enumerate(self._placed)
        ]
        with self.client.as_current():  # the actor proxies bind to this client, not a default
            return [await f for f in self._actor_futures]

    async def _on_actor(self, i, call):
        """Await an actor call; if the worker holding partition ``i`` is lost, say so."""
        waiting = asyncio.ensure_future(call)
        while True:
            await asyncio.wait([waiting], timeout=0.5)
            if waiting.done():
                exc = waiting.exception()
                if isinstance(exc, OSError) and await self._worker_gone(i):
                    self._lost_state(i)
                return waiting.result()
            if self._actor_futures[i].status != "finished":
                waiting.cancel()
                self._lost_state(i)

    async def _worker_gone(self, i: int, *, patience: float = 5.0) -> bool:
        """After a call failed with OSError: has partition ``i``'s worker left the cluster?
        (An OSError raised by the state object itself leaves the worker in place.)"""
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            if self._actor_futures[i].status != "finished":
                return True
            try:
                if self._placed[i] not in await self.client.nthreads():
                    return True
            except OSError:
                return True
            await asyncio.sleep(0.1)
        return False

    def _lost_state(self, i: int):
        self.stats.lost += 1
        raise StateError(
            f"{self.name}: the state of key partition {i} lived on worker {self._placed[i]}, which "
            "was lost; keyed state is not replicated, so results from here on would be wrong. "
            "Start the stream again to begin with fresh state"
        )

    # -- end ----------------------------------------------------------------------------------
    def end_of_input(self):
        """Wait for every batch in flight, emit the results (and, with ``key=``, what the
        state objects' ``end_of_input()`` return); raise an error a batch met."""
        return [self._finish()]

    async def _finish(self) -> None:
        while self._drainer is not None and not self._drainer.done():
            await asyncio.wait([self._drainer])
        self._raise_error()
        if self._actor_task is not None:
            actors = await self._actors()
            outs = [await self._on_actor(i, a.end_of_input()) for i, a in enumerate(actors)]
            out = combine(outs, keyed=True)
            if out is not None:
                await streamz_compat.settle(self.forward(out))
        await self._check_lost_workers(force=True)

    async def close(self) -> None:
        """Stop: cancel what is in flight (counted in ``stats.dropped``) and free the state;
        batches that come later raise :class:`~streamlab.errors.StateError`."""
        self._error = StateError(f"{self.name} was closed; build a new step to go on")
        self._discard(self._error)
        if self._drainer is not None:
            self._drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drainer
        self._actor_futures = []
        self._actor_task = None


def _running_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise StateError(
            "stream.parallel runs on the running event loop: drive it from a streamlab source "
            "(source.start() in Jupyter, streamlab.run in a script), or from a coroutine"
        ) from None


Parallel = parallel
